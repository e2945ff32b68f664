"""Who a reply is from as far as the loop cares: staff or an outside party, and whether forged.

Staff is a sender on an internal domain or in the department directory whose mail the
receiving MTA did not find failing DKIM, SPF or DMARC. Authentication-Results count only
when they carry the authserv-id the config trusts: anyone can write that header, so others
are ignored, and any trusted one that says fail is enough to distrust the mail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from enum import StrEnum

CHECKED_METHODS = ("dkim", "spf", "dmarc")
FAILING_RESULTS = frozenset({"fail"})  # softfail, neutral, none: not proof of forgery

_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"\s*(?P<method>[a-z0-9-]+)\s*=\s*(?P<result>[a-z]+)", re.IGNORECASE)


class Role(StrEnum):
    STAFF = "staff"
    EXTERNAL = "external"


@dataclass(frozen=True, slots=True)
class AuthResults:
    authserv_id: str
    results: dict[str, tuple[str, ...]] = field(default_factory=dict)  # method → results

    def failed(self) -> tuple[str, ...]:
        """The checked methods with a failing result, e.g. ('spf', 'dmarc')."""
        return tuple(m for m in CHECKED_METHODS
                     if any(r in FAILING_RESULTS for r in self.results.get(m, ())))


@dataclass(frozen=True, slots=True)
class TrustAssessment:
    """Whether a sender speaks as staff, whether the claim looks forged, and why."""

    role: Role
    suspicious: bool  # claims to be internal but failed authentication
    reason: str

    @property
    def is_staff(self) -> bool:
        return self.role is Role.STAFF


def parse_auth_results(value: str) -> AuthResults | None:
    """One Authentication-Results header value (RFC 8601), or None when unreadable."""
    text = _COMMENT.sub(" ", " ".join(value.split()))
    head, _, rest = text.partition(";")
    words = head.split()
    if not words:
        return None
    results: dict[str, list[str]] = {}
    for clause in rest.split(";"):
        match = _RESULT.match(clause)
        if match:
            method = match["method"].lower()
            results.setdefault(method, []).append(match["result"].lower())
    return AuthResults(words[0].lower(), {m: tuple(r) for m, r in results.items()})


def auth_results_headers(raw: bytes) -> tuple[str, ...]:
    """Every Authentication-Results value of a raw mail, top first (the parser keeps one)."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(raw.lstrip(b"\r\n"))
    return tuple(str(v) for v in headers.get_all("Authentication-Results") or ())


def assess(
    addr: str,
    *,
    listed_internal: bool,
    auth_results: Sequence[str],
    trusted_authserv_id: str | None,
) -> TrustAssessment:
    """Whether `addr` speaks as staff; `listed_internal` is the domain/directory answer."""
    if not listed_internal:
        return TrustAssessment(Role.EXTERNAL, False, f"{addr or '(无发件人)'} 不是内部地址")
    if not trusted_authserv_id:
        return TrustAssessment(Role.STAFF, False, f"{addr} 是内部地址 (未配置认证结果检查)")
    trusted = [parsed for value in auth_results
               if (parsed := parse_auth_results(value)) is not None
               and parsed.authserv_id == trusted_authserv_id.lower()]
    if not trusted:
        return TrustAssessment(Role.STAFF, False,
                               f"{addr} 是内部地址 (无 {trusted_authserv_id} 的认证结果)")
    failed = tuple(dict.fromkeys(m for parsed in trusted for m in parsed.failed()))
    if failed:
        return TrustAssessment(
            Role.EXTERNAL, True,
            f"{addr} 自称内部地址, 但 {trusted_authserv_id} 认证失败: "
            + ", ".join(f"{m}=fail" for m in failed),
        )
    return TrustAssessment(Role.STAFF, False, f"{addr} 是内部地址, 认证通过")

"""An access token and the rules about it: when to refresh, what an endpoint's answer means."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

REFRESH_MARGIN = 300.0  # seconds before expiry a token is replaced (Entra ID's are ~60-90 min)
UNKNOWN_LIFETIME = 3000.0  # seconds a token without expires_in is trusted (under an hour)


@dataclass(frozen=True, slots=True, repr=False)
class AccessToken:
    value: str
    expires_at: float  # on the provider's monotonic clock
    lifetime: float  # seconds it was issued for

    def __repr__(self) -> str:
        return f"AccessToken('***', lifetime={self.lifetime:.0f}s)"

    def refresh_at(self) -> float:
        """When to replace it: REFRESH_MARGIN before expiry, or halfway for short-lived ones."""
        return self.expires_at - min(REFRESH_MARGIN, self.lifetime / 2)

    def fresh(self, now: float) -> bool:
        return now < self.refresh_at()


def token_from_answer(answer: Mapping[str, object], now: float) -> AccessToken:
    """A token endpoint's JSON answer (RFC 6749 §5.1) as an AccessToken; ValueError if unusable."""
    value = answer.get("access_token")
    if not isinstance(value, str) or not value.strip():
        raise ValueError("the answer has no access_token")
    token_type = str(answer.get("token_type") or "Bearer")
    if token_type.lower() != "bearer":
        raise ValueError(f"token_type is {token_type!r}, not Bearer")
    lifetime = _lifetime(answer.get("expires_in"))
    return AccessToken(value.strip(), now + lifetime, lifetime)


def token_from_output(output: str, now: float) -> AccessToken:
    """What a token_command printed: the bare token, or a JSON answer like an endpoint's."""
    text = output.strip()
    if text.startswith("{"):
        try:
            answer = json.loads(text)
        except json.JSONDecodeError:
            raise ValueError("its output starts with '{' but is not JSON") from None
        return token_from_answer(answer, now)
    lines = text.splitlines()
    if len(lines) != 1 or not lines[0].strip() or any(c.isspace() for c in lines[0].strip()):
        raise ValueError("it should print one token on one line (or a JSON token answer)")
    return AccessToken(lines[0].strip(), now + UNKNOWN_LIFETIME, UNKNOWN_LIFETIME)


def _lifetime(expires_in: object) -> float:
    if expires_in is None or expires_in == "":
        return UNKNOWN_LIFETIME
    try:
        seconds = float(expires_in)  # Entra ID's v1 endpoint sends it as a string
    except (TypeError, ValueError):
        raise ValueError(f"expires_in is not a number: {expires_in!r}") from None
    if seconds <= 0:
        raise ValueError(f"expires_in is {seconds:g}: the token is expired already")
    return seconds


def xoauth2_forms(user: str, token: str) -> tuple[str, ...]:
    """The ways a token can show up on the wire, for scrubbing: itself and the SASL strings."""
    raw = f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    return (token, base64.b64encode(raw).decode(), base64.b64encode(raw[:-1]).decode())


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret in it masked, for messages that quote a server or a program."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text

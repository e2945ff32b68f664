"""Auto-replies: whether an automatic answer may go to an address (RFC 3834, X-Loop, a cap).

Pure: the answers already sent are counted by db/autoreplies.py, and usecases/admission.py
puts the two together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from gateway.identity import Identity
from gateway.model import InboundMail

# RFC 3834 §2: never answer these; they are robots or lists whatever their headers say.
ROBOT_LOCAL_PARTS = frozenset({
    "mailer-daemon", "postmaster", "listserv", "majordomo", "noreply", "no-reply",
    "do-not-reply", "donotreply", "bounce", "bounces",
})
ROBOT_PREFIXES = ("owner-", "bounce-", "bounces-")
ROBOT_SUFFIXES = ("-request", "-owner", "-bounces")


@dataclass(frozen=True, slots=True)
class AutoReplyCap:
    limit: int = 5  # answers per address within window; 0 turns automatic answers off
    window: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class AutoReplyPermission:
    """Whether an automatic answer may go out, and why."""

    allowed: bool
    reason: str  # why not, or why yes, for the log


def may_answer(mail: InboundMail, to_addr: str, identity: Identity, sent_recently: int,
               cap: AutoReplyCap) -> AutoReplyPermission:
    """Whether `mail` may get an automatic answer at `to_addr`; pure, the count passed in."""
    if not to_addr:
        return AutoReplyPermission(False, "no address to answer")
    if mail.auto is not None:
        return AutoReplyPermission(False, f"automatic mail ({mail.auto_reason or mail.auto})")
    if identity.is_own(mail) or to_addr in identity.own_addresses:
        return AutoReplyPermission(
            False, "mail from the gateway itself (address or X-Loop)")
    local = to_addr.partition("@")[0]
    if (local in ROBOT_LOCAL_PARTS or local.startswith(ROBOT_PREFIXES)
            or local.endswith(ROBOT_SUFFIXES)):
        return AutoReplyPermission(False, f"{to_addr} is a robot or list address (RFC 3834)")
    if sent_recently >= cap.limit:
        return AutoReplyPermission(False, f"{sent_recently} automatic answers to {to_addr} "
                                          f"within {cap.window}; cap is {cap.limit}")
    return AutoReplyPermission(True, f"{sent_recently} of {cap.limit} automatic answers used")

"""Auto-replies: whether an automatic answer may go to an address (RFC 3834, X-Loop, a cap)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db.journal import insert_later
from gateway.db.models import AutoReply
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
            False, "mail from the gateway itself (address, Message-ID or X-Loop)")
    local = to_addr.partition("@")[0]
    if (local in ROBOT_LOCAL_PARTS or local.startswith(ROBOT_PREFIXES)
            or local.endswith(ROBOT_SUFFIXES)):
        return AutoReplyPermission(False, f"{to_addr} is a robot or list address (RFC 3834)")
    if sent_recently >= cap.limit:
        return AutoReplyPermission(False, f"{sent_recently} automatic answers to {to_addr} "
                                          f"within {cap.window}; cap is {cap.limit}")
    return AutoReplyPermission(True, f"{sent_recently} of {cap.limit} automatic answers used")


def sent_recently(session: Session, addr: str, now: datetime, cap: AutoReplyCap) -> int:
    """Answers to `addr` within the window: stored ones, and those added in this transaction.

    The pipeline stores a batch of mails in one transaction without flushing in between, so
    the answers admitted earlier in the batch are counted here, not by the query.
    """
    counted = session.info.setdefault(_COUNTED, {})
    if addr not in counted:
        counted[addr] = session.scalar(
            select(func.count()).select_from(AutoReply)
            .where(AutoReply.addr == addr, AutoReply.at > now - cap.window)
        ) or 0
    return counted[addr]


_COUNTED = "gateway.auto_replies_counted"  # addr → answers in the window, this transaction


def count_recent(session: Session, addrs: Iterable[str], now: datetime, cap: AutoReplyCap) -> None:
    """Count the answers of many addresses in one query, so a batch asks the database once."""
    wanted = {a.lower() for a in addrs if a} - session.info.get(_COUNTED, {}).keys()
    if not wanted:
        return
    rows = session.execute(
        select(AutoReply.addr, func.count()).where(
            AutoReply.addr.in_(wanted), AutoReply.at > now - cap.window
        ).group_by(AutoReply.addr)
    )
    counted = session.info.setdefault(_COUNTED, {})
    counted.update(dict.fromkeys(wanted, 0))
    counted.update({addr: n for addr, n in rows})


def admit(session: Session, mail: InboundMail, to_addr: str, identity: Identity,
          cap: AutoReplyCap, now: datetime, kind: str) -> AutoReplyPermission:
    """Decide, and when allowed count the answer in the caller's transaction (so restarts
    and crashes cannot reset the cap: the count commits with the queued mail or not at all)."""
    to_addr = to_addr.lower()
    decided = may_answer(mail, to_addr, identity, sent_recently(session, to_addr, now, cap), cap)
    if decided.allowed:
        insert_later(session, AutoReply.__table__, {"addr": to_addr, "at": now, "kind": kind})
        session.info[_COUNTED][to_addr] += 1
    return decided

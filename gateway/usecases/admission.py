"""Whether an automatic answer may go out now: the permission, counted in the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.db import autoreplies
from gateway.identity import Identity
from gateway.model import InboundMail
from gateway.outgoing.autoreply import AutoReplyCap, AutoReplyPermission, may_answer


def admit(session: Session, mail: InboundMail, to_addr: str, identity: Identity,
          cap: AutoReplyCap, now: datetime, kind: str) -> AutoReplyPermission:
    """Decide, and when allowed count the answer in the caller's transaction (so restarts
    and crashes cannot reset the cap: the count commits with the queued mail or not at all)."""
    to_addr = to_addr.lower()
    recent = autoreplies.sent_recently(session, to_addr, now - cap.window)
    decided = may_answer(mail, to_addr, identity, recent, cap)
    if decided.allowed:
        autoreplies.note_sent(session, to_addr, now, kind)
    return decided

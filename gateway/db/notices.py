"""Reminders, escalations and follow-ups that went out: one row per record and notice key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db._journal import Row
from gateway.db.models import SentNotice
from gateway.db.sessions import flush_pending


def sent_keys(session: Session, record_ids: Sequence[str]) -> dict[str, set[str]]:
    """The notice keys stored per record, for many records in one query."""
    out: dict[str, set[str]] = {}
    if not record_ids:
        return out
    rows = session.execute(
        select(SentNotice.record_id, SentNotice.key).where(SentNotice.record_id.in_(record_ids))
    )
    for record_id, key in rows:
        out.setdefault(record_id, set()).add(key)
    return out


def of_record(session: Session, record_id: str) -> Sequence[SentNotice]:
    return session.scalars(select(SentNotice).where(SentNotice.record_id == record_id)).all()


def add(session: Session, record_id: str, *, key: str, kind: str, clock: str, seq: int,
        due_at: datetime, now: datetime, status: str) -> SentNotice:
    """Remember a notice (sent, superseded or unaddressed); written with the transaction."""
    row = SentNotice(record_id=record_id, key=key, kind=kind, clock=clock, seq=seq,
                     due_at=due_at, created_at=now, status=status)
    session.add(row)
    return row


def claim(session: Session, record_id: str, **fields) -> SentNotice:
    """`add`, written at once: a run that overlaps this one finds the key taken (Duplicate)
    before it renders any mail."""
    row = add(session, record_id, **fields)
    session.flush()
    return row


def attach_mail(session: Session, notice: SentNotice, mail: Row) -> None:
    """Point the notice at the mail queued for it (the mail's id is known once written)."""
    flush_pending(session)
    notice.mail_id = mail.id

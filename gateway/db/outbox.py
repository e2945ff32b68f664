"""The outbox: mail queued in a use case's transaction, and the sender's side of it."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Row as ResultRow
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.db._journal import Row, insert_later, insert_later_with_id
from gateway.db.models import Mail, Outbox, Record
from gateway.db.records import RecordRow


def enqueue(
    session: Session,
    *,
    message_id: str,
    kind: str,
    raw: bytes,
    subject: str,
    envelope_from: str,
    recipients: Sequence[str],
    record: Record | RecordRow | None,
    now: datetime,
) -> Row:
    """Store an outgoing mail and its outbox row; the sender picks it up after commit."""
    record_id = record.id if record is not None else None
    mail = insert_later_with_id(session, Mail.__table__, {
        "direction": "out", "record_id": record_id, "message_id": message_id,
        "inbound_key": None, "source_key": None, "kind": kind, "subject": subject,
        "from_addr": envelope_from, "to_addrs": list(recipients), "date": now,
        "created_at": now, "size": len(raw), "digest": hashlib.sha256(raw).hexdigest(),
        "quarantine_reason": None, "raw": raw,
    })
    insert_later(
        session, Outbox.__table__,
        {"record_id": record_id, "envelope_from": envelope_from,
         "recipients": list(recipients), "status": "pending", "attempts": 0,
         "next_attempt_at": now, "last_error": None, "created_at": now, "sent_at": None},
        mail_id=mail,
    )
    return mail


def get(session: Session, outbox_id: int) -> Outbox | None:
    """One outbox row, with its mail and record a read away (for the dead-letter notice)."""
    return session.get(Outbox, outbox_id)


def due(session: Session, now: datetime, limit: int, exclude: Collection[int] = ()
        ) -> Sequence[ResultRow]:
    """Rows due at `now`, oldest first, each with what SMTP needs of its mail (raw included),
    less `exclude` (sent, their "sent" not yet committed: their mail is not read again).

    Plain columns, not ORM objects: the sender reads thousands of them a minute and changes
    none (it marks them with UPDATE statements).
    """
    box, mail = Outbox.__table__.c, Mail.__table__.c
    query = (
        select(box.id, box.attempts, box.envelope_from, box.recipients, mail.message_id,
               mail.raw)
        .join_from(Outbox.__table__, Mail.__table__, mail.id == box.mail_id)
        .where(box.status == "pending", box.next_attempt_at <= now)
        .order_by(box.id)
        .limit(limit)
    )
    if exclude:
        query = query.where(box.id.not_in(exclude))
    # Table columns on the session's connection: no ORM statement handling for plain rows.
    return session.connection().execute(query).all()


def mark_sent(session: Session, ids: Sequence[int], now: datetime) -> None:
    if ids:
        table = Outbox.__table__
        session.connection().execute(
            update(table).where(table.c.id.in_(ids)).values(status="sent", sent_at=now))


def mark_retry(
    session: Session, outbox_id: int, error: str, next_at: datetime, *, dead: bool
) -> None:
    """One more failed attempt: try again at `next_at`, or never (dead)."""
    session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id)
        .values(
            attempts=Outbox.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=next_at,
            status="dead" if dead else "pending",
        )
    )


def counts(session: Session) -> dict[str, int]:
    """Rows per status: pending, sent, dead."""
    rows = session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
    return {status: count for status, count in rows}


def oldest_pending_age(session: Session, now: datetime) -> timedelta | None:
    oldest = session.scalar(select(func.min(Outbox.created_at)).where(Outbox.status == "pending"))
    return None if oldest is None else now - oldest


def note_refused(session: Session, outbox_id: int, refused: dict[str, str]) -> None:
    """Recipients the SMTP server refused while it took the mail for others (传递记录)."""
    session.execute(update(Outbox).where(Outbox.id == outbox_id).values(refused=refused))

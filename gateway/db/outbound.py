"""Messages the enterprise starts: their approvals, the recipients they went to, delivery reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db._journal import Row, insert_later
from gateway.db.models import Approval, Mail, Outbox, Record, Transmission
from gateway.db.records import RecordRow


def add_approval(session: Session, record: Record | RecordRow, **values) -> Approval:
    row = Approval(record_id=record.id, decision="pending", **values)
    session.add(row)
    return row


def approvals_of(session: Session, record_id: str) -> Sequence[Approval]:
    return session.scalars(
        select(Approval).where(Approval.record_id == record_id).order_by(Approval.id)).all()


def pending_approval(session: Session, record_id: str) -> Approval | None:
    # The record's few approvals, the last chosen here (see records.record_for_message_ids).
    pending = session.scalars(
        select(Approval).where(Approval.record_id == record_id, Approval.decision == "pending")
    ).all()
    return max(pending, key=lambda approval: approval.id, default=None)


def all_pending_approvals(session: Session) -> Sequence[Approval]:
    return session.scalars(
        select(Approval).where(Approval.decision == "pending").order_by(Approval.id)).all()


def add_transmission(session: Session, record: Record | RecordRow, mail: Row | Mail,
                     **values) -> None:
    insert_later(session, Transmission.__table__,
                 {"record_id": record.id, "channel": "email", "dsn_action": None,
                  "dsn_status": None, "dsn_diagnostic": None, "dsn_at": None,
                  "mdn_disposition": None, "mdn_at": None, **values}, mail_id=mail)


def transmissions_of(session: Session, record_id: str) -> list[tuple[Transmission, Outbox | None]]:
    """Each recipient with the outbox row of its mail (status, sent time, refusals)."""
    rows = session.execute(
        select(Transmission, Outbox).outerjoin(Outbox, Outbox.mail_id == Transmission.mail_id)
        .where(Transmission.record_id == record_id).order_by(Transmission.id)).all()
    return [(t, o) for t, o in rows]


def transmissions_for_message(session: Session, message_id: str) -> Sequence[Transmission]:
    return session.scalars(
        select(Transmission).where(Transmission.message_id == message_id)).all()


def record_of_outgoing(session: Session, message_id: str) -> Record | None:
    """The record whose outgoing mail had this Message-ID."""
    record_id = session.scalar(
        select(Mail.record_id).where(Mail.message_id == message_id, Mail.direction == "out",
                                     Mail.record_id.is_not(None)).limit(1))
    return session.get(Record, record_id) if record_id else None


def sent_at_of(session: Session, message_id: str) -> datetime | None:
    return session.scalar(
        select(Outbox.sent_at).join(Mail, Mail.id == Outbox.mail_id)
        .where(Mail.message_id == message_id))


def outbound_records(session: Session, statuses: Sequence[str]) -> Sequence[Record]:
    return session.scalars(
        select(Record).where(Record.outbound.is_not(None), Record.status.in_(list(statuses)))
    ).all()


def inbound_raw(session: Session, message_id: str) -> bytes | None:
    """The raw bytes of an incoming mail, by its Message-ID."""
    return session.scalar(
        select(Mail.raw).where(Mail.inbound_key == message_id).limit(1))


def add_record(session: Session, **values) -> Record:
    """A record as an ORM object, written at once: approvals and transmissions point at it."""
    record = Record(**values)
    session.add(record)
    session.flush()
    return record

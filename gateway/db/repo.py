"""The queries and writes the use cases need, over a Session the caller owns."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row as ResultRow
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from gateway.db.journal import Row, insert_later, insert_later_with_id, journal
from gateway.db.models import IdSequence, LogEntry, Mail, Outbox, Record, StoredCheckpoint
from gateway.model import Checkpoint


def allocate_record_id(session: Session, prefix: str, year: int) -> tuple[str, int]:
    """Next `{prefix}-{year}-{seq:03d}`, unique under concurrency.

    The transaction's first id of a prefix and year bumps its sequence row, which holds the
    row (PostgreSQL's row lock, SQLite's write lock) until commit. Later ids of the same
    transaction count on from there, and the row takes its final value once, at commit.
    """
    key = ("record_id", prefix, year)
    book = journal(session)
    if key in book.memo:
        seq = book.memo[key] + 1
        book.finally_execute(key, _SET_SEQUENCE, {"p": prefix, "y": year, "last": seq})
    else:
        seq = _bump_sequence(session, prefix, year)
    book.memo[key] = seq
    return f"{prefix}-{year}-{seq:03d}", seq


# Plain Core statements, built once: the ORM's bulk-update path costs more.
_SEQUENCES = IdSequence.__table__
_OF_PREFIX_AND_YEAR = (_SEQUENCES.c.prefix == bindparam("p"), _SEQUENCES.c.year == bindparam("y"))
_BUMP_SEQUENCE = (
    update(_SEQUENCES).where(*_OF_PREFIX_AND_YEAR)
    .values(last=_SEQUENCES.c.last + 1).returning(_SEQUENCES.c.last)
)
_SET_SEQUENCE = update(_SEQUENCES).where(*_OF_PREFIX_AND_YEAR).values(last=bindparam("last"))


def _bump_sequence(session: Session, prefix: str, year: int) -> int:
    of = {"p": prefix, "y": year}
    seq = session.execute(_BUMP_SEQUENCE, of).scalar_one_or_none()
    if seq is None:
        # The first id of its prefix and year: create the row unless a concurrent
        # transaction just did (then this waits for it and bumps after it).
        session.execute(_insert_or_ignore(session, _SEQUENCES, prefix=prefix, year=year, last=0))
        seq = session.execute(_BUMP_SEQUENCE, of).scalar_one()
    return seq


def _insert_or_ignore(session: Session, table, **values):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        raise NotImplementedError(f"record ids on {dialect} are not supported")
    return dialect_insert(table).values(**values).on_conflict_do_nothing()


def inbound_exists(session: Session, key: str) -> bool:
    """Whether a mail with this key is stored, or pending in this session's transaction."""
    if key in session.info.get(_PENDING_INBOUND, ()):
        return True
    if key in session.info.get(_LOOKED_UP, ()):
        return False
    return session.scalar(select(Mail.id).where(Mail.inbound_key == key)) is not None


def note_stored_inbound(session: Session, keys: Iterable[str]) -> None:
    """Look up many keys in one query, so a batch asks the database once, not once a mail."""
    keys = set(keys)
    found = session.scalars(select(Mail.inbound_key).where(Mail.inbound_key.in_(keys)))
    _pending_inbound(session).update(found)
    session.info.setdefault(_LOOKED_UP, set()).update(keys)


def add_inbound(session: Session, row: Mail) -> None:
    """Add an incoming mail; later mails of the same batch see it before it is flushed."""
    session.add(row)
    _pending_inbound(session).add(row.inbound_key)


_PENDING_INBOUND = "gateway.pending_inbound"  # stored or added in this transaction
_LOOKED_UP = "gateway.looked_up_inbound"  # keys whose stored state is already known


def _pending_inbound(session: Session) -> set[str]:
    return session.info.setdefault(_PENDING_INBOUND, set())


def record_for_message_ids(session: Session, message_ids: Iterable[str]) -> Record | None:
    """The record a mail threads into, by any Message-ID it names (ours or theirs)."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    record_id = session.scalar(
        select(Mail.record_id)
        .where(Mail.message_id.in_(ids), Mail.record_id.is_not(None))
        .order_by(Mail.id.desc())
        .limit(1)
    )
    return session.get(Record, record_id) if record_id else None


def get_record(session: Session, record_id: str) -> Record | None:
    return session.get(Record, record_id.upper())


@dataclass(frozen=True)
class RecordFilter:
    status: str | None = None
    department: str | None = None
    urgency: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100


def list_records(session: Session, where: RecordFilter = RecordFilter()) -> Sequence[Record]:
    query = select(Record).order_by(Record.created_at.desc(), Record.id.desc())
    if where.status:
        query = query.where(Record.status == where.status)
    if where.department:
        query = query.where(Record.department == where.department)
    if where.urgency:
        query = query.where(Record.urgency == where.urgency)
    if where.since:
        query = query.where(Record.created_at >= where.since)
    if where.until:
        query = query.where(Record.created_at < where.until)
    return session.scalars(query.limit(where.limit)).all()


def add_log(
    session: Session,
    record: Record | RecordRow,
    *,
    at: datetime,
    kind: str,
    actor: str,
    text: str,
    mail: Mail | Row | None = None,
    data: dict | None = None,
) -> None:
    """Append a line to the record's log; it is written with the transaction's commit."""
    insert_later(
        session, LogEntry.__table__,
        {"record_id": record.id, "at": at, "kind": kind, "actor": actor, "text": text,
         "data": data or {}},
        mail_id=mail,
    )


def load_checkpoint(session: Session, source: str) -> Checkpoint | None:
    row = session.get(StoredCheckpoint, source)
    return Checkpoint(row.uidvalidity, row.last_uid) if row else None


def save_checkpoint(session: Session, source: str, point: Checkpoint, now: datetime) -> None:
    row = session.get(StoredCheckpoint, source)
    if row is None:
        session.add(StoredCheckpoint(source=source, uidvalidity=point.uidvalidity,
                                     last_uid=point.last_uid, updated_at=now))
    elif row.uidvalidity != point.uidvalidity or point.last_uid > row.last_uid:
        row.uidvalidity, row.last_uid, row.updated_at = point.uidvalidity, point.last_uid, now


# --- outbox -----------------------------------------------------------------------------------


def due_outbox(session: Session, now: datetime, limit: int) -> Sequence[ResultRow]:
    """Rows due at `now`, oldest first, each with what SMTP needs of its mail (raw included).

    Plain columns, not ORM objects: the sender reads thousands of them a minute and changes
    none (it marks them with UPDATE statements).
    """
    return session.execute(
        select(Outbox.id, Outbox.attempts, Outbox.envelope_from, Outbox.recipients,
               Mail.message_id, Mail.raw)
        .join(Mail, Mail.id == Outbox.mail_id)
        .where(Outbox.status == "pending", Outbox.next_attempt_at <= now)
        .order_by(Outbox.id)
        .limit(limit)
    ).all()


def mark_sent(session: Session, ids: Sequence[int], now: datetime) -> None:
    if ids:
        session.execute(
            update(Outbox).where(Outbox.id.in_(ids)).values(status="sent", sent_at=now)
        )


def mark_retry(
    session: Session, outbox_id: int, error: str, next_at: datetime, *, dead: bool
) -> None:
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


def outbox_counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(Outbox.status, func.count()).group_by(Outbox.status))
    return {status: count for status, count in rows}


def oldest_pending_age(session: Session, now: datetime) -> timedelta | None:
    oldest = session.scalar(select(func.min(Outbox.created_at)).where(Outbox.status == "pending"))
    return None if oldest is None else now - oldest


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


class RecordRow(SimpleNamespace):
    """A record opened in this transaction, as the values written: read them, never assign."""

    id: str


def add_record(session: Session, **values: Any) -> RecordRow:
    """Insert a new record with the transaction's other rows (see journal.py)."""
    insert_later(session, Record.__table__, values)
    return RecordRow(**values)


def add_inbound_row(session: Session, **values: Any) -> Row:
    """`add_inbound` as a journal row: for a mail that opens a record in this transaction."""
    handle = insert_later_with_id(session, Mail.__table__, values)
    _pending_inbound(session).add(values["inbound_key"])
    return handle

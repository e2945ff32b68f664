"""Records: their ids, lookups and listings, the threading lookup, and the append-only log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from gateway.db._journal import Row, insert_later, journal
from gateway.db.models import IdSequence, LogEntry, Mail, Record


class RecordRow(SimpleNamespace):
    """A record opened in this transaction, as the values written: read them, never assign."""

    id: str


def add_record(session: Session, **values: Any) -> RecordRow:
    """Insert a new record with the transaction's other rows (see _journal.py)."""
    insert_later(session, Record.__table__, values)
    return RecordRow(**values)


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


def get_record(session: Session, record_id: str) -> Record | None:
    return session.get(Record, record_id.upper())


def by_archive_id(session: Session, archive_id: str) -> Record | None:
    return session.scalar(select(Record).where(Record.archive_id == archive_id.upper()))


def record_for_message_ids(session: Session, message_ids: Iterable[str]) -> Record | None:
    """The record a mail threads into, by any Message-ID it names (ours or theirs)."""
    ids = [m for m in message_ids if m]
    if not ids:
        return None
    # The newest of the few rows these ids name, chosen here: asked for ORDER BY id LIMIT 1,
    # PostgreSQL may walk the whole table backwards by id instead of using the index.
    rows = session.execute(
        select(Mail.id, Mail.record_id)
        .where(Mail.message_id.in_(ids), Mail.record_id.is_not(None))
    ).all()
    return session.get(Record, max(rows)[1]) if rows else None


def with_status(session: Session, statuses: Iterable[str]) -> Sequence[Record]:
    """Every record in one of `statuses` (the chased ones, those waiting for a rating)."""
    return session.scalars(select(Record).where(Record.status.in_(list(statuses)))).all()


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

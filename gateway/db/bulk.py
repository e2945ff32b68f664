"""Rows written many at a time: a register filled outside the mail loop (imports, benchmarks).

Plain values in, one executemany INSERT per table and batch (SQLAlchemy turns it into
multi-row INSERTs), in the order the foreign keys need: records, mails, log lines, notices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db._driver import insert_many
from gateway.db.models import IdSequence, LogEntry, Mail, Record, SentNotice

# In foreign-key order.
TABLES = {
    "records": Record.__table__,
    "mails": Mail.__table__,
    "log_entries": LogEntry.__table__,
    "notices": SentNotice.__table__,
}


def insert_rows(session: Session, rows: Mapping[str, Sequence[dict[str, Any]]]) -> None:
    """Insert each table's rows (keys of TABLES), in foreign-key order.

    Every row of a table has the same keys. The values go through the columns' own type
    conversions and then straight to the driver's executemany: at a million rows the
    per-statement bookkeeping of `connection.execute` costs more than the database.
    """
    connection = session.connection()
    for name, table in TABLES.items():
        batch = rows.get(name)
        if batch and not insert_many(connection, table, batch):
            raise ValueError(f"{name}: every row must give every column the same keys")


def advance_sequences(session: Session) -> None:
    """Set each prefix and year's id sequence past the highest id stored, so records opened
    afterwards get fresh ids."""
    highest = session.execute(select(Record.prefix, Record.year, func.max(Record.seq))
                              .group_by(Record.prefix, Record.year)).all()
    for prefix, year, last in highest:
        row = session.get(IdSequence, (prefix, year))
        if row is None:
            session.add(IdSequence(prefix=prefix, year=year, last=last))
        else:
            row.last = max(row.last, last)

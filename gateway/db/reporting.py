"""Reads for reports and checks: register extracts, the metrics counts, the health probes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, and_, func, or_, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from gateway.db import alerts, outbox
from gateway.db.engine import make_engine, make_sessionmaker
from gateway.db.models import Mail, Outbox, Record
from gateway.errors import StorageError
from gateway.model import RegisterCounts

# Rows fetched at a time when a register extract is read: memory stays flat however many.
STREAMED = 2000


def records_opened(
    session: Session, since: datetime, until: datetime, *, department: str | None = None,
    status: str | None = None, urgency: str | None = None,
) -> Iterator[Record]:
    """Records opened in [since, until), oldest first, as a register reads; filters if given."""
    query = select(Record).where(Record.created_at >= since, Record.created_at < until)
    for column, value in ((Record.department, department), (Record.status, status),
                          (Record.urgency, urgency)):
        if value:
            query = query.where(column == value)
    return session.scalars(query.order_by(Record.created_at, Record.id)
                           .execution_options(yield_per=STREAMED))


def records_opened_or_closed(session: Session, start: datetime, end: datetime
                             ) -> Iterator[Record]:
    """Records opened or closed in [start, end): what a period's evaluation counts."""
    query = select(Record).where(or_(
        (Record.created_at >= start) & (Record.created_at < end),
        (Record.closed_at >= start) & (Record.closed_at < end),
    ))
    return iter(session.scalars(query.execution_options(yield_per=STREAMED)))


def register_counts(session: Session, now: datetime) -> RegisterCounts:
    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(where[0]).where(*where[1:])) or 0

    late = or_(Record.first_response_at > Record.due_at,
               and_(Record.first_response_at.is_(None), Record.due_at < now))
    return RegisterCounts(
        mails_in=count(Mail, Mail.direction == "in"),
        records=count(Record),
        acks_sent=session.scalar(
            select(func.count()).select_from(Outbox).join(Mail, Outbox.mail_id == Mail.id)
            .where(Outbox.status == "sent", Mail.kind == "ack")) or 0,
        outbox_pending=count(Outbox, Outbox.status == "pending"),
        breaches=count(Record, Record.due_at.is_not(None), late),
        quarantined=count(Mail, Mail.quarantine_reason.is_not(None)),
        dead_letters=count(Outbox, Outbox.status == "dead"),
    )


# --- health probes: each on an engine of its own, never creating a database -----------------


def reachable(url: str, timeout: float) -> str:
    """Connect and ask the database one trivial question; its URL, password hidden."""
    with _existing(url, timeout) as engine:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return engine.url.render_as_string(hide_password=True)


def outbox_state(url: str, timeout: float, now: datetime
                 ) -> tuple[dict[str, int], timedelta | None]:
    """Outbox rows per status, and how long the oldest pending one has waited."""
    with _existing(url, timeout) as engine, make_sessionmaker(engine)() as session:
        age = outbox.oldest_pending_age(session, now)
        return outbox.counts(session), age


def alert_state(url: str, timeout: float
                ) -> dict[str, tuple[str, int, str | None, datetime]]:
    """Per alert channel, its newest tried alert: (status, attempts, last error, queued at)."""
    with _existing(url, timeout) as engine, make_sessionmaker(engine)() as session:
        return alerts.last_outcomes(session)


@contextlib.contextmanager
def _existing(url: str, timeout: float) -> Iterator[Engine]:
    # Any failure of the driver or of SQLAlchemy (a bad URL, a missing driver) is the check's
    # answer, not a bug: it leaves as StorageError with the driver's message.
    try:
        parsed = make_url(url)
        database = parsed.database
        if parsed.get_backend_name() == "sqlite" and database and not Path(database).exists():
            # make_engine would create an empty file: a health check must not.
            raise StorageError(f"SQLite file {database} does not exist")
        engine = make_engine(url, busy_timeout=timeout)
        try:
            yield engine
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        raise StorageError(str(exc)) from exc

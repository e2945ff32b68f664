"""Leases between the nodes of one database: who reads the mailbox, sends, runs the jobs.

A lease is a row with a holder and an expiry in the database's own clock. Its holder renews
it well before it runs out; any node takes it once it has run out (its holder died, or lost
the database). One UPDATE decides: PostgreSQL re-checks its WHERE on the row it locked, so of
two nodes reaching for an expired lease at once exactly one gets it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Engine,
    case,
    create_engine,
    func,
    literal,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.db.cluster_tables import JobRun, Lease
from gateway.db.models import UtcDateTime


@dataclass(frozen=True, slots=True)
class Holding:
    name: str
    holder: str | None
    since: datetime
    expires_at: datetime


def keeper_engine(url: str, timeout: float) -> Engine:
    """An engine for the lease keeper: gives up on a cut connection within `timeout` seconds.

    A network cut sends no reset: without keepalives a read would wait for TCP to give up,
    many minutes, and the node could not seek its leases again meanwhile.
    """
    if make_url(url).get_backend_name() != "postgresql":
        return create_engine(url, connect_args={"timeout": timeout})
    seconds = max(1, int(timeout))
    return create_engine(url, pool_pre_ping=True, pool_size=1, connect_args={
        "connect_timeout": seconds, "keepalives": 1, "keepalives_idle": 1,
        "keepalives_interval": 1, "keepalives_count": seconds,
        "tcp_user_timeout": seconds * 1000,
    })


def is_shared(url: str) -> bool:
    """Whether several daemons may share this database (PostgreSQL), or one only (SQLite)."""
    return make_url(url).get_backend_name() != "sqlite"


def sqlite_file(url: str) -> str | None:
    """The file of a SQLite database URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return parsed.database


def statement_timeout(session: Session, seconds: float) -> None:
    """PostgreSQL: end this transaction's statements that wait longer than `seconds`."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL statement_timeout = {int(seconds * 1000)}"))


def database_now(session: Session) -> datetime:
    """The database's clock on PostgreSQL (shared by every node), the local one on SQLite."""
    if session.get_bind().dialect.name == "postgresql":
        now = session.scalar(select(func.clock_timestamp()))
        return now.astimezone(UTC)
    return datetime.now(UTC)


def acquire(session: Session, name: str, node: str, ttl: float) -> bool:
    """Take or renew the lease `name` for `node`, valid `ttl` seconds from now; False if taken."""
    now = database_now(session)
    expires = now + timedelta(seconds=ttl)
    taken = session.execute(
        update(Lease)
        .where(Lease.name == name, or_(Lease.holder == node, Lease.holder.is_(None),
                                       Lease.expires_at < now))
        .values(holder=node,
                since=case((Lease.holder == node, Lease.since),
                           else_=literal(now, UtcDateTime())),
                renewed_at=now, expires_at=expires)
    ).rowcount
    if taken:
        return True
    if session.get(Lease, name) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(Lease(name=name, holder=node, since=now, renewed_at=now,
                              expires_at=expires))
    except IntegrityError:
        return False  # another node inserted it first
    return True


def release(session: Session, names: list[str], node: str) -> None:
    """Give leases back on a clean stop, so another node takes them at once."""
    if names:
        session.execute(
            update(Lease).where(Lease.name.in_(names), Lease.holder == node)
            .values(holder=None, expires_at=database_now(session))
        )


def holdings(session: Session) -> tuple[datetime, list[Holding]]:
    """Every lease and the database's time now (to tell running from run out)."""
    now = database_now(session)
    rows = session.execute(select(Lease.name, Lease.holder, Lease.since, Lease.expires_at)
                           .order_by(Lease.name)).all()
    return now, [Holding(*row) for row in rows]


def claim_period(session: Session, job: str, period: str, node: str) -> bool:
    """Claim `job`'s run for `period` (an ISO time that sorts); False when it already ran."""
    now = database_now(session)
    claimed = session.execute(
        update(JobRun).where(JobRun.job == job, JobRun.period < period)
        .values(period=period, node=node, ran_at=now)
    ).rowcount
    if claimed:
        return True
    if session.get(JobRun, job) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(JobRun(job=job, period=period, node=node, ran_at=now))
    except IntegrityError:
        return False
    return True

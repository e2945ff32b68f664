"""The node registry: each running daemon's heartbeat row, read back by `gateway health`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from gateway.db.cluster_tables import Node
from gateway.db.leases import Holding, database_now, holdings
from gateway.db.reporting import _existing

FORGET_AFTER = timedelta(days=1)  # rows of nodes gone this long are deleted by the living


@dataclass(frozen=True, slots=True)
class Seen:
    id: str
    started_at: datetime
    seen_at: datetime


def heartbeat(session: Session, node: str, host: str, pid: int, started_at: datetime) -> None:
    now = database_now(session)
    beat = session.execute(update(Node).where(Node.id == node).values(seen_at=now)).rowcount
    if not beat:
        session.add(Node(id=node, host=host, pid=pid, started_at=started_at, seen_at=now))
        session.execute(delete(Node).where(Node.seen_at < now - FORGET_AFTER))


def leave(session: Session, node: str) -> None:
    session.execute(delete(Node).where(Node.id == node))


def cluster_state(url: str, timeout: float) -> tuple[datetime, list[Seen], list[Holding]]:
    """The database's time, the nodes it has seen and the leases (for `gateway health`)."""
    with _existing(url, timeout) as engine, Session(engine) as session:
        now, leases = holdings(session)
        rows = session.execute(select(Node.id, Node.started_at, Node.seen_at)
                               .order_by(Node.started_at)).all()
    return now, [Seen(*row) for row in rows], leases

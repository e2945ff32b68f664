"""The tables of several nodes on one database: who runs, which lease each holds, which
periodic job ran for which period (runtime/cluster.py keeps them)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.db.models import Base, UtcDateTime


class Node(Base):
    """A running daemon, seen by its heartbeat (db/nodes.py); `gateway health` lists them."""

    __tablename__ = "nodes"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # host:pid
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Lease(Base):
    """Who may do a node-wide task (read the mailbox, send, run the periodic jobs), until when.

    Times are the database's clock, so the nodes' own clocks never have to agree.
    """

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(128))  # Node.id; None once released
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    renewed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class JobRun(Base):
    """The last period a periodic job ran for: claimed before it runs, so once per period."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(32))  # e.g. 2026-11-29T18:54, sorts as time
    node: Mapped[str] = mapped_column(String(128))
    ran_at: Mapped[datetime] = mapped_column(UtcDateTime)

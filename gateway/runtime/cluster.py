"""Two or more daemons on one PostgreSQL database: each node's leases and heartbeat.

Three leases share out the work: the mailbox (one reader of a folder at a time), the outbox
(one sender at a time) and the periodic jobs. A node keeps renewing what it holds and keeps
reaching for what nobody holds; a node that dies, or loses the database, stops renewing,
and within LEASE_TTL + RENEW_EVERY seconds another node holds its leases. A holder stops
using a lease SAFETY seconds before the database would let another node take it, counted
on its own monotonic clock from the moment it asked for the renewal.

On SQLite a node is alone (runtime/single_node.py keeps a second daemon out): it holds
everything and writes no heartbeat.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol

from gateway.config import Settings
from gateway.db import leases, nodes
from gateway.db.sessions import Sessions
from gateway.errors import StorageError

log = logging.getLogger(__name__)

LEASE_TTL = 8.0  # seconds a lease lasts after its last renewal (database clock)
RENEW_EVERY = 1.5  # seconds between a node's rounds of renewing and reaching
SAFETY = 3.0  # a holder stops this long before its lease could be taken
DB_TIMEOUT = 4.0  # seconds a round may wait on the database before it is given up
OUTBOX, SCHEDULER = "outbox", "scheduler"


def node_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def mailbox_lease(settings: Settings) -> str:
    box = settings.mailbox
    if box.kind == "maildir":
        return f"mailbox:maildir:{settings.maildir_path}"
    return f"mailbox:imap:{box.user}@{box.host}/{box.folder}"


def is_shared(settings: Settings) -> bool:
    """Whether several nodes may run on this database (PostgreSQL) or one only (SQLite)."""
    return leases.is_shared(settings.database_url)


class Membership(Protocol):
    node: str

    def start(self) -> None: ...
    def holds(self, name: str) -> bool: ...
    def claim(self, job: str, period: str) -> bool: ...
    def stop(self) -> None: ...


class Alone:
    """The single node of a SQLite database: it holds every lease and every period."""

    def __init__(self, node: str):
        self.node = node

    def start(self) -> None:
        pass

    def holds(self, name: str) -> bool:
        return True

    def claim(self, job: str, period: str) -> bool:
        return True

    def stop(self) -> None:
        pass


def membership(settings: Settings, node: str, names: Iterable[str], *,
               heartbeat: bool) -> Membership:
    if not is_shared(settings):
        return Alone(node)
    return LeaseKeeper(settings.database_url, node, list(names), heartbeat=heartbeat)


class LeaseKeeper:
    """Renews the leases it holds and reaches for the others, in a thread of its own."""

    def __init__(self, url: str, node: str, names: list[str], *, heartbeat: bool,
                 ttl: float = LEASE_TTL, every: float = RENEW_EVERY, safety: float = SAFETY,
                 clock: Callable[[], float] = time.monotonic,
                 started_at: datetime | None = None):
        self.node, self.names = node, names
        self._engine = leases.keeper_engine(url, DB_TIMEOUT)
        self._sessions = Sessions(self._engine)
        self._heartbeat, self._started_at = heartbeat, started_at or datetime.now(UTC)
        self._ttl, self._every, self._safety, self._clock = ttl, every, safety, clock
        self._valid_until: dict[str, float] = {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._unreachable = False
        self._host, self._pid = socket.gethostname(), os.getpid()

    def start(self) -> None:
        self.tick()  # leases nobody holds are taken before the node starts working
        self._thread = threading.Thread(target=self._run, name="gateway-leases", daemon=True)
        self._thread.start()

    def holds(self, name: str) -> bool:
        return self._clock() < self._valid_until.get(name, 0.0)

    def held(self) -> list[str]:
        return [name for name in self.names if self.holds(name)]

    def claim(self, job: str, period: str) -> bool:
        """Whether this node runs `job` for `period`: it holds the jobs' lease and claimed it."""
        if not self.holds(SCHEDULER):
            return False
        with self._sessions.begin() as session:
            return leases.claim_period(session, job, period, self.node)

    def tick(self) -> None:
        """One round: renew or take each lease, then the heartbeat."""
        asked = self._clock()
        try:
            with self._sessions.begin() as session:
                leases.statement_timeout(session, DB_TIMEOUT)
                got = {name: leases.acquire(session, name, self.node, self._ttl)
                       for name in self.names}
                if self._heartbeat:
                    nodes.heartbeat(session, self.node, self._host, self._pid,
                                    self._started_at)
        except StorageError as exc:
            if not self._unreachable:  # once per outage, not every round
                log.warning("leases: database unavailable (%s); holding %s until they run out",
                            str(exc).splitlines()[0], ", ".join(self.held()) or "nothing")
            self._unreachable = True
            return
        if self._unreachable:
            log.info("leases: database reachable again")
        self._unreachable = False
        for name, ok in got.items():
            was = self.holds(name)
            if ok:
                self._valid_until[name] = asked + self._ttl - self._safety
                if not was:
                    log.info("node %s now holds %s", self.node, name)
            else:
                self._valid_until.pop(name, None)
                if was:
                    log.warning("node %s lost %s to another node", self.node, name)

    def _run(self) -> None:
        while not self._stopping.wait(self._every):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the keeper must outlive any one failure
                log.exception("lease round failed")

    def stop(self) -> None:
        """Give back what is held and leave the registry, so others take over at once."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=DB_TIMEOUT * 2)
        held, self._valid_until = self.held(), {}
        if not held and not self._heartbeat:
            self._engine.dispose()
            return
        try:
            with self._sessions.begin() as session:
                leases.release(session, held, self.node)
                if self._heartbeat:
                    nodes.leave(session, self.node)
        except StorageError as exc:
            log.warning("leases: could not give back %s (%s); they run out by themselves",
                        ", ".join(held) or "the node's registration", str(exc).splitlines()[0])
        finally:
            self._engine.dispose()

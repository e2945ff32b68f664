"""The outbox sender run as a process of its own, apart from the mailbox loop."""

# SMTP work runs beside parsing and storing, not under the same interpreter lock; the database
# is the only state the two processes share.

from __future__ import annotations

import logging
import os
import signal
from functools import partial
from typing import Protocol

from gateway.config import Settings
from gateway.db.engine import copy_log_back
from gateway.db.writeturn import WriteTurn
from gateway.routing.ruleset import RuleSet
from gateway.runtime.children import become_child

log = logging.getLogger(__name__)

PARENT_CHECK = 1.0  # seconds between looks at whether the daemon is still there


def run_sender(
    settings: Settings, wake: EventLike, stop: EventLike, interval: float, writing: EventLike,
    node: str = "", rules: RuleSet | None = None,
) -> None:
    """The sender process: flush when woken or every `interval` seconds, until told to stop.

    It opens its own database engine: connections inherited from the parent are never used.
    With several nodes on one database only the holder of the outbox lease sends, and it
    stops between two mails once it can no longer be sure it holds it (runtime/cluster.py).
    """
    from gateway.db.engine import checkpoint_every
    from gateway.runtime import cluster
    from gateway.runtime.assembly import Gateway
    from gateway.runtime.logs import configure

    # The parent decides when to stop; a terminal's Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), wake.set()))
    parent = os.getppid()
    become_child("gateway-outbox")
    configure(settings.logging)
    # A whole gateway, for what sending may cause: a dead letter queues a mail to the admin.
    gateway = Gateway(settings, migrate=False, rules=rules)
    gateway.write_turn = WriteTurn(writing)
    # This process copies the write-ahead log back into the database after each commit of
    # "sent", once it has let go of the write lock: inside its commit (SQLite's automatic
    # checkpoint), the mailbox loop waited for the copy.
    checkpoint_every(gateway.engine, 0)
    gateway.sender.after_marking = partial(copy_log_back, gateway.engine, gateway.write_turn)
    leases = cluster.membership(settings, node or cluster.node_id(), [cluster.OUTBOX],
                                heartbeat=False)
    gateway.sender.may_send = lambda: leases.holds(cluster.OUTBOX)
    leases.start()
    try:
        busy = False
        while not stop.is_set() and os.getppid() == parent:
            if not busy:  # after a round that sent mail, more is likely queued meanwhile
                wake.wait(min(interval, PARENT_CHECK))
            wake.clear()
            busy = False
            if not leases.holds(cluster.OUTBOX):
                continue  # another node sends; this one looks again in a second
            try:
                result = gateway.flush()
                busy = bool(result.sent)
                if result:
                    log.info("outbox: %d sent, %d to retry, %d dead",
                             len(result.sent), len(result.retried), len(result.dead))
            except Exception:  # noqa: BLE001 - the sender must outlive any one failure
                log.exception("outbox flush failed; will retry")
            try:
                alerts = gateway.flush_alerts()
                if alerts:
                    log.info("alerts: %d sent, %d to retry, %d dead",
                             len(alerts.sent), len(alerts.retried), len(alerts.dead))
            except Exception:  # noqa: BLE001 - a robot's trouble never stops the mail
                log.exception("alert flush failed; will retry")
    finally:
        leases.stop()
        gateway.close()


class EventLike(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...

"""The outbox sender as a process of its own, apart from the mailbox loop."""

# SMTP work runs beside parsing and storing, not under the same interpreter lock; the database
# is the only state the two processes share.

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from typing import Protocol

from .config import Settings

log = logging.getLogger(__name__)


def run_sender(settings: Settings, wake: EventLike, stop: EventLike, interval: float) -> None:
    """The sender process: flush when woken or every `interval` seconds, until told to stop.

    It opens its own database engine: connections inherited from the parent are never used.
    """
    from .db.engine import make_engine, make_sessionmaker
    from .logs import configure
    from .outbox import OutboxSender

    # The parent decides when to stop; a terminal's Ctrl-C reaches the whole process group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), wake.set()))
    configure(settings.logging)
    engine = make_engine(settings.database_url)
    sender = OutboxSender(make_sessionmaker(engine), settings.smtp, settings.smtp.password("smtp"))
    try:
        while not stop.is_set():
            wake.wait(interval)
            wake.clear()
            try:
                result = sender.flush(datetime.now(UTC))
                if result:
                    log.info("outbox: %d sent, %d to retry, %d dead",
                             len(result.sent), len(result.retried), len(result.dead))
            except Exception:  # noqa: BLE001 - the sender must outlive any one failure
                log.exception("outbox flush failed; will retry")
    finally:
        engine.dispose()


class EventLike(Protocol):
    def set(self) -> None: ...
    def clear(self) -> None: ...
    def is_set(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> bool: ...

"""The run loop: mailbox in the main thread, outbox in its own, periodic jobs, clean stop."""

from __future__ import annotations

import logging
import random
import signal
import threading
from types import FrameType

import schedule
from sqlalchemy.exc import OperationalError

from .app import Gateway
from .errors import MailboxError
from .sources.base import Source

log = logging.getLogger(__name__)

WAIT_SLICE = 5.0  # longest the loop blocks in IDLE before it looks at signals and jobs
RECONNECT_INITIAL, RECONNECT_MAX = 1.0, 300.0


class Daemon:
    def __init__(self, gateway: Gateway, *, flush_interval: float = 15.0):
        self.gateway = gateway
        self.stopping = threading.Event()
        self._outbox_wake = threading.Event()
        self._flush_interval = flush_interval
        self.scheduler = schedule.Scheduler()
        self.scheduler.every(1).minutes.do(self._outbox_wake.set)

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("received %s, stopping", signal.Signals(signum).name)
        self.stopping.set()
        self._outbox_wake.set()

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop)
        self._outbox_wake.set()  # mail queued before a crash or a restart goes out at once
        sender = threading.Thread(target=self._send_loop, name="outbox", daemon=True)
        sender.start()
        log.info("gateway running: mailbox %s, database %s", self.gateway.settings.mailbox.kind,
                 self.gateway.engine.url.render_as_string(hide_password=True))
        try:
            self._mail_loop()
        finally:
            self.stopping.set()
            self._outbox_wake.set()
            sender.join(timeout=60)
            log.info("gateway stopped")

    def _mail_loop(self) -> None:
        source: Source | None = None
        failures = 0
        while not self.stopping.is_set():
            try:
                source = source or self.gateway.make_source()
                results = self.gateway.process_batch(source)
                failures = 0
                if results:
                    self._outbox_wake.set()
                    continue  # there may be more waiting behind a full batch
                self.scheduler.run_pending()
                if not self.stopping.is_set():
                    source.wait(WAIT_SLICE)
            except (MailboxError, OperationalError) as exc:
                # The mailbox is gone, or the database is locked or away: either way the
                # uncommitted mails stay in the folder and a fresh connection hands them out.
                failures += 1
                delay = _reconnect_delay(failures)
                what = "mailbox" if isinstance(exc, MailboxError) else "database"
                log.warning("%s unavailable (%s); retrying in %.1fs", what,
                            _first_line(exc), delay)
                if source is not None:
                    source.close()
                source = None
                self.stopping.wait(delay)
        if source is not None:
            source.close()

    def _send_loop(self) -> None:
        while True:
            self._outbox_wake.wait(self._flush_interval)
            self._outbox_wake.clear()
            try:
                result = self.gateway.flush()
                if result:
                    log.info("outbox: %d sent, %d to retry, %d dead",
                             len(result.sent), len(result.retried), len(result.dead))
            except Exception:  # noqa: BLE001 - the sender thread must outlive any one failure
                log.exception("outbox flush failed; will retry")
            if self.stopping.is_set():
                return


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _reconnect_delay(failures: int) -> float:
    """Exponential backoff with full jitter, so many gateways do not reconnect in step."""
    ceiling = min(RECONNECT_MAX, RECONNECT_INITIAL * 2 ** (failures - 1))
    return random.uniform(ceiling / 2, ceiling)

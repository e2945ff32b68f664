"""The run loop: mailbox in the main process, outbox sender in its own, periodic jobs, clean end."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import random
import signal
import threading
from types import FrameType

import schedule

from gateway.db.engine import LOOP_CHECKPOINT_PAGES, checkpoint_every
from gateway.db.writeturn import WriteTurn
from gateway.errors import MailboxError, StorageUnavailable
from gateway.faults import FAULT_EXIT
from gateway.runtime import cluster
from gateway.runtime.assembly import COMMIT_GROUP, Gateway
from gateway.runtime.children import become_child
from gateway.runtime.readahead import ReadAhead
from gateway.runtime.scheduler import Jobs
from gateway.runtime.sender_process import run_sender
from gateway.runtime.single_node import DaemonLock
from gateway.sources.base import Source

log = logging.getLogger(__name__)

GC_YOUNG_THRESHOLD = 20_000  # allocations between collections of the youngest generation
WAIT_SLICE = 5.0  # longest the loop blocks in IDLE before it looks at signals and jobs
RECONNECT_INITIAL, RECONNECT_MAX = 1.0, 300.0
SENDER_RESTART_DELAY = 1.0  # seconds between looks at the sender process
STANDBY_WAIT = 0.5  # seconds between looks at the mailbox lease while another node holds it

# Forked from the loaded daemon, so both processes share the pages of the modules they import;
# the child opens its own database connections and never touches the parent's.
_MP = multiprocessing.get_context("fork")


class Daemon:
    def __init__(self, gateway: Gateway, *, flush_interval: float = 15.0):
        self.gateway = gateway
        self.stopping = threading.Event()
        # Shared with the sender process: set to make it flush now, or to make it stop.
        self._outbox_wake = _MP.Event()
        self._sender_stop = _MP.Event()
        # Raised by the sender or the reader while it waits for SQLite's write lock; the loop
        # lets it go first.
        self._sender_writing = _MP.Event()
        self._reader_writing = _MP.Event()  # the mailbox reader, for its checkpoint
        gateway.write_turn = WriteTurn(self._sender_writing, self._reader_writing)
        checkpoint_every(gateway.engine, LOOP_CHECKPOINT_PAGES)  # the sender's job
        self._flush_interval = flush_interval
        self.scheduler = schedule.Scheduler()
        self.scheduler.every(1).minutes.do(self._outbox_wake.set)
        self.scheduler.every(SENDER_RESTART_DELAY).seconds.do(self._supervise_sender)
        # Alone on SQLite; one of several nodes on PostgreSQL (runtime/cluster.py).
        self.node = cluster.node_id()
        self._mailbox_lease = cluster.mailbox_lease(gateway.settings)
        self.cluster = cluster.membership(gateway.settings, self.node,
                                          [self._mailbox_lease, cluster.SCHEDULER],
                                          heartbeat=True)
        self._lock = DaemonLock.for_url(gateway.settings.database_url)
        self.jobs = Jobs(gateway, wake=self._outbox_wake.set, claim=self.cluster.claim)
        self.jobs.install(self.scheduler)
        self._sender: multiprocessing.process.BaseProcess | None = None

    def stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        if signum is not None:
            log.info("received %s, stopping", signal.Signals(signum).name)
        self.stopping.set()

    def run(self) -> None:
        # Each mail allocates thousands of short-lived objects (parse trees, rows, rendered
        # parts) and few cycles: collecting the youngest generation every 700 allocations,
        # the default, spent a few percent of the loop finding nothing.
        gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        for channel in self.gateway.settings.im.channel:
            channel.secret()  # a robot's secret missing: refuse to start, not fail each send
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.stop)
        if self._lock is not None:
            self._lock.take()  # a second daemon on the same SQLite file stops here
        self._outbox_wake.set()  # mail queued before a crash or a restart goes out at once
        self._start_sender()
        self.cluster.start()
        log.info("gateway running: node %s, mailbox %s, database %s", self.node,
                 self.gateway.settings.mailbox.kind,
                 self.gateway.engine.url.render_as_string(hide_password=True))
        try:
            self._mail_loop()
        finally:
            self.stopping.set()
            self._stop_sender()
            self.cluster.stop()
            if self._lock is not None:
                self._lock.release()
            log.info("gateway stopped")

    # -- the outbox sender process (runtime/sender_process.py) ------------------------------------

    def _start_sender(self) -> None:
        gc.freeze()  # objects that exist now stay shared with the child, not copied on write
        self._sender = _MP.Process(
            target=run_sender,
            args=(self.gateway.settings, self._outbox_wake, self._sender_stop,
                  self._flush_interval, self._sender_writing, self.node, self.gateway.rules),
            name="gateway-outbox",
            daemon=True,
        )
        self._sender.start()

    def _supervise_sender(self) -> None:
        if self._sender is None or self._sender.is_alive() or self.stopping.is_set():
            return
        if self._sender.exitcode == FAULT_EXIT:
            # A fault injected in the sender stands for a crash of the whole gateway.
            log.error("outbox sender killed by an injected fault; the gateway goes down with it")
            os._exit(FAULT_EXIT)
        log.error("outbox sender exited with code %s; restarting it", self._sender.exitcode)
        self._start_sender()

    def _stop_sender(self) -> None:
        if self._sender is None:
            return
        self._sender_stop.set()
        self._outbox_wake.set()
        self._sender.join(timeout=60)
        if self._sender.is_alive():
            log.warning("outbox sender did not stop in time; terminating it")
            self._sender.terminate()
            self._sender.join(timeout=10)

    # -- the mailbox reader process (runtime/readahead.py) -----------------------------------------

    def _open_reader(self) -> ReadAhead:
        """The mailbox, fetched and parsed in a process of its own, one batch ahead."""
        gc.freeze()
        # The first read is one commit group: after a start or a reconnect with a backlog,
        # the first answers wait for that group, not for a whole batch.
        return ReadAhead(self.gateway.settings.mailbox.kind, self.gateway.make_source,
                         start=self._in_reader, first_read=COMMIT_GROUP)

    def _in_reader(self) -> None:
        become_child("gateway-reader")
        self.gateway.write_turn = WriteTurn(self._reader_writing)
        # Its own database connections (the mailbox checkpoint); the parent's stay the parent's.
        self.gateway.engine.dispose(close=False)

    def _mail_loop(self) -> None:
        source: Source | None = None
        failures = 0
        while not self.stopping.is_set():
            try:
                if not self.cluster.holds(self._mailbox_lease):
                    source = self._stand_by(source)
                    continue
                source = source or self._open_reader()
                results = self.gateway.process_batch(source, committed=self._outbox_wake.set)
                failures = 0
                if results:
                    continue  # there may be more waiting behind a full batch
                self.scheduler.run_pending()
                if not self.stopping.is_set():
                    source.wait(WAIT_SLICE)
            except (MailboxError, StorageUnavailable) as exc:
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


    def _stand_by(self, source: Source | None) -> None:
        """Another node reads the mailbox: let go of the folder, keep the jobs, look again."""
        if source is not None:
            log.info("node %s: another node reads the mailbox now; standing by", self.node)
            source.close()
        self.scheduler.run_pending()
        self.stopping.wait(STANDBY_WAIT)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _reconnect_delay(failures: int) -> float:
    """Exponential backoff with full jitter, so many gateways do not reconnect in step."""
    ceiling = min(RECONNECT_MAX, RECONNECT_INITIAL * 2 ** (failures - 1))
    return random.uniform(ceiling / 2, ceiling)

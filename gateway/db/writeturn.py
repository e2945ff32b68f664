"""Taking turns at SQLite's single write lock between the daemon's processes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any


class WriteTurn:
    """Lets the daemon's other processes ask the mailbox loop for SQLite's write lock.

    SQLite has one writer and no queue: the mailbox loop, storing batches back to back, would
    take the lock again before a process sleeping in its busy handler looked, and that process
    starved. The outbox sender and the mailbox reader (its checkpoint) each raise a flag of
    their own while they wait; the loop, between two transactions, lets them go first.
    Without shared flags (one process, PostgreSQL) both sides are no-ops.
    """

    def __init__(self, *flags: Any, patience: float = 0.5):
        # multiprocessing.Events shared between processes: a process asking for its turn
        # raises the first; the loop, made with every process's flag, watches them all.
        self._flags = flags
        self._patience = patience

    @contextlib.contextmanager
    def asked(self) -> Iterator[None]:
        flag = self._flags[0] if self._flags else None
        if flag is not None:
            flag.set()
        try:
            yield
        finally:
            if flag is not None:
                flag.clear()

    def wanted(self) -> bool:
        """Whether another process waits for the lock now (the loop then ends its transaction)."""
        return any(flag.is_set() for flag in self._flags)

    def give_way(self) -> None:
        """Between two write transactions: wait (a little) while another process wants the lock."""
        if not self._flags:
            return
        deadline = time.monotonic() + self._patience
        while self.wanted() and time.monotonic() < deadline:
            time.sleep(0.001)

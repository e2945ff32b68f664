"""Taking turns at SQLite's single write lock between the daemon's two processes."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any


class WriteTurn:
    """Lets the outbox sender ask the mailbox loop, in another process, for SQLite's write lock.

    SQLite has one writer and no queue: the mailbox loop, storing batches back to back, would
    take the lock again before a sender sleeping in its busy handler looked, and the sender
    starved. The sender raises a flag while it waits; the loop, between two batches, lets it
    go first. Without a shared flag (one process, PostgreSQL) both sides are no-ops.
    """

    def __init__(self, flag: Any = None, patience: float = 0.5):
        self._flag = flag  # a multiprocessing.Event shared by both processes, or None
        self._patience = patience

    @contextlib.contextmanager
    def asked(self) -> Iterator[None]:
        if self._flag is not None:
            self._flag.set()
        try:
            yield
        finally:
            if self._flag is not None:
                self._flag.clear()

    def wanted(self) -> bool:
        """Whether the sender waits for the lock now (the loop then ends its transaction)."""
        return self._flag is not None and self._flag.is_set()

    def give_way(self) -> None:
        """Between two write transactions: wait (a little) while the sender wants the lock."""
        if self._flag is None:
            return
        deadline = time.monotonic() + self._patience
        while self._flag.is_set() and time.monotonic() < deadline:
            time.sleep(0.001)

"""SQLite takes one daemon: a lock file beside the database keeps a second one out."""

from __future__ import annotations

import fcntl
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from gateway.db.leases import sqlite_file
from gateway.errors import AlreadyRunning


class DaemonLock:
    """An exclusive flock on `<database>.lock`, held for the daemon's life.

    The kernel drops it when the process ends, however it ends (SIGKILL included), so a
    stale file never keeps a restarted daemon out. The file names the holder for the message.
    """

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    @classmethod
    def for_url(cls, url: str) -> DaemonLock | None:
        """The lock of a SQLite file database; None for PostgreSQL or an in-memory one."""
        database = sqlite_file(url)
        return cls(Path(f"{database}.lock")) if database else None

    def take(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise AlreadyRunning(
                f"another gateway daemon ({holder}) already runs on {self.path.with_suffix('')};"
                " SQLite takes one daemon, run two or more nodes on PostgreSQL") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()} since "
                     f"{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC\n".encode())
        self._fd = fd

    def holder(self) -> str | None:
        """Who holds the lock now (for `gateway health`), or None when no daemon runs."""
        if not self.path.exists():
            return None
        fd = os.open(self.path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return os.read(fd, 200).decode("utf-8", "replace").strip()
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None

"""The contract every mail source keeps with the pipeline."""

from __future__ import annotations

from typing import Iterable, Protocol

from gateway.model import FetchedMail, Settlement


class Source(Protocol):
    name: str

    def fetch(self, limit: int = 200) -> list[FetchedMail]:
        """Return up to `limit` mails not yet handed out, oldest first."""

    def settle(self, done: Iterable[tuple[FetchedMail, Settlement]]) -> None:
        """Move/flag mails whose records are committed. Called only after commit."""

    def wait(self, timeout: float) -> bool:
        """Block until new mail may be there (IDLE) or timeout; True when something arrived."""

    def close(self) -> None: ...

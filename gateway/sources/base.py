"""The contract every mail source keeps with the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Iterable, Protocol

# Kept importable from here for the sources that name it beside FetchedMail; it lives in
# model.py so that db/ can store it without importing the sources.
from gateway.model import Checkpoint as Checkpoint


class Settlement(StrEnum):
    """What became of a fetched mail once its transaction committed: where the source files it."""

    PROCESSED = "processed"  # stored as a record or added to one (or already stored before)
    QUARANTINED = "quarantined"  # kept with a reason, not routed


@dataclass(frozen=True, slots=True)
class FetchedMail:
    key: str  # stable id within the source, e.g. "imap:INBOX:1700000000:42" or a Maildir name
    raw: bytes
    size: int  # size the server announced (RFC822.SIZE); len(raw) for local sources
    uid: int | None = None  # IMAP UID, None for other sources
    truncated: bool = False  # only headers were fetched (oversize mail)


class Source(Protocol):
    name: str

    def fetch(self, limit: int = 200) -> list[FetchedMail]:
        """Return up to `limit` mails not yet handed out, oldest first."""

    def settle(self, done: Iterable[tuple[FetchedMail, Settlement]]) -> None:
        """Move/flag mails whose records are committed. Called only after commit."""

    def wait(self, timeout: float) -> bool:
        """Block until new mail may be there (IDLE) or timeout; True when something arrived."""

    def close(self) -> None: ...

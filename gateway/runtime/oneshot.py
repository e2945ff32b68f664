"""One-shot runs outside the daemon: drain the mailbox once, ingest one mail from a file or stdin."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from gateway.sources.outlook import is_outlook, read_msg
from gateway.sources.pipe import read_one
from gateway.usecases.services import Result

if TYPE_CHECKING:
    from gateway.outbox.sender import FlushResult
    from gateway.runtime.assembly import Gateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollResult:
    actions: Counter  # what became of the mails taken in: created, appended, quarantined …
    flushed: FlushResult

    @property
    def processed(self) -> int:
        return sum(self.actions.values())


def drain(gateway: Gateway) -> Counter:
    """Process what waits in the mailbox, batch after batch, until it is empty."""
    source = gateway.make_source()
    actions: Counter = Counter()
    try:
        while results := gateway.process_batch(source):
            actions.update(r.action.value for r in results)
    finally:
        source.close()
    return actions


def poll_once(gateway: Gateway) -> PollResult:
    """`gateway poll --once`: drain the mailbox, close what waited long enough, flush the outbox."""
    actions = drain(gateway)
    gateway.close_waiting()
    flushed = gateway.flush()
    gateway.flush_alerts()
    return PollResult(actions, flushed)


def ingest(gateway: Gateway, path: Path | None, stdin: BinaryIO) -> Result:
    """Store one mail from a file (RFC 822, mbox-style, or an Outlook .msg) or from stdin, then
    try to send what it queued."""
    if path is None:
        fetched = read_one(stdin)
    else:
        with path.open("rb") as stream:
            outlook = is_outlook(stream.read(8))
            stream.seek(0)
            fetched = read_msg(path) if outlook else read_one(stream)
    result = gateway.ingest(fetched)
    # Stored is stored: sending can wait for the daemon if SMTP is down right now.
    try:
        gateway.flush()
    except Exception as exc:  # noqa: BLE001 - the mail is safe; delivery is retried later
        log.warning("mail stored, sending deferred: %s", exc)
    return result

"""The mailbox read one batch ahead, in a process of its own, while the loop stores the last.

Fetching and parsing are most of a mail's work outside the database. Under one interpreter
lock they would take turns with storing; in a reader process forked from the daemon they run
beside it. The reader owns the mailbox connection: it hands out a batch of parsed mails,
fetches and parses the next one at once, and files mails away when the loop says they are
committed. Nothing here changes what is stored or when a mail counts as done: the loop
still commits before it settles, and a mail handed out but not settled comes again.

One reader lives as long as one mailbox connection: when the loop lets go of the mailbox
(an error, a lost lease, the end), the reader ends with it and the next one starts afresh.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import pickle
import signal
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection

from gateway.errors import MailboxError
from gateway.faults import FAULT_EXIT
from gateway.model import FetchedMail, Settlement
from gateway.sources.base import Source
from gateway.usecases.ingest import Parsed, parse_fetched

log = logging.getLogger(__name__)

_MP = multiprocessing.get_context("fork")
CLOSE_WAIT = 10.0  # seconds a reader has to log out before it is killed

# What the loop asks the reader for. A read and a wait are answered; a settlement is not: the
# reader files mails away after it has answered the next read (a failure comes with the
# answer after that), so the loop never waits for the mailbox to file away what it has
# already committed.
READ, SETTLE, WAIT, CLOSE = "read", "settle", "wait", "close"


class ReadAhead:
    """A Source whose mails come parsed from a reader process, one batch ahead.

    `open_source` runs in the reader and opens the real mailbox there, so the faults a
    source passes when it settles (`after_move`, `after_settle`) fall in the reader. A fault
    injected in the reader stands for a crash of the whole gateway, as it does in the sender.
    """

    def __init__(self, name: str, open_source: Callable[[], Source],
                 *, start: Callable[[], None] = lambda: None, first_read: int | None = None):
        # `first_read`: at most this many mails in the connection's first read (None: a whole
        # batch), so that with a backlog (a start, a reconnect) the first answers wait less.
        self.name = name
        self._conn, theirs = _MP.Pipe()
        self._process = _MP.Process(target=_serve, args=(theirs, open_source, start, first_read),
                                    name="gateway-reader", daemon=True)
        self._process.start()
        theirs.close()

    def fetch_parsed(self, limit: int = 200) -> list[Parsed]:
        """The next batch: up to `limit` mails not handed out yet, parsed, oldest first."""
        return self._ask(READ, limit)

    def fetch(self, limit: int = 200) -> list[FetchedMail]:
        return [parsed.fetched for parsed in self.fetch_parsed(limit)]

    def settle(self, done: Iterable[tuple[FetchedMail, Settlement]]) -> None:
        # The reader keeps nothing but the key and UID of a mail to file it away.
        self._send(SETTLE, [(dataclasses.replace(mail, raw=b""), outcome)
                            for mail, outcome in done])

    def wait(self, timeout: float) -> bool:
        return self._ask(WAIT, timeout)

    def close(self) -> None:
        if self._process.is_alive():
            try:
                self._conn.send((CLOSE, None))
            except OSError:
                pass  # gone already
            self._process.join(CLOSE_WAIT)
        if self._process.is_alive():
            log.warning("%s: mailbox reader did not stop in time; killing it", self.name)
            self._process.kill()
            self._process.join()
        self._conn.close()

    def _ask(self, what: str, argument: object) -> object:
        self._send(what, argument)
        try:
            outcome, value = self._conn.recv()
        except (EOFError, OSError):
            self._gone()
        if outcome == "error":
            raise value
        return value

    def _send(self, what: str, argument: object) -> None:
        try:
            self._conn.send((what, argument))
        except OSError:
            self._gone()

    def _gone(self) -> None:
        self._process.join(CLOSE_WAIT)
        code = self._process.exitcode
        if code == FAULT_EXIT:
            log.error("mailbox reader killed by an injected fault; the gateway goes down with it")
            os._exit(FAULT_EXIT)
        raise MailboxError(f"{self.name}: mailbox reader exited with code {code}")


def _serve(conn: Connection, open_source: Callable[[], Source],
           start: Callable[[], None], first_read: int | None) -> None:
    """The reader process: answer the loop until it says close or goes away."""
    # The daemon decides when its reader ends; a terminal's Ctrl-C reaches the whole group.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    start()
    reader = _Reader(open_source, first_read)
    try:
        while True:
            try:
                what, argument = conn.recv()
            except (EOFError, OSError):
                return  # the daemon is gone
            if what == SETTLE:
                reader.to_settle += argument  # filed away once the loop has its next batch
                continue
            if what == READ:
                answer = reader.read(argument)
                conn.send(answer)
                reader.settle()
                if answer[0] == "ok" and answer[1]:
                    reader.read_ahead(argument)  # while the loop stores what it just got
                continue
            reader.settle()  # before IDLE, before the end: nothing committed stays
            if what == CLOSE:
                return
            conn.send(reader.wait(argument))
    finally:
        reader.close()


class _Reader:
    """The mailbox as the reader process sees it: a batch kept ready, a failure kept to tell."""

    def __init__(self, open_source: Callable[[], Source], first_read: int | None = None):
        self._open = open_source
        self._source: Source | None = None
        self._ahead: list[Parsed] = []
        self._failure: BaseException | None = None  # told with the next answer, then again
        self._first_read = first_read  # the first read's limit, until it is made
        self.to_settle: list[tuple[FetchedMail, Settlement]] = []  # committed, not filed away

    def read(self, limit: int) -> tuple[str, object]:
        ready, self._ahead = self._ahead, []
        if ready or self._failure is not None:
            return self._answer(ready)
        # Nothing read ahead: none was waiting a moment ago, or this is the first read.
        if self._first_read is not None:
            limit, self._first_read = min(limit, self._first_read), None
        return self._answer(self._attempt(lambda: self._read(limit), []))

    def read_ahead(self, limit: int) -> None:
        self._ahead = self._attempt(lambda: self._read(limit), [])

    def wait(self, timeout: float) -> tuple[str, object]:
        return self._answer(self._attempt(lambda: self._mailbox().wait(timeout), False))

    def settle(self) -> None:
        """File away what the loop has committed since the last time."""
        done, self.to_settle = self.to_settle, []
        if self._failure is None and done:
            self._attempt(lambda: self._mailbox().settle(done), None)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()

    def _read(self, limit: int) -> list[Parsed]:
        return [_portable(parse_fetched(mail)) for mail in self._mailbox().fetch(limit)]

    def _mailbox(self) -> Source:
        if self._source is None:
            self._source = self._open()
        return self._source

    def _attempt(self, action: Callable[[], object], otherwise: object) -> object:
        try:
            return action()
        except Exception as exc:  # noqa: BLE001 - the loop decides what a failure means
            self._failure = _picklable(exc)
            return otherwise

    def _answer(self, value: object) -> tuple[str, object]:
        if self._failure is not None:
            return "error", self._failure
        return "ok", value


def _portable(parsed: Parsed) -> Parsed:
    """The parser's own failure, made fit to cross to the loop (which quarantines the mail)."""
    if parsed.error is None:
        return parsed
    return dataclasses.replace(parsed, error=_picklable(parsed.error))


def _picklable(exc: BaseException) -> BaseException:
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any exception type may turn up here
        if isinstance(exc, MailboxError):
            return MailboxError(str(exc))
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc

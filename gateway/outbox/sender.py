"""The only part that talks SMTP: flushes due outbox rows, retries with backoff, dead-letters."""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosmtplib
from pydantic import SecretStr

from gateway.config import SmtpSettings
from gateway.credentials.provider import TokenProvider
from gateway.db import outbox
from gateway.db.sessions import Session, Sessions
from gateway.db.writeturn import WriteTurn
from gateway.errors import SmtpLoginError, SmtpPermanentError, SmtpTemporaryError
from gateway.faults import no_faults
from gateway.outbox.smtp_login import log_in, open_smtp
from gateway.outbox.transaction import send_one

log = logging.getLogger(__name__)

# How far a connection may run ahead of the commits that mark its mails sent, and how long
# the 250s are gathered before one commit marks them all.
UNCOMMITTED_PER_CONNECTION = 40
MARK_GATHER = 0.05

# Rows loaded per round: bounds the memory of raw mails held by the sender.
FLUSH_BATCH = 400


@dataclass(frozen=True, slots=True)
class _Job:
    outbox_id: int
    attempts: int
    envelope_from: str
    recipients: tuple[str, ...]
    raw: bytes
    message_id: str


@dataclass
class FlushResult:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.sent or self.retried or self.dead)


def backoff(attempts: int, initial: float, ceiling: float, rng: random.Random) -> timedelta:
    """Exponential backoff with ±20% jitter so a recovered server is not hit all at once."""
    delay = min(ceiling, initial * (2 ** max(0, attempts - 1)))
    return timedelta(seconds=delay * rng.uniform(0.8, 1.2))


def classify(exc: BaseException) -> SmtpTemporaryError | SmtpPermanentError:
    """Split SMTP failures into worth-retrying and refused-for-good."""
    if isinstance(exc, (SmtpTemporaryError, SmtpPermanentError)):
        return exc
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        permanent = bool(codes) and all(500 <= c < 600 for c in codes)
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        return (SmtpPermanentError if permanent else SmtpTemporaryError)(detail)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        detail = f"{exc.code} {exc.message}"
        if 500 <= exc.code < 600 and not isinstance(exc, aiosmtplib.SMTPAuthenticationError):
            return SmtpPermanentError(detail)
        return SmtpTemporaryError(detail)
    return SmtpTemporaryError(f"{type(exc).__name__}: {exc}")


class OutboxSender:
    """Sends what the pipeline queued. Marks a row sent only after the server said 250."""

    def __init__(
        self,
        sessions: Sessions,
        settings: SmtpSettings,
        password: SecretStr | None,
        *,
        rng: random.Random | None = None,
        on_dead: Callable[[Session, int, str, datetime], None] | None = None,
        faults: Callable[[str], None] = no_faults,
        write_turn: WriteTurn | None = None,
        tokens: TokenProvider | None = None,
    ):
        self._sessions = sessions
        self._tokens = tokens  # XOAUTH2: the login's token cache; None: password
        self._settings = settings
        self._password = password
        self._rng = rng or random.Random()
        self._on_dead = on_dead
        self._faults = faults
        # Shared with the mailbox loop when the daemon runs both; a no-op otherwise.
        self._write_turn = write_turn or WriteTurn()
        # Called after each commit of "sent", once the write lock is let go: the daemon's
        # sender process copies the write-ahead log back there (db/engine.py: checkpoint).
        self.after_marking: Callable[[], None] = lambda: None
        # Asked before each mail: False once this node may no longer be the one sender
        # (its outbox lease is running out, runtime/cluster.py); the rest stays pending.
        self.may_send: Callable[[], bool] = lambda: True

    def flush(self, now: datetime, limit: int = FLUSH_BATCH) -> FlushResult:
        """Send everything due at `now`; blocking wrapper for the CLI and the daemon thread."""
        return asyncio.run(self.flush_async(now, limit))

    async def flush_async(self, now: datetime, limit: int = FLUSH_BATCH) -> FlushResult:
        result = FlushResult()
        # One marker for all rounds: the next round is fetched while the last 250s of this
        # one are still being committed, so SMTP never waits for the database at a round's end.
        marker = _SentMarker(lambda ids: self._mark_sent(ids, now))
        marking = asyncio.create_task(marker.run())
        try:
            while True:
                jobs = self._due(now, limit, skip=marker.unsettled) if self.may_send() else []
                if not jobs:
                    return result
                outcome = await self._send_all(jobs, marker)
                self._record(outcome, jobs, now)
                result.sent += outcome.sent
                result.retried += outcome.retried
                result.dead += outcome.dead
                if len(jobs) < limit or not outcome.sent:
                    return result
        finally:
            marker.close()
            await marking
            marker.raise_error()

    def _due(self, now: datetime, limit: int, skip: frozenset[int] | set[int] = frozenset()
             ) -> list[_Job]:
        """Due rows, less those sent whose "sent" is still being committed."""
        # A snapshot of its own: no database lock is held while SMTP talks, and reading the
        # rows never waits for the mailbox loop's writes.
        with self._sessions.snapshot() as session:
            rows = outbox.due(session, now, limit, exclude=sorted(skip))
        return [_Job(r.id, r.attempts, r.envelope_from, tuple(r.recipients), r.raw, r.message_id)
                for r in rows]

    async def _send_all(self, jobs: list[_Job], marker: _SentMarker) -> _FlushTally:
        queue: asyncio.Queue[_Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        outcome = _FlushTally()
        workers = min(self._settings.connections, len(jobs))
        await asyncio.gather(*(self._worker(queue, outcome, marker) for _ in range(workers)))
        return outcome

    async def _worker(self, queue: asyncio.Queue[_Job], outcome: _FlushTally,
                      marker: _SentMarker) -> None:
        client: aiosmtplib.SMTP | None = None
        marking: deque[asyncio.Future[None]] = deque()  # sent, "sent" not yet committed
        try:
            while not queue.empty() and self.may_send():
                job = queue.get_nowait()
                try:
                    if client is None or not client.is_connected:
                        client = await self._connect()
                    refused = await _transact(client, job)
                except Exception as exc:  # noqa: BLE001 - every failure is classified below
                    error = classify(exc)
                    outcome.failed[job.outbox_id] = error
                    log.warning("outbox %s <%s>: %s", job.outbox_id, job.message_id, error)
                    if isinstance(error, SmtpTemporaryError) and _connection_lost(exc):
                        await _quietly_close(client)
                        client = None
                        _drain_as_failed(queue, outcome, error)
                else:
                    self._faults("after_smtp_accept")
                    marking.append(marker.add(job.outbox_id))
                    outcome.sent.append(job.outbox_id)
                    if refused:
                        outcome.refused[job.outbox_id] = refused
                    if len(marking) > UNCOMMITTED_PER_CONNECTION:
                        await marking.popleft()
        finally:
            await _quietly_close(client)

    def check(self) -> None:
        """Connect, greet, log in and quit, or raise SmtpTemporaryError (for `health`)."""
        async def probe() -> None:
            client = await self._connect()
            await _quietly_close(client)

        try:
            asyncio.run(probe())
        except Exception as exc:  # noqa: BLE001 - every failure is classified
            raise SmtpTemporaryError(str(classify(exc))) from exc

    async def _connect(self) -> aiosmtplib.SMTP:
        client = await open_smtp(self._settings)
        try:
            await log_in(client, self._settings, self._password, self._tokens)
            if client.is_ehlo_or_helo_needed:
                try:
                    await client.ehlo()
                except aiosmtplib.SMTPHeloError:
                    await client.helo()
        except BaseException:
            await _quietly_close(client)
            raise
        return client

    def _mark_sent(self, ids: list[int], now: datetime) -> None:
        with self._write_turn.asked():
            with self._sessions.begin() as session:
                outbox.mark_sent(session, ids, now)
        self.after_marking()

    def _record(self, outcome: _FlushTally, jobs: list[_Job], now: datetime) -> None:
        """Failures of one batch: retry later with backoff, or dead-letter; refused recipients."""
        if outcome.refused:
            with self._sessions.begin() as session:
                for outbox_id, refused in outcome.refused.items():
                    outbox.note_refused(session, outbox_id, refused)
        if not outcome.failed:
            return
        attempts = {job.outbox_id: job.attempts for job in jobs}
        with self._sessions.begin() as session:
            for outbox_id, error in outcome.failed.items():
                tries = attempts[outbox_id] + 1
                dead = isinstance(error, SmtpPermanentError) or (
                    tries >= self._settings.max_attempts and not isinstance(error, SmtpLoginError))
                delay = backoff(tries, self._settings.backoff_initial,
                                self._settings.backoff_max, self._rng)
                outbox.mark_retry(session, outbox_id, str(error), now + delay, dead=dead)
                (outcome.dead if dead else outcome.retried).append(outbox_id)
                if dead and self._on_dead:
                    # Same transaction as the dead mark: the admin is told exactly once.
                    self._on_dead(session, outbox_id, str(error), now)


class _SentMarker:
    """Commits "sent" right after the server's 250, not once per round: a crash can send
    twice (always with the same Message-ID) only the mails whose commit was still under way,
    at most UNCOMMITTED_PER_CONNECTION + 1 per connection. All 250s that arrive while one
    commit waits for the database share the next transaction, so SMTP does not wait for a
    commit per mail (the database may be busy storing incoming mail)."""

    def __init__(self, mark: Callable[[list[int]], None]):
        self._mark = mark
        self._waiting: list[tuple[int, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._error: Exception | None = None
        self.unsettled: set[int] = set()  # sent, and "sent" not committed yet

    def add(self, outbox_id: int) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((outbox_id, done))
        self.unsettled.add(outbox_id)
        self._wake.set()
        return done

    def raise_error(self) -> None:
        """After the last commit: a failed one fails the flush (its mails go out again)."""
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        self._closing = True
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing:
                # Gather the 250s of a short moment into one transaction: each commit takes
                # SQLite's write lock, which the mailbox loop needs to store incoming mail.
                await asyncio.sleep(MARK_GATHER)
            self._wake.clear()
            batch, self._waiting = self._waiting, []
            if batch:
                await self._commit(batch)
            if self._closing and not self._waiting:
                return

    async def _commit(self, batch: list[tuple[int, asyncio.Future[None]]]) -> None:
        ids = [outbox_id for outbox_id, _ in batch]
        try:
            await asyncio.to_thread(self._mark, ids)
        except Exception as exc:  # noqa: BLE001 - reported when the flush ends
            # Still pending in the database: sent again later, under the same Message-ID.
            log.error("could not mark %d sent mail(s) as sent: %s", len(ids), exc)
            self._error = self._error or exc
        self.unsettled.difference_update(ids)
        for _, done in batch:
            done.set_result(None)


@dataclass
class _FlushTally(FlushResult):
    failed: dict[int, SmtpTemporaryError | SmtpPermanentError] = field(default_factory=dict)
    refused: dict[int, dict[str, str]] = field(default_factory=dict)  # sent, some RCPTs refused


def _mail_options(raw: bytes, *, announce_size: bool = False) -> list[str]:
    options = [f"SIZE={len(raw)}"] if announce_size else []
    if not raw.isascii():
        # An attached original may be 8-bit (raw GBK); announce it so relays do not mangle it.
        options.append("BODY=8BITMIME")
    return options


async def _transact(client: aiosmtplib.SMTP, job: _Job) -> dict[str, str]:
    """One SMTP transaction (outbox/transaction.py); the refused recipients and why.

    As with aiosmtplib's sendmail, the mail counts as sent when at least one recipient was
    accepted; the others' refusals are returned (address → the server's reply) for the
    传递记录. The message comes from render, CRLF throughout, so its length is its SIZE.
    """
    options = _mail_options(job.raw, announce_size=client.supports_extension("size"))
    if "BODY=8BITMIME" in options and not client.supports_extension("8bitmime"):
        raise SmtpPermanentError(
            "the SMTP server does not announce 8BITMIME and this mail is 8-bit; set "
            "[smtp] eight_bit = false (an 8-bit original attached to a notification needs it anyway)")
    try:
        refused = await send_one(client, job.envelope_from, options, job.recipients, job.raw)
        return {exc.recipient: f"{exc.code} {exc.message}" for exc in refused}
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        try:  # leave the connection ready for the next mail
            await client.rset()
        except (ConnectionError, aiosmtplib.SMTPResponseException):
            pass
        raise


def _connection_lost(exc: BaseException) -> bool:
    # A refused login or a missing token fails every mail of the batch alike.
    return isinstance(exc, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                            aiosmtplib.SMTPTimeoutError, OSError, SmtpLoginError))


def _drain_as_failed(queue: asyncio.Queue[_Job], outcome: _FlushTally, error: Exception) -> None:
    # The server is gone: the rest of this batch waits for the next attempt instead of
    # each job paying a connection timeout.
    while not queue.empty():
        outcome.failed[queue.get_nowait().outbox_id] = type(error)(str(error))


async def _quietly_close(client: aiosmtplib.SMTP | None) -> None:
    if client is not None and client.is_connected:
        try:
            await client.quit()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail; nothing to do
            client.close()


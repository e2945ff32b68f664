"""An IMAP folder as a mail source: fetch by UID, file away after commit, wait by IDLE or poll."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from imapclient import IMAPClient

from gateway.credentials.provider import TokenProvider
from gateway.errors import MailboxError
from gateway.model import Checkpoint, FetchedMail, Settlement
from gateway.sources.imap_login import open_logged_in
from gateway.sources.imap_protocol import (
    CONNECTION_ERRORS,
    announced_size,
    compact_uid_set,
    describe,
    is_news,
    shutdown_quietly,
    uidvalidity_of,
)
from gateway.sources.imap_settings import ImapSettings

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "::1", "localhost")
SEEN, DELETED = rb"\Seen", rb"\Deleted"
DONE_KEYWORD = b"$GatewayDone"  # flag mode: the mail is committed and needs nothing more
QUARANTINE_KEYWORD = b"$GatewayQuarantined"
IDLE_RENEW = 29 * 60.0  # RFC 2177: a server may drop an IDLE that lasts 30 minutes
EARLY_WAKEUPS = 3  # empty IDLE wake-ups in a row that mean the server hung up


class ImapSource:
    """One IMAP folder. Nothing is marked \\Seen or moved until settle(), after commit."""

    def __init__(
        self,
        settings: ImapSettings,
        checkpoint_load: Callable[[], Checkpoint | None],
        checkpoint_save: Callable[[Checkpoint], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        faults: Callable[[str], None] = lambda point: None,
        tokens: TokenProvider | None = None,
    ):
        self.settings = settings
        self._tokens = tokens  # XOAUTH2: the login's token cache; None: password
        self._session_ends: float | None = None  # when the token of this login runs out
        self.name = f"imap:{settings.user}@{settings.host}/{settings.folder}"
        self._load, self._save = checkpoint_load, checkpoint_save
        self._clock, self._sleep = clock, sleep
        self._faults = faults
        self._client: IMAPClient | None = None
        self._uidvalidity = 0
        self._checkpoint = Checkpoint(0, 0)
        self._handed = 0  # highest UID above the checkpoint handed out on this connection
        self._backlog: list[int] | None = None  # committed earlier, still in the folder
        self._keywords = True  # the folder stores our own keywords (PERMANENTFLAGS \*)
        self._next_poll = 0.0
        if settings.tls == "none" and settings.host not in LOOPBACK:
            log.warning("%s: plaintext IMAP, the password travels unencrypted", self.name)

    # --- the Source contract -----------------------------------------------------------------

    def fetch(self, limit: int = 200) -> list[FetchedMail]:
        with self._guard("fetch"):
            self._renew_login()  # polling keeps a connection as long as IDLE does
            client = self._connected()
            self._next_poll = self._clock() + self.settings.poll_interval
            return self._fetch_mails(client, self._next_uids(client, limit))

    def settle(self, done: Iterable[tuple[FetchedMail, Settlement]]) -> None:
        done = list(done)
        if not done:
            return
        with self._guard("settle"):
            client = self._connected()
            groups = self._group(done)
            for outcome, uids in groups.items():
                if uids:
                    self._file_away(client, outcome, uids)
        self._faults("after_move")
        settled = [uid for uids in groups.values() for uid in uids]
        if settled:
            self._advance(max(settled))
        self._faults("after_settle")

    def wait(self, timeout: float) -> bool:
        if self.settings.use_idle:
            with self._guard("idle"):
                self._renew_login()
                client = self._connected()
                if client.has_capability("IDLE"):
                    return self._idle(client, self._within_token(timeout))
        return self._poll(timeout)

    def check(self) -> None:
        """Log in and select the folder, or raise MailboxError saying why (for `health`)."""
        with self._guard("check"):
            self._connected()

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except CONNECTION_ERRORS:
            shutdown_quietly(client)

    # --- connection ----------------------------------------------------------------------------

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn protocol and socket failures into MailboxError; the next call reconnects."""
        try:
            yield
        except MailboxError:
            self._drop()
            raise
        except CONNECTION_ERRORS as exc:
            self._drop()
            s = self.settings
            raise MailboxError(
                f"IMAP {action} failed on {s.host}:{s.port} as {s.user}: {describe(exc)}"
            ) from exc

    def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            shutdown_quietly(client)

    def _connected(self) -> IMAPClient:
        if self._client is None:
            self._client = self._open()
        return self._client

    def _open(self) -> IMAPClient:
        s = self.settings
        client = open_logged_in(s, self._tokens)
        try:
            self._session_ends = self._token_ends()
            if s.send_id:
                self._send_id(client)
            self._select(client)
            self._ensure_folders(client)
        except BaseException:
            shutdown_quietly(client)
            raise
        return client

    def _token_ends(self) -> float | None:
        return None if self._tokens is None else self._clock() + self._tokens.seconds_left()

    def _renew_login(self) -> None:
        """A login by token lasts as long as the token (Exchange Online ends the session
        then): past its refresh time, log in again with a fresh one before the next IDLE."""
        if self._client is not None and self._session_ends is not None \
                and self._clock() >= self._session_ends:
            log.info("%s: access token due for refresh; logging in again", self.name)
            self.close()

    def _within_token(self, timeout: float) -> float:
        if self._session_ends is None:
            return timeout
        return max(0.0, min(timeout, self._session_ends - self._clock()))

    def _send_id(self, client: IMAPClient) -> None:
        if not client.has_capability("ID"):
            log.info("%s: server does not offer ID; not sending it", self.name)
            return
        client.id_(dict(self.settings.id_fields))

    def _select(self, client: IMAPClient) -> None:
        info = client.select_folder(self.settings.folder)
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        self._keywords = b"\\*" in info.get(b"PERMANENTFLAGS", ())
        saved = self._load()
        if saved is not None and saved.uidvalidity != self._uidvalidity:
            # UIDs from before mean other mails now; duplicates are dropped by Message-ID.
            log.warning("%s: UIDVALIDITY changed from %d to %d; reading the folder from UID 1",
                        self.name, saved.uidvalidity, self._uidvalidity)
            saved = None
        self._checkpoint = saved or Checkpoint(self._uidvalidity, 0)
        self._handed = self._checkpoint.last_uid
        self._backlog = None
        if self.settings.flags_only and not self._keywords:
            log.warning("%s: folder does not store keywords; done mails are told apart by "
                        "\\Seen and the checkpoint only", self.name)
        log.info("%s: connected, UIDVALIDITY %d, committed up to UID %d",
                 self.name, self._uidvalidity, self._checkpoint.last_uid)

    def _ensure_folders(self, client: IMAPClient) -> None:
        for folder in (self.settings.processed_folder, self.settings.quarantine_folder):
            if folder and not client.folder_exists(folder):
                client.create_folder(folder)
                log.info("%s: created folder %s", self.name, folder)

    # --- fetch ----------------------------------------------------------------------------------

    def _next_uids(self, client: IMAPClient, limit: int) -> list[int]:
        """Committed-but-unsettled UIDs first (once per connection), then new ones, by UID."""
        if self._backlog is None:
            self._backlog = self._search_backlog(client)
        old, self._backlog = self._backlog[:limit], self._backlog[limit:]
        if len(old) == limit:
            return old
        floor = self._handed
        client.noop()  # servers show mail delivered since the last sync only after NOOP/IDLE
        # "n:*" always matches the highest UID, even below n: filter by hand.
        found = client.search(self._criteria(f"{floor + 1}:*"))
        new = sorted(uid for uid in found if uid > floor)[: limit - len(old)]
        if new:
            self._handed = new[-1]
        return old + new

    def _search_backlog(self, client: IMAPClient) -> list[int]:
        last = self._checkpoint.last_uid
        if last == 0:
            return []
        criteria = self._criteria(f"1:{last}")
        if self.settings.flags_only and not self._keywords:
            criteria.append("UNSEEN")
        backlog = sorted(uid for uid in client.search(criteria) if uid <= last)
        if backlog:
            log.info("%s: %d mail(s) committed before but not filed away; handing them out "
                     "again", self.name, len(backlog))
        return backlog

    def _criteria(self, uid_range: str) -> list:
        criteria: list = ["UID", uid_range]
        if self.settings.flags_only and self._keywords:
            criteria += ["NOT", "KEYWORD", DONE_KEYWORD]
        return criteria

    def _fetch_mails(self, client: IMAPClient, uids: list[int]) -> list[FetchedMail]:
        mails: list[FetchedMail] = []
        for start in range(0, len(uids), self.settings.batch):
            mails += self._fetch_batch(client, uids[start:start + self.settings.batch])
        return mails

    def _fetch_batch(self, client: IMAPClient, uids: list[int]) -> list[FetchedMail]:
        """BODY.PEEK, never BODY: reading must not set \\Seen before the commit."""
        limit = self.settings.max_size
        if limit is None:
            data = client.fetch(uids, ["RFC822.SIZE", "BODY.PEEK[]"])
            return [self._mail(uid, data[uid], b"BODY[]") for uid in uids if uid in data]
        sizes = client.fetch(uids, ["RFC822.SIZE"])
        small = [uid for uid in uids if uid in sizes and announced_size(sizes[uid]) <= limit]
        large = [uid for uid in uids if uid in sizes and announced_size(sizes[uid]) > limit]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        heads = client.fetch(large, ["BODY.PEEK[HEADER]"]) if large else {}
        for uid in large:
            log.warning("%s: UID %d has %d bytes, over max_size %d: headers only",
                        self.name, uid, announced_size(sizes[uid]), limit)
        mails = [self._mail(uid, {**sizes[uid], **bodies[uid]}, b"BODY[]")
                 for uid in small if uid in bodies]
        mails += [self._mail(uid, {**sizes[uid], **heads[uid]}, b"BODY[HEADER]", truncated=True)
                  for uid in large if uid in heads]
        return sorted(mails, key=lambda mail: mail.uid)

    def _mail(self, uid: int, data: dict, part: bytes, truncated: bool = False) -> FetchedMail:
        raw = data.get(part) or b""
        return FetchedMail(
            key=f"imap:{self.settings.folder}:{self._uidvalidity}:{uid}",
            raw=raw, size=announced_size(data) or len(raw), uid=uid, truncated=truncated,
        )

    # --- settle ---------------------------------------------------------------------------------

    def _group(self, done: list[tuple[FetchedMail, Settlement]]) -> dict[Settlement, list[int]]:
        groups: dict[Settlement, list[int]] = {s: [] for s in Settlement}
        for mail, outcome in done:
            if mail.uid is None or uidvalidity_of(mail.key) != self._uidvalidity:
                # Its UID may name another mail now; it comes again under its new UID.
                log.warning("%s: not filing %s: not from this folder's current UIDVALIDITY",
                            self.name, mail.key)
                continue
            groups[Settlement(outcome)].append(mail.uid)
        return groups

    def _file_away(self, client: IMAPClient, outcome: Settlement, uids: list[int]) -> None:
        s = self.settings
        folder = s.processed_folder if outcome is Settlement.PROCESSED else s.quarantine_folder
        uid_set = compact_uid_set(uids)
        if folder is None:
            keywords = [DONE_KEYWORD] if outcome is Settlement.PROCESSED else [
                DONE_KEYWORD, QUARANTINE_KEYWORD]
            client.add_flags(uid_set, [SEEN, *keywords] if self._keywords else [SEEN],
                             silent=True)
        else:
            self._move(client, uid_set, folder)
        log.debug("%s: %s UIDs %s", self.name, outcome, uid_set)

    def _move(self, client: IMAPClient, uid_set: str, folder: str) -> None:
        if client.has_capability("MOVE"):
            client.move(uid_set, folder)
            return
        client.copy(uid_set, folder)
        client.add_flags(uid_set, [DELETED], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uid_set)
        else:
            # Without UIDPLUS EXPUNGE takes every \Deleted mail, as any mail client would.
            client.expunge()

    def _advance(self, uid: int) -> None:
        if uid <= self._checkpoint.last_uid:
            return
        self._checkpoint = Checkpoint(self._uidvalidity, uid)
        self._save(self._checkpoint)

    # --- wait -----------------------------------------------------------------------------------

    def _idle(self, client: IMAPClient, timeout: float) -> bool:
        deadline = self._clock() + timeout
        while (left := deadline - self._clock()) > 0:
            if self._idle_once(client, min(left, IDLE_RENEW)):
                return True
        return False

    def _idle_once(self, client: IMAPClient, span: float) -> bool:
        client.idle()
        news = self._watch(client, span)
        _text, late = client.idle_done()
        return news or any(is_news(response) for response in late)

    def _watch(self, client: IMAPClient, span: float) -> bool:
        end = self._clock() + span
        early_empty = 0
        while (left := end - self._clock()) > 0:
            responses = client.idle_check(timeout=left)
            if any(response[:1] == (b"BYE",) for response in responses):
                raise MailboxError(f"{self.name}: server closed the connection during IDLE")
            if any(is_news(response) for response in responses):
                return True
            # idle_check swallows EOF and returns [] at once; several in a row: hung up.
            early_empty = early_empty + 1 if not responses and self._clock() < end else 0
            if early_empty >= EARLY_WAKEUPS:
                raise MailboxError(f"{self.name}: connection lost during IDLE")
        return False

    def _poll(self, timeout: float) -> bool:
        """Without IDLE, look again every poll_interval however often wait() is called."""
        due_in = self._next_poll - self._clock()
        if due_in > timeout:
            self._sleep(timeout)
            return False
        self._sleep(max(due_in, 0.0))
        return True

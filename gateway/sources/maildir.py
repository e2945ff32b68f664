"""A local Maildir as a mail source: new/ and cur/ are the inbox, filed mail moves to subfolders."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from gateway.errors import MailboxError
from gateway.model import FetchedMail, Settlement

log = logging.getLogger(__name__)

# Maildir++ subfolders, the layout Dovecot uses, so an IMAP client can browse what was filed.
PROCESSED_FOLDER = ".Processed"
QUARANTINE_FOLDER = ".Quarantine"
INBOX_PARTS = ("new", "cur")
KEY_PREFIX = "maildir:"
INFO_SEPARATOR = ":"  # "<unique>:2,<flags>" in cur/
SEEN_FLAG = "S"


class MaildirSource:
    """Reads the inbox of a Maildir; settle() renames each mail into .Processed or .Quarantine.

    Moving (not flagging in place) keeps every fetch a scan of only the mail still waiting,
    and a rename is atomic, so a crash leaves each mail either waiting or filed.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        processed_folder: str = PROCESSED_FOLDER,
        quarantine_folder: str = QUARANTINE_FOLDER,
        poll_step: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
        faults: Callable[[str], None] = lambda point: None,
    ):
        self.path = Path(path)
        self._faults = faults
        self.name = f"maildir:{self.path}"
        self._targets = {
            Settlement.PROCESSED: self.path / processed_folder,
            Settlement.QUARANTINED: self.path / quarantine_folder,
        }
        self._poll_step, self._sleep = poll_step, sleep
        self._handed: dict[str, Path] = {}  # key -> where the mail was when handed out
        self._stamp: tuple[int, ...] = ()
        with self._guard("create"):
            create_maildir(self.path)
            for folder in self._targets.values():
                create_maildir(folder, subfolder=True)

    def fetch(self, limit: int = 200) -> list[FetchedMail]:
        with self._guard("fetch"):
            self._stamp = self._inbox_stamp()  # before the scan: later arrivals wake wait()
            mails: list[FetchedMail] = []
            for path in self._waiting():
                if len(mails) >= limit:
                    break
                mail = self._read(path)
                if mail is not None:
                    self._handed[mail.key] = path
                    mails.append(mail)
            return mails

    def settle(self, done: Iterable[tuple[FetchedMail, Settlement]]) -> None:
        with self._guard("settle"):
            for mail, outcome in done:
                self._file_away(mail.key, Settlement(outcome))
        self._faults("after_settle")

    def wait(self, timeout: float) -> bool:
        """Poll the inbox folders' modification times in small steps until timeout."""
        with self._guard("wait"):
            if self._inbox_stamp() != self._stamp:
                return True
            steps = max(1, math.ceil(timeout / self._poll_step))
            for _ in range(steps):
                self._sleep(min(self._poll_step, timeout))
                if self._inbox_stamp() != self._stamp:
                    return True
            return False

    def close(self) -> None:
        self._handed.clear()

    @contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise MailboxError(f"Maildir {action} failed in {self.path}: {exc}") from exc

    def _inbox_stamp(self) -> tuple[int, ...]:
        return tuple((self.path / part).stat().st_mtime_ns for part in INBOX_PARTS)

    def _waiting(self) -> list[Path]:
        """Mail in new/ and cur/ not handed out yet, oldest first."""
        found: list[tuple[int, str, Path]] = []
        for part in INBOX_PARTS:
            with os.scandir(self.path / part) as entries:
                for entry in entries:
                    if entry.name.startswith(".") or mail_key(entry.name) in self._handed:
                        continue
                    try:
                        if entry.is_file():
                            found.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
                    except FileNotFoundError:
                        continue  # a mail client moved it from new/ to cur/ meanwhile
        return [path for _mtime, _name, path in sorted(found)]

    def _read(self, path: Path) -> FetchedMail | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None  # moved meanwhile; the next scan finds it where it went
        return FetchedMail(key=mail_key(path.name), raw=raw, size=len(raw))

    def _file_away(self, key: str, outcome: Settlement) -> None:
        path = self._locate(key)
        if path is None:
            log.warning("%s: %s is gone; nothing to file", self.name, key)
            return
        target = self._targets[outcome] / "cur" / with_flag(path.name, SEEN_FLAG)
        os.rename(path, target)
        log.debug("%s: %s -> %s", self.name, key, target.parent.parent.name)

    def _locate(self, key: str) -> Path | None:
        path = self._handed.pop(key, None)
        if path is not None and path.exists():
            return path
        unique = key.removeprefix(KEY_PREFIX)
        for part in INBOX_PARTS:  # a mail client may have renamed it since the fetch
            for candidate in (self.path / part).glob(f"{_glob_escape(unique)}*"):
                if unique_name(candidate.name) == unique:
                    return candidate
        return None


def create_maildir(path: Path, *, subfolder: bool = False) -> None:
    for part in ("tmp", "new", "cur"):
        (path / part).mkdir(mode=0o700, parents=True, exist_ok=True)
    if subfolder:
        (path / "maildirfolder").touch()  # Maildir++ marker that this is a folder, not a root


def unique_name(file_name: str) -> str:
    """The Maildir unique part, which stays the same when flags change or new/ -> cur/."""
    return file_name.split(INFO_SEPARATOR, 1)[0]


def mail_key(file_name: str) -> str:
    return KEY_PREFIX + unique_name(file_name)


def with_flag(file_name: str, flag: str) -> str:
    unique, _sep, info = file_name.partition(INFO_SEPARATOR)
    flags = info[2:] if info.startswith("2,") else ""
    return f"{unique}{INFO_SEPARATOR}2,{''.join(sorted(set(flags + flag)))}"


def _glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in text)

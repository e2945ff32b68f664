"""The mailbox reader process: mails come parsed and in order, are filed away once committed,
and every failure of the mailbox or of the reader reaches the loop as a MailboxError."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from gateway.errors import MailboxError, ParseError
from gateway.model import FetchedMail, Settlement
from gateway.runtime.assembly import COMMIT_GROUP as FIRST_READ  # the daemon's first read
from gateway.runtime.readahead import ReadAhead
from gateway.sources.maildir import MaildirSource


def make_mail(n: int) -> bytes:
    return (f"From: sender{n}@example.test\r\nSubject: mail {n}\r\n"
            f"Message-ID: <{n}@example.test>\r\n\r\nBody {n}.\r\n").encode()


def deliver(root: Path, n: int, raw: bytes | None = None) -> None:
    tmp = root / "tmp" / f"{n:04d}.mail"
    tmp.write_bytes(make_mail(n) if raw is None else raw)
    stamp = 1_700_000_000 + n  # oldest first means by delivery time
    os.utime(tmp, (stamp, stamp))
    tmp.rename(root / "new" / tmp.name)


def filed(root: Path) -> list[str]:
    return sorted(p.name.split(":")[0] for p in (root / ".Processed" / "cur").iterdir())


def wait_for(condition, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.fixture
def root(tmp_path) -> Path:
    root = tmp_path / "Maildir"
    MaildirSource(root)  # creates the folders
    return root


@pytest.fixture
def reader(root):
    reader = ReadAhead("maildir", lambda: MaildirSource(root))
    yield reader
    reader.close()


def test_mails_come_parsed_oldest_first_and_each_once(root, reader):
    for n in range(5):
        deliver(root, n)
    first, second, third = (reader.fetch_parsed(2) for _ in range(3))
    assert [p.mail.subject for p in first] == ["mail 0", "mail 1"]
    assert [p.mail.subject for p in second] == ["mail 2", "mail 3"]
    assert [p.mail.message_id for p in third] == ["4@example.test"]
    assert first[0].fetched.raw == make_mail(0)  # the bytes as read, for the register
    assert reader.fetch_parsed(2) == []


def test_the_first_read_of_a_connection_is_short_and_the_next_a_whole_batch(root):
    for n in range(FIRST_READ + 30):
        deliver(root, n)
    reader = ReadAhead("maildir", lambda: MaildirSource(root), first_read=FIRST_READ)
    try:
        first, second = reader.fetch_parsed(200), reader.fetch_parsed(200)
    finally:
        reader.close()
    assert [p.mail.subject for p in first] == [f"mail {n}" for n in range(FIRST_READ)]
    assert [p.mail.subject for p in second] == [f"mail {n}" for n in range(FIRST_READ, FIRST_READ + 30)]


def test_a_settled_batch_is_filed_away_after_the_next_read(root, reader):
    for n in range(4):
        deliver(root, n)
    batch = reader.fetch_parsed(2)
    reader.settle([(p.fetched, Settlement.PROCESSED) for p in batch])
    assert [p.mail.subject for p in reader.fetch_parsed(2)] == ["mail 2", "mail 3"]
    assert wait_for(lambda: filed(root) == ["0000.mail", "0001.mail"])
    assert sorted(p.name for p in (root / "new").iterdir()) == ["0002.mail", "0003.mail"]


def test_what_is_settled_before_close_is_filed_away_on_close(root, reader):
    deliver(root, 0)
    (parsed,) = reader.fetch_parsed(5)
    reader.settle([(parsed.fetched, Settlement.PROCESSED)])
    reader.close()
    assert filed(root) == ["0000.mail"]


def test_the_next_batch_is_read_while_the_loop_stores_this_one(root, tmp_path):
    counter = tmp_path / "fetches"

    class Counting(MaildirSource):
        def fetch(self, limit: int = 200) -> list[FetchedMail]:
            with counter.open("a") as file:
                file.write("x")
            return super().fetch(limit)

    for n in range(4):
        deliver(root, n)
    reader = ReadAhead("maildir", lambda: Counting(root))
    try:
        reader.fetch_parsed(2)
        # Nobody asked yet, and the reader has already fetched the second batch.
        assert wait_for(lambda: counter.read_text() == "xx")
        assert [p.mail.subject for p in reader.fetch_parsed(2)] == ["mail 2", "mail 3"]
    finally:
        reader.close()


def test_an_unparseable_mail_comes_with_its_error_for_quarantine(root, reader):
    deliver(root, 0, raw=b"\r\n\r\n")
    (parsed,) = reader.fetch_parsed(5)
    assert parsed.mail is None
    assert isinstance(parsed.error, ParseError)
    assert parsed.fetched.raw == b"\r\n\r\n"


def test_a_mailbox_that_cannot_open_raises_mailbox_error_in_the_loop(tmp_path):
    def refuse() -> MaildirSource:
        raise MailboxError("login refused: wrong password")

    reader = ReadAhead("imap", refuse)
    try:
        with pytest.raises(MailboxError, match="wrong password"):
            reader.fetch_parsed(5)
        with pytest.raises(MailboxError, match="wrong password"):  # and again, until closed
            reader.wait(0.1)
    finally:
        reader.close()


def test_a_failed_settlement_is_told_with_the_next_answer(root):
    class Refusing(MaildirSource):
        def settle(self, done) -> None:
            raise MailboxError("MOVE refused: over quota")

    for n in range(2):
        deliver(root, n)
    reader = ReadAhead("maildir", lambda: Refusing(root))
    try:
        batch = reader.fetch_parsed(1)
        reader.settle([(p.fetched, Settlement.PROCESSED) for p in batch])
        assert len(reader.fetch_parsed(1)) == 1  # read before the failure
        with pytest.raises(MailboxError, match="over quota"):
            reader.fetch_parsed(1)
    finally:
        reader.close()


def test_a_reader_killed_from_outside_is_a_mailbox_error_not_a_hang(root, reader):
    deliver(root, 0)
    reader.fetch_parsed(5)
    os.kill(reader._process.pid, signal.SIGKILL)
    with pytest.raises(MailboxError, match="exited with code -9"):
        reader.fetch_parsed(5)


def test_the_reader_waits_for_new_mail_in_the_mailbox(root, reader):
    assert reader.fetch_parsed(5) == []
    assert reader.wait(0.2) is False
    deliver(root, 0)
    assert reader.wait(5.0) is True
    assert [p.mail.subject for p in reader.fetch_parsed(5)] == ["mail 0"]

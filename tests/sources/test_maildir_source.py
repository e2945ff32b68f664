"""MaildirSource on a real directory: what is waiting, filing after commit, waking on delivery."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from gateway.errors import MailboxError
from gateway.model import Settlement
from gateway.sources.maildir import MaildirSource, with_flag


def make_mail(n: int) -> bytes:
    return (f"From: sender{n}@example.test\r\nSubject: mail {n}\r\n"
            f"Message-ID: <{n}@example.test>\r\n\r\nBody {n}.\r\n").encode()


def deliver(root: Path, name: str, raw: bytes, *, part: str = "new", age: float = 0.0) -> Path:
    """Deliver the way an MTA does: write in tmp/, rename into new/ (or cur/)."""
    tmp = root / "tmp" / name
    tmp.write_bytes(raw)
    if age:
        stamp = time.time() - age
        os.utime(tmp, (stamp, stamp))
    target = root / part / name
    tmp.rename(target)
    return target


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "Maildir"


@pytest.fixture
def source(root) -> MaildirSource:
    return MaildirSource(root, poll_step=0.05)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_missing_maildir_is_created_with_its_subfolders(root):
    MaildirSource(root)
    for folder in (root, root / ".Processed", root / ".Quarantine"):
        assert all((folder / part).is_dir() for part in ("tmp", "new", "cur"))
    assert (root / ".Processed" / "maildirfolder").exists()


def test_fetch_returns_new_and_cur_mail_oldest_first_byte_for_byte(source, root):
    deliver(root, "300.M1.host", make_mail(3))
    deliver(root, "100.M1.host:2,S", make_mail(1), part="cur", age=30)
    deliver(root, "200.M1.host", make_mail(2), age=10)

    mails = source.fetch()

    assert [m.raw for m in mails] == [make_mail(1), make_mail(2), make_mail(3)]
    assert [m.key for m in mails] == ["maildir:100.M1.host", "maildir:200.M1.host",
                                      "maildir:300.M1.host"]
    assert all(m.size == len(m.raw) and m.uid is None for m in mails)


def test_fetch_skips_hidden_files_and_respects_limit(source, root):
    (root / "new" / ".partial").write_bytes(b"not a mail")
    for n in range(3):
        deliver(root, f"{n}.M1.host", make_mail(n), age=10 - n)
    assert [m.key for m in source.fetch(limit=2)] == ["maildir:0.M1.host", "maildir:1.M1.host"]
    assert [m.key for m in source.fetch(limit=2)] == ["maildir:2.M1.host"]


def test_a_mail_is_handed_out_once_until_settled(source, root):
    deliver(root, "1.M1.host", make_mail(1))
    assert len(source.fetch()) == 1
    assert source.fetch() == []


def test_settle_files_processed_and_quarantined_mail_in_subfolders(source, root):
    deliver(root, "1.M1.host", make_mail(1), age=2)
    deliver(root, "2.M1.host:2,F", make_mail(2), part="cur")
    kept, odd = source.fetch()

    source.settle([(kept, Settlement.PROCESSED), (odd, Settlement.QUARANTINED)])

    assert files_in(root / "new") == files_in(root / "cur") == []
    assert files_in(root / ".Processed" / "cur") == ["1.M1.host:2,S"]
    assert files_in(root / ".Quarantine" / "cur") == ["2.M1.host:2,FS"]
    assert (root / ".Processed" / "cur" / "1.M1.host:2,S").read_bytes() == make_mail(1)
    assert source.fetch() == []


def test_the_after_settle_fault_point_falls_once_the_mail_is_filed(root):
    seen: list[tuple[str, list[str]]] = []
    source = MaildirSource(root, faults=lambda point: seen.append(
        (point, files_in(root / ".Processed" / "cur"))))
    deliver(root, "1.M1.host", make_mail(1))
    (mail,) = source.fetch()
    assert seen == []
    source.settle([(mail, Settlement.PROCESSED)])
    assert seen == [("after_settle", ["1.M1.host:2,S"])]


def test_unsettled_mail_comes_again_from_a_new_source(source, root):
    deliver(root, "1.M1.host", make_mail(1))
    source.fetch()  # fetched, then the process died before settle
    assert [m.raw for m in MaildirSource(root).fetch()] == [make_mail(1)]


def test_mail_moved_to_cur_by_a_mail_client_after_fetch_is_still_filed(source, root):
    delivered = deliver(root, "1.M1.host", make_mail(1))
    [mail] = source.fetch()
    delivered.rename(root / "cur" / "1.M1.host:2,S")

    source.settle([(mail, Settlement.PROCESSED)])

    assert files_in(root / ".Processed" / "cur") == ["1.M1.host:2,S"]
    assert files_in(root / "cur") == []


def test_settling_a_mail_that_vanished_is_harmless(source, root):
    delivered = deliver(root, "1.M1.host", make_mail(1))
    [mail] = source.fetch()
    delivered.unlink()
    source.settle([(mail, Settlement.PROCESSED)])
    assert files_in(root / ".Processed" / "cur") == []


def test_wait_returns_true_when_a_mail_is_delivered(source, root):
    assert source.fetch() == []
    timer = threading.Timer(0.2, deliver, (root, "1.M1.host", make_mail(1)))
    timer.start()
    started = time.monotonic()
    try:
        assert source.wait(10.0) is True
    finally:
        timer.join()
    assert time.monotonic() - started < 5
    assert len(source.fetch()) == 1


def test_wait_notices_mail_delivered_between_fetch_and_wait(root):
    slept: list[float] = []
    source = MaildirSource(root, sleep=slept.append)
    source.fetch()
    time.sleep(0.01)  # a later modification time than the fetch saw
    deliver(root, "1.M1.host", make_mail(1))
    assert source.wait(5.0) is True
    assert slept == []


def test_wait_times_out_in_small_steps_without_mail(root):
    slept: list[float] = []
    source = MaildirSource(root, poll_step=0.5, sleep=slept.append)
    source.fetch()
    assert source.wait(2.0) is False
    assert slept == [0.5] * 4


def test_unreadable_maildir_is_a_mailbox_error(source, root):
    (root / "new").rmdir()
    with pytest.raises(MailboxError, match="fetch"):
        source.fetch()


@pytest.mark.parametrize(("name", "expected"), [
    ("1.M1.host", "1.M1.host:2,S"),
    ("1.M1.host:2,", "1.M1.host:2,S"),
    ("1.M1.host:2,FR", "1.M1.host:2,FRS"),
    ("1.M1.host:2,S", "1.M1.host:2,S"),
])
def test_seen_flag_is_merged_into_maildir_info(name, expected):
    assert with_flag(name, "S") == expected

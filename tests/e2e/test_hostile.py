"""Hostile and broken mail through IMAP and the pipeline: quarantined with a reason or
processed, never a crash, never a mail left behind in INBOX."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from mailmaker import START, gbk_mail
from sqlalchemy import select

from gateway.db.models import Mail
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration

HEAD = (b"From: Wang <wang@customer.example>\r\nTo: gateway@corp.example\r\n"
        b"Date: Mon, 23 Nov 2026 10:00:00 +0800\r\n")


def mail(n: int, extra: bytes, body: bytes = b"body\r\n", subject: bytes = b"broken") -> bytes:
    return (HEAD + b"Subject: " + subject + b"\r\nMessage-ID: <hostile-%d@customer.example>\r\n"
            % n + extra + b"\r\n" + body)


def deep_nesting(depth: int) -> bytes:
    opening = b"".join(b"--b%d\r\nContent-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n"
                       % (i, i + 1) for i in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth + 1)))
    return opening + b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n" % depth + closing


HOSTILE = {
    "deep MIME nesting": mail(1, b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                                 b"boundary=\"b0\"\r\n", deep_nesting(400)),
    "MIME nested thousands deep": mail(10, b"MIME-Version: 1.0\r\nContent-Type: multipart/"
                                           b"mixed; boundary=\"b0\"\r\n", deep_nesting(3000)),
    "huge header": mail(2, b"X-Huge: " + b"a" * 300_000 + b"\r\n"),
    "ten thousand header lines": mail(3, b"".join(b"X-Spam-%d: x\r\n" % i
                                                  for i in range(10_000))),
    "invalid bytes": mail(4, b"X-Bin: \xff\xfe\x80\x81\r\n", b"\xff\xfe\xfd\x00\x01 \x80\r\n",
                          subject=b"\xc0\xc1\xf5\xff subject"),
    "unknown charset": mail(5, b"MIME-Version: 1.0\r\nContent-Type: text/plain; "
                               b"charset=x-no-such-charset\r\n", b"\xb9\xca\xd5\xcf\r\n",
                            subject=b"=?x-no-such-charset?B?ucrVzw==?="),
    "missing boundary parameter": mail(6, b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed"
                                          b"\r\n", b"--x\r\n\r\nhello\r\n--x--\r\n"),
    "boundary never found": mail(7, b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
                                    b"boundary=\"nowhere\"\r\n", b"just text\r\n"),
    "ten thousand recipients": mail(8, b"Cc: " + b",\r\n ".join(
        b"user%d@many.example" % i for i in range(10_000)) + b"\r\n"),
    "no headers at all": b"\r\n\r\njust a body\r\n",
    "header without colon": mail(9, b"this is not a header\r\n"),
}


def test_hostile_mail_is_processed_or_quarantined_and_the_mailbox_drains(
        gateway, source, imap_append, imap_account):
    for raw in HOSTILE.values():
        imap_append(raw)
    results = []
    while batch := gateway.process_batch(source):
        results += batch
    assert len(results) == len(HOSTILE)
    for result in results:
        assert result.action in (Disposition.CREATED, Disposition.QUARANTINED, Disposition.IGNORED)
        if result.action is Disposition.QUARANTINED:
            assert result.reason
    with imap_account.connect() as client:
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0
    with gateway.sessions() as session:
        stored = session.scalars(select(Mail).where(Mail.direction == "in")).all()
        assert len(stored) == len(HOSTILE)
        assert all(m.kind != "quarantined" or m.quarantine_reason for m in stored)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_mail_alone_never_raises(gateway, name):
    from gateway.model import FetchedMail

    raw = HOSTILE[name]
    result = gateway.ingest(FetchedMail(key=name, raw=raw, size=len(raw)))
    assert result.action in (Disposition.CREATED, Disposition.QUARANTINED, Disposition.IGNORED)


def test_oversize_mail_is_judged_by_rfc822_size_quarantined_and_its_sender_told_once(
        settings, clock, imap_append, imap_account, smtp_capture):
    box = settings.mailbox.model_copy(update={"max_size_mb": 0.05})  # about 52 KB
    gateway = Gateway(settings.model_copy(update={"mailbox": box}), clock=clock)
    source = gateway.make_source()
    big = gbk_mail(message_id="big@customer.example", body="巨大附件" + "数据" * 40_000)
    try:
        imap_append(big)
        (result,) = gateway.process_batch(source)
        assert result.action is Disposition.QUARANTINED and "oversize" in result.reason
        imap_append(big)  # the same mail again, e.g. resent by a relay
        (again,) = gateway.process_batch(source)
        assert again.action is Disposition.DUPLICATE
        gateway.flush()
        gateway.flush()
    finally:
        source.close()
        gateway.close()
    with gateway.sessions() as session:
        row = session.scalars(select(Mail).where(Mail.inbound_key == "big@customer.example")).one()
        assert row.size < 10_000 and "巨大附件".encode("gbk") not in row.raw  # headers only
    told = [m for m in smtp_capture.messages if m.rcpt_tos == ("wang@customer.example",)]
    assert len(told) == 1 and "过大" in told[0].message["Subject"]
    with imap_account.connect() as client:
        assert client.select_folder("Quarantine", readonly=True)[b"EXISTS"] == 1
        assert client.select_folder("INBOX", readonly=True)[b"EXISTS"] == 0


def test_sqlite_file_is_private_even_under_a_permissive_umask(settings, tmp_path):
    old = os.umask(0)
    try:
        gateway = Gateway(settings)
        with gateway.sessions.begin() as session:  # a write, so WAL and SHM files exist too
            session.add(Mail(direction="in", message_id="x", kind="auto", created_at=START,
                             size=1, digest="0", raw=b"x"))
        files = list(Path(settings.gateway.storage_dir).glob("gateway.sqlite3*"))
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
        gateway.close()
    finally:
        os.umask(old)
    assert modes["gateway.sqlite3"] == 0o600
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes

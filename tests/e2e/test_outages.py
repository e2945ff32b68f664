"""Outages against real servers: SMTP down or refusing, IMAP restarted or cut, database locked."""

from __future__ import annotations

import sqlite3
import time

import pytest
from crashrig import CrashRig
from mailmaker import gbk_mail
from proxy import CuttingProxy
from sqlalchemy import select

from gateway.db import outbox
from gateway.db.models import Mail, Outbox
from gateway.errors import MailboxError
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition
from gateway.usecases.system_mail import DEAD_LETTER_KIND

pytestmark = pytest.mark.integration

ADMIN = "it-admin@corp.example"


@pytest.fixture
def gateway(settings, clock):
    g = settings.gateway.model_copy(update={"admin_address": ADMIN})
    gateway = Gateway(settings.model_copy(update={"gateway": g}), clock=clock)
    yield gateway
    gateway.close()


def queue(gateway, name: str, recipients: list[str], body: bytes) -> None:
    """Put one outgoing mail straight into the outbox, as any use case would."""
    with gateway.sessions.begin() as session:
        outbox.enqueue(session, message_id=f"{name}@gateway.corp.example", kind="notify",
                       raw=b"Subject: x\r\n\r\n" + body + b"\r\n", subject="x",
                       envelope_from="gateway@corp.example", recipients=recipients,
                       record=None, now=gateway.clock())


def outbox_rows(gateway) -> list[Outbox]:
    with gateway.sessions() as session:
        return session.scalars(select(Outbox).order_by(Outbox.id)).all()


def test_smtp_down_then_up_backs_off_exponentially_and_loses_nothing(
        gateway, clock, smtp_capture):
    gateway.ingest(_fetched(gbk_mail()))
    smtp_capture.stop()
    delays = []
    for _ in range(3):
        result = gateway.flush()
        assert len(result.retried) == 2 and not result.sent
        dues = [r.next_attempt_at for r in outbox_rows(gateway)]
        delays += [(due - clock.now).total_seconds() for due in dues]
        clock.now = max(dues)
    # backoff_initial = 60 s, doubling, ±20% jitter
    assert all(48 <= d <= 72 for d in delays[:2])
    assert all(96 <= d <= 144 for d in delays[2:4])
    assert all(192 <= d <= 288 for d in delays[4:])
    assert {r.attempts for r in outbox_rows(gateway)} == {3}

    smtp_capture.start()
    clock.advance(hours=1)
    assert len(gateway.flush().sent) == 2
    assert len(smtp_capture.wait_for(2)) == 2
    assert not gateway.flush()
    assert len(smtp_capture.messages) == 2  # nothing twice


def test_permanent_refusal_dead_letters_and_tells_the_admin_once(gateway, clock, smtp_capture):
    gateway.ingest(_fetched(gbk_mail()))
    smtp_capture.respond_with(550, times=2)
    assert len(gateway.flush().dead) == 2
    clock.advance(minutes=1)
    gateway.flush()
    clock.advance(hours=2)
    gateway.flush()
    to_admin = [m for m in smtp_capture.messages if m.rcpt_tos == (ADMIN,)]
    assert len(to_admin) == 2 and len(smtp_capture.messages) == 2
    assert all("投递失败" in m.message["Subject"] for m in to_admin)
    assert "550" in to_admin[0].message.get_body(("plain",)).get_content()


def test_a_refused_recipient_leaves_the_mail_to_the_others(gateway, clock, smtp_capture):
    gateway.ingest(_fetched(gbk_mail()))
    queue(gateway, "two", ["gone@corp.example", "here@corp.example"], b"body")
    smtp_capture.refused_recipients = {"gone@corp.example"}
    result = gateway.flush()
    assert len(result.sent) == 3 and not result.dead
    two = [m for m in smtp_capture.wait_for(3) if m.raw.endswith(b"body\r\n")]
    assert [m.rcpt_tos for m in two] == [("here@corp.example",)]
    # SIZE is announced, and is what arrives
    assert sorted(smtp_capture.sizes) == sorted(len(m.raw) for m in smtp_capture.messages)


def test_all_recipients_refused_is_a_dead_letter(gateway, clock, smtp_capture):
    queue(gateway, "none", ["gone@corp.example", "left@corp.example"], b"body")
    smtp_capture.refused_recipients = {"gone@corp.example", "left@corp.example"}
    result = gateway.flush()
    assert len(result.dead) == 1 and not result.sent
    [row] = [r for r in outbox_rows(gateway) if r.status == "dead"]
    assert "gone@corp.example: 550" in row.last_error and "left@corp.example: 550" in row.last_error
    assert len(gateway.flush().sent) == 1  # the admin's mail about the dead letter
    assert [m.rcpt_tos for m in smtp_capture.wait_for(1)] == [(ADMIN,)]


def test_a_relay_without_8bitmime_dead_letters_8bit_mail_with_the_setting_to_change(
        gateway, clock, smtp_capture):
    smtp_capture.eight_bit = False
    for n, body in enumerate([b"ascii only", "中文正文".encode()]):
        queue(gateway, f"m{n}", ["a@corp.example"], body)
    result = gateway.flush()
    assert len(result.sent) == 1 and len(result.dead) == 1
    assert [m.raw for m in smtp_capture.wait_for(1)] == [b"Subject: x\r\n\r\nascii only\r\n"]
    [dead] = [r for r in outbox_rows(gateway) if r.status == "dead"]
    assert "8BITMIME" in dead.last_error and "eight_bit = false" in dead.last_error


def test_a_dead_mail_to_the_admin_tells_nobody_again(gateway, clock, smtp_capture):
    gateway.ingest(_fetched(gbk_mail()))
    smtp_capture.respond_with(550)
    for _ in range(4):
        gateway.flush()
        clock.advance(hours=2)
    rows = outbox_rows(gateway)
    with gateway.sessions() as session:
        kinds = [session.get(Mail, r.mail_id).kind for r in rows]
    assert kinds.count(DEAD_LETTER_KIND) == 2  # one per dead original, none about mail to the admin
    assert {r.status for r in rows} == {"dead"}


def test_connection_cut_mid_fetch_reconnects_and_misses_nothing(
        settings, clock, imap_append, imap_account):
    proxy = CuttingProxy(imap_account.port, cut_after=150_000)
    box = settings.mailbox.model_copy(update={"port": proxy.port})
    gateway = Gateway(settings.model_copy(update={"mailbox": box}), clock=clock)
    source = gateway.make_source()
    try:
        for n in range(3):
            imap_append(gbk_mail(message_id=f"big-{n}@customer.example", body="故障" * 40_000))
        with pytest.raises(MailboxError):
            gateway.process_batch(source)
        assert proxy.cuts == 1
        proxy.cut_after = None
        results = gateway.process_batch(source)
        assert [r.action for r in results] == [Disposition.CREATED] * 3
        assert gateway.process_batch(source) == []
    finally:
        source.close()
        gateway.close()
        proxy.close()


def test_imap_restart_under_the_daemon_reconnects_and_misses_nothing(
        tmp_path, imap_account, smtp_capture, dovecot):
    rig = CrashRig(tmp_path, imap_account, smtp_capture)
    rig.start()
    try:
        rig.append(2)
        assert rig.wait_settled(30), rig.log_text()
        dovecot.stop()  # the daemon is in IDLE now
        time.sleep(1.0)
        dovecot.start()
        rig.append(2)
        assert rig.wait_settled(30), rig.log_text()
        figures = rig.figures()
        assert (figures.records, figures.lost, figures.duplicates) == (4, 0, 0)
        assert "mailbox unavailable" in rig.log_text()
    finally:
        rig.kill()


def test_locked_database_is_retried_without_losing_mail(tmp_path, imap_account, smtp_capture):
    rig = CrashRig(tmp_path, imap_account, smtp_capture, extra="[database]\nbusy_timeout = 0.2\n")
    rig.start()
    try:
        rig.append(1)
        assert rig.wait_settled(30), rig.log_text()
        lock = sqlite3.connect(rig.database, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        rig.append(2)
        time.sleep(2.5)
        assert rig.process.poll() is None  # still running, retrying
        lock.execute("ROLLBACK")
        lock.close()
        assert rig.wait_settled(30), rig.log_text()
        figures = rig.figures()
        assert (figures.records, figures.lost) == (3, 0)
        assert "database unavailable" in rig.log_text()
    finally:
        rig.kill()


def _fetched(raw: bytes):
    from gateway.model import FetchedMail

    return FetchedMail(key="test", raw=raw, size=len(raw))



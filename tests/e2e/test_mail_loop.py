"""The whole loop against real servers: Dovecot in, the gateway, aiosmtpd out."""

from __future__ import annotations

import email
import email.policy
from datetime import timedelta
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from mailmaker import GATEWAY, START, gbk_mail

from gateway.db.models import Mail, Outbox, Record
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration


def folder_count(account, folder: str) -> int:
    with account.connect() as client:
        return client.select_folder(folder, readonly=True)[b"EXISTS"]


def test_gbk_mail_becomes_a_record_with_ack_and_notification(
    gateway, source, imap_append, imap_account, smtp_capture
):
    imap_append(gbk_mail())
    results = gateway.process_batch(source)
    assert [r.action for r in results] == [Disposition.CREATED]
    record_id = results[0].record_id
    assert record_id.startswith(("NX-2026-", "NJ-2026-", "NB-2026-"))

    with gateway.sessions() as session:
        record = session.get(Record, record_id)
        assert (record.urgency, record.department, record.title) == ("urgent", "生产部", "设备故障通知")
        assert record.from_addr == "wang@customer.example" and record.from_name == "王工"
        assert record.status == "open"
        assert record.due_at == START + timedelta(hours=24)  # 紧急: 24 clock hours
        assert "液压故障" in record.summary
        assert [e.kind for e in record.log][:2] == ["created", "routed"]

    assert folder_count(imap_account, "INBOX") == 0
    assert folder_count(imap_account, "Processed") == 1

    gateway.flush()
    captured = smtp_capture.wait_for(2, timeout=10)
    by_rcpt = {m.rcpt_tos[0]: m.message for m in captured}
    ack = by_rcpt["wang@customer.example"]
    assert record_id in ack["Subject"]
    assert ack["In-Reply-To"] == "<fault-1@customer.example>"
    assert "<fault-1@customer.example>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["Message-ID"].endswith("@gateway.corp.example>")
    assert "预计反馈时间" in ack.get_body(("plain",)).get_content()

    notices = [m for rcpt, m in by_rcpt.items() if rcpt != "wang@customer.example"]
    assert len(notices) == 1
    notice = notices[0]
    assert record_id in notice["Subject"]
    attached = [p for p in notice.walk() if p.get_content_type() == "message/rfc822"]
    assert attached, "the original mail is attached to the notification"

    # Nothing waits any more: a second poll changes nothing and sends nothing.
    assert gateway.process_batch(source) == []
    assert gateway.flush().sent == []
    assert len(smtp_capture.messages) == 2
    with gateway.sessions() as session:
        assert session.query(Record).count() == 1


def test_replies_thread_into_their_record(gateway, source, imap_append, smtp_capture):
    imap_append(gbk_mail())
    record_id = gateway.process_batch(source)[0].record_id
    gateway.flush()
    ack = next(m.message for m in smtp_capture.wait_for(2) if m.rcpt_tos == ("wang@customer.example",))

    imap_append(gbk_mail(f"回复: [{record_id}] 已受理: 【紧急】生产部-设备故障通知",
                         message_id="by-subject@customer.example", body="补充: 备件库存为零。"))
    by_headers = gbk_mail("Re: 设备故障", message_id="by-headers@customer.example",
                          headers=(("In-Reply-To", ack["Message-ID"]),
                                   ("References", ack["Message-ID"])))
    imap_append(by_headers)
    results = gateway.process_batch(source)
    assert [(r.action, r.record_id) for r in results] == [
        (Disposition.APPENDED, record_id), (Disposition.APPENDED, record_id)]
    with gateway.sessions() as session:
        assert session.query(Record).count() == 1
        record = session.get(Record, record_id)
        assert [e.kind for e in record.log].count("mail_in") == 2


def test_one_message_id_never_opens_two_records(gateway, source, imap_append):
    imap_append(gbk_mail(message_id="twice@customer.example"))
    imap_append(gbk_mail(message_id="twice@customer.example"))
    actions = [r.action for r in gateway.process_batch(source)]
    assert sorted(actions) == [Disposition.CREATED, Disposition.DUPLICATE]
    imap_append(gbk_mail(message_id="twice@customer.example"))
    assert [r.action for r in gateway.process_batch(source)] == [Disposition.DUPLICATE]
    with gateway.sessions() as session:
        assert session.query(Record).count() == 1


def test_a_reply_threads_into_a_record_opened_earlier_in_the_same_batch(
    gateway, source, imap_append
):
    imap_append(gbk_mail(message_id="start@customer.example"))
    imap_append(gbk_mail("Re: 【紧急】生产部-设备故障通知", sender=("李工", "li@customer.example"),
                         message_id="followup@customer.example",
                         headers=(("In-Reply-To", "<start@customer.example>"),)))
    first, second = gateway.process_batch(source)
    assert (first.action, second.action) == (Disposition.CREATED, Disposition.APPENDED)
    assert second.record_id == first.record_id


def test_the_sender_is_told_after_each_committed_group_not_after_the_whole_batch(
    gateway, source, imap_append, monkeypatch
):
    from gateway.runtime import assembly

    monkeypatch.setattr(assembly, "COMMIT_GROUP", 2)
    for n in range(5):
        imap_append(gbk_mail(message_id=f"grouped-{n}@customer.example"))
    queued_when_told = []

    def told() -> None:  # what the sender would find in the outbox at that moment
        with gateway.sessions() as session:
            queued_when_told.append(session.query(Outbox).count())

    results = gateway.process_batch(source, committed=told)
    assert [r.action for r in results] == [Disposition.CREATED] * 5
    assert queued_when_told == [4, 8, 10]  # an acknowledgement and a notification per mail


def test_a_failing_mail_in_a_batch_costs_the_others_nothing(
    gateway, source, imap_append, monkeypatch
):
    from gateway.usecases import open_record

    real_open = open_record.open_record

    def open_or_fail(session, services, mail, *args):
        if mail.message_id == "poison@customer.example":
            raise RuntimeError("a template that breaks on this mail")
        return real_open(session, services, mail, *args)

    monkeypatch.setattr(open_record, "open_record", open_or_fail)
    for n in range(3):
        imap_append(gbk_mail(message_id=f"good-{n}@customer.example"))
    imap_append(gbk_mail(message_id="poison@customer.example"))
    actions = [r.action for r in gateway.process_batch(source)]
    assert actions == [Disposition.CREATED] * 3 + [Disposition.QUARANTINED]
    with gateway.sessions() as session:
        assert session.query(Record).count() == 3
        kept = session.query(Mail).filter(Mail.quarantine_reason.is_not(None)).one()
        assert kept.message_id == "poison@customer.example"


def test_a_parser_crash_in_a_batch_is_quarantined_and_the_others_are_stored(
    gateway, source, imap_append, monkeypatch
):
    from gateway.usecases import ingest

    real_parse = ingest.parse_mail

    def parse_or_crash(raw):
        if b"crash@customer.example" in raw:
            raise ValueError("a parser bug")
        return real_parse(raw)

    monkeypatch.setattr(ingest, "parse_mail", parse_or_crash)
    imap_append(gbk_mail(message_id="first@customer.example"))
    imap_append(gbk_mail(message_id="crash@customer.example"))
    imap_append(gbk_mail(message_id="third@customer.example"))
    results = gateway.process_batch(source)
    assert [r.action for r in results] == [Disposition.CREATED, Disposition.QUARANTINED, Disposition.CREATED]
    assert results[1].reason.startswith("parser failed")


@pytest.mark.parametrize(
    ("headers", "sender", "expect_record"),
    [
        ((("Auto-Submitted", "auto-replied"),), ("休假", "away@customer.example"), False),
        ((("X-Autoreply", "yes"),), ("休假", "away@customer.example"), False),
        ((("Precedence", "bulk"),), ("通讯", "news@customer.example"), True),
        ((("List-Id", "<ops.lists.customer.example>"),), ("列表", "ops@customer.example"), True),
        ((), ("信息交流网关", GATEWAY), False),
    ],
    ids=["auto-submitted", "x-autoreply", "bulk", "list", "own-mail"],
)
def test_automatic_and_own_mail_get_no_acknowledgement(
    gateway, source, imap_append, smtp_capture, headers, sender, expect_record
):
    # A neutral subject: the headers alone must make the difference.
    imap_append(gbk_mail("设备故障", sender=sender, headers=headers))
    (result,) = gateway.process_batch(source)
    assert (result.action == Disposition.CREATED) is expect_record
    gateway.flush()
    with gateway.sessions() as session:
        kinds = [m.kind for m in session.query(Mail).filter_by(direction="out")]
    assert "ack" not in kinds
    assert all(sender[1] not in m.rcpt_tos for m in smtp_capture.messages)


def test_bad_mail_is_quarantined_and_the_loop_goes_on(
    gateway, source, imap_append, imap_account
):
    # No NUL bytes: Dovecot rewrites NUL to 0x80 on APPEND.
    imap_append(b"\x01\x02 not a mail \xff\xfe\r\n")
    imap_append(gbk_mail(message_id="after-bad@customer.example"))
    actions = [r.action for r in gateway.process_batch(source)]
    assert actions == [Disposition.QUARANTINED, Disposition.CREATED]
    assert folder_count(imap_account, "Quarantine") == 1
    assert folder_count(imap_account, "Processed") == 1
    with gateway.sessions() as session:
        kept = session.query(Mail).filter(Mail.quarantine_reason.is_not(None)).one()
        assert kept.raw.startswith(b"\x01\x02 not a mail")
        assert kept.quarantine_reason.startswith("unparseable")


def test_smtp_outage_delays_mail_loses_none_sends_none_twice(
    gateway, source, imap_append, smtp_capture, clock
):
    smtp_capture.respond_with(451, "try later")
    imap_append(gbk_mail())
    gateway.process_batch(source)
    first = gateway.flush()
    assert first.sent == [] and len(first.retried) == 2
    assert gateway.flush().retried == []  # not due again until the backoff has passed

    smtp_capture.accept_all()
    clock.advance(minutes=5)
    assert len(gateway.flush().sent) == 2
    clock.advance(hours=2)
    assert gateway.flush().sent == []
    accepted = [m for m in smtp_capture.messages]
    assert len({m.message["Message-ID"] for m in accepted}) == len(accepted) == 2
    with gateway.sessions() as session:
        assert {o.status for o in session.query(Outbox)} == {"sent"}


def test_permanent_refusal_dead_letters_the_mail(gateway, source, imap_append, smtp_capture):
    smtp_capture.respond_with(550, "no such user")
    imap_append(gbk_mail())
    gateway.process_batch(source)
    result = gateway.flush()
    assert len(result.dead) == 2
    with gateway.sessions() as session:
        rows = session.query(Outbox).all()
        assert {o.status for o in rows} == {"dead"}
        assert all("550" in o.last_error for o in rows)


def test_checkpoint_survives_a_restart(settings, clock, imap_append, imap_account):
    first = Gateway(settings, clock=clock)
    source = first.make_source()
    imap_append(gbk_mail(message_id="one@customer.example"))
    assert [r.action for r in first.process_batch(source)] == [Disposition.CREATED]
    source.close()
    first.close()

    imap_append(gbk_mail(message_id="two@customer.example"))
    second = Gateway(settings, clock=clock)
    source = second.make_source()
    assert [r.action for r in second.process_batch(source)] == [Disposition.CREATED]
    source.close()
    with second.sessions() as session:
        assert session.query(Record).count() == 2
    second.close()


def test_notification_carries_the_original_bytes(gateway, source, imap_append, smtp_capture):
    original = MIMEMultipart()
    original.attach(MIMEText("见附件", "plain", "gbk"))
    original["From"] = "li@steel-supplier.example"
    original["To"] = GATEWAY
    original["Subject"] = Header("原材料交付延期通知", "gbk")
    original["Message-ID"] = "<delay@steel-supplier.example>"
    imap_append(original.as_bytes())
    gateway.process_batch(source)
    gateway.flush()
    notice = next(m for m in smtp_capture.wait_for(2) if "li@steel-supplier.example" not in m.rcpt_tos)
    inner = next(p for p in notice.message.walk() if p.get_content_type() == "message/rfc822")
    attached = inner.get_payload()[0]
    assert attached["Message-ID"] == "<delay@steel-supplier.example>"
    parsed = email.message_from_bytes(attached.as_bytes(), policy=email.policy.default)
    assert str(parsed["Subject"]) == "原材料交付延期通知"

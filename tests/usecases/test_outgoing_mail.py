"""One path for every outgoing mail: each kind is rendered, queued in the outbox and logged."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.header import Header
from email.mime.text import MIMEText
from email.policy import default
from email.utils import format_datetime, formataddr

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paths import ROOT
from recordmaker import offline_gateway
from sqlalchemy import select

from gateway.db.models import LogEntry, Mail, Outbox
from gateway.model import Address, FetchedMail
from gateway.outgoing.headers import clean
from gateway.outgoing.render import Renderer, sample_context
from gateway.runtime.scheduler import Jobs
from gateway.usecases import system_mail
from gateway.usecases.services import Disposition

TEMPLATES = ROOT / "templates"
DOMAIN = "gateway.corp.example"
GATEWAY = "gateway@corp.example"
ADMIN = "admin@corp.example"
MANAGER = "boss@corp.example"
CUSTOMER = ("王工", "wang@customer.example")
HEAD = ("李强", "li.qiang@corp.example")  # 生产部's head, staff by the internal domain
START = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SIGNATURE = "企业信息交流中心"
# A relay carries a person's words, so it is no automatic mail; answers to a sender are.
AUTO_SUBMITTED = {"relay": None, "ack": "auto-replied", "oversize": "auto-replied"}
EVERY_KIND = {"ack", "notify", "relay", "closure", "escalation", "oversize", "deadletter",
              "rules_broken", "report"}


def mail(subject: str, message_id: str, *, sender=CUSTOMER, body="3号线注塑机突发液压故障, 已停机。",
         parent: str | None = None, charset: str = "gbk") -> bytes:
    message = MIMEText(body, "plain", charset)
    message["From"] = formataddr((str(Header(sender[0], charset)), sender[1]))
    message["To"] = GATEWAY
    message["Subject"] = Header(subject, charset)
    message["Date"] = format_datetime(START)
    message["Message-ID"] = f"<{message_id}>"
    if parent:
        message["In-Reply-To"] = message["References"] = parent
    return message.as_bytes()


def fetched(raw: bytes, key: str, **changes) -> FetchedMail:
    return FetchedMail(key=key, raw=raw, size=changes.pop("size", len(raw)), **changes)


@pytest.fixture
def gateway(tmp_path):
    gateway = offline_gateway(
        tmp_path, gateway={"admin_address": ADMIN, "signature": SIGNATURE},
        reports={"recipients": [MANAGER], "schedule": ["monthly"], "send_at": "09:00:00"})
    now = [START]
    gateway.clock = lambda: now[0]
    gateway.now = now
    yield gateway
    gateway.close()


def outgoing(gateway) -> dict[str, list]:
    """Every stored outgoing mail by kind: (mail row, outbox row, its record's log lines)."""
    found: dict[str, list] = {}
    with gateway.sessions() as session:
        for row, queued in session.execute(
                select(Mail, Outbox).join(Outbox, Outbox.mail_id == Mail.id)
                .where(Mail.direction == "out").order_by(Mail.id)):
            lines = session.scalars(select(LogEntry).where(LogEntry.mail_id == row.id)).all()
            found.setdefault(row.kind, []).append(
                (row.raw, row.record_id, queued, [(e.kind, e.text) for e in lines]))
    return found


def every_kind_of_mail(gateway) -> None:
    """Drive the gateway through each reason it has to write mail."""
    created = gateway.ingest(fetched(mail("【紧急】生产部-设备故障通知", "fault-1@customer.example"), "1"))
    assert created.action is Disposition.CREATED and len(created.queued) == 2
    gateway.now[0] += timedelta(days=2)
    assert gateway.chase().sent  # the response deadline passed: an escalation
    notify = created.queued[1]
    staff = mail(f"回复: [{created.record_id}] 设备故障通知", "staff-1@corp.example", sender=HEAD,
                 body="状态: 处理中\n\n王工您好，维修人员已到现场。", parent=f"<{notify}>",
                 charset="utf-8")
    assert gateway.ingest(fetched(staff, "2")).action is Disposition.APPENDED
    done = mail(f"回复: [{created.record_id}] 设备故障通知", "staff-2@corp.example", sender=HEAD,
                body="已完成\n解决方案: 更换液压泵密封件，试机正常。", parent=f"<{notify}>",
                charset="utf-8")
    assert gateway.ingest(fetched(done, "3")).action is Disposition.APPENDED
    big = mail("【紧急】超大附件", "big@customer.example")
    oversize = gateway.ingest(fetched(big, "4", size=90_000_000, truncated=True))
    assert oversize.action is Disposition.QUARANTINED
    now = gateway.now[0]
    with gateway.sessions.begin() as session:
        ack_row = session.scalar(select(Outbox.id).join(Mail, Mail.id == Outbox.mail_id)
                                 .where(Mail.kind == "ack"))
        assert system_mail.tell_admin_of_dead_letter(session, ack_row, "550 5.1.1 no such user",
                                                     now, services=gateway.services)
        assert system_mail.tell_admin_of_broken_rules(
            session, gateway.services, "ab" * 32, ["routing.toml:3: 未知部门 不存在部"], now)
    assert Jobs(gateway).reports(now) == ["2026-10"]


def test_every_kind_of_outgoing_mail_is_rendered_queued_and_logged(gateway):
    every_kind_of_mail(gateway)
    found = outgoing(gateway)
    assert EVERY_KIND <= set(found)
    for kind, rows in found.items():
        for raw, record_id, queued, log_lines in rows:
            head = raw.split(b"\r\n\r\n", 1)[0]
            assert head.isascii(), kind
            message = message_from_bytes(raw, policy=default)
            # Written by the Renderer only: the hardened fields every mail carries.
            assert message["Auto-Submitted"] == AUTO_SUBMITTED.get(kind, "auto-generated"), kind
            assert message["X-Auto-Response-Suppress"] == "All", kind
            assert message["X-Loop"] == GATEWAY, kind
            assert message["Message-ID"].endswith(f"@{DOMAIN}>"), kind
            assert b"\r\nSubject: =?utf-8?b?" in head, kind  # every subject here is Chinese
            assert any("\u4e00" <= c <= "\u9fff" for c in str(message["Subject"])), kind
            assert SIGNATURE in message.get_body(("plain",)).get_content(), kind
            assert queued.status == "pending" and queued.recipients, kind
            if record_id is not None:
                assert message["X-Gateway-Record"] == record_id, kind
                [(log_kind, text)] = log_lines
                assert log_kind in ("mail_out", "notice") and "已排队发送至" in text, kind
            else:
                assert log_lines == [], kind


def test_each_kind_goes_to_whom_it_should_and_threads_where_it_should(gateway):
    every_kind_of_mail(gateway)
    found = outgoing(gateway)

    def only(kind):
        [(raw, _, queued, _)] = found[kind]
        return message_from_bytes(raw, policy=default), queued.recipients

    ack, to = only("ack")
    assert to == [CUSTOMER[1]] and ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == "<fault-1@customer.example>"
    notify, _ = only("notify")
    assert [p.get_filename() for p in notify.iter_attachments()] == ["original.eml"]
    _, to = only("deadletter")
    assert to == [ADMIN]
    _, to = only("rules_broken")
    assert to == [ADMIN]
    oversize, to = only("oversize")
    assert to == [CUSTOMER[1]] and oversize["In-Reply-To"] == "<big@customer.example>"
    report, to = only("report")
    assert to == [MANAGER] and str(report["Subject"]) == "效果评估报告 2026-10"
    [attached] = report.iter_attachments()
    assert attached.get_filename() == "report-2026-10.html"
    assert attached.get_content_type() == "text/html"


def test_a_dead_letter_of_a_record_is_told_in_the_records_log(gateway):
    every_kind_of_mail(gateway)
    [(_, record_id, _, [(kind, text)])] = outgoing(gateway)["deadletter"]
    assert record_id and kind == "mail_out" and text == f"投递失败通知已排队发送至 {ADMIN}"


def test_the_gateways_own_notices_are_queued_once_per_cause(gateway):
    every_kind_of_mail(gateway)
    now = gateway.now[0]
    with gateway.sessions.begin() as session:
        assert system_mail.tell_admin_of_broken_rules(
            session, gateway.services, "ab" * 32, ["routing.toml:3: 未知部门 不存在部"], now) is None
    assert Jobs(gateway).reports(now) == []
    found = outgoing(gateway)
    assert len(found["rules_broken"]) == len(found["report"]) == 1


# -- the gateway's own notices are as hard to inject into as any other mail --------------------

INJECTIONS = [
    "故障\r\nBcc: evil@x.example",
    "故障\nBcc: evil@x.example\n\n正文",
    "故障\u2028Bcc: evil@x.example\x85X: y\x00",
    "=?utf-8?q?a=0D=0ABcc:_evil@x.example?=",
    '王工" <evil@x.example>, "x',
]


def hostile_raw(name: str, subject: str, message_id: str) -> bytes:
    """A mail whose From name and Subject carry line breaks as encoded-words."""
    def word(text: str) -> str:
        return str(Header(text, "utf-8").encode())

    return (f"From: {word(name)} <wang@customer.example>\r\nTo: {GATEWAY}\r\n"
            f"Subject: {word(subject)}\r\nMessage-ID: <{message_id}>\r\n"
            f"Date: {format_datetime(START)}\r\n\r\n正文\r\n").encode()


def header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return [line.split(b":", 1)[0].decode() for line in head.split(b"\r\n")
            if line[:1] not in (b" ", b"\t")]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_a_hostile_subject_or_name_never_makes_a_header_in_a_notice(gateway, payload):
    raw = hostile_raw(payload, payload, "hostile-1@customer.example")
    assert gateway.ingest(fetched(raw, "1", size=90_000_000, truncated=True)).action is (
        Disposition.QUARANTINED)
    created = gateway.ingest(fetched(hostile_raw(payload, payload, "hostile-2@customer.example"),
                                     "2"))
    with gateway.sessions.begin() as session:
        ack_row = session.scalar(select(Outbox.id).join(Mail, Mail.id == Outbox.mail_id)
                                 .where(Mail.message_id == created.queued[0]))
        system_mail.tell_admin_of_dead_letter(session, ack_row, "550 5.1.1 no such user",
                                              gateway.now[0], services=gateway.services)
    found = outgoing(gateway)
    for kind in ("oversize", "deadletter", "ack"):
        [(raw, _, queued, _)] = found[kind]
        names = header_names(raw)
        assert "Bcc" not in names and "X" not in names and len(names) == len(set(names)), kind
        message = message_from_bytes(raw, policy=default)
        assert "\n" not in str(message["Subject"]) and "\r" not in str(message["Subject"])
        assert "evil@x.example" not in queued.recipients
    oversize = message_from_bytes(found["oversize"][0][0], policy=default)
    [recipient] = oversize["To"].addresses
    assert recipient.addr_spec == "wang@customer.example"
    assert "\n" not in recipient.display_name and "\r" not in recipient.display_name


NOTICE_SUBJECTS = {"oversize": "邮件过大未能受理: {}", "deadletter": "[投递失败] {}"}


@pytest.fixture(scope="module")
def renderer():
    return Renderer(TEMPLATES, domain=DOMAIN, from_addr=Address("信息交流网关", GATEWAY))


@settings(max_examples=200, deadline=None)
@given(subject=st.text(st.characters(exclude_categories=())) | st.text(),
       name=st.text(st.characters(exclude_categories=())) | st.text(),
       kind=st.sampled_from(sorted(NOTICE_SUBJECTS)))
def test_any_subject_and_name_in_a_notice_stay_one_header_each(renderer, subject, name, kind):
    context = {**sample_context(), "problem": {**sample_context()["problem"], "subject": subject,
                                               "sender_name": name}}
    out = renderer.render(kind, to=(Address(name, "wang@customer.example"),), context=context,
                          now=START)
    head = out.raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and all(len(line) <= 998 for line in head.split(b"\r\n"))
    names = header_names(out.raw)
    assert len(names) == len(set(names)) and "Bcc" not in names
    message = message_from_bytes(out.raw, policy=default)
    expected = clean(NOTICE_SUBJECTS[kind].format(subject or "(无主题)"))
    assert str(message["Subject"]) == out.subject == expected
    assert [a.addr_spec for a in message["To"].addresses] == ["wang@customer.example"]


def test_a_notice_without_a_record_is_logged_by_the_daemon(gateway, caplog):
    caplog.set_level("INFO", logger="gateway.usecases.outgoing_mail")
    assert Jobs(gateway).reports(gateway.now[0]) == ["2026-10"]
    assert f"效果评估报告 2026-10 已排队发送至 {MANAGER} <report.2026-10@{DOMAIN}>" in caplog.text


def test_broken_templates_in_force_cost_the_admin_notice_not_the_start(tmp_path, caplog):
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    (templates / "_signature.txt.j2").write_text("{{ gateway.name ", encoding="utf-8")
    gateway = offline_gateway(tmp_path, gateway={"admin_address": ADMIN,
                                                 "templates_dir": str(templates)})
    try:
        with gateway.sessions.begin() as session:
            assert system_mail.tell_admin_of_broken_rules(
                session, gateway.services, "cd" * 32, ["_signature.txt.j2:1: unexpected end"],
                START) is None
        assert "the admin cannot be told of the broken rules" in caplog.text
        assert outgoing(gateway) == {}
    finally:
        gateway.close()

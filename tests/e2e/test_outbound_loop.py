"""Messages the enterprise starts, against Dovecot and aiosmtpd: 发起 → 审核 → 传递 → 反馈 → 关闭."""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

import pytest
from mailmaker import GATEWAY, START

from gateway.cli.main import main as cli_main
from gateway.db.models import Record
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration

STAFF = ("王工", "wang.gong@corp.example")  # a member of 生产部
HEAD = ("李强", "li.qiang@corp.example")  # 生产部's head
DEPUTY = ("黄副总", "huang.fuzong@corp.example")  # 生产部's 分管领导
HR_HEAD = ("吴静", "wu.jing@corp.example")
SUPPLIER = ("陈经理", "buyer@supplier.example")
ALL_STAFF = "all-staff@corp.example"


@pytest.fixture
def gateway(settings, clock):
    gateway = Gateway(settings.model_copy(update={"groups": {"全体员工": ALL_STAFF}}), clock=clock)
    yield gateway
    gateway.close()


def mail(body: str, *, sender, subject: str, message_id: str, parent: str | None = None,
         attachment: bytes | None = None, to=(GATEWAY,)) -> bytes:
    message = EmailMessage()
    message["From"] = formataddr(sender)
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(START)
    message["Message-ID"] = f"<{message_id}>"
    if parent:
        message["In-Reply-To"] = parent
        message["References"] = parent
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf",
                               filename="订单变更.pdf")
    return message.as_bytes()


class Outbound:
    """Drives one started record: mails into Dovecot, a poll, a flush, what SMTP received."""

    def __init__(self, gateway, source, imap_append, smtp_capture, clock):
        self.gateway, self.source, self.append = gateway, source, imap_append
        self.smtp, self.clock = smtp_capture, clock
        self.seen = 0
        self.record_id: str | None = None

    def deliver(self, raw: bytes):
        self.clock.advance(minutes=10)
        self.append(raw)
        results = self.gateway.process_batch(self.source)
        self.gateway.flush()
        return results

    def new_mail(self) -> dict[str, object]:
        """Messages SMTP received since the last call, by their first recipient."""
        messages = self.smtp.messages
        fresh, self.seen = messages[self.seen:], len(messages)
        return {m.rcpt_tos[0]: m for m in fresh}

    def start(self, body: str, subject: str = "原材料订单交期调整", **options):
        (result,) = self.deliver(mail(body, sender=STAFF, subject=subject,
                                      message_id=f"draft-{abs(hash(subject))}@corp.example", **options))
        assert result.action is Disposition.CREATED, result
        self.record_id = result.record_id
        return result

    def answer(self, sender, parent, body: str, message_id: str, *, subject: str | None = None,
               with_parent: bool = True):
        return self.deliver(mail(
            body, sender=sender, subject=subject or f"Re: {parent.message['Subject']}",
            message_id=message_id,
            parent=parent.message["Message-ID"] if with_parent else None))

    def record(self) -> Record:
        with self.gateway.sessions() as session:
            record = session.get(Record, self.record_id)
            session.expunge(record)
            return record

    def json(self, settings, capsys) -> dict:
        config = settings.gateway.storage_dir.parent / "config.toml"
        config.write_text(f'[database]\nurl = "{settings.database_url}"\n', encoding="utf-8")
        capsys.readouterr()
        assert cli_main(["--config", str(config), "records", "show", self.record_id,
                         "--json"]) == 0
        return json.loads(capsys.readouterr().out)


@pytest.fixture
def outbound(gateway, source, imap_append, smtp_capture, clock):
    return Outbound(gateway, source, imap_append, smtp_capture, clock)


DRAFT = ("收件人： 陈经理 <buyer@supplier.example>\n期望反馈: 2个工作日\n\n"
         "陈经理您好：\n因生产计划调整，原定12月15日交货的C材料需提前至12月12日，请确认是否可行。\n王工")


def test_two_level_approval_a_rejection_a_resubmission_then_sent_and_answered(outbound):
    outbound.start(DRAFT, attachment=b"%PDF-1.4 order change")
    record = outbound.record()
    assert record.id.startswith("NB-2026-") and record.direction == "outbound"
    assert record.status == "awaiting_approval" and record.from_department == "生产部"
    assert record.organisation == "供应商B公司" and record.department == "供应商B公司"
    got = outbound.new_mail()
    assert set(got) == {STAFF[1], HEAD[1]}  # the acknowledgement, and the head's request
    request = got[HEAD[1]]
    assert record.id in str(request.message["Subject"]) and "请审核" in str(request.message["Subject"])
    assert [p.get_filename() for p in request.message.iter_attachments()] == ["订单变更.pdf"]

    # 1. The head approves: the sender hears, the 分管领导 is asked next.
    outbound.answer(HEAD, request, "同意\n\n> 请审核", "head-1@corp.example")
    got = outbound.new_mail()
    assert set(got) == {STAFF[1], DEPUTY[1]}
    assert outbound.record().status == "awaiting_approval"

    # 2. The 分管领导 rejects: the draft goes back to the sender with the reason.
    outbound.answer(DEPUTY, got[DEPUTY[1]], "驳回：交期写错了，应为12月13日", "deputy-1@corp.example")
    assert outbound.record().status == "returned"
    (returned,) = outbound.new_mail().values()
    assert returned.rcpt_tos == (STAFF[1],)
    assert "交期写错了" in returned.message.get_body().get_content()

    # 3. The sender answers with the corrected text: a second round from the head.
    outbound.answer(STAFF, returned, "陈经理您好：\nC材料需提前至12月13日交货，请确认。", "resubmit@corp.example")
    got = outbound.new_mail()
    assert set(got) == {HEAD[1]} and outbound.record().status == "awaiting_approval"
    outbound.answer(HEAD, got[HEAD[1]], "#approve", "head-2@corp.example")
    got = outbound.new_mail()
    outbound.answer(DEPUTY, got[DEPUTY[1]], "修改为:\n陈经理您好：\nC材料请于12月13日送达，谢谢。",
                    "deputy-2@corp.example")

    # 4. Sent from the official address, Reply-To the gateway, the sender in Cc, file attached.
    got = outbound.new_mail()
    sent = got[SUPPLIER[1]]
    assert set(sent.rcpt_tos) == {SUPPLIER[1], STAFF[1]}
    message = sent.message
    assert message["From"].addresses[0].addr_spec == GATEWAY
    assert message["Reply-To"] == GATEWAY and STAFF[1] in message["Cc"]
    assert f"[{outbound.record_id}]" in message["Subject"]
    assert "12月13日送达" in message.get_body().get_content()
    assert [p.get_filename() for p in message.iter_attachments()] == ["订单变更.pdf"]
    record = outbound.record()
    assert record.status == "open" and record.transmitted_at == outbound.clock.now
    assert record.due_at is not None and record.first_response_at is None

    # 5. The supplier answers by In-Reply-To only (their client dropped the id from the subject).
    outbound.clock.advance(hours=3)
    (result,) = outbound.answer(SUPPLIER, sent, "可以，13日送达。", "supplier-1@supplier.example",
                                subject="Re: 交期")
    assert result.action is Disposition.APPENDED and result.record_id == outbound.record_id
    record = outbound.record()
    assert record.first_response_at == outbound.clock.now and record.status == "in_progress"
    (relayed,) = outbound.new_mail().values()
    assert relayed.rcpt_tos == (STAFF[1],) and "13日送达" in relayed.message.get_body().get_content()

    # 6. The sender closes it.
    outbound.answer(STAFF, relayed, "状态: 已完成\n解决方案: 供应商确认13日送达", "close@corp.example")
    record = outbound.record()
    assert record.status == "closed" and record.resolution == "供应商确认13日送达"


def test_records_show_json_carries_approvals_and_recipients(outbound, settings, capsys):
    outbound.start(DRAFT)
    request = outbound.new_mail()[HEAD[1]]
    outbound.answer(HEAD, request, "同意", "h@corp.example")
    outbound.answer(DEPUTY, outbound.new_mail()[DEPUTY[1]], "批准", "d@corp.example")
    outbound.answer(HEAD, request, "同意", "h-again@corp.example")  # a second 同意 is no answer
    passed_on = outbound.smtp.messages[-1]  # but it reaches the sender: no mail is only archived
    assert passed_on.rcpt_tos == (STAFF[1],)
    assert "不计为反馈" in passed_on.message.get_body().get_content()
    data = outbound.json(settings, capsys)
    assert data["first_response_at"] is None and data["status"] == "open"
    assert data["direction"] == "outbound" and data["from_department"] == "生产部"
    assert [(a["by"], a["decision"]) for a in data["approvals"]] == [
        (HEAD[1], "approve"), (DEPUTY[1], "approve")]
    assert data["recipients"] == [SUPPLIER[1]] and data["transmitted_at"]
    (sent,) = data["transmissions"]
    assert sent["accepted"] is True and sent["sent_at"]


def test_a_supplier_answer_threads_in_by_the_id_in_the_subject_alone(outbound):
    outbound.start("收件人: buyer@supplier.example\n\n请确认订单。")  # from 生产部: 2 levels
    outbound.answer(HEAD, outbound.new_mail()[HEAD[1]], "同意", "h2@corp.example")
    outbound.answer(DEPUTY, outbound.new_mail()[DEPUTY[1]], "同意", "d2@corp.example")
    outbound.new_mail()
    (result,) = outbound.deliver(mail("已确认。", sender=SUPPLIER,
                                      subject=f"回复: [{outbound.record_id}] 原材料订单",
                                      message_id="by-subject@supplier.example"))
    assert result.record_id == outbound.record_id
    assert outbound.record().first_response_at is not None


def test_chaser_dsn_and_read_receipt(outbound, smtp_capture):
    smtp_capture.refused_recipients.add("gone@supplier.example")
    outbound.start("收件人: 陈经理 <buyer@supplier.example>, gone@supplier.example\n回执: 是\n\n请确认。")
    outbound.answer(HEAD, outbound.new_mail()[HEAD[1]], "同意", "h3@corp.example")
    outbound.answer(DEPUTY, outbound.new_mail()[DEPUTY[1]], "同意", "d3@corp.example")
    sent = outbound.new_mail()[SUPPLIER[1]]
    assert sent.message["Disposition-Notification-To"] == GATEWAY
    with outbound.gateway.sessions() as session:
        record = session.get(Record, outbound.record_id)
        accepted = {t.addr: t.accepted for t in record.transmissions}
    assert accepted == {SUPPLIER[1]: True, "gone@supplier.example": False}

    # The sender asks for a chaser: a polite mail to the receivers from the official address.
    outbound.answer(STAFF, sent, "催办", "chase@corp.example")
    (chaser,) = outbound.new_mail().values()
    assert SUPPLIER[1] in chaser.rcpt_tos and "催办" in str(chaser.message["Subject"])
    assert chaser.message["In-Reply-To"] == sent.message["Message-ID"]

    # A DSN for the message comes back: tied to the record, and the sender told.
    outbound.deliver(report(sent.message["Message-ID"], "delivery-status",
                            "Reporting-MTA: dns; mx.supplier.example\n\n"
                            "Final-Recipient: rfc822; buyer@supplier.example\nAction: failed\n"
                            "Status: 5.2.2\nDiagnostic-Code: smtp; 552 mailbox full\n"))
    (told,) = outbound.new_mail().values()
    assert told.rcpt_tos == (STAFF[1],) and "552 mailbox full" in told.message.get_body().get_content()
    # The read receipt (MDN) is recorded.
    outbound.deliver(report(sent.message["Message-ID"], "disposition-notification",
                            "Final-Recipient: rfc822; buyer@supplier.example\n"
                            f"Original-Message-ID: {sent.message['Message-ID']}\n"
                            "Disposition: manual-action/MDN-sent-manually; displayed\n",
                            headers=False))
    with outbound.gateway.sessions() as session:
        record = session.get(Record, outbound.record_id)
        buyer = next(t for t in record.transmissions if t.addr == SUPPLIER[1])
        assert (buyer.dsn_action, buyer.dsn_status) == ("failed", "5.2.2")
        assert buyer.mdn_disposition == "displayed" and buyer.mdn_at is not None
        assert record.first_response_at is None  # reports are no answer


def report(original_id: str, kind: str, fields: str, *, headers: bool = True) -> bytes:
    parts = [
        "From: MAILER-DAEMON@mx.supplier.example", f"To: {GATEWAY}",
        "Subject: Delivery Status Notification", f"Date: {format_datetime(START)}",
        f"Message-ID: <{kind}-{abs(hash(fields))}@mx.supplier.example>", "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type={kind}; boundary="RB"', "",
        "--RB", "Content-Type: text/plain", "", "report", "",
        "--RB", f"Content-Type: message/{kind}", "", fields, ""]
    if headers:
        parts += ["--RB", "Content-Type: text/rfc822-headers", "", f"Message-ID: {original_id}", ""]
    parts.append("--RB--")
    return "\r\n".join(parts).encode()


def test_a_critical_message_whose_approver_stays_silent_is_escalated(outbound):
    outbound.start(DRAFT, subject="【特急】生产部-停线风险，请供应商加急")
    got = outbound.new_mail()
    assert set(got) == {STAFF[1], HEAD[1]}
    outbound.clock.advance(minutes=5)
    result = outbound.gateway.chase()
    outbound.gateway.flush()
    escalations = [m for m in outbound.new_mail().values() if "审核超时" in str(m.message["Subject"])]
    (escalation,) = escalations
    assert escalation.rcpt_tos[0] == DEPUTY[1] and HEAD[1] in escalation.rcpt_tos
    assert any(key.startswith("approval:") for _, key in result.sent)
    outbound.gateway.chase()  # once only
    outbound.gateway.flush()
    assert not [m for m in outbound.new_mail().values() if "审核超时" in str(m.message["Subject"])]


def test_a_group_notice_without_feedback_is_sent_at_once_and_never_chased(outbound):
    (result,) = outbound.deliver(mail(
        "收件人: 全体员工\n需反馈: 否\n\n各位同事：11月1日至10日组织年度体检，请各部门20日前报名。",
        sender=HR_HEAD, subject="关于年度体检安排的通知", message_id="notice@corp.example"))
    outbound.record_id = result.record_id
    record = outbound.record()
    assert record.id.startswith("NJ-") and record.direction == "internal"
    assert record.status == "open" and record.due_at is None and record.transmitted_at
    got = outbound.new_mail()
    assert ALL_STAFF in got and HR_HEAD[1] in got  # the notice, and the acknowledgement
    outbound.clock.advance(days=10)
    assert [k for r, k in outbound.gateway.chase().sent if r == record.id] == []
    (answer,) = outbound.answer(("赵敏", "zhao.min@corp.example"), got[ALL_STAFF], "市场部已报名。",
                                "hr-answer@corp.example")
    assert answer.record_id == record.id and outbound.record().first_response_at is not None


def test_a_draft_naming_an_unknown_receiver_is_refused_with_the_reason(outbound):
    (result,) = outbound.deliver(mail("收件人: 不存在的公司\n\n你好", sender=STAFF, subject="测试",
                                      message_id="bad-draft@corp.example"))
    assert result.action is Disposition.IGNORED
    (answer,) = outbound.new_mail().values()
    assert answer.rcpt_tos == (STAFF[1],)
    assert "不存在的公司" in answer.message.get_body().get_content()


def test_a_staff_mail_without_receiver_lines_is_an_internal_request_as_before(outbound):
    (result,) = outbound.deliver(mail("请帮忙检查3号线的电源。", sender=STAFF, subject="【普通】信息中心-电源检查",
                                      message_id="plain@corp.example"))
    assert result.action is Disposition.CREATED
    record = outbound.record_id = result.record_id
    assert outbound.record().outbound is None and record.startswith("NX-")
    assert outbound.record().direction == "internal"


def test_started_records_take_time_from_the_clock(outbound):
    outbound.start(DRAFT)
    assert outbound.record().created_at == START + timedelta(minutes=10)


def test_register_and_report_show_started_records(outbound, settings, capsys, tmp_path):
    outbound.start(DRAFT)
    outbound.answer(HEAD, outbound.new_mail()[HEAD[1]], "同意", "h4@corp.example")
    outbound.answer(DEPUTY, outbound.new_mail()[DEPUTY[1]], "同意", "d4@corp.example")
    sent = outbound.new_mail()[SUPPLIER[1]]
    outbound.clock.advance(hours=2)
    outbound.answer(SUPPLIER, sent, "收到，可以。", "supplier-4@supplier.example")
    outbound.json(settings, capsys)  # writes the config the commands below read
    config = str(settings.gateway.storage_dir.parent / "config.toml")
    csv_file, html_file = tmp_path / "register.csv", tmp_path / "report.html"
    assert cli_main(["--config", config, "export", "--from", "2026-11-01", "--to", "2026-11-30",
                     "--format", "csv", "--out", str(csv_file)]) == 0
    (row,) = [line for line in csv_file.read_text(encoding="utf-8-sig").splitlines()
              if line.startswith(outbound.record_id)]
    assert "生产部" in row and "供应商B公司" in row and "陈经理 <buyer@supplier.example>" in row
    assert "邮件(官方邮箱)" in row
    assert cli_main(["--config", config, "report", "--period", "2026-11", "--format", "html",
                     "--out", str(html_file)]) == 0
    html = html_file.read_text(encoding="utf-8")
    assert "传递时效" in html and "<td>对外</td><td>1</td><td>1</td>" in html
    assert cli_main(["--config", config, "records", "show", outbound.record_id]) == 0
    shown = capsys.readouterr().out
    assert "审核" in shown and "传递记录   to buyer@supplier.example" in shown


def test_the_sender_is_reminded_when_the_expected_answer_does_not_come(outbound):
    outbound.start("收件人: 陈经理 <buyer@supplier.example>\n期望反馈: 4小时\n\n请今天确认。")
    outbound.answer(HEAD, outbound.new_mail()[HEAD[1]], "同意", "h5@corp.example")
    outbound.answer(DEPUTY, outbound.new_mail()[DEPUTY[1]], "同意", "d5@corp.example")
    outbound.new_mail()
    record = outbound.record()
    assert record.due_at == outbound.clock.now + timedelta(hours=4)
    outbound.clock.advance(hours=5)
    outbound.gateway.chase()
    outbound.gateway.flush()
    notices = list(outbound.new_mail().values())
    assert notices and all(m.rcpt_tos[0] == STAFF[1] for m in notices)
    assert all(SUPPLIER[1] not in m.rcpt_tos for m in notices)  # chasers only when asked


def test_a_normal_approval_is_reminded_before_and_escalated_after_its_working_day(outbound):
    outbound.start(DRAFT)  # Monday 10:10 in Shanghai: due Tuesday 10:10 (1 working day)
    outbound.new_mail()
    outbound.clock.advance(hours=7)  # past 75% of the working day
    outbound.gateway.chase()
    outbound.gateway.flush()
    (reminder,) = outbound.new_mail().values()
    assert reminder.rcpt_tos == (HEAD[1],) and "审核提醒" in str(reminder.message["Subject"])
    outbound.clock.advance(days=1)
    outbound.gateway.chase()
    outbound.gateway.flush()
    (escalation,) = outbound.new_mail().values()
    assert escalation.rcpt_tos[0] == DEPUTY[1] and "审核超时" in str(escalation.message["Subject"])

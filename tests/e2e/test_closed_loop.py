"""The closed loop against real servers: staff replies, relay, closure receipt, rating, trust."""

from __future__ import annotations

import json
from datetime import timedelta
from email import message_from_bytes
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr

import pytest
from loopdriver import Driver
from mailmaker import GATEWAY, START, gbk_mail
from paths import ROOT

from gateway.cli.main import main as cli_main
from gateway.db.models import Record
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration

CUSTOMER = "wang@customer.example"
HEAD = ("李强", "li.qiang@corp.example")  # 生产部's head
OWNER = ("王维修", "wang.weixiu@corp.example")  # routing.toml gives equipment faults to him
AUTHSERV = "mx.corp.example"
PASS = f"{AUTHSERV}; dkim=pass header.d=corp.example; spf=pass smtp.mailfrom=corp.example; dmarc=pass"
FAIL = (f"{AUTHSERV}; dkim=none; spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=corp.example; "
        "dmarc=fail (p=reject) header.from=corp.example")
SECRET = "供应商说备件要三天才到"  # an internal remark that must never leave the company
QUOTED_NOTICE = "收到一条新的来信，已登记为"  # text of the notice staff quote below their answer


@pytest.fixture
def gateway(settings, clock):
    """The mail loop's gateway, trusting the MTA's Authentication-Results."""
    trusted = settings.gateway.model_copy(update={"trusted_authserv_id": AUTHSERV})
    gateway = Gateway(settings.model_copy(update={"gateway": trusted}), clock=clock)
    yield gateway
    gateway.close()


class Loop(Driver):
    """Drives one record's life: mails into Dovecot, a poll, a flush, what SMTP received."""

    def __init__(self, gateway, source, imap_append, smtp_capture, clock):
        super().__init__(gateway, source, imap_append, smtp_capture, clock)
        self.record_id: str | None = None
        self.notice = None  # the department's notification, which staff answer

    def open_record(self) -> dict:
        (result,) = self.deliver(gbk_mail())
        assert result.action is Disposition.CREATED
        self.record_id = result.record_id
        sent = {m.rcpt_tos[0]: m.message for m in self.smtp.wait_for(2)}
        self.new_mail()
        self.notice = next(m for rcpt, m in sent.items() if rcpt != CUSTOMER)
        return sent

    def staff(self, body: str, message_id: str, **headers) -> list:
        """A staff member answers the department's notice."""
        return self.deliver(reply(body, subject=f"回复: {self.notice['Subject']}",
                                  parent=self.notice["Message-ID"], message_id=message_id,
                                  **headers))

    def customer(self, parent, body: str, message_id: str, **headers) -> list:
        """The customer answers a mail the gateway sent them."""
        return self.deliver(reply(body, sender=("王工", CUSTOMER), auth=None,
                                  subject=f"Re: {parent['Subject']}", parent=parent["Message-ID"],
                                  message_id=message_id, **headers))

    def record(self) -> Record:
        with self.gateway.sessions() as session:
            record = session.get(Record, self.record_id)
            session.expunge(record)
            return record

    def log(self) -> list[tuple[str, str]]:
        with self.gateway.sessions() as session:
            return [(e.kind, e.text) for e in session.get(Record, self.record_id).log]


@pytest.fixture
def loop(gateway, source, imap_append, smtp_capture, clock):
    return Loop(gateway, source, imap_append, smtp_capture, clock)


def reply(body: str, *, sender=HEAD, subject: str, parent: str | None = None,
          charset: str = "utf-8", auth: str | None = PASS, to=(GATEWAY,), cc=(),
          message_id: str, html: bool = False, headers=()) -> bytes:
    part = MIMEText(body.replace("\n", "<br>\n") if html else body,
                    "html" if html else "plain", charset)
    message = part
    message["From"] = formataddr((str(Header(sender[0], charset)), sender[1]))
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = Header(subject, charset)
    message["Date"] = format_datetime(START)
    message["Message-ID"] = f"<{message_id}>"
    if parent:
        message["In-Reply-To"] = parent
        message["References"] = parent
    if auth:
        message["Authentication-Results"] = auth
    for name, value in headers:
        message[name] = value
    return message.as_bytes()


def text_of(message) -> str:
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    return "\n".join(p.get_content() for p in parsed.walk() if p.get_content_type() in
                     ("text/plain", "text/html"))


OUTLOOK_QUOTE = f"""
发件人: 信息交流网关 <gateway@corp.example>
发送时间: 2026年11月23日 10:05
收件人: 生产部 <production@corp.example>
主题: [NX-2026-001] 【紧急】生产部-设备故障通知

生产部：
{QUOTED_NOTICE} NX-2026-001，请安排处理。
"""


def test_a_whole_life_from_mail_to_rating(loop, smtp_capture):
    ack = loop.open_record()[CUSTOMER]

    # 1. The head answers from Outlook: a status command, an internal remark, an answer.
    body = (f"状态: 处理中\n备注: {SECRET}\n\n王工您好，维修人员已到现场，预计今天下午恢复生产。\n\n"
            f"李强\n{OUTLOOK_QUOTE}")
    (result,) = loop.staff(body, "staff-1@corp.example")
    assert result.action is Disposition.APPENDED and result.record_id == loop.record_id
    record = loop.record()
    assert record.status == "in_progress"
    assert record.first_response_at == loop.clock.now
    (relay,) = loop.new_mail()
    assert relay.rcpt_tos == (CUSTOMER,)
    message = relay.message
    assert loop.record_id in str(message["Subject"])
    assert message["From"].endswith(f"<{GATEWAY}>")
    assert message["In-Reply-To"] == ack["Message-ID"]
    assert "<fault-1@customer.example>" in message["References"]
    relayed = text_of(message)
    assert "维修人员已到现场" in relayed
    assert SECRET not in relayed and "状态" not in relayed.split("当前状态")[0]
    assert QUOTED_NOTICE not in relayed and "发件人:" not in relayed
    assert ("note", SECRET) in loop.log()

    # 2. Done, with the resolution: the originator gets the closure receipt.
    loop.staff("已完成\n解决方案: 更换液压泵密封件，试机正常。\n\n-----原始邮件-----\n"
               "发件人: 王工\n主题: 设备故障\n3号线注塑机突发液压故障", "staff-2@corp.example")
    record = loop.record()
    assert record.status == "resolved" and record.resolved_at == loop.clock.now
    assert record.resolution == "更换液压泵密封件，试机正常。"
    (receipt,) = loop.new_mail()
    assert receipt.rcpt_tos == (CUSTOMER,)
    receipt_text = text_of(receipt.message)
    for phrase in ("更换液压泵密封件", "责任人：王维修", "完成时间：2026年11月23日", "1–5 分"):
        assert phrase in receipt_text
    assert receipt.message["In-Reply-To"] == relay.message["Message-ID"]

    # 3. The customer rates it from a GBK client that quotes with ">".
    loop.customer(receipt.message, "4分 谢谢\n\n> 您的来信已处理完成。\n> 请您为本次处理评分",
                  "rate@customer.example", charset="gbk")
    record = loop.record()
    assert (record.status, record.rating, record.rating_comment) == ("closed", 4, "谢谢")
    assert record.closed_at == loop.clock.now
    assert loop.new_mail() == []

    # No internal remark ever reached an address outside the company.
    for captured in smtp_capture.messages:
        if any(not r.endswith("@corp.example") for r in captured.rcpt_tos):
            assert SECRET not in text_of(captured.message)
    kinds = [k for k, _ in loop.log()]
    assert kinds.count("status") == 3 and "rating" in kinds


def test_records_show_prints_the_thread_and_json_has_the_loop_fields(
    loop, settings, tmp_path, capsys
):
    loop.open_record()
    loop.staff("状态: 处理中\n\n已安排维修。", "s1@corp.example")
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\nstorage_dir = "{settings.gateway.storage_dir}"\n'
                      f'rules_dir = "{ROOT / "rules"}"\n', encoding="utf-8")
    assert cli_main(["--config", str(config), "records", "show", loop.record_id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["status"], data["status_label"], data["owner"]) == (
        "in_progress", "处理中", OWNER[1])
    assert data["departments"] == ["生产部"] and data["rating"] is None
    assert data["first_response_at"] and data["resolved_at"] is None and data["closed_at"] is None
    assert cli_main(["--config", str(config), "records", "show", loop.record_id]) == 0
    shown = capsys.readouterr().out
    lines = shown[shown.index("沟通记录"):].splitlines()[1:]
    kinds = [line.split()[2] for line in lines if line.strip()]
    assert kinds[:2] == ["建立", "分派"]
    assert "状态" in kinds and "来信" in kinds and "发信" in kinds
    assert kinds.index("来信", 2) < kinds.index("状态")  # in order: the mail, then its effect
    assert OWNER[1] in shown


def test_spoofed_internal_sender_changes_nothing(loop):
    loop.open_record()
    loop.staff(f"状态: 已完成\n解决方案: 不用修了\n\n{SECRET}", "spoof@evil.example", auth=FAIL)
    record = loop.record()
    assert (record.status, record.resolution, record.first_response_at) == ("open", None, None)
    assert loop.new_mail() == []
    suspicious = [text for kind, text in loop.log() if kind == "suspicious"]
    assert len(suspicious) == 1 and "dmarc=fail" in suspicious[0]


def test_every_log_line_of_a_reply_says_why_the_sender_counted_as_staff(loop):
    loop.open_record()
    loop.staff("状态: 处理中", "why@corp.example")
    with loop.gateway.sessions() as session:
        status = next(e for e in session.get(Record, loop.record_id).log if e.kind == "status")
        assert status.data["sender"] == f"{HEAD[1]} 是内部地址, 认证通过"


STYLES = {
    "outlook-zh": OUTLOOK_QUOTE,
    "outlook-en": "\n________________________________\nFrom: 信息交流网关 <gateway@corp.example>\n"
                  f"Sent: Monday, November 23, 2026 10:05 AM\nTo: production@corp.example\n"
                  f"Subject: [NX-2026-001] notice\n\n{QUOTED_NOTICE}",
    "outlook-original": f"\n-----原始邮件-----\n发件人: gateway@corp.example\n{QUOTED_NOTICE}",
    "foxmail": "\n------------------ 原始邮件 ------------------\n"
               f"发件人: \"信息交流网关\"<gateway@corp.example>;\n{QUOTED_NOTICE}",
    "gmail-zh": f"\n信息交流网关 <gateway@corp.example> 于2026年11月23日周一 10:05写道：\n\n"
                f"> {QUOTED_NOTICE}\n>\n> 生产部",
    "gmail-en": "\nOn Mon, Nov 23, 2026 at 10:05 AM 信息交流网关 <gateway@corp.example> wrote:\n"
                f"\n> {QUOTED_NOTICE}",
    "angle-quote": f"\n> {QUOTED_NOTICE}\n> 生产部",
}


@pytest.mark.parametrize("charset", ["gbk", "utf-8"])
@pytest.mark.parametrize("style", sorted(STYLES))
def test_replies_in_each_clients_quoting_style(loop, style, charset):
    loop.open_record()
    loop.staff(f"状态：处理中\n\n王工您好，备件已发出。\n{STYLES[style]}", f"{style}-{charset}@corp.example",
               charset=charset, html=style == "outlook-zh")
    assert loop.record().status == "in_progress"
    (relay,) = loop.new_mail()
    text = text_of(relay.message)
    assert "备件已发出" in text and QUOTED_NOTICE not in text


def test_unknown_command_gets_a_short_answer_and_changes_nothing(loop):
    loop.open_record()
    loop.staff("状态: 处理中\n优先级: 高\n\n王工您好", "bad@corp.example")
    assert loop.record().status == "open"
    (answer,) = loop.new_mail()
    assert answer.rcpt_tos == (HEAD[1],)
    text = text_of(answer.message)
    assert "优先级: 高" in text and "紧急程度: 普通 | 紧急 | 特急" in text
    assert answer.message["Auto-Submitted"] == "auto-replied"


def test_assigning_an_outside_owner_is_refused_and_nothing_changes(loop):
    loop.open_record()
    loop.staff("紧急程度: 特急\n责任人: 外人 <someone@other.example>", "owner@corp.example")
    record = loop.record()
    assert (record.owner_addr, record.urgency) == (OWNER[1], "urgent")
    (answer,) = loop.new_mail()
    assert answer.rcpt_tos == (HEAD[1],) and "责任人必须是内部人员" in text_of(answer.message)


def test_owner_and_urgency_commands_reassign_and_regrade(loop):
    loop.open_record()
    loop.staff("责任人: 王工\n紧急程度: 特急", "regrade@corp.example")
    record = loop.record()
    assert (record.owner_addr, record.owner_name, record.urgency) == (
        "wang.gong@corp.example", "王工", "critical")
    assert record.due_at == record.created_at + timedelta(hours=4)  # 特急: 4 hours, not 24
    (told,) = loop.new_mail()
    assert told.rcpt_tos == ("wang.gong@corp.example",)
    assert [k for k, _ in loop.log()].count("urgency") == 1


def test_reply_to_the_note_address_is_logged_only(loop):
    loop.open_record()
    loop.staff(f"{SECRET}，客户那边先不要说。", "note@corp.example", to=("gateway+note@corp.example",))
    assert loop.new_mail() == []
    assert loop.record().status == "open"
    assert ("note", f"{SECRET}，客户那边先不要说。") in loop.log()


def test_cc_to_another_department_involves_it_once(loop):
    loop.open_record()
    for n in (1, 2):
        loop.staff("备注: 请质量部看看是否批次问题", f"cc-{n}@corp.example",
                   cc=("quality@corp.example",))
    assert loop.record().departments == ["生产部", "质量部"]
    notices = [m for m in loop.new_mail() if "quality@corp.example" in m.rcpt_tos]
    assert len(notices) == 1
    assert "涉及部门" in text_of(notices[0].message)


def test_a_forward_to_another_department_involves_it_and_stays_inside(loop):
    loop.open_record()
    forward = reply("请质量部协助确认是否批次问题。\n\n---------- Forwarded message ---------\n"
                    f"{QUOTED_NOTICE}", to=("quality@corp.example",), cc=(GATEWAY,),
                    subject=f"转发: {loop.notice['Subject']}", message_id="fwd@corp.example")
    (result,) = loop.deliver(forward)
    assert result.record_id == loop.record_id  # threads by the record id in the subject
    assert loop.record().departments == ["生产部", "质量部"]
    assert [m.rcpt_tos for m in loop.new_mail()] == [("quality@corp.example",)]
    assert ("note", "请质量部协助确认是否批次问题。") in loop.log()
    assert loop.record().status == "open"


def test_low_rating_reopens_for_the_head_and_a_later_rating_replaces_it(loop):
    loop.open_record()
    loop.staff("#done\n解决方案: 已重启设备", "done-1@corp.example")
    (receipt,) = loop.new_mail()
    loop.customer(receipt.message, "★★☆☆☆ 还是漏油", "r1@customer.example")
    record = loop.record()
    assert (record.status, record.rating, record.resolved_at) == ("in_progress", 2, None)
    (escalation,) = loop.new_mail()
    assert escalation.rcpt_tos == (HEAD[1],) and "还是漏油" in text_of(escalation.message)

    loop.staff("已完成\n解决方案: 更换密封件", "done-2@corp.example")
    (receipt,) = loop.new_mail()
    loop.customer(receipt.message, "非常满意", "r2@customer.example")
    record = loop.record()
    assert (record.status, record.rating) == ("closed", 5)
    ratings = [text for kind, text in loop.log() if kind == "rating"]
    assert ratings == ["发起人评价 2 分: 还是漏油", "发起人评价 5 分 (替换此前的 2 分)"]


def test_an_out_of_office_answer_to_the_receipt_is_no_rating(loop):
    loop.open_record()
    loop.staff("已完成", "done@corp.example")
    (receipt,) = loop.new_mail()
    loop.deliver(reply("5号之前休假, 回来后处理。", sender=("王工", CUSTOMER), auth=None,
                       subject=f"自动回复: {receipt.message['Subject']}",
                       parent=receipt.message["Message-ID"], message_id="away@customer.example",
                       headers=(("Auto-Submitted", "auto-replied"),)))
    record = loop.record()
    assert (record.status, record.rating) == ("resolved", None)
    assert loop.new_mail() == []


def test_unrated_record_closes_after_the_configured_wait(loop, gateway):
    loop.open_record()
    loop.staff("已完成", "done@corp.example")
    loop.clock.advance(days=4)  # Friday: only 4 working days after Monday's resolution
    assert gateway.close_waiting() == []
    loop.clock.advance(days=3)  # the next Monday
    assert gateway.close_waiting() == [loop.record_id]
    record = loop.record()
    assert record.status == "closed" and record.closed_at == loop.clock.now
    assert record.rating is None


def test_outside_party_cannot_change_a_record_that_is_not_theirs(loop):
    loop.open_record()
    (result,) = loop.staff("状态: 已完成", "stranger@other.example",
                           sender=("路人", "someone@other.example"), auth=None)
    assert loop.record().status == "open"
    # Not theirs to change: they get a record of their own, linked to this one.
    assert result.action is Disposition.CREATED and result.record_id != loop.record_id
    assert {m.rcpt_tos[0] for m in loop.new_mail()} >= {"someone@other.example"}
    assert any(kind == "linked" for kind, _ in loop.log())


def test_customer_follow_up_reaches_the_owner_with_the_original(loop):
    ack = loop.open_record()[CUSTOMER]
    outer = MIMEMultipart()
    outer.attach(MIMEText("补充: 故障代码 E-42。\n\n> 已受理", "plain", "gbk"))
    outer["From"] = CUSTOMER
    outer["To"] = GATEWAY
    outer["Subject"] = Header(f"回复: {ack['Subject']}", "gbk")
    outer["Message-ID"] = "<follow@customer.example>"
    outer["In-Reply-To"] = ack["Message-ID"]
    loop.deliver(outer.as_bytes())
    (forward,) = loop.new_mail()
    assert forward.rcpt_tos == (OWNER[1],)
    assert "故障代码 E-42" in text_of(forward.message)
    assert any(p.get_content_type() == "message/rfc822" for p in forward.message.walk())
    assert loop.record().status == "open"


def test_archive_class_command_sets_the_class_that_decides_retention(loop):
    loop.open_record()
    loop.staff("归档类别: 重要", "archive-class@corp.example")
    record = loop.record()
    assert record.archive_class == "important"
    assert ("archive_class", "归档类别设为 重要") in [(k, t) for k, t in loop.log()]

"""Calls, minutes, who may act and 涉密 records, against Dovecot and a capturing SMTP server."""

from __future__ import annotations

import csv
import json
from email import message_from_bytes
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import default as default_policy
from email.utils import format_datetime, formataddr

import pytest
from loopdriver import CUSTOMER, Driver, text_of
from mailmaker import GATEWAY, gbk_mail
from rulefiles import copy_rules

from gateway.cli.main import main as cli_main
from gateway.db.models import Record
from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration

HEAD = ("李强", "li.qiang@corp.example")  # 生产部's head
OWNER = ("王维修", "wang.weixiu@corp.example")  # routing.toml gives equipment faults to him
OUTSIDER = ("赵敏", "zhao.min@corp.example")  # 市场部's head: nothing to do with the record
ADMIN = "boss@corp.example"
AUTHSERV = "mx.corp.example"
PASS = f"{AUTHSERV}; dkim=pass header.d=corp.example; spf=pass smtp.mailfrom=corp.example; dmarc=pass"
NOTICE_TEXT = "收到一条新的来信，已登记为"

# A rule that makes a record 涉密 from the start: 配方 (formulas) are the company's secret.
SECRET_RULE = """
[[rule]]
name = "配方涉密"
subject_keywords = ["配方"]
department = "研发部"
owner = "林工 <lin.gong@corp.example>"
archive_class = "classified"
"""
SECRET_SUBJECT = "【紧急】研发部-新品配方泄露风险"
SECRET_BODY = "配方第3版的添加比例请勿外传。"


@pytest.fixture
def gateway(settings, clock, tmp_path):
    rules = copy_rules(tmp_path, extra=SECRET_RULE)
    section = settings.gateway.model_copy(update={
        "trusted_authserv_id": AUTHSERV, "admins": (ADMIN,), "rules_dir": rules})
    gateway = Gateway(settings.model_copy(update={"gateway": section}), clock=clock)
    yield gateway
    gateway.close()


class Loop(Driver):
    """One record's mail (loopdriver.Driver): the record opened, its notice, its log."""

    def __init__(self, gateway, source, imap_append, smtp, clock):
        super().__init__(gateway, source, imap_append, smtp, clock)
        self.record_id: str | None = None
        self.notice = None

    def open(self, raw: bytes | None = None) -> dict:
        (result,) = self.deliver(raw or gbk_mail())
        assert result.action is Disposition.CREATED
        self.record_id = result.record_id
        sent = {m.rcpt_tos: m.message for m in self.smtp.wait_for(2)}
        self.new_mail()
        self.notice = next(m for rcpt, m in sent.items() if CUSTOMER not in rcpt)
        return sent

    def staff(self, raw: bytes) -> None:
        (result,) = self.deliver(raw)
        assert result.record_id == self.record_id

    def record(self) -> Record:
        return super().record(self.record_id)

    def log(self) -> list[tuple[str, str, str]]:
        with self.gateway.sessions() as session:
            return [(e.kind, e.actor, e.text) for e in session.get(Record, self.record_id).log]


@pytest.fixture
def loop(gateway, source, imap_append, smtp_capture, clock):
    return Loop(gateway, source, imap_append, smtp_capture, clock)


def _headers(message, sender, notice, written, to=(GATEWAY,)) -> None:
    message["From"] = formataddr((str(Header(sender[0], "utf-8")), sender[1]))
    message["To"] = ", ".join(to)
    message["Subject"] = Header(f"回复: {notice['Subject']}", "utf-8")
    message["Date"] = format_datetime(written)
    message["Message-ID"] = f"<{abs(hash((sender, written, str(notice['Subject']))))}@corp.example>"
    message["In-Reply-To"] = notice["Message-ID"]
    message["References"] = notice["Message-ID"]
    message["Authentication-Results"] = PASS


def outlook(body: str, notice, written, sender=HEAD, cc=()) -> bytes:
    """Outlook (Chinese): HTML and text, the parent's headers as a block under the answer."""
    quote = (f"\n\n发件人: 信息交流网关 <{GATEWAY}>\n发送时间: 2026年11月23日 10:05\n"
             f"收件人: 生产部 <production@corp.example>\n主题: {notice['Subject']}\n\n"
             f"{NOTICE_TEXT} …")
    message = MIMEMultipart("alternative")
    message.attach(MIMEText(body + quote, "plain", "gb2312"))
    message.attach(MIMEText("<html><body><p>" + (body + quote).replace("\n", "<br>\n")
                            + "</p></body></html>", "html", "gb2312"))
    _headers(message, sender, notice, written)
    if cc:
        message["Cc"] = ", ".join(cc)
    return message.as_bytes()


def foxmail(body: str, notice, written, files=(), sender=HEAD) -> bytes:
    """Foxmail: GBK text, its 原始邮件 rule line, files attached with RFC 2231 names."""
    quote = (f"\n\n------------------ 原始邮件 ------------------\n"
             f"发件人: \"信息交流网关\"<{GATEWAY}>;\n发送时间: 2026年11月23日(星期一) 上午10:05\n"
             f"{NOTICE_TEXT} …")
    message = MIMEMultipart("mixed")
    message.attach(MIMEText(body + quote, "plain", "gbk"))
    for name, data in files:
        part = MIMEApplication(data, "vnd.openxmlformats-officedocument.wordprocessingml.document")
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        message.attach(part)
    _headers(message, sender, notice, written)
    return message.as_bytes()


def qq_mail(body: str, notice, written, sender=HEAD) -> bytes:
    """QQ Mail (web): HTML only, the history under its &nbsp;-padded 原始邮件 line."""
    html = ("<div>" + body.replace("\n", "</div><div>") + "</div><div><br></div>"
            "<div style=\"font-size: 12px;\">------------------&nbsp;原始邮件&nbsp;------------------"
            f"</div><div><b>发件人:</b>&nbsp;\"信息交流网关\"&lt;{GATEWAY}&gt;;</div>"
            f"<div>{NOTICE_TEXT} …</div>")
    message = MIMEText(html, "html", "utf-8")
    _headers(message, sender, notice, written)
    return message.as_bytes()


def files_of(message) -> dict[str, bytes]:
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    return {p.get_filename(): p.get_content() for p in parsed.iter_attachments()
            if p.get_content_type() != "message/rfc822"}


def config_file(settings, gateway, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\nstorage_dir = "{settings.gateway.storage_dir}"\n'
                      f'rules_dir = "{gateway.settings.gateway.rules_dir}"\n', encoding="utf-8")
    return config


# --- 电话 -----------------------------------------------------------------------------------

def test_a_call_logged_from_outlook_is_the_first_response_and_the_register_says_mail_and_phone(
        loop, settings, tmp_path, capsys):
    loop.open()
    tz = loop.gateway.settings.tz
    loop.clock.advance(hours=2)  # about 12:20 in Shanghai: the call at 11:20 came before
    loop.staff(outlook("电话：11:20 已电话告知客户，对方确认今天下午到场验收\n\n李强",
                       loop.notice, loop.clock.now))
    record = loop.record()
    assert record.first_response_at.astimezone(tz).strftime("%Y-%m-%d %H:%M") == "2026-11-23 11:20"
    assert (record.status, record.channel) == ("in_progress", "email+phone")
    ((kind, actor, text),) = [entry for entry in loop.log() if entry[0] == "phone"]
    assert actor == HEAD[1] and "11:20" in text and "与 客户" in text and "到场验收" in text

    config = config_file(settings, loop.gateway, tmp_path)
    assert cli_main(["--config", str(config), "records", "show", loop.record_id, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["channels"] == ["邮件", "电话"]
    assert [e["kind_label"] for e in data["log"] if e["kind"] == "phone"] == ["电话"]
    out = tmp_path / "register.csv"
    assert cli_main(["--config", str(config), "export", "--from", "2026-11-23", "--to",
                     "2026-11-23", "--format", "csv", "--out", str(out)]) == 0
    (row,) = csv.DictReader(out.open(encoding="utf-8-sig"))
    assert row["传递方式"] == "邮件+电话"
    assert row["实际反馈时间"] == "2026-11-23 11:20"


def test_a_signature_phone_number_logs_no_call(loop):
    loop.open()
    loop.staff(outlook("王工您好，已安排维修。\n\n李强\n生产部\n电话：0571-8888 6666",
                       loop.notice, loop.clock.now))
    assert loop.record().channel == "email"
    assert "phone" not in [kind for kind, _, _ in loop.log()]
    (relay,) = loop.new_mail()
    assert relay.rcpt_tos == (CUSTOMER,)


# --- 会议纪要 -------------------------------------------------------------------------------

def test_minutes_from_foxmail_with_a_file_reach_owner_and_departments_but_not_the_customer(loop):
    loop.open()
    minutes_file = "现场会议纪要.docx".encode() + bytes(range(256))
    loop.staff(foxmail("会议纪要：\n1. 液压泵密封件明天到货\n2. 质量部复检批次\n\n李强",
                       loop.notice, loop.clock.now, files=[("现场会议纪要.docx", minutes_file)]))
    sent = {m.rcpt_tos: m.message for m in loop.new_mail()}
    # The signature below the minutes is the reply's public text, relayed as ever.
    assert set(sent) == {(OWNER[1], "production@corp.example"), (CUSTOMER,)}
    assert "液压泵" not in text_of(sent[(CUSTOMER,)]) and not files_of(sent[(CUSTOMER,)])
    message = sent[(OWNER[1], "production@corp.example")]
    assert "会议纪要" in str(message["Subject"])
    assert "液压泵密封件明天到货" in text_of(message)
    assert files_of(message) == {"现场会议纪要.docx": minutes_file}
    record = loop.record()
    assert record.channel == "email+meeting"
    ((_, actor, text),) = [e for e in loop.log() if e[0] == "minutes"]
    assert actor == HEAD[1] and "质量部复检批次" in text and "现场会议纪要.docx" in text
    assert any(kind == "note" and "未写 对外: 是" in text for kind, _, text in loop.log())


def test_minutes_from_qq_mail_with_external_yes_also_reach_the_customer(loop):
    loop.open()
    loop.staff(qq_mail("Minutes: 双方确认明天九点到场更换密封件\n对外: 是", loop.notice,
                       loop.clock.now))
    sent = {m.rcpt_tos: m.message for m in loop.new_mail()}
    assert set(sent) == {(OWNER[1], "production@corp.example"), (CUSTOMER,)}
    to_customer = text_of(sent[(CUSTOMER,)])
    assert "双方确认明天九点到场更换密封件" in to_customer
    assert OWNER[1] not in to_customer and "production@" not in to_customer
    assert sent[(CUSTOMER,)]["In-Reply-To"]  # in the customer's own thread
    (minutes,) = [e for e in loop.log() if e[0] == "minutes"]
    assert "双方确认" in minutes[2]


def test_empty_minutes_without_a_file_change_nothing_and_are_explained(loop):
    loop.open()
    loop.staff(outlook("会议纪要：\n\n李强", loop.notice, loop.clock.now))
    (answer,) = loop.new_mail()
    assert answer.rcpt_tos == (HEAD[1],) and "会议纪要为空" in text_of(answer.message)
    assert "minutes" not in [kind for kind, _, _ in loop.log()]


# --- who may act ----------------------------------------------------------------------------

def test_an_uninvolved_employee_is_refused_and_the_owner_gets_the_text_as_a_comment(loop):
    loop.open()
    loop.staff(outlook("状态: 已完成\n\n这个问题市场部来跟进吧。", loop.notice, loop.clock.now,
                       sender=OUTSIDER))
    record = loop.record()
    assert (record.status, record.first_response_at) == ("open", None)
    sent = {m.rcpt_tos: m.message for m in loop.new_mail()}
    assert set(sent) == {(OUTSIDER[1],), (OWNER[1],)}
    refusal = text_of(sent[(OUTSIDER[1],)])
    assert "王维修" in refusal and "生产部" in refusal and "网关管理员" in refusal
    comment = text_of(sent[(OWNER[1],)])
    assert "这个问题市场部来跟进吧" in comment and "未执行" in comment
    kinds = [kind for kind, _, _ in loop.log()]
    assert "refused" in kinds and "comment" in kinds and "status" not in kinds
    assert all(CUSTOMER not in rcpt for rcpt in sent)


def test_members_heads_and_admins_may_act(loop):
    loop.open()
    loop.staff(qq_mail("状态: 处理中", loop.notice, loop.clock.now,
                       sender=("王工", "wang.gong@corp.example")))  # a member of 生产部
    assert loop.record().status == "in_progress"
    loop.staff(outlook("状态: 已完成\n解决方案: 已更换", loop.notice, loop.clock.now,
                       sender=("老板", ADMIN)))
    assert loop.record().status == "resolved"
    assert "refused" not in [kind for kind, _, _ in loop.log()]


# --- 涉密 -----------------------------------------------------------------------------------

def test_a_classified_record_goes_to_its_owner_alone_and_is_kept_out_of_the_register(
        loop, settings, tmp_path):
    sent = loop.open(gbk_mail(SECRET_SUBJECT, body=SECRET_BODY, message_id="secret@customer.example"))
    assert set(sent) == {(CUSTOMER,), ("lin.gong@corp.example",)}  # never rd@corp.example
    notice = sent[("lin.gong@corp.example",)]
    assert str(notice["Subject"]).startswith("【涉密】")
    assert any(p.get_content_type() == "message/rfc822" for p in notice.walk())
    assert "涉密" not in str(sent[(CUSTOMER,)]["Subject"])
    # A later staff answer: the customer's relay is unmarked, staff mail carries the mark.
    loop.staff(outlook("状态: 处理中\n责任人: 孙伟 <sun.wei@corp.example>\n\n已收到。",
                       notice, loop.clock.now, sender=("孙伟", "sun.wei@corp.example")))
    later = {m.rcpt_tos: m.message for m in loop.new_mail()}
    assert "涉密" not in str(later[(CUSTOMER,)]["Subject"])
    assert set(later) == {(CUSTOMER,)}  # the new owner wrote it himself: no notice to him
    # Copying another department's mailbox involves it, but only its head hears of it.
    loop.staff(outlook("备注: 请质量部周敏看一下", notice, loop.clock.now,
                       sender=("孙伟", "sun.wei@corp.example"), cc=("quality@corp.example",)))
    assert loop.record().departments == ["研发部", "质量部"]
    (told,) = loop.new_mail()
    assert told.rcpt_tos == ("zhou.min@corp.example",)
    assert str(told.message["Subject"]).startswith("【涉密】")

    config = config_file(settings, loop.gateway, tmp_path)
    withheld, included = tmp_path / "withheld.csv", tmp_path / "included.csv"
    period = ["--from", "2026-11-23", "--to", "2026-11-23", "--format", "csv"]
    assert cli_main(["--config", str(config), "export", *period, "--out", str(withheld)]) == 0
    assert cli_main(["--config", str(config), "export", *period, "--out", str(included),
                     "--include-classified"]) == 0
    (row,) = csv.DictReader(withheld.open(encoding="utf-8-sig"))
    assert "配方" not in row["信息主题"] and SECRET_BODY not in row["内容摘要"]
    assert row["信息编号"] == loop.record_id and row["紧急程度"] == "紧急"
    (row,) = csv.DictReader(included.open(encoding="utf-8-sig"))
    assert row["信息主题"] == SECRET_SUBJECT and SECRET_BODY in row["内容摘要"]


def test_classifying_by_reply_marks_later_staff_mail_and_export_logs_who_ran_it(
        loop, settings, tmp_path):
    loop.open()
    loop.staff(outlook("归档类别: 涉密", loop.notice, loop.clock.now))
    loop.clock.advance(hours=1)
    loop.deliver(gbk_mail("Re: 设备故障", body="还有一台也坏了", message_id="more@customer.example",
                          headers=[("In-Reply-To", loop.notice["Message-ID"])]))
    (forwarded,) = loop.new_mail()
    assert forwarded.rcpt_tos == (OWNER[1],)
    assert str(forwarded.message["Subject"]).startswith("【涉密】")

    config = config_file(settings, loop.gateway, tmp_path)
    assert cli_main(["--config", str(config), "archive", "export", loop.record_id,
                     "--out", str(tmp_path / "handover"), "--by", "auditor-zhang"]) == 0
    (exported,) = [e for e in loop.log() if e[0] == "exported"]
    assert exported[1] == "auditor-zhang" and "handover" in exported[2]
    assert (tmp_path / "handover" / "summary.txt").exists()


def test_the_report_names_senders_of_classified_records_only_when_asked(loop, settings, tmp_path):
    loop.open(gbk_mail(SECRET_SUBJECT, body=SECRET_BODY, message_id="secret2@customer.example"))
    config = config_file(settings, loop.gateway, tmp_path)
    plain, full = tmp_path / "plain.html", tmp_path / "full.html"
    assert cli_main(["--config", str(config), "report", "--period", "2026-11", "--out",
                     str(plain)]) == 0
    assert cli_main(["--config", str(config), "report", "--period", "2026-11", "--out",
                     str(full), "--include-classified"]) == 0
    assert CUSTOMER not in plain.read_text("utf-8")
    assert CUSTOMER in full.read_text("utf-8")

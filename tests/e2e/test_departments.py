"""Department words as people write them, the sender's explicit department, 发起部门, and the
register's 备注 and 关联项目, end to end through Dovecot and aiosmtpd."""

from __future__ import annotations

import csv
import json

import pytest
from loopdriver import Driver, text_of
from mailmaker import CLIENTS, client_reply, gbk_mail
from paths import ROOT
from rulefiles import copy_rules

from gateway.cli.main import main as cli_main

pytestmark = pytest.mark.integration

CUSTOMER = ("王工", "wang@customer.example")
SERVICE_HEAD = ("何丽", "he.li@corp.example")  # 客服中心, the [default] desk
PURCHASING_HEAD = "chen.gang@corp.example"
SECRET = "对方报价偏高, 内部先压一压"


@pytest.fixture
def driver(gateway, source, imap_append, smtp_capture, clock):
    return Driver(gateway, source, imap_append, smtp_capture, clock)


def _config(tmp_path, settings, rules_dir=ROOT / "rules"):
    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\nstorage_dir = "{settings.gateway.storage_dir}"\n'
                      f'rules_dir = "{rules_dir}"\n', encoding="utf-8")
    return str(config)


@pytest.mark.parametrize(("subject", "department"), [
    ("客服部-退货咨询", "客服中心"),
    ("【一般】財務處-對賬單", "财务部"),
    ("行政部门-访客登记", "行政部"),
    ("【緊急】生產車間-停线", "生产部"),
    ("采购组-询价", "采购部"),
])
def test_department_words_as_people_write_them(driver, subject, department):
    record_id, _ = driver.open(gbk_mail(subject, message_id=f"d{abs(hash(subject))}@customer.example"))
    record = driver.record(record_id)
    assert record.department == department and record.requested_department is None


def test_an_unknown_department_is_kept_and_the_default_desk_reassigns_it(
    driver, settings, tmp_path, capsys
):
    record_id, sent = driver.open(gbk_mail("物流部-发货延迟", message_id="ship@customer.example"))
    record = driver.record(record_id)
    assert (record.department, record.requested_department) == ("客服中心", "物流部")
    notice = next(m for rcpt, m in sent.items() if rcpt != CUSTOMER[1])
    config = _config(tmp_path, settings)
    assert cli_main(["--config", config, "records", "show", record_id]) == 0
    assert "来信所请部门: 物流部" in capsys.readouterr().out

    # The desk hands it to 采购部, writing the word as people do (采购处); remark and project too.
    body = f"部门: 采购处\n关联项目: 华东仓扩建\n备注: {SECRET}\n\n王工您好，已转采购部跟进。"
    driver.deliver(client_reply(CLIENTS["outlook-zh"], body, sender=SERVICE_HEAD,
                                subject=str(notice["Subject"]), parent_id=notice["Message-ID"]))
    record = driver.record(record_id)
    assert (record.department, record.owner_addr) == ("采购部", PURCHASING_HEAD)
    assert "采购部" in record.departments and record.project == "华东仓扩建"
    assert record.remarks == SECRET
    by_rcpt = {r: m for m in driver.new_mail() for r in m.rcpt_tos}
    assert PURCHASING_HEAD in by_rcpt and "purchasing@corp.example" in by_rcpt
    relay = by_rcpt[CUSTOMER[1]]
    assert "已转采购部跟进" in text_of(relay.message) and SECRET not in text_of(relay.message)
    assert any(k == "department" and "客服中心 → 采购部" in t for k, t in driver.log(record_id))

    # Later follow-ups go to the new owner.
    ack = sent[CUSTOMER[1]]
    driver.deliver(client_reply(CLIENTS["qq-mail"], "请问什么时候能发货？", sender=CUSTOMER,
                                subject=str(ack["Subject"]), parent_id=ack["Message-ID"]))
    assert [m.rcpt_tos for m in driver.new_mail()] == [(PURCHASING_HEAD,)]

    out = tmp_path / "register.csv"
    assert cli_main(["--config", config, "export", "--from", "2026-11-01", "--to", "2026-11-30",
                     "--format", "csv", "--out", str(out)]) == 0
    (row,) = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert SECRET in row["备注"] and "物流部" in row["备注"]
    assert (row["关联项目"], row["发起部门"], row["接收部门/单位"]) == ("华东仓扩建", "客户A公司", "采购部")


def test_an_unknown_department_in_the_command_changes_nothing(driver):
    record_id, sent = driver.open()
    notice = next(m for rcpt, m in sent.items() if rcpt != CUSTOMER[1])
    driver.deliver(client_reply(CLIENTS["foxmail"], "部门: 宣传部\n\n转宣传部", sender=("李强", "li.qiang@corp.example"),
                                subject=str(notice["Subject"]), parent_id=notice["Message-ID"]))
    assert driver.record(record_id).department == "生产部"
    (answer,) = driver.new_mail()
    assert "部门目录中没有「宣传部」" in text_of(answer.message)


def test_the_subjects_department_wins_over_a_keyword_rule_unless_it_overrides(
    driver, settings, tmp_path, capsys
):
    complaint = gbk_mail("生产部-关于货物质量的投诉", message_id="c1@customer.example")
    record_id, _ = driver.open(complaint)
    record = driver.record(record_id)
    assert (record.department, record.problem_type) == ("生产部", "投诉")
    untagged, _ = driver.open(gbk_mail("关于货物质量的投诉", message_id="c2@customer.example"))
    assert driver.record(untagged).department == "质量部"

    mail = tmp_path / "complaint.eml"
    mail.write_bytes(complaint)
    assert cli_main(["--config", _config(tmp_path, settings), "rules", "test", str(mail)]) == 0
    assert "does not override the subject's department (no override_tag)" in capsys.readouterr().out
    routing = (ROOT / "rules" / "routing.toml").read_text("utf-8").replace(
        'department = "质量部"\nproblem_type = "投诉"',
        'department = "质量部"\nproblem_type = "投诉"\noverride_tag = true')
    overriding = copy_rules(tmp_path, routing=routing)
    assert cli_main(["--config", _config(tmp_path, settings, overriding), "rules", "test",
                     str(mail), "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    decision = decision[0] if isinstance(decision, list) else decision
    assert decision["decision"]["department"] == "质量部"
    assert "override_tag = true" in decision["decision"]["department_reason"]


def test_from_department_is_who_the_sender_is(driver, settings, tmp_path, capsys):
    staff, _ = driver.open(client_reply(CLIENTS["thunderbird"], "申请采购液压泵。",
                                        sender=("王工", "wang.gong@corp.example"),
                                        subject="【紧急】采购部-液压泵采购申请"))
    outside, _ = driver.open(gbk_mail("咨询", sender=("路人", "a@elsewhere.example"),
                                      message_id="q@elsewhere.example"))
    party, _ = driver.open()
    assert driver.record(staff).from_department == "生产部"  # not 采购部, the subject's tag
    assert driver.record(outside).from_department == "elsewhere.example"
    assert driver.record(party).organisation == "客户A公司"
    assert cli_main(["--config", _config(tmp_path, settings), "records", "list", "--json"]) == 0
    listed = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert (listed[staff]["from_department"], listed[staff]["organisation"]) == ("生产部", None)
    assert (listed[party]["from_department"], listed[party]["organisation"]) == (
        "客户A公司", "客户A公司")
    assert cli_main(["--config", _config(tmp_path, settings), "records", "show", staff,
                     "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["from_department"] == "生产部"

"""Participants and strangers: no mail from a person is ever only archived."""

from __future__ import annotations

import json

import pytest
from loopdriver import CUSTOMER, Driver, text_of
from mailmaker import CLIENTS, client_reply, gbk_mail
from paths import ROOT

from gateway.cli.main import main as cli_main
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration

HEAD = ("李强", "li.qiang@corp.example")
OWNER = "wang.weixiu@corp.example"
COLLEAGUE = ("张经理", "zhang@customer.example")  # same organisation as the originator (客户A公司)
NAMED = ("赵顾问", "zhao@consult.example")  # in Cc of the originator's first mail
STRANGER = ("路人", "nobody@elsewhere.example")
SECRET_TITLE = "设备故障通知"


@pytest.fixture
def driver(gateway, source, imap_append, smtp_capture, clock):
    return Driver(gateway, source, imap_append, smtp_capture, clock)


def _open_with_cc(driver) -> tuple[str, dict]:
    return driver.open(gbk_mail(headers=(("Cc", f"{NAMED[1]}"),)))


def _notice(sent):
    return next(m for rcpt, m in sent.items() if rcpt not in (CUSTOMER, NAMED[1]))


@pytest.mark.parametrize("who", [COLLEAGUE, NAMED], ids=["same-organisation", "named-in-cc"])
def test_a_participants_mail_joins_the_record_and_reaches_the_owner(driver, who):
    record_id, sent = _open_with_cc(driver)
    ack = sent[CUSTOMER]
    raw = client_reply(CLIENTS["outlook-zh"], "我是同事，补充一下：故障从昨晚开始。", sender=who,
                       subject=str(ack["Subject"]), parent_id=ack["Message-ID"],
                       parent_text="您的来信已登记。")
    (result,) = driver.deliver(raw)
    assert (result.action, result.record_id) == (Disposition.APPENDED, record_id)
    (relay,) = driver.new_mail()
    assert relay.rcpt_tos == (OWNER,) and "故障从昨晚开始" in text_of(relay.message)
    kinds = [k for k, _ in driver.log(record_id)]
    assert "participant" in kinds and "refused" not in kinds


def test_later_relays_reach_those_the_originators_mail_named(driver):
    record_id, sent = _open_with_cc(driver)
    notice = _notice(sent)
    driver.deliver(client_reply(CLIENTS["foxmail"], "王工您好，维修人员已出发。", sender=HEAD,
                                subject=str(notice["Subject"]), parent_id=notice["Message-ID"]))
    (relay,) = driver.new_mail()
    assert set(relay.rcpt_tos) == {CUSTOMER, NAMED[1]}
    assert relay.message["To"].endswith(f"<{CUSTOMER}>") and NAMED[1] in relay.message["Cc"]


def test_a_stranger_quoting_a_record_gets_a_linked_record_of_their_own(driver, settings, tmp_path,
                                                                        capsys):
    record_id, sent = driver.open()
    quoted_subject = str(sent[CUSTOMER]["Subject"])
    raw = client_reply(CLIENTS["qq-mail"], "我们也遇到了同样的问题，请帮忙看看。", sender=STRANGER,
                       subject=f"关于 {record_id} 的问题")
    (result,) = driver.deliver(raw)
    assert result.action is Disposition.CREATED and result.record_id != record_id
    new_id = result.record_id
    new = driver.record(new_id)
    assert (new.related_to, new.from_addr) == (record_id, STRANGER[1])
    mails = {m.rcpt_tos[0]: m for m in driver.new_mail()}
    ack = mails[STRANGER[1]]
    ack_text = text_of(ack.message)
    assert new_id in str(ack.message["Subject"])
    # Nothing of the other record: not its title, customer, owner or summary.
    for secret in (SECRET_TITLE, CUSTOMER, "王工", OWNER, "液压故障"):
        assert secret not in ack_text and secret not in str(ack.message["Subject"])
    assert quoted_subject not in ack_text
    # The quoted record learns of it, and changes in nothing else.
    old_log = driver.log(record_id)
    assert any(k == "linked" and new_id in t for k, t in old_log)
    assert driver.record(record_id).status == "open"

    config = tmp_path / "config.toml"
    config.write_text(f'[gateway]\nstorage_dir = "{settings.gateway.storage_dir}"\n'
                      f'rules_dir = "{ROOT / "rules"}"\n', encoding="utf-8")
    assert cli_main(["--config", str(config), "records", "show", new_id]) == 0
    assert f"关联记录   {record_id}" in capsys.readouterr().out
    assert cli_main(["--config", str(config), "records", "show", new_id, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["related_to"] == record_id


def test_a_stranger_threading_by_headers_alone_gets_a_record_too(driver):
    record_id, sent = driver.open()
    ack = sent[CUSTOMER]
    raw = client_reply(CLIENTS["thunderbird"], "这封邮件是别人转给我的，我们也需要维修。",
                       sender=STRANGER, subject="Re: 设备", parent_id=ack["Message-ID"],
                       parent_text="您的来信已登记。")
    (result,) = driver.deliver(raw)
    assert result.action is Disposition.CREATED and result.record_id != record_id


def test_free_mail_users_are_not_colleagues_of_each_other(driver):
    record_id, _ = driver.open(gbk_mail("【紧急】生产部-设备故障", sender=("王工", "wanggong@qq.com"),
                                        message_id="qq-1@qq.com"))
    raw = client_reply(CLIENTS["qq-mail"], "我也要报修", sender=("别人", "other@qq.com"),
                       subject=f"Re: [{record_id}] 设备故障")
    (result,) = driver.deliver(raw)
    assert result.action is Disposition.CREATED and result.record_id != record_id


def test_no_mail_from_a_person_is_only_archived(driver):
    """Every person's mail changes a record, reaches someone inside, or opens a record."""
    record_id, sent = _open_with_cc(driver)
    ack = sent[CUSTOMER]
    senders = [("王工", CUSTOMER), COLLEAGUE, NAMED, STRANGER, HEAD]
    for n, who in enumerate(senders):
        raw = client_reply(CLIENTS["foxmail"], f"第{n}封：请回复。", sender=who, n=n + 10,
                           subject=str(ack["Subject"]), parent_id=ack["Message-ID"])
        (result,) = driver.deliver(raw)
        reached = driver.new_mail()
        assert result.action is Disposition.CREATED or reached, who
    assert not any(k == "refused" for k, _ in driver.log(record_id))

"""Own mail is what only the gateway wrote: with `[gateway] domain` equal to the company's own
domain, staff replies from every common client still run their commands and reach people."""

from __future__ import annotations

import pytest
from loopdriver import CUSTOMER, Driver, text_of
from mailmaker import CLIENTS, GATEWAY, client_reply, gbk_mail

from gateway.runtime.assembly import Gateway
from gateway.usecases.services import Disposition

pytestmark = pytest.mark.integration

HEAD = ("李强", "li.qiang@corp.example")  # 生产部's head
OWNER = "wang.weixiu@corp.example"  # routing.toml gives equipment faults to him
NOTICE_TEXT = "收到一条新的来信，已登记为 NX-2026-001，请安排处理。"


@pytest.fixture
def gateway(settings, clock):
    """The natural configuration: the gateway's domain is the company's own."""
    ours = settings.gateway.model_copy(update={"domain": "corp.example"})
    gateway = Gateway(settings.model_copy(update={"gateway": ours}), clock=clock)
    yield gateway
    gateway.close()


@pytest.fixture
def driver(gateway, source, imap_append, smtp_capture, clock):
    return Driver(gateway, source, imap_append, smtp_capture, clock)


def _notice(sent: dict):
    return next(m for rcpt, m in sent.items() if rcpt != CUSTOMER)


@pytest.mark.parametrize("name", sorted(CLIENTS))
def test_a_staff_reply_from_each_client_runs_its_commands_and_is_relayed(driver, name):
    record_id, sent = driver.open()
    notice = _notice(sent)
    assert notice["Message-ID"].endswith("@corp.example>")  # ours, on the same domain as staff
    client = CLIENTS[name]
    raw = client_reply(client, "状态：处理中\n\n王工您好，维修人员已到现场。\n\n李强", sender=HEAD,
                       subject=str(notice["Subject"]), parent_id=notice["Message-ID"],
                       parent_text=NOTICE_TEXT)
    (result,) = driver.deliver(raw)
    assert (result.action, result.record_id) == (Disposition.APPENDED, record_id)
    assert driver.record(record_id).status == "in_progress"
    (relay,) = driver.new_mail()
    assert relay.rcpt_tos == (CUSTOMER,)
    relayed = text_of(relay.message)
    assert "维修人员已到现场" in relayed and "请安排处理" not in relayed
    assert not any(kind == "ignored" for kind, _ in driver.log(record_id))


@pytest.mark.parametrize("name", ["outlook-zh", "qq-mail", "foxmail", "thunderbird"])
def test_the_originators_follow_up_from_each_client_reaches_the_owner(driver, name):
    record_id, sent = driver.open()
    ack = sent[CUSTOMER]
    raw = client_reply(CLIENTS[name], "补充：备件库存为零，请尽快。", sender=("王工", CUSTOMER),
                       subject=str(ack["Subject"]), parent_id=ack["Message-ID"],
                       parent_text="您的来信已登记。")
    (result,) = driver.deliver(raw)
    assert result.action is Disposition.APPENDED
    (relay,) = driver.new_mail()
    assert relay.rcpt_tos == (OWNER,) and "备件库存为零" in text_of(relay.message)


@pytest.mark.parametrize("name", ["thunderbird", "apple-mail", "coremail", "foxmail"])
def test_a_new_mail_from_staff_on_the_gateways_domain_opens_a_record(driver, name):
    raw = client_reply(CLIENTS[name], "3号线需要更换液压泵。", sender=("王工", "wang.gong@corp.example"),
                       subject="【紧急】采购部-液压泵采购申请")
    (result,) = driver.deliver(raw)
    assert result.action is Disposition.CREATED
    record = driver.record(result.record_id)
    assert record.department == "采购部"
    assert {m.rcpt_tos[0] for m in driver.new_mail()} >= {"wang.gong@corp.example"}


def test_a_rating_from_foxmail_closes_the_record(driver):
    record_id, sent = driver.open()
    notice = _notice(sent)
    driver.deliver(client_reply(CLIENTS["coremail"], "已完成\n解决方案: 更换密封件。", sender=HEAD,
                                subject=str(notice["Subject"]), parent_id=notice["Message-ID"]))
    (receipt,) = driver.new_mail()
    driver.deliver(client_reply(CLIENTS["foxmail"], "5分，谢谢", sender=("王工", CUSTOMER),
                                subject=str(receipt.message["Subject"]),
                                parent_id=receipt.message["Message-ID"],
                                parent_text="请您为本次处理评分"))
    record = driver.record(record_id)
    assert (record.status, record.rating) == ("closed", 5)


def test_the_gateways_own_mail_come_back_is_ignored(driver, smtp_capture):
    record_id, sent = driver.open()
    # The acknowledgement, delivered back into the mailbox (an alias or a forward loop).
    (result,) = driver.deliver(sent[CUSTOMER].as_bytes())
    assert result.action is Disposition.APPENDED
    assert ("ignored" in [k for k, _ in driver.log(record_id)])
    # A mail carrying our X-Loop but no record id, from some list that kept the header.
    looped = gbk_mail("列表转发", sender=("list", "list@lists.example"), message_id="l@lists.example",
                      headers=(("X-Loop", GATEWAY),))
    (result,) = driver.deliver(looped)
    assert result.action is Disposition.IGNORED
    assert driver.new_mail() == []


def test_a_client_reusing_a_sent_message_id_is_not_taken_for_staff(driver):
    """A mail bearing one of our stored Message-IDs is ours, whoever it claims to be from."""
    record_id, sent = driver.open()
    notice = _notice(sent)
    forged = client_reply(CLIENTS["mutt"], "状态: 已关闭", sender=HEAD, subject="x",
                          message_id=notice["Message-ID"].strip("<>"))
    (result,) = driver.deliver(forged)
    assert driver.record(record_id).status == "open"
    assert driver.new_mail() == []
    assert result.action in (Disposition.APPENDED, Disposition.IGNORED)


def test_a_reply_to_the_note_address_from_outlook_is_logged_not_ignored(driver):
    record_id, sent = driver.open()
    notice = _notice(sent)
    driver.deliver(client_reply(CLIENTS["outlook-zh"], "供应商说备件要三天才到", sender=HEAD,
                                subject=str(notice["Subject"]), parent_id=notice["Message-ID"],
                                to=("gateway+note@corp.example",)))
    assert driver.new_mail() == []
    kinds = [k for k, _ in driver.log(record_id)]
    assert "note" in kinds and "ignored" not in kinds


def test_a_forward_from_foxmail_involves_the_department_and_stays_inside(driver):
    record_id, sent = driver.open()
    notice = _notice(sent)
    raw = client_reply(CLIENTS["foxmail"], "请质量部一起看看。", sender=HEAD,
                       subject=f"转发：{notice['Subject']}", to=(GATEWAY, "quality@corp.example"))
    driver.deliver(raw)  # threads by the record id the notice's subject carries
    assert "质量部" in driver.record(record_id).departments
    assert all(CUSTOMER not in m.rcpt_tos for m in driver.new_mail())

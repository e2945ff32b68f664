"""Deadline chasing against real servers: a frozen clock advanced step by step, mail counted."""

from __future__ import annotations

import threading
from datetime import timedelta
from email.header import decode_header, make_header

import pytest
from mailmaker import START, gbk_mail
from rulefiles import copy_rules, only_rule

from gateway.db.models import Record, SentNotice
from gateway.runtime.assembly import Gateway

pytestmark = pytest.mark.integration

HEAD = "li.qiang@corp.example"  # 生产部's head in rules/departments.toml
OWNER = "wang.weixiu@corp.example"  # the owner the routing rule names for equipment faults


KINDS = ("critical", "reminder", "escalation", "follow_up")


def notices(smtp_capture, clock_name: str | None = None) -> list[tuple[str, tuple[str, ...]]]:
    """(kind, recipients) of each captured notice mail, in arrival order.

    Notice Message-IDs read record.kind.clock.seq.deadline@domain.
    """
    out = []
    for m in smtp_capture.messages:
        parts = str(m.message.get("Message-ID", "")).strip("<>").split("@")[0].split(".")
        if len(parts) == 5 and parts[1] in KINDS and clock_name in (None, parts[2]):
            out.append((parts[1], tuple(sorted(m.rcpt_tos))))
    return out


def tick(gateways, clock, minutes: int) -> None:
    """Advance the clock, run every gateway's due check at the same moment, then send."""
    clock.advance(minutes=minutes)
    errors = []

    def run(g):
        try:
            g.chase()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(g,)) for g in gateways]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    gateways[0].flush()


def test_reminder_escalation_and_follow_ups_arrive_once_each_across_restart_and_overlap(
    settings, gateway, source, imap_append, smtp_capture, clock
):
    imap_append(gbk_mail("【特急】生产部-设备故障通知"))
    (created,) = gateway.process_batch(source)
    gateway.flush()
    smtp_capture.clear()  # the acknowledgement and notification are the mail loop's business
    with gateway.sessions() as session:
        record = session.get(Record, created.record_id)
        assert record.due_at == START + timedelta(hours=4)  # 特急: 4 clock hours, 14:00

    # Two daemons chase the same database at once, and one of them is restarted half-way.
    second = Gateway(settings, clock=clock)
    running = [gateway, second]
    tick(running, clock, 0)  # 10:00: the head hears of the 特急 record at once
    for step in range(1, 27):  # every 15 minutes until 16:30
        if step == 10:
            second.close()
            running[1] = second = Gateway(settings, clock=clock)
        tick(running, clock, 15)
    second.close()

    got = notices(smtp_capture)
    assert [kind for kind, _ in got] == [
        "critical",  # 10:00
        "reminder",  # 13:00: 75% of the 4 hours
        "escalation",  # 14:00: breach
        "follow_up", "follow_up",  # 15:00 and 16:00: every clock hour for 特急
    ]
    assert HEAD in got[0][1]
    assert got[1][1] == (OWNER,)  # a reminder goes to the owner only
    assert set(got[2][1]) == {OWNER, HEAD}  # an escalation copies the head
    ids = [m.message["Message-ID"] for m in smtp_capture.messages]
    assert len(ids) == len(set(ids))
    for m in smtp_capture.messages:  # each notice threads to the original mail
        assert "fault-1@customer.example" in m.message["In-Reply-To"]
        subject = str(make_header(decode_header(m.message["Subject"])))
        assert subject.startswith(f"[{created.record_id}]")


def test_a_changed_chase_policy_remakes_the_stored_check_times(
    settings, gateway, source, imap_append, smtp_capture, clock
):
    from gateway.usecases import chasing

    imap_append(gbk_mail("【特急】生产部-设备故障通知"))
    (created,) = gateway.process_batch(source)
    gateway.flush()
    smtp_capture.clear()
    tick([gateway], clock, 0)  # 10:00: the 特急 alert; the reminder is stored for 13:00 (75%)
    with gateway.sessions() as session:
        assert session.get(Record, created.record_id).next_check_at == START + timedelta(hours=3)
    gateway.close()

    # The admin has the owner reminded at a quarter of the time instead, and restarts.
    chase = settings.chase.model_copy(update={"remind_at": 0.25})
    changed = settings.model_copy(update={"chase": chase})
    restarted = Gateway(changed, clock=clock)
    tick([restarted], clock, 65)  # 11:05: past the new reminder time (11:00)
    assert [kind for kind, _ in notices(smtp_capture)] == ["critical", "reminder"]
    restarted.close()

    # Started again under the same policy, nothing is made again.
    again = Gateway(changed, clock=clock)
    assert chasing.recheck_if_policy_changed(again.services, again.chase_policy, clock()) == 0
    again.close()


def test_a_first_response_stops_the_chase_and_a_clock_jump_sends_no_flood(
    gateway, source, imap_append, smtp_capture, clock
):
    imap_append(gbk_mail("【紧急】生产部-设备故障通知"))
    (created,) = gateway.process_batch(source)
    gateway.flush()
    smtp_capture.clear()
    clock.advance(days=9)  # the daemon was down for a week: 24 hours came and went long ago
    gateway.chase()
    gateway.flush()
    for deadline in ("response", "resolution"):  # 24 hours and 3 working days: both passed
        # The breach, and the latest follow-up only.
        # (In either order: the outbox sends over several connections at once.)
        assert sorted(k for k, _ in notices(smtp_capture, deadline)) == ["escalation", "follow_up"]
    with gateway.sessions() as session:
        statuses = {n.kind: n.status for n in session.query(SentNotice)
                    if n.status == "superseded"}
        assert "reminder" in statuses  # overtaken, recorded, never sent
        record = session.get(Record, created.record_id)
        record.first_response_at = clock()
        session.commit()
    smtp_capture.clear()
    clock.advance(days=2)
    gateway.chase()
    gateway.flush()
    assert notices(smtp_capture, "response") == []  # answered: no more response chasing
    assert [k for k, _ in notices(smtp_capture, "resolution")] == ["follow_up"]


def test_a_rules_deadline_applies_and_a_regrade_by_reply_moves_the_deadline(
    gateway, source, imap_append, tmp_path
):
    from gateway.routing.load import load_rules

    folder = copy_rules(tmp_path, routing=only_rule(
        "name = 'fast'\nurgency = ['urgent']\ndepartment = '生产部'\n"
        "deadlines = { urgent = { response = '8 working hours' } }\n"))
    gateway._rules = load_rules(folder)  # as a reload would
    imap_append(gbk_mail("【紧急】生产部-设备故障通知"))
    (created,) = gateway.process_batch(source)

    def due_at():
        with gateway.sessions() as session:
            return session.get(Record, created.record_id).due_at

    # Monday 10:00 + 8 working hours: the rest of Monday, ending at 18:00.
    assert due_at() == START + timedelta(hours=8)
    for n, (word, expected) in enumerate([("特急", timedelta(hours=4)),  # the default: 4 hours
                                          ("紧急", timedelta(hours=8))]):  # the rule's again
        imap_append(gbk_mail(f"回复: [{created.record_id}] 设备故障通知",
                             sender=("李强", HEAD), body=f"紧急程度: {word}\n",
                             message_id=f"regrade-{n}@corp.example"))
        gateway.process_batch(source)
        assert due_at() == START + expected

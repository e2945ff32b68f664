"""Which channel hears of which event, for which department."""

from __future__ import annotations

import pytest

from gateway.alerts.channels import AlertEvent, Channel, RobotKind, choose, notice_events
from gateway.deadlines.chase import NoticeKind

E = AlertEvent
DUTY = Channel("生产值班群", RobotKind.WECOM, frozenset({E.CRITICAL_OPENED, E.ESCALATION}),
               frozenset({"生产部"}))
ALL = Channel("总值班", RobotKind.DINGTALK, frozenset({E.BREACH, E.ESCALATION}))
APPROVE = Channel("审批群", RobotKind.FEISHU, frozenset({E.APPROVAL_WAITING}))
CHANNELS = (DUTY, ALL, APPROVE)


@pytest.mark.parametrize(("events", "department", "expected"), [
    ((E.CRITICAL_OPENED,), "生产部", [("生产值班群", E.CRITICAL_OPENED)]),
    ((E.CRITICAL_OPENED,), "质量部", []),  # the duty group hears of 生产部 only
    ((E.ESCALATION, E.BREACH), "生产部", [("生产值班群", E.ESCALATION), ("总值班", E.ESCALATION)]),
    ((E.ESCALATION, E.BREACH), "质量部", [("总值班", E.ESCALATION)]),
    ((E.BREACH,), "生产部", [("总值班", E.BREACH)]),
    ((E.BREACH,), None, [("总值班", E.BREACH)]),
    ((E.APPROVAL_WAITING,), "财务部", [("审批群", E.APPROVAL_WAITING)]),
    ((), "生产部", []),
])
def test_each_channel_hears_once_of_the_first_event_it_wants(events, department, expected):
    assert [(c.name, e) for c, e in choose(CHANNELS, events, department)] == expected


@pytest.mark.parametrize(("kind", "events"), [
    (NoticeKind.ESCALATION, (E.ESCALATION, E.BREACH)),
    (NoticeKind.FOLLOW_UP, (E.BREACH,)),
    (NoticeKind.REMINDER, ()),
    (NoticeKind.CRITICAL, ()),  # the opening of a 特急 record alerts from open_record
])
def test_chase_notices_raise_escalation_and_breach_only(kind, events):
    assert notice_events(kind) == events


def test_event_words_are_the_config_words():
    assert [e.value for e in AlertEvent] == ["critical_opened", "escalation", "breach",
                                             "approval_waiting"]

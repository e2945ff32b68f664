"""The deadline policy: the seeds' defaults, overrides by config and rules, errors naming the key."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from gateway.deadlines.duration import Duration, Unit
from gateway.deadlines.policy import DeadlinePolicy
from gateway.deadlines.worktime import WorkCalendar
from gateway.model import Urgency

TZ = ZoneInfo("Asia/Shanghai")
PLAIN = WorkCalendar(TZ)
D, WH, CH = Unit.WORKING_DAYS, Unit.WORKING_HOURS, Unit.CLOCK_HOURS


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


DEFAULTS = {
    (Urgency.NORMAL, "response"): Duration(3, D),
    (Urgency.URGENT, "response"): Duration(24, CH),
    (Urgency.CRITICAL, "response"): Duration(4, CH),
    (Urgency.NORMAL, "resolution"): Duration(10, D),
    (Urgency.URGENT, "resolution"): Duration(3, D),
    (Urgency.CRITICAL, "resolution"): Duration(1, D),
}


def test_default_policy_follows_the_seeds():
    assert dict(DeadlinePolicy.default()) == DEFAULTS
    assert dict(DeadlinePolicy.from_mapping({})) == DEFAULTS


def test_from_mapping_merges_over_the_defaults():
    policy = DeadlinePolicy.from_mapping(
        {"urgent": {"response": "8 working hours"}, "Normal": {"resolution": "5个工作日"}}
    )
    assert policy[(Urgency.URGENT, "response")] == Duration(8, WH)
    assert policy[(Urgency.NORMAL, "resolution")] == Duration(5, D)
    assert policy[(Urgency.CRITICAL, "response")] == Duration(4, CH)


def test_with_overrides_returns_a_new_policy_and_leaves_the_old_alone():
    base = DeadlinePolicy.default()
    changed = base.with_overrides({"critical": {"resolution": "2 working days"}})
    assert changed[(Urgency.CRITICAL, "resolution")] == Duration(2, D)
    assert base == DeadlinePolicy.default()


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"urgent": {"response": "2 fortnights"}},
         "deadlines.urgent.response: cannot read '2 fortnights'"),
        ({"urgent": {"response": "1.5 working days"}}, "deadlines.urgent.response: .*whole"),
        ({"asap": {"response": "1 hour"}}, "deadlines.asap: unknown urgency"),
        ({"urgent": {"reply": "1 hour"}}, "deadlines.urgent.reply: unknown kind"),
        ({"urgent": "1 hour"}, "deadlines.urgent: expected a table"),
    ],
)
def test_from_mapping_errors_name_the_key(mapping, message):
    with pytest.raises(ValueError, match=message):
        DeadlinePolicy.from_mapping(mapping)


def test_policy_deadline_applies_the_duration_on_the_calendar():
    policy = DeadlinePolicy.default()
    start = at("2025-01-27T10:00")
    assert policy.deadline(start, Urgency.NORMAL, "response", PLAIN).at == at("2025-02-07T10:00")
    assert policy.deadline(start, Urgency.URGENT, "response", PLAIN).at == at("2025-01-28T10:00")
    assert policy.deadline(start, Urgency.CRITICAL, "resolution", PLAIN).at == at(
        "2025-02-05T10:00"
    )
    with pytest.raises(ValueError, match="unknown deadline kind"):
        policy.deadline(start, Urgency.NORMAL, "approval", PLAIN)

"""A record's deadlines and first check time as it opens, worked out once per instant."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from gateway.deadlines.chase import ChasePolicy, RecordClock, next_check
from gateway.deadlines.policy import DeadlinePolicy, record_deadlines
from gateway.deadlines.worktime import WorkCalendar
from gateway.model import Urgency
from gateway.usecases.open_record import _times

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 30, 16, 45, tzinfo=TZ)  # a Monday afternoon


def _services(policy: DeadlinePolicy) -> SimpleNamespace:
    return SimpleNamespace(policy=policy, calendar=WorkCalendar(TZ), chase=ChasePolicy())


def _expected(services, urgency: Urgency, overrides=None) -> dict:
    response, resolution = record_deadlines(NOW, urgency, services.policy, services.calendar,
                                            overrides)
    clock = RecordClock("X", urgency, NOW, response.at, resolution.at)
    return {"created_at": NOW, "due_at": response.at, "resolve_due_at": resolution.at,
            "next_check_at": next_check(clock, set(), services.chase, services.calendar)}


def test_each_urgency_policy_and_rule_gets_its_own_times_at_one_instant() -> None:
    usual = _services(DeadlinePolicy.default())
    stricter = _services(DeadlinePolicy.from_mapping({"normal": {"response": "2 hours"}}))
    plain = SimpleNamespace(deadlines=None)
    ruled = SimpleNamespace(deadlines={"normal": {"response": "1 working day"}})
    seen = set()
    for services in (usual, stricter, usual):
        for urgency in Urgency:
            times = _times(services, "NX-2026-001", urgency, plain, NOW)
            assert times == _expected(services, urgency)
            seen.add(times["due_at"])
        assert (_times(services, "NX-2026-002", Urgency.NORMAL, ruled, NOW)
                == _expected(services, Urgency.NORMAL, ruled.deadlines))
    assert len(seen) == 4  # three urgencies, and the stricter policy's normal response

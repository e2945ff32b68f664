"""A record's next check time: `due` finds work exactly once it has come, whatever was sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.deadlines.chase import ChasePolicy, RecordClock, due, next_check, plan
from gateway.deadlines.policy import DeadlinePolicy
from gateway.deadlines.worktime import WorkCalendar
from gateway.model import Urgency

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(TZ)
POLICY = ChasePolicy(max_follow_ups=4)
DEADLINES = DeadlinePolicy.default()

opened_times = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 20)
                            ).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=TZ))


def clock_of(opened: datetime, urgency: Urgency, answered: bool, done: bool) -> RecordClock:
    response = DEADLINES.deadline(opened, urgency, "response", CAL).at
    resolution = DEADLINES.deadline(opened, urgency, "resolution", CAL).at
    return RecordClock("NX-2026-001", urgency, opened, response, resolution,
                       responded_at=opened + timedelta(hours=1) if answered else None,
                       resolved_at=opened + timedelta(hours=2) if done else None)


@settings(max_examples=80, deadline=None)
@given(opened_times, st.sampled_from(list(Urgency)), st.booleans(), st.booleans(),
       st.data(), st.integers(min_value=0, max_value=60 * 24 * 40))
def test_due_finds_work_exactly_when_the_next_check_time_has_come(
    opened, urgency, answered, done, data, minutes
):
    state = clock_of(opened, urgency, answered, done)
    keys = [n.key for n in plan(state, POLICY, CAL)]
    sent = set(data.draw(st.lists(st.sampled_from(keys), unique=True)) if keys else [])
    now = opened + timedelta(minutes=minutes)
    found = due(state, sent, now, POLICY, CAL)
    when = next_check(state, sent, POLICY, CAL)
    assert bool(found.send or found.superseded) == (when is not None and when <= now)


@settings(max_examples=40, deadline=None)
@given(opened_times, st.sampled_from(list(Urgency)))
def test_once_every_notice_is_stored_nothing_is_left_to_check(opened, urgency):
    state = clock_of(opened, urgency, False, False)
    sent = {n.key for n in plan(state, POLICY, CAL)}
    assert next_check(state, sent, POLICY, CAL) is None


def test_a_new_record_is_next_checked_at_its_first_notice():
    opened = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
    state = clock_of(opened, Urgency.NORMAL, False, False)
    first = min(n.due_at for n in plan(state, POLICY, CAL))
    assert next_check(state, set(), POLICY, CAL) == first

"""Which reminders, escalations and follow-ups a record gets, and when: pure, real dates."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.deadlines.chase import (
    ChasePolicy,
    DeadlineClock,
    NoticeKind,
    RecordClock,
    due,
    made_under,
    plan,
    reminder_time,
)
from gateway.deadlines.duration import parse_duration
from gateway.deadlines.policy import DeadlinePolicy
from gateway.deadlines.worktime import BusinessHours, WorkCalendar
from gateway.model import Urgency

TZ = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(TZ)
POLICY = ChasePolicy()
DEADLINES = DeadlinePolicy.default()
R, E, F, C = NoticeKind.REMINDER, NoticeKind.ESCALATION, NoticeKind.FOLLOW_UP, NoticeKind.CRITICAL


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def record(opened: str, urgency: Urgency, **kw) -> RecordClock:
    start = at(opened)
    return RecordClock(
        record_id="NX-2026-001", urgency=urgency, opened_at=start,
        response_due=DEADLINES.deadline(start, urgency, "response", CAL).at,
        resolution_due=kw.pop("resolution_due", None), **kw,
    )


def response_plan(state: RecordClock, n: int = 5) -> list[tuple[NoticeKind, int, str]]:
    chased = (DeadlineClock.RESPONSE, DeadlineClock.OPENED)
    notices = [x for x in plan(state, POLICY, CAL) if x.clock in chased]
    return [(x.kind, x.seq, f"{x.due_at.astimezone(TZ):%Y-%m-%d %H:%M}") for x in notices[:n]]


# -- the plan, with real dates -----------------------------------------------------------------

@pytest.mark.parametrize(
    ("opened", "urgency", "expected"),
    [
        # 普通, Monday 10:00: due Thursday 10:00 (3 working days); 75% of 27 working hours is
        # 20h15m of working time → Wednesday 12:15; follow-ups daily, over the weekend.
        ("2026-11-23T10:00", Urgency.NORMAL, [
            (R, 0, "2026-11-25 12:15"), (E, 0, "2026-11-26 10:00"), (F, 1, "2026-11-27 10:00"),
            (F, 2, "2026-11-30 10:00"), (F, 3, "2026-12-01 10:00")]),
        # 紧急, Friday 17:00: 24 clock hours → Saturday 17:00. The reminder comes in the one
        # working hour left on Friday; the breach on Saturday waits for Monday 09:00; follow-ups
        # every 4 working hours from there.
        ("2026-11-27T17:00", Urgency.URGENT, [
            (R, 0, "2026-11-27 17:45"), (E, 0, "2026-11-30 09:00"), (F, 1, "2026-11-30 13:00"),
            (F, 2, "2026-11-30 17:00"), (F, 3, "2026-12-01 12:00")]),
        # 特急, Friday 17:00: the head hears at once; 4 clock hours → 21:00; no quiet hours;
        # follow-ups every clock hour.
        ("2026-11-27T17:00", Urgency.CRITICAL, [
            (C, 0, "2026-11-27 17:00"), (R, 0, "2026-11-27 17:45"), (E, 0, "2026-11-27 21:00"),
            (F, 1, "2026-11-27 22:00"), (F, 2, "2026-11-27 23:00")]),
        # 普通 opened on the eve of National Day 2025: the week off; the deadline and the reminder
        # fall on the make-up Saturday (调休) 10-11; the follow-ups skip the Sunday.
        ("2025-09-30T17:00", Urgency.NORMAL, [
            (R, 0, "2025-10-11 10:15"), (E, 0, "2025-10-11 17:00"), (F, 1, "2025-10-13 17:00"),
            (F, 2, "2025-10-14 17:00"), (F, 3, "2025-10-15 17:00")]),
        # 紧急 in the 2025 Spring Festival: the breach on a holiday waits for the first working
        # day after it; the reminder, with no working time in the span, falls in clock time but
        # outside business hours, so it waits too.
        ("2025-01-30T10:00", Urgency.URGENT, [
            (R, 0, "2025-02-05 09:00"), (E, 0, "2025-02-05 09:00"), (F, 1, "2025-02-05 13:00"),
            (F, 2, "2025-02-05 17:00"), (F, 3, "2025-02-06 12:00")]),
    ],
    ids=["normal-week", "urgent-friday", "critical-friday", "national-day-2025", "spring-2025"],
)
def test_plan_with_real_dates(opened, urgency, expected):
    assert response_plan(record(opened, urgency)) == expected


def test_without_quiet_hours_notices_keep_clock_time():
    loud = ChasePolicy(quiet_hours=False)
    state = record("2026-11-27T17:00", Urgency.URGENT)
    escalation = next(x for x in plan(state, loud, CAL) if x.kind is E)
    assert escalation.due_at == at("2026-11-28T17:00")


def test_an_immediate_deadline_has_no_reminder_only_an_escalation():
    start = at("2026-11-23T10:00")
    state = RecordClock("NX-2026-002", Urgency.CRITICAL, start, start, None)
    kinds = [x.kind for x in plan(state, POLICY, CAL)][:3]
    assert kinds == [C, E, F]
    assert reminder_time(start, start, 0.75, CAL) is None


def test_resolution_is_chased_alongside_the_response():
    state = record("2026-11-23T10:00", Urgency.NORMAL,
                   resolution_due=at("2026-12-07T10:00"))
    clocks = {x.clock for x in plan(state, POLICY, CAL)}
    assert clocks == {DeadlineClock.RESPONSE, DeadlineClock.RESOLUTION}


@pytest.mark.parametrize(
    ("kw", "clocks"),
    [
        ({}, {DeadlineClock.RESPONSE, DeadlineClock.RESOLUTION}),
        ({"responded_at": at("2026-11-24T10:00")}, {DeadlineClock.RESOLUTION}),
        ({"resolved_at": at("2026-11-24T10:00")}, set()),
        ({"responded_at": at("2026-11-24T10:00"), "resolved_at": at("2026-11-25T10:00")}, set()),
    ],
    ids=["nothing-yet", "answered", "resolved-without-answer", "answered-and-resolved"],
)
def test_a_first_response_stops_the_response_chase_and_resolution_stops_both(kw, clocks):
    state = record("2026-11-23T10:00", Urgency.NORMAL, resolution_due=at("2026-12-07T10:00"), **kw)
    assert {x.clock for x in plan(state, POLICY, CAL)} == clocks


# -- due: what to send now ---------------------------------------------------------------------

def keys_of(notices) -> set[str]:
    return {n.key for n in notices}


def test_stepping_through_time_sends_each_notice_once_in_order():
    state = record("2026-11-23T10:00", Urgency.NORMAL)
    sent: set[str] = set()
    log = []
    now = at("2026-11-23T10:00")
    while now < at("2026-12-01T11:00"):
        found = due(state, sent, now, POLICY, CAL)
        assert not found.superseded
        for n in found.send:
            log.append((n.kind, n.seq, f"{now:%m-%d %H:%M}"))
        sent |= keys_of(found.send)
        now += timedelta(minutes=15)
    assert log == [(R, 0, "11-25 12:15"), (E, 0, "11-26 10:00"), (F, 1, "11-27 10:00"),
                   (F, 2, "11-30 10:00"), (F, 3, "12-01 10:00")]


def test_after_a_long_pause_the_newest_notice_stands_for_the_ones_it_overtook():
    state = record("2026-11-23T10:00", Urgency.NORMAL)
    found = due(state, set(), at("2026-11-30T11:00"), POLICY, CAL)
    # The breach was never announced: escalate, and send the latest follow-up; the reminder
    # and the first follow-up are recorded as overtaken, not sent.
    assert [(n.kind, n.seq) for n in found.send] == [(E, 0), (F, 2)]
    assert [(n.kind, n.seq) for n in found.superseded] == [(R, 0), (F, 1)]
    again = due(state, keys_of(found.send) | keys_of(found.superseded), at("2026-11-30T11:00"),
                POLICY, CAL)
    assert again.send == () and again.superseded == ()


def test_a_reminder_overtaken_by_the_breach_is_not_sent_after_it():
    state = record("2026-11-23T10:00", Urgency.NORMAL)
    found = due(state, set(), at("2026-11-26T10:30"), POLICY, CAL)
    assert [n.kind for n in found.send] == [E]
    assert [n.kind for n in found.superseded] == [R]


def test_a_regraded_deadline_gets_fresh_keys():
    state = record("2026-11-23T10:00", Urgency.NORMAL)
    moved = RecordClock(state.record_id, Urgency.URGENT, state.opened_at,
                        at("2026-11-24T10:00"), None)
    old = keys_of(plan(state, POLICY, CAL))
    assert not old & keys_of(plan(moved, POLICY, CAL))


# -- properties --------------------------------------------------------------------------------

opened_times = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 20)
                            ).map(lambda d: d.replace(second=0, microsecond=0, tzinfo=TZ))


@settings(max_examples=60, deadline=None)
@given(opened_times, st.sampled_from(list(Urgency)))
def test_each_deadlines_notices_come_in_time_order(opened, urgency):
    state = RecordClock("NX-2026-009", urgency, opened,
                        DEADLINES.deadline(opened, urgency, "response", CAL).at,
                        DEADLINES.deadline(opened, urgency, "resolution", CAL).at)
    for clock in DeadlineClock:
        times = [n.due_at for n in plan(state, POLICY, CAL) if n.clock is clock][:8]
        assert times == sorted(times)


@settings(max_examples=60, deadline=None)
@given(opened_times, st.sampled_from([Urgency.NORMAL, Urgency.URGENT]))
def test_with_quiet_hours_no_notice_of_an_ordinary_record_falls_outside_working_time(
    opened, urgency
):
    state = RecordClock("NX-2026-009", urgency, opened,
                        DEADLINES.deadline(opened, urgency, "response", CAL).at, None)
    for notice in list(plan(state, POLICY, CAL))[:6]:
        assert CAL.is_working_instant(notice.due_at)


@settings(max_examples=40, deadline=None)
@given(opened_times, st.sampled_from(list(Urgency)),
       st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=40))
def test_however_time_advances_no_notice_is_sent_twice_and_the_breach_is_announced(
    opened, urgency, steps
):
    state = RecordClock("NX-2026-009", urgency, opened,
                        DEADLINES.deadline(opened, urgency, "response", CAL).at, None)
    done: set[str] = set()
    sent: list[str] = []
    now = opened
    for minutes in steps:
        now += timedelta(minutes=minutes)
        found = due(state, done, now, POLICY, CAL)
        assert not keys_of(found.send) & done
        sent.extend(n.key for n in found.send)
        done |= keys_of(found.send) | keys_of(found.superseded)
    assert len(sent) == len(set(sent))
    escalation = next(n for n in plan(state, POLICY, CAL) if n.kind is E)
    if escalation.due_at <= now:
        assert escalation.key in sent



def _words(**changes) -> str:
    policy = {"remind_at": 0.75, "quiet_hours": True, "max_follow_ups": 30}
    calendar = {"hours": BusinessHours(), "days_off": (), "workdays": ()}
    tz = changes.pop("tz", TZ)
    if "cadence" in changes:
        policy["cadence"] = {**ChasePolicy().cadence, **changes.pop("cadence")}
    for key, value in changes.items():
        (policy if key in policy else calendar)[key] = value
    return made_under(ChasePolicy(**policy), WorkCalendar(tz, **calendar))


@pytest.mark.parametrize("change", [
    {"remind_at": 0.5},
    {"quiet_hours": False},
    {"max_follow_ups": 40},
    {"cadence": {Urgency.NORMAL: parse_duration("2 working days")}},
    {"hours": BusinessHours(lunch=(time(12), time(13)))},
    {"days_off": (date(2026, 12, 31),)},
    {"workdays": (date(2026, 12, 27),)},
    {"tz": ZoneInfo("Asia/Hong_Kong")},
])
def test_the_words_check_times_are_made_under_change_with_every_input_of_chasing(change):
    assert _words(**dict(change)) != _words()
    assert _words(**dict(change)) == _words(**dict(change))  # and nothing else moves them

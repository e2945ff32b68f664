"""Working-time calendar and deadlines, on real 2025 and 2027 Chinese calendar dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.deadlines.duration import Duration, Unit
from gateway.deadlines.worktime import BusinessHours, Deadline, WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
LUNCH = BusinessHours(time(9), time(18), (time(12), time(13)))
PLAIN = WorkCalendar(TZ)
WITH_LUNCH = WorkCalendar(TZ, LUNCH)

D, WH, CH = Unit.WORKING_DAYS, Unit.WORKING_HOURS, Unit.CLOCK_HOURS


def at(text: str, tz: ZoneInfo = TZ) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=tz)


def day(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> list[date]:
    a, b = day(first), day(last)
    return [a + timedelta(n) for n in range((b - a).days + 1)]


# -- the facts the tables below rely on, checked against chinese_calendar itself ------------

SPRING_FESTIVAL_2025 = days("2025-01-28", "2025-02-04")
NATIONAL_DAY_2025 = days("2025-10-01", "2025-10-08")
MAKE_UP_2025 = [day("2025-01-26"), day("2025-02-08"), day("2025-09-28"), day("2025-10-11")]


def test_chinese_calendar_has_the_2025_holidays_and_make_up_days_these_tests_assume():
    for d in SPRING_FESTIVAL_2025:
        assert chinese_calendar.get_holiday_detail(d) == (True, "Spring Festival")
    for d in NATIONAL_DAY_2025:  # Mid-Autumn (10-06) falls inside National Day in 2025
        assert chinese_calendar.get_holiday_detail(d)[0] is True
    assert chinese_calendar.get_holiday_detail(day("2025-10-06")) == (True, "Mid-autumn Festival")
    for d in MAKE_UP_2025:
        assert d.weekday() >= 5 and chinese_calendar.is_workday(d)
    assert chinese_calendar.is_workday(day("2025-01-27"))
    assert chinese_calendar.is_workday(day("2025-09-30"))
    assert chinese_calendar.is_workday(day("2025-10-09"))


# -- days -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("d", "why"),
    [
        ("2025-01-27", None),  # Monday before the holiday
        ("2025-01-28", "春节"),
        ("2025-02-01", "春节"),  # a Saturday inside the holiday is named for the holiday
        ("2025-02-04", "春节"),
        ("2025-01-26", None),  # Sunday, 调休 make-up working day
        ("2025-02-08", None),  # Saturday, 调休
        ("2025-09-28", None),  # Sunday, 调休
        ("2025-10-01", "国庆节"),
        ("2025-10-06", "中秋"),
        ("2025-10-08", "国庆节"),
        ("2025-10-11", None),  # Saturday, 调休
        ("2025-10-12", "周末"),
        ("2025-03-08", "周末"),
        ("2025-03-10", None),
    ],
)
def test_why_names_the_reason_a_day_is_off_and_none_for_working_days(d, why):
    assert PLAIN.why(day(d)) == why
    assert PLAIN.is_workday(day(d)) is (why is None)


def test_company_days_off_and_workdays_override_the_public_calendar():
    cal = WorkCalendar(
        TZ,
        days_off=[day("2025-03-11")],
        workdays=[day("2025-03-08"), day("2025-10-02")],
    )
    assert cal.why(day("2025-03-11")) == "公司休息日"
    assert cal.is_workday(day("2025-03-08"))  # a Saturday
    assert cal.is_workday(day("2025-10-02"))  # a National Day holiday
    deadline = cal.add(at("2025-03-10T10:00"), Duration(1, D))
    assert deadline.at == at("2025-03-12T10:00")
    assert deadline.skipped == ((day("2025-03-11"), "公司休息日"),)
    assert cal.add(at("2025-03-07T10:00"), Duration(1, D)).at == at("2025-03-08T10:00")


def test_a_day_both_off_and_worked_by_company_is_a_configuration_error():
    with pytest.raises(ValueError, match="2025-03-11"):
        WorkCalendar(TZ, days_off=[day("2025-03-11")], workdays=[day("2025-03-11")])


# -- a year chinese_calendar does not know yet ---------------------------------------------

def _known(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


needs_2027_unknown = pytest.mark.skipif(
    _known(2027), reason="the installed chinese_calendar knows 2027; no fallback to test"
)


@needs_2027_unknown
def test_unknown_year_falls_back_to_statutory_holidays_and_reports_the_year():
    seen: list[int] = []
    cal = WorkCalendar(TZ, on_unknown_year=seen.append)
    statutory = holidays.China(years=2027)
    assert day("2027-02-06") in statutory  # Spring Festival per the holidays package
    for d in statutory:
        assert not cal.is_workday(d), d
    assert cal.why(day("2027-02-06")) == "春节"
    assert cal.why(day("2027-10-01")) == "国庆节"
    assert cal.why(day("2027-02-13")) == "周末"  # no 调休 known: weekends stay off
    assert cal.is_workday(day("2027-02-11"))
    assert seen and set(seen) == {2027}


def test_known_years_do_not_report_an_unknown_year():
    seen: list[int] = []
    cal = WorkCalendar(TZ, on_unknown_year=seen.append)
    cal.add(at("2025-01-27T10:00"), Duration(10, D))
    assert seen == []


@needs_2027_unknown
def test_deadline_across_an_unknown_years_spring_festival_skips_it():
    cal = WorkCalendar(TZ, on_unknown_year=lambda year: None)
    deadline = cal.add(at("2027-02-04T10:00"), Duration(1, D))
    assert deadline.at == at("2027-02-11T10:00")
    assert [d for d, _ in deadline.skipped] == days("2027-02-05", "2027-02-10")


# -- instants ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cal", "moment", "working", "next_start"),
    [
        (PLAIN, "2025-03-10T09:00", True, "2025-03-10T09:00"),
        (PLAIN, "2025-03-10T17:59", True, "2025-03-10T17:59"),
        (PLAIN, "2025-03-10T18:00", False, "2025-03-11T09:00"),  # the end is not working time
        (PLAIN, "2025-03-10T08:30", False, "2025-03-10T09:00"),
        (PLAIN, "2025-03-08T11:00", False, "2025-03-10T09:00"),  # Saturday
        (PLAIN, "2025-03-07T20:00", False, "2025-03-10T09:00"),  # Friday evening
        (PLAIN, "2025-01-27T19:00", False, "2025-02-05T09:00"),  # eve of Spring Festival
        (PLAIN, "2025-01-25T12:00", False, "2025-01-26T09:00"),  # Saturday before 调休 Sunday
        (WITH_LUNCH, "2025-03-10T12:00", False, "2025-03-10T13:00"),
        (WITH_LUNCH, "2025-03-10T12:59", False, "2025-03-10T13:00"),
        (WITH_LUNCH, "2025-03-10T11:59", True, "2025-03-10T11:59"),
    ],
)
def test_working_instants_and_the_next_working_start(cal, moment, working, next_start):
    assert cal.is_working_instant(at(moment)) is working
    assert cal.next_working_start(at(moment)) == at(next_start)


def test_instants_in_other_zones_are_judged_in_the_calendars_zone():
    # 01:30 UTC is 09:30 in Shanghai, a Monday morning.
    moment = datetime(2025, 3, 10, 1, 30, tzinfo=UTC)
    assert PLAIN.is_working_instant(moment)
    deadline = PLAIN.add(moment, Duration(1, D))
    assert deadline.at == at("2025-03-11T09:30")
    assert deadline.at.tzinfo == TZ


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="time-zone-aware"):
        PLAIN.add(datetime(2025, 3, 10, 10), Duration(1, D))


# -- adding time -------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("cal", "start", "amount", "unit", "expected"),
    [
        # N working days: the same time of day on the Nth following working day.
        (PLAIN, "2025-01-27T10:00", 3, D, "2025-02-07T10:00"),  # across Spring Festival
        (PLAIN, "2025-01-24T15:00", 1, D, "2025-01-26T15:00"),  # onto the 调休 Sunday
        (PLAIN, "2025-02-07T11:00", 1, D, "2025-02-08T11:00"),  # onto the 调休 Saturday
        (PLAIN, "2025-09-30T14:00", 1, D, "2025-10-09T14:00"),  # across National Day
        (PLAIN, "2025-09-26T10:00", 1, D, "2025-09-28T10:00"),  # onto the 调休 Sunday
        (PLAIN, "2025-03-10T10:00", 10, D, "2025-03-24T10:00"),
        # A start outside working time first moves to the next working start.
        (PLAIN, "2025-03-08T11:00", 1, D, "2025-03-11T09:00"),  # Saturday
        (PLAIN, "2025-03-10T19:30", 1, D, "2025-03-12T09:00"),  # evening
        (PLAIN, "2025-03-10T07:00", 2, D, "2025-03-12T09:00"),  # early morning
        (PLAIN, "2025-03-08T11:00", 0, D, "2025-03-10T09:00"),
        (WITH_LUNCH, "2025-03-10T12:30", 1, D, "2025-03-11T13:00"),  # lunch: counts from 13:00
        # Working hours consume business time across lunch and days.
        (PLAIN, "2025-03-10T09:00", 9, WH, "2025-03-10T18:00"),  # ends at the period's end
        (PLAIN, "2025-03-10T17:00", 2, WH, "2025-03-11T10:00"),
        (PLAIN, "2025-03-07T17:00", 2, WH, "2025-03-10T10:00"),  # over the weekend
        (PLAIN, "2025-01-27T17:00", 2, WH, "2025-02-05T10:00"),  # over Spring Festival
        (PLAIN, "2025-03-10T10:00", 0.5, WH, "2025-03-10T10:30"),
        (WITH_LUNCH, "2025-03-10T11:00", 1, WH, "2025-03-10T12:00"),  # up to lunch, not after
        (WITH_LUNCH, "2025-03-10T11:00", 2, WH, "2025-03-10T14:00"),  # across lunch
        (WITH_LUNCH, "2025-03-10T12:30", 1, WH, "2025-03-10T14:00"),  # starts after lunch
        (WITH_LUNCH, "2025-03-10T17:00", 3, WH, "2025-03-11T11:00"),
        (WITH_LUNCH, "2025-03-10T09:00", 16, WH, "2025-03-11T18:00"),  # two 8-hour days
        # Clock hours ignore the calendar.
        (PLAIN, "2025-01-28T22:00", 4, CH, "2025-01-29T02:00"),
        (PLAIN, "2025-03-08T11:00", 24, CH, "2025-03-09T11:00"),
        (PLAIN, "2025-03-10T10:00", 0.5, CH, "2025-03-10T10:30"),
    ],
)
def test_add(cal, start, amount, unit, expected):
    assert cal.add(at(start), Duration(amount, unit)).at == at(expected)


def test_a_deadline_across_a_holiday_lists_the_skipped_days_with_reasons():
    deadline = PLAIN.add(at("2025-01-25T20:00"), Duration(3, D))  # Saturday evening
    assert deadline.moved_from == at("2025-01-25T20:00")
    assert deadline.start == at("2025-01-26T09:00")  # 调休 Sunday
    assert deadline.at == at("2025-02-06T09:00")
    assert deadline.skipped == (
        (day("2025-01-25"), "周末"),
        *((d, "春节") for d in SPRING_FESTIVAL_2025),
    )
    lines = deadline.explain()
    assert "outside working time" in lines[0]
    assert "2025-01-26 09:00" in lines[0]
    assert "skipped: 2025-01-25 (Sat) 周末" in lines
    assert "skipped: 2025-01-28 (Tue) 春节" in lines
    assert lines[-1] == "deadline: 3 working days → 2025-02-06 09:00 (Thu) CST"


def test_a_deadline_within_working_time_is_not_moved_and_skips_nothing():
    deadline = PLAIN.add(at("2025-03-11T10:00"), Duration(1, D))
    assert deadline.moved_from is None
    assert deadline.skipped == ()
    assert deadline.explain() == [
        "start: 2025-03-11 10:00 (Tue) CST",
        "deadline: 1 working day → 2025-03-12 10:00 (Wed) CST",
    ]


def test_clock_hours_neither_move_the_start_nor_skip_days():
    deadline = PLAIN.add(at("2025-01-28T22:00"), Duration(24, CH))
    assert (deadline.moved_from, deadline.skipped) == (None, ())
    assert deadline.start == at("2025-01-28T22:00")
    assert any("calendar does not apply" in line for line in deadline.explain())


@pytest.mark.parametrize(
    ("cal", "a", "b", "hours"),
    [
        (PLAIN, "2025-03-10T09:00", "2025-03-10T18:00", 9),
        (PLAIN, "2025-03-10T17:00", "2025-03-11T10:00", 2),
        (PLAIN, "2025-03-07T20:00", "2025-03-10T08:00", 0),  # a whole weekend, no work
        (PLAIN, "2025-01-27T17:00", "2025-02-05T10:00", 2),  # over Spring Festival
        (PLAIN, "2025-03-11T10:00", "2025-03-10T17:00", -2),  # backwards is negative
        (WITH_LUNCH, "2025-03-10T11:30", "2025-03-10T13:30", 1),
        (WITH_LUNCH, "2025-03-10T09:00", "2025-03-15T09:00", 40),
    ],
)
def test_working_time_between(cal, a, b, hours):
    assert cal.working_time_between(at(a), at(b)) == timedelta(hours=hours)


def test_business_hours_reject_an_impossible_day():
    with pytest.raises(ValueError, match="before end"):
        BusinessHours(time(18), time(9))
    with pytest.raises(ValueError, match="lunch"):
        BusinessHours(time(9), time(18), (time(8), time(10)))


# -- properties --------------------------------------------------------------------------

CALENDARS = st.sampled_from([PLAIN, WITH_LUNCH])
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 11, 30), timezones=st.just(TZ)
)
WORKING = st.sampled_from([WH, D])


def _amount(unit: Unit, n: int) -> float | int:
    # Working hours in quarter hours, so the arithmetic is exact; working days whole.
    return n if unit is D else n / 4


def _within_a_period_closed_at_the_end(cal: WorkCalendar, moment: datetime) -> bool:
    """Working time, or the very end of a working period (18:00, or lunch start)."""
    return any(s <= moment <= e for s, e in cal.working_periods(moment.date()))


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, MOMENTS, WORKING, st.integers(0, 60))
def test_adding_working_time_is_monotonic_in_the_start(cal, s1, s2, unit, n):
    s1, s2 = sorted([s1, s2])
    d = Duration(_amount(unit, n), unit)
    assert cal.add(s1, d).at <= cal.add(s2, d).at


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, WORKING, st.integers(0, 60), st.integers(0, 60))
def test_adding_working_time_is_monotonic_in_the_amount(cal, start, unit, n1, n2):
    n1, n2 = sorted([n1, n2])
    first = cal.add(start, Duration(_amount(unit, n1), unit)).at
    assert first <= cal.add(start, Duration(_amount(unit, n2), unit)).at


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, WORKING, st.integers(0, 60))
def test_a_working_deadline_lies_in_working_time_or_at_a_periods_end(cal, start, unit, n):
    deadline = cal.add(start, Duration(_amount(unit, n), unit))
    assert _within_a_period_closed_at_the_end(cal, deadline.at)
    assert deadline.at.tzinfo == TZ
    if unit is D:  # days land exactly on working time, never on a period's end
        assert cal.is_working_instant(deadline.at)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, st.integers(0, 200))
def test_working_time_between_start_and_deadline_is_the_working_hours_added(cal, start, n):
    hours = n / 4
    deadline = cal.add(start, Duration(hours, WH))
    assert cal.working_time_between(start, deadline.at) == timedelta(hours=hours)
    assert cal.working_time_between(deadline.at, start) == -timedelta(hours=hours)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, MOMENTS)
def test_working_time_between_is_the_sum_of_the_working_periods_between(cal, a, b):
    lo, hi = sorted([a, b])
    oracle = timedelta()
    day = lo.date()
    while day <= hi.date():
        for s, e in cal.working_periods(day):
            if max(s, lo) < min(e, hi):
                oracle += min(e, hi) - max(s, lo)
        day += timedelta(days=1)
    assert cal.working_time_between(lo, hi) == oracle
    assert cal.working_time_between(hi, lo) == -oracle


def test_the_working_days_are_chinese_calendars_own_every_day_it_knows():
    cal, first = WorkCalendar(TZ), date(2004, 1, 1)
    for n in range((date(2026, 12, 31) - first).days + 1):
        d = first + timedelta(days=n)
        assert cal.is_workday(d) == chinese_calendar.is_workday(d), d


def test_years_of_working_time_are_counted_day_by_day():
    # 2025: 248 working days of 9 hours (weekends, holidays and 调休 per chinese_calendar).
    worked = PLAIN.working_time_between(at("2025-01-01T00:00"), at("2026-01-01T00:00"))
    days = sum(chinese_calendar.is_workday(date(2025, 1, 1) + timedelta(days=n))
               for n in range(365))
    assert worked == timedelta(hours=9 * days)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, st.integers(0, 15))
def test_n_working_days_land_on_the_nth_following_working_day_at_the_same_time(cal, start, n):
    deadline: Deadline = cal.add(start, Duration(n, D))
    begin = cal.next_working_start(start)
    assert deadline.start == begin and deadline.at.time() == begin.time()
    between = days(begin.date().isoformat(), deadline.at.date().isoformat())[1:]
    assert sum(cal.is_workday(d) for d in between) == n
    off = {d for d in days(start.date().isoformat(), deadline.at.date().isoformat())
           if not cal.is_workday(d)}
    assert {d for d, _ in deadline.skipped} == off


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS)
def test_the_next_working_start_is_the_first_working_instant_not_before(cal, moment):
    nxt = cal.next_working_start(moment)
    assert nxt >= moment and cal.is_working_instant(nxt)
    assert cal.working_time_between(moment, nxt) == timedelta(0)
    assert (nxt == moment) is cal.is_working_instant(moment)


@settings(max_examples=150, deadline=None)
@given(CALENDARS, MOMENTS, WORKING, st.integers(0, 400))
def test_the_bare_deadline_is_the_explained_ones_time(cal, start, unit, n):
    duration = Duration(_amount(unit, n), unit)
    assert cal.at(start, duration) == cal.add(start, duration).at


def test_a_calendar_without_a_working_day_in_a_year_is_refused():
    first = date(2026, 1, 1)
    closed = WorkCalendar(TZ, days_off=[first + timedelta(days=n) for n in range(800)])
    with pytest.raises(ValueError, match="no working day"):
        closed.add(at("2026-01-05T10:00"), Duration(1, D))

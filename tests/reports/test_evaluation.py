"""效果评估 figures against records with known times, periods, and the report files."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from recordmaker import AS_OF, TZ, WEEK, add_record, offline_gateway

from gateway.deadlines.worktime import BusinessHours, WorkCalendar
from gateway.reports import evaluation_file
from gateway.reports.evaluation import (
    OVERALL,
    RecordFacts,
    evaluate,
    parse_period,
    period_containing,
    quantile,
)
from gateway.usecases import reporting

CALENDAR = WorkCalendar(TZ, BusinessHours(time(9), time(18)))


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=TZ)


def facts(department, sender, created, due, responded=None, resolved=None, closed=None,
          rating=None, problem="故障"):
    return RecordFacts(department, sender, problem, created, due, responded, None, resolved,
                       closed, rating)


# A: answered in 2 working hours, resolved after 9; B: answered late after 11;
# C: never answered, closed after 19; D: not due yet at AS_OF; E: opened the week before.
RECORDS = [
    facts("生产部", "s1", at(23, 10), at(24, 10), at(23, 12), at(24, 10), at(24, 11), rating=5),
    facts("生产部", "s1", at(23, 17), at(24, 17), at(25, 10)),
    facts("质量部", "s2", at(24, 9), at(24, 13), closed=at(26, 10), rating=2, problem="投诉"),
    facts("质量部", "s3", at(27, 11), at(27, 15)),
    facts("生产部", "s1", at(20, 10), at(21, 10), at(20, 11), closed=at(23, 15)),
]


@pytest.fixture(scope="module")
def result():
    return evaluate(RECORDS, WEEK, TZ, AS_OF, CALENDAR.working_time_between)


def test_overall_figures_match_hand_computed_values(result):
    o = result.overall
    assert o.name == OVERALL
    assert (o.opened, o.closed) == (4, 3)
    assert (o.response_due, o.response_on_time) == (3, 1)  # D is not due yet
    assert o.on_time_pct == pytest.approx(100 / 3)
    assert o.response_median_h == pytest.approx(6.5)  # 2 and 11 working hours
    assert o.response_p90_h == pytest.approx(10.1)
    assert o.resolution_median_h == pytest.approx(14)  # 9 and 19 working hours
    assert o.resolution_p90_h == pytest.approx(18)
    assert o.breaches == 2  # B late, C overdue
    assert o.rating_mean == pytest.approx(3.5)
    assert o.ratings == {1: 0, 2: 1, 3: 0, 4: 0, 5: 1}
    assert o.top_senders == [("s1", 2), ("s2", 1), ("s3", 1)]
    assert o.problem_types == [("故障", 3), ("投诉", 1)]


def test_departments_count_their_own_records(result):
    by_name = {f.name: f for f in result.departments}
    production, quality = by_name["生产部"], by_name["质量部"]
    assert (production.opened, production.closed) == (2, 2)  # E was closed in the week
    assert (production.response_on_time, production.response_due) == (1, 2)
    assert (quality.opened, quality.closed, quality.breaches) == (2, 1, 1)
    assert quality.on_time_pct == 0
    assert quality.response_median_h is None


@pytest.mark.parametrize(("text", "label", "first", "end"), [
    ("2026Q4", "2026Q4", date(2026, 10, 1), date(2027, 1, 1)),
    ("2026q1", "2026Q1", date(2026, 1, 1), date(2026, 4, 1)),
    ("2026-11", "2026-11", date(2026, 11, 1), date(2026, 12, 1)),
    ("2026-12", "2026-12", date(2026, 12, 1), date(2027, 1, 1)),
    ("2026-W47", "2026-W47", date(2026, 11, 16), date(2026, 11, 23)),
    ("2026-W01", "2026-W01", date(2025, 12, 29), date(2026, 1, 5)),
])
def test_periods_read_as_written(text, label, first, end):
    period = parse_period(text)
    assert (period.label, period.first, period.end) == (label, first, end)


@pytest.mark.parametrize("text", ["2026Q5", "2026-13", "2026-W60", "last week"])
def test_unreadable_periods_are_refused(text):
    with pytest.raises(ValueError):
        parse_period(text)


@given(st.sampled_from(["weekly", "monthly", "quarterly"]),
       st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_a_period_contains_its_day_and_follows_its_previous(kind, day):
    period = period_containing(kind, day)
    assert period.first <= day < period.end
    assert period.previous().end == period.first
    assert parse_period(period.label) == period


@given(st.lists(st.floats(0, 1e6), min_size=1), st.floats(0, 1))
def test_quantiles_lie_within_the_values(values, q):
    assert min(values) <= quantile(values, q) <= max(values)


def test_report_files_carry_figures_and_charts(tmp_path):
    gateway = offline_gateway(tmp_path)
    monday = datetime(2026, 11, 23, 10, tzinfo=TZ)
    with gateway.sessions.begin() as session:
        add_record(session, created=monday, first_response_at=monday + timedelta(hours=2),
                   rating=4)
        add_record(session, created=monday, department="质量部")
    with gateway.sessions() as session:
        evaluation = reporting.evaluation(session, WEEK, gateway.calendar, AS_OF)
    html = tmp_path / "report.html"
    evaluation_file.write(evaluation, "html", html, gateway.settings.gateway.templates_dir, TZ)
    text = html.read_text(encoding="utf-8")
    assert "效果评估 2026-W48" in text and "生产部" in text and "质量部" in text
    assert text.count("data:image/png;base64,iVBOR") == 3
    book = tmp_path / "report.xlsx"
    evaluation_file.write(evaluation, "xlsx", book, gateway.settings.gateway.templates_dir, TZ)
    rows = list(load_workbook(book).worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("部门", "新建", "关闭")
    assert [r[:2] for r in rows[1:]] == [("生产部", 1), ("质量部", 1), (OVERALL, 2)]
    assert rows[1][3] == 100.0  # 生产部 answered on time
    gateway.close()

"""传递时效: started messages, from sent to first feedback, internal and outside apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.reports.evaluation import RecordFacts, delivery_figures, evaluate, parse_period

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


def clock_hours(a: datetime, b: datetime) -> timedelta:
    return b - a


def facts(direction: str, sent: datetime | None, answered: datetime | None) -> RecordFacts:
    return RecordFacts("生产部", "wang@corp.example", "其他", T0, None, answered, None, None,
                       None, None, direction=direction, transmitted_at=sent)


@pytest.mark.parametrize(("records", "internal", "outside"), [
    ([], (0, 0, None), (0, 0, None)),
    ([facts("outbound", T0, T0 + timedelta(hours=2)), facts("outbound", T0, None)],
     (0, 0, None), (2, 1, 2.0)),
    ([facts("internal", T0, T0 + timedelta(hours=1)), facts("internal", T0, T0 + timedelta(hours=3)),
      facts("outbound", T0, T0 + timedelta(hours=5)), facts("inbound", None, T0)],
     (2, 2, 2.0), (1, 1, 5.0)),
    ([facts("outbound", T0 - timedelta(days=40), T0)], (0, 0, None), (0, 0, None)),  # other period
])
def test_internal_and_outside_are_shown_apart(records, internal, outside):
    found = evaluate(records, parse_period("2026-11"), TZ, T0 + timedelta(days=20), clock_hours)
    by_name = {d.name: (d.sent, d.answered, d.median_h) for d in found.delivery}
    assert by_name == {"内部": internal, "对外": outside}


@given(st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=30))
def test_median_lies_between_the_fastest_and_slowest_answer(minutes):
    sent = [facts("outbound", T0, T0 + timedelta(minutes=m)) for m in minutes]
    figures = delivery_figures("对外", sent, T0 + timedelta(days=1), clock_hours)
    assert figures.answered == len(minutes)
    assert min(minutes) / 60 - 1e-9 <= figures.median_h <= max(minutes) / 60 + 1e-9
    assert figures.median_h <= figures.p90_h + 1e-9

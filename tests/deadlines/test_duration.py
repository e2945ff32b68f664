"""Durations as people write them in config and rules, and as mail prints them."""

from __future__ import annotations

import pytest

from gateway.deadlines.duration import Duration, Unit, parse_duration

D, WH, CH = Unit.WORKING_DAYS, Unit.WORKING_HOURS, Unit.CLOCK_HOURS


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("3 working days", 3, D),
        ("1 working day", 1, D),
        ("  10   Working  Days ", 10, D),
        ("2 business days", 2, D),
        ("8 working hours", 8, WH),
        ("1.5 working hours", 1.5, WH),
        ("24 hours", 24, CH),
        ("1 hour", 1, CH),
        ("4 clock hours", 4, CH),
        ("4h", 4, CH),
        ("30 minutes", 0.5, CH),
        ("90 min", 1.5, CH),
        ("3个工作日", 3, D),
        ("3 个工作日", 3, D),
        ("２個工作日", 2, D),  # full-width digit, Traditional
        ("4工作小时", 4, WH),
        ("4个工作小时", 4, WH),
        ("24小时", 24, CH),
        ("24小時", 24, CH),
        ("30分钟", 0.5, CH),
        ("immediately", 0, CH),
        ("立即", 0, CH),
    ],
)
def test_parse_duration(text, amount, unit):
    assert parse_duration(text) == Duration(amount, unit)


@pytest.mark.parametrize(
    "text", ["", "3", "working days", "2 fortnights", "-1 hours", "three days", "1.5 working days"]
)
def test_parse_duration_rejects_what_it_cannot_read(text):
    with pytest.raises(ValueError, match=r"cannot read|whole number"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("duration", "english", "chinese"),
    [
        (Duration(3, D), "3 working days", "3个工作日"),
        (Duration(1, D), "1 working day", "1个工作日"),
        (Duration(8, WH), "8 working hours", "8工作小时"),
        (Duration(1.5, WH), "1.5 working hours", "1.5工作小时"),
        (Duration(24, CH), "24 hours", "24小时"),
        (Duration(1, CH), "1 hour", "1小时"),
    ],
)
def test_durations_print_in_words_that_parse_back(duration, english, chinese):
    assert (str(duration), duration.zh) == (english, chinese)
    assert parse_duration(english) == parse_duration(chinese) == duration


@pytest.mark.parametrize(
    ("amount", "unit"), [(-1, WH), (float("nan"), CH), (float("inf"), WH), (1.5, D), (True, D)]
)
def test_duration_refuses_meaningless_amounts(amount, unit):
    with pytest.raises(ValueError):
        Duration(amount, unit)

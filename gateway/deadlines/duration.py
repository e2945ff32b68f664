"""Durations as config and rules write them ("3 working days", "24小时") and as mail shows them."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Unit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    CLOCK_HOURS = "clock_hours"


# (singular, plural) for str(Duration), and the Chinese form; both must parse back.
_UNIT_NAMES: dict[Unit, tuple[str, str, str]] = {
    Unit.WORKING_DAYS: ("working day", "working days", "个工作日"),
    Unit.WORKING_HOURS: ("working hour", "working hours", "工作小时"),
    Unit.CLOCK_HOURS: ("hour", "hours", "小时"),
}

# Unit words as people write them in config, keyed after NFKC, lower-case, single spaces.
# The factor converts the written amount to the unit (minutes are clock hours / 60).
_UNIT_WORDS: dict[str, tuple[Unit, int]] = {
    word: (unit, per)
    for unit, per, words in (
        (Unit.WORKING_DAYS, 1, "working day|working days|workday|workdays"),
        (Unit.WORKING_DAYS, 1, "business day|business days"),
        (Unit.WORKING_DAYS, 1, "工作日|个工作日|個工作日|工作天|个工作天|個工作天"),
        (Unit.WORKING_HOURS, 1, "working hour|working hours|business hour|business hours"),
        (Unit.WORKING_HOURS, 1, "工作小时|个工作小时|工作小時|個工作小時|工时|工時"),
        (Unit.CLOCK_HOURS, 1, "hour|hours|clock hour|clock hours|h|hr|hrs"),
        (Unit.CLOCK_HOURS, 1, "小时|个小时|小時|個小時|钟头|个钟头|鐘頭|個鐘頭"),
        (Unit.CLOCK_HOURS, 60, "minute|minutes|min|mins|分钟|分鐘"),
    )
    for word in words.split("|")
}

# The seeds' "immediately" (特急 feedback, DOMAIN.md) is a zero-length deadline.
_IMMEDIATELY = frozenset({"immediately", "now", "立即", "立刻", "马上", "馬上"})

_DURATION_RE = re.compile(r"(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>\D.*)")


@dataclass(frozen=True, slots=True)
class Duration:
    amount: float | int
    unit: Unit

    def __post_init__(self) -> None:
        a = self.amount
        if isinstance(a, bool) or not isinstance(a, int | float) or not math.isfinite(a) or a < 0:
            raise ValueError(f"duration amount must be a number ≥ 0, not {a!r}")
        if self.unit is Unit.WORKING_DAYS and a != int(a):
            raise ValueError(f"working days must be a whole number, not {a!r}")
        object.__setattr__(self, "unit", Unit(self.unit))

    def __str__(self) -> str:
        one, many, _ = _UNIT_NAMES[self.unit]
        return f"{_number(self.amount)} {one if self.amount == 1 else many}"

    @property
    def zh(self) -> str:
        """The Chinese form for mail text, e.g. 3个工作日."""
        return f"{_number(self.amount)}{_UNIT_NAMES[self.unit][2]}"


def _number(amount: float) -> str:
    return str(int(amount)) if amount == int(amount) else f"{amount:g}"


def parse_duration(text: str) -> Duration:
    """Read "3 working days", "8 working hours", "24 hours", "30 minutes", "3个工作日", "24小时"."""
    norm = " ".join(unicodedata.normalize("NFKC", str(text)).lower().split())
    if norm in _IMMEDIATELY:
        return Duration(0, Unit.CLOCK_HOURS)
    m = _DURATION_RE.fullmatch(norm)
    found = _UNIT_WORDS.get(m["unit"].strip()) if m else None
    if m is None or found is None:
        raise ValueError(
            f"cannot read {text!r} as a duration; write e.g. '3 working days', "
            "'8 working hours', '24 hours', '30 minutes', '3个工作日' or '24小时'"
        )
    unit, per = found
    amount = float(m["amount"]) / per
    return Duration(int(amount) if amount == int(amount) else amount, unit)

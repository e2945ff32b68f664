"""效果评估: figures per department and overall for a period, from plain record facts."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

OVERALL = "全部"
TOP_SENDERS = 5
RATINGS = (1, 2, 3, 4, 5)

_QUARTER = re.compile(r"(\d{4})-?Q([1-4])", re.I)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_WEEK = re.compile(r"(\d{4})-W(\d{1,2})", re.I)


@dataclass(frozen=True, slots=True)
class Period:
    kind: str  # quarterly | monthly | weekly
    label: str  # 2026Q4, 2026-11, 2026-W47
    first: date
    end: date  # exclusive

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        return datetime.combine(self.first, time(), tz), datetime.combine(self.end, time(), tz)

    def previous(self) -> Period:
        return period_containing(self.kind, self.first - timedelta(days=1))


def parse_period(text: str) -> Period:
    """Read 2026Q4, 2026-11 or 2026-W47 (ISO week)."""
    value = text.strip()
    if m := _QUARTER.fullmatch(value):
        return period_containing("quarterly", date(int(m[1]), 3 * int(m[2]) - 2, 1))
    if m := _WEEK.fullmatch(value):
        try:
            return period_containing("weekly", date.fromisocalendar(int(m[1]), int(m[2]), 1))
        except ValueError:
            raise ValueError(f"{text!r}: no such ISO week") from None
    if (m := _MONTH.fullmatch(value)) and 1 <= int(m[2]) <= 12:
        return period_containing("monthly", date(int(m[1]), int(m[2]), 1))
    raise ValueError(f"cannot read {text!r} as a period; write 2026Q4, 2026-11 or 2026-W47")


def period_containing(kind: str, day: date) -> Period:
    if kind == "weekly":
        first = day - timedelta(days=day.weekday())
        iso = first.isocalendar()
        return Period(kind, f"{iso.year}-W{iso.week:02d}", first, first + timedelta(days=7))
    if kind == "monthly":
        first = day.replace(day=1)
        return Period(kind, f"{first:%Y-%m}", first, _add_months(first, 1))
    if kind == "quarterly":
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Period(kind, f"{first.year}Q{(first.month - 1) // 3 + 1}", first,
                      _add_months(first, 3))
    raise ValueError(f"unknown period kind {kind!r}")


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class RecordFacts:
    """What evaluation reads of a record; plain data so the figures can be checked by hand."""

    department: str
    sender: str
    problem_type: str
    created_at: datetime
    due_at: datetime | None
    first_response_at: datetime | None
    resolve_due_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    direction: str = "inbound"  # model.Direction values
    transmitted_at: datetime | None = None  # 传递时间 of a message the enterprise started


# 传递时效 is shown apart for messages inside the enterprise and those to outside parties.
DELIVERY_KINDS = (("internal", "内部"), ("outbound", "对外"))


@dataclass(frozen=True, slots=True)
class DeliveryFigures:
    """传递时效: started messages sent in the period, and working hours from sent to first answer."""

    name: str  # 内部 | 对外
    sent: int
    answered: int
    median_h: float | None
    p90_h: float | None
    mean_h: float | None


@dataclass(frozen=True)
class Figures:
    name: str  # department, or OVERALL
    opened: int
    closed: int
    response_due: int  # records whose first response was due by the end, or came
    response_on_time: int
    response_median_h: float | None  # working hours
    response_p90_h: float | None
    resolution_median_h: float | None
    resolution_p90_h: float | None
    breaches: int  # records that missed the response or the resolution deadline
    rating_mean: float | None
    ratings: dict[int, int] = field(default_factory=dict)
    top_senders: list[tuple[str, int]] = field(default_factory=list)
    problem_types: list[tuple[str, int]] = field(default_factory=list)

    @property
    def on_time_pct(self) -> float | None:
        return 100.0 * self.response_on_time / self.response_due if self.response_due else None


@dataclass(frozen=True)
class Evaluation:
    period: Period
    as_of: datetime
    overall: Figures
    departments: list[Figures]
    delivery: list[DeliveryFigures] = field(default_factory=list)


def quantile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (Excel's PERCENTILE.INC)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


WorkingTime = Callable[[datetime, datetime], timedelta]


def evaluate(
    facts: Iterable[RecordFacts], period: Period, tz: ZoneInfo, as_of: datetime,
    working_time: WorkingTime,
) -> Evaluation:
    """Opened = created in the period; closed = closed in it; the rest is over the opened ones.

    `as_of` is when the figures are taken: a deadline still in the future is neither met
    nor missed yet.
    """
    start, end = period.bounds(tz)
    cutoff = min(end, as_of)
    every = list(facts)
    opened = [f for f in every if start <= f.created_at < end]
    closed = [f for f in every if f.closed_at and start <= f.closed_at < end]
    names = sorted({f.department for f in opened} | {f.department for f in closed})
    departments = [
        _figures(name, [f for f in opened if f.department == name],
                 [f for f in closed if f.department == name], cutoff, working_time)
        for name in names
    ]
    overall = _figures(OVERALL, opened, closed, cutoff, working_time)
    sent = [f for f in every if f.transmitted_at and start <= f.transmitted_at < end]
    delivery = [delivery_figures(label, [f for f in sent if f.direction == kind], cutoff,
                                 working_time) for kind, label in DELIVERY_KINDS]
    return Evaluation(period, as_of, overall, departments, delivery)


def delivery_figures(name: str, sent: list[RecordFacts], cutoff: datetime,
                     working_time: WorkingTime) -> DeliveryFigures:
    """传递时效 of started messages: from 传递时间 to 实际反馈时间, in working hours."""
    spans = [working_time(f.transmitted_at, f.first_response_at).total_seconds() / 3600
             for f in sent if f.first_response_at and f.first_response_at <= cutoff]
    return DeliveryFigures(name, len(sent), len(spans), quantile(spans, 0.5),
                           quantile(spans, 0.9), sum(spans) / len(spans) if spans else None)


def _figures(
    name: str, opened: list[RecordFacts], closed: list[RecordFacts], cutoff: datetime,
    working_time: WorkingTime,
) -> Figures:
    def hours(a: datetime, b: datetime) -> float:
        return working_time(a, b).total_seconds() / 3600

    def answered(f: RecordFacts) -> bool:
        return bool(f.first_response_at and f.first_response_at <= cutoff)

    responded = [f for f in opened if answered(f)]
    due = [f for f in opened if f.due_at and (answered(f) or f.due_at <= cutoff)]
    on_time = [f for f in due if f.first_response_at and f.first_response_at <= f.due_at]
    response = [hours(f.created_at, f.first_response_at) for f in responded]
    finished = [(f, f.resolved_at or f.closed_at) for f in opened]
    resolution = [hours(f.created_at, at) for f, at in finished if at and at <= cutoff]
    rated = [f.rating for f in opened if f.rating in RATINGS]
    senders = Counter(f.sender for f in opened)
    return Figures(
        name=name,
        opened=len(opened),
        closed=len(closed),
        response_due=len(due),
        response_on_time=len(on_time),
        response_median_h=quantile(response, 0.5),
        response_p90_h=quantile(response, 0.9),
        resolution_median_h=quantile(resolution, 0.5),
        resolution_p90_h=quantile(resolution, 0.9),
        breaches=sum(1 for f in opened if _breached(f, cutoff)),
        rating_mean=sum(rated) / len(rated) if rated else None,
        ratings={r: rated.count(r) for r in RATINGS},
        top_senders=sorted(senders.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_SENDERS],
        problem_types=sorted(Counter(f.problem_type for f in opened).items(),
                             key=lambda kv: (-kv[1], kv[0])),
    )


def _missed(due: datetime | None, done: datetime | None, cutoff: datetime) -> bool:
    if due is None:
        return False
    return done > due if done and done <= cutoff else due < cutoff


def _breached(f: RecordFacts, cutoff: datetime) -> bool:
    finished = f.resolved_at or f.closed_at
    return (_missed(f.due_at, f.first_response_at, cutoff)
            or _missed(f.resolve_due_at, finished, cutoff))

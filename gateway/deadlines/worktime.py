"""Chinese working-time calendar and the deadlines computed on it, each able to explain itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import chinese_calendar
import holidays
from chinese_calendar.constants import Holiday

from gateway.deadlines.duration import Duration, Unit

# A calendar with no working day in this many consecutive days is misconfigured; stop
# instead of looping forever.
_MAX_DAYS_OFF = 366
_DAY = timedelta(days=1)

WEEKEND = "周末"
COMPANY_DAY_OFF = "公司休息日"

# chinese_calendar names holidays in English; the other reasons are Chinese, so translate.
_HOLIDAY_NAMES_ZH: dict[str, str] = {h.value: h.chinese for h in Holiday}

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """The working hours of a working day, with an optional lunch break that does not count."""

    start: time = time(9, 0)
    end: time = time(18, 0)
    lunch: tuple[time, time] | None = None

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"business hours: start {self.start} must be before end {self.end}")
        if self.lunch is not None:
            a, b = self.lunch
            if not self.start <= a < b <= self.end:
                raise ValueError(
                    f"business hours: lunch {a}–{b} must lie within {self.start}–{self.end}"
                )

    def periods(self) -> tuple[tuple[time, time], ...]:
        """The spans of a working day that count, in order."""
        if self.lunch is None:
            return ((self.start, self.end),)
        a, b = self.lunch
        return tuple((s, e) for s, e in ((self.start, a), (b, self.end)) if s < e)



@dataclass(frozen=True, slots=True)
class Deadline:
    """A computed deadline and how it came about."""

    at: datetime
    start: datetime  # where counting began (after moving into working time)
    duration: Duration
    moved_from: datetime | None  # the requested start, when it lay outside working time
    skipped: tuple[tuple[date, str], ...]  # days off between start and deadline, with reasons

    def explain(self) -> list[str]:
        """The lines a person reads: start, any move, each day skipped and why, the result."""
        lines = []
        if self.moved_from is not None:
            lines.append(
                f"requested start: {_show(self.moved_from)} is outside working time; "
                f"counting starts at the next working period, {_show(self.start)}"
            )
        else:
            lines.append(f"start: {_show(self.start)}")
        if self.duration.unit is Unit.CLOCK_HOURS:
            lines.append("clock hours: the working calendar does not apply")
        for day, why in self.skipped:
            lines.append(f"skipped: {day.isoformat()} ({_WEEKDAYS[day.weekday()]}) {why}")
        lines.append(f"deadline: {self.duration} → {_show(self.at)}")
        return lines


def _show(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} ({_WEEKDAYS[at.weekday()]}) {at.tzname()}"


def _dates(first: date, last: date) -> Iterator[date]:
    return (first + timedelta(days=n) for n in range((last - first).days + 1))


def _elapsed(a: datetime, b: datetime) -> timedelta:
    # Through UTC, so a daylight-saving change inside the span is counted correctly.
    return b.astimezone(UTC) - a.astimezone(UTC)


class WorkCalendar:
    """Which days are worked (Chinese holidays, 调休, company overrides) and when on each."""

    def __init__(
        self,
        tz: tzinfo,
        hours: BusinessHours = BusinessHours(),
        *,
        days_off: Iterable[date] = (),
        workdays: Iterable[date] = (),
        on_unknown_year: Callable[[int], object] | None = None,
    ) -> None:
        self.tz = tz
        self.hours = hours
        self.days_off = frozenset(days_off)
        self.workdays = frozenset(workdays)
        both = sorted(self.days_off & self.workdays)
        if both:
            listed = ", ".join(d.isoformat() for d in both)
            raise ValueError(f"calendar: {listed} listed both as day off and as workday")
        self._on_unknown_year = on_unknown_year
        self._reasons: dict[date, str | None] = {}  # day → why it is off, None if worked
        self._fallback: dict[int, Mapping[date, str]] = {}
        # Every deadline and notice walks days; each day's periods are made once.
        self._periods: dict[date, tuple[tuple[datetime, datetime], ...]] = {}
        # The days from _origin on, looked at once each (_table_through): the working time
        # from _origin to the start of each, and the working days in order with their places.
        self._origin: date | None = None
        self._running: list[timedelta] = []
        self._workdays: list[date] = []
        self._workday_place: dict[date, int] = {}

    def described(self) -> dict[str, object]:
        """Everything that decides when working time runs, in plain values (for comparing)."""
        return {
            "zone": str(self.tz),
            "periods": [[s.isoformat(), e.isoformat()] for s, e in self.hours.periods()],
            "days_off": sorted(d.isoformat() for d in self.days_off),
            "workdays": sorted(d.isoformat() for d in self.workdays),
            "holidays": chinese_calendar.__version__,  # a new release adds a year's 调休
        }

    # -- days -------------------------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        return self.why(day) is None

    def why(self, day: date) -> str | None:
        """Why the day is not worked ("周末", "春节", "公司休息日"), or None when it is."""
        if isinstance(day, datetime):
            day = day.astimezone(self.tz).date()
        if day not in self._reasons:
            self._reasons[day] = self._reason(day)
        return self._reasons[day]

    def _reason(self, day: date) -> str | None:
        if day in self.workdays:
            return None
        if day in self.days_off:
            return COMPANY_DAY_OFF
        try:
            # Off or not, and the holiday's name: what is_workday would answer, in one call
            # (each call checks the date against the whole table again).
            off, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return self._fallback_reason(day)
        if not off:  # includes 调休, the weekend days made working days
            return None
        return _HOLIDAY_NAMES_ZH.get(name, name) if name else WEEKEND

    def _fallback_reason(self, day: date) -> str | None:
        # Statutory holidays are published a year ahead; without them we know the holidays
        # but not the make-up working days, so we err towards days off.
        if self._on_unknown_year is not None:
            self._on_unknown_year(day.year)
        if day.year not in self._fallback:
            self._fallback[day.year] = holidays.China(years=day.year, language="zh_CN")
        name = self._fallback[day.year].get(day)
        if name:
            return name
        return WEEKEND if day.weekday() >= 5 else None

    def _working_days_from(self, day: date) -> Iterator[date]:
        """The working days from `day` on (itself included when worked)."""
        off = 0
        while True:
            if self.is_workday(day):
                off = 0
                yield day
            else:
                off += 1
                if off > _MAX_DAYS_OFF:
                    raise ValueError(f"calendar: no working day in the {off} days before {day}")
            day += timedelta(days=1)

    def working_periods(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The [start, end) spans of working time on `day`, in the calendar's zone; () if off."""
        periods = self._periods.get(day)
        if periods is None:
            periods = self._periods[day] = self._working_periods(day)
        return periods

    def _working_periods(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        if not self.is_workday(day):
            return ()
        return tuple(
            (datetime.combine(day, s, tzinfo=self.tz), datetime.combine(day, e, tzinfo=self.tz))
            for s, e in self.hours.periods()
        )

    # -- instants ---------------------------------------------------------------------

    def _local(self, at: datetime) -> datetime:
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"need a time-zone-aware datetime, got {at!r}")
        return at.astimezone(self.tz)

    def is_working_instant(self, at: datetime) -> bool:
        local = self._local(at)
        return any(s <= local < e for s, e in self.working_periods(local.date()))

    def next_working_start(self, at: datetime) -> datetime:
        """`at` itself when it is working time, else the start of the next working period."""
        local = self._local(at)
        for day in self._working_days_from(local.date()):
            for s, e in self.working_periods(day):
                if local < e:
                    return max(s, local)
        raise AssertionError("unreachable: _working_days_from never ends")  # pragma: no cover

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time from `a` to `b`; negative when `b` is before `a`."""
        a, b = self._local(a), self._local(b)
        if b < a:
            return -self.working_time_between(b, a)
        first, last = a.date(), b.date()
        if first == last:
            return self._worked_within(first, a, b)
        whole = self._worked_days(first + _DAY, last - _DAY)
        return self._worked_within(first, a, b) + whole + self._worked_within(last, a, b)

    def _worked_within(self, day: date, a: datetime, b: datetime) -> timedelta:
        spans = ((max(s, a), min(e, b)) for s, e in self.working_periods(day))
        return sum((_elapsed(lo, hi) for lo, hi in spans if lo < hi), timedelta())

    def _worked_days(self, first: date, last: date) -> timedelta:
        """The working time of the whole days `first` to `last`, from running totals.

        A deadline years overdue (`sla due` on an old register) spans thousands of days; the
        totals are made once per calendar, so each span costs two lookups.
        """
        if last < first:
            return timedelta()
        self._table_through(first)
        self._table_through(last)
        return (self._running[(last - self._origin).days + 1]
                - self._running[(first - self._origin).days])

    def _table_through(self, day: date) -> None:
        """Extend the day table through `day`; a day before its origin starts it afresh."""
        if self._origin is None or day < self._origin:
            self._origin, self._running, self._workdays, self._workday_place = (
                day, [timedelta()], [], {})
        for n in range(len(self._running) - 1, (day - self._origin).days + 1):
            listed = self._origin + timedelta(days=n)
            periods = self.working_periods(listed)
            if periods:
                self._workday_place[listed] = len(self._workdays)
                self._workdays.append(listed)
            worked = sum((_elapsed(s, e) for s, e in periods), timedelta())
            self._running.append(self._running[-1] + worked)

    # -- deadlines --------------------------------------------------------------------

    def add(self, start: datetime, duration: Duration) -> Deadline:
        """The deadline `duration` after `start`.

        N working days is the same time of day on the Nth following working day; N working
        hours consume business time across lunch and days; clock hours ignore the calendar.
        A start outside working time first moves to the start of the next working period.
        """
        local = self._local(start)
        if duration.unit is Unit.CLOCK_HOURS:
            return Deadline(self._at(local, local, duration), local, duration, None, ())
        begin = self.next_working_start(local)
        at = self._at(local, begin, duration)
        moved_from = local if begin != local else None
        return Deadline(at, begin, duration, moved_from, self._days_off(local.date(), at.date()))

    def at(self, start: datetime, duration: Duration) -> datetime:
        """`add(start, duration).at`, without the explanation: for the many deadlines chasing
        works out (each follow-up's time) and never shows."""
        local = self._local(start)
        begin = local if duration.unit is Unit.CLOCK_HOURS else self.next_working_start(local)
        return self._at(local, begin, duration)

    def _at(self, local: datetime, begin: datetime, duration: Duration) -> datetime:
        if duration.unit is Unit.CLOCK_HOURS:
            return (local.astimezone(UTC) + timedelta(hours=duration.amount)).astimezone(self.tz)
        if duration.unit is Unit.WORKING_DAYS:
            return self._add_days(begin, int(duration.amount))
        return self._add_hours(begin, timedelta(hours=duration.amount))

    def _add_days(self, begin: datetime, n: int) -> datetime:
        # begin is working time, so its day is a working day: the nth after it, by place.
        day = begin.date()
        self._table_through(day)
        place = self._workday_place[day]
        while place + n >= len(self._workdays):
            following = self._origin + timedelta(days=len(self._running) - 1)
            if (following - self._workdays[-1]).days > _MAX_DAYS_OFF:
                raise ValueError(f"calendar: no working day in the {_MAX_DAYS_OFF} days "
                                 f"before {following}")
            self._table_through(following)
        return datetime.combine(self._workdays[place + n], begin.time(), tzinfo=self.tz)

    def _add_hours(self, begin: datetime, left: timedelta) -> datetime:
        for day in self._working_days_from(begin.date()):
            for s, e in self.working_periods(day):
                if e <= begin:
                    continue
                lo = max(s, begin)
                room = _elapsed(lo, e)
                if left <= room:
                    # Ending exactly at a period's end gives that end (18:00, or lunch start),
                    # not the next period's start: the time is used up there.
                    return (lo.astimezone(UTC) + left).astimezone(self.tz)
                left -= room
        raise AssertionError("unreachable: _working_days_from never ends")  # pragma: no cover

    def _days_off(self, first: date, last: date) -> tuple[tuple[date, str], ...]:
        return tuple((d, why) for d in _dates(first, last) if (why := self.why(d)) is not None)

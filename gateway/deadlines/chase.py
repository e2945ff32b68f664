"""Chasing deadlines: which reminders, escalations and follow-ups a record is due, and when.

Pure: the caller passes the record's deadline state, the keys of the notices already sent,
the calendar and `now`. Every notice has a stable key, so whoever persists the keys (with a
unique constraint) sends each one once, whatever restarts or overlapping runs happen.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from gateway.deadlines.duration import Duration, Unit, parse_duration
from gateway.deadlines.worktime import WorkCalendar
from gateway.model import Urgency


class NoticeKind(StrEnum):
    CRITICAL = "critical"  # a 特急 record opened: the department head hears at once
    REMINDER = "reminder"  # the deadline is near: the owner
    ESCALATION = "escalation"  # the deadline passed: the owner and the department head
    FOLLOW_UP = "follow_up"  # still nothing after the breach, at the urgency's cadence


class DeadlineClock(StrEnum):
    """Which deadline clock a notice chases: the opening (特急), the response or the resolution."""

    OPENED = "opened"
    RESPONSE = "response"
    RESOLUTION = "resolution"


# The seeds' follow-up cadence (seed 002): 普通 daily, 紧急 every 4 hours, 特急 continuous.
_DEFAULT_CADENCE = {
    Urgency.NORMAL: "1 working day",
    Urgency.URGENT: "4 working hours",
    Urgency.CRITICAL: "1 hour",
}


@dataclass(frozen=True)
class ChasePolicy:
    """How the gateway chases: when to remind, how often to follow up, whether to keep quiet."""

    remind_at: float = 0.75  # share of the time to the deadline after which the owner is reminded
    cadence: Mapping[Urgency, Duration] = field(
        default_factory=lambda: {u: parse_duration(t) for u, t in _DEFAULT_CADENCE.items()}
    )
    quiet_hours: bool = True  # notices outside business hours wait, except for 特急
    max_follow_ups: int = 30  # a record nobody answers is not chased forever

    def __post_init__(self) -> None:
        if not 0 < self.remind_at < 1:
            raise ValueError(f"remind_at must lie between 0 and 1, not {self.remind_at}")
        missing = [u.value for u in Urgency if u not in self.cadence]
        if missing:
            raise ValueError(f"cadence lacks {', '.join(missing)}")
        if any(d.amount <= 0 for d in self.cadence.values()):
            raise ValueError("a follow-up cadence must be longer than zero")
        object.__setattr__(self, "cadence", MappingProxyType(dict(self.cadence)))

    __hash__ = None  # type: ignore[assignment]  # holds a mapping


def made_under(policy: ChasePolicy, calendar: WorkCalendar) -> str:
    """The chase policy and working calendar in words: stored check times made under
    other words must be made again."""
    return json.dumps({
        "remind_at": policy.remind_at,
        "cadence": {u.value: str(d) for u, d in sorted(policy.cadence.items())},
        "quiet_hours": policy.quiet_hours,
        "max_follow_ups": policy.max_follow_ups,
        "calendar": calendar.described(),
    }, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class RecordClock:
    """What chasing needs to know of a record."""

    record_id: str
    urgency: Urgency
    opened_at: datetime
    response_due: datetime | None
    resolution_due: datetime | None
    responded_at: datetime | None = None
    resolved_at: datetime | None = None

    def running(self) -> tuple[tuple[DeadlineClock, datetime], ...]:
        """The deadlines still being chased: response until answered, resolution until done."""
        out = []
        if self.response_due and not self.responded_at and not self.resolved_at:
            out.append((DeadlineClock.RESPONSE, self.response_due))
        if self.resolution_due and not self.resolved_at:
            out.append((DeadlineClock.RESOLUTION, self.resolution_due))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Notice:
    kind: NoticeKind
    clock: DeadlineClock
    seq: int  # n for the nth follow-up; 0 otherwise
    due_at: datetime  # when it is to be sent (after waiting out quiet hours)
    deadline: datetime  # the deadline it chases (the opening time for CRITICAL)

    @property
    def key(self) -> str:
        """Stable across runs; a deadline moved by a re-grade gets fresh keys."""
        return f"{self.clock}:{self.kind}:{self.seq}:{self.deadline.timestamp():.0f}"


@dataclass(frozen=True, slots=True)
class Due:
    """What to do now: notices to send, and notices overtaken by later ones (recorded, not sent)."""

    send: tuple[Notice, ...]
    superseded: tuple[Notice, ...]


def plan(state: RecordClock, policy: ChasePolicy, calendar: WorkCalendar) -> Iterator[Notice]:
    """Every notice the record will get if nobody acts, deadline by deadline, in time order."""
    return itertools.chain.from_iterable(_plans(state, policy, calendar))


def _plans(
    state: RecordClock, policy: ChasePolicy, calendar: WorkCalendar
) -> list[Iterator[Notice]]:
    """One lazy, time-ordered series of notices per deadline being chased."""
    quiet = policy.quiet_hours and state.urgency is not Urgency.CRITICAL

    def when(at: datetime) -> datetime:
        if quiet and not calendar.is_working_instant(at):
            return calendar.next_working_start(at)
        return at

    def series(clock: DeadlineClock, deadline: datetime) -> Iterator[Notice]:
        remind = reminder_time(state.opened_at, deadline, policy.remind_at, calendar)
        if remind is not None:
            yield Notice(NoticeKind.REMINDER, clock, 0, when(remind), deadline)
        yield Notice(NoticeKind.ESCALATION, clock, 0, when(deadline), deadline)
        cadence = policy.cadence[state.urgency]
        for n in range(1, policy.max_follow_ups + 1):
            yield Notice(NoticeKind.FOLLOW_UP, clock, n,
                         when(after(deadline, cadence, n, calendar)), deadline)

    plans: list[Iterator[Notice]] = []
    if state.urgency is Urgency.CRITICAL:
        opened = Notice(NoticeKind.CRITICAL, DeadlineClock.OPENED, 0, state.opened_at,
                        state.opened_at)
        plans.append(iter((opened,)))
    plans.extend(series(clock, deadline) for clock, deadline in state.running())
    return plans


def due(
    state: RecordClock,
    sent: frozenset[str] | set[str],
    now: datetime,
    policy: ChasePolicy,
    calendar: WorkCalendar,
) -> Due:
    """The notices due at `now` and not yet sent.

    After a pause (the daemon was down, the clock jumped) several notices of one deadline may
    be due at once. The newest stands for the ones it overtakes: a reminder is not sent after
    the escalation it was meant to prevent, and missed follow-ups collapse into the latest,
    so a restart never floods anyone. The overtaken ones are returned so they are recorded.
    """
    send: list[Notice] = []
    superseded: list[Notice] = []
    for series in _plans(state, policy, calendar):
        group = list(itertools.takewhile(lambda n: n.due_at <= now, series))
        pending = [n for n in group if n.key not in sent]
        if not pending:
            continue
        newest = pending[-1]
        escalated = any(n.kind is NoticeKind.ESCALATION for n in group if n.key in sent)
        if newest.kind is NoticeKind.FOLLOW_UP and not escalated:
            # The breach itself was never announced: escalate once, then go on at the cadence.
            send.extend(n for n in pending if n.kind is NoticeKind.ESCALATION)
        send.append(newest)
        superseded.extend(n for n in pending if n not in send)
    return Due(tuple(sorted(send, key=_order)), tuple(superseded))


def next_check(
    state: RecordClock,
    sent: frozenset[str] | set[str],
    policy: ChasePolicy,
    calendar: WorkCalendar,
) -> datetime | None:
    """The first instant at which `due` has something for this record; None: never again.

    Each deadline's series is in time order and `due` looks at its notices due by `now`, so
    it finds work exactly once the series' first notice not yet stored is due. The due-check
    stores this time per record and looks only at records whose time has come.
    """
    soonest = None
    for series in _plans(state, policy, calendar):
        for notice in series:
            if notice.key not in sent:
                if soonest is None or notice.due_at < soonest:
                    soonest = notice.due_at
                break
    return soonest


def _order(notice: Notice) -> tuple[datetime, int]:
    return notice.due_at, notice.seq


def reminder_time(
    start: datetime, deadline: datetime, share: float, calendar: WorkCalendar
) -> datetime | None:
    """`share` of the way from `start` to `deadline`, counted in working time where there is any.

    A deadline of 24 clock hours that spans a night is reminded of during the working hours
    before it, not at 4 a.m.; a span with no working time in it falls back to clock time.
    None when there is no time to remind in (an immediate deadline).
    """
    if deadline <= start:
        return None
    working = calendar.working_time_between(start, deadline)
    if working > timedelta(0):
        hours = working.total_seconds() * share / 3600
        at = calendar.at(start, Duration(hours, Unit.WORKING_HOURS))
    else:
        at = start + (deadline - start) * share
    return at if at < deadline else None


def after(deadline: datetime, cadence: Duration, n: int, calendar: WorkCalendar) -> datetime:
    """The nth follow-up time after a breach at `deadline`."""
    return calendar.at(deadline, Duration(cadence.amount * n, cadence.unit))


def working_time_left(deadline: datetime, now: datetime, calendar: WorkCalendar) -> timedelta:
    """Working time from now to the deadline; negative once it has passed."""
    return calendar.working_time_between(now, deadline)

"""What `gateway sla` shows: the running deadlines of chased records, and one record's schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from gateway.db import chased, notices, records
from gateway.db.models import Record, SentNotice
from gateway.deadlines.chase import ChasePolicy, DeadlineClock, Notice, plan
from gateway.deadlines.policy import record_deadlines
from gateway.deadlines.worktime import Deadline, WorkCalendar
from gateway.errors import NotFound
from gateway.model import Urgency
from gateway.usecases.chase_terms import CHASED, CLOCK_LABELS, format_working_time, record_clock

if TYPE_CHECKING:
    from gateway.usecases.services import Services

# After this many repeats of one clock's notices the rest of the cadence follows the same rhythm.
SHOWN_REPEATS = 3


def due_rows(session: Session, calendar: WorkCalendar, now: datetime,
             limit: int | None = None) -> list[dict[str, Any]]:
    """The running deadlines of the chased records, soonest first; the first `limit` if given."""
    rows = []
    for record, clock, deadline in chased.running_deadlines(session, CHASED, limit):
        left = calendar.working_time_between(now, deadline)
        rows.append({
            "id": record.id, "urgency": record.urgency, "department": record.department,
            "owner": record.owner_addr, "clock": clock,
            "clock_label": CLOCK_LABELS[DeadlineClock(clock)], "deadline": deadline.isoformat(),
            "breached": deadline <= now,
            "working_time_left_s": int(left.total_seconds()),
            "working_time_left_text": format_working_time(abs(left)),
        })
    return rows


@dataclass(frozen=True)
class Schedule:
    """A record's two deadlines as computed now, and its notices: sent, or still to come."""

    record: Record
    response: Deadline
    resolution: Deadline
    notices: tuple[tuple[Notice, SentNotice | None], ...]


def schedule(session: Session, services: Services, chase: ChasePolicy,
             record_id: str) -> Schedule:
    record = records.get_record(session, record_id)
    if record is None:
        raise NotFound(f"no record {record_id}")
    response, resolution = record_deadlines(record.created_at, Urgency(record.urgency),
                                            services.policy, services.calendar,
                                            record.deadline_overrides)
    sent = {n.key: n for n in notices.of_record(session, record.id)}
    shown = []
    for notice in plan(record_clock(record), chase, services.calendar):
        done = sent.get(notice.key)
        shown.append((notice, done))
        if not done and notice.clock is not DeadlineClock.OPENED and notice.seq >= SHOWN_REPEATS:
            break
    return Schedule(record, response, resolution, tuple(shown))

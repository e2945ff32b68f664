"""The chased records' stored next check times, and their running deadlines soonest first.

A record's `next_check_at` is when the due-check next has something to do for it. Any change
of what chasing reads (status, urgency, the deadlines, the answer and completion times) sets
it to CHECK_NOW at flush (models.py), so no use case can forget it; the next due-check computes
the real time and stores it. A record opened by mail gets its first time as it opens
(usecases/open_record.py); any other gets CHECK_NOW, the column default.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from gateway.db.models import CHECK_NOW, Record, RegisterMark


def due_for_check(session: Session, now: datetime, limit: int | None = None) -> list[str]:
    """Ids of the records whose stored check time has come, soonest first (at most `limit`)."""
    return list(session.scalars(
        select(Record.id).where(Record.next_check_at <= now)
        .order_by(Record.next_check_at, Record.id).limit(limit)))


def recheck_unless_made_under(session: Session, made_under: str, statuses: Iterable[str],
                              now: datetime) -> int:
    """Have every chased record checked afresh unless the stored check times were made
    under `made_under` (the chase policy and working calendar, in words); how many.

    A time stored under other rules may lie too late (a shorter cadence, a working day
    added) or be "never" where chasing should go on (more follow-ups allowed).
    """
    mark = session.get(RegisterMark, _CHECK_TIMES_MADE_UNDER)
    if mark is not None and mark.value == made_under:
        return 0
    count = session.execute(
        update(Record).where(Record.status.in_(list(statuses)))
        .values(next_check_at=CHECK_NOW)
        .execution_options(synchronize_session=False)).rowcount
    _set_mark(session, mark, made_under, now)
    return count


def mark_check_times_made_under(session: Session, made_under: str, now: datetime) -> None:
    """Record what the stored check times were made under (a register filled by bulk.py
    stores times it made itself)."""
    _set_mark(session, session.get(RegisterMark, _CHECK_TIMES_MADE_UNDER), made_under, now)


def _set_mark(session: Session, mark: RegisterMark | None, made_under: str,
              now: datetime) -> None:
    if mark is None:
        session.add(RegisterMark(name=_CHECK_TIMES_MADE_UNDER, value=made_under,
                                 updated_at=now))
    else:
        mark.value, mark.updated_at = made_under, now


_CHECK_TIMES_MADE_UNDER = "check_times_made_under"


def locked(session: Session, record_ids: Collection[str]) -> Sequence[Record]:
    """The records, held against concurrent change until the transaction ends.

    PostgreSQL locks the rows; SQLite's transactions already hold its single write lock.
    """
    if not record_ids:
        return []
    return session.scalars(select(Record).where(Record.id.in_(list(record_ids)))
                           .order_by(Record.id).with_for_update()).all()


_SET_NEXT = (update(Record.__table__).where(Record.__table__.c.id == bindparam("rid"))
             .values(next_check_at=bindparam("at")))


def store_next(session: Session, times: Mapping[str, datetime | None]) -> None:
    """Store each record's next check time, in one statement."""
    if times:
        session.connection().execute(
            _SET_NEXT, [{"rid": rid, "at": at} for rid, at in times.items()])


def running_deadlines(session: Session, statuses: Iterable[str], limit: int | None
                      ) -> list[tuple[Record, str, datetime]]:
    """(record, "response" | "resolution", deadline) of the chased records, soonest first.

    A response deadline runs until the first answer or completion, a resolution deadline
    until completion. `limit` bounds the rows read, so the answer comes off the index.
    """
    rows = []
    for status in statuses:  # one index range per status, read in deadline order
        response = (select(Record).where(Record.status == status, Record.due_at.is_not(None),
                                         Record.first_response_at.is_(None),
                                         Record.resolved_at.is_(None))
                    .order_by(Record.due_at, Record.id))
        resolution = (select(Record).where(Record.status == status,
                                           Record.resolve_due_at.is_not(None),
                                           Record.resolved_at.is_(None))
                      .order_by(Record.resolve_due_at, Record.id))
        if limit is not None:
            response, resolution = response.limit(limit), resolution.limit(limit)
        rows += [(r, "response", r.due_at) for r in session.scalars(response)]
        rows += [(r, "resolution", r.resolve_due_at) for r in session.scalars(resolution)]
    rows.sort(key=lambda row: (row[2], row[0].id, row[1]))
    return rows if limit is None else rows[:limit]

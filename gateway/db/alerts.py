"""The alert outbox: instant messages queued in a use case's transaction, and the sender's side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row as ResultRow
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.db._journal import insert_later
from gateway.db.models import AlertOutbox


def enqueue(session: Session, *, record_id: str | None, channel: str, kind: str, event: str,
            body: dict[str, Any], now: datetime) -> None:
    """Queue one alert; written with the rest of the transaction, sent after commit."""
    insert_later(session, AlertOutbox.__table__, {
        "record_id": record_id, "channel": channel, "kind": kind, "event": event, "body": body,
        "status": "pending", "attempts": 0, "next_attempt_at": now, "last_error": None,
        "created_at": now, "sent_at": None,
    })


def due(session: Session, now: datetime, limit: int) -> Sequence[ResultRow]:
    """Alerts due at `now`, oldest first."""
    return session.execute(
        select(AlertOutbox.id, AlertOutbox.record_id, AlertOutbox.channel, AlertOutbox.kind,
               AlertOutbox.event, AlertOutbox.body, AlertOutbox.attempts)
        .where(AlertOutbox.status == "pending", AlertOutbox.next_attempt_at <= now)
        .order_by(AlertOutbox.id)
        .limit(limit)
    ).all()


def sent_since(session: Session, since: datetime) -> dict[str, int]:
    """Alerts sent per channel since `since` (for the robots' per-minute limits)."""
    rows = session.execute(
        select(AlertOutbox.channel, func.count())
        .where(AlertOutbox.status == "sent", AlertOutbox.sent_at > since)
        .group_by(AlertOutbox.channel)
    )
    return {channel: count for channel, count in rows}


def mark_sent(session: Session, alert_id: int, now: datetime) -> None:
    session.execute(update(AlertOutbox).where(AlertOutbox.id == alert_id)
                    .values(status="sent", sent_at=now, attempts=AlertOutbox.attempts + 1))


def mark_retry(session: Session, alert_id: int, error: str, next_at: datetime, *,
               dead: bool) -> None:
    """One more failed attempt: try again at `next_at`, or never (dead)."""
    session.execute(
        update(AlertOutbox).where(AlertOutbox.id == alert_id).values(
            attempts=AlertOutbox.attempts + 1, last_error=error[:2000], next_attempt_at=next_at,
            status="dead" if dead else "pending")
    )


def postpone(session: Session, alert_ids: Sequence[int], next_at: datetime) -> None:
    """Held back by the robot's per-minute limit: no attempt was made, none is counted."""
    if alert_ids:
        session.execute(update(AlertOutbox).where(AlertOutbox.id.in_(alert_ids))
                        .values(next_attempt_at=next_at))


def last_outcomes(session: Session) -> dict[str, tuple[str, int, str | None, datetime]]:
    """Per channel, the newest alert that was tried: (status, attempts, last error, created)."""
    newest = (select(AlertOutbox.channel, func.max(AlertOutbox.id).label("id"))
              .where(AlertOutbox.attempts > 0).group_by(AlertOutbox.channel).subquery())
    rows = session.execute(
        select(AlertOutbox.channel, AlertOutbox.status, AlertOutbox.attempts,
               AlertOutbox.last_error, AlertOutbox.created_at)
        .join(newest, newest.c.id == AlertOutbox.id)
    )
    return {r.channel: (r.status, r.attempts, r.last_error, r.created_at) for r in rows}


def for_record(session: Session, record_id: str) -> Sequence[AlertOutbox]:
    return session.scalars(select(AlertOutbox).where(AlertOutbox.record_id == record_id)
                           .order_by(AlertOutbox.id)).all()


def oldest_pending_age(session: Session, now: datetime) -> timedelta | None:
    oldest = session.scalar(select(func.min(AlertOutbox.created_at))
                            .where(AlertOutbox.status == "pending"))
    return None if oldest is None else now - oldest

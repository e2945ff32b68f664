"""The words and readings chasing and its views share: which statuses are chased, what
each notice and deadline is called, a record's clock, working time for people."""

from __future__ import annotations

from datetime import timedelta

from gateway.db.models import Record
from gateway.deadlines.chase import DeadlineClock, NoticeKind, RecordClock
from gateway.model import Status, Urgency

CHASED = (Status.OPEN.value, Status.IN_PROGRESS.value)

# How each notice is named in the log and in mail (the Chinese lives here, not in code paths).
KIND_LABELS = {
    NoticeKind.CRITICAL: "特急提醒",
    NoticeKind.REMINDER: "到期提醒",
    NoticeKind.ESCALATION: "超时升级",
    NoticeKind.FOLLOW_UP: "超时跟催",
}
CLOCK_LABELS = {
    DeadlineClock.OPENED: "受理",
    DeadlineClock.RESPONSE: "首次反馈",
    DeadlineClock.RESOLUTION: "处理完成",
}


def record_clock(record: Record) -> RecordClock:
    return RecordClock(
        record_id=record.id,
        urgency=Urgency(record.urgency),
        opened_at=record.created_at,
        response_due=record.due_at,
        resolution_due=record.resolve_due_at,
        responded_at=record.first_response_at,
        resolved_at=record.resolved_at,
    )


def format_working_time(span: timedelta) -> str:
    """3小时20分 / 45分钟 (working time, for people)."""
    minutes = int(span.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}小时{minutes}分"
    return f"{hours}小时" if hours else f"{minutes}分钟"

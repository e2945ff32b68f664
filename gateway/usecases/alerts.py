"""Instant-message alerts queued in the event's own transaction, one per channel that wants it.

Other use cases call `queue_alert` where the event happens (a 特急 record opened, a deadline
escalated or breached, an outbound mail waiting for approval); the sender process posts the
queued alerts after commit, so no robot ever holds up the mailbox loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.alerts.channels import AlertEvent, choose
from gateway.alerts.message import Alert, Mention, alert_body
from gateway.db import alerts, records
from gateway.db.models import Record
from gateway.db.records import RecordRow
from gateway.model import LogKind, Urgency
from gateway.usecases.services import Services

CLASSIFIED = "classified"  # 归档类别 涉密
DEADLINE_FORMAT = "%Y-%m-%d %H:%M"


def queue_alert(
    session: Session,
    services: Services,
    record: Record | RecordRow,
    event: AlertEvent | str | Iterable[AlertEvent],
    now: datetime,
    *,
    deadline: datetime | None = None,
    detail: str | None = None,
) -> tuple[str, ...]:
    """Queue an alert about `record` to every [[im.channel]] that wants `event` for its department.

    `event` may be several, most specific first (an escalation is also a breach): a channel
    hears once, of the first it listens to. `deadline` defaults to the record's response
    deadline. A 涉密 record's alert names only its id and urgency. Returns the channels queued,
    and logs them in the record's 沟通记录. Call it inside the transaction of the event.
    """
    wanted = _events(event)
    chosen = choose(services.alert_channels, wanted, record.department)
    if not chosen:
        return ()
    base = _alert(services, record, wanted[0], deadline, detail)
    for channel, hit in chosen:
        alert = base if hit is base.event else _replace_event(base, hit)
        alerts.enqueue(session, record_id=record.id, channel=channel.name,
                       kind=channel.kind.value, event=hit.value,
                       body=alert_body(channel.kind, alert), now=now)
    names = tuple(channel.name for channel, _ in chosen)
    records.add_log(session, record, at=now, kind=LogKind.ALERT, actor="gateway",
                    text=f"即时消息 ({base.event.label}) 已排队: {', '.join(names)}",
                    data={"channels": list(names), "events": [e.value for _, e in chosen]})
    return names


def _events(event: AlertEvent | str | Iterable[AlertEvent]) -> tuple[AlertEvent, ...]:
    if isinstance(event, str):
        return (AlertEvent(event),)
    return tuple(AlertEvent(e) for e in event)


def _alert(services: Services, record: Record | RecordRow, event: AlertEvent,
           deadline: datetime | None, detail: str | None) -> Alert:
    when = deadline or record.due_at
    owner = ""
    if record.owner_addr:
        owner = (f"{record.owner_name} <{record.owner_addr}>" if record.owner_name
                 else record.owner_addr)
    person = services.rules().directory.person(record.owner_addr)
    mention = None
    if person is not None and (person.mobile or person.feishu_id):
        mention = Mention(record.owner_name or person.addr, person.mobile, person.feishu_id)
    return Alert(
        event=event,
        record_id=record.id,
        urgency=Urgency(record.urgency).label,
        department=record.department,
        title=record.title or record.subject or "",
        owner=owner,
        deadline=when.astimezone(services.calendar.tz).strftime(DEADLINE_FORMAT) if when else "",
        classified=record.archive_class == CLASSIFIED,
        detail=detail,
        mention=mention,
    )


def _replace_event(alert: Alert, event: AlertEvent) -> Alert:
    return replace(alert, event=event)

"""A record's life inside one transaction: open it, thread mail into it, queue its answers."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.alerts.channels import AlertEvent
from gateway.db import mails, records
from gateway.db.mails import Row
from gateway.db.models import Mail, Record
from gateway.db.records import RecordRow
from gateway.deadlines.chase import RecordClock, next_check
from gateway.deadlines.policy import record_deadlines
from gateway.model import Address, InboundMail, LogKind, Status, SubjectTag, Urgency
from gateway.routing.route import Decision
from gateway.usecases.admission import admit
from gateway.usecases.alerts import queue_alert
from gateway.usecases.context import template_context
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Services

CLASSIFIED = "classified"  # 归档类别 涉密
SUMMARY_LENGTH = 200  # 内容摘要 is at most 200 characters (seed 001)
_SPACE = re.compile(r"\s+")
_SUMMARY_LOOK = 4 * SUMMARY_LENGTH  # characters flattened before the rest is looked at


def thread_of(session: Session, tag: SubjectTag, mail: InboundMail) -> Record | None:
    """The record a mail belongs to: by quoted record id first, then by its threading headers."""
    if tag.record_id:
        record = records.get_record(session, tag.record_id)
        if record is not None:
            return record
    return records.record_for_message_ids(session, (*mail.in_reply_to, *reversed(mail.references)))


def summarize(text: str) -> str:
    # Only the start of the text is needed: a long body is flattened in full only when its
    # first few hundred characters are nearly all white space.
    head = _SPACE.sub(" ", text[:_SUMMARY_LOOK]).lstrip()
    if len(head) > SUMMARY_LENGTH + 1:  # too long for a summary even once its end is trimmed
        return head[: SUMMARY_LENGTH - 1] + "…"
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= SUMMARY_LENGTH else flat[: SUMMARY_LENGTH - 1] + "…"


def append_mail(
    session: Session, record: Record, row: Mail, mail: InboundMail, now: datetime
) -> None:
    row.record = record
    mails.add_inbound(session, row)
    records.add_log(
        session,
        record,
        at=now,
        kind=LogKind.MAIL_IN,
        actor=mail.from_addr.addr,
        text=f"来信: {mail.subject}",
        mail=row,
        data={"message_id": mail.message_id, "auto": mail.auto},
    )


def open_record(
    session: Session,
    services: Services,
    mail: InboundMail,
    tag: SubjectTag,
    decision: Decision,
    inbound: dict[str, Any],
    now: datetime,
    related: Record | None = None,
) -> tuple[RecordRow, tuple[str, ...]]:
    """Create the record, log how it was routed, and queue the acknowledgement and notice.

    The hot path of the gateway: everything here is written as journal rows (db/_journal.py),
    no ORM object is built. `inbound` holds the values of the mail's own row.
    """
    local_now = now.astimezone(services.calendar.tz)
    record_id, seq = records.allocate_record_id(session, decision.id_prefix, local_now.year)
    record = records.add_record(
        session,
        id=record_id,
        prefix=decision.id_prefix,
        year=local_now.year,
        seq=seq,
        direction="internal" if decision.internal else "inbound",
        status=Status.OPEN.value,
        urgency=tag.urgency.value,
        title=tag.title,
        subject=mail.subject,
        summary=summarize(mail.text),
        problem_type=decision.problem_type,
        from_addr=mail.from_addr.addr,
        from_name=mail.from_addr.name,
        from_department=decision.from_department,
        organisation=None if decision.internal else decision.from_department,
        party_kind=decision.party.kind if decision.party else None,
        department=decision.department.name,
        owner_addr=decision.owner.addr if decision.owner else None,
        owner_name=decision.owner.name if decision.owner else None,
        cc=[a.addr for a in decision.cc],
        departments=[decision.department.name],
        sent_at=mail.date or now,
        **_times(services, record_id, tag.urgency, decision, now),
        rule_name=decision.rule_name,
        rule_file=decision.rule_file,
        rule_version=decision.rule_version,
        deadline_overrides=decision.deadlines,
        archive_class=decision.archive_class,
        related_to=related.id if related is not None else None,
        requested_department=decision.requested_department,
    )
    row = mails.add_inbound_row(session, **inbound, record_id=record_id)
    _log_opening(session, record, mail, decision, row, now, related)
    queued = _queue_answers(session, services, record, mail, decision, inbound["raw"], now)
    if tag.urgency is Urgency.CRITICAL:
        queue_alert(session, services, record, AlertEvent.CRITICAL_OPENED, now)
    return record, queued


def _log_opening(
    session: Session, record: RecordRow, mail: InboundMail, decision: Decision, row: Row,
    now: datetime, related: Record | None = None,
) -> None:
    records.add_log(
        session, record, at=now, kind=LogKind.CREATED, actor=mail.from_addr.addr,
        text=f"收到来信, 建立记录: {mail.subject}", mail=row,
        data={"message_id": mail.message_id},
    )
    records.add_log(
        session, record, at=now, kind=LogKind.ROUTED, actor="gateway",
        text=f"分派至 {decision.department.name} (规则: {decision.rule_name})" + (
            f"; 来信所请部门「{decision.requested_department}」不在部门目录中"
            if decision.requested_department else ""),
        data={"decision": decision.as_dict()},
    )
    if related is not None:
        _log_link(session, record, related, mail, now)


def _times(services: Services, record_id: str, urgency: Urgency, decision: Decision,
           now: datetime) -> dict[str, datetime | None]:
    """Opened now: the deadlines, and when the due-check first has something (nothing sent)."""
    if decision.deadlines is None:
        return _SAME_INSTANT.times(services, record_id, urgency, now)
    return _opening_times(services, record_id, urgency, decision.deadlines, now)


def _opening_times(services: Services, record_id: str, urgency: Urgency,
                   overrides: Any, now: datetime) -> dict[str, datetime | None]:
    response, resolution = record_deadlines(now, urgency, services.policy, services.calendar,
                                            overrides)
    clock = RecordClock(record_id, urgency, now, response.at, resolution.at)
    return {"created_at": now, "due_at": response.at, "resolve_due_at": resolution.at,
            "next_check_at": next_check(clock, set(), services.chase, services.calendar)}


class _SameInstant:
    """The times of records opened at one instant, by urgency, under one set of policies.

    The mails stored together in one transaction share its `now`, and a record's times
    depend on nothing else of it unless its rule overrides the deadlines: each urgency's
    times are worked out once per group, not once per mail.
    """

    def __init__(self) -> None:
        self._now: datetime | None = None
        self._policies: tuple[object, ...] = (None, None, None)
        self._times: dict[Urgency, dict[str, datetime | None]] = {}

    def times(self, services: Services, record_id: str, urgency: Urgency, now: datetime
              ) -> dict[str, datetime | None]:
        policies = (services.policy, services.chase, services.calendar)
        if now != self._now or any(
                mine is not theirs for mine, theirs in zip(self._policies, policies, strict=True)):
            self._now, self._policies, self._times = now, policies, {}
        if urgency not in self._times:
            self._times[urgency] = _opening_times(services, record_id, urgency, None, now)
        return self._times[urgency]


_SAME_INSTANT = _SameInstant()


def _log_link(
    session: Session, record: RecordRow, related: Record, mail: InboundMail, now: datetime
) -> None:
    """Both records say why they are linked; the other record's content stays where it is."""
    sender = mail.from_addr.addr
    records.add_log(session, record, at=now, kind=LogKind.LINKED, actor="gateway",
                    text=f"关联记录 {related.id}: 来信引用了该记录, 发件人不是其发起方或参与方, "
                         "另建本记录", data={"related_to": related.id})
    records.add_log(session, related, at=now, kind=LogKind.LINKED, actor=sender,
                    text=f"{sender} 的来信引用本记录, 但不是本记录的发起方或参与方: "
                         f"已另建记录 {record.id}", data={"linked_record": record.id})


def _queue_answers(
    session: Session,
    services: Services,
    record: RecordRow,
    mail: InboundMail,
    decision: Decision,
    original: bytes,
    now: datetime,
) -> tuple[str, ...]:
    context = template_context(services, record, mail, decision)
    queued = []
    reply_to = mail.answer_to
    ack = admit(session, mail, reply_to.addr, services.identity, services.auto_reply_cap,
                now, "ack")
    if ack.allowed:
        queued.append(queue_mail(
            session, services, decision.ack_template, to=(reply_to,), context=context,
            cause=(record.id, "ack"), kind="ack", record=record, reply_to=mail,
            auto_submitted="auto-replied", what="回执", now=now,
        ).message_id)
    else:
        records.add_log(session, record, at=now, kind=LogKind.NO_ACK, actor="gateway",
                        text=f"未发送回执: {ack.reason}")
    notify_to, cc = _notified(decision)
    if notify_to:
        queued.append(queue_mail(
            session, services, decision.notify_template, to=notify_to, cc=cc,
            context=context, cause=(record.id, "notify"), kind="notify", record=record,
            reply_to=mail, original=original, what="通知", now=now,
        ).message_id)
    else:
        records.add_log(session, record, at=now, kind=LogKind.WARNING, actor="gateway",
                        text=f"{decision.department.name} 没有登记邮箱, 未发送通知")
    return tuple(queued)


def _notified(decision: Decision) -> tuple[list[Address], tuple[Address, ...]]:
    """Who gets the notice with the original: the department and owner, copies as ruled.

    A 涉密 record's original goes to its owner alone (the head when the rule names none),
    never to a department-wide mailbox nor to copies.
    """
    if decision.archive_class == CLASSIFIED:
        person = decision.owner or decision.department.head
        return ([person] if person else []), ()
    notify_to = [*decision.department.mailbox_addresses]
    if decision.owner and decision.owner.addr not in {a.addr for a in notify_to}:
        notify_to.append(decision.owner)
    return notify_to, tuple(decision.cc)

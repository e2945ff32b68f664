"""审核 by mail: approvers asked one after another, their answers applied, silence escalated."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.alerts.channels import AlertEvent
from gateway.closedloop.approval import Answer, Approver, Verdict, escalation_target
from gateway.db import notices, records
from gateway.db import outbound as store
from gateway.db.models import Approval, Record
from gateway.deadlines.chase import ChasePolicy, NoticeKind, RecordClock, due
from gateway.errors import Duplicate
from gateway.model import Address, LogKind, Status, Urgency
from gateway.usecases.alerts import queue_alert
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Services
from gateway.usecases.transmit import draft_files, outbound_view, sender_of, transmit
from gateway.vocabulary import APPROVAL_LEVEL_LABELS, APPROVAL_LEVEL_WORDS

log = logging.getLogger(__name__)


def chain_of(record: Record) -> list[Approver]:
    return [Approver(APPROVAL_LEVEL_WORDS[label], Address(name, addr))
            for label, name, addr in (record.outbound or {}).get("chain", [])]


def approval_waiting(session: Session, services: Services, record: Record, approval: Approval,
                     now: datetime) -> None:
    """An approval starts waiting: the approver's group chats hear of it (approval_waiting)."""
    log.info("%s waits for approval by %s (%s)", record.id, approval.approver_addr,
             approval.level)
    who = approval.approver_name or approval.approver_addr
    label = APPROVAL_LEVEL_LABELS.get(approval.level, approval.level)
    queue_alert(session, services, record, AlertEvent.APPROVAL_WAITING, now,
                deadline=approval.due_at, detail=f"待{label}审核: {who}")


def ask(session: Session, services: Services, record: Record, step: int, now: datetime) -> None:
    """Send the draft to the approver of `step` (1-based) and wait for the answer."""
    chain = chain_of(record)
    approver = chain[step - 1]
    data = record.outbound or {}
    due = services.calendar.add(
        now, services.outbound.approval_deadlines[Urgency(record.urgency)]).at
    approval = store.add_approval(
        session, record, round=data.get("round", 1), step=step, level=approver.level,
        approver_addr=approver.address.addr, approver_name=approver.address.name,
        requested_at=now, due_at=due)
    context = outbound_view(services, record, approver=approver.address.name or approver.address.addr,
                            level=approver.label, step=step,
                            deadline=due.astimezone(services.calendar.tz))
    queued = queue_mail(
        session, services, "approval_request", to=[approver.address], context=context,
        cause=(record.id, "approval", data.get("round", 1), step), kind="approval_request",
        record=record, attachments=draft_files(session, record), what=f"{approver.label}审核请求",
        log_kind=LogKind.APPROVAL, now=now,
    )
    approval.request_message_id = queued.message_id
    record.status = Status.AWAITING_APPROVAL.value
    approval_waiting(session, services, record, approval, now)


def answer(session: Session, services: Services, record: Record, approval: Approval,
           reply: Answer, mail_id: str, now: datetime) -> None:
    """Apply the approver's answer: the next level, the transmission, or back to the sender."""
    approval.decision = reply.verdict.value
    approval.decided_at = now
    approval.comment = reply.comment or None
    who = approval.approver_name or approval.approver_addr
    chain = chain_of(record)
    label = chain[approval.step - 1].label
    records.add_log(
        session, record, at=now, kind=LogKind.APPROVAL, actor=approval.approver_addr,
        text=f"{label} {who} {'同意' if reply.verdict is Verdict.APPROVE else '驳回'}"
             + (f": {reply.comment}" if reply.comment else ""),
        data={"by": approval.approver_addr, "decision": reply.verdict.value,
              "comment": reply.comment, "step": approval.step, "message_id": mail_id})
    if reply.verdict is Verdict.REJECT:
        _return(session, services, record, approval, label, now)
        return
    if reply.edited:
        record.outbound = {**(record.outbound or {}), "text": reply.edited}
        records.add_log(session, record, at=now, kind=LogKind.DRAFT, actor=approval.approver_addr,
                        text=f"{who} 修改了正文后同意", data={"edited": True})
    following = approval.step + 1
    nxt = chain[following - 1] if following <= len(chain) else None
    queue_mail(
        session, services, "approval_decided", to=[sender_of(record)],
        context=outbound_view(services, record, approver=who, level=label, reason=reply.comment,
                              next=f"{nxt.label} {nxt.address.name or nxt.address.addr}"
                              if nxt else ""),
        cause=(record.id, "approved", approval.round, approval.step), record=record,
        what="审核通过通知", now=now)
    if nxt is not None:
        ask(session, services, record, following, now)
    else:
        transmit(session, services, record, now)


def _return(session: Session, services: Services, record: Record, approval: Approval,
            label: str, now: datetime) -> None:
    record.status = Status.RETURNED.value
    queue_mail(
        session, services, "outbound_returned", to=[sender_of(record)],
        context=outbound_view(services, record, approver=approval.approver_name
                              or approval.approver_addr, level=label,
                              reason=approval.comment or ""),
        cause=(record.id, "returned", approval.round), record=record, what="退回通知", now=now)


def resubmit(session: Session, services: Services, record: Record, text: str,
             draft_message_id: str | None, now: datetime) -> None:
    """The sender's corrected text after a rejection: a new round from the first level.

    `draft_message_id` names the mail whose attachments now go; None keeps the earlier ones.
    """
    data = dict(record.outbound or {})
    data.update(text=text, round=data.get("round", 1) + 1)
    if draft_message_id:
        data["draft_message_id"] = draft_message_id
    record.outbound = data
    records.add_log(session, record, at=now, kind=LogKind.DRAFT, actor=record.from_addr,
                    text=f"修改后重新提交审核 (第 {data['round']} 轮)", data={"round": data["round"]})
    ask(session, services, record, 1, now)


# --- silence ---------------------------------------------------------------------------------

def chase(services: Services, policy: ChasePolicy, now: datetime) -> list[tuple[str, str]]:
    """Approval deadlines chased like every other: a reminder before, the escalation at the
    deadline, follow-ups at the urgency's cadence; each notice once (its key is stored)."""
    with services.sessions() as session:
        pending = store.all_pending_approvals(session)
        taken = notices.sent_keys(session, sorted({a.record_id for a in pending}))
        work = []
        for a in pending:
            if a.due_at is None:
                continue
            prefix = f"approval:{a.id}:"
            mine = {k.removeprefix(prefix) for k in taken.get(a.record_id, ()) if
                    k.startswith(prefix)}
            record = records.get_record(session, a.record_id)
            clock = RecordClock(a.record_id, Urgency(record.urgency), a.requested_at, a.due_at,
                                None)
            found = due(clock, mine, now, policy, services.calendar)
            if found.send or found.superseded:
                work.append((a.id, a.record_id, found))
    sent = []
    for approval_id, record_id, found in work:
        try:
            with services.sessions.begin() as session:
                sent += _notices(session, services, approval_id, found, now)
        except Duplicate:
            log.info("approval notices of %s were queued by another run", record_id)
    return sent


def _notices(session: Session, services: Services, approval_id: int, found,
             now: datetime) -> list[tuple[str, str]]:
    approval = session.get(Approval, approval_id)
    record = records.get_record(session, approval.record_id)
    prefix = f"approval:{approval.id}:"
    for notice in found.superseded:
        notices.add(session, record.id, key=prefix + notice.key, kind=notice.kind,
                    clock="approval", seq=notice.seq, due_at=notice.due_at, now=now,
                    status="superseded")
    sent = []
    for notice in found.send:
        if notice.kind is NoticeKind.CRITICAL:
            continue  # the request itself is marked 特急
        notices.claim(session, record.id, key=prefix + notice.key, kind=notice.kind,
                      clock="approval", seq=notice.seq, due_at=notice.due_at, now=now,
                      status="sent")
        _notify(session, services, record, approval, notice, now)
        sent.append((record.id, prefix + notice.key))
    return sent


def _notify(session: Session, services: Services, record: Record, approval: Approval,
            notice, now: datetime) -> None:
    directory = services.rules().directory
    approver = Approver(approval.level, Address(approval.approver_name, approval.approver_addr))
    overdue = notice.kind is not NoticeKind.REMINDER
    target = escalation_target(approver, directory.find(record.from_department), directory,
                               services.rules().outbound.officers) if overdue else None
    to = [target] if target else [approver.address]
    cc = [a for a in ((approver.address, sender_of(record)) if overdue else ())
          if a.addr not in {t.addr for t in to}]
    queue_mail(
        session, services, "approval_escalation", to=to, cc=cc,
        context=outbound_view(services, record, approver=approver.address.name or approver.address.addr,
                              level=approver.label, overdue=overdue,
                              deadline=approval.due_at.astimezone(services.calendar.tz)),
        cause=(record.id, "approval", approval.id, notice.kind, notice.seq), record=record,
        parent_id=approval.request_message_id, what="审核超时升级" if overdue else "审核提醒",
        log_kind=LogKind.NOTICE, log_data={"key": f"approval:{approval.id}:{notice.key}"},
        now=now)

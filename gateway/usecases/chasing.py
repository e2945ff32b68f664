"""The due-check job: chase open records, queue their notices, remember what went out."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.alerts.channels import notice_events
from gateway.db import chased, mails, notices, records
from gateway.db.models import Record
from gateway.deadlines.chase import (
    ChasePolicy,
    Due,
    Notice,
    NoticeKind,
    due,
    made_under,
    next_check,
    working_time_left,
)
from gateway.errors import Duplicate
from gateway.model import Address, LogKind
from gateway.usecases import approval
from gateway.usecases.alerts import queue_alert
from gateway.usecases.chase_terms import (
    CHASED,
    CLOCK_LABELS,
    KIND_LABELS,
    format_working_time,
    record_clock,
)
from gateway.usecases.context import record_view
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Services

log = logging.getLogger(__name__)

TEMPLATES = {
    NoticeKind.CRITICAL: "critical",
    NoticeKind.REMINDER: "reminder",
    NoticeKind.ESCALATION: "escalation",
    NoticeKind.FOLLOW_UP: "escalation",
}


@dataclass(frozen=True, slots=True)
class CheckResult:
    sent: tuple[tuple[str, str], ...]  # (record id, notice key) queued for sending
    superseded: tuple[tuple[str, str], ...]
    conflicts: int  # records another run handled first


# Records settled per transaction when the due-check looks at many at once.
CHECK_BATCH = 500
# Records one due-check looks at, at most: after a policy change every chased record is
# looked at again, and the mail loop that runs the check should not stand still meanwhile.
CHECK_LIMIT = 5_000


def recheck_if_policy_changed(services: Services, policy: ChasePolicy, now: datetime) -> int:
    """Have every chased record's check time made again if the chase policy or the working
    calendar changed since the stored ones were made; how many records."""
    with services.sessions.begin() as session:
        count = chased.recheck_unless_made_under(
            session, made_under(policy, services.calendar), CHASED, now)
    if count:
        log.info("chase policy or working calendar changed: %d chased records are checked "
                 "afresh", count)
    return count


def check(services: Services, policy: ChasePolicy, now: datetime) -> CheckResult:
    """Queue every notice due at `now`; one transaction per record that has one.

    Only records whose stored check time has come are read (db/chased.py). Those with
    nothing due get their next check time in one transaction per batch; each record with
    something due is written in its own, so a conflict with an overlapping run costs one.
    """
    with services.sessions() as session:
        candidates = chased.due_for_check(session, now, CHECK_LIMIT)
    work: list[str] = []
    for start in range(0, len(candidates), CHECK_BATCH):
        with services.sessions.begin() as session:
            work += _settle(session, services, policy,
                            candidates[start:start + CHECK_BATCH], now)
    queued, skipped, conflicts = [], [], 0
    for record_id in work:
        try:
            with services.sessions.begin() as session:
                sent, superseded = _chase(session, services, policy, record_id, now)
        except Duplicate:
            conflicts += 1  # an overlapping run recorded these first; its mails stand
            log.info("notices of %s were queued by another run", record_id)
            continue
        queued += sent
        skipped += superseded
    queued += approval.chase(services, policy, now)  # 审核 deadlines, chased alike
    return CheckResult(tuple(queued), tuple(skipped), conflicts)


def _settle(session: Session, services: Services, policy: ChasePolicy,
            record_ids: list[str], now: datetime) -> list[str]:
    """Store the next check time of the records with nothing due; the ids of the others."""
    found = chased.locked(session, record_ids)
    sent = notices.sent_keys(session, [r.id for r in found])
    later: dict[str, datetime | None] = {}
    work = []
    for record in found:
        keys = sent.get(record.id, set())
        if record.status not in CHASED:
            later[record.id] = None
        elif _due(record, keys, now, policy, services):
            work.append(record.id)
        else:
            later[record.id] = next_check(record_clock(record), keys, policy, services.calendar)
    chased.store_next(session, later)
    return work


def _due(record: Record, keys: set[str], now: datetime, policy: ChasePolicy,
         services: Services) -> Due | None:
    found = due(record_clock(record), keys, now, policy, services.calendar)
    return found if found.send or found.superseded else None


def _chase(session: Session, services: Services, policy: ChasePolicy, record_id: str,
           now: datetime) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Queue one record's due notices and store its next check time: (sent, superseded)."""
    (record,) = chased.locked(session, [record_id])
    keys = notices.sent_keys(session, [record_id]).get(record_id, set())
    found = _due(record, keys, now, policy, services) if record.status in CHASED else None
    if found is None:
        record.next_check_at = (next_check(record_clock(record), keys, policy, services.calendar)
                                if record.status in CHASED else None)
        return [], []
    for notice in found.superseded:
        _supersede(session, record, notice, now)
    for notice in found.send:
        _send(session, services, record, notice, now)
    keys |= {n.key for n in (*found.superseded, *found.send)}
    record.next_check_at = next_check(record_clock(record), keys, policy, services.calendar)
    return ([(record_id, n.key) for n in found.send],
            [(record_id, n.key) for n in found.superseded])


def _supersede(session: Session, record: Record, notice: Notice, now: datetime) -> None:
    notices.add(session, record.id, key=notice.key, kind=notice.kind, clock=notice.clock,
                seq=notice.seq, due_at=notice.due_at, now=now, status="superseded")
    records.add_log(session, record, at=now, kind=LogKind.NOTICE_SUPERSEDED, actor="gateway",
                    text=f"{_label(notice)}未单独发送: 已被更晚的提醒取代",
                    data={"key": notice.key})


def _send(session: Session, services: Services, record: Record, notice: Notice,
          now: datetime) -> None:
    to, cc = recipients(record, notice, services.rules().directory)
    # The unique key is claimed here, before any mail is rendered.
    row = notices.claim(session, record.id, key=notice.key, kind=notice.kind,
                        clock=notice.clock, seq=notice.seq, due_at=notice.due_at, now=now,
                        status="sent" if to else "unaddressed")
    if events := notice_events(notice.kind):  # an unaddressed breach needs the chat the most
        queue_alert(session, services, record, events, now, deadline=notice.deadline,
                    detail=_label(notice))
    if not to:
        records.add_log(session, record, at=now, kind=LogKind.WARNING, actor="gateway",
                        text=f"{_label(notice)}无人可发: {record.department} 没有责任人、邮箱或负责人")
        return
    original = mails.first_inbound_message_id(session, record.id)
    queued = queue_mail(
        session, services, TEMPLATES[notice.kind], to=to, cc=cc,
        context=_context(services, record, notice, now),
        cause=(record.id, notice.kind, notice.clock, notice.seq, int(notice.deadline.timestamp())),
        kind=notice.kind, record=record, parent_id=original,
        references=(original,) if original else (), what=_label(notice),
        log_kind=LogKind.NOTICE, log_data={"key": notice.key, "due_at": notice.due_at.isoformat()},
        now=now,
    )
    notices.attach_mail(session, row, queued.mail)


def recipients(record: Record, notice: Notice, directory) -> tuple[list[Address], list[Address]]:
    """(to, cc): the owner (or the department's mailboxes) and, past a breach, the head."""
    department = directory.find(record.department)
    if record.owner_addr:
        owner = [Address(record.owner_name or "", record.owner_addr)]
    elif record.archive_class == "classified":  # 涉密: the head in person, never a mailbox
        owner = []
    else:
        owner = list(department.mailbox_addresses) if department else []
    head = [department.head] if department and department.head else []
    if notice.kind is NoticeKind.REMINDER:
        return owner, []
    if notice.kind is NoticeKind.CRITICAL:
        return (head, owner) if head else (owner, [])
    if not owner:
        return head, []
    return owner, [h for h in head if h.addr not in {o.addr for o in owner}]


def _context(services: Services, record: Record, notice: Notice,
             now: datetime) -> dict[str, Any]:
    tz = services.calendar.tz
    left = working_time_left(notice.deadline, now, services.calendar)
    return {
        "record": record_view(record, tz),
        "notice": {
            "kind": notice.kind.value,
            "label": KIND_LABELS[notice.kind],
            "clock": CLOCK_LABELS[notice.clock],
            "seq": notice.seq,
            "deadline": notice.deadline.astimezone(tz),
            "overdue": notice.deadline <= now,
            "left": format_working_time(abs(left)),
        },
        "department": {"name": record.department},
    }


def _label(notice: Notice) -> str:
    return f"{CLOCK_LABELS[notice.clock]}{KIND_LABELS[notice.kind]}" + (
        f" 第{notice.seq}次" if notice.seq else "")



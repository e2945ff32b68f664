"""发起: a staff mail whose first lines name receivers opens a record the enterprise starts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.closedloop import trust
from gateway.closedloop.approval import approval_chain
from gateway.closedloop.draft import Draft, Receivers, parse_draft, resolve_receivers
from gateway.db import mails, records
from gateway.db import outbound as store
from gateway.db.models import Mail, Record
from gateway.deadlines.duration import Duration
from gateway.model import Address, InboundMail, LogKind, Status, SubjectTag
from gateway.routing.directory import department_of_sender
from gateway.routing.route import is_internal
from gateway.usecases.approval import ask
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Disposition, Result, Services
from gateway.usecases.transmit import outbound_view, transmit

DRAFT_USAGE = (
    "收件人: 名称 <地址>, 部门名称, 群组名称（To:）",
    "抄送: …（Cc:, 可省略）",
    "期望反馈: 3个工作日 / 4小时 / 2026-12-01 17:00（Reply-by:, 可省略）",
    "需反馈: 否（Reply-needed: no, 只通知不催办）",
    "回执: 是（要求已读回执）",
    "其后空一行写正文; 附件随信发出",
)


def draft_of(services: Services, mail: InboundMail, raw: bytes) -> Draft | None:
    """The draft a trusted staff mail carries at its top, else None (handled as today)."""
    sender = mail.from_addr.addr
    rules = services.rules()
    if not sender or not is_internal(sender, rules, services.identity.internal_domains):
        return None
    draft = parse_draft(mail.text)
    if draft is None:
        return None
    verdict = trust.assess(sender, listed_internal=True,
                           auth_results=trust.auth_results_headers(raw),
                           trusted_authserv_id=services.loop.trusted_authserv_id)
    return None if verdict.suspicious else draft


def take(session: Session, services: Services, mail: InboundMail, tag: SubjectTag,
         inbound: dict[str, Any], now: datetime) -> Result | None:
    """Open the record of a draft, or answer what is wrong with it; None when no draft."""
    draft = draft_of(services, mail, inbound["raw"])
    if draft is None:
        return None
    rules = services.rules()
    receivers = resolve_receivers(draft, rules.directory, rules.parties,
                                  services.outbound.groups, services.identity.internal_domains)
    problems = [*draft.problems, *receivers.problems]
    direction = receivers.direction
    rule = rules.outbound.rule_for(direction, receivers.party_kinds, tag.urgency)
    dept = department_of_sender(rules.directory, mail.from_addr.addr)
    chain, missing = approval_chain(rule.levels, mail.from_addr.addr, dept, rules.directory,
                                    rules.outbound.officers)
    if problems or not receivers.all:
        return _refuse(session, services, mail, inbound, problems or ["没有收件人"], now)
    record = _open(session, services, mail, tag, inbound, draft, receivers, now,
                   prefix=rules.outbound.prefix_for(direction, rule), rule=rule.name,
                   chain=[[a.label, a.address.name, a.address.addr] for a in chain],
                   department=dept.name if dept else None,
                   version=rules.versions.get("outbound.toml"))
    if missing:
        records.add_log(session, record, at=now, kind=LogKind.WARNING, actor="gateway",
                        text=f"部门目录未登记审核人「{'、'.join(missing)}」, 该级审核略过")
    queued = queue_mail(
        session, services, "outbound_ack", to=[Address(record.from_name, record.from_addr)],
        context=outbound_view(services, record), cause=(record.id, "outbound_ack"),
        kind="outbound_ack", record=record, reply_to=mail, auto_submitted="auto-replied",
        what="发起回执", now=now)
    if chain:
        ask(session, services, record, 1, now)
    else:
        records.add_log(session, record, at=now, kind=LogKind.APPROVAL, actor="gateway",
                        text=f"无需审核 (规则: {rule.name})", data={"rule": rule.name})
        transmit(session, services, record, now)
    return Result(Disposition.CREATED, record.id, queued=(queued.message_id,))


def _open(session: Session, services: Services, mail: InboundMail, tag: SubjectTag,
          inbound: dict[str, Any], draft: Draft, receivers: Receivers, now: datetime, *,
          prefix: str, rule: str, chain: list, department: str | None,
          version: str | None) -> Record:
    year = now.astimezone(services.calendar.tz).year
    record_id, seq = records.allocate_record_id(session, prefix, year)
    outside = [r for r in receivers.all if r.kind == "outside"]
    involved = [r.label for r in receivers.all if r.kind == "department"]
    record = store.add_record(
        session, id=record_id, prefix=prefix, year=year, seq=seq, direction=receivers.direction.value,
        status=Status.AWAITING_APPROVAL.value if chain else Status.OPEN.value,
        urgency=tag.urgency.value, title=tag.title, subject=mail.subject,
        summary=_summary(draft.body), problem_type="其他", channel="email",
        from_addr=mail.from_addr.addr, from_name=mail.from_addr.name, from_department=department,
        organisation=outside[0].label if outside else None,
        party_kind=outside[0].party_kind if outside else None,
        department="、".join(receivers.labels), owner_addr=mail.from_addr.addr,
        owner_name=mail.from_addr.name or None, cc=[],
        departments=list(dict.fromkeys([*([department] if department else []), *involved])),
        sent_at=mail.date or now, created_at=now, due_at=None, resolve_due_at=None,
        rule_name=rule, rule_file="outbound.toml", rule_version=version,
        outbound={
            "to": list(draft.to), "cc": list(draft.cc),
            "receivers": [_receiver(r, role) for role, group in (("to", receivers.to),
                                                               ("cc", receivers.cc))
                          for r in group],
            "reply_needed": draft.reply_needed, "receipt": draft.receipt,
            "reply_by": _reply_by(draft), "text": draft.body, "round": 1, "rule": rule,
            "chain": chain, "draft_message_id": mail.message_id,
            "attachments": [a.filename for a in mail.attachments],
        },
    )
    mails.add_inbound(session, Mail(**inbound, record_id=record.id))
    records.add_log(session, record, at=now, kind=LogKind.CREATED, actor=mail.from_addr.addr,
                    text=f"发起: {mail.subject}", data={"message_id": mail.message_id})
    approvers = " → ".join(f"{c[0]} {c[1] or c[2]}" for c in chain) or "无需审核"
    records.add_log(session, record, at=now, kind=LogKind.DRAFT, actor=mail.from_addr.addr,
                    text=f"接收方: {record.department}; 审核: {approvers} (规则: {rule})",
                    data={"to": list(draft.to), "cc": list(draft.cc), "rule": rule})
    return record


def _receiver(receiver, role: str) -> dict[str, Any]:
    return {"role": role, "kind": receiver.kind, "label": receiver.label,
            "party_kind": receiver.party_kind, "written": receiver.written,
            "addresses": [[a.name, a.addr] for a in receiver.addresses]}


def _reply_by(draft: Draft) -> str | None:
    if draft.reply_by is None:
        return None
    if isinstance(draft.reply_by, Duration):
        return str(draft.reply_by)
    return draft.reply_by.strftime("%Y-%m-%d %H:%M")


def _summary(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:199] + "…"


def _refuse(session: Session, services: Services, mail: InboundMail, inbound: dict[str, Any],
            problems: list[str], now: datetime) -> Result:
    """Nothing opens: the mail is kept, and the sender told what to mend."""
    mails.add_inbound(session, Mail(**{**inbound, "kind": "draft_refused"}))
    context = {"outbound": {"record_id": None, "subject": mail.subject,
                            "problem_title": "未能发起", "problems": problems,
                            "usage": list(DRAFT_USAGE)}}
    queued = queue_mail(
        session, services, "outbound_problem", to=[mail.from_addr], context=context,
        cause=(mail.message_id, "draft_refused"), kind="outbound_problem", reply_to=mail,
        auto_submitted="auto-replied", what="发起失败说明", now=now)
    return Result(Disposition.IGNORED, reason="draft refused: " + "; ".join(problems),
                  queued=(queued.message_id,))

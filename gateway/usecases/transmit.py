"""传递: a message the enterprise starts goes out from the official address, recorded per recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.closedloop.draft import parse_reply_by
from gateway.db import outbound as store
from gateway.db import records
from gateway.db.models import Record
from gateway.deadlines.duration import Duration
from gateway.deadlines.policy import record_deadlines
from gateway.mail.attachments import attached_files
from gateway.model import Address, LogKind, Status, Urgency
from gateway.outgoing.mime import AttachedFile
from gateway.usecases.context import record_view
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Services


def receivers_of(record: Record, role: str | None = None) -> list[tuple[dict[str, Any], Address]]:
    """(receiver, address) for each address the message goes to, To first."""
    out = []
    for receiver in (record.outbound or {}).get("receivers", []):
        if role is None or receiver["role"] == role:
            out += [(receiver, Address(name, addr)) for name, addr in receiver["addresses"]]
    return out


def sender_of(record: Record) -> Address:
    return Address(record.from_name or "", record.from_addr)


def receivers_text(record: Record, role: str = "to") -> str:
    """客户A公司 (王经理 <a@customer.example>), 生产部: for people, in mails and the register."""
    parts = []
    for receiver in (record.outbound or {}).get("receivers", []):
        if receiver["role"] != role:
            continue
        shown = ", ".join(str(Address(n, a)) for n, a in receiver["addresses"])
        parts.append(receiver["label"] if receiver["kind"] in ("department", "group")
                     else f"{receiver['label']} ({shown})" if receiver["label"] != shown
                     else shown)
    return ", ".join(parts)


def outbound_view(services: Services, record: Record, **extra: Any) -> dict[str, Any]:
    """What the outbound templates see: `record` and `outbound`, plain values only."""
    data = record.outbound or {}
    tz = services.calendar.tz
    expected = record.due_at.astimezone(tz) if record.due_at else None
    view = {
        "text": data.get("text", ""), "receivers": receivers_text(record),
        "cc": receivers_text(record, "cc"), "sender": record.from_name or record.from_addr,
        "from_department": record.from_department, "outside": record.direction == "outbound",
        "approver": "", "level": "", "step": 0, "steps": len(data.get("chain", [])),
        "approvers": [f"{c[0]} {c[1] or c[2]}" for c in data.get("chain", [])],
        "next": "", "rule": data.get("rule", ""), "reason": "", "deadline": None, "note": "",
        "overdue": True,
        "reply_needed": data.get("reply_needed", True), "cc_sender": services.outbound.cc_sender,
        "expected": expected, "author": "", "feedback": "",
        "sent_at": record.transmitted_at.astimezone(tz) if record.transmitted_at else None,
        "attachments": data.get("attachments", []),
        "report": {"addr": "", "action": "", "status": "", "diagnostic": ""},
    }
    view.update(extra)
    return {"record": record_view(record, tz), "outbound": view}


def draft_files(session: Session, record: Record) -> list[AttachedFile]:
    """The attachments of the sender's latest draft, to go with the message."""
    message_id = (record.outbound or {}).get("draft_message_id")
    raw = store.inbound_raw(session, message_id) if message_id else None
    return [AttachedFile(part.filename or "attachment", part.content_type, part.data)
            for part in attached_files(raw or b"")]


def expected_feedback(services: Services, record: Record, now: datetime) -> datetime | None:
    """预计反馈时间: as the draft asked, else from the urgency; None when no answer is wanted."""
    data = record.outbound or {}
    if not data.get("reply_needed", True):
        return None
    written = data.get("reply_by")
    if written:
        asked = parse_reply_by(written)
        if isinstance(asked, Duration):
            return services.calendar.add(now, asked).at
        return asked.replace(tzinfo=services.calendar.tz)
    response, _ = record_deadlines(now, Urgency(record.urgency), services.policy,
                                   services.calendar)
    return response.at


def transmit(session: Session, services: Services, record: Record, now: datetime) -> str:
    """Send the approved (or unreviewed) message; returns its Message-ID."""
    data = dict(record.outbound or {})
    to = [a for _, a in receivers_of(record, "to")]
    cc = [a for _, a in receivers_of(record, "cc")]
    sender = sender_of(record)
    if services.outbound.cc_sender and sender.addr not in {a.addr for a in (*to, *cc)}:
        cc.append(sender)
    record.status = Status.OPEN.value
    record.transmitted_at = now
    record.due_at = expected_feedback(services, record, now)
    gateway_addr = services.identity.from_addr.addr
    headers = {"Reply-To": gateway_addr}
    if data.get("receipt"):
        headers["Disposition-Notification-To"] = gateway_addr
    queued = queue_mail(
        session, services, "outbound_message", to=to, cc=cc,
        context=outbound_view(services, record), cause=(record.id, "transmit", data.get("round", 1)),
        kind="outbound_message", record=record, attachments=draft_files(session, record),
        auto_submitted="no", what="传递", log_kind=LogKind.TRANSMITTED, extra_headers=headers,
        now=now,
    )
    for role, addresses in (("to", receivers_of(record, "to")), ("cc", receivers_of(record, "cc"))):
        for receiver, address in addresses:
            store.add_transmission(session, record, queued.mail, message_id=queued.message_id,
                                   addr=address.addr, name=address.name, role=role,
                                   label=receiver["label"])
    data["message_id"] = queued.message_id
    record.outbound = data
    expected = record.due_at.astimezone(services.calendar.tz).strftime("%Y-%m-%d %H:%M") if (
        record.due_at) else "-"
    records.add_log(session, record, at=now, kind=LogKind.STATUS, actor="gateway",
                    text=f"已传递, 预计反馈时间 {expected}",
                    data={"message_id": queued.message_id, "receipt": bool(data.get("receipt"))})
    return queued.message_id

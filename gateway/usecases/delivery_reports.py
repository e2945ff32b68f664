"""Delivery reports (DSN) and read receipts (MDN) tied to the message they report on."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.db import mails, records
from gateway.db import outbound as store
from gateway.db.models import Mail
from gateway.mail.dsn import DeliveryReport, RecipientReport, read_report
from gateway.model import InboundMail, LogKind
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Disposition, Result, Services
from gateway.usecases.transmit import outbound_view, sender_of

_ACTIONS = {"failed": "投递失败", "delayed": "投递延迟", "delivered": "已投递",
            "relayed": "已转交", "expanded": "已展开"}


def take(session: Session, services: Services, mail: InboundMail, raw: bytes,
         row: Callable[[], Mail], now: datetime) -> Result | None:
    """Store a report on a message the gateway sent and apply it; None for any other mail."""
    if b"multipart/report" not in raw[:65536].lower():
        return None
    report = read_report(raw)
    if report is None or not report.original_message_id:
        return None
    record = store.record_of_outgoing(session, report.original_message_id)
    if record is None:
        return None
    stored = row()
    stored.kind = report.kind
    stored.record = record
    mails.add_inbound(session, stored)
    sent = store.transmissions_for_message(session, report.original_message_id)
    queued = []
    for line in report.recipients:
        matching = [t for t in sent if t.addr == line.addr] or (list(sent) if len(sent) == 1 else [])
        for transmission in matching:
            _apply(transmission, report, line, now)
        records.add_log(
            session, record, at=now, kind=LogKind.DELIVERY, actor=line.addr or mail.from_addr.addr,
            text=_text(report, line), mail=stored,
            data={"kind": report.kind, "addr": line.addr, "action": line.action,
                  "status": line.status, "message_id": report.original_message_id})
        if report.kind == "dsn" and line.action in ("failed", "delayed") and matching:
            queued.append(queue_mail(
                session, services, "outbound_delivery", to=[sender_of(record)],
                context=outbound_view(services, record, report={
                    "addr": line.addr, "action": line.action, "status": line.status,
                    "diagnostic": line.diagnostic}),
                cause=(record.id, "dsn", mail.message_id, line.addr), kind="outbound_delivery",
                record=record, what="投递失败通知", now=now).message_id)
    return Result(Disposition.APPENDED, record.id, queued=tuple(queued))


def _apply(transmission, report: DeliveryReport, line: RecipientReport, now: datetime) -> None:
    if report.kind == "dsn":
        transmission.dsn_action = line.action[:16]
        transmission.dsn_status = line.status[:16] or None
        transmission.dsn_diagnostic = line.diagnostic or None
        transmission.dsn_at = now
    else:
        transmission.mdn_disposition = line.action[:64]
        transmission.mdn_at = now


def _text(report: DeliveryReport, line: RecipientReport) -> str:
    if report.kind == "mdn":
        return f"已读回执: {line.addr} ({line.action})"
    what = _ACTIONS.get(line.action, line.action)
    detail = f" {line.status}" if line.status else ""
    return f"投递报告: {line.addr} {what}{detail}" + (
        f" ({line.diagnostic})" if line.diagnostic else "")

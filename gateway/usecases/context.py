"""What templates and scripts see of a record: plain values, never objects that could run."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from gateway.closedloop.channels import channel_labels
from gateway.db.models import Record
from gateway.db.records import RecordRow
from gateway.model import InboundMail, LogKind, Status, Urgency

if TYPE_CHECKING:
    from gateway.routing.route import Decision
    from gateway.usecases.services import Services


def mail_view(mail: InboundMail) -> dict[str, Any]:
    return {"subject": mail.subject, "from_addr": mail.from_addr, "text": mail.text,
            "attachments": mail.attachments, "date": mail.date}


def template_context(
    services: Services, record: Record | RecordRow, mail: InboundMail, decision: Decision
) -> dict[str, Any]:
    """Plain data for templates: values only, so nothing from a mail is ever run as a template.

    The shared `gateway` block is the Renderer's to add.
    """
    return {
        "record": record_view(record, services.calendar.tz),
        "mail": mail_view(mail),
        "party": decision.party,
        "department": decision.department,
    }


def record_view(record: Record | RecordRow, tz) -> dict[str, Any]:
    return {
        "id": record.id,
        "title": record.title,
        "subject": record.subject,
        "urgency": Urgency(record.urgency),
        "status": Status(record.status),
        "department": record.department,
        "owner": record.owner_name or record.owner_addr,
        "owner_addr": record.owner_addr,
        "problem_type": record.problem_type,
        "summary": record.summary,
        "organisation": record.organisation,
        "from_addr": record.from_addr,
        "from_name": record.from_name,
        "from_department": record.from_department,
        "related_to": record.related_to,
        "requested_department": record.requested_department,
        "created_at": record.created_at.astimezone(tz),
        "due_at": record.due_at.astimezone(tz) if record.due_at else None,
        "resolve_due_at": record.resolve_due_at.astimezone(tz) if record.resolve_due_at else None,
    }


def as_json(record: Record, *, with_log: bool = False) -> dict[str, Any]:
    """The stable JSON shape of a record for `records list/show --json` and scripts."""
    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    data: dict[str, Any] = {
        "id": record.id,
        "urgency": record.urgency,
        "urgency_label": Urgency(record.urgency).label,
        "department": record.department,
        "departments": list(record.departments),
        "title": record.title,
        "subject": record.subject,
        "from_addr": record.from_addr,
        "from_name": record.from_name,
        "organisation": record.organisation,
        "from_department": record.from_department,
        "direction": record.direction,
        "status": record.status,
        "status_label": Status(record.status).label,
        "owner": record.owner_addr,
        "owner_name": record.owner_name,
        "problem_type": record.problem_type,
        "summary": record.summary,
        "channels": channel_labels(record.channel),  # 传递方式, e.g. ["邮件", "电话"]
        "archive_class": record.archive_class,
        "rating": record.rating,
        "rating_comment": record.rating_comment,
        "rated_at": iso(record.rated_at),
        "resolution": record.resolution,
        "rule": record.rule_name,
        "sent_at": iso(record.sent_at),
        "created_at": iso(record.created_at),
        "due_at": iso(record.due_at),
        "resolve_due_at": iso(record.resolve_due_at),
        "first_response_at": iso(record.first_response_at),
        "resolved_at": iso(record.resolved_at),
        "closed_at": iso(record.closed_at),
        "related_to": record.related_to,
        "requested_department": record.requested_department,
        "project": record.project,
        "remarks": record.remarks,
    }
    data.update(outbound_json(record, iso))
    if with_log:
        data["log"] = [
            {"at": iso(e.at), "kind": e.kind, "kind_label": LogKind(e.kind).label,
             "actor": e.actor, "text": e.text,
             "mail_id": e.mail_id}
            for e in record.log
        ]
    return data


def outbound_json(record: Record, iso) -> dict[str, Any]:
    """发起部门, 审核 and 传递 of a record (empty for mail from outside)."""
    sent = [t for t in record.transmissions]
    return {
        "from_department": record.from_department,
        "transmitted_at": iso(record.transmitted_at),
        "approvals": [
            {"by": a.approver_addr, "name": a.approver_name, "level": a.level,
             "decision": a.decision, "at": iso(a.decided_at), "comment": a.comment,
             "requested_at": iso(a.requested_at), "round": a.round}
            for a in record.approvals if a.decision != "pending"],
        "approval_pending": [
            {"by": a.approver_addr, "level": a.level, "requested_at": iso(a.requested_at),
             "due_at": iso(a.due_at)} for a in record.approvals if a.decision == "pending"],
        "recipients": list(dict.fromkeys(t.addr for t in sent)),
        "transmissions": [
            {"addr": t.addr, "name": t.name, "role": t.role, "label": t.label,
             "channel": t.channel, "sent_at": iso(t.outbox.sent_at if t.outbox else None),
             "accepted": t.accepted,
             "smtp_reply": (t.outbox.refused or {}).get(t.addr) if t.outbox else None,
             "dsn": t.dsn_action, "dsn_status": t.dsn_status, "dsn_at": iso(t.dsn_at),
             "read_at": iso(t.mdn_at), "read": t.mdn_disposition}
            for t in sent],
    }

"""What the CLI shows people: routing explanations, record listings, a record's thread."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, tzinfo
from typing import Any

from gateway.errors import ParseError
from gateway.mail.parse import parse_mail
from gateway.mail.subject import parse_subject
from gateway.model import Status, Urgency
from gateway.routing.route import route
from gateway.routing.ruleset import RuleSet


def explain_mail(raw: bytes, rules: RuleSet, internal_domains: Collection[str]) -> dict[str, Any]:
    """How one mail would be read and routed, as data plus the lines a person reads."""
    try:
        mail = parse_mail(raw)
    except ParseError as exc:
        return {"error": f"unparseable: {exc}", "decision": None,
                "lines": [f"unparseable, would be quarantined: {exc}"]}
    tag = parse_subject(mail.subject, rules.directory.names)
    decision = route(mail, tag, rules, internal_domains=internal_domains)
    lines = [
        f"subject:    {mail.subject}",
        f"from:       {mail.from_addr}",
        f"urgency:    {tag.urgency.label} ({tag.urgency.value})"
        + ("" if tag.urgency_tagged else ", no tag"),
        f"department: {tag.department or '-'}",
        f"title:      {tag.title}",
    ]
    if tag.record_id:
        lines.append(f"record id:  {tag.record_id} (a reply: threads into that record)")
    if mail.auto:
        lines.append(f"automatic:  {mail.auto.value} ({mail.auto_reason}); no acknowledgement")
    lines += decision.explain()
    return {
        "subject": mail.subject,
        "message_id": mail.message_id,
        "urgency": tag.urgency.value,
        "department": tag.department,
        "title": tag.title,
        "record_id": tag.record_id,
        "prefixes": list(tag.prefixes),
        "auto_reply": mail.auto is not None,
        "auto": mail.auto.value if mail.auto else None,
        "decision": decision.as_dict(),
        "lines": lines,
    }


def _local(value: str | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromisoformat(value).astimezone(tz).strftime(fmt) if value else "-"


def format_list(rows: Sequence[dict[str, Any]], tz: tzinfo) -> list[str]:
    lines = [f"{'信息编号':<12} {'状态':<4} {'紧急':<3} {'预计反馈':<16} {'部门':<8} 主题"]
    for r in rows:
        lines.append(
            f"{r['id']:<16} {r['status_label']:<5} {r['urgency_label']:<4} "
            f"{_local(r['due_at'], tz):<20} {r['department']:<8} {r['title']}"
        )
    lines.append(f"{len(rows)} record(s)")
    return lines


def format_record(data: dict[str, Any], tz: tzinfo) -> list[str]:
    lines = [
        f"{data['id']}  {data['title']}",
        f"  信息主题   {data['subject']}",
        f"  发起人     {data['from_name']} <{data['from_addr']}>"
        + (f"  {data['organisation']}" if data["organisation"] else ""),
        f"  接收部门   {data['department']}  责任人 {_owner(data)}",
        f"  涉及部门   {'、'.join(data['departments']) or '-'}",
        f"  紧急程度   {Urgency(data['urgency']).label}   问题类型 {data['problem_type']}",
        f"  处理状态   {Status(data['status']).label}",
        f"  发起时间   {_local(data['sent_at'], tz)}   受理 {_local(data['created_at'], tz)}",
        f"  预计反馈   {_local(data['due_at'], tz)}   实际反馈 {_local(data['first_response_at'], tz)}",
        f"  完成时间   {_local(data['resolved_at'], tz)}   关闭 {_local(data['closed_at'], tz)}",
        f"  解决方案   {data['resolution'] or '-'}",
        f"  满意度     {_rating(data)}",
        f"  内容摘要   {data['summary']}",
        "  沟通记录",
    ]
    for entry in data.get("log", []):
        kind = entry["kind_label"]
        text = entry["text"].replace("\n", "\n" + " " * 8)
        lines.append(f"    {_local(entry['at'], tz)}  {kind:<5} {entry['actor']}: {text}")
    return lines


def _owner(data: dict[str, Any]) -> str:
    name, addr = data.get("owner_name"), data["owner"]
    return f"{name} <{addr}>" if name and addr else addr or "-"


def _rating(data: dict[str, Any]) -> str:
    if data["rating"] is None:
        return "-"
    comment = f"  {data['rating_comment']}" if data.get("rating_comment") else ""
    return f"{data['rating']} 分{comment}"

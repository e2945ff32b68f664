"""What the CLI shows people: record listings and a record's thread."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from gateway.model import Status, Urgency


def _local(value: str | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromisoformat(value).astimezone(tz).strftime(fmt) if value else "-"


def format_list(rows: Sequence[dict[str, Any]], tz: tzinfo) -> list[str]:
    lines = [f"{'信息编号':<12} {'状态':<4} {'紧急':<3} {'预计反馈':<16} {'部门':<8} "
             f"{'发起部门':<8} 主题"]
    for r in rows:
        origin = r.get("from_department") or r.get("organisation") or "-"
        lines.append(
            f"{r['id']:<16} {r['status_label']:<5} {r['urgency_label']:<4} "
            f"{_local(r['due_at'], tz):<20} {r['department']:<8} {origin:<8} {r['title']}"
        )
    lines.append(f"{len(rows)} record(s)")
    return lines


def format_record(data: dict[str, Any], tz: tzinfo) -> list[str]:
    lines = [
        f"{data['id']}  {data['title']}",
        f"  信息主题   {data['subject']}",
        f"  发起人     {data['from_name']} <{data['from_addr']}>"
        + (f"  {data['organisation']}" if data["organisation"] else ""),
        f"  发起部门   {data.get('from_department') or data['organisation'] or '-'}",
        f"  接收部门   {data['department']}  责任人 {_owner(data)}"
        + (f"  (来信所请部门: {data['requested_department']}, 目录中没有)"
           if data.get("requested_department") else ""),
        f"  涉及部门   {'、'.join(data['departments']) or '-'}",
        f"  紧急程度   {Urgency(data['urgency']).label}   问题类型 {data['problem_type']}",
        f"  处理状态   {Status(data['status']).label}   传递方式 {'+'.join(data.get('channels', [])) or '-'}",
        f"  发起时间   {_local(data['sent_at'], tz)}   受理 {_local(data['created_at'], tz)}",
        f"  预计反馈   {_local(data['due_at'], tz)}   实际反馈 {_local(data['first_response_at'], tz)}",
        f"  完成时间   {_local(data['resolved_at'], tz)}   关闭 {_local(data['closed_at'], tz)}",
        f"  解决方案   {data['resolution'] or '-'}",
        f"  满意度     {_rating(data)}",
        f"  内容摘要   {data['summary']}",
        *([f"  关联记录   {data['related_to']}"] if data.get("related_to") else []),
        *([f"  关联项目   {data['project']}"] if data.get("project") else []),
        *([f"  备注       {data['remarks']}"] if data.get("remarks") else []),
    ]
    lines += format_started(data, tz)
    lines.append("  沟通记录")
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


_DECISIONS = {"approve": "同意", "reject": "驳回"}


def format_started(data: dict[str, Any], tz: tzinfo) -> list[str]:
    """审核 and 传递记录 of a record the enterprise started; nothing for mail from outside."""
    if not data.get("approvals") and not data.get("transmissions") and not data.get(
            "approval_pending"):
        return []
    lines = [f"  发起部门   {data.get('from_department') or '-'}   "
             f"传递时间 {_local(data.get('transmitted_at'), tz)}"]
    for a in data.get("approvals", []):
        lines.append(f"  审核       {_local(a['at'], tz)}  {a['name'] or a['by']}: "
                     f"{_DECISIONS.get(a['decision'], a['decision'])}"
                     + (f"  {a['comment']}" if a.get("comment") else ""))
    for a in data.get("approval_pending", []):
        lines.append(f"  待审核     {a['by']}  时限 {_local(a['due_at'], tz)}")
    for t in data.get("transmissions", []):
        accepted = {True: "服务器已接收", False: f"被拒收 {t.get('smtp_reply') or ''}",
                    None: "排队中"}[t["accepted"]]
        extra = (f"  投递报告 {t['dsn']} {t.get('dsn_status') or ''}" if t.get("dsn") else "") + (
            f"  已读 {_local(t['read_at'], tz)}" if t.get("read_at") else "")
        lines.append(f"  传递记录   {t['role']} {t['addr']}  {_local(t['sent_at'], tz)}  "
                     f"{accepted}{extra}")
    return lines

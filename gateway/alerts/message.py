"""What an alert says, and the message body each robot expects (text, with an @-mention)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.alerts.channels import AlertEvent, RobotKind

TITLE_LENGTH = 120  # WeCom takes 2048 bytes of text; a long title must not crowd out the rest
CLASSIFIED_NOTE = "涉密事项: 详情仅见邮件"


@dataclass(frozen=True, slots=True)
class Mention:
    """Whom to @-mention: DingTalk and WeCom by mobile, Feishu by open_id/user_id only."""

    name: str
    mobile: str | None = None
    feishu_id: str | None = None


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert about one record, in the words people read."""

    event: AlertEvent
    record_id: str
    urgency: str  # 普通 / 紧急 / 特急
    department: str | None
    title: str
    owner: str  # "李强 <li.qiang@corp.example>", or "" when nobody owns it yet
    deadline: str  # local time as people write it, or ""
    classified: bool = False  # 涉密: the alert names only the record id and urgency
    detail: str | None = None  # e.g. which deadline passed
    mention: Mention | None = None


def alert_text(alert: Alert) -> str:
    head = f"【{alert.event.label}】{alert.record_id} {alert.urgency}"
    if alert.classified:
        return f"{head}\n{CLASSIFIED_NOTE}"
    title = alert.title if len(alert.title) <= TITLE_LENGTH else alert.title[:TITLE_LENGTH - 1] + "…"
    lines = [head]
    if alert.detail:
        lines.append(alert.detail)
    lines += [
        f"部门: {alert.department or '未定'}",
        f"标题: {title}",
        f"责任人: {alert.owner or '未指定'}",
        f"期限: {alert.deadline or '无'}",
    ]
    return "\n".join(lines)


def alert_body(kind: RobotKind, alert: Alert) -> dict[str, Any]:
    """The robot's JSON body for `alert`; a 涉密 alert mentions nobody (a name says too much)."""
    return text_body(kind, alert_text(alert), None if alert.classified else alert.mention)


def text_body(kind: RobotKind, text: str, mention: Mention | None = None) -> dict[str, Any]:
    """A text message as each vendor's webhook documentation shapes it."""
    if kind is RobotKind.WECOM:
        content: dict[str, Any] = {"content": text}
        if mention and mention.mobile:
            content["mentioned_mobile_list"] = [mention.mobile]
        return {"msgtype": "text", "text": content}
    if kind is RobotKind.DINGTALK:
        mobiles = [mention.mobile] if mention and mention.mobile else []
        # DingTalk shows the @ only where "@mobile" is written in the text as well.
        shown = text + "".join(f"\n@{m}" for m in mobiles)
        return {"msgtype": "text", "text": {"content": shown},
                "at": {"atMobiles": mobiles, "isAtAll": False}}
    if mention and mention.feishu_id:
        text += f'\n<at user_id="{_attr(mention.feishu_id)}">{_attr(mention.name)}</at>'
    return {"msg_type": "text", "content": {"text": text}}


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")

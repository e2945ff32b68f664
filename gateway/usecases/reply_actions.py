"""What each reply command does to a record: one handler per row of reply_commands.COMMANDS."""

from __future__ import annotations

from collections.abc import Callable

from gateway.closedloop.lifecycle import Event, status_event
from gateway.closedloop.reply_commands import Command
from gateway.deadlines.policy import record_deadlines
from gateway.model import LogKind, Urgency
from gateway.usecases import archiving
from gateway.usecases.reassign import add_remark, reassign_department
from gateway.usecases.reply_calls import log_call
from gateway.usecases.reply_context import ReplyContext
from gateway.usecases.reply_minutes import store_minutes

# A handler changes the record and logs it; a status command instead returns its lifecycle
# event, which the caller runs after every field change of the same mail (so a 解决方案 given
# together with 已完成 is already in the closure receipt).
Handler = Callable[[ReplyContext, Command], Event | None]


def set_status(ctx: ReplyContext, command: Command) -> Event:
    return status_event(command.value)


def set_owner(ctx: ReplyContext, command: Command) -> None:
    record, owner = ctx.record, command.value
    before = record.owner_name or record.owner_addr or "未指派"
    record.owner_addr, record.owner_name = owner.addr, owner.name or None
    ctx.log(LogKind.OWNER, f"责任人: {before} → {owner}", owner=owner.addr)
    if owner.addr != ctx.mail.from_addr.addr:
        ctx.send("involved", [owner], what="责任人指派通知",
                 reply={"author": str(ctx.mail.from_addr), "text": "您已被指定为本记录的责任人。"})


def set_urgency(ctx: ReplyContext, command: Command) -> None:
    record, urgency = ctx.record, Urgency(command.value)
    before = Urgency(record.urgency)
    services = ctx.services
    record.urgency = urgency.value
    # Deadlines follow the new grade, counted from when the record was registered, under the
    # same routing rule's overrides; chasing picks the new deadlines up with fresh notice keys.
    response, resolution = record_deadlines(record.created_at, urgency, services.policy,
                                            services.calendar, record.deadline_overrides)
    record.due_at, record.resolve_due_at = response.at, resolution.at
    ctx.log(LogKind.URGENCY, f"紧急程度: {before.label} → {urgency.label}",
            due_at=record.due_at.isoformat(), resolve_due_at=record.resolve_due_at.isoformat())


def add_note(ctx: ReplyContext, command: Command) -> None:
    ctx.log(LogKind.NOTE, command.value)
    add_remark(ctx.record, command.value)


def set_resolution(ctx: ReplyContext, command: Command) -> None:
    ctx.record.resolution = command.value
    ctx.log(LogKind.RESOLUTION, f"解决方案: {command.value}")


def set_archive_class(ctx: ReplyContext, command: Command) -> None:
    archiving.set_archive_class(ctx.session, ctx.record, command.value, ctx.actor, ctx.now)


def set_project(ctx: ReplyContext, command: Command) -> None:
    before = ctx.record.project or "无"
    ctx.record.project = command.value
    ctx.log(LogKind.PROJECT, f"关联项目: {before} → {command.value}")


HANDLERS: dict[str, Handler] = {
    "status": set_status,
    "owner": set_owner,
    "urgency": set_urgency,
    "note": add_note,
    "resolution": set_resolution,
    "archive_class": set_archive_class,
    "phone": log_call,
    "minutes": store_minutes,
    "external": lambda ctx, command: None,  # read by store_minutes: 对外: 是 sends them outside
    "department": reassign_department,
    "project": set_project,
}

"""Who may change a record, applied to one staff reply: refused commands, the text kept and passed on."""

from __future__ import annotations

from gateway.closedloop.permissions import Permission, RecordPeople, decide
from gateway.closedloop.reply_commands import ParsedReply
from gateway.db.models import Record
from gateway.model import Address, LogKind
from gateway.routing.directory import Department, Directory
from gateway.usecases.reply_context import ReplyContext

CLASSIFIED = "classified"


def record_people(ctx: ReplyContext) -> RecordPeople:
    record = ctx.record
    return RecordPeople(record.owner_addr, record.department, tuple(record.departments or ()),
                        record.from_addr or "", record.from_department)


def permission(ctx: ReplyContext, directory: Directory) -> Permission:
    return decide(ctx.mail.from_addr.addr, record_people(ctx), directory,
                  ctx.services.loop.admins)


def admitted(ctx: ReplyContext, parsed: ParsedReply, new_text: str,
             directory: Directory) -> bool:
    """Whether the reply may go on to change the record; when not, refuse and pass it on.

    The originator writing without commands is a follow-up, not a change, and goes on.
    """
    allowed = permission(ctx, directory)
    if allowed:
        return True
    has_commands = bool(parsed.commands or parsed.problems)
    if not has_commands and ctx.mail.from_addr.addr == ctx.record.from_addr:
        return True
    ctx.log(LogKind.REFUSED, f"无权更改本记录: {allowed.reason}; 内容转给责任人",
            may_act=list(allowed.may_act))
    if has_commands:
        ctx.send("not_permitted", [ctx.mail.from_addr], what="无权操作说明",
                 auto_submitted="auto-replied", reply={"may_act": list(allowed.may_act)})
    pass_to_owner(ctx, new_text, directory)
    return False


def pass_to_owner(ctx: ReplyContext, text: str, directory: Directory) -> None:
    """The text, logged as a comment and sent to the owner (the head, the mailbox without one)."""
    ctx.log(LogKind.COMMENT, text or "(无正文)")
    to = owner_or_head(ctx, directory)
    if not to:
        ctx.log(LogKind.WARNING, "没有责任人或部门负责人, 意见未转发")
        return
    author = f"{ctx.mail.from_addr} (无权更改本记录, 以下内容仅供参考, 未执行)"
    ctx.send("involved", to, what="意见转责任人", reply={"author": author, "text": text})


def owner_or_head(ctx: ReplyContext, directory: Directory) -> list[Address]:
    """Who hears of a record in person: its owner, else the head; the mailbox only if not 涉密."""
    record = ctx.record
    if record.owner_addr:
        return [Address(record.owner_name or "", record.owner_addr)]
    dept = directory.find(record.department)
    if dept is None:
        return []
    if dept.head is not None:
        return [dept.head]
    return [] if record.archive_class == CLASSIFIED else list(dept.mailbox_addresses)


def department_contacts(record: Record, dept: Department) -> list[Address]:
    """Where a department hears of a record: its mailboxes; for a 涉密 record its head only."""
    if record.archive_class == CLASSIFIED:
        return [dept.head] if dept.head else []
    return list(dept.mailbox_addresses)

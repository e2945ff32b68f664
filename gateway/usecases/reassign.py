"""The record's register fields staff set by reply: 接收部门 reassigned (部门:), and 备注."""

from __future__ import annotations

from gateway.closedloop.reply_commands import Command
from gateway.db.models import Record
from gateway.model import Address, LogKind
from gateway.usecases.reply_context import ReplyContext


def reassign_department(ctx: ReplyContext, command: Command) -> None:
    """`部门: 采购部`: the record moves; its owner becomes the new department's head, who is
    told together with the department's mailboxes. Unknown words are refused in preflight."""
    record = ctx.record
    dept = ctx.services.rules().directory.match(command.value)
    if dept is None or dept.name == record.department:
        ctx.log(LogKind.DEPARTMENT, f"接收部门仍为 {record.department}")
        return
    before, before_owner = record.department, record.owner_name or record.owner_addr or "未指派"
    record.department = dept.name
    if dept.name not in (record.departments or []):
        record.departments = [*(record.departments or []), dept.name]
    record.owner_addr = dept.head.addr if dept.head else None
    record.owner_name = (dept.head.name or None) if dept.head else None
    after_owner = record.owner_name or record.owner_addr or "未指派"
    ctx.log(LogKind.DEPARTMENT, f"接收部门: {before} → {dept.name}; 责任人: {before_owner} → "
            f"{after_owner}", before=before, after=dept.name, owner=record.owner_addr)
    to = _unique([*dept.mailbox_addresses, *((dept.head,) if dept.head else ())],
                 skip=ctx.mail.from_addr.addr)
    if to:
        ctx.send("involved", to, what=f"{dept.name} 改派通知",
                 reply={"department": dept.name, "author": str(ctx.mail.from_addr)})


def add_remark(record: Record, text: str) -> None:
    """备注 for the register: each remark on a line of its own, never sent outside."""
    record.remarks = f"{record.remarks}\n{text}" if record.remarks else text


def _unique(addresses: list[Address], *, skip: str) -> list[Address]:
    seen, out = {skip}, []
    for address in addresses:
        if address.addr not in seen:
            seen.add(address.addr)
            out.append(address)
    return out

"""`会议纪要:` in a staff reply: the minutes kept in the record and sent to whom they concern.

Staff: the owner, the involved departments (their mailboxes; for a 涉密 record their heads)
and the originator when staff. Outside parties only when the reply also says `对外: 是`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from gateway.closedloop.channels import with_channel
from gateway.closedloop.reply_commands import Command, Problem
from gateway.mail.attachments import attached_files
from gateway.model import Address, LogKind
from gateway.outgoing.mime import AttachedFile
from gateway.routing.route import is_internal
from gateway.usecases.reply_context import ReplyContext

CLASSIFIED = "classified"


def preflight(ctx: ReplyContext, commands: Sequence[Command]) -> list[Problem]:
    """Minutes with neither text nor an attached file are a mistake, found before any change."""
    if any(c.name == "minutes" and not c.value for c in commands) and not ctx.mail.attachments:
        first = next(c for c in commands if c.name == "minutes" and not c.value)
        return [Problem(first.line, first.source, "会议纪要为空: 请写在冒号后, 或附上纪要文件")]
    return []


def store_minutes(ctx: ReplyContext, command: Command) -> None:
    record = ctx.record
    files = [AttachedFile(p.filename or f"会议纪要-{n}", p.content_type or
                          "application/octet-stream", p.data)
             for n, p in enumerate(attached_files(ctx.row.raw), 1)]
    names = [f.filename for f in files]
    external = any(c.name == "external" and c.value for c in ctx.commands)
    record.channel = with_channel(record.channel, "meeting")
    text = command.value or "会议纪要见附件"
    suffix = f" (附件: {', '.join(names)})" if names else ""
    # The attached file stays in the stored reply (mail_id of this line); the log names it.
    ctx.log(LogKind.MINUTES, text + suffix, files=names, external=external)
    reply = {"minutes": command.value, "files": names, "author": _author(ctx)}
    staff = staff_recipients(ctx)
    if staff:
        ctx.send("minutes", staff, what="会议纪要", attachments=files, reply=reply)
    else:
        ctx.log(LogKind.WARNING, "没有可发送会议纪要的内部收件人")
    outside = _outside_originator(ctx)
    if outside is not None and external:
        ctx.send("minutes_out", [outside], what="会议纪要 (对外)", attachments=files,
                 thread_with_originator=True, auto_submitted="no",
                 reply={**reply, "author": ctx.mail.from_addr.name or "工作人员"})
    elif outside is not None:
        ctx.log(LogKind.NOTE, "会议纪要未发给外部单位 (未写 对外: 是)")


def staff_recipients(ctx: ReplyContext) -> list[Address]:
    """The owner, the involved departments, the originator if staff; each address once."""
    record, directory = ctx.record, ctx.services.rules().directory
    found: list[Address] = []
    if record.owner_addr:
        found.append(Address(record.owner_name or "", record.owner_addr))
    classified = record.archive_class == CLASSIFIED
    for name in dict.fromkeys([record.department, *(record.departments or ())]):
        dept = directory.find(name)
        if dept is None:
            continue
        if classified:
            found.extend([dept.head] if dept.head else [])
        else:
            found.extend(dept.mailbox_addresses or ([dept.head] if dept.head else []))
    if record.from_addr and _internal(ctx, record.from_addr):
        found.append(Address(record.from_name or "", record.from_addr))
    return _unique(found)


def _outside_originator(ctx: ReplyContext) -> Address | None:
    record = ctx.record
    if not record.from_addr or _internal(ctx, record.from_addr):
        return None
    return Address(record.from_name or "", record.from_addr)


def _internal(ctx: ReplyContext, addr: str) -> bool:
    return is_internal(addr, ctx.services.rules(), ctx.services.identity.internal_domains)


def _author(ctx: ReplyContext) -> str:
    return str(ctx.mail.from_addr)


def _unique(addresses: Iterable[Address]) -> list[Address]:
    seen: dict[str, Address] = {}
    for a in addresses:
        seen.setdefault(a.addr, a)
    return list(seen.values())

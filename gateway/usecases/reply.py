"""The closed loop (闭环) by mail: a reply that threads into a record, applied in its transaction.

Staff replies carry commands and answers for the originator; the originator's replies carry
follow-ups and the rating; anyone else's mail is kept but changes nothing. The decisions are
the pure modules' (trust, quoting, reply_commands, rating, lifecycle); this module applies them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.closedloop import trust
from gateway.closedloop.lifecycle import Action, Event, status_event, transition
from gateway.closedloop.rating import Rating, parse_rating
from gateway.closedloop.reply_commands import ParsedReply, People, Problem, parse_reply, usage_lines
from gateway.db import records
from gateway.db.models import Mail, Record
from gateway.mail.quoting import split_reply
from gateway.mail.subject import parse_subject
from gateway.model import Address, InboundMail, LogKind, Status
from gateway.routing.directory import Directory
from gateway.routing.route import is_internal
from gateway.usecases import reply_minutes, reply_permission
from gateway.usecases.own_mail import is_own_mail
from gateway.usecases.participants import Relation, relation, relay_cc
from gateway.usecases.reply_actions import HANDLERS
from gateway.usecases.reply_context import ReplyContext
from gateway.usecases.services import Services

log = logging.getLogger(__name__)

_RATABLE = (Status.RESOLVED, Status.CLOSED)


def handle_reply(
    session: Session, services: Services, record: Record, row: Mail, mail: InboundMail,
    now: datetime,
) -> tuple[str, ...]:
    """Apply one mail that threaded into `record`; returns the Message-IDs it queued."""
    ctx = ReplyContext(session, services, record, row, mail, now)
    if mail.auto is not None or is_own_mail(session, services.identity, mail):
        ctx.log(LogKind.IGNORED, f"自动邮件, 不作处理 ({mail.auto_reason or '网关自身的邮件'})")
        return ()
    sender = mail.from_addr.addr
    rules = services.rules()
    policy = services.loop
    verdict = trust.assess(
        sender, listed_internal=bool(sender) and is_internal(
            sender, rules, services.identity.internal_domains),
        auth_results=trust.auth_results_headers(row.raw),
        trusted_authserv_id=policy.trusted_authserv_id,
    )
    ctx.trust = verdict.reason
    if verdict.suspicious:
        log.warning("suspicious mail %s for %s: %s", mail.message_id, record.id, verdict.reason)
        ctx.log(LogKind.SUSPICIOUS, f"{verdict.reason}; 按外部来信处理, 未作任何更改")
        return ()
    new_text = split_reply(mail.text).new_text
    if sender and sender == record.from_addr:
        rating = parse_rating(new_text) if Status(record.status) in _RATABLE else None
        if rating is not None:
            _rate(ctx, rating)
            return tuple(ctx.queued)
        if not verdict.is_staff:
            _follow_up(ctx, new_text)
            return tuple(ctx.queued)
    if verdict.is_staff:
        _staff_reply(ctx, new_text, rules.directory)
        return tuple(ctx.queued)
    related, why = relation(services, record, mail)
    if related is Relation.PARTICIPANT:
        # A colleague of the originator, or someone the record's mails named: heard like them.
        ctx.log(LogKind.PARTICIPANT, f"参与方来信 ({why})")
        _follow_up(ctx, new_text, who="参与方")
        return tuple(ctx.queued)
    ctx.log(LogKind.REFUSED, f"外部来信, 未作任何更改 ({why})")
    return ()


# --- staff ------------------------------------------------------------------------------------

def _staff_reply(ctx: ReplyContext, new_text: str, directory: Directory) -> None:
    parsed = parse_reply(new_text, people(directory))
    if not reply_permission.admitted(ctx, parsed, new_text, directory):
        return
    ctx.commands = parsed.commands
    problems = list(parsed.problems) or _preflight(ctx, parsed)
    if problems:
        _answer_problems(ctx, problems)
        return
    internal = parsed.internal or _to_note_address(ctx) or _is_forward(ctx, directory)
    events = [e for c in parsed.commands if (e := HANDLERS[c.name](ctx, c)) is not None]
    _involve_departments(ctx, directory)
    public = "" if internal else parsed.public_text
    if internal and parsed.public_text:
        ctx.log(LogKind.NOTE, parsed.public_text)
    # With 已完成 the answer travels inside the closure receipt instead of a mail of its own.
    if public and Event.RESOLVE not in events and _relay_to_originator(ctx, public):
        events.append(Event.REPLIED)
    for event in events:
        _advance(ctx, event, public=public)


def people(directory: Directory) -> People:
    """Names `责任人:` may use alone: the directory's heads and members with a display name."""
    by_name: dict[str, Address] = {}
    for dept in directory.departments:
        for person in (*dept.members, *((dept.head,) if dept.head else ())):
            if person.name:
                by_name.setdefault(person.name.casefold(), person)
    return People(by_name)


def _preflight(ctx: ReplyContext, parsed: ParsedReply) -> list[Problem]:
    """What the record would refuse, found before anything is applied (all or nothing)."""
    rules, identity = ctx.services.rules(), ctx.services.identity
    state, problems = Status(ctx.record.status), []
    for command in parsed.commands:
        if command.name == "status":
            step = transition(state, status_event(command.value))
            if not step.allowed:
                problems.append(Problem(command.line, command.source, step.reason))
            state = step.after
        elif command.name == "owner" and not is_internal(
                command.value.addr, rules, identity.internal_domains):
            # The owner is told about the record; an outside address would leak it.
            problems.append(Problem(command.line, command.source, "责任人必须是内部人员"))
        elif command.name == "department" and rules.directory.match(command.value) is None:
            problems.append(Problem(command.line, command.source,
                                    f"部门目录中没有「{command.value}」"))
    return problems + reply_minutes.preflight(ctx, parsed.commands)


def _answer_problems(ctx: ReplyContext, problems: list[Problem]) -> None:
    listed = [str(p) for p in problems]
    ctx.log(LogKind.COMMAND_ERROR, "指令未执行: " + "; ".join(listed), problems=listed)
    ctx.send("command_error", [ctx.mail.from_addr], what="指令错误说明",
             auto_submitted="auto-replied",
             reply={"problems": listed, "commands": list(usage_lines())})


def _to_note_address(ctx: ReplyContext) -> bool:
    local, _, domain = ctx.services.identity.from_addr.addr.partition("@")
    note = f"{local}+{ctx.services.loop.note_tag}@{domain}"
    return note in {a.addr for a in ctx.mail.recipients} | set(ctx.mail.delivered_to)


def _is_forward(ctx: ReplyContext, directory: Directory) -> bool:
    # A forward (转发/Fwd) talks to colleagues about the record, not to the originator.
    return parse_subject(ctx.mail.subject, directory.names).is_forward


def _involve_departments(ctx: ReplyContext, directory: Directory) -> None:
    """A department mailbox in To/Cc of a staff reply joins 涉及部门, and hears of it once."""
    record = ctx.record
    for address in ctx.mail.recipients:
        dept = directory.department_of_address(address.addr)
        if dept is None or dept.name in record.departments:
            continue
        if address.addr not in {a.addr for a in dept.mailbox_addresses}:
            continue  # a person, not the department's mailbox
        record.departments = [*record.departments, dept.name]
        ctx.log(LogKind.INVOLVED, f"{dept.name} 加入涉及部门 (由 {ctx.actor} 转发或抄送)",
                department=dept.name)
        to = reply_permission.department_contacts(record, dept)
        if to:
            ctx.send("involved", to, what=f"{dept.name} 涉及部门通知",
                     reply={"department": dept.name, "author": str(ctx.mail.from_addr)})


def _relay_to_originator(ctx: ReplyContext, public: str) -> bool:
    """Send staff's public text to the originator from the gateway; False when not needed."""
    record, mail = ctx.record, ctx.mail
    originator = record.from_addr
    if not originator:
        return False
    if originator == mail.from_addr.addr:  # staff who opened the record, writing again
        _follow_up(ctx, public)
        return False
    if originator in {a.addr for a in mail.recipients}:
        ctx.log(LogKind.RELAY, "发起人已在收件人中, 不再另行转发")
        return True
    named = {originator, *(a.addr for a in mail.recipients)}
    ctx.send("relay", [Address(record.from_name or "", originator)], what="答复转发发起人",
             cc=relay_cc(ctx.services, record, named),
             thread_with_originator=True, auto_submitted="no",
             reply={"text": public, "author": _display(mail.from_addr)})
    ctx.log(LogKind.RELAY, f"答复已转发发起人: {_excerpt(public)}")
    return True


# --- the originator ---------------------------------------------------------------------------

def _follow_up(ctx: ReplyContext, new_text: str, who: str = "发起人") -> None:
    """The originator (or a participant) wrote again: the owner (or the department) gets it,
    attachments and all."""
    record = ctx.record
    to = _staff_contacts(ctx)
    if not to:
        ctx.log(LogKind.WARNING, "没有责任人或部门邮箱, 补充来信未转发")
        return
    ctx.send("relay", to, what=f"{who}补充来信", attach_original=True,
             reply={"text": new_text, "author": str(ctx.mail.from_addr), "to_staff": True})
    ctx.log(LogKind.RELAY, f"{who}补充来信已转给 {record.owner_name or record.owner_addr or record.department}: "
            f"{_excerpt(new_text)}")


def _rate(ctx: ReplyContext, rating: Rating) -> None:
    record = ctx.record
    previous = record.rating
    record.rating, record.rating_comment, record.rated_at = rating.score, rating.comment, ctx.now
    text = f"发起人评价 {rating.score} 分"
    if previous is not None:
        text += f" (替换此前的 {previous} 分)"
    if rating.comment:
        text += f": {rating.comment}"
    ctx.log(LogKind.RATING, text, score=rating.score, previous=previous, comment=rating.comment,
            source=rating.source)
    _advance(ctx, Event.RATED_LOW if rating.low else Event.RATED, rating=rating)


def _staff_contacts(ctx: ReplyContext) -> list[Address]:
    record = ctx.record
    if record.owner_addr:
        return [Address(record.owner_name or "", record.owner_addr)]
    if record.archive_class == reply_permission.CLASSIFIED:  # 涉密: a person, never a mailbox
        return reply_permission.owner_or_head(ctx, ctx.services.rules().directory)
    dept = ctx.services.rules().directory.find(record.department)
    return list(dept.mailbox_addresses) if dept else []


def _display(address: Address) -> str:
    # Staff addresses stay inside: mail to outside parties names the person, not the mailbox.
    return address.name or "工作人员"


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- the lifecycle ----------------------------------------------------------------------------

def _advance(ctx: ReplyContext, event: Event, *, public: str = "",
             rating: Rating | None = None) -> None:
    record = ctx.record
    step = transition(Status(record.status), event)
    if not step.allowed:
        ctx.log(LogKind.REFUSED, step.reason, event=event.value)
        return
    record.status = step.after.value
    if step.changed:
        ctx.log(LogKind.STATUS, f"{step.before.label} → {step.after.label}: {step.reason}",
                event=event.value, before=step.before.value, after=step.after.value)
    for action in step.actions:
        _carry_out(ctx, action, public, rating)


def _carry_out(ctx: ReplyContext, action: Action, public: str, rating: Rating | None) -> None:
    record, now = ctx.record, ctx.now
    if action is Action.STAMP_FIRST_RESPONSE and record.first_response_at is None:
        record.first_response_at = now
    elif action is Action.STAMP_RESOLVED:
        record.resolved_at = now
    elif action is Action.STAMP_CLOSED:
        record.closed_at = now
    elif action is Action.CLEAR_RESOLUTION_TIMES:
        record.resolved_at = record.closed_at = None
    elif action is Action.SEND_CLOSURE_RECEIPT:
        if record.from_addr:
            ctx.send("closure", [Address(record.from_name or "", record.from_addr)],
                     what="结案回执", thread_with_originator=True,
                     reply={"text": public, "author": _display(ctx.mail.from_addr)})
    elif action is Action.NOTIFY_HEAD:
        dept = ctx.services.rules().directory.find(record.department)
        to = [dept.head] if dept and dept.head else _staff_contacts(ctx)
        if to:
            ctx.send("reopened", to, what="低分评价, 重新打开通知",
                     reply={"rating": rating.score if rating else None,
                            "comment": rating.comment if rating else ""})


# --- waiting for a rating ---------------------------------------------------------------------

def close_waiting(session: Session, services: Services, now: datetime) -> list[str]:
    """Close resolved records nobody rated within close_after; returns their ids."""
    wait = services.loop.close_after
    closed = []
    for record in records.with_status(session, (Status.RESOLVED.value,)):
        if record.resolved_at is None:
            continue
        due = services.calendar.add(record.resolved_at, wait).at
        if due > now:
            continue
        step = transition(Status.RESOLVED, Event.WAIT_ELAPSED)
        record.status, record.closed_at = step.after.value, now
        records.add_log(session, record, at=now, kind=LogKind.STATUS, actor="gateway",
                        text=f"{step.before.label} → {step.after.label}: {step.reason} "
                             f"(完成后 {wait.zh} 未收到评价)",
                        data={"event": step.event.value, "close_after": str(wait)})
        closed.append(record.id)
    return closed

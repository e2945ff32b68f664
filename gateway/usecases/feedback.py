"""反馈: mail threading into a record the enterprise started — approvers, the sender, receivers."""

from __future__ import annotations

import unicodedata
from datetime import datetime

from sqlalchemy.orm import Session

from gateway.closedloop import trust
from gateway.closedloop.approval import parse_answer
from gateway.closedloop.draft import parse_draft
from gateway.closedloop.lifecycle import Event, transition
from gateway.closedloop.reply_commands import parse_reply
from gateway.db import outbound as store
from gateway.db.models import Mail, Record
from gateway.mail.quoting import split_reply
from gateway.model import InboundMail, LogKind, Status
from gateway.routing.route import is_internal
from gateway.usecases import approval
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.own_mail import is_own_mail
from gateway.usecases.reply import people
from gateway.usecases.reply_actions import HANDLERS
from gateway.usecases.reply_context import ReplyContext
from gateway.usecases.services import Services
from gateway.usecases.transmit import outbound_view, receivers_of, sender_of
from gateway.vocabulary import CHASER_WORDS

APPROVAL_USAGE = ["同意 / 批准 / #approve", "驳回: 原因 / #reject 原因", "修改为: 修改后的正文"]


def handles(record: Record) -> bool:
    """Whether `record` is one the enterprise started (its mail is read here, not in reply.py)."""
    return record.outbound is not None


def handle(session: Session, services: Services, record: Record, row: Mail, mail: InboundMail,
           now: datetime) -> tuple[str, ...]:
    """Apply one mail that threaded into `record`; returns the Message-IDs it queued."""
    ctx = ReplyContext(session, services, record, row, mail, now)
    if mail.auto is not None or is_own_mail(session, ctx.services.identity, mail):
        ctx.log(LogKind.IGNORED, f"自动邮件, 不作处理 ({mail.auto_reason or '网关自身的邮件'})")
        return ()
    sender = mail.from_addr.addr
    new_text = split_reply(mail.text).new_text
    pending = store.pending_approval(session, record.id) if (
        record.status == Status.AWAITING_APPROVAL.value) else None
    if pending is not None and sender == pending.approver_addr:
        if _trusted(ctx):
            _approver(ctx, pending, new_text)
        return tuple(ctx.queued)
    if sender == record.from_addr:
        if _trusted(ctx):
            _sender(ctx, new_text)
        return tuple(ctx.queued)
    if sender in {addr for _, _, addr in (record.outbound or {}).get("chain", [])}:
        # An approver writing again (a second 同意, a late remark) is no receiver's answer,
        # but it is a person's word on the record: the sender hears it.
        _pass_on(ctx, new_text, "审核人来信 (没有待其审核的版本), 不计为反馈")
        return tuple(ctx.queued)
    if record.transmitted_at is None:
        _pass_on(ctx, new_text, "信息尚未发出, 来信不计为反馈, 未作任何更改")
        return tuple(ctx.queued)
    _feedback(ctx, new_text)
    return tuple(ctx.queued)


def _trusted(ctx: ReplyContext) -> bool:
    sender = ctx.mail.from_addr.addr
    services = ctx.services
    verdict = trust.assess(
        sender, listed_internal=is_internal(sender, services.rules(),
                                            services.identity.internal_domains),
        auth_results=trust.auth_results_headers(ctx.row.raw),
        trusted_authserv_id=services.loop.trusted_authserv_id)
    ctx.trust = verdict.reason
    if verdict.suspicious or not verdict.is_staff:
        ctx.log(LogKind.SUSPICIOUS, f"{verdict.reason}; 未作任何更改")
        return False
    return True


def _problem(ctx: ReplyContext, title: str, problems: list[str], usage: list[str]) -> None:
    context = {"outbound": {"record_id": ctx.record.id, "subject": ctx.mail.subject,
                            "problem_title": title, "problems": problems, "usage": usage}}
    ctx.queued.append(queue_mail(
        ctx.session, ctx.services, "outbound_problem", to=[ctx.mail.from_addr], context=context,
        cause=(ctx.record.id, "problem", ctx.mail.message_id), record=ctx.record,
        reply_to=ctx.mail, auto_submitted="auto-replied", what="指令错误说明", now=ctx.now,
    ).message_id)
    ctx.log(LogKind.COMMAND_ERROR, "; ".join(problems))


def _approver(ctx: ReplyContext, pending, new_text: str) -> None:
    answer = parse_answer(new_text)
    if answer is None:
        _problem(ctx, "未能识别审核意见", ["第一行应为审核意见"], APPROVAL_USAGE)
        return
    approval.answer(ctx.session, ctx.services, ctx.record, pending, answer,
                    ctx.mail.message_id, ctx.now)


def _first_line(text: str) -> str:
    stripped = text.strip()
    return unicodedata.normalize("NFKC", stripped.partition("\n")[0]).strip().casefold()


def _sender(ctx: ReplyContext, new_text: str) -> None:
    record = ctx.record
    if record.status == Status.RETURNED.value:
        draft = parse_draft(new_text)
        text = draft.body if draft is not None else new_text.strip()
        if not text:
            _problem(ctx, "未能重新提交", ["正文为空"], ["回复修改后的完整正文即重新提交审核"])
            return
        files = ctx.mail.message_id if ctx.mail.attachments else None
        approval.resubmit(ctx.session, ctx.services, record, text, files, ctx.now)
        return
    if _first_line(new_text) in CHASER_WORDS:
        _chase_receivers(ctx)
        return
    parsed = parse_reply(new_text, people(ctx.services.rules().directory))
    if parsed.problems:
        _problem(ctx, "指令未执行", [str(p) for p in parsed.problems], [
            "状态: 已完成 (加 解决方案: … 或 备注: …)", "备注: …", "催办"])
        return
    events = [e for c in parsed.commands if (e := HANDLERS[c.name](ctx, c)) is not None]
    if parsed.public_text:
        ctx.log(LogKind.NOTE, parsed.public_text)
    for event in events:
        _advance(ctx, event)


def _advance(ctx: ReplyContext, event: Event) -> None:
    """The sender's own status commands; 已完成 closes at once (the sender is the one to judge)."""
    record = ctx.record
    steps = [event, Event.CLOSE] if event is Event.RESOLVE else [event]
    for step_event in steps:
        step = transition(Status(record.status), step_event)
        if not step.allowed:
            ctx.log(LogKind.REFUSED, step.reason, event=step_event.value)
            return
        record.status = step.after.value
        if step_event is Event.RESOLVE:
            record.resolved_at = ctx.now
        if step.after is Status.CLOSED:
            record.closed_at = ctx.now
        if step.changed:
            ctx.log(LogKind.STATUS, f"{step.before.label} → {step.after.label}: 发起人确认",
                    event=step_event.value, before=step.before.value, after=step.after.value)


def _chase_receivers(ctx: ReplyContext) -> None:
    record = ctx.record
    to = [a for _, a in receivers_of(record, "to")]
    ctx.queued.append(queue_mail(
        ctx.session, ctx.services, "outbound_chaser", to=to, context=outbound_view(
            ctx.services, record), cause=(record.id, "chaser", ctx.mail.message_id), kind="outbound_chaser",
        record=record, parent_id=(record.outbound or {}).get("message_id"),
        references=tuple(m for m in [(record.outbound or {}).get("message_id")] if m),
        auto_submitted="no", what="催办", log_kind=LogKind.CHASER,
        extra_headers={"Reply-To": ctx.services.identity.from_addr.addr}, now=ctx.now,
    ).message_id)


def _feedback(ctx: ReplyContext, new_text: str) -> None:
    """A receiver answered: stamp 实际反馈时间, and relay it to the sender."""
    record = ctx.record
    first = record.first_response_at is None
    ctx.log(LogKind.FEEDBACK, f"{'首次' if first else ''}反馈: {_excerpt(new_text)}",
            first=first)
    step = transition(Status(record.status), Event.REPLIED)
    if step.allowed:
        if step.changed:
            ctx.log(LogKind.STATUS, f"{step.before.label} → {step.after.label}: 接收方已反馈")
        record.status = step.after.value
    if first:
        record.first_response_at = ctx.now
    _relay(ctx, new_text, "feedback", "反馈转发发起人")


def _pass_on(ctx: ReplyContext, new_text: str, why: str) -> None:
    """A mail that changes nothing still reaches the sender: no person's mail is only archived."""
    ctx.log(LogKind.COMMENT, f"{why}: {_excerpt(new_text)}")
    _relay(ctx, new_text, "passed_on", "来信转交发起人", note=why)


def _relay(ctx: ReplyContext, new_text: str, cause: str, what: str, note: str = "") -> None:
    """The mail's new text to the sender, the original attached (template outbound_feedback)."""
    record, mail = ctx.record, ctx.mail
    author = mail.from_addr.name or mail.from_addr.addr
    ctx.queued.append(queue_mail(
        ctx.session, ctx.services, "outbound_feedback", to=[sender_of(record)],
        context=outbound_view(ctx.services, record, author=author, feedback=new_text.strip(),
                              note=note),
        cause=(record.id, cause, mail.message_id), kind="outbound_feedback", record=record,
        reply_to=mail, original=ctx.row.raw, what=what, log_kind=LogKind.RELAY,
        now=ctx.now).message_id)


def _excerpt(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


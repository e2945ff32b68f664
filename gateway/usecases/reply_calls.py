"""`电话:` in a staff reply: the call logged in the record, 传递方式 and the first response with it."""

from __future__ import annotations

from gateway.closedloop.calls import Call
from gateway.closedloop.channels import with_channel
from gateway.closedloop.lifecycle import Event
from gateway.closedloop.reply_commands import Command
from gateway.model import LogKind
from gateway.usecases.reply_context import ReplyContext


def log_call(ctx: ReplyContext, command: Command) -> Event:
    """Log when, with whom and what; a call is an answer, so it runs the REPLIED event."""
    call: Call = command.value
    record, tz = ctx.record, ctx.services.calendar.tz
    # The reply's own date, unless it claims a time still to come (a wrong client clock).
    written = min(ctx.mail.date, ctx.now) if ctx.mail.date else ctx.now
    at = call.when(written, tz)
    record.channel = with_channel(record.channel, "phone")
    who = call.who or "(未写明)"
    ctx.log(LogKind.PHONE, f"电话 {at.astimezone(tz):%Y-%m-%d %H:%M} 与 {who}: {call.what}",
            at=at.isoformat(), who=call.who, what=call.what, time_written=call.at is not None)
    if record.first_response_at is None:
        # The call answered first; a call before the mail was sent answers at its sending.
        record.first_response_at = max(at, record.sent_at)
    return Event.REPLIED

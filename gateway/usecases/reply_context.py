"""What the loop writes inside a mail's transaction: log lines, and answers queued in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.db import records
from gateway.db.models import Mail, Record
from gateway.db.sessions import flush_pending
from gateway.model import Address, InboundMail, LogKind
from gateway.outgoing.mime import AttachedFile
from gateway.usecases.context import mail_view, record_view
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Services

# Every key the loop's templates may read under `reply`, so StrictUndefined never trips.
_REPLY_DEFAULTS: dict[str, Any] = {
    "text": "", "author": "", "to_staff": False, "problems": [], "commands": [],
    "rating": None, "previous_rating": None, "comment": "", "department": None,
    "may_act": [], "minutes": "", "files": [],
}


@dataclass
class ReplyContext:
    """One reply being applied to its record: everything a handler may read or write."""

    session: Session
    services: Services
    record: Record
    row: Mail  # the stored inbound mail
    mail: InboundMail
    now: datetime
    actor: str = ""
    trust: str = ""  # why the sender counted as staff or not, kept with every log line
    queued: list[str] = field(default_factory=list)
    commands: tuple[Any, ...] = ()  # every command of the reply, for handlers that read others

    def __post_init__(self) -> None:
        self.actor = self.actor or self.mail.from_addr.addr or "unknown"

    def log(self, kind: LogKind, text: str, *, actor: str | None = None, **data: Any) -> None:
        if self.trust:
            data.setdefault("sender", self.trust)
        records.add_log(self.session, self.record, at=self.now, kind=kind,
                        actor=actor or self.actor, text=text, mail=self.row, data=data)

    def send(
        self,
        kind: str,
        to: Sequence[Address],
        *,
        cc: Sequence[Address] = (),
        reply: dict[str, Any] | None = None,
        thread_with_originator: bool = False,
        attach_original: bool = False,
        auto_submitted: str = "auto-generated",
        attachments: Sequence[AttachedFile] = (),
        what: str,
    ) -> str:
        """Render `kind`, queue it in the outbox and log it; returns the Message-ID."""
        record = self.record
        parent, chain = originator_thread(record) if thread_with_originator else (None, ())
        queued = queue_mail(
            self.session, self.services, kind, to=to, cc=cc, context=loop_context(self, reply or {}),
            cause=(record.id, kind, self.mail.message_id), record=record,
            reply_to=None if thread_with_originator else self.mail, parent_id=parent,
            references=chain, original=self.row.raw if attach_original else None,
            attachments=attachments,
            auto_submitted=auto_submitted, what=what, now=self.now,
        )
        # Written now, so the next answer of this transaction threads under this one too.
        flush_pending(self.session)
        self.session.expire(record, ["mails"])
        self.queued.append(queued.message_id)
        return queued.message_id


def originator_thread(record: Record) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References that keep an answer in the originator's own thread."""
    originator = record.from_addr
    ids = [m.message_id for m in record.mails
           if (m.direction == "in" and m.from_addr == originator and m.kind != "quarantined")
           or (m.direction == "out" and originator in (m.to_addrs or []))]
    if not ids:
        return None, ()
    return ids[-1], tuple(ids[:-1])


def loop_context(ctx: ReplyContext, reply: dict[str, Any]) -> dict[str, Any]:
    """Plain data for the loop's templates; mail content only ever as values."""
    tz = ctx.services.calendar.tz
    record = ctx.record

    def local(value: datetime | None) -> datetime | None:
        return value.astimezone(tz) if value else None

    view = {
        **record_view(record, tz),
        "resolution": record.resolution,
        "first_response_at": local(record.first_response_at),
        "resolved_at": local(record.resolved_at),
        "closed_at": local(record.closed_at),
        "rating": record.rating,
        "departments": list(record.departments or []),
        "classified": record.archive_class == "classified",
    }
    mail = ctx.mail
    return {
        "record": view,
        "mail": mail_view(mail),
        "reply": {**_REPLY_DEFAULTS, **reply},
    }

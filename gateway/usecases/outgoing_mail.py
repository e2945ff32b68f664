"""The one way a mail leaves the gateway: rendered, queued in the outbox, written in a log."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.db import outbox, records
from gateway.db.mails import Row
from gateway.db.models import Record
from gateway.db.records import RecordRow
from gateway.model import Address, InboundMail, LogKind
from gateway.outgoing.headers import make_message_id
from gateway.outgoing.mime import AttachedFile
from gateway.routing.route import is_internal
from gateway.usecases.services import Services

log = logging.getLogger(__name__)


CLASSIFIED_MARK = "【涉密】"


def classified_mark(services: Services, record: Record | RecordRow | None,
                    recipients: Sequence[Address]) -> str:
    """【涉密】 before the subject of a 涉密 record's mail when it goes only to staff.

    Mail to an outside party does not announce the company's classification.
    """
    if record is None or getattr(record, "archive_class", None) != "classified":
        return ""
    rules, domains = services.rules(), services.identity.internal_domains
    return CLASSIFIED_MARK if all(is_internal(a.addr, rules, domains) for a in recipients) else ""


@dataclass(frozen=True, slots=True)
class Queued:
    message_id: str
    mail: Row  # the stored outgoing mail; its id is known once the journal is flushed
    recipients: tuple[str, ...]  # the envelope: To and Cc


def queue_mail(
    session: Session,
    services: Services,
    template: str,
    *,
    to: Sequence[Address],
    cc: Sequence[Address] = (),
    context: Mapping[str, Any],
    cause: Sequence[object],
    kind: str | None = None,
    record: Record | RecordRow | None = None,
    reply_to: InboundMail | None = None,
    parent_id: str | None = None,
    references: Sequence[str] = (),
    original: bytes | None = None,
    attachments: Sequence[AttachedFile] = (),
    auto_submitted: str = "auto-generated",
    what: str,
    log_kind: LogKind = LogKind.MAIL_OUT,
    log_data: Mapping[str, Any] | None = None,
    extra_headers: Mapping[str, str] | None = None,
    now: datetime,
) -> Queued:
    """Render `template`, queue the mail for sending, and log `{what}已排队发送至 …`.

    `cause` names why the mail exists (record id and purpose, a notice, a period): it is
    the Message-ID on our domain, so a retried transaction queues the same mail, never a
    twin. `kind` is the outbox's name for the mail (the template's name when not given).
    Threading is `reply_to` (the mail answered) or `parent_id` and `references`. The log
    line goes to the record's log, with the Message-ID and template unless `log_data` says
    otherwise; a mail without a record is logged to the daemon's log instead.
    Nothing here flushes: the hot path writes everything at commit.
    """
    identity = services.identity
    out = services.renderer.render(
        template, to=to, cc=cc, context=context, reply_to=reply_to,
        reply_to_message_id=parent_id, references=references, attach_original=original,
        attachments=attachments, message_id=make_message_id(identity.domain, *cause),
        now=now, auto_submitted=auto_submitted,
        subject_mark=classified_mark(services, record, (*to, *cc)),
        extra_headers=extra_headers or {},
    )
    recipients = [a.addr for a in (*out.to, *out.cc)]
    stored = outbox.enqueue(
        session, message_id=out.message_id, kind=kind or template, raw=out.raw,
        subject=out.subject, envelope_from=identity.from_addr.addr, recipients=recipients,
        record=record, now=now,
    )
    text = f"{what}已排队发送至 {', '.join(recipients)}"
    if record is not None:
        data = {"message_id": out.message_id, "template": template} if log_data is None else (
            dict(log_data))
        records.add_log(session, record, at=now, kind=log_kind, actor="gateway", text=text,
                        mail=stored, data=data)
    else:
        log.info("%s <%s>", text, out.message_id)
    return Queued(out.message_id, stored, tuple(recipients))

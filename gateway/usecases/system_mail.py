"""Mail the gateway writes about its own work, each queued once per cause.

To its own people: broken rule files and reports (admins, managers; plain text built here),
and dead letters. To a sender: a mail too large to take. Each is queued in the transaction
that made the decision, and its Message-ID names the cause, so a restart never repeats one.
"""

from __future__ import annotations

import email.policy
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy.orm import Session

from gateway.db import mails, outbox
from gateway.identity import Identity
from gateway.model import Address, InboundMail
from gateway.outgoing.render import make_message_id
from gateway.usecases.admission import admit
from gateway.usecases.services import Services

# Subjects of the notices, by purpose; {label} is filled in.
SUBJECTS = {
    "rules_broken": "【规则文件有误】仍沿用上一版有效规则",
    "report": "效果评估报告 {label}",
}


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # maintype/subtype
    data: bytes


def build(
    identity: Identity, to: Sequence[str], subject: str, text: str, message_id: str,
    now: datetime, attachment: Attachment | None = None,
) -> bytes:
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = formataddr((identity.from_addr.name, identity.from_addr.addr))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{message_id}>"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Loop"] = identity.from_addr.addr
    message.set_content(text, charset="utf-8")
    if attachment is not None:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                               filename=attachment.filename)
    return message.as_bytes()


def queued_before(session: Session, identity: Identity, purpose: str, key: str) -> bool:
    message_id = make_message_id(identity.domain, purpose, key)
    return mails.message_id_stored(session, message_id)


def queue_once(
    session: Session, identity: Identity, *, purpose: str, key: str, to: Sequence[str],
    text: str, now: datetime, label: str = "", attachment: Attachment | None = None,
) -> bool:
    """Queue a notice unless one for the same purpose and key was queued before.

    The key (a content digest, a period label) is in the Message-ID, so the outbox itself
    remembers what was sent, across restarts.
    """
    message_id = make_message_id(identity.domain, purpose, key)
    if queued_before(session, identity, purpose, key):
        return False
    subject = SUBJECTS[purpose].format(label=label)
    raw = build(identity, to, subject, text, message_id, now, attachment)
    outbox.enqueue(session, message_id=message_id, kind=purpose, raw=raw, subject=subject,
                   envelope_from=identity.from_addr.addr, recipients=list(to), record=None,
                   now=now)
    return True


# --- mail the gateway could not take or deliver -----------------------------------------------

log = logging.getLogger(__name__)

DEAD_LETTER_KIND = "deadletter"
OVERSIZE_KIND = "oversize"


def tell_sender_of_oversize(session: Session, services: Services, mail: InboundMail,
                            size: int, now: datetime) -> str | None:
    """Queue one notice to the sender; the caller stores the mail's Message-ID in the same
    transaction, so a second copy of the mail finds it stored and tells nobody again."""
    to = mail.answer_to
    allowed = admit(session, mail, to.addr, services.identity, services.auto_reply_cap, now,
                    OVERSIZE_KIND)
    if not allowed.allowed:
        log.info("oversize mail <%s>: sender not told: %s", mail.message_id, allowed.reason)
        return None
    problem = {"subject": mail.subject, "sender_name": to.name, "size": size,
               "limit": services.max_size}
    return _queue(session, services, OVERSIZE_KIND, (to,), problem, now,
                  key=mail.message_id, reply_to=mail, auto_submitted="auto-replied")


def tell_admin_of_dead_letter(session: Session, outbox_id: int, error: str, now: datetime,
                              *, services: Services) -> str | None:
    """Queue the admin's notice about one dead outbox row (called once, when it died)."""
    admin = services.identity.admin_address
    row = outbox.get(session, outbox_id)
    if not admin or row is None or row.mail.kind == DEAD_LETTER_KIND:
        return None  # a dead notice about a dead notice would only loop
    problem = {"subject": row.mail.subject, "message_id": row.mail.message_id,
               "recipients": tuple(row.recipients), "error": error}
    return _queue(session, services, DEAD_LETTER_KIND, (Address("", admin),), problem, now,
                  key=str(outbox_id), record=row.record)


def _queue(session: Session, services: Services, kind: str, to: tuple[Address, ...],
           problem: dict, now: datetime, *, key: str, reply_to: InboundMail | None = None,
           record=None, auto_submitted: str = "auto-generated") -> str:
    identity = services.identity
    context = {
        "problem": problem,
        "record": {"id": record.id} if record is not None else None,
        "gateway": {"name": identity.name, "signature": identity.signature,
                    "address": identity.from_addr.addr},
    }
    out = services.renderer.render(
        kind, to=to, context=context, reply_to=reply_to, now=now,
        message_id=make_message_id(identity.domain, kind, key), auto_submitted=auto_submitted,
    )
    outbox.enqueue(session, message_id=out.message_id, kind=kind, raw=out.raw,
                   subject=out.subject, envelope_from=identity.from_addr.addr,
                   recipients=[a.addr for a in to], record=record, now=now)
    return out.message_id

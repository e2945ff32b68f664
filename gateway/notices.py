"""Mail from the gateway to its own people (admins, managers), queued once per cause."""

from __future__ import annotations

import email.policy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from .db import repo
from .db.models import Mail
from .identity import Identity
from .render import make_message_id

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
    return session.scalar(select(Mail.id).where(Mail.message_id == message_id).limit(1)) is not None


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
    repo.enqueue(session, message_id=message_id, kind=purpose, raw=raw, subject=subject,
                 envelope_from=identity.from_addr.addr, recipients=list(to), record=None,
                 now=now)
    return True

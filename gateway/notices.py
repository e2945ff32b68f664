"""Mail about mail the gateway could not take or deliver: the sender of an oversize mail,
the admin about a dead letter. Each is queued in the transaction that made the decision."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from . import loops
from .db import repo
from .db.models import Outbox
from .model import Address, InboundMail
from .render import make_message_id

if TYPE_CHECKING:
    from .pipeline import Services

log = logging.getLogger(__name__)

DEAD_LETTER_KIND = "deadletter"
OVERSIZE_KIND = "oversize"


def tell_sender_of_oversize(session: Session, services: Services, mail: InboundMail,
                            size: int, now: datetime) -> str | None:
    """Queue one notice to the sender; the caller stores the mail's Message-ID in the same
    transaction, so a second copy of the mail finds it stored and tells nobody again."""
    to = mail.reply_to[0] if mail.reply_to else mail.from_addr
    allowed = loops.admit(session, mail, to.addr, services.identity, services.auto_reply_cap,
                          now, OVERSIZE_KIND)
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
    row = session.get(Outbox, outbox_id)
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
    repo.enqueue(session, message_id=out.message_id, kind=kind, raw=out.raw, subject=out.subject,
                 envelope_from=identity.from_addr.addr, recipients=[a.addr for a in to],
                 record=record, now=now)
    return out.message_id

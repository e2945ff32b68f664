"""Mail the gateway writes about its own work, each queued once per cause.

To its own people: broken rule files and the evaluation report (admins, managers), and dead
letters. To a sender: a mail too large to take. Each is queued in the transaction that made
the decision, and its Message-ID names the cause, so a restart never repeats one. All of
them are templates like every other mail (templates/), sent through outgoing_mail.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from gateway.db import mails, outbox
from gateway.errors import TemplateError
from gateway.identity import Identity
from gateway.model import Address, InboundMail
from gateway.outgoing.headers import make_message_id
from gateway.outgoing.mime import AttachedFile
from gateway.usecases.admission import admit
from gateway.usecases.outgoing_mail import queue_mail
from gateway.usecases.services import Services

log = logging.getLogger(__name__)

DEAD_LETTER_KIND = "deadletter"
OVERSIZE_KIND = "oversize"
RULES_BROKEN_KIND = "rules_broken"
REPORT_KIND = "report"
# `report.html.j2` is the report page itself (the attachment), so the mail has its own name.
REPORT_TEMPLATE = "report_mail"


def queued_before(session: Session, identity: Identity, purpose: str, key: str) -> bool:
    message_id = make_message_id(identity.domain, purpose, key)
    return mails.message_id_stored(session, message_id)


def tell_admin_of_broken_rules(session: Session, services: Services, digest: str,
                               problems: Sequence[str], now: datetime) -> str | None:
    """Queue the admin's notice that edited rules or templates were refused, once per set."""
    admin = services.identity.admin_address
    if not admin:
        return None
    try:
        return _queue_once(session, services, RULES_BROKEN_KIND, RULES_BROKEN_KIND,
                           key=digest[:32], to=(Address("", admin),),
                           context={"problem": {"details": list(problems)}, "record": None},
                           what="规则文件有误通知", now=now)
    except TemplateError as exc:
        # Only when the broken set is the one in force (a start with broken templates): the
        # problems are in the daemon's log already, and the daemon must go on starting.
        log.error("the admin cannot be told of the broken rules: %s", exc)
        return None


def mail_report(session: Session, services: Services, *, label: str, figures: dict[str, Any],
                to: Sequence[str], report: AttachedFile, now: datetime) -> str | None:
    """Queue the evaluation report of one period to the managers, once per period.

    `figures` are what the mail's text names: `opened`, `closed`, `breaches`.
    """
    context = {"report": {"label": label, "filename": report.filename, **figures},
               "record": None}
    return _queue_once(session, services, REPORT_TEMPLATE, REPORT_KIND, key=label,
                       to=tuple(Address("", addr) for addr in to), context=context,
                       attachments=(report,), what=f"效果评估报告 {label} ", now=now)


def _queue_once(session: Session, services: Services, template: str, purpose: str, *,
                key: str, to: Sequence[Address], context: dict[str, Any], what: str,
                now: datetime, attachments: Sequence[AttachedFile] = ()) -> str | None:
    """Queue a mail unless one for the same purpose and key was queued before.

    The key (a content digest, a period label) is in the Message-ID, so the outbox itself
    remembers what was sent, across restarts.
    """
    if queued_before(session, services.identity, purpose, key):
        return None
    return queue_mail(session, services, template, to=to, context=context, cause=(purpose, key),
                      kind=purpose, attachments=attachments, what=what, now=now).message_id


# --- mail the gateway could not take or deliver -----------------------------------------------


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
    return queue_mail(
        session, services, OVERSIZE_KIND, to=(to,), context={"problem": problem, "record": None},
        cause=(OVERSIZE_KIND, mail.message_id), reply_to=mail, auto_submitted="auto-replied",
        what="邮件过大通知", now=now,
    ).message_id


def tell_admin_of_dead_letter(session: Session, outbox_id: int, error: str, now: datetime,
                              *, services: Services) -> str | None:
    """Queue the admin's notice about one dead outbox row (called once, when it died)."""
    admin = services.identity.admin_address
    row = outbox.get(session, outbox_id)
    if not admin or row is None or row.mail.kind == DEAD_LETTER_KIND:
        return None  # a dead notice about a dead notice would only loop
    problem = {"subject": row.mail.subject, "message_id": row.mail.message_id,
               "recipients": tuple(row.recipients), "error": error}
    record = row.record
    return queue_mail(
        session, services, DEAD_LETTER_KIND, to=(Address("", admin),),
        context={"problem": problem, "record": {"id": record.id} if record is not None else None},
        cause=(DEAD_LETTER_KIND, str(outbox_id)), record=record, what="投递失败通知",
        now=now,
    ).message_id

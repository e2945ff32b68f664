"""The use case: one fetched mail becomes stored state and queued answers, in one transaction."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import takewhile
from typing import Any

from sqlalchemy.orm import Session

from gateway.db import autoreplies, mails
from gateway.db.models import Mail
from gateway.db.sessions import flush_pending
from gateway.errors import Duplicate, ParseError, StorageError
from gateway.mail.parse import parse_mail
from gateway.mail.subject import parse_subject
from gateway.model import AutoKind, FetchedMail, InboundMail
from gateway.routing.route import route
from gateway.usecases import (
    delivery_reports,
    feedback,
    open_record,
    participants,
    reply,
    start_message,
    system_mail,
)
from gateway.usecases.own_mail import is_own_mail
from gateway.usecases.services import Disposition, Result, Services

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Parsed:
    """A fetched mail and what the parser made of it: the mail, or why there is none."""

    fetched: FetchedMail
    mail: InboundMail | None
    error: Exception | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.fetched.raw).hexdigest()


def parse_fetched(fetched: FetchedMail) -> Parsed:
    """Parse without raising: a mail the parser cannot read is kept for quarantine."""
    try:
        return Parsed(fetched, parse_mail(fetched.raw))
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the mailbox
        return Parsed(fetched, None, exc)


def process(services: Services, fetched: FetchedMail, now: datetime) -> Result:
    """Store one mail and everything it causes, or quarantine it; never raise for a bad mail.

    Raises only when the database itself cannot take the mail, so the caller leaves it in
    the mailbox for the next round.
    """
    return _process_parsed(services, parse_fetched(fetched), now)


def _process_parsed(services: Services, parsed: Parsed, now: datetime) -> Result:
    fetched, mail = parsed.fetched, parsed.mail
    if mail is None:
        return _quarantine_unparsed(services, parsed, now)
    services.faults("after_parse")
    try:
        with services.sessions.begin() as session:
            return _store(session, services, fetched, mail, parsed.digest, now)
    except Duplicate:
        # A concurrent run stored the same Message-ID first: the database refused the twin.
        with services.sessions() as session:
            if mails.inbound_exists(session, mail.message_id):
                return Result(Disposition.DUPLICATE, reason="stored concurrently")
        raise
    except Exception as exc:
        if _is_storage_failure(exc):
            raise
        log.exception("mail %s could not be processed; quarantining it", fetched.key)
        return _quarantine(services, fetched, parsed.digest, mail,
                           f"internal error: {exc!r}", now)


def _quarantine_unparsed(services: Services, parsed: Parsed, now: datetime) -> Result:
    exc = parsed.error
    if isinstance(exc, ParseError):
        reason = f"unparseable: {exc}"
    else:
        log.error("parser failed on %s; quarantining it", parsed.fetched.key, exc_info=exc)
        reason = f"parser failed: {exc!r}"
    return _quarantine(services, parsed.fetched, parsed.digest, None, reason, now)


def store_many(
    services: Services, parsed: Sequence[Parsed], now: datetime,
    *, enough: Callable[[], bool] = lambda: False,
) -> list[Result]:
    """Store the first mails of `parsed` in one transaction; their results, in order.

    The transaction ends at the first mail the parser could not read (quarantined on its
    own), or after any mail once `enough()` says so: another process waits for the
    database. Each mail's rows are still all-or-nothing: if anything in the transaction
    fails, it is rolled back and each mail is processed again alone, so one bad mail costs
    its group a retry but never takes a good mail with it. Committing mails together spares
    the per-transaction and per-flush cost that dominates a mail's storing.
    """
    if not parsed:
        return []
    if parsed[0].mail is None:
        return [_quarantine_unparsed(services, parsed[0], now)]
    readable = list(takewhile(lambda p: p.mail is not None, parsed))
    if len(readable) == 1:
        return [_process_parsed(services, readable[0], now)]
    services.faults("after_parse")
    try:
        return _store_together(services, readable, now, enough)
    except Exception as exc:  # noqa: BLE001 - each mail gets its own try just below
        log.info("group of %d not stored together (%s); storing one by one",
                 len(readable), type(exc).__name__)
        return [_process_parsed(services, p, now) for p in readable]


def _store_together(
    services: Services, parsed: list[Parsed], now: datetime, enough: Callable[[], bool]
) -> list[Result]:
    with services.sessions.begin() as session, session.no_autoflush:
        mails.note_stored_inbound(session, (p.mail.message_id for p in parsed))
        mails.note_outbound(session, (p.mail.message_id for p in parsed
                                      if not p.mail.message_id_synthetic))
        autoreplies.count_recent(session, (p.mail.answer_to.addr for p in parsed),
                                 since=now - services.auto_reply_cap.window)
        results = []
        for p in parsed:
            results.append(_store(session, services, p.fetched, p.mail, p.digest, now))
            if enough():
                break
        return results


def _store(
    session: Session,
    services: Services,
    fetched: FetchedMail,
    mail: InboundMail,
    digest: str,
    now: datetime,
) -> Result:
    if mails.inbound_exists(session, mail.message_id):
        return Result(Disposition.DUPLICATE, reason=f"Message-ID <{mail.message_id}> already stored")
    if fetched.truncated:
        result = _quarantine_in(session, fetched, digest, mail,
                                f"oversize: {fetched.size} bytes, only headers fetched", now)
        system_mail.tell_sender_of_oversize(session, services, mail, fetched.size, now)
        return result
    rules = services.rules()
    tag = parse_subject(mail.subject, rules.directory.words)
    if tag.record_id or mail.in_reply_to or mail.references:
        flush_pending(session)  # in a batch, the thread may have begun a few mails earlier
    if mail.auto is AutoKind.BOUNCE:
        reported = delivery_reports.take(
            session, services, mail, fetched.raw,
            lambda: _inbound_row(fetched, mail, digest, now, kind="report"), now)
        if reported is not None:
            return reported
    existing = open_record.thread_of(session, tag, mail)
    if existing is not None and _is_strangers(session, services, existing, mail):
        # Someone quoting a record not theirs: a record of their own, linked, never the other.
        decision = route(mail, tag, rules, internal_domains=services.identity.internal_domains)
        inbound = _inbound_values(fetched, mail, digest, now, kind="original")
        record, queued = open_record.open_record(session, services, mail, tag, decision,
                                                 inbound, now, related=existing)
        return Result(Disposition.CREATED, record.id, queued=queued)
    if existing is not None:
        row = _inbound_row(fetched, mail, digest, now, kind="reply")
        open_record.append_mail(session, existing, row, mail, now)
        handler = feedback.handle if feedback.handles(existing) else reply.handle_reply
        queued = handler(session, services, existing, row, mail, now)
        return Result(Disposition.APPENDED, existing.id, queued=queued)
    if mail.auto in (AutoKind.AUTO_REPLY, AutoKind.BOUNCE) or is_own_mail(
            session, services.identity, mail):
        why = mail.auto_reason or "mail from the gateway itself"
        mails.add_inbound(session, _inbound_row(fetched, mail, digest, now, kind="auto"))
        return Result(Disposition.IGNORED, reason=why)
    started = start_message.take(session, services, mail, tag,
                                 _inbound_values(fetched, mail, digest, now, kind="original"), now)
    if started is not None:
        return started
    decision = route(mail, tag, rules, internal_domains=services.identity.internal_domains)
    inbound = _inbound_values(fetched, mail, digest, now, kind="original")
    record, queued = open_record.open_record(session, services, mail, tag, decision, inbound, now)
    return Result(Disposition.CREATED, record.id, queued=queued)


def _is_strangers(session: Session, services: Services, record, mail: InboundMail) -> bool:
    if is_own_mail(session, services.identity, mail):
        return False
    return participants.relation(services, record, mail)[0] is participants.Relation.STRANGER


def _inbound_row(
    fetched: FetchedMail, mail: InboundMail, digest: str, now: datetime, *, kind: str
) -> Mail:
    return Mail(**_inbound_values(fetched, mail, digest, now, kind=kind))


def _inbound_values(
    fetched: FetchedMail, mail: InboundMail, digest: str, now: datetime, *, kind: str
) -> dict[str, Any]:
    return {
        "direction": "in",
        "message_id": mail.message_id,
        "inbound_key": mail.message_id,
        "source_key": fetched.key,
        "kind": kind,
        "subject": mail.subject,
        "from_addr": mail.from_addr.addr,
        "to_addrs": [a.addr for a in mail.recipients],
        "date": mail.date,
        "created_at": now,
        "size": len(fetched.raw),
        "digest": digest,
        "quarantine_reason": None,
        "raw": fetched.raw,
    }


def _quarantine(
    services: Services,
    fetched: FetchedMail,
    digest: str,
    mail: InboundMail | None,
    reason: str,
    now: datetime,
) -> Result:
    with services.sessions.begin() as session:
        return _quarantine_in(session, fetched, digest, mail, reason, now)


def _quarantine_in(
    session: Session,
    fetched: FetchedMail,
    digest: str,
    mail: InboundMail | None,
    reason: str,
    now: datetime,
) -> Result:
    key = mail.message_id if mail else f"sha256:{digest}"
    if mails.inbound_exists(session, key):
        return Result(Disposition.DUPLICATE, reason="quarantined before")
    mails.add_inbound(
        session,
        Mail(
            direction="in",
            message_id=key,
            inbound_key=key,
            source_key=fetched.key,
            kind="quarantined",
            subject=mail.subject if mail else "",
            from_addr=mail.from_addr.addr if mail else "",
            to_addrs=[a.addr for a in mail.recipients] if mail else [],
            date=mail.date if mail else None,
            created_at=now,
            size=len(fetched.raw),
            digest=digest,
            quarantine_reason=reason,
            raw=fetched.raw,
        ),
    )
    log.warning("quarantined %s: %s", fetched.key, reason)
    return Result(Disposition.QUARANTINED, reason=reason)


def _is_storage_failure(exc: Exception) -> bool:
    # The database failed, not the mail: it stays in the mailbox for the next round.
    return isinstance(exc, StorageError) and not isinstance(exc, Duplicate)

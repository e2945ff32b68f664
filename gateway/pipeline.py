"""The use case: one fetched mail becomes stored state and queued answers, in one transaction."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from . import closedloop, loops, notices, records
from .db import repo
from .db.models import Mail
from .errors import ParseError
from .identity import Identity
from .loops import AutoReplyCap
from .model import AutoKind, InboundMail
from .parse import parse_mail
from .render import Renderer
from .rules import RuleSet, route
from .sources.base import FetchedMail, Outcome
from .subject import parse_subject
from .worktime import DeadlinePolicy, WorkCalendar

log = logging.getLogger(__name__)


class Action(StrEnum):
    CREATED = "created"  # a new record
    APPENDED = "appended"  # added to an existing record's log
    DUPLICATE = "duplicate"  # this Message-ID was stored before; nothing done
    IGNORED = "ignored"  # stored, but automatic mail that belongs to no record
    QUARANTINED = "quarantined"  # kept with a reason, not routed

    @property
    def outcome(self) -> Outcome:
        return Outcome.QUARANTINED if self is Action.QUARANTINED else Outcome.PROCESSED


@dataclass(frozen=True, slots=True)
class Result:
    action: Action
    record_id: str | None = None
    reason: str | None = None
    queued: tuple[str, ...] = ()  # Message-IDs of the mails queued for sending


@dataclass
class Services:
    """What processing a mail needs, built once from settings by the caller."""

    sessions: sessionmaker
    rules: Callable[[], RuleSet]  # the rule set in force now (reloadable)
    renderer: Renderer
    calendar: WorkCalendar
    policy: DeadlinePolicy
    identity: Identity
    faults: Callable[[str], None] = field(default=lambda point: None)
    loop: closedloop.LoopPolicy = field(default_factory=closedloop.LoopPolicy)
    auto_reply_cap: AutoReplyCap = AutoReplyCap()
    max_size: int = 25 * 1024 * 1024  # bytes; what an oversize notice names as the limit


def process(services: Services, fetched: FetchedMail, now: datetime) -> Result:
    """Store one mail and everything it causes, or quarantine it; never raise for a bad mail.

    Raises only when the database itself cannot take the mail, so the caller leaves it in
    the mailbox for the next round.
    """
    digest = hashlib.sha256(fetched.raw).hexdigest()
    try:
        mail = parse_mail(fetched.raw)
    except ParseError as exc:
        return _quarantine(services, fetched, digest, None, f"unparseable: {exc}", now)
    except Exception as exc:  # noqa: BLE001 - a parser bug must not stop the mailbox
        log.exception("parser failed on %s; quarantining it", fetched.key)
        return _quarantine(services, fetched, digest, None, f"parser failed: {exc!r}", now)
    services.faults("after_parse")
    try:
        with services.sessions.begin() as session:
            return _store(session, services, fetched, mail, digest, now)
    except IntegrityError:
        # A concurrent run stored the same Message-ID first: the database refused the twin.
        with services.sessions() as session:
            if repo.inbound_exists(session, mail.message_id):
                return Result(Action.DUPLICATE, reason="stored concurrently")
        raise
    except Exception as exc:
        if _is_storage_failure(exc):
            raise
        log.exception("mail %s could not be processed; quarantining it", fetched.key)
        return _quarantine(services, fetched, digest, mail, f"internal error: {exc!r}", now)


def process_many(services: Services, batch: list[FetchedMail], now: datetime) -> list[Result]:
    """`process` for a batch, committed together; results as if each mail had its own turn.

    Each mail's rows are still all-or-nothing: if anything in the batch fails, the whole
    transaction is rolled back and every mail is processed again alone, so one bad mail
    costs its batch a retry but never takes a good mail with it. Committing a batch at
    once spares the per-transaction and per-flush cost that dominates a mail's storing.
    """
    if len(batch) <= 1:
        return [process(services, item, now) for item in batch]
    results: dict[int, Result] = {}
    parsed: list[tuple[int, FetchedMail, InboundMail]] = []
    for n, item in enumerate(batch):
        try:
            parsed.append((n, item, parse_mail(item.raw)))
        except Exception:  # noqa: BLE001 - `process` quarantines it with the reason
            results[n] = process(services, item, now)
    services.faults("after_parse")
    try:
        stored = _store_together(services, [(item, mail) for _, item, mail in parsed], now)
    except Exception as exc:  # noqa: BLE001 - each mail gets its own try just below
        log.info("batch of %d not stored together (%s); storing one by one",
                 len(parsed), type(exc).__name__)
        stored = [process(services, item, now) for _, item, _ in parsed]
    results.update(zip((n for n, _, _ in parsed), stored))
    return [results[n] for n in range(len(batch))]


def _store_together(
    services: Services, parsed: list[tuple[FetchedMail, InboundMail]], now: datetime
) -> list[Result]:
    with services.sessions.begin() as session, session.no_autoflush:
        repo.note_stored_inbound(session, (mail.message_id for _, mail in parsed))
        loops.count_recent(session, (mail.answer_to.addr for _, mail in parsed), now,
                           services.auto_reply_cap)
        return [
            _store(session, services, item, mail, hashlib.sha256(item.raw).hexdigest(), now)
            for item, mail in parsed
        ]


def _store(
    session: Session,
    services: Services,
    fetched: FetchedMail,
    mail: InboundMail,
    digest: str,
    now: datetime,
) -> Result:
    if repo.inbound_exists(session, mail.message_id):
        return Result(Action.DUPLICATE, reason=f"Message-ID <{mail.message_id}> already stored")
    if fetched.truncated:
        result = _quarantine_in(session, fetched, digest, mail,
                                f"oversize: {fetched.size} bytes, only headers fetched", now)
        notices.tell_sender_of_oversize(session, services, mail, fetched.size, now)
        return result
    rules = services.rules()
    tag = parse_subject(mail.subject, rules.directory.names)
    if session.new and (tag.record_id or mail.in_reply_to or mail.references):
        session.flush()  # in a batch, the thread may have begun a few mails earlier
    existing = records.thread_of(session, tag, mail)
    if existing is not None:
        row = _inbound_row(fetched, mail, digest, now, kind="reply")
        records.append_mail(session, existing, row, mail, now)
        queued = closedloop.handle_reply(session, services, existing, row, mail, now)
        return Result(Action.APPENDED, existing.id, queued=queued)
    if mail.auto in (AutoKind.AUTO_REPLY, AutoKind.BOUNCE) or services.identity.is_own(mail):
        why = mail.auto_reason or "mail from the gateway itself"
        repo.add_inbound(session, _inbound_row(fetched, mail, digest, now, kind="auto"))
        return Result(Action.IGNORED, reason=why)
    decision = route(mail, tag, rules, internal_domains=services.identity.internal_domains)
    row = _inbound_row(fetched, mail, digest, now, kind="original")
    record, queued = records.open_record(session, services, mail, tag, decision, row, now)
    return Result(Action.CREATED, record.id, queued=queued)


def _inbound_row(
    fetched: FetchedMail, mail: InboundMail, digest: str, now: datetime, *, kind: str
) -> Mail:
    return Mail(
        direction="in",
        message_id=mail.message_id,
        inbound_key=mail.message_id,
        source_key=fetched.key,
        kind=kind,
        subject=mail.subject,
        from_addr=mail.from_addr.addr,
        to_addrs=[a.addr for a in mail.recipients],
        date=mail.date,
        created_at=now,
        size=len(fetched.raw),
        digest=digest,
        raw=fetched.raw,
    )


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
    if repo.inbound_exists(session, key):
        return Result(Action.DUPLICATE, reason="quarantined before")
    repo.add_inbound(
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
    return Result(Action.QUARANTINED, reason=reason)


def _is_storage_failure(exc: Exception) -> bool:
    from sqlalchemy.exc import DBAPIError

    return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError)

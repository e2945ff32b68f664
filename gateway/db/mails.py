"""Mail rows, in and out: storing incoming mail once per Message-ID, and Message-ID lookups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

# Row: the handle of a mail written at commit, whose id is known once written.
from gateway.db._journal import Row, insert_later_with_id
from gateway.db.models import Mail


def inbound_exists(session: Session, key: str) -> bool:
    """Whether a mail with this key is stored, or pending in this session's transaction."""
    if key in session.info.get(_PENDING_INBOUND, ()):
        return True
    if key in session.info.get(_LOOKED_UP, ()):
        return False
    return session.scalar(select(Mail.id).where(Mail.inbound_key == key)) is not None


def note_stored_inbound(session: Session, keys: Iterable[str]) -> None:
    """Look up many keys in one query, so a batch asks the database once, not once a mail."""
    keys = set(keys)
    found = session.scalars(select(Mail.inbound_key).where(Mail.inbound_key.in_(keys)))
    _pending_inbound(session).update(found)
    session.info.setdefault(_LOOKED_UP, set()).update(keys)


def add_inbound(session: Session, row: Mail) -> None:
    """Add an incoming mail; later mails of the same batch see it before it is flushed."""
    session.add(row)
    _pending_inbound(session).add(row.inbound_key)


def add_inbound_row(session: Session, **values: Any) -> Row:
    """`add_inbound` as a journal row: for a mail that opens a record in this transaction."""
    handle = insert_later_with_id(session, Mail.__table__, values)
    _pending_inbound(session).add(values["inbound_key"])
    return handle


_PENDING_INBOUND = "gateway.pending_inbound"  # stored or added in this transaction
_LOOKED_UP = "gateway.looked_up_inbound"  # keys whose stored state is already known


def _pending_inbound(session: Session) -> set[str]:
    return session.info.setdefault(_PENDING_INBOUND, set())


def message_id_stored(session: Session, message_id: str) -> bool:
    """Whether any mail, in or out, carries this Message-ID."""
    return session.scalar(select(Mail.id).where(Mail.message_id == message_id).limit(1)) is not None


def outbound_exists(session: Session, message_id: str) -> bool:
    """Whether the gateway itself sent (or queued) a mail with this Message-ID."""
    known = session.info.get(_OUTBOUND_KNOWN)
    if known is not None and message_id in known:
        return known[message_id]
    return session.scalar(_OUTBOUND_EXISTS, {"message_id": message_id}) is not None


def note_outbound(session: Session, message_ids: Iterable[str]) -> None:
    """Look up many Message-IDs among the sent mail in one query, for `outbound_exists`.

    What is noted holds for the transaction: the gateway's own Message-IDs are new, so no
    mail it queues later in the transaction can carry one of these.
    """
    ids = set(message_ids)
    found = set(session.scalars(
        select(Mail.message_id).where(Mail.message_id.in_(ids), Mail.direction == "out")))
    session.info.setdefault(_OUTBOUND_KNOWN, {}).update((i, i in found) for i in ids)


_OUTBOUND_KNOWN = "gateway.outbound_known"  # Message-ID → whether the gateway sent it
# Built once: a statement made per call costs more than the indexed lookup it runs.
_OUTBOUND_EXISTS = (select(Mail.id)
                    .where(Mail.message_id == bindparam("message_id"), Mail.direction == "out")
                    .limit(1))


def first_inbound_message_id(session: Session, record_id: str) -> str | None:
    """The Message-ID of the mail that opened the record (what its notices thread under)."""
    # The record's own rows, the first chosen here (see records.record_for_message_ids).
    rows = session.execute(
        select(Mail.id, Mail.message_id)
        .where(Mail.record_id == record_id, Mail.direction == "in")
    ).all()
    return min(rows)[1] if rows else None

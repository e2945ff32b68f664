"""Archiving's reads and its one bulk write: records due for archive or purge, mail forgotten."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from gateway.db.models import Mail, Outbox, Record
from gateway.model import Status


def closed_unarchived(session: Session) -> Sequence[Record]:
    """Closed records not archived yet, in the order they were closed."""
    return session.scalars(
        select(Record).where(Record.status == Status.CLOSED.value, Record.closed_at.is_not(None),
                             Record.archived_at.is_(None)).order_by(Record.closed_at, Record.id)
    ).all()


def archived_unpurged(session: Session, classes: Iterable[str]) -> Sequence[Record]:
    """Archived records of these archive classes whose personal data is still kept."""
    return session.scalars(
        select(Record).where(Record.archived_at.is_not(None), Record.purged_at.is_(None),
                             Record.archive_class.in_(list(classes)))
        .order_by(Record.archived_at, Record.id)
    ).all()


def forget_mails(session: Session, mail_ids: Sequence[int]) -> None:
    """Clear the raw bytes and addresses of these mails, and the recipients of their sent
    outbox rows; loaded objects are expired so they read the cleared values."""
    if not mail_ids:
        return
    # The digest and size stay: proof that a mail existed, without its content.
    session.execute(update(Mail).where(Mail.id.in_(mail_ids)).values(
        raw=b"", subject="", from_addr="", to_addrs=[]))
    session.execute(update(Outbox).where(Outbox.mail_id.in_(mail_ids),
                                         Outbox.status != "pending").values(recipients=[]))
    session.expire_all()

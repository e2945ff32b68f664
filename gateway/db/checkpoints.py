"""Where each mailbox source resumes, kept in the register so a restart misses nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from gateway.db.models import StoredCheckpoint
from gateway.model import Checkpoint


def load(session: Session, source: str) -> Checkpoint | None:
    row = session.get(StoredCheckpoint, source)
    return Checkpoint(row.uidvalidity, row.last_uid) if row else None


def save(session: Session, source: str, point: Checkpoint, now: datetime) -> None:
    """Move the checkpoint forward, or anywhere under a new UIDVALIDITY; never back."""
    row = session.get(StoredCheckpoint, source)
    if row is None:
        session.add(StoredCheckpoint(source=source, uidvalidity=point.uidvalidity,
                                     last_uid=point.last_uid, updated_at=now))
    elif row.uidvalidity != point.uidvalidity or point.last_uid > row.last_uid:
        row.uidvalidity, row.last_uid, row.updated_at = point.uidvalidity, point.last_uid, now

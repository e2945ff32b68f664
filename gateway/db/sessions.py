"""What a use case may ask of the transaction it holds, beyond the repositories' reads and writes."""

from __future__ import annotations

from sqlalchemy.orm import Session

from gateway.db import _journal


def flush_pending(session: Session) -> None:
    """Write the rows this transaction holds back (see _journal.py), so queries see them."""
    if _journal.pending(session):
        _journal.flush(session)

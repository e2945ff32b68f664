"""Automatic answers sent per address: counted so that a cap holds across batches and restarts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.db._journal import insert_later
from gateway.db.models import AutoReply

_COUNTED = "gateway.auto_replies_counted"  # addr → answers in the window, this transaction


def sent_recently(session: Session, addr: str, since: datetime) -> int:
    """Answers to `addr` after `since`: stored ones, and those added in this transaction.

    The pipeline stores a batch of mails in one transaction without flushing in between, so
    the answers admitted earlier in the batch are counted here, not by the query.
    """
    counted = session.info.setdefault(_COUNTED, {})
    if addr not in counted:
        counted[addr] = session.scalar(
            select(func.count()).select_from(AutoReply)
            .where(AutoReply.addr == addr, AutoReply.at > since)
        ) or 0
    return counted[addr]


def count_recent(session: Session, addrs: Iterable[str], since: datetime) -> None:
    """Count the answers of many addresses in one query, so a batch asks the database once."""
    wanted = {a.lower() for a in addrs if a} - session.info.get(_COUNTED, {}).keys()
    if not wanted:
        return
    rows = session.execute(
        select(AutoReply.addr, func.count()).where(
            AutoReply.addr.in_(wanted), AutoReply.at > since
        ).group_by(AutoReply.addr)
    )
    counted = session.info.setdefault(_COUNTED, {})
    counted.update(dict.fromkeys(wanted, 0))
    counted.update({addr: n for addr, n in rows})


def note_sent(session: Session, addr: str, now: datetime, kind: str) -> None:
    """Count one answer to `addr` (counted first by `sent_recently`) in this transaction."""
    insert_later(session, AutoReply.__table__, {"addr": addr, "at": now, "kind": kind})
    session.info[_COUNTED][addr] += 1

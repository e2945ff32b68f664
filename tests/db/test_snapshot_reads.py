"""A session that only reads neither waits for SQLite's writer nor sees its uncommitted rows."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gateway.db.engine import make_engine, upgrade
from gateway.db.sessions import Sessions
from gateway.errors import StorageUnavailable

COUNT = text("SELECT count(*) FROM checkpoints")
INSERT = text("INSERT INTO checkpoints (source, uidvalidity, last_uid, updated_at) "
              "VALUES (:source, 1, 1, '2026-11-30 00:00:00')")


@pytest.fixture
def engines(tmp_path):
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    writer, reader = make_engine(url), make_engine(url, busy_timeout=0.2)
    upgrade(writer)
    yield writer, reader
    writer.dispose()
    reader.dispose()


def test_a_snapshot_reads_beside_a_writer_holding_the_lock(engines) -> None:
    writer, reader = engines
    with writer.begin() as connection:
        connection.execute(INSERT, {"source": "committed"})
    sessions = Sessions(reader)
    with writer.begin() as holding:  # BEGIN IMMEDIATE: the write lock, kept open
        holding.execute(INSERT, {"source": "uncommitted"})
        with sessions.snapshot() as session:
            assert session.execute(COUNT).scalar() == 1  # at once, and only what is committed
        with pytest.raises(StorageUnavailable), sessions() as session:
            session.execute(COUNT)  # an ordinary session takes the write lock first, and waits


def test_writing_in_a_snapshot_fails_rather_than_waiting_or_deadlocking(engines) -> None:
    writer, reader = engines
    sessions = Sessions(reader)
    with writer.begin() as holding:
        holding.execute(INSERT, {"source": "held"})
        with pytest.raises(StorageUnavailable), sessions.snapshot() as session:
            session.execute(COUNT)
            session.execute(INSERT, {"source": "mine"})

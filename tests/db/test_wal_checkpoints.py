"""The mailbox loop leaves SQLite's checkpoints to the outbox sender's connections."""

from __future__ import annotations

from sqlalchemy import text

from gateway.db.engine import (
    LOOP_CHECKPOINT_PAGES,
    checkpoint_every,
    make_engine,
    upgrade,
)


def _autocheckpoint(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()


def test_the_loop_checkpoints_rarely_and_other_engines_as_usual(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    loop, sender, command = make_engine(url), make_engine(url), make_engine(url)
    try:
        upgrade(loop)
        assert _autocheckpoint(loop) == 1000  # SQLite's default, before the daemon asks
        checkpoint_every(loop, LOOP_CHECKPOINT_PAGES)
        assert _autocheckpoint(loop) == LOOP_CHECKPOINT_PAGES
        assert _autocheckpoint(sender) == 1000  # the sender's, and an admin's command's
        assert _autocheckpoint(command) == 1000
        with loop.begin() as connection:  # still a working engine
            assert connection.execute(text("SELECT count(*) FROM records")).scalar() == 0
    finally:
        for engine in (loop, sender, command):
            engine.dispose()


def test_postgresql_engines_are_left_alone() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    listeners = len(engine.pool.dispatch.connect)
    checkpoint_every(engine, LOOP_CHECKPOINT_PAGES)  # opens no connection, adds no listener
    assert len(engine.pool.dispatch.connect) == listeners
    engine.dispose()

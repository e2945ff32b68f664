"""The mailbox loop leaves SQLite's checkpoints to the outbox sender's connections."""

from __future__ import annotations

from sqlalchemy import event, text

from gateway.db.engine import (
    LOOP_CHECKPOINT_PAGES,
    _sqlite_rare_checkpoints,
    leave_checkpoints,
    make_engine,
    upgrade,
)


def _autocheckpoint(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()


def test_the_loop_checkpoints_rarely_and_other_engines_as_usual(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    loop, sender = make_engine(url), make_engine(url)
    try:
        upgrade(loop)
        assert _autocheckpoint(loop) == 1000  # SQLite's default, before the daemon asks
        leave_checkpoints(loop)
        assert _autocheckpoint(loop) == LOOP_CHECKPOINT_PAGES
        assert _autocheckpoint(sender) == 1000
        with loop.begin() as connection:  # still a working engine
            assert connection.execute(text("SELECT count(*) FROM records")).scalar() == 0
    finally:
        loop.dispose()
        sender.dispose()


def test_postgresql_engines_are_left_alone() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    leave_checkpoints(engine)  # opens no connection (none could be) and adds no listener
    assert not event.contains(engine, "connect", _sqlite_rare_checkpoints)
    engine.dispose()

"""The mailbox loop leaves SQLite's checkpoints to the outbox sender, which makes them after
its commits, without the write lock."""

from __future__ import annotations

import threading

from sqlalchemy import text

from gateway.db.engine import (
    LOOP_CHECKPOINT_PAGES,
    checkpoint,
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


def test_a_checkpoint_copies_the_log_back_while_a_writer_holds_the_lock(tmp_path) -> None:
    path = tmp_path / "gateway.db"
    sender, loop = make_engine(f"sqlite:///{path}"), make_engine(f"sqlite:///{path}")
    try:
        checkpoint_every(sender, 0)
        checkpoint_every(loop, 0)
        with loop.begin() as connection:
            connection.execute(text("CREATE TABLE counters (name TEXT, value INTEGER, filler BLOB)"))
        checkpoint(sender)
        before = path.stat().st_size
        with loop.begin() as connection:
            for n in range(200):
                connection.execute(text("INSERT INTO counters (name, value, filler) VALUES (:n, :v, randomblob(1000))"),
                                   {"n": f"c{n}", "v": n})
        assert path.stat().st_size == before  # committed, still only in the log
        done = threading.Event()
        with loop.begin() as writing:  # BEGIN IMMEDIATE: the write lock, held throughout
            writing.execute(text("UPDATE counters SET value = value + 1"))
            worker = threading.Thread(target=lambda: (checkpoint(sender), done.set()))
            worker.start()
            worker.join(20)
            assert done.is_set()  # it did not wait for the writer to let go
        assert path.stat().st_size > before  # 200 kB of rows in the database file now
        with sender.connect() as connection:
            assert connection.execute(text("SELECT sum(value) FROM counters")).scalar() == \
                sum(range(200)) + 200
    finally:
        sender.dispose()
        loop.dispose()


def test_a_checkpoint_elsewhere_than_sqlite_opens_nothing() -> None:
    engine = make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    checkpoint(engine)  # no server there: it would fail if it connected
    engine.dispose()

"""The mailbox loop leaves SQLite's checkpoints to the outbox sender, which makes them after
its commits, without the write lock."""

from __future__ import annotations

import threading

import pytest
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


def test_a_restart_copies_everything_and_the_next_writer_begins_the_log_anew(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gateway.db'}")
    try:
        checkpoint_every(engine, 0)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE filler (data BLOB)"))
        for _ in range(5):
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO filler VALUES (randomblob(100000))"))
        pages, copied = checkpoint(engine, "RESTART")
        assert pages > 100 and copied == pages
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO filler VALUES (randomblob(10))"))
        pages, _ = checkpoint(engine)
        assert pages < 10  # the small write went to the start of the log
    finally:
        engine.dispose()


@pytest.mark.parametrize("pages, copied, restarted", [
    (5_000, 100, True),     # long, and the loop kept writing: restart it, in the sender's turn
    (5_000, 5_000, True),   # all copied, but a reader may keep the next writer from restarting
    (100, 50, False),       # short: the next copy catches up
])
def test_the_sender_restarts_the_log_only_once_it_is_long(
        monkeypatch, pages, copied, restarted) -> None:
    from gateway.db import engine as engine_module
    from gateway.db.writeturn import WriteTurn

    asking = threading.Event()
    calls = []

    def fake(engine, mode="PASSIVE"):
        calls.append((mode, asking.is_set()))
        return (pages, copied) if mode == "PASSIVE" else (pages, pages)

    monkeypatch.setattr(engine_module, "checkpoint", fake)
    engine_module.copy_log_back(object(), WriteTurn(asking))
    assert calls == [("PASSIVE", False)] + ([("RESTART", True)] if restarted else [])
    assert not asking.is_set()

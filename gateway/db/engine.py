"""Engine and session set-up per backend, and schema migration to the latest revision."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import sessionmaker

from gateway.db.writeturn import WriteTurn

MIGRATIONS = Path(__file__).parent / "migrations"
# JSON columns as compact UTF-8 text: the default escapes every Chinese character as \uXXXX
# and adds a space after each separator, which made a routing trace 2.6 times as long.
json_text = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
MIGRATION_LOCK = 0x6761_7465  # PostgreSQL advisory lock key held while the schema is upgraded


def make_engine(url: str, *, busy_timeout: float = 30.0) -> Engine:
    """Create the engine; for SQLite a 0600 file in WAL mode with immediate write transactions."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, future=True, json_serializer=json_text)
    if parsed.database and parsed.database != ":memory:":
        _create_private_file(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": busy_timeout}, json_serializer=json_text)
    event.listen(engine, "connect", partial(_sqlite_on_connect, busy_ms=int(busy_timeout * 1000)))
    event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


# WAL pages after which a commit of the mailbox loop (or its reader) copies the log back into
# the database (a checkpoint; SQLite's default, which the CLI's commands keep, is 1,000).
LOOP_CHECKPOINT_PAGES = 20_000


def checkpoint_every(engine: Engine, pages: int) -> None:
    """Have this engine's connections checkpoint once the write-ahead log holds `pages` pages.

    SQLite checkpoints at the end of whichever commit finds the log over the limit (0: never).
    In the mailbox loop, a fifth of the commits took five times as long: the daemon leaves
    them to the outbox sender, on the other core, which checkpoints after each commit of its
    own once it has let go of the write lock (`copy_log_back`); the loop checkpoints only
    should the sender not be running. No-op but on SQLite.
    """
    if engine.dialect.name != "sqlite":
        return
    engine.dispose()  # pooled connections were opened with the default
    event.listen(engine, "connect", partial(_sqlite_checkpoint_every, pages=pages))


def checkpoint(engine: Engine, mode: str = "PASSIVE") -> tuple[int, int]:
    """Copy the write-ahead log back into the database; the pages in the log, and copied.

    PASSIVE neither waits for a writer nor makes one wait: what a writer adds meanwhile, or
    a reader still needs, stays for the next time. RESTART waits for writers and readers
    (SQLite's busy timeout), copies everything, and has the next writer begin the log anew:
    only then does the log stop growing. No-op ((0, 0)) but on SQLite.
    """
    if engine.dialect.name != "sqlite":
        return 0, 0
    if mode not in ("PASSIVE", "RESTART"):
        raise ValueError(f"checkpoint mode: {mode}")
    # The driver's own connection, outside any transaction: through SQLAlchemy, the first
    # statement would open one, and BEGIN IMMEDIATE (below) takes the write lock.
    connection = engine.raw_connection()
    try:
        cursor = connection.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})")
        _busy, pages, copied = cursor.fetchone()
        cursor.close()
    finally:
        connection.close()
    return max(pages, 0), max(copied, 0)  # -1, -1: not in WAL mode


RESTART_PAGES = 4_000  # log pages (16 MB) past which the log is restarted, not only copied


def copy_log_back(engine: Engine, turn: WriteTurn) -> None:
    """After a commit of "sent": SQLite's log copied back without holding the loop up.

    The next writer begins the log anew only after a copy that left nothing behind, and only
    if no reader is looking at that moment. While the loop writes without pause and the
    reader and the sender read, that seldom happens, and the log grew until the loop's own
    checkpoint (20,000 pages) copied it inside a commit. So past RESTART_PAGES the sender
    asks for its turn, and the loop waits between two groups while the log is restarted.
    """
    pages, _copied = checkpoint(engine)
    if pages > RESTART_PAGES:
        with turn.asked():
            checkpoint(engine, "RESTART")


def _sqlite_checkpoint_every(dbapi_connection, _record, *, pages: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={int(pages)}")
    cursor.close()


def _create_private_file(path: Path) -> None:
    # The register holds complaints and personal data: readable by the gateway's user only.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)


def _sqlite_on_connect(dbapi_connection, _record, *, busy_ms: int = 30000) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite would defer it).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.close()


# An execution option: this connection's transactions only read (a snapshot, see below).
SNAPSHOT = "gateway_snapshot"


def _sqlite_begin_immediate(connection) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY in WAL
    # mode when another writer got there first; taking the write lock up front makes it wait.
    # A transaction that only reads needs no lock at all: in WAL mode it reads a snapshot
    # while a writer goes on.
    if connection.get_execution_options().get(SNAPSHOT):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str):
    from alembic.config import Config  # only where migrations run: it is a large import

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def latest_revision() -> str:
    """The newest migration's revision: they are numbered, each file named after its own."""
    return max(path.name.partition("_")[0] for path in (MIGRATIONS / "versions").glob("*_*.py"))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            return None  # a new database: no table yet


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration; a no-op when it is already there."""
    if current_revision(engine) == latest_revision():
        return  # the usual start: spares loading Alembic and every migration script
    from alembic import command

    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Nodes started together: one migrates, the others wait here and find it done.
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

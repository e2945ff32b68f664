"""`gateway health`: is the mailbox, SMTP and the database reachable, and is the outbox moving?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from gateway.config import Settings
from gateway.db import outbox
from gateway.db.engine import make_engine, make_sessionmaker
from gateway.errors import GatewayError

UNHEALTHY = 69  # EX_UNAVAILABLE: what systemd and monitoring see when a check fails


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def run_checks(settings: Settings, now: datetime) -> list[Check]:
    checks: list[tuple[str, Callable[[], str]]] = [
        ("database", lambda: _database(settings)),
        ("outbox", lambda: _outbox(settings, now)),
        ("mailbox", lambda: _mailbox(settings)),
        ("smtp", lambda: _smtp(settings)),
    ]
    results = []
    for name, probe in checks:
        try:
            results.append(Check(name, True, probe()))
        except (GatewayError, SQLAlchemyError, OSError) as exc:
            results.append(Check(name, False, _one_line(exc)))
    return results


def _database(settings: Settings) -> str:
    engine = _engine(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()
    return engine.url.render_as_string(hide_password=True)


def _engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        # make_engine would create an empty file: a health check must not.
        raise GatewayError(f"SQLite file {url.database} does not exist")
    return make_engine(settings.database_url, busy_timeout=settings.health.timeout)


def _outbox(settings: Settings, now: datetime) -> str:
    engine = _engine(settings)
    try:
        with make_sessionmaker(engine)() as session:
            age = outbox.oldest_pending_age(session, now)
            counts = outbox.counts(session)
    finally:
        engine.dispose()
    limit = timedelta(minutes=settings.health.outbox_stuck_minutes)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "empty"
    if age is not None and age > limit:
        raise GatewayError(f"stuck: the oldest pending mail waits since {_minutes(age)} min "
                           f"(limit {_minutes(limit)} min); {summary}")
    return summary


def _mailbox(settings: Settings) -> str:
    box = settings.mailbox
    if box.kind == "maildir":
        if not (settings.maildir_path / "new").is_dir():
            raise GatewayError(f"Maildir {settings.maildir_path} has no new/ folder")
        return f"maildir {settings.maildir_path}"
    from gateway.sources.factory import imap_settings
    from gateway.sources.imap import ImapSource

    source = ImapSource(imap_settings(settings, settings.health.timeout), lambda: None,
                        lambda point: None)
    try:
        source.check()
    finally:
        source.close()
    return f"imap {box.user}@{box.host}:{box.effective_port}/{box.folder} ({box.tls})"


def _smtp(settings: Settings) -> str:
    from gateway.outbox.sender import OutboxSender

    smtp = settings.smtp.model_copy(update={"timeout": settings.health.timeout})
    OutboxSender(None, smtp, smtp.password("smtp")).check()
    return f"{smtp.host}:{smtp.effective_port} ({smtp.tls})"


def _minutes(age: timedelta) -> int:
    return int(age.total_seconds() // 60)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

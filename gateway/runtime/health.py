"""`gateway health`: is the mailbox, SMTP and the database reachable, and is the outbox moving?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from gateway.config import Settings
from gateway.credentials.provider import TokenProvider
from gateway.db import reporting
from gateway.errors import GatewayError
from gateway.runtime.login_tokens import LoginTokens, token_checks

UNHEALTHY = 69  # EX_UNAVAILABLE: what systemd and monitoring see when a check fails


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"{'ok' if self.ok else 'FAIL'} {self.name}: {self.detail}"


def run_checks(settings: Settings, now: datetime) -> list[Check]:
    tokens = LoginTokens(settings)  # one cache per login: the token check's token logs in
    checks: list[tuple[str, Callable[[], str]]] = [
        ("database", lambda: _database(settings)),
        ("outbox", lambda: _outbox(settings, now)),
        *token_checks(settings, tokens),
        ("mailbox", lambda: _mailbox(settings, tokens.mailbox())),
        ("smtp", lambda: _smtp(settings, tokens.smtp())),
    ]
    if settings.im.channel:
        checks.append(("im", lambda: _im(settings)))
    results = []
    for name, probe in checks:
        try:
            results.append(Check(name, True, probe()))
        except (GatewayError, OSError) as exc:
            results.append(Check(name, False, _one_line(exc)))
    return results + node_checks(settings)


def node_checks(settings: Settings) -> list[Check]:
    """The daemons this database has: one line per node, with the leases it holds."""
    from gateway.runtime.nodes_view import describe_nodes

    try:
        return [Check(name, True, detail) for name, detail in describe_nodes(settings)]
    except (GatewayError, OSError) as exc:
        return [Check("nodes", False, _one_line(exc))]


def _database(settings: Settings) -> str:
    # Never creates the database: a missing SQLite file fails the check.
    return reporting.reachable(settings.database_url, settings.health.timeout)


def _outbox(settings: Settings, now: datetime) -> str:
    counts, age = reporting.outbox_state(settings.database_url, settings.health.timeout, now)
    limit = timedelta(minutes=settings.health.outbox_stuck_minutes)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "empty"
    if age is not None and age > limit:
        raise GatewayError(f"stuck: the oldest pending mail waits since {_minutes(age)} min "
                           f"(limit {_minutes(limit)} min); {summary}")
    return summary


def _im(settings: Settings) -> str:
    """The alert channels whose newest alert failed (dead, or waiting to be tried again)."""
    state = reporting.alert_state(settings.database_url, settings.health.timeout)
    failing, fine = [], []
    for channel in settings.im.channel:
        status, attempts, error, _ = state.get(channel.name, ("untried", 0, None, None))
        if status == "sent" or status == "untried":
            fine.append(f"{channel.name} {status}")
        else:
            what = "dead" if status == "dead" else f"failing after {attempts} attempt(s)"
            failing.append(f"{channel.name} {what}: {error}")
    if failing:
        raise GatewayError("; ".join(failing))
    return ", ".join(fine)


def _mailbox(settings: Settings, tokens: TokenProvider | None) -> str:
    box = settings.mailbox
    if box.kind == "maildir":
        if not (settings.maildir_path / "new").is_dir():
            raise GatewayError(f"Maildir {settings.maildir_path} has no new/ folder")
        return f"maildir {settings.maildir_path}"
    from gateway.sources.factory import imap_settings
    from gateway.sources.imap import ImapSource

    source = ImapSource(imap_settings(settings, settings.health.timeout), lambda: None,
                        lambda point: None, tokens=tokens)
    try:
        source.check()
    finally:
        source.close()
    return f"imap {box.user}@{box.host}:{box.effective_port}/{box.folder} ({box.tls})"


def _smtp(settings: Settings, tokens: TokenProvider | None) -> str:
    from gateway.outbox.sender import OutboxSender

    smtp = settings.smtp.model_copy(update={"timeout": settings.health.timeout})
    password = None if smtp.uses_token else smtp.password("smtp")
    OutboxSender(None, smtp, password, tokens=tokens).check()
    return f"{smtp.host}:{smtp.effective_port} ({smtp.tls})"


def _minutes(age: timedelta) -> int:
    return int(age.total_seconds() // 60)


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

"""`gateway check`: settings, DNS, TLS, token, login and folders, one line per step, in order."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from gateway.config import Settings
from gateway.runtime.login_tokens import LoginTokens, describe_token

CHECK_FAILED = 69  # EX_UNAVAILABLE, as `health`


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    state: str  # "ok", "FAIL" or "skip"
    detail: str

    @property
    def failed(self) -> bool:
        return self.state == "FAIL"

    def __str__(self) -> str:
        return f"{self.state} {self.name}: {self.detail}"


Probe = Callable[[], str]


def run_steps(settings: Settings) -> Iterator[Step]:
    """Each step as it is done. After a failed step the later steps of the same server are
    skipped: they could only fail for the same reason, which would hide the real one."""
    tokens = LoginTokens(settings)
    first = list(_steps([("settings", lambda: _settings(settings, tokens))]))
    yield from first
    if first[0].failed:  # a secret missing: nothing further can work
        return
    yield from _steps(_mailbox_steps(settings, tokens))
    yield from _steps(_smtp_steps(settings, tokens))


def _steps(steps: list[tuple[str, Probe]]) -> Iterator[Step]:
    failed: str | None = None
    for name, probe in steps:
        if failed is not None:
            yield Step(name, "skip", f"after {failed} failed")
            continue
        try:
            yield Step(name, "ok", probe())
        except Exception as exc:  # noqa: BLE001 - every failure is the step's answer
            failed = name
            yield Step(name, "FAIL", one_line(exc))


def _settings(settings: Settings, tokens: LoginTokens) -> str:
    """Valid at load already; here the secrets they name are read (env or file)."""
    box, smtp = settings.mailbox, settings.smtp
    if box.kind == "imap" and not box.uses_token:
        box.password("mailbox")
    if not smtp.uses_token:
        smtp.password("smtp")
    tokens.mailbox() if box.kind == "imap" else None
    tokens.smtp()
    where = settings.source or "built-in defaults"
    return (f"{where}: mailbox {box.kind} ({box.auth}), smtp {smtp.host}:{smtp.effective_port} "
            f"({smtp.auth})")


def _mailbox_steps(settings: Settings, tokens: LoginTokens) -> list[tuple[str, Probe]]:
    box = settings.mailbox
    if box.kind != "imap":
        return [("mailbox folder", lambda: _maildir(settings))]
    from gateway.runtime.check_imap import ImapProbe

    probe = ImapProbe(settings, tokens.mailbox)
    steps = [
        ("mailbox dns", lambda: resolve(box.host, box.effective_port)),
        ("mailbox tls", probe.connect),
        ("mailbox login", probe.log_in),
        ("mailbox folders", probe.folders),
    ]
    if box.uses_token:
        steps.insert(2, ("mailbox token", lambda: describe_token(tokens.mailbox())))
    return [(name, probe.closing_on_failure(step)) for name, step in steps]


def _smtp_steps(settings: Settings, tokens: LoginTokens) -> list[tuple[str, Probe]]:
    from gateway.runtime.check_smtp import smtp_log_in, smtp_tls

    smtp = settings.smtp
    steps = [
        ("smtp dns", lambda: resolve(smtp.host, smtp.effective_port)),
        ("smtp tls", lambda: asyncio.run(smtp_tls(smtp))),
        ("smtp login", lambda: asyncio.run(smtp_log_in(smtp, tokens.smtp()))),
    ]
    if smtp.uses_token:
        steps.insert(2, ("smtp token", lambda: describe_token(tokens.smtp())))
    return steps


def resolve(host: str, port: int) -> str:
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise LookupError(f"{host} does not resolve: {exc.strerror}") from None
    addresses = sorted({info[4][0] for info in found})
    return f"{host} → {', '.join(addresses[:3])}{' …' if len(addresses) > 3 else ''}"


def _maildir(settings: Settings) -> str:
    path = settings.maildir_path
    if not (path / "new").is_dir():
        raise FileNotFoundError(f"Maildir {path} has no new/ folder")
    return f"maildir {path}"


def one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror and not str(exc).startswith(exc.strerror):
        text = f"{exc.strerror}" + (f" ({exc.filename})" if exc.filename else "")
    else:
        text = str(exc)
    lines = text.strip().splitlines()
    return lines[0] if lines else type(exc).__name__

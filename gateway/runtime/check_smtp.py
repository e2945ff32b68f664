"""The SMTP steps of `gateway check`: connect with TLS, then log in."""

from __future__ import annotations

from gateway.config import SmtpSettings
from gateway.credentials.provider import TokenProvider
from gateway.outbox.smtp_login import log_in, open_smtp


async def smtp_tls(s: SmtpSettings) -> str:
    client = await open_smtp(s)
    try:
        where = f"{s.host}:{s.effective_port}"
        if s.tls == "none":
            return f"{where} without TLS (tls = none)"
        return f"{where} {s.tls}, certificate verified"
    finally:
        await _close(client)


async def smtp_log_in(s: SmtpSettings, tokens: TokenProvider | None) -> str:
    client = await open_smtp(s)
    try:
        password = None if tokens is not None else s.password("smtp")
        if tokens is None and (not s.user or password is None):
            return "no login configured ([smtp] user and password_env/password_file unset)"
        await log_in(client, s, password, tokens)
        return f"{s.user} by {'XOAUTH2' if tokens is not None else 'password'}"
    finally:
        await _close(client)


async def _close(client) -> None:
    try:
        await client.quit()
    except Exception:  # noqa: BLE001 - closing after a refusal may fail; nothing to do
        client.close()

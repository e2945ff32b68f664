"""How the sender reaches the SMTP server and logs in: TLS, then a password or XOAUTH2."""

from __future__ import annotations

import asyncio
import logging

import aiosmtplib
from pydantic import SecretStr

from gateway.config import SmtpSettings
from gateway.credentials.provider import TokenProvider
from gateway.credentials.token import scrub, xoauth2_forms
from gateway.errors import SmtpLoginError, TokenError

log = logging.getLogger(__name__)


async def open_smtp(s: SmtpSettings) -> aiosmtplib.SMTP:
    """Connected, greeted, with TLS as configured; not logged in yet."""
    client = aiosmtplib.SMTP(
        hostname=s.host,
        port=s.effective_port,
        use_tls=s.tls == "ssl",
        start_tls=s.tls == "starttls",
        validate_certs=True,
        cert_bundle=str(s.ca_file) if s.ca_file else None,
        timeout=s.timeout,
    )
    await client.connect()
    return client


async def log_in(client: aiosmtplib.SMTP, s: SmtpSettings, password: SecretStr | None,
                 tokens: TokenProvider | None) -> None:
    """AUTH with the password, or AUTH XOAUTH2 with a token (a refused one replaced once)."""
    if tokens is not None:
        await _xoauth2(client, s.user or "", tokens)
    elif s.user and password is not None:
        try:
            await client.login(s.user, password.get_secret_value())
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise SmtpLoginError(f"SMTP login refused for {s.user}: {exc.code} "
                                 f"{exc.message}") from None


async def _xoauth2(client: aiosmtplib.SMTP, user: str, tokens: TokenProvider) -> None:
    for attempt in (1, 2):
        try:
            # The endpoint is plain blocking HTTP; the other connections go on meanwhile.
            token = await asyncio.to_thread(tokens.token)
        except TokenError as exc:
            raise SmtpLoginError(str(exc)) from None
        try:
            await client.auth_xoauth2(user, token)
            return
        except aiosmtplib.SMTPAuthenticationError as exc:
            said = scrub(f"{exc.code} {exc.message}", xoauth2_forms(user, token))
            tokens.refused(token)
            if attempt == 2:
                raise SmtpLoginError(
                    f"SMTP login by XOAUTH2 refused for {user} with a fresh token by "
                    f"{tokens.source} ({tokens.setting}.auth): {said}; check the app's "
                    f"permission to send as {user} and {tokens.setting}.scope") from None
            log.info("smtp: XOAUTH2 login refused (%s); retrying with a new token", said)

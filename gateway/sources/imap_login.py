"""How the source reaches the server and logs in: TLS, then a password or XOAUTH2."""

from __future__ import annotations

import logging

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from gateway.credentials.provider import TokenProvider
from gateway.credentials.token import scrub, xoauth2_forms
from gateway.errors import MailboxError, TokenError
from gateway.sources.imap_protocol import describe, shutdown_quietly, tls_context
from gateway.sources.imap_settings import ImapSettings

log = logging.getLogger(__name__)


def connect(s: ImapSettings) -> IMAPClient:
    """A connection with TLS as configured (STARTTLS not offered: an error, not plaintext)."""
    context = tls_context(s.ca_file, s.verify) if s.tls != "none" else None
    client = IMAPClient(s.host, s.port, ssl=s.tls == "ssl", timeout=s.timeout,
                        ssl_context=context if s.tls == "ssl" else None)
    if s.tls == "starttls":
        try:
            client.starttls(context)
        except BaseException:
            shutdown_quietly(client)
            raise
    return client


def log_in(client: IMAPClient, s: ImapSettings, tokens: TokenProvider | None) -> None:
    """LOGIN with the password, or AUTHENTICATE XOAUTH2 with a token: a refused token is
    replaced by a fresh one once, since it may have been revoked or expired early."""
    if tokens is None:
        client.login(s.user, s.password)
        return
    for attempt in (1, 2):
        token = _token(tokens)
        try:
            client.oauth2_login(s.user, token)
            return
        except LoginError as exc:
            # The server's words, never the SASL string: scrub both forms in case it echoes.
            said = scrub(describe(exc), xoauth2_forms(s.user, token))
            tokens.refused(token)
            if attempt == 2:
                raise MailboxError(
                    f"IMAP login by XOAUTH2 refused for {s.user} on {s.host}:{s.port} with a "
                    f"fresh token by {tokens.source} ({tokens.setting}.auth): {said}; check the "
                    f"app's permission on the mailbox and {tokens.setting}.scope") from None
            log.info("%s: XOAUTH2 login refused (%s); retrying with a new token", s.host, said)


def _token(tokens: TokenProvider) -> str:
    try:
        return tokens.token()
    except TokenError as exc:
        # The daemon backs off on MailboxError exactly as when the server is away.
        raise MailboxError(str(exc)) from None

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
    _no_protocol_trace(client)
    if s.tls == "starttls":
        try:
            client.starttls(context)
        except BaseException:
            shutdown_quietly(client)
            raise
    return client


def _no_protocol_trace(client: IMAPClient) -> None:
    """imaplib makes no trace of the protocol, for debug logs (`-v`) or anywhere.

    IMAPClient turns imaplib's debug level to 5 and sends its trace to the imapclient.imaplib
    logger (which masks a LOGIN's password). The trace holds every fetched mail's bytes, and
    imaplib formats each line, mails and all, even for a logger that drops it: a fifth of the
    mailbox reader's CPU per mail. IMAPClient's own debug lines stay.
    """
    client._imap.debug = 0


def open_logged_in(s: ImapSettings, tokens: TokenProvider | None) -> IMAPClient:
    """Connected and logged in. A refused token is replaced by a fresh one once, on a new
    connection: it may have been revoked or expired early, and servers slow down (or hang
    up) after a failed AUTHENTICATE."""
    for attempt in (1, 2):
        client = connect(s)
        try:
            log_in(client, s, tokens, last_try=attempt == 2)
            return client
        except _Refused:
            shutdown_quietly(client)
        except BaseException:
            shutdown_quietly(client)
            raise
    raise AssertionError("unreachable")  # the second attempt returns or raises


def log_in(client: IMAPClient, s: ImapSettings, tokens: TokenProvider | None,
           *, last_try: bool = True) -> None:
    """LOGIN with the password, or AUTHENTICATE XOAUTH2 with the cached (or a new) token."""
    if tokens is None:
        client.login(s.user, s.password)
        return
    token = _token(tokens)
    try:
        client.oauth2_login(s.user, token)
    except LoginError as exc:
        # The server's words, never the SASL string: scrub both forms in case it echoes.
        said = scrub(describe(exc), xoauth2_forms(s.user, token))
        tokens.refused(token)
        if last_try:
            raise MailboxError(
                f"IMAP login by XOAUTH2 refused for {s.user} on {s.host}:{s.port} with a "
                f"fresh token by {tokens.source} ({tokens.setting}.auth): {said}; check the "
                f"app's permission on the mailbox and {tokens.setting}.scope") from None
        log.info("%s: XOAUTH2 login refused (%s); trying again with a new token", s.host, said)
        raise _Refused from None


class _Refused(Exception):
    """The token was refused and another one may be tried."""


def _token(tokens: TokenProvider) -> str:
    try:
        return tokens.token()
    except TokenError as exc:
        # The daemon backs off on MailboxError exactly as when the server is away.
        raise MailboxError(str(exc)) from None

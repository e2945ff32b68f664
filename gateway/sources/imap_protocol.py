"""The IMAP details the source leans on: connection errors, TLS, UID sets, IDLE news, error text."""

from __future__ import annotations

import imaplib
import ssl
from collections.abc import Iterable
from pathlib import Path

from imapclient import IMAPClient

# Socket errors and imaplib.IMAP4.error (IMAPClientError, its abort and LoginError included).
CONNECTION_ERRORS = (OSError, imaplib.IMAP4.error)


def tls_context(ca_file: Path | str | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def announced_size(data: dict) -> int:
    """The RFC822.SIZE of one FETCH answer; 0 when the server did not say."""
    return int(data.get(b"RFC822.SIZE") or 0)


def is_news(response: tuple) -> bool:
    """Whether an untagged response (from IDLE or NOOP) says new mail arrived."""
    if len(response) < 2 or not isinstance(response[0], int):
        return False
    return response[1] == b"EXISTS" or (response[1] == b"RECENT" and response[0] > 0)


def uidvalidity_of(key: str) -> int | None:
    """The UIDVALIDITY in a FetchedMail key "imap:<folder>:<uidvalidity>:<uid>"."""
    try:
        return int(key.rsplit(":", 2)[1])
    except (IndexError, ValueError):
        return None


def compact_uid_set(uids: Iterable[int]) -> str:
    """Compact UID set ("1:4,7,9:10") so a large batch stays one short command."""
    ranges: list[list[int]] = []
    for uid in sorted(set(uids)):
        if ranges and uid == ranges[-1][1] + 1:
            ranges[-1][1] = uid
        else:
            ranges.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in ranges)


def describe(exc: BaseException) -> str:
    """What a protocol or socket error says, for a one-line MailboxError."""
    if isinstance(exc, OSError) and exc.strerror:
        # Socket and TLS errors carry an errno first ("1", "111"): the text is what tells.
        return str(exc.strerror)
    text = exc.args[0] if exc.args else type(exc).__name__
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text) or type(exc).__name__


def shutdown_quietly(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except CONNECTION_ERRORS:
        pass

"""Outlook .msg files as raw mail: mail-parser converts them to RFC 822 with msgconvert."""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import shutil
from pathlib import Path

from gateway.errors import NotInstalled, ParseError
from gateway.model import FetchedMail

# A .msg file is an OLE2 compound file; no RFC 822 mail starts with these bytes.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MSGCONVERT, MSGCONVERT_PACKAGE = "msgconvert", "libemail-outlook-message-perl"


def is_outlook(head: bytes) -> bool:
    return head.startswith(OLE_MAGIC)


def read_msg(path: Path) -> FetchedMail:
    """One Outlook .msg file as a fetched mail; its key is derived from the converted bytes."""
    raw = convert(path)
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return FetchedMail(key=f"msg:{digest}", raw=raw, size=len(raw))


def convert(path: Path) -> bytes:
    """The RFC 822 bytes of an Outlook .msg file."""
    # mail-parser prefers extract-msg when it is installed, else runs msgconvert.
    if importlib.util.find_spec("extract_msg") is None and shutil.which(MSGCONVERT) is None:
        raise NotInstalled.program(MSGCONVERT, MSGCONVERT_PACKAGE, "Outlook .msg files need")
    import mailparser
    from mailparser.exceptions import MailParserError

    quiet, logger = _DropDeprecationNotice(), logging.getLogger("mailparser.core")
    logger.addFilter(quiet)
    try:
        message = mailparser.parse_from_file_msg(str(path)).message
    except MailParserError as exc:
        raise ParseError(f"{path}: cannot convert this Outlook file: {exc}") from None
    finally:
        logger.removeFilter(quiet)
    if not message.keys():
        raise ParseError(f"{path}: {MSGCONVERT} could not read this Outlook file")
    return undo_double_encoding(message.as_bytes())


def undo_double_encoding(raw: bytes) -> bytes:
    """Give a converted mail's body its own bytes back when msgconvert encoded it twice.

    msgconvert writes a mail whose headers carry text beyond Latin-1 (a Chinese subject in a
    .msg without the original transport headers) as UTF-8 of the whole text, so every body
    byte of 0x80 and above comes out as two. The headers are right as UTF-8 and stay; the body
    is decoded and its Latin-1 code points are the original bytes. A mail that was not encoded
    twice fails one of these tests and is returned as it is.
    """
    head, blank, body = _split(raw)
    if head.isascii() or body.isascii():
        return raw
    try:
        head.decode("utf-8")
        return head + blank + body.decode("utf-8").encode("latin-1")
    except UnicodeError:
        return raw


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    if not ends:
        return raw, b"", b""
    end = min(ends)
    blank = b"\r\n\r\n" if raw.startswith(b"\r\n\r\n", end) else b"\n\n"
    return raw[:end], blank, raw[end + len(blank):]


class _DropDeprecationNotice(logging.Filter):
    """mail-parser logs, on every .msg, that its msgconvert backend is deprecated in favour of
    extract-msg; an admin ingesting a file cannot act on that, so it stays out of our log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "deprecated" not in record.getMessage()

"""One mail handed over on a stream (stdin or a file), as `gateway ingest` gets it from an MTA."""

from __future__ import annotations

import hashlib
from typing import BinaryIO

from gateway.errors import ParseError
from gateway.model import FetchedMail

MBOX_SEPARATOR = b"From "  # the envelope line MTAs put before a mail piped in mbox style


def read_one(stream: BinaryIO) -> FetchedMail:
    """Read the whole stream as one raw mail; the key is derived from its bytes."""
    raw = strip_mbox_separator(stream.read())
    if not raw.strip():
        raise ParseError("no mail on input")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return FetchedMail(key=f"pipe:{digest}", raw=raw, size=len(raw))


def strip_mbox_separator(raw: bytes) -> bytes:
    """Drop a leading "From sender date" line; ">From " quoting in the body is left alone,
    because whether the MTA applied it cannot be told from the bytes."""
    if not raw.startswith(MBOX_SEPARATOR):
        return raw
    _line, newline, rest = raw.partition(b"\n")
    return rest if newline else b""

"""The body of outgoing mail: text and HTML parts, the attached original, attached files."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from gateway.outgoing.headers import CRLF, SURROGATES, clean

ORIGINAL_NAME = "original.eml"
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,62}")
# A file name sent as a quoted-string as it is: printable ASCII but `"` and `\`, short
# enough that the parameter line never needs folding.
_PLAIN_FILENAME = re.compile(r"(?!.*=\?)[ !#-\[\]-~]{1,60}")
_RFC2231_SAFE = "!#$&+-.^_`|~"  # attribute-chars beyond letters and digits (RFC 2231 §7)
_PARAM_CHUNK = 54  # with " filename*0*=utf-8''" and ";" a line stays within 78


@dataclass(frozen=True, slots=True)
class AttachedFile:
    """A file the gateway attaches to mail of its own (the evaluation report)."""

    filename: str
    content_type: str  # type/subtype, no parameters
    data: bytes = field(repr=False)


def body(text: str, html: str | None, original: bytes | None,
         files: Sequence[AttachedFile], eight_bit: bool) -> bytes:
    """The MIME entity after the top-level headers, written directly.

    email.message builds the same structure ten times slower (each part's headers go
    through the header registry), and render runs twice for every mail.
    """
    entity = _text_part(text, "plain", eight_bit)
    if html is not None:
        entity = _multipart("alternative", entity, _text_part(html, "html", eight_bit))
    attached = [_original_part(original)] if original is not None else []
    attached.extend(_file_part(f) for f in files)
    if attached:
        entity = _multipart("mixed", entity, *attached)
    return entity


def _text_part(text: str, subtype: str, eight_bit: bool) -> bytes:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a mail's undecodable bytes)
        data = SURROGATES.sub("\ufffd", text).encode("utf-8")
    lines = data.splitlines()
    head = f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: '
    if b"\0" not in data and max(map(len, lines), default=0) <= 998:
        if data.isascii():
            return f"{head}7bit\r\n\r\n".encode("ascii") + b"\r\n".join([*lines, b""])
        if eight_bit:
            return f"{head}8bit\r\n\r\n".encode("ascii") + b"\r\n".join([*lines, b""])
    # base64 keeps Chinese text intact through relays that lack 8BITMIME, and carries
    # what no SMTP line may (a NUL, a line over 998 octets).
    encoded = base64.encodebytes(b"\r\n".join([*lines, b""])).replace(b"\n", b"\r\n")
    return f"{head}base64\r\n\r\n".encode("ascii") + encoded


def _multipart(subtype: str, *parts: bytes) -> bytes:
    # Unguessable, so no original mail can contain it.
    boundary = b"=_" + os.urandom(16).hex().encode("ascii")
    head = b'Content-Type: multipart/%s;\r\n boundary="%s"\r\n\r\n' % (
        subtype.encode("ascii"), boundary)
    delimiter = b"\r\n--" + boundary + b"\r\n"
    return b"".join([head, b"--", boundary, b"\r\n", delimiter.join(parts),
                     b"\r\n--", boundary, b"--\r\n"])


def _original_part(raw: bytes) -> bytes:
    """The original as message/rfc822, its bytes kept as they are but for line ends.

    RFC 2046 allows message/rfc822 only in 7bit/8bit/binary, so an original SMTP could not
    carry as such (NUL bytes, lines over 998 octets) goes as base64 application/octet-stream.
    """
    lines = raw.splitlines()
    data = b"\r\n".join(lines)
    if raw.endswith((b"\r", b"\n")):
        data += b"\r\n"
    disposition = f'Content-Disposition: attachment; filename="{ORIGINAL_NAME}"\r\n'
    if b"\0" in data or max(map(len, lines), default=0) > 998:
        head = "Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
        return f"{head}{disposition}\r\n".encode("ascii") + encoded
    cte = "7bit" if data.isascii() else "8bit"
    head = f"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: {cte}\r\n"
    return f"{head}{disposition}\r\n".encode("ascii") + data


def _file_part(file: AttachedFile) -> bytes:
    """Any bytes, base64 (a report may hold anything), under the name given."""
    if not _CONTENT_TYPE.fullmatch(file.content_type):
        raise ValueError(f"not a content type: {file.content_type!r}")
    head = (f"Content-Type: {file.content_type}\r\nContent-Transfer-Encoding: base64\r\n"
            f"Content-Disposition: attachment;{filename_parameter(file.filename)}\r\n\r\n")
    return head.encode("ascii") + base64.encodebytes(file.data).replace(b"\n", b"\r\n")


def filename_parameter(name: str) -> str:
    """The filename parameter, on its own folded line(s): quoted when plain ASCII, else
    RFC 2231 UTF-8 percent-encoding in sections short enough for any line limit."""
    name = clean(name) or "attachment"
    if _PLAIN_FILENAME.fullmatch(name):
        return f'{CRLF} filename="{name}"'
    encoded = quote(name, safe=_RFC2231_SAFE, encoding="utf-8")
    chunks, start = [], 0
    while start < len(encoded):
        end = min(start + _PARAM_CHUNK, len(encoded))
        # Never split a %XX escape: back up to its "%" when it would straddle the cut.
        percent = encoded.rfind("%", max(end - 2, start), end)
        if percent != -1 and end < len(encoded):
            end = percent
        chunks.append(encoded[start:end])
        start = end
    if len(chunks) == 1:
        return f"{CRLF} filename*=utf-8''{chunks[0]}"
    charset = ["utf-8''", *[""] * (len(chunks) - 1)]  # named in the first section only
    return ";".join(f"{CRLF} filename*{i}*={charset[i]}{chunk}" for i, chunk in enumerate(chunks))

"""Raw mail bytes → InboundMail: headers, addresses, body text, attachments, signs of robots."""

from __future__ import annotations

import email
import hashlib
import re
from datetime import UTC, datetime
from email.message import Message
from email.policy import Compat32
from email.utils import getaddresses, parsedate_to_datetime

from gateway.errors import ParseError
from gateway.mail import charset
from gateway.mail.htmltext import html_to_text
from gateway.model import Address, Attachment, AutoKind, InboundMail


class _RawHeaders(Compat32):
    """compat32, except that headers come back as the raw str the parser stored.

    Why the stdlib compat32 parser and not policy.default or mail-parser: it is several times
    faster, never rejects a header, and leaves every charset decision to charset.py. Stock
    compat32 turns 8-bit header bytes into Header objects whose str() loses them to U+FFFD;
    returning the raw value keeps the bytes (as surrogate escapes) for charset.decode_header.
    """

    def header_fetch_parse(self, name: str, value: str) -> str:
        return value


_POLICY = _RawHeaders()

# Headers kept in InboundMail.headers, decoded, under these lower-case keys.
KEPT_HEADERS = (
    "authentication-results", "x-mailer", "user-agent", "auto-submitted", "precedence",
    "list-id", "return-path", "content-type", "x-priority", "importance",
)

# --- automatic-mail vocabulary ----------------------------------------------------------------
# When a mail shows several signs, the kind earlier here wins: a bounce of an auto-reply is
# still a bounce, and an auto-reply sent through a list is still an auto-reply.
AUTO_PRIORITY = (AutoKind.BOUNCE, AutoKind.AUTO_REPLY, AutoKind.LIST, AutoKind.BULK)

# (header, values that count — None means any value, values that never count, kind)
AUTO_HEADER_SIGNS: tuple[tuple[str, tuple[str, ...] | None, tuple[str, ...], AutoKind], ...] = (
    ("Auto-Submitted", None, ("no", ""), AutoKind.AUTO_REPLY),  # RFC 3834
    ("X-Autoreply", None, ("",), AutoKind.AUTO_REPLY),
    ("X-Autorespond", None, ("",), AutoKind.AUTO_REPLY),
    ("Precedence", ("bulk", "junk"), (), AutoKind.BULK),
    ("Precedence", ("list",), (), AutoKind.LIST),
    ("List-Id", None, ("",), AutoKind.LIST),
    ("List-Unsubscribe", None, ("",), AutoKind.LIST),
)
# X-Auto-Response-Suppress is absent on purpose: Outlook puts it on ordinary mails too.

# Subject beginnings of out-of-office replies, compared lower-cased. 休假 alone would also
# catch a human "休假申请" (leave request), so it only counts with a separator or 中.
AUTO_REPLY_SUBJECTS = (
    "自动回复", "自动答复", "auto-reply", "auto reply", "autoreply", "automatic reply",
    "out of office", "休假:", "休假：", "休假中", "休假 ",
)
BOUNCE_LOCALPARTS = ("mailer-daemon", "postmaster")

# The sections of a multipart/report after the first are for machines (RFC 6522).
_REPORT = "multipart/report"

_NEEDS_FULL_PARSER = re.compile(r'[()\\:;\[\]]|"[^"]*,')
_SIMPLE_ADDRESS = re.compile(r'(?:"([^"\\]*)"|([^"<>@,]*?))\s*<([^<>\s"]*)>|([^\s<>",@]+@[^\s<>",@]+)')
_OBSOLETE_NAME = re.compile(rb"^([!-9;-~]+)[ \t]+:", re.MULTILINE)
_ANGLE_ID = re.compile(r"<([^<>\s]*)>")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def parse_mail(raw: bytes) -> InboundMail:
    """Read one mail; raises ParseError only when the bytes are not a mail at all."""
    if not raw or not raw.strip():
        raise ParseError("empty message")
    try:
        return _parse(raw)
    except RecursionError:
        # The stdlib parser and walk() recurse once per MIME level; thousands of levels
        # are an attack or a broken generator, not a mail anyone wrote.
        raise ParseError("MIME parts nested too deep to read") from None


def _parse(raw: bytes) -> InboundMail:
    # A pipe or spool may hand over a leading blank line; it would hide every header.
    msg = email.message_from_bytes(raw.lstrip(b"\r\n"), policy=_POLICY)
    defects: dict[str, None] = {}
    if not msg.keys():
        msg = _reparse_obsolete(raw.lstrip(b"\r\n"))
        defects["obsolete header syntax"] = None
    heads = _Headers(msg)

    message_id = _first_id(heads.get("message-id"))
    synthetic = not message_id
    if synthetic:
        message_id = hashlib.sha256(raw).hexdigest()[:32] + "@synthetic.invalid"
        defects["missing Message-ID"] = None

    from_addr = _from_address(heads, defects)
    return_path = heads.get("return-path")
    body = _Body(defects)
    body.collect(msg, machine=False)
    text = body.text
    if text is None:
        text = html_to_text(body.html) if body.html is not None else ""

    for part in msg.walk():  # after payload decoding, which records its own defects
        for defect in part.defects:
            defects.setdefault(type(defect).__name__, None)

    subject = charset.decode_header(heads.get("subject", ""))
    auto = _classify(heads, msg.get_content_type(), from_addr, subject)
    return InboundMail(
        message_id=message_id,
        message_id_synthetic=synthetic,
        in_reply_to=_ids(heads.get("in-reply-to")),
        references=_ids(heads.get("references")),
        subject=subject,
        from_addr=from_addr,
        sender=_first_address(return_path) if return_path is not None else None,
        reply_to=_addresses(heads.all("reply-to")),
        to=_addresses(heads.all("to")),
        cc=_addresses(heads.all("cc")),
        delivered_to=_unique(a.addr for a in _addresses(
            heads.all("delivered-to") + heads.all("x-original-to")) if a.addr),
        date=_date(heads.get("date"), defects),
        text=text,
        html=body.html,
        attachments=tuple(body.attachments),
        auto=auto[0] if auto else None,
        auto_reason=auto[1] if auto else None,
        x_loop=_unique(v for v in (charset.decode_raw(charset.unfold(x)).lower()
                                   for x in heads.all("x-loop")) if v),
        defects=tuple(defects),
        size=len(raw),
        headers={name: charset.decode_header(heads.get(name)) for name in KEPT_HEADERS
                 if heads.get(name) is not None},
    )


def _reparse_obsolete(raw: bytes) -> Message:
    """Parse again with RFC 822's "Name  : value" (space before the colon) made modern."""
    head, sep, rest = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    fixed, count = _OBSOLETE_NAME.subn(rb"\1:", head)
    msg = email.message_from_bytes(fixed + sep + rest, policy=_POLICY) if count else None
    if msg is None or not msg.keys():
        raise ParseError("no header lines")
    return msg


class _Headers:
    """The top-level headers by lower-case name, raw values in order; one pass over the list."""

    def __init__(self, msg: Message) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in msg.raw_items():
            self._values.setdefault(name.strip().lower(), []).append(str(value))

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self._values.get(name)
        return values[0] if values else default

    def all(self, name: str) -> list[str]:
        return self._values.get(name, [])


# --- identifiers, dates, addresses ------------------------------------------------------------

def _ids(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    text = charset.decode_raw(charset.unfold(value))
    found = [i for i in _ANGLE_ID.findall(text) if i]
    if not found:  # some clients drop the brackets
        found = [t for t in re.split(r"[\s,]+", text) if "@" in t]
    return _unique(found)


def _first_id(value: str | None) -> str:
    ids = _ids(value)
    if ids:
        return ids[0]
    return charset.decode_raw(charset.unfold(value or "")).strip("<> ")


def _date(value: str | None, defects: dict[str, None]) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(charset.decode_raw(charset.unfold(value)))
    except (ValueError, TypeError, IndexError, OverflowError):
        defects["unreadable Date"] = None
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # "-0000" or no zone: RFC 5322 says UTC
    return when


def _addresses(values: list[str]) -> tuple[Address, ...]:
    found: list[Address] = []
    for value in values:
        found.extend(_header_addresses(charset.unfold(value)))
    return tuple(found)


def _header_addresses(value: str) -> list[Address]:
    pairs = _getaddresses(value)
    if "=?" in value and not any("@" in addr for _, addr in pairs):
        # Some clients encode the whole "name <addr>" as one encoded-word.
        decoded = _getaddresses(charset.decode_header(value))
        if any("@" in addr for _, addr in decoded):
            pairs = decoded
    found = []
    for name, addr in pairs:
        name = charset.decode_header(name).strip()
        addr = charset.decode_raw(addr).strip().lower()
        if name or addr:
            found.append(Address(name, addr))
    return found


def _getaddresses(value: str) -> list[tuple[str, str]]:
    # getaddresses is the slowest step of the whole parse; most headers are plain
    # "name <addr>" lists that a regular expression reads exactly the same.
    if not _NEEDS_FULL_PARSER.search(value):
        pairs = [_SIMPLE_ADDRESS.fullmatch(piece.strip()) for piece in value.split(",")]
        if all(pairs):
            return [(m.group(1) or m.group(2) or "", m.group(4) if m.group(3) is None else m.group(3))
                    for m in pairs]
    try:
        return getaddresses([value])
    except (ValueError, TypeError, IndexError):
        return []


def _first_address(value: str | None) -> Address:
    found = _header_addresses(charset.unfold(value or ""))
    return found[0] if found else Address("", "")


def _from_address(heads: _Headers, defects: dict[str, None]) -> Address:
    for name in ("from", "sender", "return-path"):
        value = heads.get(name)
        if value and value.strip():
            return _first_address(value)
        if name == "from":
            defects["missing From"] = None
    return Address("", "")


# --- automatic mail ---------------------------------------------------------------------------

def _classify(heads: _Headers, content_type: str, from_addr: Address,
              subject: str) -> tuple[AutoKind, str] | None:
    """The strongest automatic-mail sign as (kind, reason), or None for a person's mail."""
    signs: list[tuple[AutoKind, str]] = []
    if content_type == _REPORT:
        signs.append((AutoKind.BOUNCE, f"Content-Type: {_REPORT}"))
    if from_addr.addr.partition("@")[0] in BOUNCE_LOCALPARTS:
        signs.append((AutoKind.BOUNCE, f"From: {from_addr.addr}"))
    return_path = heads.get("return-path")
    if return_path is not None and charset.unfold(return_path).replace(" ", "") in ("<>", ""):
        signs.append((AutoKind.BOUNCE, "Return-Path: <>"))
    for header, counted, ignored, kind in AUTO_HEADER_SIGNS:
        for raw in heads.all(header.lower()):
            value = charset.decode_header(raw).strip()
            lowered = value.lower()
            if lowered in ignored or (counted is not None and lowered not in counted):
                continue
            signs.append((kind, f"{header}: {value}"))
    lowered_subject = subject.strip().lower()
    for prefix in AUTO_REPLY_SUBJECTS:
        if lowered_subject.startswith(prefix):
            signs.append((AutoKind.AUTO_REPLY, f"Subject: {subject.strip()[:len(prefix)]}"))
            break
    if not signs:
        return None
    return min(signs, key=lambda sign: AUTO_PRIORITY.index(sign[0]))


# --- body and attachments ---------------------------------------------------------------------

class _Body:
    """Walks the MIME tree once: first text and HTML part, and the attachments."""

    def __init__(self, defects: dict[str, None]) -> None:
        self.defects = defects
        self.text: str | None = None
        self.html: str | None = None
        self.attachments: list[Attachment] = []

    def collect(self, part: Message, machine: bool) -> None:
        ctype = part.get_content_type()
        payload = part.get_payload()
        if isinstance(payload, list):
            if ctype.startswith("message/"):
                # An attached mail (or a bounce's returned mail): its text is not ours.
                self._maybe_attachment(part, ctype, embedded=True)
                return
            for index, child in enumerate(payload):
                if isinstance(child, Message):
                    self.collect(child, machine or (ctype == _REPORT and index > 0))
            return
        if self._maybe_attachment(part, ctype, embedded=False) or machine:
            return
        if ctype == "text/plain" or ctype.startswith("multipart/"):
            # A multipart without a usable boundary is kept as its raw text.
            if self.text is None:
                self.text = _newlines(self._decode(part, ctype))
        elif ctype == "text/html" and self.html is None:
            self.html = _newlines(self._decode(part, ctype))

    def _maybe_attachment(self, part: Message, ctype: str, embedded: bool) -> bool:
        filename = _filename(part)
        if filename is None and _disposition(part) != "attachment":
            return False
        if embedded:
            size = sum(len(_flatten(child)) for child in part.get_payload())
        else:
            size = len(_payload_bytes(part))
        self.attachments.append(Attachment(filename or "", ctype, size))
        return True

    def _decode(self, part: Message, ctype: str) -> str:
        data = _payload_bytes(part)
        label = part.get_content_charset()
        if label is None and ctype == "text/html":
            found = _META_CHARSET.search(data[:2048])
            label = found.group(1).decode("ascii") if found else None
        text, problem = charset.decode_checked(data, label)
        if problem:
            self.defects.setdefault(problem, None)
        return text


def _payload_bytes(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except (ValueError, TypeError, LookupError, UnicodeError):
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _flatten(part: object) -> bytes:
    if not isinstance(part, Message):
        return b""
    try:
        return part.as_bytes()
    except (ValueError, TypeError, LookupError, UnicodeError, AttributeError):
        return b""


def _disposition(part: Message) -> str | None:
    value = part.get("content-disposition")
    if value is None:
        return None
    return str(value).partition(";")[0].strip().lower()


def _filename(part: Message) -> str | None:
    """The part's decoded file name (RFC 2231 or 2047 or raw 8-bit), None when it has none."""
    for param, header in (("filename", "content-disposition"), ("name", "content-type")):
        try:
            value = part.get_param(param, None, header=header)
        except (ValueError, TypeError, IndexError, LookupError):
            continue
        if value is None:
            continue
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded latin-1 text)
            label, _, text = value
            data = text.encode("latin-1", "surrogateescape") if _latin(text) \
                else text.encode("utf-8", "surrogateescape")
            name = charset.decode_bytes(data, label or None)
        else:
            name = charset.decode_header(value.strip('"'))
        name = name.strip()
        if name:
            return name
    return None


def _latin(text: str) -> bool:
    return all(ord(c) < 256 or 0xDC80 <= ord(c) <= 0xDCFF for c in text)


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _unique(items) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))

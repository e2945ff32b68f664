"""Header fields of outgoing mail: one-line text, encoded-words, addresses, ids and threading."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from email.header import Header
from typing import Any

from gateway.errors import TemplateError
from gateway.model import Address, InboundMail

MAX_REFERENCES = 20  # enough for clients to thread; long chains only bloat every reply
CRLF = "\r\n"
MAX_LINE = 78

# Everything that can end or split a header line, for any parser: C0/C1 controls, DEL,
# and the separators str.splitlines() honours. Surrogates come from undecodable mail.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
SURROGATES = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r" {2,}")
# Text sent without encoding: printable ASCII that no decoder could read as an
# encoded-word ("=?") and with no word too long to fold at a space.
_PLAIN = re.compile(r"(?!.*=\?)(?!.*[^ ]{70})[ -~]*")
_PLAIN_NAME = re.compile(r"(?!.*=\?)[ -~]{0,60}")  # a quoted-string is never folded
_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_ID_ATOM = r"[!-;=?A-~]{1,250}"  # printable ASCII without "<", ">" and "@"
MSG_ID = re.compile(f"{_ID_ATOM}@{_ID_ATOM}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN = re.compile(f"{_LABEL}(?:\\.{_LABEL})*")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_FIELD_NAME = re.compile(r"[!-9;-~]{1,76}")
# Fields render writes itself, and Bcc, which in the message would reveal itself to all.
_RESERVED_FIELDS = frozenset({
    "bcc", "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "x-loop", "x-gateway-record", "mime-version",
    "content-type", "content-transfer-encoding",
})


def make_message_id(domain: str, *parts: object) -> str:
    """A Message-ID (no brackets) on our domain: deterministic from parts, random without.

    The same parts give the same id, so a pipeline that retries a transaction queues the
    same mail again instead of a twin; parts must therefore name something unique.
    """
    if not DOMAIN.fullmatch(domain):
        raise ValueError(f"not a mail domain: {domain!r}")
    tokens = [_id_token(str(p)) for p in parts] or [uuid.uuid4().hex]
    return ".".join(tokens) + "@" + domain


def _id_token(part: str) -> str:
    # Record ids and purposes stay readable; anything else is hashed into a safe token.
    if _ID_TOKEN.fullmatch(part):
        return part
    return hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def clean(text: str) -> str:
    """One header-safe line: controls and line breaks become single spaces."""
    text = SURROGATES.sub("\ufffd", _CONTROLS.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


def thread_ids(
    parent: InboundMail | None, parent_id: str | None, extra: Sequence[str] = ()
) -> tuple[str | None, tuple[str, ...]]:
    """In-Reply-To and References for an answer, as RFC 5322 §3.6.4 builds them."""
    chain: list[str] = []
    if parent is not None:
        # A parent without References but with one In-Reply-To still names its own parent.
        inherited = parent.references or parent.in_reply_to[-1:]
        chain.extend(inherited)
        if parent_id is None and not parent.message_id_synthetic:
            parent_id = parent.message_id  # a synthetic id means nothing to anyone else
    chain.extend(extra)
    if parent_id is not None and not MSG_ID.fullmatch(parent_id):
        parent_id = None
    valid = [i for i in (*chain, parent_id) if i and MSG_ID.fullmatch(i)]
    # De-duplicated keeping the last occurrence, so the parent always ends the chain.
    ids = list(dict.fromkeys(reversed(valid)))[::-1]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]  # keep the thread's root
    return parent_id, tuple(ids)


def threading_fields(parent: str | None, refs: tuple[str, ...]) -> list[str]:
    fields = [f"In-Reply-To: <{parent}>"] if parent else []
    if refs:
        fields.append(_fold_tokens("References", [f"<{i}>" for i in refs], " "))
    return fields


def record_field(context: Mapping[str, Any]) -> list[str]:
    record = context.get("record")
    if record is None:
        return []
    record_id = record.get("id") if isinstance(record, Mapping) else getattr(record, "id", None)
    return [unstructured_field("X-Gateway-Record", str(record_id))] if record_id else []


def extra_fields(headers: Mapping[str, str]) -> list[str]:
    for name in headers:
        if not _FIELD_NAME.fullmatch(name) or name.lower() in _RESERVED_FIELDS:
            raise ValueError(f"not a header field name render leaves to callers: {name!r}")
    return [unstructured_field(name, value) for name, value in headers.items()]


def unstructured_field(name: str, value: str) -> str:
    """An unstructured field; non-ASCII or ambiguous text becomes RFC 2047 encoded-words."""
    value = clean(value)
    if not value:
        return f"{name}:"
    if not _PLAIN.fullmatch(value):
        return f"{name}: {encoded_words(value, MAX_LINE - len(name) - 2)}"
    if len(name) + 2 + len(value) <= MAX_LINE:
        return f"{name}: {value}"  # fits on one line as it is
    header = Header(value, "us-ascii", MAX_LINE, header_name=name)
    # Folding only at spaces: a fold after ";" or "," would add a space on unfolding.
    return f"{name}: {header.encode(splitchars=' ', linesep=CRLF)}"


def encoded_words(text: str, room: int) -> str:
    """RFC 2047 B-encoded UTF-8 words, folded with CRLF SP, never splitting a character.

    `room` is what is left of the first line. email.header writes the same words through its
    generic charset machinery at several times the cost, and every outgoing mail has some.
    """
    data = text.encode("utf-8")
    words, start = [], 0
    while start < len(data):
        take = max((room - 12) // 4 * 3, 6)  # 12: "=?utf-8?b?" and "?="; 4 characters per 3 bytes
        end = min(start + take, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start, room = end, MAX_LINE - 1  # a continuation line starts with one space
    return (CRLF + " ").join(words)


def address_field(name: str, addresses: Sequence[Address], kind: str = "") -> str:
    return _fold_tokens(name, [_mailbox(a, kind) for a in addresses], ", ")


def _mailbox(address: Address, kind: str) -> str:
    """One address, its display name quoted or encoded here, never pasted as given.

    The stdlib header parser is bypassed on purpose: it decodes encoded-words found in
    the text it is handed, so a display name like `=?utf-8?q?=0D=0ABcc:...?=` turned
    into a real header on Python 3.11.7 (CVE-2024-6923).
    """
    addr = _addr_spec(address.addr, kind)
    name = clean(address.name)
    if not name:
        return addr
    if _PLAIN_NAME.fullmatch(name):
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{quoted}" <{addr}>'
    encoded = encoded_words(name, MAX_LINE - 5)
    last_line = encoded.rpartition(CRLF)[2]
    gap = CRLF + " " if len(last_line) + len(addr) + 4 > MAX_LINE else " "
    return f"{encoded}{gap}<{addr}>"


def _addr_spec(addr: str, kind: str) -> str:
    local, at, domain = addr.strip().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    if not (at and _LOCAL_PART.fullmatch(local) and DOMAIN.fullmatch(domain)):
        raise TemplateError(f"{kind}: cannot send to address {addr!r}")
    return f"{local}@{domain}"


def _fold_tokens(name: str, tokens: Sequence[str], separator: str) -> str:
    """Join tokens, folding between them before a line grows past 78 characters."""
    line = f"{name}:"
    lines: list[str] = []
    for index, token in enumerate(tokens):
        piece = token + (separator.rstrip() if index < len(tokens) - 1 else "")
        first = piece.partition(CRLF)[0]
        if index and len(line) + 1 + len(first) > MAX_LINE:
            lines.append(line)
            line = ""
        line += " " + piece
        if CRLF in piece:
            done, _, line = line.rpartition(CRLF)
            lines.append(done)
    return CRLF.join([*lines, line])

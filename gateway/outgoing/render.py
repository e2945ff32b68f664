"""Templates and plain data in, complete outgoing RFC 5322 messages out."""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.header import Header
from email.utils import format_datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gateway.errors import TemplateError
from gateway.model import Address, Attachment, InboundMail, Status, Urgency

MAX_REFERENCES = 20  # enough for clients to thread; long chains only bloat every reply
AUTO_SUBMITTED = frozenset({"no", "auto-generated", "auto-replied", "auto-notified"})
NO_HEADERS: Mapping[str, str] = MappingProxyType({})
SUBJECT_SUFFIX = ".subject.j2"
ORIGINAL_NAME = "original.eml"
_WEEKDAYS = "一二三四五六日"
_CRLF = "\r\n"
_MAX_LINE = 78

# Everything that can end or split a header line, for any parser: C0/C1 controls, DEL,
# and the separators str.splitlines() honours. Surrogates come from undecodable mail.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_SPACES = re.compile(r" {2,}")
# Text sent without encoding: printable ASCII that no decoder could read as an
# encoded-word ("=?") and with no word too long to fold at a space.
_PLAIN = re.compile(r"(?!.*=\?)(?!.*[^ ]{70})[ -~]*")
_PLAIN_NAME = re.compile(r"(?!.*=\?)[ -~]{0,60}")  # a quoted-string is never folded
_ID_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_ID_ATOM = r"[!-;=?A-~]{1,250}"  # printable ASCII without "<", ">" and "@"
_MSG_ID = re.compile(f"{_ID_ATOM}@{_ID_ATOM}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(f"{_LABEL}(?:\\.{_LABEL})*")
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_FIELD_NAME = re.compile(r"[!-9;-~]{1,76}")
# Fields render writes itself, and Bcc, which in the message would reveal itself to all.
_RESERVED_FIELDS = frozenset({
    "bcc", "from", "to", "cc", "subject", "date", "message-id", "in-reply-to", "references",
    "auto-submitted", "x-auto-response-suppress", "x-loop", "x-gateway-record", "mime-version",
    "content-type", "content-transfer-encoding",
})


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    kind: str  # the template name
    message_id: str  # without angle brackets
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str  # as the recipient will read it, decoded
    in_reply_to: str | None
    references: tuple[str, ...]
    raw: bytes = field(repr=False)  # the whole message, CRLF line endings, for SMTP DATA


def make_message_id(domain: str, *parts: object) -> str:
    """A Message-ID (no brackets) on our domain: deterministic from parts, random without.

    The same parts give the same id, so a pipeline that retries a transaction queues the
    same mail again instead of a twin; parts must therefore name something unique.
    """
    if not _DOMAIN.fullmatch(domain):
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
    text = _SURROGATES.sub("\ufffd", _CONTROLS.sub(" ", text))
    return _SPACES.sub(" ", text).strip()


class Renderer:
    """Renders `{kind}.subject.j2`, `{kind}.txt.j2` and optional `{kind}.html.j2` into mail."""

    def __init__(self, templates_dir: Path, *, domain: str, from_addr: Address,
                 eight_bit: bool = True):
        if not _DOMAIN.fullmatch(domain):
            raise ValueError(f"not a mail domain: {domain!r}")
        self.templates_dir = Path(templates_dir)
        self.domain = domain
        self.from_addr = from_addr
        self.eight_bit = eight_bit  # UTF-8 text parts as 8bit (the relay has 8BITMIME)
        self.env = make_environment(self.templates_dir)
        self._from = _address_field("From", (from_addr,))
        self._x_loop = _field("X-Loop", from_addr.addr)

    def kinds(self) -> list[str]:
        """The kinds the templates folder can render (those with a subject template)."""
        names = self.env.list_templates(filter_func=lambda n: n.endswith(SUBJECT_SUFFIX))
        return sorted(n.removesuffix(SUBJECT_SUFFIX) for n in names if "/" not in n)

    def render(
        self,
        kind: str,
        *,
        to: Sequence[Address],
        cc: Sequence[Address] = (),
        context: Mapping[str, Any],
        reply_to: InboundMail | None = None,
        reply_to_message_id: str | None = None,
        references: Sequence[str] = (),
        attach_original: bytes | None = None,
        message_id: str | None = None,
        now: datetime,
        auto_submitted: str = "auto-replied",
        extra_headers: Mapping[str, str] = NO_HEADERS,
    ) -> OutgoingMail:
        if not to:
            raise TemplateError(f"{kind}: no recipient")
        if now.utcoffset() is None:
            raise ValueError("now must be an aware datetime")
        if auto_submitted not in AUTO_SUBMITTED:
            raise ValueError(f"Auto-Submitted must be one of {sorted(AUTO_SUBMITTED)}")
        data = {**context, "original_attached": attach_original is not None}
        subject = clean(self._render(f"{kind}.subject.j2", data))
        text = self._render(f"{kind}.txt.j2", data)
        html = self._render(f"{kind}.html.j2", data, optional=True)
        parent, refs = thread_ids(reply_to, reply_to_message_id, references)
        message_id = message_id or make_message_id(self.domain, uuid.uuid4().hex, kind)
        if not _MSG_ID.fullmatch(message_id):
            raise ValueError(f"not a Message-ID: {message_id!r}")
        fields = [
            self._from,
            _address_field("To", to, kind),
            *([_address_field("Cc", cc, kind)] if cc else []),
            _field("Subject", subject),
            f"Date: {format_datetime(now)}",
            f"Message-ID: <{message_id}>",
            *_threading_fields(parent, refs),
            *([f"Auto-Submitted: {auto_submitted}"] if auto_submitted != "no" else []),
            "X-Auto-Response-Suppress: All",
            self._x_loop,
            *_record_field(context),
            *_extra_fields(extra_headers),
            "MIME-Version: 1.0",
        ]
        head = (_CRLF.join(fields) + _CRLF).encode("ascii")
        return OutgoingMail(
            kind=kind, message_id=message_id, to=tuple(to), cc=tuple(cc), subject=subject,
            in_reply_to=parent, references=refs,
            raw=head + _body(text, html, attach_original, self.eight_bit),
        )

    def _render(self, name: str, data: Mapping[str, Any], optional: bool = False) -> Any:
        try:
            return self.env.get_template(name).render(data)
        except jinja2.TemplateNotFound as exc:
            if optional and exc.name == name:
                return None
            raise TemplateError(f"template {exc.name} not found in {self.templates_dir}") from exc
        except Exception as exc:
            # Filters and sandbox checks raise all sorts; the caller needs one typed error.
            raise TemplateError(f"template {name} failed: {type(exc).__name__}: {exc}") from exc


def make_environment(templates_dir: Path) -> ImmutableSandboxedEnvironment:
    """The sandbox templates run in; mail content only ever enters it as data."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.FileSystemLoader(templates_dir, encoding="utf-8"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html", "html.j2"), default_for_string=False, default=False
        ),
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # edits are taken in by reload.py, which validates them first
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        datetime=format_local_datetime,
        urgency_label=urgency_label,
        status_label=status_label,
        filesize=format_size,
    )
    return env


def format_local_datetime(value: datetime | None) -> str:
    """2026年11月23日 14:00 (周一), in the zone the value carries."""
    if value is None:
        return "待定"
    return f"{value.year}年{value.month}月{value.day}日 {value:%H:%M} (周{_WEEKDAYS[value.weekday()]})"


def urgency_label(value: Urgency | str) -> str:
    return Urgency(value).label


def status_label(value: Status | str) -> str:
    return Status(value).label


def format_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


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
    if parent_id is not None and not _MSG_ID.fullmatch(parent_id):
        parent_id = None
    valid = [i for i in (*chain, parent_id) if i and _MSG_ID.fullmatch(i)]
    # De-duplicated keeping the last occurrence, so the parent always ends the chain.
    ids = list(dict.fromkeys(reversed(valid)))[::-1]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1):]]  # keep the thread's root
    return parent_id, tuple(ids)


def _threading_fields(parent: str | None, refs: tuple[str, ...]) -> list[str]:
    fields = [f"In-Reply-To: <{parent}>"] if parent else []
    if refs:
        fields.append(_fold_tokens("References", [f"<{i}>" for i in refs], " "))
    return fields


def _record_field(context: Mapping[str, Any]) -> list[str]:
    record = context.get("record")
    if record is None:
        return []
    record_id = record.get("id") if isinstance(record, Mapping) else getattr(record, "id", None)
    return [_field("X-Gateway-Record", str(record_id))] if record_id else []


def _extra_fields(headers: Mapping[str, str]) -> list[str]:
    for name in headers:
        if not _FIELD_NAME.fullmatch(name) or name.lower() in _RESERVED_FIELDS:
            raise ValueError(f"not a header field name render leaves to callers: {name!r}")
    return [_field(name, value) for name, value in headers.items()]


def _field(name: str, value: str) -> str:
    """An unstructured field; non-ASCII or ambiguous text becomes RFC 2047 encoded-words."""
    value = clean(value)
    if not value:
        return f"{name}:"
    if not _PLAIN.fullmatch(value):
        return f"{name}: {encoded_words(value, _MAX_LINE - len(name) - 2)}"
    if len(name) + 2 + len(value) <= _MAX_LINE:
        return f"{name}: {value}"  # fits on one line as it is
    header = Header(value, "us-ascii", _MAX_LINE, header_name=name)
    # Folding only at spaces: a fold after ";" or "," would add a space on unfolding.
    return f"{name}: {header.encode(splitchars=' ', linesep=_CRLF)}"


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
        start, room = end, _MAX_LINE - 1  # a continuation line starts with one space
    return (_CRLF + " ").join(words)


def _address_field(name: str, addresses: Sequence[Address], kind: str = "") -> str:
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
    encoded = encoded_words(name, _MAX_LINE - 5)
    last_line = encoded.rpartition(_CRLF)[2]
    gap = _CRLF + " " if len(last_line) + len(addr) + 4 > _MAX_LINE else " "
    return f"{encoded}{gap}<{addr}>"


def _addr_spec(addr: str, kind: str) -> str:
    local, at, domain = addr.strip().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        domain = ""
    if not (at and _LOCAL_PART.fullmatch(local) and _DOMAIN.fullmatch(domain)):
        raise TemplateError(f"{kind}: cannot send to address {addr!r}")
    return f"{local}@{domain}"


def _fold_tokens(name: str, tokens: Sequence[str], separator: str) -> str:
    """Join tokens, folding between them before a line grows past 78 characters."""
    line = f"{name}:"
    lines: list[str] = []
    for index, token in enumerate(tokens):
        piece = token + (separator.rstrip() if index < len(tokens) - 1 else "")
        first = piece.partition(_CRLF)[0]
        if index and len(line) + 1 + len(first) > _MAX_LINE:
            lines.append(line)
            line = ""
        line += " " + piece
        if _CRLF in piece:
            done, _, line = line.rpartition(_CRLF)
            lines.append(done)
    return _CRLF.join([*lines, line])


def _body(text: str, html: str | None, original: bytes | None, eight_bit: bool) -> bytes:
    """The MIME entity after the top-level headers, written directly.

    email.message builds the same structure ten times slower (each part's headers go
    through the header registry), and render runs twice for every mail.
    """
    body = _text_part(text, "plain", eight_bit)
    if html is not None:
        body = _multipart("alternative", body, _text_part(html, "html", eight_bit))
    if original is not None:
        body = _multipart("mixed", body, _original_part(original))
    return body


def _text_part(text: str, subtype: str, eight_bit: bool) -> bytes:
    data = _SURROGATES.sub("\ufffd", text).encode("utf-8")
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
    boundary = f"=_{uuid.uuid4().hex}".encode("ascii")
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


def sample_context(now: datetime | None = None) -> dict[str, Any]:
    """A context with every variable templates may use, for tests and template checks."""
    tz = timezone(timedelta(hours=8), "CST")
    created = (now or datetime(2026, 11, 20, 9, 30, tzinfo=tz)).astimezone(tz)
    sender = Address("陈美", "chen.mei@bigcustomer.example")
    return {
        "record": {
            "id": "NX-2026-001", "title": "设备故障通知", "subject": "【紧急】生产部-设备故障通知",
            "urgency": Urgency.URGENT, "status": Status.OPEN, "department": "生产部",
            "owner": "王工", "owner_addr": "wang.gong@corp.example", "problem_type": "故障投诉",
            "summary": "3号产线液压泵故障, 请尽快派人检修。", "organisation": "大客户有限公司",
            "from_addr": sender.addr, "from_name": sender.name, "created_at": created,
            "due_at": created + timedelta(hours=4), "resolve_due_at": created + timedelta(days=2),
            # the closed loop's fields (loopmail.loop_context)
            "resolution": "更换3号线液压泵密封件, 试机正常。", "rating": None,
            "first_response_at": created + timedelta(hours=1),
            "resolved_at": created + timedelta(days=1), "closed_at": None,
            "departments": ["生产部", "质量部"],
        },
        "mail": {
            "subject": "【紧急】生产部-设备故障通知", "from_addr": sender,
            "text": "您好:\n3号产线液压泵故障, 请尽快派人检修。\n陈美",
            "attachments": (Attachment("故障照片.jpg", "image/jpeg", 245_760),),
            "date": created,
        },
        "party": None,
        "department": {"name": "生产部"},
        "notice": {  # reminder / escalation / critical mails (reminders.py)
            "kind": "escalation", "label": "超时升级", "clock": "首次反馈", "seq": 0,
            "deadline": created + timedelta(hours=4), "overdue": True, "left": "1小时30分",
        },
        "reply": {
            "text": "陈女士您好, 维修人员已到现场。", "author": "王工", "to_staff": False,
            "problems": ["第 1 行「状太: 已完成」: 无法识别的指令"],
            "commands": ["状态: 处理中 | 已完成 | 已关闭"], "rating": 2,
            "previous_rating": None, "comment": "修了两次还漏油", "department": "质量部",
        },
        "gateway": {"name": "信息交流网关", "signature": "企业信息交流中心\n电话: 010-12345678",
                    "address": "gateway@corp.example"},
        # Notices about mail the gateway could not take or could not deliver (notices.py).
        "problem": {
            "subject": "【紧急】生产部-设备故障通知", "sender_name": sender.name,
            "size": 31_457_280, "limit": 26_214_400, "message_id": "NX-2026-001.ack@corp.example",
            "recipients": (sender.addr,), "error": "550 5.1.1 mailbox unavailable",
        },
    }

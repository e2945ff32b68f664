"""Delivery reports: a DSN (RFC 3464) or an MDN (RFC 8098), read back to the original Message-ID."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, message_from_string
from email.message import Message
from email.policy import compat32

_ID = re.compile(r"<([^<>\s]+)>")
_TYPED = re.compile(r"^\s*[A-Za-z0-9-]+\s*;\s*(.*)$")


@dataclass(frozen=True, slots=True)
class RecipientReport:
    """One recipient's line in a report: what happened to the mail there."""

    addr: str  # Final-Recipient (or Original-Recipient), lower-cased, without the type
    action: str  # DSN: failed | delayed | delivered | relayed | expanded; MDN: the disposition
    status: str = ""  # DSN status code, e.g. 5.1.1
    diagnostic: str = ""  # Diagnostic-Code without its type

    @property
    def failed(self) -> bool:
        return self.action == "failed"


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    kind: str  # dsn | mdn
    original_message_id: str | None  # without angle brackets
    recipients: tuple[RecipientReport, ...]


def _untyped(value: str | None) -> str:
    if not value:
        return ""
    match = _TYPED.match(" ".join(str(value).split()))
    return (match.group(1) if match else str(value)).strip()


def _message_id(value: str | None) -> str | None:
    match = _ID.search(str(value or ""))
    return match.group(1) if match else (str(value).strip() or None if value else None)


def _fields_blocks(part: Message) -> list[Message]:
    """The header blocks of a message/delivery-status or disposition-notification part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    text = payload if isinstance(payload, str) else ""
    return [message_from_string(block + "\n", policy=compat32)
            for block in re.split(r"\r?\n\s*\r?\n", text.strip()) if block.strip()]


def _original_id(report: Message, reported: Message | None) -> str | None:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return _message_id(inner.get("Message-ID"))
        elif ctype == "text/rfc822-headers":
            raw = part.get_payload(decode=True) or b""
            found = message_from_bytes(raw, policy=compat32).get("Message-ID")
            if found:
                return _message_id(found)
    if reported is not None and reported.get("Original-Message-ID"):
        return _message_id(reported.get("Original-Message-ID"))
    parents = report.get("In-Reply-To") or report.get("References") or ""
    ids = _ID.findall(str(parents))
    return ids[-1] if ids else None


def read_report(raw: bytes) -> DeliveryReport | None:
    """The report `raw` carries, or None when it is no multipart/report of these two kinds."""
    message = message_from_bytes(raw, policy=compat32)
    if message.get_content_type() != "multipart/report":
        return None
    kind = str(message.get_param("report-type") or "").lower()
    wanted = {"delivery-status": "message/delivery-status",
              "disposition-notification": "message/disposition-notification"}.get(kind)
    if wanted is None:
        return None
    part = next((p for p in message.walk() if p.get_content_type() == wanted), None)
    blocks = _fields_blocks(part) if part is not None else []
    if kind == "delivery-status":
        recipients = tuple(
            RecipientReport(
                addr=_untyped(b.get("Final-Recipient") or b.get("Original-Recipient")).lower(),
                action=str(b.get("Action", "")).strip().lower(),
                status=str(b.get("Status", "")).strip(),
                diagnostic=_untyped(b.get("Diagnostic-Code")),
            )
            for b in blocks[1:] if b.get("Final-Recipient") or b.get("Original-Recipient"))
        return DeliveryReport("dsn", _original_id(message, None), recipients)
    fields = blocks[0] if blocks else None
    disposition = _untyped(fields.get("Disposition")) if fields is not None else ""
    addr = _untyped(fields.get("Final-Recipient")).lower() if fields is not None else ""
    # "manual-action/MDN-sent-manually; displayed": the disposition type follows the ";"
    recipients = (RecipientReport(addr, disposition.partition(";")[2].strip() or disposition),)
    return DeliveryReport("mdn", _original_id(message, fields), recipients)

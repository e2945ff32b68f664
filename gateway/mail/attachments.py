"""The files a mail carries, as bytes: what a draft hands on to the message that goes out."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import compat32

from gateway.mail.parse import _disposition, _filename, _payload_bytes


def attached_files(raw: bytes) -> list[tuple[str, str, bytes]]:
    """(filename, content type, payload) of each attachment, in the order of the mail."""
    message = message_from_bytes(raw, policy=compat32)
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        filename = _filename(part)
        if filename is None and _disposition(part) != "attachment":
            continue
        found.append((filename or "attachment", part.get_content_type(), _payload_bytes(part)))
    return found

"""The files attached to a mail, with their bytes: minutes sent on, a draft's attachments."""

from __future__ import annotations

import email
from dataclasses import dataclass, field

from gateway.mail.parse import _POLICY, _disposition, _filename, _payload_bytes


@dataclass(frozen=True, slots=True)
class AttachedPart:
    filename: str  # decoded, as parse.py names it; "" when the part had no name
    content_type: str
    data: bytes = field(repr=False)


def attached_files(raw: bytes) -> list[AttachedPart]:
    """Every leaf part that is an attachment (named, or Content-Disposition: attachment).

    Attached mails (message/*) are left out: they are history, not a file someone wrote.
    """
    msg = email.message_from_bytes(raw.lstrip(b"\r\n"), policy=_POLICY)
    found = []
    try:
        parts = list(msg.walk())
    except RecursionError:
        return []
    for part in parts:
        if part.is_multipart() or part.get_content_type().startswith("message/"):
            continue
        name = _filename(part)
        if name is None and _disposition(part) != "attachment":
            continue
        found.append(AttachedPart(name or "", part.get_content_type(), _payload_bytes(part)))
    return found

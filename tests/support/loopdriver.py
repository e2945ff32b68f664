"""Drives records through real servers: mails into Dovecot, a poll, a flush, what SMTP got."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy

from mailmaker import gbk_mail

from gateway.db.models import Record

CUSTOMER = "wang@customer.example"


def text_of(message) -> str:
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    return "\n".join(p.get_content() for p in parsed.walk() if p.get_content_type() in
                     ("text/plain", "text/html"))


class Driver:
    def __init__(self, gateway, source, imap_append, smtp_capture, clock):
        self.gateway, self.source, self.append = gateway, source, imap_append
        self.smtp, self.clock = smtp_capture, clock
        self.seen = 0

    def deliver(self, raw: bytes) -> list:
        self.clock.advance(minutes=10)
        self.append(raw)
        results = self.gateway.process_batch(self.source)
        self.gateway.flush()
        return results

    def new_mail(self) -> list:
        """Messages SMTP received since the last call."""
        messages = self.smtp.messages
        fresh, self.seen = messages[self.seen:], len(messages)
        return fresh

    def open(self, raw: bytes | None = None) -> tuple[str, dict]:
        """A new record from `raw` (the customer's GBK fault report by default): its id and
        the mails it caused, by first recipient."""
        (result,) = self.deliver(raw or gbk_mail())
        assert result.record_id, result
        return result.record_id, {m.rcpt_tos[0]: m.message for m in self.new_mail()}

    def record(self, record_id: str) -> Record:
        with self.gateway.sessions() as session:
            record = session.get(Record, record_id)
            session.expunge(record)
            return record

    def log(self, record_id: str) -> list[tuple[str, str]]:
        with self.gateway.sessions() as session:
            return [(e.kind, e.text) for e in session.get(Record, record_id).log]

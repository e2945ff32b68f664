"""Prometheus figures, read from the register and written as a node-exporter textfile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from gateway.db.models import Mail, Outbox, Record


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    kind: str  # counter | gauge
    help: str


METRICS = (
    Metric("gateway_mails_in_total", "counter", "Mails taken from the mailbox and stored."),
    Metric("gateway_records_total", "counter", "Records opened."),
    Metric("gateway_acks_sent_total", "counter", "Acknowledgements handed to SMTP."),
    Metric("gateway_outbox_queue_depth", "gauge", "Outgoing mails waiting for SMTP."),
    Metric("gateway_breaches_total", "counter",
           "Records whose first response came late or is overdue."),
    Metric("gateway_errors_total", "counter",
           "Errors by kind: quarantined mail, dead letters, rejected rule sets."),
)


def collect(session: Session, now: datetime, rejected_rule_sets: int = 0) -> dict[str, object]:
    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(where[0]).where(*where[1:])) or 0

    late = or_(Record.first_response_at > Record.due_at,
               and_(Record.first_response_at.is_(None), Record.due_at < now))
    return {
        "gateway_mails_in_total": count(Mail, Mail.direction == "in"),
        "gateway_records_total": count(Record),
        "gateway_acks_sent_total": session.scalar(
            select(func.count()).select_from(Outbox).join(Mail, Outbox.mail_id == Mail.id)
            .where(Outbox.status == "sent", Mail.kind == "ack")) or 0,
        "gateway_outbox_queue_depth": count(Outbox, Outbox.status == "pending"),
        "gateway_breaches_total": count(Record, Record.due_at.is_not(None), late),
        "gateway_errors_total": {
            "quarantined": count(Mail, Mail.quarantine_reason.is_not(None)),
            "dead_letter": count(Outbox, Outbox.status == "dead"),
            "rules_rejected": rejected_rule_sets,
        },
    }


def render(values: Mapping[str, object]) -> str:
    """The text exposition format; a dict value becomes one sample per `kind` label."""
    lines = []
    for metric in METRICS:
        lines += [f"# HELP {metric.name} {metric.help}", f"# TYPE {metric.name} {metric.kind}"]
        value = values[metric.name]
        if isinstance(value, Mapping):
            lines += [f'{metric.name}{{kind="{k}"}} {v}' for k, v in sorted(value.items())]
        else:
            lines.append(f"{metric.name} {value}")
    return "\n".join(lines) + "\n"


def write_textfile(path: Path, text: str) -> None:
    # node-exporter may read at any moment: write aside, then rename over.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)

"""Prometheus figures from the register's counts, written as a node-exporter textfile."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from gateway.model import RegisterCounts


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


def collect(counts: RegisterCounts, rejected_rule_sets: int = 0) -> dict[str, object]:
    """The value of each metric, by name, from what the register counted."""
    return {
        "gateway_mails_in_total": counts.mails_in,
        "gateway_records_total": counts.records,
        "gateway_acks_sent_total": counts.acks_sent,
        "gateway_outbox_queue_depth": counts.outbox_pending,
        "gateway_breaches_total": counts.breaches,
        "gateway_errors_total": {
            "quarantined": counts.quarantined,
            "dead_letter": counts.dead_letters,
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

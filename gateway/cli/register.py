"""`gateway export | report`: the register as a file, and the 效果评估 report for a period."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from gateway.cli.context import gateway_of
from gateway.errors import ConfigError

URGENCIES = ["normal", "urgent", "critical"]
STATUSES = ["open", "in_progress", "resolved", "closed"]


def add_commands(sub: Any) -> None:
    export = sub.add_parser("export", help="write the register (信息交流记录表) as XLSX or CSV")
    export.add_argument("--from", dest="first", type=_date, required=True, help="YYYY-MM-DD")
    export.add_argument("--to", dest="last", type=_date, required=True, help="YYYY-MM-DD, included")
    export.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--department")
    export.add_argument("--status", choices=STATUSES)
    export.add_argument("--urgency", choices=URGENCIES)
    export.add_argument("--include-classified", action="store_true",
                        help="write the content of 涉密 records too (left out by default)")
    export.set_defaults(handler=_export)

    report = sub.add_parser("report", help="效果评估 for a period: 2026Q4, 2026-11 or 2026-W47")
    report.add_argument("--period", required=True)
    report.add_argument("--format", choices=["html", "xlsx"], default="html")
    report.add_argument("--out", type=Path, required=True)
    report.add_argument("--include-classified", action="store_true",
                        help="name the senders of 涉密 records too (left out by default)")
    report.set_defaults(handler=_report)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _export(args: argparse.Namespace) -> int:
    from gateway.reports.register_export import ExportFilter
    from gateway.usecases.reporting import export_register

    gateway = gateway_of(args)
    where = ExportFilter(args.first, args.last, args.department, args.status, args.urgency)
    with gateway.sessions() as session:
        count = export_register(session, where, gateway.settings.tz, args.format, args.out,
                                args.include_classified)
    print(f"{count} record(s) written to {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from gateway.reports import evaluation_file
    from gateway.reports.evaluation import parse_period
    from gateway.usecases.reporting import evaluation as evaluate

    try:
        period = parse_period(args.period)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    gateway = gateway_of(args)
    with gateway.sessions() as session:
        evaluation = evaluate(session, period, gateway.calendar, gateway.clock(),
                              args.include_classified)
    evaluation_file.write(evaluation, args.format, args.out, gateway.settings.gateway.templates_dir,
                          gateway.settings.tz)
    o = evaluation.overall
    print(f"{period.label}: {o.opened} opened, {o.closed} closed, {o.breaches} breach(es); "
          f"written to {args.out}")
    return 0

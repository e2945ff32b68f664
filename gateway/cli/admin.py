"""The admin and manager commands: export, report, archive, directory import."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any

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
    export.set_defaults(handler=_export)

    report = sub.add_parser("report", help="效果评估 for a period: 2026Q4, 2026-11 or 2026-W47")
    report.add_argument("--period", required=True)
    report.add_argument("--format", choices=["html", "xlsx"], default="html")
    report.add_argument("--out", type=Path, required=True)
    report.set_defaults(handler=_report)

    archive = sub.add_parser("archive", help="archive closed records, purge, hand threads over")
    archive_sub = archive.add_subparsers(metavar="ACTION")
    run = archive_sub.add_parser("run", help="archive closed records whose delay has passed")
    run.set_defaults(handler=_archive_run)
    purge = archive_sub.add_parser(
        "purge", help="delete raw mail and personal data of expired records")
    purge.add_argument("--dry-run", action="store_true", help="list what would be purged")
    purge.set_defaults(handler=_archive_purge)
    handover = archive_sub.add_parser("export", help="a record's thread as .eml files + summary")
    handover.add_argument("id", help="record id (NX-2026-001) or archive id (ND-2026-001)")
    handover.add_argument("--out", type=Path, required=True)
    handover.set_defaults(handler=_archive_export)

    directory = sub.add_parser("directory", help="the department directory (departments.toml)")
    directory_sub = directory.add_subparsers(metavar="ACTION")
    load = directory_sub.add_parser("import", help="merge departments from .xlsx/.csv, diff first")
    load.add_argument("file", type=Path)
    load.add_argument("--yes", action="store_true", help="write without asking")
    load.set_defaults(handler=_directory_import)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _gateway(args: argparse.Namespace):
    from gateway.cli.main import _gateway as make

    return make(args)


def _export(args: argparse.Namespace) -> int:
    from gateway.reports.register_export import ExportFilter
    from gateway.usecases.reporting import export_register

    gateway = _gateway(args)
    where = ExportFilter(args.first, args.last, args.department, args.status, args.urgency)
    with gateway.sessions() as session:
        count = export_register(session, where, gateway.settings.tz, args.format, args.out)
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
    gateway = _gateway(args)
    with gateway.sessions() as session:
        evaluation = evaluate(session, period, gateway.calendar, gateway.clock())
    evaluation_file.write(evaluation, args.format, args.out, gateway.settings.gateway.templates_dir,
                     gateway.settings.tz)
    o = evaluation.overall
    print(f"{period.label}: {o.opened} opened, {o.closed} closed, {o.breaches} breach(es); "
          f"written to {args.out}")
    return 0


def _archive_run(args: argparse.Namespace) -> int:
    from gateway.runtime.scheduler import Jobs

    gateway = _gateway(args)
    done = Jobs(gateway).archive(gateway.clock())
    print(f"archived {len(done)} record(s){': ' + ', '.join(done) if done else ''}")
    return 0


def _archive_purge(args: argparse.Namespace) -> int:
    from gateway.usecases.archiving import purge

    gateway = _gateway(args)
    tz = gateway.settings.tz
    with gateway.sessions.begin() as session:
        found = purge(session, gateway.clock(), gateway.settings.archive.retention_years,
                      dry_run=args.dry_run)
        for item in found:
            print(f"{'would purge' if args.dry_run else 'purged'} {item.record_id} "
                  f"{item.archive_id} ({item.archive_class}, expired "
                  f"{item.expired_at.astimezone(tz):%Y-%m-%d}, {item.mails} mail(s))")
    print(f"{len(found)} record(s) {'due for purging' if args.dry_run else 'purged'}")
    return 0


def _archive_export(args: argparse.Namespace) -> int:
    from gateway.usecases.archiving import export_thread

    gateway = _gateway(args)
    with gateway.sessions() as session:
        written = export_thread(session, args.id, args.out, gateway.settings.tz)
    print(f"{len(written)} file(s) written to {args.out}")
    return 0


def _directory_import(args: argparse.Namespace) -> int:
    from gateway.cli.main import _settings
    from gateway.routing.directory_import import plan, write

    settings = _settings(args)
    rules_dir = settings.gateway.rules_dir
    _, new, diff = plan(rules_dir, args.file)
    if not diff:
        print("departments.toml is already up to date")
        return 0
    print(diff, end="")
    if not args.yes:
        if not sys.stdin.isatty():
            print("not written: run again with --yes to write it")
            return 1
        if input("write departments.toml? [y/N] ").strip().lower() not in {"y", "yes"}:
            print("not written")
            return 1
    write(rules_dir, new)
    print(f"written {rules_dir / 'departments.toml'}")
    return 0

"""The `gateway` command: subcommands, one clear line per error, and exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway import __version__
from gateway.config import Settings, load_settings
from gateway.errors import GatewayError, NotFound

log = logging.getLogger("gateway")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args) or 0
    except GatewayError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="Email gateway for enterprise communication."
    )
    parser.add_argument("--config", type=Path, help="config file (default: $GATEWAY_CONFIG)")
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon: watch the mailbox, send, schedule")
    run.set_defaults(handler=_run)

    health = sub.add_parser("health", help="check mailbox, SMTP, database and outbox; exit 69 "
                            "when one fails (for monitoring and systemd)")
    health.set_defaults(handler=_health)

    poll = sub.add_parser("poll", help="process what waits in the mailbox, send, exit")
    poll.add_argument("--once", action="store_true", required=True)
    poll.set_defaults(handler=_poll)

    ingest = sub.add_parser("ingest", help="store one raw mail from FILE or stdin (MTA pipe)")
    ingest.add_argument("file", nargs="?", type=Path)
    ingest.set_defaults(handler=_ingest)

    demo = sub.add_parser("demo", help="run sample mails through the whole pipeline locally")
    demo.add_argument("--dir", type=Path, default=Path("storage/demo"),
                      help="where the demo keeps its database and mailboxes")
    demo.set_defaults(handler=_demo)

    rules = sub.add_parser("rules", help="check rule files, or test mails against them")
    rules_sub = rules.add_subparsers(metavar="ACTION")
    check = rules_sub.add_parser("check", help="validate every rule file")
    check.set_defaults(handler=_rules_check)
    test = rules_sub.add_parser("test", help="show how mails would be parsed and routed")
    test.add_argument("mails", nargs="+", type=Path)
    test.add_argument("--json", action="store_true", help="one JSON object per mail")
    test.set_defaults(handler=_rules_test)

    records = sub.add_parser("records", help="read the register")
    records_sub = records.add_subparsers(metavar="ACTION")
    listing = records_sub.add_parser("list", help="list records, newest first")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status")
    listing.add_argument("--department")
    listing.add_argument("--urgency", choices=["normal", "urgent", "critical"])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_records_list)
    show = records_sub.add_parser("show", help="one record with its whole log")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_records_show)

    from gateway.cli.sla import add_commands as add_sla_commands

    add_sla_commands(sub, _settings, _gateway)
    from gateway.cli.admin import add_commands

    add_commands(sub)
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    _configure_logging(settings, args.verbose)
    return settings


def _configure_logging(settings: Settings, verbose: bool) -> None:
    from gateway.runtime.logs import configure

    configure(settings.logging, verbose=verbose)


def _gateway(args: argparse.Namespace):
    from gateway.runtime.assembly import Gateway

    return Gateway(_settings(args))


def _run(args: argparse.Namespace) -> int:
    from gateway.runtime.daemon import Daemon

    Daemon(_gateway(args)).run()
    return 0


def _health(args: argparse.Namespace) -> int:
    from gateway.runtime.assembly import utc_now
    from gateway.runtime.health import UNHEALTHY, run_checks

    checks = run_checks(_settings(args), utc_now())
    for check in checks:
        print(check)
    return 0 if all(c.ok for c in checks) else UNHEALTHY


def _poll(args: argparse.Namespace) -> int:
    gateway = _gateway(args)
    source = gateway.make_source()
    try:
        total = 0
        while results := gateway.process_batch(source):
            total += len(results)
    finally:
        source.close()
    gateway.close_waiting()
    flushed = gateway.flush()
    print(f"processed {total} mail(s); sent {len(flushed.sent)}, "
          f"to retry {len(flushed.retried)}, dead {len(flushed.dead)}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from gateway.sources.pipe import read_one

    gateway = _gateway(args)
    if args.file:
        with args.file.open("rb") as stream:
            fetched = read_one(stream)
    else:
        fetched = read_one(sys.stdin.buffer)
    result = gateway.ingest(fetched)
    # Stored is stored: sending can wait for the daemon if SMTP is down right now.
    try:
        gateway.flush()
    except Exception as exc:  # noqa: BLE001 - the mail is safe; delivery is retried later
        log.warning("mail stored, sending deferred: %s", exc)
    print(f"{result.action} {result.record_id or ''} {result.reason or ''}".strip())
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gateway.cli.demo import run_demo

    _configure_logging(load_settings(None), args.verbose)
    return run_demo(args.dir)


def _rules_check(args: argparse.Namespace) -> int:
    from gateway.routing.load import load_rules

    settings = _settings(args)
    rules = load_rules(settings.gateway.rules_dir)
    for name, version in sorted(rules.versions.items()):
        print(f"ok {name} ({version})")
    print(f"{len(rules.rules)} rule(s), {len(rules.directory.departments)} department(s)")
    return 0


def _rules_test(args: argparse.Namespace) -> int:
    from gateway.cli.show import explain_mail
    from gateway.routing.load import load_rules

    settings = _settings(args)

    rules = load_rules(settings.gateway.rules_dir)
    status = 0
    for path in args.mails:
        try:
            report = explain_mail(path.read_bytes(), rules, settings.gateway.internal_domains)
        except OSError as exc:
            print(f"gateway: {path}: {exc.strerror}", file=sys.stderr)
            status = 66
            continue
        report["file"] = str(path)
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            print("\n".join(report.pop("lines")), end="\n\n")
    return status


def _records_list(args: argparse.Namespace) -> int:
    from gateway.db.records import RecordFilter, list_records
    from gateway.usecases.context import as_json

    gateway = _gateway(args)
    where = RecordFilter(status=args.status, department=args.department,
                         urgency=args.urgency, limit=args.limit)
    with gateway.sessions() as session:
        rows = [as_json(r) for r in list_records(session, where)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    from gateway.cli.show import format_list

    print("\n".join(format_list(rows, gateway.settings.tz)))
    return 0


def _records_show(args: argparse.Namespace) -> int:
    from gateway.db.records import get_record
    from gateway.usecases.context import as_json

    gateway = _gateway(args)
    with gateway.sessions() as session:
        record = get_record(session, args.id)
        if record is None:
            raise NotFound(f"no record {args.id}")
        data = as_json(record, with_log=True)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    from gateway.cli.show import format_record

    print("\n".join(format_record(data, gateway.settings.tz)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

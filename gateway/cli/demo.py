"""`gateway demo`: run the sample mails through the whole pipeline locally and show the register."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.cli.context import configure_logging
from gateway.config import load_settings


def add_commands(sub: Any) -> None:
    demo = sub.add_parser("demo", help="run sample mails through the whole pipeline locally")
    demo.add_argument("--dir", type=Path, default=Path("storage/demo"),
                      help="where the demo keeps its database and mailboxes")
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    from gateway.cli.show import format_list, format_record
    from gateway.runtime.demo import run_demo

    configure_logging(load_settings(None), args.verbose)
    report = run_demo(args.dir)
    tz = report.settings.tz
    print("\n".join(format_list(report.rows, tz)))
    print()
    print("\n".join(format_record(report.shown, tz)))
    print()
    for record in report.highlights:
        print("\n".join(format_record(record, tz)))
    if report.started is not None:
        print("\n".join(format_record(report.started, tz)))
        print()
    print("mails in: " + ", ".join(f"{k} {v}" for k, v in sorted(report.actions.items())))
    print(f"mails sent (captured in {report.sent_folder}): {report.sent}")
    print(f"database: {report.settings.database_url}")
    return 0

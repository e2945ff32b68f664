"""`gateway records list | show`: read the register."""

from __future__ import annotations

import argparse
import json
from typing import Any

from gateway.cli.context import register_of
from gateway.errors import NotFound


def add_commands(sub: Any) -> None:
    records = sub.add_parser("records", help="read the register")
    actions = records.add_subparsers(metavar="ACTION")
    listing = actions.add_parser("list", help="list records, newest first")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--status")
    listing.add_argument("--department")
    listing.add_argument("--urgency", choices=["normal", "urgent", "critical"])
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_list)
    show = actions.add_parser("show", help="one record with its whole log")
    show.add_argument("id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_show)


def _list(args: argparse.Namespace) -> int:
    from gateway.cli.show import format_list
    from gateway.db.records import RecordFilter, list_records
    from gateway.usecases.context import as_json

    register = register_of(args)
    where = RecordFilter(status=args.status, department=args.department,
                         urgency=args.urgency, limit=args.limit)
    with register.sessions() as session:
        rows = [as_json(r) for r in list_records(session, where)]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        print("\n".join(format_list(rows, register.settings.tz)))
    return 0


def _show(args: argparse.Namespace) -> int:
    from gateway.cli.show import format_record
    from gateway.db.records import get_record
    from gateway.usecases.context import as_json

    register = register_of(args)
    with register.sessions() as session:
        record = get_record(session, args.id)
        if record is None:
            raise NotFound(f"no record {args.id}")
        data = as_json(record, with_log=True)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print("\n".join(format_record(data, register.settings.tz)))
    return 0

"""`gateway archive run | purge | export`: archiving, retention and handing a thread over."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from gateway.cli.context import gateway_of


def add_commands(sub: Any) -> None:
    archive = sub.add_parser("archive", help="archive closed records, purge, hand threads over")
    actions = archive.add_subparsers(metavar="ACTION")
    run = actions.add_parser("run", help="archive closed records whose delay has passed")
    run.set_defaults(handler=_run)
    purge = actions.add_parser(
        "purge", help="delete raw mail and personal data of expired records")
    purge.add_argument("--dry-run", action="store_true", help="list what would be purged")
    purge.set_defaults(handler=_purge)
    handover = actions.add_parser("export", help="a record's thread as .eml files + summary")
    handover.add_argument("id", help="record id (NX-2026-001) or archive id (ND-2026-001)")
    handover.add_argument("--out", type=Path, required=True)
    handover.add_argument("--by", help="who exports, logged for 涉密 records (default: the OS user)")
    handover.set_defaults(handler=_export)


def _run(args: argparse.Namespace) -> int:
    from gateway.runtime.scheduler import Jobs

    gateway = gateway_of(args)
    done = Jobs(gateway).archive(gateway.clock())
    print(f"archived {len(done)} record(s){': ' + ', '.join(done) if done else ''}")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from gateway.usecases.archiving import purge

    gateway = gateway_of(args)
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


def _export(args: argparse.Namespace) -> int:
    from gateway.usecases.archiving import export_thread

    gateway = gateway_of(args)
    by = args.by or _os_user()
    with gateway.sessions.begin() as session:
        written = export_thread(session, args.id, args.out, gateway.settings.tz, by=by,
                                now=gateway.clock())
    print(f"{len(written)} file(s) written to {args.out}")
    return 0


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"

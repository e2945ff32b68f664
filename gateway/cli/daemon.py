"""`gateway run | health | poll | ingest`: the daemon, its health check and its one-shot runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.cli.context import gateway_of, settings_of


def add_commands(sub: Any) -> None:
    run = sub.add_parser("run", help="run the daemon: watch the mailbox, send, schedule")
    run.set_defaults(handler=_run)

    health = sub.add_parser("health", help="check mailbox, SMTP, database and outbox; exit 69 "
                            "when one fails (for monitoring and systemd)")
    health.set_defaults(handler=_health)

    poll = sub.add_parser("poll", help="process what waits in the mailbox, send, exit")
    poll.add_argument("--once", action="store_true", required=True)
    poll.set_defaults(handler=_poll)

    ingest = sub.add_parser("ingest", help="store one raw mail from FILE or stdin (MTA pipe); "
                            "FILE may be an Outlook .msg")
    ingest.add_argument("file", nargs="?", type=Path)
    ingest.set_defaults(handler=_ingest)


def _run(args: argparse.Namespace) -> int:
    from gateway.runtime.daemon import Daemon

    Daemon(gateway_of(args)).run()
    return 0


def _health(args: argparse.Namespace) -> int:
    from gateway.runtime.assembly import utc_now
    from gateway.runtime.health import UNHEALTHY, run_checks

    checks = run_checks(settings_of(args), utc_now())
    for check in checks:
        print(check)
    return 0 if all(c.ok for c in checks) else UNHEALTHY


def _poll(args: argparse.Namespace) -> int:
    from gateway.runtime.oneshot import poll_once

    done = poll_once(gateway_of(args))
    print(f"processed {done.processed} mail(s); sent {len(done.flushed.sent)}, "
          f"to retry {len(done.flushed.retried)}, dead {len(done.flushed.dead)}")
    return 0


def _ingest(args: argparse.Namespace) -> int:
    from gateway.runtime.oneshot import ingest

    result = ingest(gateway_of(args), args.file, sys.stdin.buffer)
    print(f"{result.action} {result.record_id or ''} {result.reason or ''}".strip())
    return 0

"""The `gateway` command: the parser, dispatch, one clear line per error, and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from gateway import __version__
from gateway.cli import (
    archive,
    check,
    daemon,
    demo,
    directory,
    im,
    init,
    records,
    register,
    rules,
    sla,
)
from gateway.cli.context import gateway_of, register_of, settings_of
from gateway.errors import GatewayError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gateway", description="Email gateway for enterprise communication."
    )
    parser.add_argument("--config", type=Path, help="config file (default: $GATEWAY_CONFIG)")
    parser.add_argument("--version", action="version", version=f"gateway {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(metavar="COMMAND")
    daemon.add_commands(sub)
    check.add_commands(sub)
    init.add_commands(sub)
    demo.add_commands(sub)
    rules.add_commands(sub)
    records.add_commands(sub)
    sla.add_commands(sub, settings_of, gateway_of, register_of)
    register.add_commands(sub)
    archive.add_commands(sub)
    directory.add_commands(sub)
    im.add_commands(sub)
    return parser


if __name__ == "__main__":
    sys.exit(main())

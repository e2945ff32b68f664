"""`gateway directory import`: merge departments from a spreadsheet, showing the diff first."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gateway.cli.context import settings_of


def add_commands(sub: Any) -> None:
    directory = sub.add_parser("directory", help="the department directory (departments.toml)")
    actions = directory.add_subparsers(metavar="ACTION")
    load = actions.add_parser("import", help="merge departments from .xlsx/.csv, diff first")
    load.add_argument("file", type=Path)
    load.add_argument("--yes", action="store_true", help="write without asking")
    load.set_defaults(handler=_import)


def _import(args: argparse.Namespace) -> int:
    from gateway.routing.directory_import import plan, write

    rules_dir = settings_of(args).gateway.rules_dir
    _, new, diff = plan(rules_dir, args.file)
    if not diff:
        print("departments.toml is already up to date")
        return 0
    print(diff, end="")
    if not args.yes and not _confirmed():
        return 1
    write(rules_dir, new)
    print(f"written {rules_dir / 'departments.toml'}")
    return 0


def _confirmed() -> bool:
    if not sys.stdin.isatty():
        print("not written: run again with --yes to write it")
        return False
    if input("write departments.toml? [y/N] ").strip().lower() not in {"y", "yes"}:
        print("not written")
        return False
    return True

"""`gateway check`: walk through settings, DNS, TLS, login and folders, one line per step."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli.context import settings_of
from gateway.errors import ConfigError


def add_commands(sub: Any) -> None:
    check = sub.add_parser("check", help="check settings, DNS, TLS, login (password or "
                           "XOAUTH2) and folders step by step; exit 69 at the first failure")
    check.set_defaults(handler=_check)


def _check(args: argparse.Namespace) -> int:
    from gateway.runtime.check import CHECK_FAILED, run_steps

    try:
        settings = settings_of(args)
    except ConfigError as exc:
        print(f"FAIL settings: {exc}", flush=True)
        return exc.exit_code
    failed = False
    for step in run_steps(settings):
        print(step, flush=True)
        failed = failed or step.failed
    return CHECK_FAILED if failed else 0

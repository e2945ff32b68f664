"""`gateway rules check | test`: validate the rule files, show how mails would be routed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gateway.cli.context import settings_of


def add_commands(sub: Any) -> None:
    rules = sub.add_parser("rules", help="check rule files, or test mails against them")
    actions = rules.add_subparsers(metavar="ACTION")
    check = actions.add_parser("check", help="validate every rule file")
    check.set_defaults(handler=_check)
    test = actions.add_parser("test", help="show how mails (.eml or Outlook .msg) would be "
                              "parsed and routed")
    test.add_argument("mails", nargs="+", type=Path)
    test.add_argument("--json", action="store_true", help="one JSON object per mail")
    test.set_defaults(handler=_test)


def _check(args: argparse.Namespace) -> int:
    from gateway.routing.load import load_rules

    settings = settings_of(args)
    rules = load_rules(settings.gateway.rules_dir)
    for name, version in sorted(rules.versions.items()):
        print(f"ok {name} ({version})")
    print(f"{len(rules.rules)} rule(s), {len(rules.directory.departments)} department(s)")
    return 0


def _test(args: argparse.Namespace) -> int:
    from gateway.routing.load import load_rules
    from gateway.sources.outlook import convert, is_outlook
    from gateway.usecases.route_preview import explain_mail

    settings = settings_of(args)
    rules = load_rules(settings.gateway.rules_dir)
    status = 0
    for path in args.mails:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            print(f"gateway: {path}: {exc.strerror}", file=sys.stderr)
            status = 66
            continue
        raw = convert(path) if is_outlook(raw) else raw
        report = explain_mail(raw, rules, settings.gateway.internal_domains)
        report["file"] = str(path)
        if args.json:
            print(json.dumps(report, ensure_ascii=False))
        else:
            print("\n".join(report.pop("lines")), end="\n\n")
    return status

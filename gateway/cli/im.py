"""`gateway im test NAME`: a test message to one group-chat robot, and its answer."""

from __future__ import annotations

import argparse
from typing import Any

from gateway.cli.context import settings_of

FAILED = 69  # EX_UNAVAILABLE, as `health` answers


def add_commands(sub: Any) -> None:
    im = sub.add_parser("im", help="instant-message alert channels ([[im.channel]])")
    commands = im.add_subparsers(metavar="ACTION")
    test = commands.add_parser("test", help="send a test message to channel NAME now and print "
                               "the robot's answer")
    test.add_argument("name", help="the [[im.channel]] name")
    test.set_defaults(handler=_test)


def _test(args: argparse.Namespace) -> int:
    from gateway.runtime.alert_sender import AlertSender
    from gateway.runtime.assembly import utc_now

    settings = settings_of(args)
    channel = settings.im.find(args.name)
    answer = AlertSender(None, settings.im).test(channel.name, utc_now(), settings.gateway.name)
    print(f"{channel.name} ({channel.kind}): {'ok' if answer.ok else 'FAIL'} {answer}")
    return 0 if answer.ok else FAILED

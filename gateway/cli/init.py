"""`gateway init DIR`: write a starting deployment (config, rules, templates, systemd unit)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_commands(sub: Any) -> None:
    init = sub.add_parser("init", help="write a starting deployment into DIR: config.toml, "
                          "rules/, templates/ and a systemd unit")
    init.add_argument("dir", type=Path)
    init.add_argument("--force", action="store_true", help="overwrite files that exist")
    init.set_defaults(handler=_init)


def _init(args: argparse.Namespace) -> int:
    from gateway.runtime.deployment import init

    done = init(args.dir, force=args.force)
    print(f"wrote {done.config}")
    print(f"copied {len(done.rules)} file(s) to {done.folder / 'rules'}")
    print(f"copied {len(done.templates)} file(s) to {done.folder / 'templates'}")
    print(f"wrote {done.unit}")
    print(f"next: edit {done.config.name} ([mailbox], [smtp]), then "
          f"gateway --config {done.config} rules check")
    return 0

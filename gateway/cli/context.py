"""What a command builds from its global options: settings, logging and the assembled gateway."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NamedTuple

from gateway.config import Settings, load_settings

if TYPE_CHECKING:
    from gateway.db.sessions import Sessions
    from gateway.runtime.assembly import Gateway


class Register(NamedTuple):
    """The settings and the database, without the mail pipeline around them."""

    settings: Settings
    sessions: Sessions


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings of --config (or $GATEWAY_CONFIG, or the defaults), with logging set up."""
    settings = load_settings(args.config)
    configure_logging(settings, args.verbose)
    return settings


def configure_logging(settings: Settings, verbose: bool) -> None:
    from gateway.runtime.logs import configure

    configure(settings.logging, verbose=verbose)


def gateway_of(args: argparse.Namespace) -> Gateway:
    from gateway.runtime.assembly import Gateway

    return Gateway(settings_of(args))


def register_of(args: argparse.Namespace) -> Register:
    """For commands that only read the register: they start without loading the mail
    pipeline, templates and rules (most of a second an admin would wait for)."""
    from gateway.db.engine import make_engine, upgrade
    from gateway.db.sessions import Sessions

    settings = settings_of(args)
    engine = make_engine(settings.database_url, busy_timeout=settings.database.busy_timeout)
    upgrade(engine)
    return Register(settings, Sessions(engine))

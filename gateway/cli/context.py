"""What a command builds from its global options: settings, logging and the assembled gateway."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gateway.config import Settings, load_settings

if TYPE_CHECKING:
    from gateway.runtime.assembly import Gateway


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

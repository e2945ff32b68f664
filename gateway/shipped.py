"""Where the defaults shipped with the package live: rules, templates and the example config."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# An installed wheel carries the project's top-level rules/, templates/ and config.example.toml
# as package data under gateway/_defaults/ (see pyproject.toml). A source
# checkout (an editable install, or PYTHONPATH) has no gateway/_defaults/: there the
# checkout's own top-level folders are the shipped ones.
PACKAGE_DATA = "_defaults"
CONFIG_EXAMPLE = "config.example.toml"


def rules_dir() -> Path:
    return _shipped("rules")


def templates_dir() -> Path:
    return _shipped("templates")


def config_example() -> Path:
    return _shipped(CONFIG_EXAMPLE)


def is_package_data(path: Path) -> bool:
    """Whether `path` lies in the installed package's own defaults, which an upgrade replaces."""
    return Path(path).resolve().is_relative_to((_package() / PACKAGE_DATA).resolve())


def _package() -> Path:
    return Path(str(files("gateway")))


def _shipped(name: str) -> Path:
    package = _package()
    installed = package / PACKAGE_DATA / name
    if installed.exists():
        return installed
    checkout = package.parent / name
    if (package.parent / "pyproject.toml").is_file() and checkout.exists():
        return checkout
    return installed  # missing: whoever reads it names the path in its error

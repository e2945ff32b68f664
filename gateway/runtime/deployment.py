"""A starting deployment folder (`gateway init`): config, rules, templates and a systemd unit."""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from gateway import shipped
from gateway.errors import CannotWrite, ConfigError

CONFIG, UNIT, STORAGE = "config.toml", "gateway.service", "storage"
# Keys left active in the written config: they point at the deployment's own folders.
ACTIVE_KEYS = {("gateway", "rules_dir"), ("gateway", "templates_dir"), ("gateway", "storage_dir")}
SECTION = re.compile(r"^\[([^\]]+)\]")
KEY = re.compile(r"^[A-Za-z_][\w-]*(?=\s*=)")

CONFIG_NOTE = """\
# Written by `gateway init` from config.example.toml: every setting is listed, commented out
# with an example value. A setting left commented out takes its built-in default (a Maildir
# under storage/, SMTP on 127.0.0.1). rules_dir, templates_dir and storage_dir are set: they
# name this folder's own rules/, templates/ and storage/.
"""

UNIT_TEXT = """\
# systemd unit for the gateway deployed in {folder}
# Install: cp {unit} /etc/systemd/system/ && systemctl daemon-reload
#          systemctl enable --now gateway
[Unit]
Description=Email gateway for enterprise communication
After=network-online.target postgresql.service
Wants=network-online.target

[Service]
Type=simple
# An unprivileged account that may write {storage} (and rules/, for
# `gateway directory import`); create one with: useradd --system --no-create-home gateway
User=gateway
# Relative paths in config.toml are relative to the config file, not to this folder.
WorkingDirectory={folder}
# Passwords named by password_env in config.toml, as NAME=value lines (mode 0600).
EnvironmentFile=-{secrets}
ExecStart={executable} --config {config} run
Restart=on-failure
RestartSec=5
# SIGTERM: the daemon finishes the mail in hand and the outbox batch, then exits 0.
KillSignal=SIGTERM
TimeoutStopSec=90
NoNewPrivileges=true
ProtectSystem=strict
ReadWritePaths={storage} {rules}

[Install]
WantedBy=multi-user.target
"""


@dataclass(frozen=True)
class Deployment:
    folder: Path
    config: Path
    unit: Path
    rules: list[Path]  # the copied rule files
    templates: list[Path]  # the copied templates


def init(folder: Path, *, force: bool = False) -> Deployment:
    """Write a starting deployment into `folder`; existing files only with `force`."""
    folder = folder.absolute()
    config, unit = folder / CONFIG, folder / UNIT
    rules = {folder / "rules" / f.name: f for f in _shipped_files(shipped.rules_dir())}
    templates = {folder / "templates" / f.name: f for f in _shipped_files(shipped.templates_dir())}
    writes = {
        config: starting_config(shipped.config_example().read_text(encoding="utf-8")).encode(),
        unit: unit_text(folder, config).encode(),
        **{target: source.read_bytes() for target, source in (rules | templates).items()},
    }
    taken = [path for path in writes if path.exists()]
    if taken and not force:
        more = f" (and {len(taken) - 1} more)" if len(taken) > 1 else ""
        raise CannotWrite(f"{taken[0]} exists{more}; nothing written: use --force to overwrite")
    try:
        for path, data in writes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (folder / STORAGE).mkdir(exist_ok=True)
    except OSError as exc:
        raise CannotWrite(f"{exc.filename or folder}: {exc.strerror}") from None
    return Deployment(folder, config, unit, list(rules), list(templates))


def starting_config(example: str) -> str:
    """The example config with every key commented out but those naming the folder's own."""
    lines, section = [], ""
    for line in example.splitlines():
        if found := SECTION.match(line):
            section = found.group(1)
        elif (key := KEY.match(line)) and (section, key.group(0)) not in ACTIVE_KEYS:
            line = f"# {line}"
        lines.append(line)
    head = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    return "\n".join([*lines[:head], CONFIG_NOTE.rstrip("\n"), *lines[head:]]) + "\n"


def unit_text(folder: Path, config: Path) -> str:
    return UNIT_TEXT.format(
        folder=_quoted(folder), unit=_quoted(folder / UNIT), config=_quoted(config),
        storage=_quoted(folder / STORAGE), rules=_quoted(folder / "rules"),
        secrets=_quoted(folder / "secrets.env"), executable=executable(),
    )


def executable() -> str:
    """The absolute path of the `gateway` command of this installation."""
    beside = Path(sys.executable).absolute().parent / "gateway"
    if beside.is_file():
        return _quoted(beside)
    found = shutil.which("gateway")
    if found:
        return _quoted(Path(found).absolute())
    return f"{_quoted(Path(sys.executable).absolute())} -m gateway.cli"


def _shipped_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        raise ConfigError(f"{folder}: the shipped defaults are missing; reinstall mail-gateway")
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _quoted(path: Path) -> str:
    text = str(path)
    return f'"{text}"' if any(c.isspace() for c in text) else text

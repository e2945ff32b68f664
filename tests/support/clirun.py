"""The `gateway` command as a real process, and the small config file it runs on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mailmaker import GATEWAY
from paths import ROOT


def gateway_cmd(*args: str, config: Path | None = None, stdin: bytes | None = None,
                cwd: Path = ROOT, env: dict | None = None, timeout: float = 60):
    command = [sys.executable, "-m", "gateway.cli"]
    if config is not None:
        command += ["--config", str(config)]
    return subprocess.run(
        [*command, *args], input=stdin, capture_output=True, cwd=cwd, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def write_config(tmp_path: Path, smtp_port: int, *, mailbox_lines: str = "",
                 imap=None) -> Path:
    """A config for commands run as a process: a Maildir, or the IMAP account `imap` (its
    password in $TEST_IMAP_PASSWORD), and the SMTP server on `smtp_port`."""
    mailbox = ('kind = "maildir"\npath = "mailbox"' if imap is None else
               f'kind = "imap"\nhost = "{imap.host}"\nport = {imap.port}\ntls = "none"\n'
               f'user = "{imap.user}"\npassword_env = "TEST_IMAP_PASSWORD"')
    config = tmp_path / "config.toml"
    config.write_text(f"""
[gateway]
domain = "gateway.corp.example"
internal_domains = ["corp.example"]
rules_dir = "{ROOT / 'rules'}"
templates_dir = "{ROOT / 'templates'}"
storage_dir = "storage"
[mailbox]
{mailbox}
{mailbox_lines}
[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "信息交流网关 <{GATEWAY}>"
""", encoding="utf-8")
    return config

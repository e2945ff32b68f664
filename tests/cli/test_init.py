"""`gateway init DIR`: a starting deployment that the gateway accepts as it is written."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from clirun import gateway_cmd
from paths import ROOT

from gateway.config import load_settings
from gateway.runtime.deployment import starting_config

EXAMPLE = ROOT / "config.example.toml"


def test_init_writes_a_deployment_that_rules_check_accepts(tmp_path):
    folder = tmp_path / "gw"
    done = gateway_cmd("init", str(folder))
    assert done.returncode == 0, done.stderr.decode()
    config = folder / "config.toml"
    assert {p.name for p in folder.iterdir()} >= {"config.toml", "gateway.service", "rules",
                                                  "templates", "storage"}
    assert sorted(p.name for p in (folder / "rules").glob("*.toml")) == sorted(
        p.name for p in (ROOT / "rules").glob("*.toml"))
    assert (folder / "templates" / "ack.txt.j2").read_bytes() == (
        ROOT / "templates" / "ack.txt.j2").read_bytes()

    checked = gateway_cmd("--config", str(config), "rules", "check")
    assert checked.returncode == 0, checked.stderr.decode()
    assert "ok routing.toml" in checked.stdout.decode()

    settings = load_settings(config)
    assert settings.gateway.rules_dir == folder / "rules"
    assert settings.gateway.templates_dir == folder / "templates"
    assert settings.gateway.storage_dir == folder / "storage"
    assert settings.mailbox.kind == "maildir"  # everything else: the built-in defaults


def test_the_unit_runs_this_installation_on_this_config(tmp_path):
    folder = tmp_path / "gw"
    assert gateway_cmd("init", str(folder)).returncode == 0
    unit = (folder / "gateway.service").read_text()
    exec_start = re.search(r"^ExecStart=(.+)$", unit, re.MULTILINE).group(1).split()
    assert Path(exec_start[0]).is_absolute() and Path(exec_start[0]).name == "gateway"
    assert exec_start[1:] == ["--config", str(folder / "config.toml"), "run"]
    assert "\nRestart=on-failure\n" in unit
    assert f"\nWorkingDirectory={folder}\n" in unit and "\nUser=gateway\n" in unit


def test_every_setting_of_the_example_is_there_commented_out():
    example = EXAMPLE.read_text(encoding="utf-8")
    written = starting_config(example)
    active = tomllib.loads(written)
    assert active["gateway"] == {"rules_dir": "rules", "templates_dir": "templates",
                                 "storage_dir": "storage"}
    assert not any(_settings_in(values) for name, values in active.items() if name != "gateway")
    lines = set(written.splitlines())
    settings = [line for line in example.splitlines() if re.match(r"[a-z_]+ =", line)]
    assert len(settings) > 60
    for line in settings:
        assert f"# {line}" in lines or line in lines, line


def test_init_refuses_to_overwrite_and_force_does(tmp_path):
    folder = tmp_path / "gw"
    assert gateway_cmd("init", str(folder)).returncode == 0
    config = folder / "config.toml"
    config.write_text("# edited by the admin\n")
    again = gateway_cmd("init", str(folder))
    assert again.returncode == 73
    lines = again.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and str(config) in lines[0] and "--force" in lines[0]
    assert config.read_text() == "# edited by the admin\n"

    forced = gateway_cmd("init", str(folder), "--force")
    assert forced.returncode == 0, forced.stderr.decode()
    assert "[gateway]" in config.read_text()


def _settings_in(table: dict) -> list:
    return [v for value in table.values()
            for v in (_settings_in(value) if isinstance(value, dict) else [value])]

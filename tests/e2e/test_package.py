"""The built wheel stands on its own: it carries the default rules, templates and example config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile

from paths import ROOT

# What a build needs from the project; copied, so no stale build/ folder of the clone leaks in.
SOURCES = ("gateway", "rules", "templates", "config.example.toml", "pyproject.toml", "README.md")


def test_the_wheel_carries_its_defaults_and_runs_the_demo_in_an_empty_folder(tmp_path):
    source = tmp_path / "source"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name,
                            ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, capture_output=True,
                   timeout=600)
    site = tmp_path / "site"
    with zipfile.ZipFile(next((tmp_path / "dist").glob("*.whl"))) as wheel:
        names = set(wheel.namelist())
        wheel.extractall(site)
    assert {"gateway/_defaults/config.example.toml", "gateway/_defaults/rules/routing.toml",
            "gateway/_defaults/templates/ack.txt.j2",
            "gateway/db/migrations/env.py"} <= names

    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_CONFIG"}
    env["PYTHONPATH"] = str(site)  # the unpacked wheel, not the clone
    where = subprocess.run(
        [sys.executable, "-c", "from gateway import shipped; print(shipped.rules_dir())"],
        cwd=empty, env=env, capture_output=True, text=True, check=True)
    assert where.stdout.strip() == str(site / "gateway" / "_defaults" / "rules")
    demo = subprocess.run([sys.executable, "-m", "gateway.cli", "demo"], cwd=empty, env=env,
                          capture_output=True, timeout=180)
    assert demo.returncode == 0, demo.stderr.decode()
    assert "created 10" in demo.stdout.decode()  # seed scenarios, loop cases, a started request
    assert (empty / "storage" / "demo" / "gateway.sqlite3").exists()


def test_every_package_of_the_tree_is_listed_for_the_wheel():
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "gateway").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"

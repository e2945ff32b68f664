"""Rule folders for a test: the shipped rules copied, with any file replaced or extended."""

from __future__ import annotations

from pathlib import Path

from paths import ROOT

SHIPPED = ROOT / "rules"


def copy_rules(tmp_path: Path, *, routing: str | None = None, departments: str | None = None,
               parties: str | None = None, extra: str = "") -> Path:
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    for name, replacement in (("routing.toml", routing), ("departments.toml", departments),
                              ("parties.toml", parties)):
        text = replacement if replacement is not None else (SHIPPED / name).read_text("utf-8")
        if name == "routing.toml":
            text += "\n" + extra
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def only_rule(body: str) -> str:
    """A routing.toml with the [default] desk and this one rule."""
    return "[default]\ndepartment = '客服中心'\nid_prefix = 'NX'\n\n[[rule]]\n" + body

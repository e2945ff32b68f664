"""部门目录导入: a spreadsheet of departments merged into rules/departments.toml, diff first.

Departments in the sheet replace the keys the sheet has for them; departments only in the
file stay (routing.toml may name them). Comment lines above a department and the file's
header survive; comments inside a department's table do not.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gateway import shipped
from gateway.errors import ConfigError, ImportProblem, RuleError
from gateway.routing.load import DEPARTMENTS_FILE, load_rules

# Column headers people write, to the departments.toml key they fill.
HEADER_WORDS: dict[str, str] = {
    "部门": "name", "部门名称": "name", "名称": "name", "name": "name", "department": "name",
    "别名": "aliases", "简称": "aliases", "aliases": "aliases",
    "邮箱": "mailboxes", "部门邮箱": "mailboxes", "公共邮箱": "mailboxes", "mailboxes": "mailboxes",
    "负责人": "head", "head": "head",
    "成员": "members", "接口人": "members", "members": "members",
    "编号前缀": "id_prefix", "id_prefix": "id_prefix",
}
KEY_ORDER = ("name", "aliases", "mailboxes", "head", "members", "id_prefix")
LIST_KEYS = frozenset({"aliases", "mailboxes", "members"})
_SPLIT = re.compile(r"[,，;；、\n]+")
_TABLE = re.compile(r"^\s*\[\[\s*department\s*\]\]\s*$")


def read_sheet(path: Path) -> list[dict[str, Any]]:
    """Rows of the .xlsx or .csv as departments.toml tables, empty cells left out."""
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        sheet = load_workbook(path, read_only=True, data_only=True).active
        grid = [["" if v is None else str(v) for v in row]
                for row in sheet.iter_rows(values_only=True)]
    elif path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as handle:
            grid = list(csv.reader(handle))
    else:
        raise ImportProblem(f"{path}: expected a .xlsx or .csv file")
    if not grid:
        raise ImportProblem(f"{path}: the sheet is empty")
    keys = [HEADER_WORDS.get(h.strip().casefold(), HEADER_WORDS.get(h.strip())) for h in grid[0]]
    if "name" not in keys:
        raise ImportProblem(f"{path}: no department name column (部门 / name)")
    return [_table(keys, row) for row in grid[1:] if any(c.strip() for c in row)]


def _table(keys: list[str | None], row: list[str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for key, cell in zip(keys, row):
        cell = cell.strip()
        if key is None or not cell:
            continue
        if key in LIST_KEYS:
            table[key] = [p.strip() for p in _SPLIT.split(cell) if p.strip()]
        else:
            table[key] = cell
    return table


def _blocks(text: str) -> tuple[list[str], list[tuple[list[str], list[str]]]]:
    """The header, then per department (comment lines above it, its table lines)."""
    lines = text.splitlines()
    header: list[str] = []
    blocks: list[tuple[list[str], list[str]]] = []
    pending: list[str] = []
    for line in lines:
        if _TABLE.match(line):
            if not blocks:
                # The header's last comment paragraph belongs to the first department.
                cut = len(pending)
                while cut and pending[cut - 1].strip():
                    cut -= 1
                header, pending = pending[:cut], pending[cut:]
            blocks.append((pending, [line]))
            pending = []
        elif blocks and (line.strip() == "" or line.lstrip().startswith("#")):
            pending.append(line)
        elif blocks:
            blocks[-1][1].extend([*pending, line])
            pending = []
        else:
            pending.append(line)
    if not blocks:
        header = pending
    return header, blocks


def _value(value: Any) -> str:
    # JSON strings are valid TOML basic strings.
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _render_table(table: dict[str, Any]) -> list[str]:
    keys = [k for k in KEY_ORDER if k in table] + [k for k in table if k not in KEY_ORDER]
    return ["[[department]]", *(f"{k} = {_value(table[k])}" for k in keys)]


def merge(text: str, imported: Iterable[dict[str, Any]]) -> str:
    """The new departments.toml text: imported departments updated or appended, others kept."""
    header, blocks = _blocks(text)
    current = tomllib.loads(text).get("department", [])
    incoming = {t["name"]: t for t in imported}
    out = _trim(header)
    for (comments, lines), table in zip(blocks, current):
        name = table.get("name")
        update = incoming.pop(name, None)
        body = _render_table({**table, **update}) if update else _trim(lines)
        out += ["", *_trim(comments), *body]
    for table in incoming.values():
        out += ["", *_render_table(table)]
    return "\n".join(_trim(out)) + "\n"


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def plan(rules_dir: Path, sheet: Path) -> tuple[str, str, str]:
    """(old text, new text, unified diff); raises ImportProblem when the result would not load."""
    if shipped.is_package_data(rules_dir):
        raise ConfigError(f"{rules_dir} holds the rules shipped in the package, which an upgrade "
                          "replaces: set [gateway] rules_dir in the config (gateway init writes one)")
    target = rules_dir / DEPARTMENTS_FILE
    old = target.read_text(encoding="utf-8")
    new = merge(old, read_sheet(sheet))
    with tempfile.TemporaryDirectory() as folder:
        trial = Path(folder)
        for path in rules_dir.glob("*.toml"):
            shutil.copy(path, trial / path.name)
        (trial / DEPARTMENTS_FILE).write_text(new, encoding="utf-8")
        try:
            load_rules(trial)
        except RuleError as exc:
            raise ImportProblem("the imported directory would not validate:\n" + str(exc)) from None
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True),
                                        f"a/{DEPARTMENTS_FILE}", f"b/{DEPARTMENTS_FILE}"))
    return old, new, diff


def write(rules_dir: Path, new: str) -> None:
    target = rules_dir / DEPARTMENTS_FILE
    temporary = target.with_name(f".{target.name}.new")
    temporary.write_text(new, encoding="utf-8")
    temporary.replace(target)  # a running daemon reloads it whole, never half-written

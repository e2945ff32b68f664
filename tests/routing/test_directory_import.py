"""Directory import: a sheet merged into departments.toml, comments kept, diff first, validated."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pytest
from openpyxl import Workbook
from paths import ROOT

from gateway import shipped
from gateway.errors import ConfigError, ImportProblem
from gateway.routing.directory_import import merge, plan, read_sheet, write
from gateway.routing.load import load_rules

SHEET = [
    ["部门", "别名", "邮箱", "负责人"],
    ["财务部", "财务、Finance、账务", "finance@corp.example; ap@corp.example",
     "钱芳 <qian.fang@corp.example>"],
    ["法务部", "法务", "legal@corp.example", "林律 <lin.lv@corp.example>"],
]


@pytest.fixture
def rules(tmp_path):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    return tmp_path / "rules"


def write_csv(path: Path, grid) -> Path:
    lines = (",".join(f'"{c}"' for c in row) for row in grid)
    path.write_text("\n".join(lines), encoding="utf-8-sig")
    return path


def write_xlsx(path: Path, grid) -> Path:
    book = Workbook()
    for row in grid:
        book.active.append(row)
    book.save(path)
    return path


@pytest.mark.parametrize("writer", [write_csv, write_xlsx])
def test_sheets_read_as_department_tables(tmp_path, writer):
    path = writer(tmp_path / f"d.{'csv' if writer is write_csv else 'xlsx'}", SHEET)
    assert read_sheet(path) == [
        {"name": "财务部", "aliases": ["财务", "Finance", "账务"],
         "mailboxes": ["finance@corp.example", "ap@corp.example"],
         "head": "钱芳 <qian.fang@corp.example>"},
        {"name": "法务部", "aliases": ["法务"], "mailboxes": ["legal@corp.example"],
         "head": "林律 <lin.lv@corp.example>"},
    ]


def test_merge_updates_appends_and_keeps_comments_and_other_departments(rules):
    old = (rules / "departments.toml").read_text(encoding="utf-8")
    new = merge(old, read_sheet(write_csv(rules.parent / "d.csv", SHEET)))
    assert new.startswith(old.split("[[department]]")[0].rstrip())  # the header comment block
    assert "# 客服中心: routing.toml [default] sends here" in new
    data = tomllib.loads(new)["department"]
    names = [d["name"] for d in data]
    assert names[-1] == "法务部"
    assert names[:-1] == [d["name"] for d in tomllib.loads(old)["department"]]
    finance = next(d for d in data if d["name"] == "财务部")
    assert finance["mailboxes"] == ["finance@corp.example", "ap@corp.example"]


def test_merging_nothing_changes_nothing(rules):
    old = (rules / "departments.toml").read_text(encoding="utf-8")
    assert merge(old, []) == old


def test_plan_shows_a_diff_and_write_makes_it_loadable(rules):
    _, new, diff = plan(rules, write_csv(rules.parent / "d.csv", SHEET))
    assert "+name = \"法务部\"" in diff and "-mailboxes = [\"finance@corp.example\"]" in diff
    assert load_rules(rules).directory.find("法务") is None  # nothing written yet
    write(rules, new)
    assert load_rules(rules).directory.find("法务").name == "法务部"


def test_an_import_that_would_not_validate_is_refused(rules):
    grid = [SHEET[0], ["法务部", "财务", "legal@corp.example", ""]]  # 财务 is 财务部's alias
    with pytest.raises(ImportProblem, match="already used"):
        plan(rules, write_csv(rules.parent / "d.csv", grid))


def test_the_rules_shipped_in_an_installed_package_are_never_written(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "gateway"
    shutil.copytree(ROOT / "rules", package / "_defaults" / "rules")
    monkeypatch.setattr(shipped, "files", lambda name: package)
    assert shipped.rules_dir() == package / "_defaults" / "rules"
    with pytest.raises(ConfigError, match="set \\[gateway\\] rules_dir in the config"):
        plan(shipped.rules_dir(), write_csv(tmp_path / "d.csv", SHEET))


def test_a_sheet_without_a_name_column_is_refused(tmp_path):
    with pytest.raises(ImportProblem, match="name column"):
        read_sheet(write_csv(tmp_path / "d.csv", [["别名", "邮箱"], ["x", "y@z.example"]]))

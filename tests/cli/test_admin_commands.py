"""The admin commands as admins call them: real processes over a register filled by `ingest`."""

from __future__ import annotations

import shutil
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from clirun import gateway_cmd, write_config
from mailmaker import gbk_mail
from openpyxl import load_workbook
from paths import ROOT

SHANGHAI = ZoneInfo("Asia/Shanghai")  # the gateway's default zone decides the period


@pytest.fixture
def config(tmp_path, smtp_capture):
    shutil.copytree(ROOT / "rules", tmp_path / "rules")
    path = write_config(tmp_path, smtp_capture.port)
    path.write_text(path.read_text().replace(f'rules_dir = "{ROOT / "rules"}"',
                                             'rules_dir = "rules"'))
    done = gateway_cmd("ingest", config=path, stdin=gbk_mail())
    assert done.returncode == 0, done.stderr.decode()
    return path


def test_export_report_and_archive_export_from_the_command_line(config, tmp_path):
    register = tmp_path / "register.xlsx"
    done = gateway_cmd("export", "--from", "2000-01-01", "--to", "2099-12-31", "--format", "xlsx",
                       "--out", str(register), "--urgency", "urgent", config=config)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().startswith("1 record(s) written")
    rows = list(load_workbook(register).active.iter_rows(values_only=True))
    assert rows[1][3] == "生产部" and rows[1][7] == "紧急"

    report = tmp_path / "report.html"
    now = datetime.now(SHANGHAI)
    period = f"{now.year}Q{(now.month - 1) // 3 + 1}"
    done = gateway_cmd("report", "--period", period, "--out", str(report), config=config)
    assert done.returncode == 0, done.stderr.decode()
    assert "1 opened" in done.stdout.decode() and "生产部" in report.read_text(encoding="utf-8")

    handover = tmp_path / "handover"
    record_id = rows[1][0]
    done = gateway_cmd("archive", "export", record_id, "--out", str(handover), config=config)
    assert done.returncode == 0, done.stderr.decode()
    assert sorted(p.name for p in handover.iterdir()) == [
        "001-in-original.eml", "002-out-ack.eml", "003-out-notify.eml", "record.json",
        "summary.txt"]

    done = gateway_cmd("archive", "purge", "--dry-run", config=config)
    assert done.returncode == 0 and "0 record(s) due for purging" in done.stdout.decode()


def test_bad_period_and_unknown_archive_are_one_line_errors(config, tmp_path):
    done = gateway_cmd("report", "--period", "2026Q9", "--out", str(tmp_path / "r"), config=config)
    assert done.returncode == 78
    assert done.stderr.decode().strip().splitlines() == [
        "gateway: cannot read '2026Q9' as a period; write 2026Q4, 2026-11 or 2026-W47"]
    done = gateway_cmd("archive", "export", "ND-1999-001", "--out", str(tmp_path), config=config)
    assert done.returncode != 0 and done.stderr.decode().count("\n") == 1


def test_directory_import_shows_the_diff_and_writes_only_when_told(config, tmp_path):
    sheet = tmp_path / "departments.csv"
    sheet.write_text("部门,别名,邮箱\n法务部,法务,legal@corp.example\n", encoding="utf-8-sig")
    target = tmp_path / "rules" / "departments.toml"
    before = target.read_text(encoding="utf-8")
    done = gateway_cmd("directory", "import", str(sheet), config=config)
    assert done.returncode == 1 and '+name = "法务部"' in done.stdout.decode()
    assert target.read_text(encoding="utf-8") == before
    done = gateway_cmd("directory", "import", str(sheet), "--yes", config=config)
    assert done.returncode == 0, done.stderr.decode()
    assert '[[department]]\nname = "法务部"' in target.read_text(encoding="utf-8")
    assert gateway_cmd("rules", "check", config=config).returncode == 0

"""Optional extras: without 'charts' the report has no charts, without 'demo' no demo; one line each."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from recordmaker import AS_OF, TZ, WEEK, add_record, offline_gateway

from gateway.cli.main import main
from gateway.errors import NotInstalled
from gateway.reports import evaluation_file
from gateway.usecases import reporting

CHARTS_LINE = "report charts need the 'charts' extra: pip install 'mail-gateway[charts]'"
DEMO_LINE = ("gateway: the demo's local SMTP server needs the 'demo' extra: "
             "pip install 'mail-gateway[demo]'")


@pytest.fixture
def evaluation(tmp_path):
    gateway = offline_gateway(tmp_path)
    monday = datetime(2026, 11, 23, 10, tzinfo=TZ)
    with gateway.sessions.begin() as session:
        add_record(session, created=monday, first_response_at=monday + timedelta(hours=2))
    with gateway.sessions() as session:
        yield reporting.evaluation(session, WEEK, gateway.calendar, AS_OF), gateway
    gateway.close()


@pytest.fixture
def without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_charts_without_the_extra_is_a_typed_error_naming_it(evaluation, without_matplotlib):
    with pytest.raises(NotInstalled) as caught:
        evaluation_file.charts(evaluation[0])
    assert str(caught.value) == CHARTS_LINE
    assert caught.value.exit_code == 69


def test_the_report_is_written_without_charts_and_says_so(evaluation, without_matplotlib,
                                                          tmp_path, caplog):
    figures, gateway = evaluation
    html = tmp_path / "report.html"
    with caplog.at_level(logging.WARNING):
        evaluation_file.write(figures, "html", html, gateway.settings.gateway.templates_dir, TZ)
    text = html.read_text(encoding="utf-8")
    assert "效果评估 2026-W48" in text and "生产部" in text  # the figures are all there
    assert "<img" not in text and "未附图表" in text
    assert [r.getMessage() for r in caplog.records] == [
        f"report written without charts: {CHARTS_LINE}"]
    book = tmp_path / "report.xlsx"  # the workbook never had charts
    evaluation_file.write(figures, "xlsx", book, gateway.settings.gateway.templates_dir, TZ)
    assert load_workbook(book).worksheets[0]["A2"].value == "生产部"


def test_the_demo_without_its_extra_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "aiosmtpd.controller", None)
    assert main(["demo", "--dir", str(tmp_path / "demo")]) == 69
    assert capsys.readouterr().err.strip().splitlines() == [DEMO_LINE]
    assert not (tmp_path / "demo").exists()

"""The register export: seed 003's columns, real dates in XLSX, a BOM in CSV, filters."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from recordmaker import MONDAY, add_record, offline_gateway

from gateway.reports.register_export import HEADERS, ExportFilter
from gateway.usecases.reporting import export_register

SEED_003 = ("信息编号", "发起部门", "发起人", "接收部门/单位", "接收人", "信息主题", "内容摘要",
            "紧急程度", "传递方式", "发起时间", "预计反馈时间", "实际反馈时间", "处理状态", "备注",
            "归档编号")


@pytest.fixture
def gateway(tmp_path):
    gateway = offline_gateway(tmp_path)
    with gateway.sessions.begin() as session:
        add_record(session, first_response_at=MONDAY + timedelta(hours=3), rating=4,
                   project="三号线改造", remarks="客户要求书面答复")
        add_record(session, created=MONDAY + timedelta(days=1), department="质量部",
                   urgency="normal", status="closed", archive_id="ND-2026-001")
        add_record(session, created=MONDAY + timedelta(days=10), department="质量部")
    yield gateway
    gateway.close()


def run_export(gateway, tmp_path, fmt, **filters):
    out = tmp_path / f"register.{fmt}"
    where = ExportFilter(date(2026, 11, 23), date(2026, 11, 30), **filters)
    with gateway.sessions() as session:
        count = export_register(session, where, gateway.settings.tz, fmt, out)
    return count, out


def test_headers_follow_seed_003_then_satisfaction_and_project():
    assert HEADERS == (*SEED_003, "满意度", "关联项目")


def test_xlsx_round_trips_headers_order_types_and_chinese(gateway, tmp_path):
    count, out = run_export(gateway, tmp_path, "xlsx")
    assert count == 2  # the third record is outside the dates
    sheet = load_workbook(out).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == HEADERS
    first = dict(zip(HEADERS, rows[1]))
    assert first["信息编号"] == "NX-2026-001"
    assert first["发起部门"] == "大客户有限公司"
    assert first["发起人"] == "王工 <wang@customer.example>"
    assert first["信息主题"] == "【紧急】生产部-设备故障通知"
    assert first["紧急程度"] == "紧急" and first["传递方式"] == "邮件"
    assert first["处理状态"] == "待处理"
    # Real dates, in Shanghai wall time: received 10:00, sent 09:55, answered 13:00.
    assert first["发起时间"] == datetime(2026, 11, 23, 9, 55)
    assert first["实际反馈时间"] == datetime(2026, 11, 23, 13, 0)
    assert first["预计反馈时间"] == datetime(2026, 11, 24, 10, 0)
    assert first["满意度"] == 4 and first["关联项目"] == "三号线改造"
    assert first["备注"] == "客户要求书面答复"
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["G"].width == 60
    second = dict(zip(HEADERS, rows[2]))
    assert second["归档编号"] == "ND-2026-001" and second["处理状态"] == "已关闭"


def test_csv_is_utf8_with_bom_and_readable_back(gateway, tmp_path):
    _, out = run_export(gateway, tmp_path, "csv")
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines()))
    assert tuple(rows[0]) == HEADERS
    assert rows[1][HEADERS.index("发起时间")] == "2026-11-23 09:55"
    assert rows[1][HEADERS.index("接收人")] == "李强 <li.qiang@corp.example>"


@pytest.mark.parametrize(("filters", "ids"), [
    ({"department": "质量部"}, ["NX-2026-002"]),
    ({"status": "open"}, ["NX-2026-001"]),
    ({"urgency": "normal"}, ["NX-2026-002"]),
    ({"department": "财务部"}, []),
])
def test_filters_narrow_the_register(gateway, tmp_path, filters, ids):
    _, out = run_export(gateway, tmp_path, "xlsx", **filters)
    rows = list(load_workbook(out).active.iter_rows(values_only=True))[1:]
    assert [r[0] for r in rows] == ids


@pytest.mark.parametrize("include", [False, True])
def test_classified_rows_keep_their_facts_and_leave_their_content_out_unless_included(
        tmp_path, include):
    gateway = offline_gateway(tmp_path)
    with gateway.sessions.begin() as session:
        add_record(session, archive_class="classified", remarks="配方比例见附件",
                   channel="email+phone+meeting")
    out = tmp_path / "classified.csv"
    with gateway.sessions() as session:
        export_register(session, ExportFilter(date(2026, 11, 23), date(2026, 11, 23)),
                        gateway.settings.tz, "csv", out, include_classified=include)
    gateway.close()
    (row,) = csv.DictReader(out.open(encoding="utf-8-sig"))
    assert row["传递方式"] == "邮件+电话+会议" and row["紧急程度"] == "紧急"
    content = (row["信息主题"], row["内容摘要"], row["备注"])
    if include:
        assert row["备注"] == "配方比例见附件" and "涉密" not in row["信息主题"]
    else:
        assert content == ("【涉密】内容略",) * 3

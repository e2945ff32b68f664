"""The register (信息交流记录表) as a table: seed 003's columns, written as XLSX or CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from gateway.closedloop.channels import channel_text
from gateway.model import RegisteredRecord, Status, Urgency

CLASSIFIED = "classified"  # 归档类别 涉密
WITHHELD = "【涉密】内容略"
# What a 涉密 record's row leaves out unless asked for (--include-classified): its content.
CONTENT_HEADERS = frozenset({"信息主题", "内容摘要", "备注"})

Cell = str | int | datetime | None


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    value: Callable[[RegisteredRecord], Cell]
    width: int  # characters, for the spreadsheet


def _person(name: str | None, addr: str | None) -> str:
    if name and addr:
        return f"{name} <{addr}>"
    return name or addr or ""


def _started(record: RegisteredRecord) -> dict[str, Any] | None:
    """What the enterprise wrote when it started the record (None for mail from outside)."""
    return getattr(record, "outbound", None)


def _receivers(record: RegisteredRecord) -> str:
    """接收人: the people a started message went to; else the owner of an incoming one."""
    started = _started(record)
    if not started:
        return _person(record.owner_name, record.owner_addr)
    return ", ".join(_person(name, addr) for r in started.get("receivers", [])
                     if r["role"] == "to" for name, addr in r["addresses"])


def _feedback_time(value: Callable[[RegisteredRecord], Cell]) -> Callable[[RegisteredRecord], Cell]:
    """预计/实际反馈时间, "-" for a started notice that asks for no answer (seed 003)."""
    def cell(record: RegisteredRecord) -> Cell:
        started = _started(record)
        if started and not started.get("reply_needed", True) and value(record) is None:
            return "-"
        return value(record)
    return cell


def _channel(record: RegisteredRecord) -> str:
    label = channel_text(record.channel)
    started = _started(record)
    return f"{label}(官方邮箱)" if started and getattr(record, "transmitted_at", None) else label


def _remarks(r: RegisteredRecord) -> str:
    # The department the sender asked for stays visible while the record sits at the default desk.
    asked = getattr(r, "requested_department", None)
    lines = [f"来信所请部门: {asked} (部门目录中没有)"] if asked else []
    return "\n".join([*lines, *([r.remarks] if r.remarks else [])])


# Seed 003's 信息交流记录表 in its order, then 满意度 and 关联项目 (seed 002).
COLUMNS: tuple[Column, ...] = (
    Column("信息编号", lambda r: r.id, 14),
    Column("发起部门", lambda r: r.from_department or r.organisation or "", 14),
    Column("发起人", lambda r: _person(r.from_name, r.from_addr), 28),
    Column("接收部门/单位", lambda r: r.department, 14),
    Column("接收人", _receivers, 28),
    Column("信息主题", lambda r: r.subject, 36),
    Column("内容摘要", lambda r: r.summary, 60),
    Column("紧急程度", lambda r: Urgency(r.urgency).label, 8),
    Column("传递方式", _channel, 12),
    Column("发起时间", lambda r: r.sent_at, 18),
    Column("预计反馈时间", _feedback_time(lambda r: r.due_at), 18),
    Column("实际反馈时间", _feedback_time(lambda r: r.first_response_at), 18),
    Column("处理状态", lambda r: Status(r.status).label, 8),
    Column("备注", lambda r: _remarks(r), 24),
    Column("归档编号", lambda r: r.archive_id or "", 14),
    Column("满意度", lambda r: r.rating, 8),
    Column("关联项目", lambda r: r.project or "", 16),
)
HEADERS = tuple(c.header for c in COLUMNS)
DATE_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True, slots=True)
class ExportFilter:
    first: date  # local dates, both included
    last: date
    department: str | None = None
    status: str | None = None
    urgency: str | None = None

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[since, until) of the local dates first..last, both included."""
        return (datetime.combine(self.first, time(), tz),
                datetime.combine(self.last + timedelta(days=1), time(), tz))


def is_classified(record: RegisteredRecord) -> bool:
    return getattr(record, "archive_class", None) == CLASSIFIED


def rows(records: Iterable[RegisteredRecord], include_classified: bool = False
         ) -> Iterator[tuple[Cell, ...]]:
    """One row per record, made as they are read, so an export streams; a 涉密 record's
    content columns withheld unless included."""
    return (tuple(WITHHELD if c.header in CONTENT_HEADERS and is_classified(r)
                  and not include_classified else c.value(r) for c in COLUMNS)
            for r in records)


def write_csv(path: Path, table: Iterable[Sequence[Cell]], tz: ZoneInfo) -> int:
    # UTF-8 with a BOM: Excel on Chinese Windows reads BOM-less CSV as GBK and garbles it.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADERS)
        count = 0
        for row in table:
            out.writerow([_text(v, tz) for v in row])
            count += 1
    return count


def _text(value: Cell, tz: ZoneInfo) -> str:
    if isinstance(value, datetime):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def excel_value(value: Any, tz: ZoneInfo) -> Any:
    """Excel has no time zones: local wall time, naive, is what a reader expects to see."""
    if isinstance(value, datetime):
        return value.astimezone(tz).replace(tzinfo=None)
    return value


def write_xlsx(path: Path, table: Iterable[Sequence[Cell]], tz: ZoneInfo,
               title: str = "信息交流记录表") -> int:
    from openpyxl import Workbook

    book = Workbook(write_only=True)  # rows go to disk as they come: memory stays flat
    sheet = book.create_sheet(title)
    count = fill_sheet(sheet, HEADERS, [c.width for c in COLUMNS], table, tz)
    book.save(path)
    return count


def fill_sheet(sheet: Any, headers: Sequence[str], widths: Sequence[int],
               table: Iterable[Sequence[Any]], tz: ZoneInfo) -> int:
    """Bold frozen header, set widths, real dates: the shape every sheet of ours has.

    Works on ordinary and write-only sheets alike; how many rows it wrote below the header.
    """
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for index, width in enumerate(widths, 1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header = []
    for text in headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    count = 0
    for row in table:
        sheet.append([_excel_cell(sheet, v, tz, WriteOnlyCell) for v in row])
        count += 1
    return count


def _excel_cell(sheet: Any, value: Any, tz: ZoneInfo, make_cell: Any) -> Any:
    value = excel_value(value, tz)
    if not isinstance(value, datetime):
        return value
    cell = make_cell(sheet, value=value)
    cell.number_format = DATE_FORMAT
    return cell


def export(records: Iterable[RegisteredRecord], tz: ZoneInfo, fmt: str, out: Path,
           include_classified: bool = False) -> int:
    """Write the records, in the order given, as `fmt` (xlsx or csv); how many were written."""
    write = write_xlsx if fmt == "xlsx" else write_csv
    return write(out, rows(records, include_classified), tz)

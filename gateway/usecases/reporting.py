"""Reports read from the register: the 效果评估, the register table and the metrics figures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from gateway.db import reporting as register
from gateway.deadlines.worktime import WorkCalendar
from gateway.reports import evaluation_file, metrics, register_export
from gateway.reports.evaluation import Evaluation, Period
from gateway.reports.register_export import ExportFilter


def evaluation(session: Session, period: Period, calendar: WorkCalendar,
               as_of: datetime, include_classified: bool = False) -> Evaluation:
    """The period's figures, from the records opened or closed in it."""
    start, end = period.bounds(calendar.tz)
    found = register.records_opened_or_closed(session, start, end)
    return evaluation_file.build(found, period, calendar, as_of, include_classified)


def export_register(session: Session, where: ExportFilter, tz: ZoneInfo, fmt: str,
                    out: Path, include_classified: bool = False) -> int:
    """Write the records opened on the filter's local dates; how many were written."""
    since, until = where.bounds(tz)
    found = register.records_opened(session, since, until, department=where.department,
                                    status=where.status, urgency=where.urgency)
    return register_export.export(found, tz, fmt, out, include_classified)


def metric_values(session: Session, now: datetime, rejected_rule_sets: int = 0
                  ) -> dict[str, object]:
    return metrics.collect(register.register_counts(session, now), rejected_rule_sets)

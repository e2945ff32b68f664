"""The working calendar the settings describe: hours, lunch, company days off and workdays."""

from __future__ import annotations

import logging
from datetime import date

from gateway.config import Settings
from gateway.deadlines.worktime import BusinessHours, WorkCalendar

log = logging.getLogger(__name__)


def make_calendar(settings: Settings) -> WorkCalendar:
    c = settings.calendar
    lunch = (c.lunch_start, c.lunch_end) if c.lunch_start and c.lunch_end else None
    return WorkCalendar(
        settings.tz,
        BusinessHours(c.business_start, c.business_end, lunch),
        days_off=c.days_off,
        workdays=c.workdays,
        on_unknown_year=_warn_unknown_year,
    )


_warned: set[tuple[int, date]] = set()


def _warn_unknown_year(year: int) -> None:
    # Once a day per year, so the warning is seen without flooding the log.
    key = (year, date.today())
    if key not in _warned:
        _warned.add(key)
        log.warning(
            "the installed chinese-calendar does not know %s yet; using statutory holidays "
            "and weekends, without make-up working days (调休); upgrade chinesecalendar",
            year,
        )

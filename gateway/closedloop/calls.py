"""A phone call logged from a reply (`电话: 11:20 已电话告知供应商, 对方确认今天到场`): when, whom, what."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from gateway.vocabulary import CALL_TAILS, CALL_VERBS

_DATE = re.compile(r"(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?\s*")
_TIME = re.compile(r"(?P<h>\d{1,2})(?::(?P<min>\d{2})|点(?:(?P<cn>\d{1,2})分?|(?P<half>半))?)"
                   r"(?![\d.])\s*")
_CLAUSE_END = re.compile(r"[,，;；。]")


@dataclass(frozen=True, slots=True)
class Call:
    """What `电话:` said. `at` is a time of day; the day is the reply's unless `on` is given."""

    at: time | None
    # (year or None, month, day): a date written before the time (11月23日 11:20, 2026-11-23 11:20)
    on: tuple[int | None, int, int] | None
    who: str  # "" when the text names nobody the reader can pick out
    what: str  # the note as written after the time

    def when(self, written: datetime, tz: tzinfo) -> datetime:
        """The call's moment: its time on the reply's local date, or the reply's own time.

        A call is never after the reply that reports it: 23:00 in a reply sent at 09:00
        was yesterday's call.
        """
        local = written.astimezone(tz)
        if self.at is None:
            return written
        day = local.date()
        if self.on is not None:
            year, month, dom = self.on
            try:
                day = date(year or local.year, month, dom)
            except ValueError:  # 2月29日 written in a common year
                day = date(year or local.year, month, 28)
        moment = datetime.combine(day, self.at, tz)
        if self.on is None and moment > local:
            moment -= timedelta(days=1)
        return moment


def read_call(value: str) -> Call:
    """Parse the value of `电话:`; ValueError says what is expected."""
    text = unicodedata.normalize("NFKC", value).strip()
    on, text = _take_date(text)
    at, text = _take_time(text)
    if on is not None and at is None:
        raise ValueError("写了日期就请写上时间, 例如 电话: 11月23日 11:20 与张经理通话, 对方确认到场")
    what = text.strip(" ,，;；")
    if not what:
        raise ValueError("请写明与谁通话、谈了什么, 例如 电话: 11:20 已电话告知供应商, 对方确认今天到场")
    return Call(at, on, _who(what), what)


def _take_date(text: str) -> tuple[tuple[int | None, int, int] | None, str]:
    match = _DATE.match(text)
    if match is None or not _TIME.match(text, match.end()):
        return None, text
    year = int(match["y"]) if match["y"] else None
    month, dom = int(match["m"]), int(match["d"])
    try:  # a leap year stands in when the reply's year decides
        date(year or 2000, month, dom)
    except ValueError:
        raise ValueError(f"日期不对: {match.group(0).strip()}") from None
    return (year, month, dom), text[match.end():]


def _take_time(text: str) -> tuple[time | None, str]:
    match = _TIME.match(text)
    if match is None:
        return None, text
    minute = int(match["min"] or match["cn"] or 0) + (30 if match["half"] else 0)
    hour = int(match["h"])
    if hour > 23 or minute > 59:
        raise ValueError(f"时间不对: {match.group(0).strip()}, 请写成 11:20")
    return time(hour, minute), text[match.end():]


def _who(what: str) -> str:
    """The person or party called: the first clause without the verbs around it."""
    clause = _CLAUSE_END.split(what, 1)[0].strip()
    folded = clause.casefold()
    verb = next((v for v in CALL_VERBS if folded.startswith(v)), None)
    if verb is None:
        return ""
    who = clause[len(verb):].strip()
    for tail in CALL_TAILS:
        if who.endswith(tail) and len(who) > len(tail):
            who = who[: -len(tail)].strip()
    return who

"""Subject lines → tags: 【urgency】department-title, reply prefixes and a quoted record id."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field

from gateway.model import SubjectTag, Urgency
from gateway.vocabulary import (
    BRACKETS,
    COLONS,
    DEPARTMENT_MAX_LENGTH,
    DEPARTMENT_SUFFIXES,
    FORWARD_PREFIXES,
    GATEWAY_MARKERS,
    REPLY_PREFIXES,
    TITLE_SEPARATORS,
    URGENCY_WORDS,
)

RECORD_ID = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,6}-\d{4}-\d{3,})(?![0-9])")

_SPACE = re.compile(r"\s+")
_COLON = f"[{COLONS}]"
# "Re:", "RE[2]:", "回复：", "Fwd :" — a prefix word, an optional counter, a colon.
_PREFIX = re.compile(
    rf"^(?P<word>[^\s{COLONS}\[\]()（）【】]{{1,4}})\s*(?:\[\d+\]|\(\d+\))?\s*{_COLON}\s*"
)
# An urgency word written without brackets: "紧急：…", "URGENT! …".
_BARE_URGENCY = re.compile(rf"^(?P<word>[^\s{COLONS}!！]{{1,9}})\s*[{COLONS}!！]\s*")
_MARKER = re.compile(rf"^(?P<word>[^\s{COLONS}]{{1,5}})\s*{_COLON}\s*")
_BRACKET_SPLIT = re.compile(r"[\s|｜/／·・,，、-]+")
_SEPARATOR = re.compile(rf"\s*[{TITLE_SEPARATORS}]\s*")


@dataclass
class _Reading:
    """What has been read off the front of a subject so far."""

    urgencies: list[Urgency] = field(default_factory=list)
    department: str | None = None
    record_id: str | None = None
    prefixes: list[str] = field(default_factory=list)
    is_reply: bool = False
    is_forward: bool = False


def parse_subject(subject: str, departments: Collection[str] = ()) -> SubjectTag:
    """Read a subject; `departments` are the directory's names and aliases, matched exactly.

    Pure and total: any string gives a tag, an untagged subject a NORMAL one with its text
    as title.
    """
    rest = _SPACE.sub(" ", subject or "").strip()
    reading = _Reading()
    while True:
        step = _strip_one(rest, reading, departments)
        if step is None:
            break
        rest = step.lstrip()
    if reading.department is None:
        reading.department, rest = _split_department(rest, departments)
    if reading.record_id is None:
        quoted = RECORD_ID.search(rest)
        reading.record_id = quoted.group(1) if quoted else None
    urgency = max(reading.urgencies, key=_SEVERITY.index, default=Urgency.NORMAL)
    return SubjectTag(
        urgency=urgency,
        urgency_tagged=bool(reading.urgencies),
        department=reading.department,
        title=rest.strip(),
        record_id=reading.record_id,
        prefixes=tuple(reading.prefixes),
        is_reply=reading.is_reply,
        is_forward=reading.is_forward,
    )


_SEVERITY = [Urgency.NORMAL, Urgency.URGENT, Urgency.CRITICAL]


def _strip_one(rest: str, reading: _Reading, departments: Collection[str]) -> str | None:
    """Remove one leading token the subject convention knows; None when there is none."""
    if not rest:
        return None
    if rest[0] in BRACKETS:
        return _strip_bracket(rest, reading, departments)
    if m := _PREFIX.match(rest):
        word = m.group("word").casefold()
        if word in REPLY_PREFIXES or word in FORWARD_PREFIXES:
            reading.prefixes.append(m.group("word"))
            reading.is_reply |= word in REPLY_PREFIXES
            reading.is_forward |= word in FORWARD_PREFIXES
            return rest[m.end():]
    if (m := RECORD_ID.match(rest)) and reading.record_id is None:
        reading.record_id = m.group(1)
        return re.sub(rf"^\s*{_COLON}?", "", rest[m.end():])
    if (m := _MARKER.match(rest)) and m.group("word") in GATEWAY_MARKERS and reading.record_id:
        return rest[m.end():]
    if (m := _BARE_URGENCY.match(rest)) and m.group("word").casefold() in URGENCY_WORDS:
        reading.urgencies.append(URGENCY_WORDS[m.group("word").casefold()])
        return rest[m.end():]
    return None


def _strip_bracket(rest: str, reading: _Reading, departments: Collection[str]) -> str | None:
    close = rest.find(BRACKETS[rest[0]], 1)
    if close < 0:
        return None
    inside = rest[1:close].strip()
    tokens = [t for t in _BRACKET_SPLIT.split(inside) if t]
    if RECORD_ID.fullmatch(inside) and reading.record_id is None:
        reading.record_id = inside
    elif tokens and all(_is_tag_word(t, departments) for t in tokens):
        for token in tokens:
            if (urgency := URGENCY_WORDS.get(token.casefold())) is not None:
                reading.urgencies.append(urgency)
            elif reading.department is None:
                reading.department = token
    elif inside in GATEWAY_MARKERS and reading.record_id:
        pass  # "[NX-2026-001][已受理]": our own marker, nothing to read
    else:
        return None  # a bracket that is part of the title, e.g. "[草案] 报价单"
    return rest[close + 1:]


def _is_tag_word(token: str, departments: Collection[str]) -> bool:
    return token.casefold() in URGENCY_WORDS or _is_department(token, departments)


def _is_department(word: str, departments: Collection[str]) -> bool:
    if word in departments:
        return True
    return (
        0 < len(word) <= DEPARTMENT_MAX_LENGTH
        and not any(c.isspace() for c in word)
        and not word.isascii()
        and word.endswith(DEPARTMENT_SUFFIXES)
    )


def _split_department(rest: str, departments: Collection[str]) -> tuple[str | None, str]:
    """`生产部-设备故障通知` → (生产部, 设备故障通知); anything else is all title."""
    m = _SEPARATOR.search(rest)
    if m is None:
        return None, rest
    head, tail = rest[: m.start()].strip(), rest[m.end():]
    if head and tail.strip() and _is_department(head, departments):
        return head, tail
    return None, rest

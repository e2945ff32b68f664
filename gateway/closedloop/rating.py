"""The originator's rating (发起人满意度, 1–5) read off a reply, with the comment kept."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.vocabulary import RATING_LOW, RATING_STARS, RATING_UNITS, RATING_WORDS

_FILLED, _EMPTY = RATING_STARS
_UNITS = "|".join(re.escape(u) for u in RATING_UNITS)
# A digit 1–5 standing alone (not part of 10, 3号, 2026), optionally with its unit.
_SCORE = re.compile(rf"(?<![\d.])(?P<score>[1-5])(?:\s*(?:{_UNITS})|(?![\w.]))")
_STARS = re.compile(rf"[{_FILLED}{_EMPTY}]{{1,5}}")
_WORDS = sorted(RATING_WORDS, key=len, reverse=True)
_EDGE_PUNCT = " \t,，.。!！;；:：~～-—、"
_FILLER_LENGTH = 4
RATING_SCAN_LINES = 3  # a rating is written at the top; a digit further down is something else


@dataclass(frozen=True, slots=True)
class Rating:
    score: int  # 1–5
    comment: str  # the rest of the reply, "" when there is none
    source: str  # the words the score was read from

    @property
    def low(self) -> bool:
        return self.score <= RATING_LOW


def parse_rating(new_text: str) -> Rating | None:
    """The rating in the first lines of a reply's new text, or None when it gives none."""
    lines = new_text.split("\n")
    seen = 0
    for index, raw in enumerate(lines):
        line = unicodedata.normalize("NFKC", raw).strip()
        if not line:
            continue
        found = _in_line(line)
        if found is not None:
            score, start, end = found
            before = line[:start].strip(_EDGE_PUNCT)
            if len(before) <= _FILLER_LENGTH:  # 评分：4, 给5分: the lead-in is no comment
                before = ""
            rest = [*lines[:index], before, line[end:].strip(_EDGE_PUNCT), *lines[index + 1:]]
            comment = "\n".join(part for part in rest if part.strip()).strip()
            return Rating(score, comment, line[start:end].strip())
        seen += 1
        if seen >= RATING_SCAN_LINES:
            return None
    return None


def _in_line(line: str) -> tuple[int, int, int] | None:
    stars = _STARS.search(line)
    if stars and _FILLED in stars.group():
        return stars.group().count(_FILLED), stars.start(), stars.end()
    score = _SCORE.search(line)
    if score:
        return int(score["score"]), score.start(), score.end()
    folded = line.casefold()
    for word in _WORDS:
        at = folded.find(word)
        if at >= 0:
            return RATING_WORDS[word], at, at + len(word)
    return None

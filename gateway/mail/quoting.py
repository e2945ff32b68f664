"""A reply's new text versus the quoted history below (or between) it, as mail clients write it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gateway.vocabulary import (
    HEADER_BLOCK_FIELDS,
    HEADER_BLOCK_FROM,
    HEADER_BLOCK_SPAN,
    QUOTE_START_LINES,
    SEPARATOR_LINE,
)

_START_LINES = tuple((name, re.compile(p, re.IGNORECASE)) for name, p in QUOTE_START_LINES)
_COLON = r"\s*[:：]"
_FROM_FIELD = re.compile(f"(?:{'|'.join(map(re.escape, HEADER_BLOCK_FROM))}){_COLON}", re.IGNORECASE)
_OTHER_FIELD = re.compile(f"(?:{'|'.join(map(re.escape, HEADER_BLOCK_FIELDS))}){_COLON}", re.IGNORECASE)
_QUOTED = re.compile(r"\s*>")
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True, slots=True)
class SplitReply:
    new_text: str  # what the writer of this mail wrote, quoted history removed
    quoted: str  # the history below (and '>' lines within), as it was
    marker: str | None  # which marker found the history; None when there was none


def split_reply(text: str) -> SplitReply:
    """Cut `text` at the first quoted-history marker; drop '>' lines from what stays."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut, marker = _find_cut(lines)
    head, tail = lines[:cut], lines[cut:]
    kept = [line for line in head if not _QUOTED.match(line)]
    inline = [line for line in head if _QUOTED.match(line)]
    if inline and marker is None:
        marker = "angle-quote"
    while kept and (not kept[-1].strip() or SEPARATOR_LINE.fullmatch(kept[-1].strip())):
        kept.pop()
    new_text = _BLANKS.sub("\n\n", "\n".join(kept)).strip("\n")
    return SplitReply(new_text.strip(), "\n".join([*inline, *tail]).strip("\n"), marker)


def _find_cut(lines: list[str]) -> tuple[int, str | None]:
    for index, raw in enumerate(lines):
        line = _normal(raw)
        if not line:
            continue
        for name, pattern in _START_LINES:
            if pattern.fullmatch(line):
                return index, name
            # Gmail wraps a long attribution over two lines.
            if name.startswith("wrote") and index + 1 < len(lines):
                joined = f"{line} {_normal(lines[index + 1])}"
                if len(line) > 20 and pattern.fullmatch(joined):
                    return index, name
        if _FROM_FIELD.match(line) and _header_block_follows(lines, index):
            return index, "header-block"
    return len(lines), None


def _header_block_follows(lines: list[str], index: int) -> bool:
    following = (_normal(line) for line in lines[index + 1:index + 1 + HEADER_BLOCK_SPAN])
    return any(_OTHER_FIELD.match(line) for line in following if line)


def _normal(line: str) -> str:
    # NBSP and full-width spaces come from HTML conversion and CJK clients.
    return unicodedata.normalize("NFKC", line).strip().lstrip("*").strip()

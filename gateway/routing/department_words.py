"""Department words as people write them: Traditional or Simplified, any width, any generic
suffix (客服部 for 客服中心, 財務處 for 财务部, 行政部门 for 行政部), reduced to one stem."""

from __future__ import annotations

import functools
import unicodedata

# Generic endings of a department's name, longest first; the stem before them is what counts.
GENERIC_SUFFIXES = ("车间", "部门", "中心", "部", "科", "处", "室", "组")


@functools.cache
def _converter():
    # OpenCC's Traditional → Simplified table (its dictionaries ship with the wheel).
    import opencc

    return opencc.OpenCC("t2s")


def simplified(text: str) -> str:
    """`text` in Simplified characters, full-width forms narrowed, case folded."""
    folded = unicodedata.normalize("NFKC", text).strip().casefold()
    if folded.isascii():
        return folded
    return _converter().convert(folded)


def stem(word: str) -> str:
    """The part of a department word that names it: 客服部, 客服中心 and 客服 are all 客服."""
    plain = "".join(simplified(word).split())
    for suffix in GENERIC_SUFFIXES:
        if plain.endswith(suffix) and len(plain) > len(suffix):
            return plain[: -len(suffix)]
    return plain

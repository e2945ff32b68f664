"""内容摘要: the first 200 characters of the text, white space flattened."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from gateway.usecases.open_record import SUMMARY_LENGTH, summarize


def _whole_text_summary(text: str) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= SUMMARY_LENGTH else flat[: SUMMARY_LENGTH - 1] + "…"


_PIECES = st.sampled_from(["设备故障", "a", "word ", " ", "\n", "\r\n\t ", " " * 300, "x" * 199])


@given(st.lists(_PIECES, max_size=60).map("".join))
def test_the_summary_is_that_of_the_whole_text(text: str) -> None:
    assert summarize(text) == _whole_text_summary(text)


def test_the_summary_reads_past_a_long_run_of_white_space() -> None:
    text = "开头" + " \n" * 2000 + "结尾" * 10
    assert summarize(text) == "开头 " + "结尾" * 10
    assert len(summarize("字" * 10_000)) == SUMMARY_LENGTH
    assert summarize("字" * 10_000).endswith("…")

"""The report's charts speak Chinese on any machine: titles, axes and legends in Chinese, drawn
in the system's Simplified Chinese font when there is one, else in the bundled Noto Sans SC,
and never as empty boxes."""

from __future__ import annotations

import base64
import logging
import re
import warnings
from datetime import datetime, time, timedelta

import matplotlib.pyplot as plt
import pylopdf_fonts_zh_cn
import pytest
from fontTools import subset, ttLib
from hypothesis import given
from hypothesis import strategies as st
from matplotlib import font_manager
from recordmaker import TZ, WEEK

from gateway.deadlines.worktime import BusinessHours, WorkCalendar
from gateway.reports import chart_fonts, evaluation_file
from gateway.reports.chart_fonts import LATIN_FALLBACK, SYSTEM_FAMILIES, families
from gateway.reports.evaluation import RecordFacts, evaluate

BUNDLED = "Noto Sans SC"
# Names as enterprises write them, including less common characters (鑫, 舆, 徽).
DEPARTMENTS = ["生产部", "质量部", "人力资源部", "客服中心", "信息化管理办公室", "鑫源舆情组",
               "安徽分公司"]
CJK = re.compile(r"[\u4e00-\u9fff]")
CALENDAR = WorkCalendar(TZ, BusinessHours(time(9), time(18)))


def _evaluation():
    monday = datetime(2026, 11, 23, 10, tzinfo=TZ)
    facts = [RecordFacts(name, "s@x.example", "故障", monday + timedelta(hours=n),
                         monday + timedelta(days=1), monday + timedelta(hours=n + 2), None,
                         None, None, 1 + n % 5)
             for n, name in enumerate(DEPARTMENTS)]
    return evaluate(facts, WEEK, TZ, datetime(2026, 11, 27, 12, tzinfo=TZ),
                    CALENDAR.working_time_between)


def _render(caplog) -> tuple[dict[str, str], list[str]]:
    """The charts as PNG, and every 'Glyph … missing' warning or empty-box log line."""
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        pngs = evaluation_file.charts(_evaluation())
    boxes = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    boxes += [r.getMessage() for r in caplog.records if "empty boxes" in r.getMessage()]
    return pngs, boxes


def _texts(figure) -> dict[str, list]:
    """Every piece of text a chart shows, by role."""
    out: dict[str, list] = {"title": [], "label": [], "legend": [], "tick": []}
    for ax in figure.axes:
        out["title"].append(ax.title)
        out["label"] += [ax.xaxis.label, ax.yaxis.label]
        legend = ax.get_legend()
        out["legend"] += legend.get_texts() if legend else []
        out["tick"] += [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_text()]
    return out


def _drawn(names: list[str]) -> dict[str, dict[str, list]]:
    with plt.rc_context({"font.family": names}):
        figures = evaluation_file.draw(_evaluation(), plt)
        texts = {name: _texts(fig) for name, fig in figures.items()}
    for fig in figures.values():
        plt.close(fig)
    return texts


def _covered(path: str) -> set[int]:
    return set(font_manager.get_font(path).get_charmap())


# --- which fonts ----------------------------------------------------------------------------

@pytest.mark.parametrize(("installed", "bundled", "expected"), [
    (set(), BUNDLED, [BUNDLED, LATIN_FALLBACK]),  # a fresh machine: the bundled font
    ({"WenQuanYi Zen Hei"}, BUNDLED, ["WenQuanYi Zen Hei", BUNDLED, LATIN_FALLBACK]),
    ({"SimHei", "Noto Sans CJK SC"}, BUNDLED, ["Noto Sans CJK SC", "SimHei", BUNDLED,
                                               LATIN_FALLBACK]),
    ({"Noto Sans CJK JP", "DejaVu Sans"}, BUNDLED, [BUNDLED, LATIN_FALLBACK]),  # Japanese forms
    ({"Microsoft YaHei"}, None, ["Microsoft YaHei", LATIN_FALLBACK]),  # no bundled package
    ({"Noto Sans SC"}, "Noto Sans SC", ["Noto Sans SC", LATIN_FALLBACK]),  # named once
    (set(), None, [LATIN_FALLBACK]),
])
def test_system_chinese_fonts_come_before_the_bundled_one(installed, bundled, expected):
    assert families(installed, bundled) == expected


@given(st.sets(st.sampled_from([*SYSTEM_FAMILIES, "DejaVu Sans", "Noto Sans CJK JP", "Arial"])),
       st.sampled_from([BUNDLED, None]))
def test_the_font_list_keeps_preference_order_and_ends_in_the_latin_font(installed, bundled):
    names = families(installed, bundled)
    assert names[-1] == LATIN_FALLBACK and len(names) == len(set(names))
    system = [n for n in SYSTEM_FAMILIES if n in installed]
    assert names[:len(system)] == system
    assert names[len(system):-1] in ([], [bundled])
    assert bundled is None or bundled in names


def test_the_bundled_font_is_registered_once_under_its_family_name():
    path = chart_fonts.bundled_path()
    first = chart_fonts.register(font_manager, path)
    count = len(font_manager.fontManager.ttflist)
    assert chart_fonts.register(font_manager, path) == first == BUNDLED
    assert len(font_manager.fontManager.ttflist) == count
    path = font_manager.findfont(font_manager.FontProperties(family=BUNDLED),
                                 fallback_to_default=False)
    assert path == str(pylopdf_fonts_zh_cn.sans_path())


# --- the charts on a machine without Chinese fonts: the bundled one ---------------------------

@pytest.fixture
def fresh_machine(monkeypatch):
    """A machine with no Chinese font of its own, as a fresh server is."""
    monkeypatch.setattr(chart_fonts, "SYSTEM_FAMILIES", ())


def test_charts_draw_every_character_in_the_bundled_font(fresh_machine, caplog):
    pngs, boxes = _render(caplog)
    assert sorted(pngs) == ["ratings", "response", "volume"]
    assert all(base64.b64decode(png).startswith(b"\x89PNG") for png in pngs.values())
    assert boxes == []
    names = chart_fonts.chart_families(font_manager)
    assert names == [BUNDLED, LATIN_FALLBACK]
    covered = _covered(str(pylopdf_fonts_zh_cn.sans_path()))
    for chart, texts in _drawn(names).items():
        for role, items in texts.items():
            for text in items:
                path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
                assert path == str(pylopdf_fonts_zh_cn.sans_path()), (chart, role, text)
                missing = {c for c in text.get_text() if c != "\n" and ord(c) not in covered}
                assert not missing, (chart, role, text.get_text())


def test_titles_axes_and_legends_are_chinese(fresh_machine):
    texts = _drawn(chart_fonts.chart_families(font_manager))
    for chart, roles in texts.items():
        for role in ("title", "label", "legend"):
            for text in roles[role]:
                words = text.get_text()
                assert CJK.search(words), (chart, role, words)
                assert not re.search(r"[A-Za-z]{2,}", words), (chart, role, words)
    assert [t.get_text() for t in texts["volume"]["legend"]] == ["新建", "关闭"]
    ticks = [t.get_text().replace("\n", "") for t in texts["volume"]["tick"]]
    assert sorted(ticks[:len(DEPARTMENTS)]) == sorted(DEPARTMENTS)
    assert [t.get_text() for t in texts["ratings"]["tick"][:5]] == [f"{n}分" for n in range(1, 6)]
    assert texts["volume"]["title"][0].get_text() == "2026-W48 各部门新建与关闭记录"


def test_without_any_chinese_font_the_empty_boxes_are_logged(monkeypatch, caplog):
    # The check the tests above rely on can fail: matplotlib's own font has no Chinese.
    monkeypatch.setattr(chart_fonts, "SYSTEM_FAMILIES", ())
    monkeypatch.setattr(chart_fonts, "BUNDLED_PACKAGE", "no_such_font_package")
    pngs, boxes = _render(caplog)
    assert len(pngs) == 3
    logged = [r.getMessage() for r in caplog.records if "empty boxes" in r.getMessage()]
    assert len(logged) == 3 and "CJK UNIFIED IDEOGRAPH" in logged[0]


def test_the_charts_leave_matplotlib_settings_as_they_were(fresh_machine, caplog):
    before = list(plt.rcParams["font.family"])
    _render(caplog)
    assert plt.rcParams["font.family"] == before


# --- the charts on a machine with a Chinese font of its own ---------------------------------

@pytest.fixture
def system_font(tmp_path, monkeypatch):
    """Source Han Sans SC installed on the system (the same design as Noto Sans SC, cut here
    to the characters of the charts), registered as matplotlib finds system fonts. The
    machine's own Chinese fonts, if any, are kept out of the choice; the bundled family is
    kept in it, ranked first, as a system may have its own Noto Sans SC."""
    assert {BUNDLED, "Source Han Sans SC"} <= set(SYSTEM_FAMILIES)
    monkeypatch.setattr(chart_fonts, "SYSTEM_FAMILIES", (BUNDLED, "Source Han Sans SC"))
    words = "".join(evaluation_file.CHART_WORDS.values()) + "".join(DEPARTMENTS)
    font = ttLib.TTFont(str(pylopdf_fonts_zh_cn.sans_path()))
    options = subset.Options()
    options.name_IDs, options.name_languages = ["*"], ["*"]
    cutter = subset.Subsetter(options)
    cutter.populate(text="".join(set(CJK.findall(words))) + "0123456789.-（）() ")
    cutter.subset(font)
    for record in font["name"].names:
        if record.nameID in (1, 4, 16):
            record.string = "Source Han Sans SC"
        elif record.nameID == 6:
            record.string = "SourceHanSansSC-Regular"
    path = tmp_path / "SourceHanSansSC-Regular.otf"
    font.save(str(path))
    manager = font_manager.fontManager
    before = list(manager.ttflist)
    manager.addfont(str(path))
    yield str(path)
    manager.ttflist[:] = before


def test_a_system_chinese_font_is_preferred_to_the_bundled_one(system_font, caplog):
    names = chart_fonts.chart_families(font_manager)
    assert names == ["Source Han Sans SC", BUNDLED, LATIN_FALLBACK]
    # Once registered, the bundled font still does not pass for the system's.
    assert chart_fonts.chart_families(font_manager) == names
    pngs, boxes = _render(caplog)
    assert len(pngs) == 3 and boxes == []
    covered = _covered(system_font)
    for chart, texts in _drawn(names).items():
        for role in ("title", "label", "legend"):
            for text in texts[role]:
                path = font_manager.findfont(text.get_fontproperties(), fallback_to_default=False)
                assert path == system_font, (chart, role, text.get_text())
                assert all(ord(c) in covered for c in CJK.findall(text.get_text()))


@pytest.mark.parametrize(("name", "lines"), [
    ("生产部", ["生产部"]),
    ("总经理办公室", ["总经理办公室"]),
    ("信息化管理办公室", ["信息化管", "理办公室"]),
    ("华东区域销售服务中心第一分部", ["华东区域销", "售服务中心", "第一分部"]),
    ("", [""]),
])
def test_long_department_names_break_into_even_lines(name, lines):
    assert evaluation_file.tick_labels([name]) == ["\n".join(lines)]

"""The 效果评估 report as a file: HTML with charts inline, or a workbook, from stored records."""

from __future__ import annotations

import base64
import io
import logging
import warnings
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

from gateway.deadlines.worktime import WorkCalendar
from gateway.errors import NotInstalled
from gateway.model import RegisteredRecord
from gateway.reports import chart_fonts
from gateway.reports.evaluation import Evaluation, Figures, Period, RecordFacts, evaluate
from gateway.reports.register_export import WITHHELD, fill_sheet, is_classified

log = logging.getLogger(__name__)

TEMPLATE = "report.html.j2"

# Column headers of the figures table, in the HTML and the workbook alike.
FIGURE_COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("部门", "name", 14),
    ("新建", "opened", 8),
    ("关闭", "closed", 8),
    ("首次响应及时率 %", "on_time_pct", 16),
    ("首次响应中位数 (工作小时)", "response_median_h", 22),
    ("首次响应 P90 (工作小时)", "response_p90_h", 22),
    ("解决中位数 (工作小时)", "resolution_median_h", 20),
    ("解决 P90 (工作小时)", "resolution_p90_h", 20),
    ("超时", "breaches", 8),
    ("满意度均值", "rating_mean", 12),
)
# Matplotlib's warning for a character none of the chart's fonts has.
GLYPH_MISSING = "missing from font"


def facts_of(records: Iterable[RegisteredRecord], include_classified: bool = False
             ) -> list[RecordFacts]:
    """What the evaluation needs of each record (those opened or closed in its period).

    A 涉密 record counts in every figure, but who wrote it is left out unless included.
    """
    return [
        RecordFacts(
            department=r.department,
            sender=WITHHELD if is_classified(r) and not include_classified else
            f"{r.from_name} <{r.from_addr}>" if r.from_name else r.from_addr,
            problem_type=r.problem_type, created_at=r.created_at, due_at=r.due_at,
            first_response_at=r.first_response_at, resolve_due_at=r.resolve_due_at,
            resolved_at=r.resolved_at, closed_at=r.closed_at, rating=r.rating,
            direction=getattr(r, "direction", "inbound"),
            transmitted_at=getattr(r, "transmitted_at", None),
        )
        for r in records
    ]


def build(records: Iterable[RegisteredRecord], period: Period, calendar: WorkCalendar,
          as_of: datetime, include_classified: bool = False) -> Evaluation:
    return evaluate(facts_of(records, include_classified), period, calendar.tz, as_of,
                    calendar.working_time_between)


def figure_row(figures: Figures) -> list[Any]:
    return [_rounded(getattr(figures, attr)) for _, attr, _ in FIGURE_COLUMNS]


def _rounded(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) else value


# --- charts ---------------------------------------------------------------------------------

# Every word a chart shows, in one place: the report is read by Chinese managers.
CHART_WORDS = {
    "volume_title": "{period} 各部门新建与关闭记录",
    "opened": "新建",
    "closed": "关闭",
    "department": "部门",
    "count": "记录数",
    "ratings_title": "{period} 满意度分布",
    "rating": "满意度评分",
    "rating_tick": "{score}分",
    "response_title": "{period} 各部门首次响应中位数",
    "working_hours": "首次响应中位数 (工作小时)",
    "no_department": "（无记录）",
    "no_data": "本期无数据",
}


def charts(evaluation: Evaluation) -> dict[str, str]:
    """PNG charts as base64, by name; the Agg backend needs no display. Chinese is drawn in
    the system's Simplified Chinese font when there is one, else in the bundled one."""
    plt, font_manager = _pyplot()
    style = {"font.family": chart_fonts.chart_families(font_manager),
             "axes.unicode_minus": False}
    with plt.rc_context(style):
        return {name: _png(name, fig, plt) for name, fig in draw(evaluation, plt).items()}


def _pyplot() -> tuple[Any, Any]:
    try:
        import matplotlib
    except ImportError:
        raise NotInstalled.extra("charts", "report charts need") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    # Families named in the list but absent from this machine are expected, not news.
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return plt, font_manager


def draw(evaluation: Evaluation, plt: Any) -> dict[str, Any]:
    """The charts as matplotlib figures, by name, in the fonts of the current rcParams."""
    words, period = CHART_WORDS, evaluation.period.label
    departments = evaluation.departments
    names = [f.name for f in departments] or [words["no_department"]]
    xs = list(range(len(names)))
    fig, ax = plt.subplots(figsize=(_department_width(names), 3.6))
    ax.bar([x - 0.2 for x in xs], [f.opened for f in departments] or [0], 0.4,
           label=words["opened"])
    ax.bar([x + 0.2 for x in xs], [f.closed for f in departments] or [0], 0.4,
           label=words["closed"])
    _axes(ax, words["volume_title"].format(period=period), names, words["department"],
          words["count"], counts=True)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    out = {"volume": fig}
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ratings = evaluation.overall.ratings
    ax.bar(list(range(len(ratings))), list(ratings.values()))
    _axes(ax, words["ratings_title"].format(period=period),
          [words["rating_tick"].format(score=s) for s in ratings], words["rating"],
          words["count"], counts=True)
    out["ratings"] = fig
    fig, ax = plt.subplots(figsize=(_department_width(names), 3.6))
    ax.bar(xs, [f.response_median_h or 0 for f in departments] or [0])
    _axes(ax, words["response_title"].format(period=period), names, words["department"],
          words["working_hours"], counts=False)
    out["response"] = fig
    return out


# A department's name is broken after this many characters (Chinese breaks anywhere), and a
# chart widens with its departments up to a page's width, past which names are slanted.
NAME_LINE = 6
SLANT_FROM = 13


def _department_width(names: list[str]) -> float:
    return min(max(7.0, 1.0 * len(names) + 2), 16.0)


def tick_labels(names: list[str]) -> list[str]:
    """Long names in lines of even length: 信息化管理办公室 → 信息化管 / 理办公室."""
    out = []
    for name in names:
        lines = max(-(-len(name) // NAME_LINE), 1)
        step = max(-(-len(name) // lines), 1)
        out.append("\n".join(name[i:i + step] for i in range(0, len(name), step)))
    return out


def _axes(ax: Any, title: str, ticks: list[str], xlabel: str, ylabel: str,
          counts: bool) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title)
    if len(ticks) >= SLANT_FROM:
        ax.set_xticks(list(range(len(ticks))), ticks, rotation=30, ha="right")
    else:
        ax.set_xticks(list(range(len(ticks))), tick_labels(ticks))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if counts:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    # Counts and hours are never negative; bars all zero would otherwise centre the axis on 0,
    # and the tallest bar gets some air above it.
    heights = [bar.get_height() for bar in ax.patches]
    ax.set_ylim(0, max(max(heights, default=0) * 1.15, 1))
    if not any(heights):
        ax.text(0.5, 0.5, CHART_WORDS["no_data"], transform=ax.transAxes, ha="center",
                va="center", color="grey")


def _png(name: str, fig: Any, plt: Any) -> str:
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=96)
    plt.close(fig)
    missing = sorted({str(w.message) for w in caught if GLYPH_MISSING in str(w.message)})
    if missing:
        # A character no font here has draws as an empty box; say which, once per chart.
        log.warning("chart %s drawn with empty boxes: %s", name, "; ".join(missing))
    for w in caught:
        if GLYPH_MISSING not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def charts_if_installed(evaluation: Evaluation) -> dict[str, str]:
    """The charts, or none (and a warning) when matplotlib is not installed: the figures
    and tables are the report, the charts only draw them."""
    try:
        return charts(evaluation)
    except NotInstalled as exc:
        log.warning("report written without charts: %s", exc)
        return {}


# --- files ----------------------------------------------------------------------------------

def render_html(evaluation: Evaluation, templates_dir: Path, tz: ZoneInfo) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir)),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    return env.get_template(TEMPLATE).render(
        evaluation=evaluation, as_of=evaluation.as_of.astimezone(tz),
        headers=[h for h, _, _ in FIGURE_COLUMNS],
        rows=[figure_row(f) for f in (*evaluation.departments, evaluation.overall)],
        charts=charts_if_installed(evaluation),
        delivery_headers=DELIVERY_HEADERS,
        delivery_rows=[delivery_row(d) for d in evaluation.delivery],
    )


def write_xlsx(evaluation: Evaluation, path: Path, tz: ZoneInfo) -> None:
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    summary.title = f"效果评估 {evaluation.period.label}"[:31]
    fill_sheet(summary, [h for h, _, _ in FIGURE_COLUMNS], [w for _, _, w in FIGURE_COLUMNS],
               [figure_row(f) for f in (*evaluation.departments, evaluation.overall)], tz)
    every = (*evaluation.departments, evaluation.overall)
    fill_sheet(book.create_sheet("满意度分布"), ["部门", "1", "2", "3", "4", "5"], [14] + [6] * 5,
               [[f.name, *f.ratings.values()] for f in every], tz)
    fill_sheet(book.create_sheet("主要来信人"), ["部门", "来信人", "记录数"], [14, 40, 8],
               [[f.name, s, n] for f in every for s, n in f.top_senders], tz)
    fill_sheet(book.create_sheet("问题类型"), ["部门", "问题类型", "记录数"], [14, 12, 8],
               [[f.name, t, n] for f in every for t, n in f.problem_types], tz)
    fill_sheet(book.create_sheet("传递时效"), DELIVERY_HEADERS, [10, 10, 10, 14, 14, 14],
               [delivery_row(d) for d in evaluation.delivery], tz)
    book.save(path)


DELIVERY_HEADERS = ["类别", "已发出", "已反馈", "中位数(工作小时)", "P90(工作小时)", "平均(工作小时)"]


def delivery_row(figures: Any) -> list[Any]:
    return [figures.name, figures.sent, figures.answered, _rounded(figures.median_h),
            _rounded(figures.p90_h), _rounded(figures.mean_h)]


def write(evaluation: Evaluation, fmt: str, path: Path, templates_dir: Path, tz: ZoneInfo) -> None:
    if fmt == "xlsx":
        write_xlsx(evaluation, path, tz)
    else:
        path.write_text(render_html(evaluation, templates_dir, tz), encoding="utf-8")

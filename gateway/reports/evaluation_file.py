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
from gateway.reports.evaluation import Evaluation, Figures, Period, RecordFacts, evaluate
from gateway.reports.register_export import fill_sheet

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
CHART_FONTS = ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "SimHei", "Microsoft YaHei",
               "DejaVu Sans"]


def facts_of(records: Iterable[RegisteredRecord]) -> list[RecordFacts]:
    """What the evaluation needs of each record (those opened or closed in its period)."""
    return [
        RecordFacts(
            department=r.department,
            sender=f"{r.from_name} <{r.from_addr}>" if r.from_name else r.from_addr,
            problem_type=r.problem_type, created_at=r.created_at, due_at=r.due_at,
            first_response_at=r.first_response_at, resolve_due_at=r.resolve_due_at,
            resolved_at=r.resolved_at, closed_at=r.closed_at, rating=r.rating,
            direction=getattr(r, "direction", "inbound"),
            transmitted_at=getattr(r, "transmitted_at", None),
        )
        for r in records
    ]


def build(records: Iterable[RegisteredRecord], period: Period, calendar: WorkCalendar,
          as_of: datetime) -> Evaluation:
    return evaluate(facts_of(records), period, calendar.tz, as_of,
                    calendar.working_time_between)


def figure_row(figures: Figures) -> list[Any]:
    return [_rounded(getattr(figures, attr)) for _, attr, _ in FIGURE_COLUMNS]


def _rounded(value: Any) -> Any:
    return round(value, 1) if isinstance(value, float) else value


# --- charts ---------------------------------------------------------------------------------

def charts(evaluation: Evaluation) -> dict[str, str]:
    """PNG charts as base64, by name; the Agg backend needs no display."""
    try:
        import matplotlib
    except ImportError:
        raise NotInstalled.extra("charts", "report charts need") from None

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    plt.rcParams["font.sans-serif"] = CHART_FONTS
    plt.rcParams["axes.unicode_minus"] = False
    names = [f.name for f in evaluation.departments] or ["-"]
    out = {}
    fig, ax = plt.subplots(figsize=(7, 3.2))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], [f.opened for f in evaluation.departments] or [0], 0.4,
           label="opened")
    ax.bar([x + 0.2 for x in xs], [f.closed for f in evaluation.departments] or [0], 0.4,
           label="closed")
    ax.set_xticks(list(xs), names)
    ax.legend()
    out["volume"] = _png(fig, plt)
    fig, ax = plt.subplots(figsize=(5, 3))
    ratings = evaluation.overall.ratings
    ax.bar(list(ratings), list(ratings.values()))
    ax.set_xticks(list(ratings))
    ax.set_xlabel("rating")
    out["ratings"] = _png(fig, plt)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(list(xs), [f.response_median_h or 0 for f in evaluation.departments] or [0])
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("median first response (working h)")
    out["response"] = _png(fig, plt)
    return out


def _png(fig: Any, plt: Any) -> str:
    buffer = io.BytesIO()
    # Without a CJK font (fonts-noto-cjk) department names draw as boxes; the tables in
    # the report carry them anyway, so that is no reason to warn on every report.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig.tight_layout()
        fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
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

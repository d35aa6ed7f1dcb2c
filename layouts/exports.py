"""What the review page's download links hand out: its tables and chart data as DataFrames with Chinese
headers, its charts as print-ready figures, the active filters in words, and file names.

Pure functions of a ``data.review.ReviewBundle`` (and the overdue list): callbacks/downloads.py turns them
into files with data/exports.py (CSV, XLSX) and data/figures_export.py (PNG, SVG).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import pandas as pd

from data.compstat import comparison_windows
from data.metrics import Change
from data.report import OverdueRow
from data.review import BOOK_PERIODS, BookRow, DrillItem, FestivalView, ReviewBundle, Trend
from layouts.review import book_row_label, drill_figure, festival_figure, row_label, trend_figure
from layouts.strings import t
from layouts.theme import LIGHT_TEMPLATE_NAME

SIGNIFICANCE_WORDS = {"significant": "显著", "notable": "值得关注", "noise": "正常波动"}
CHART_SIZE = (1000, 450)  # CSS px; PNG at scale 2 is 2000 px wide


def pct(change: Change | None) -> float | None:
    """A percent change rounded to one decimal, None for a zero base or no comparison."""
    if change is None or change.pct is None:
        return None
    return round(change.pct, 1)


def significance(change: Change | None) -> str:
    return "" if change is None else SIGNIFICANCE_WORDS[change.significance]


# --- tables -----------------------------------------------------------------------------------------

def book_frame(book: list[BookRow], period_keys: tuple[str, ...] = BOOK_PERIODS) -> pd.DataFrame:
    """The CompStat book, one row per book row, the periods side by side (本周·本期, 本周·去年同期, …)."""
    records = []
    for row in book:
        record = {"板块": t(f"section_{row.section}"), "项目": book_row_label(row, "zh").removeprefix("其中：")}
        for key in period_keys:
            c = row.cells[key]
            p = t(f"period_{key}")
            record.update({
                f"{p}·本期": c.now, f"{p}·去年同期": c.year_earlier.before, f"{p}·同比%": pct(c.year_earlier),
                f"{p}·同比显著性": significance(c.year_earlier),
                f"{p}·上期": None if c.before is None else c.before.before, f"{p}·环比%": pct(c.before),
                f"{p}·基准年同期": c.baseline.before, f"{p}·较基准年%": pct(c.baseline),
            })
        records.append(record)
    return pd.DataFrame.from_records(records)


def drill_frame(items: list[DrillItem]) -> pd.DataFrame:
    """The units one level down: incidents this period against a year earlier."""
    kinds = {"station": "派出所", "park": "园区", "enterprise": "企业"}
    return pd.DataFrame.from_records([
        {"层级": kinds.get(i.kind, i.kind), "编号": i.id, "名称": i.name, "本期": i.now, "去年同期": i.before,
         "同比%": pct(i.change), "同比显著性": significance(i.change)}
        for i in items], columns=["层级", "编号", "名称", "本期", "去年同期", "同比%", "同比显著性"])


def trend_frame(trend: Trend) -> pd.DataFrame:
    """Monthly counts of the selected row: one column per year (empty for months not yet begun)."""
    frame = pd.DataFrame({"月份": list(range(1, 13))})
    for year in sorted(trend.years):
        frame[f"{year}年"] = pd.array(trend.years[year], dtype="Int64")
    return frame


def festival_frame(view: FestivalView) -> pd.DataFrame:
    """Daily counts around the Spring Festival, this year against last, by days from the festival."""
    return pd.DataFrame({"距春节天数": view.offsets,
                         f"{view.this_year}年": pd.array(view.now, dtype="Int64"),
                         f"{view.this_year - 1}年": pd.array(view.before, dtype="Int64")})


OVERDUE_COLUMNS = ["隐患编号", "企业", "地址", "派出所", "园区", "隐患类型", "等级", "整改期限", "逾期天数"]


def overdue_frame(rows: list[OverdueRow]) -> pd.DataFrame:
    """Every overdue hazard, most overdue first."""
    return pd.DataFrame.from_records([
        {"隐患编号": r.id, "企业": r.enterprise, "地址": r.address, "派出所": r.station, "园区": r.park,
         "隐患类型": r.hazard_type, "等级": r.severity, "整改期限": r.deadline.isoformat(), "逾期天数": r.days_overdue}
        for r in rows], columns=OVERDUE_COLUMNS)


# --- filters and names ------------------------------------------------------------------------------

def unit_names(bundle: ReviewBundle) -> tuple[str, str]:
    """(the unit as the filters name it, its short form for file names): (织南派出所, 织南), (全镇, 织里)."""
    name = bundle.crumbs[-1][0] if bundle.crumbs else "town"
    if name == "town":
        return "全镇", "织里"
    return name, name.removesuffix("派出所")


def filter_lines(bundle: ReviewBundle, today: date, baseline_year: int, subject: str,
                 periods_shown: tuple[str, ...] | None = None) -> list[tuple[str, str]]:
    """The active filters in words, for the top of a CSV and the 筛选条件 sheet."""
    f = bundle.filters
    unit, _short = unit_names(bundle)
    lines = [("内容", subject), ("单位", unit)]
    kinds = periods_shown or ((f.period,) if f.period != "custom" else ("custom",))
    for kind in kinds:
        windows = comparison_windows(kind, today, baseline_year, f.custom_window())
        now, earlier = windows["now"], windows["year_earlier"]
        lines.append((f"期间·{t(f'period_{kind}')}",
                      f"{now.first.isoformat()} 至 {now.last.isoformat()}（同比：{earlier.first.isoformat()} 至 "
                      f"{earlier.last.isoformat()}）"))
    lines += [
        ("行业", f.sector or "全部"),
        ("警情类别", f.category or "全部"),
        ("仅涉企", "是" if f.enterprise_only else "否"),
        ("基准年", str(baseline_year)),
        ("筛选参数", f.to_query() or "（默认：本年、全镇）"),
        ("生成时间", datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S")),
    ]
    return lines


# --- the registry of downloads ----------------------------------------------------------------------

@dataclass(frozen=True)
class TableExport:
    subject: str  # the file-name subject
    frame: Callable[[ReviewBundle], pd.DataFrame]
    periods: tuple[str, ...] | None = None  # the periods the table covers (None: the filters' one)


@dataclass(frozen=True)
class ChartExport:
    subject: str
    figure: Callable[[ReviewBundle], object]
    size: tuple[int, int] = CHART_SIZE


def _trend_subject(bundle: ReviewBundle) -> str:
    return f"月度趋势_{row_label(bundle.row, 'zh')}"


TABLES = {
    "book": TableExport("期间对比表", lambda b: book_frame(b.book), BOOK_PERIODS),
    "drill": TableExport("下级单位警情", lambda b: drill_frame(b.drill)),
    "trend": TableExport("月度趋势", lambda b: trend_frame(b.trend)),
    "festival": TableExport("春节对齐同比", lambda b: festival_frame(b.festival)),
}


def _print(fig, height: int):
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, width=CHART_SIZE[0], height=height)
    return fig


CHARTS = {
    "trend": ChartExport("月度趋势", lambda b: _print(trend_figure(b.trend, "zh", row_label(b.row, "zh")), 450)),
    "festival": ChartExport("春节对齐同比", lambda b: _print(festival_figure(b.festival, "zh"), 400)),
    "drill": ChartExport("下级单位警情", lambda b: _print(drill_figure(b.drill, "zh"), 420)),
}


def table_subject(name: str, bundle: ReviewBundle) -> str:
    """The file-name subject of a table: 期间对比表, 月度趋势_警情合计, …"""
    return _trend_subject(bundle) if name == "trend" else TABLES[name].subject


def chart_subject(name: str, bundle: ReviewBundle) -> str:
    return _trend_subject(bundle) if name == "trend" else CHARTS[name].subject


OVERDUE_SUBJECT = "逾期未整改隐患"

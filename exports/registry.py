"""What the download links hand out, on every page: tables and chart data as DataFrames with Chinese headers,
charts as print-ready figures (light style, fixed size), the active filters in words, and file-name subjects.

**One registry.** ``TABLES`` and ``CHARTS`` map the name in the URL (``/export/table/<name>.csv|xlsx``,
``/export/chart/<name>.png|svg``) to an entry: its file-name subject, the function that makes its DataFrame or
figure, and its *source*, the page data it is drawn from:

- ``review``: the review page's ``data.screens.review.ReviewBundle`` for the filter query (book, drill, trend,
  festival);
- ``overdue``: the overdue hazards of the filters' unit;
- ``index``: the safety-index views of the review page (``data.index.index_views.IndexViews``) for the filters' unit
  and sector (index-distribution, index-funnel, index-stations, index-parks);
- ``enterprise``: one enterprise's profile, ``?enterprise=<id>`` (enterprise-index, enterprise-incidents,
  enterprise-disputes, enterprise-hazards), personal data masked by ``data.screens.enterprise``;
- ``wall``: the wall's numbers (``data.screens.cockpit.CockpitNumbers``) for the town or ``?station=<id>``
  (wall-hourly, wall-categories, wall-last30, wall-levels, wall-hazards, wall-lowest), drawn in a light print
  style.

web/downloads.py loads a source into a ``Download`` (the data, the unit's names, today) and calls the
entry; a new chart or table of an existing page is one entry here, no new route. File names are
``<unit>_<subject>_<date>.<ext>`` (exports.tables.filename). Everything here is a pure function.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.core.organisation import Organisation
from data.core.periods import last_complete_day, shift_year
from data.core.timeutil import local_stamp, now_utc, to_local
from data.core.vocab import IN_HOUSE_LEVELS, INCIDENT_CATEGORIES, SETTLED_LEVELS
from data.counts.compstat import comparison_windows
from data.counts.metrics import Change
from data.index import safety_index
from data.index.index_exports import point_limits
from data.screens.report import OverdueRow
from data.screens.review import BookRow, DrillItem, FestivalView, ReviewBundle, Trend, book_periods
from figures import theme, wall_spec
from figures.enterprise import index_figure
from figures.index_views import distribution_figure, funnel_figure
from figures.review import (
    book_row_label,
    drill_figure,
    festival_figure,
    measure_label,
    period_title,
    row_label,
    trend_figure,
    window_words,
)
from figures.strings import t
from figures.theme import LIGHT_TEMPLATE_NAME
from figures.wall_charts import CHART_BUILDERS, week_words

SIGNIFICANCE_WORDS = {"significant": "显著", "notable": "值得关注", "noise": "正常波动", "none": "无数据"}
CHART_SIZE = (1000, 450)  # CSS px; PNG at scale 2 is 2000 px wide


def pct(change: Change | None) -> float | None:
    """A percent change rounded to one decimal, None for a zero base or no comparison."""
    if change is None or change.pct is None:
        return None
    return round(change.pct, 1)


def significance(change: Change | None) -> str:
    return "" if change is None else SIGNIFICANCE_WORDS[change.significance]


# --- tables -----------------------------------------------------------------------------------------

def book_frame(book: list[BookRow]) -> pd.DataFrame:
    """The CompStat book, one row per book row, the periods side by side in the page's order (本月·本期,
    本月·去年同期, …, 本周·本期, …), each named as the page names it (上周 on a Monday)."""
    records = []
    for row in book:
        record = {"板块": t(f"section_{row.section}"), "项目": book_row_label(row, "zh").removeprefix("其中：")}
        for key, c in row.cells.items():
            p = period_title(key, c.window, "zh")
            record.update({
                f"{p}·本期": c.now, f"{p}·去年同期": c.year_earlier.before, f"{p}·同比%": pct(c.year_earlier),
                f"{p}·同比显著性": significance(c.year_earlier),
                f"{p}·上期": None if c.before is None else c.before.before, f"{p}·环比%": pct(c.before),
                f"{p}·基准年同期": c.baseline.before, f"{p}·较基准年%": pct(c.baseline),
            })
        records.append(record)
    return pd.DataFrame.from_records(records)


MEASURE_COLUMNS = ["指标", "单位", "本期", "去年同期", "变化", "变化显著性", "本期件数", "去年同期件数"]


def measures_frame(measures: list) -> pd.DataFrame:
    """The operational measures of the period against a year earlier (shares in %, medians in minutes/days)."""
    def number(value, unit):
        return None if value is None else round(100 * value, 1) if unit == "share" else value

    units = {"share": "%", "min": "分钟", "days": "天"}
    return pd.DataFrame.from_records([
        {"指标": measure_label(m.key, "zh").strip(), "单位": units[m.unit], "本期": number(m.now, m.unit),
         "去年同期": number(m.before, m.unit), "变化": number(m.diff, m.unit),
         "变化显著性": SIGNIFICANCE_WORDS[m.significance], "本期件数": m.n_now, "去年同期件数": m.n_before}
        for m in measures], columns=MEASURE_COLUMNS)


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

def unit_names(bundle: ReviewBundle, org: Organisation = DEFAULT_ORGANISATION) -> tuple[str, str]:
    """(the unit as the filters name it, its short form for file names): (某某派出所, 某某), or for the whole
    jurisdiction (全镇, the organisation's place name)."""
    name = bundle.crumbs[-1][0] if bundle.crumbs else "town"
    if name == "town":
        return org.whole, org.file_place
    return name, name.removesuffix("派出所")


def filter_lines(bundle: ReviewBundle, today: date, baseline_year: int, subject: str,
                 periods_shown=None, org: Organisation = DEFAULT_ORGANISATION) -> list[tuple[str, str]]:
    """The active filters in words, for the top of a CSV and the 筛选条件 sheet."""
    f = bundle.filters
    unit, _short = unit_names(bundle, org)
    lines = [("内容", subject), ("单位", unit)]
    kinds = periods_shown(f) if callable(periods_shown) else (periods_shown or (f.period,))
    for kind in kinds:
        windows = comparison_windows(kind, today, baseline_year, f.custom_window())
        now, earlier = windows["now"], windows["year_earlier"]
        lines.append((f"期间·{period_title(kind, now, 'zh')}",
                      f"{now.first.isoformat()} 至 {now.last.isoformat()}（同比：{earlier.first.isoformat()} 至 "
                      f"{earlier.last.isoformat()}）"))
    lines.append(as_of_line(today))
    lines += [
        ("行业", f.sector or "全部"),
        ("警情类别", f.category or "全部"),
        ("仅涉企", "是" if f.enterprise_only else "否"),
        ("基准年", str(baseline_year)),
        ("筛选参数", f.to_query() or f"（默认：本年、{org.whole}）"),
        generated_line(),
    ]
    return lines


def generated_line() -> tuple[str, str]:
    """When the file was made, in the product's time zone, named (a file travels)."""
    return ("生成时间", local_stamp(seconds=True))


def as_of_line(today: date) -> tuple[str, str]:
    """The to-date rule in words (data/core/periods.py): every period ends with the last complete day."""
    return ("统计口径", f"各期截至昨日24时（{last_complete_day(today).isoformat()}），只含完整日，同比为去年同日")


# --- the safety-index views of the review page -------------------------------------------------------

FLAG_WORDS = {"above_998": "高于99.8%控制限", "above_95": "高于95%控制限", "within": "控制限以内",
              "below_95": "低于95%控制限", "below_998": "低于99.8%控制限"}
LIMIT_COLUMNS = {"lower_998": "99.8%下限", "lower_95": "95%下限", "upper_95": "95%上限", "upper_998": "99.8%上限"}
FUNNEL_COLUMNS = ["企业编号", "企业名称", "登记从业人数", "计算用从业人数", "从业人数为估算", "警情数",
                  "暴露量（百人·年）", "期望警情数", "警情率（每百人·年）", "95%下限", "95%上限", "99.8%下限",
                  "99.8%上限", "判定", "平安指数", "等级"]
RANKING_COLUMNS = ["名次", "编号", "名称", "平安指数", "等级", "上月指数", "较上月", "上月名次", "名次变化", "企业数"]


def _float(value, digits: int) -> float | None:
    """A number rounded for a file, None for a missing or infinite one."""
    if value is None:
        return None
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def index_unit_names(views, org: Organisation = DEFAULT_ORGANISATION) -> tuple[str, str]:
    """(the scope in words, its short form for file names): a park's name twice, 某某派出所 / 某某, or 全镇 and the
    organisation's place name."""
    scope = views.scope
    if scope.park_name:
        return scope.park_name, scope.park_name
    if scope.station_name:
        return scope.station_name, scope.station_name.removesuffix("派出所")
    return org.whole, org.file_place


def _month_words(month: date) -> str:
    return t("ent_month", "zh", y=month.year, m=month.month)


def distribution_frame(views) -> pd.DataFrame:
    """Enterprises per 5-point score bin and band in the index month (the bars of the distribution chart)."""
    dist = views.distribution
    edges = dist.edges
    frame = pd.DataFrame({
        "分数区间": [f"{a:g}–{b:g}" + ("（含）" if i == len(edges) - 2 else "") for i, (a, b)
                     in enumerate(zip(edges[:-1], edges[1:], strict=True))],
        "下限": [float(a) for a in edges[:-1]], "上限": [float(b) for b in edges[1:]]})
    for band in dist.bands:
        frame[t("ent_band", "zh", band=band)] = [int(n) for n in dist.counts[band]]
    frame["合计"] = frame[[t("ent_band", "zh", band=b) for b in dist.bands]].sum(axis=1).astype(int)
    return frame


def funnel_frame(views) -> pd.DataFrame:
    """Every enterprise of the funnel plot with its own control limits (rates at its exposure), by id."""
    plot = views.funnel
    p = plot.points.reset_index(drop=True)
    limits = point_limits(plot).reset_index(drop=True)
    frame = pd.DataFrame({
        "企业编号": p["enterprise_id"].astype("int64"), "企业名称": p["name"].astype(object),
        "登记从业人数": p["workers"].astype(float).round().astype("Int64"),
        "计算用从业人数": p["workers_used"].astype(float).round(2),
        "从业人数为估算": np.where(p["imputed"].astype(bool), "是", "否"),
        "警情数": p["incidents"].astype("int64"), "暴露量（百人·年）": p["exposure"].astype(float).round(6),
        "期望警情数": p["expected"].astype(float).round(6), "警情率（每百人·年）": p["rate"].astype(float).round(6),
        **{LIMIT_COLUMNS[k]: limits[k].astype(float).round(6) for k in ("lower_95", "upper_95", "lower_998",
                                                                          "upper_998")},
        "判定": p["flag"].map(lambda f: FLAG_WORDS.get(f, f)).astype(object),
        "平安指数": p["score"].astype(float).round(2),
        "等级": p["band"].map(lambda b: b if isinstance(b, str) else None).astype(object),
    })
    return frame[FUNNEL_COLUMNS]


def ranking_frame(rows) -> pd.DataFrame:
    """A ranking (stations or parks), best first; 名次变化 is the places gained (empty: not ranked last month)."""
    return pd.DataFrame.from_records([
        {"名次": r.rank, "编号": r.id, "名称": r.name, "平安指数": _float(r.score, 2), "等级": r.band,
         "上月指数": _float(r.previous_score, 2), "较上月": _float(r.change, 2),
         "上月名次": r.previous_rank, "名次变化": r.movement, "企业数": r.enterprises}
        for r in rows], columns=RANKING_COLUMNS).astype({"上月名次": "Int64", "名次变化": "Int64"})


def index_lines(views, org: Organisation = DEFAULT_ORGANISATION) -> list[tuple[str, str]]:
    """The scope and the index month of the safety-index views, in words (every index download)."""
    scope = views.scope
    unit, _short = index_unit_names(views, org)
    lines = [("单位", unit), ("行业", scope.sector or "全部")]
    if scope.enterprise is not None:
        lines.append(("突出显示企业", f"{scope.enterprise_name or ''}（编号 {scope.enterprise}）"))
    query = (views.filters.to_query() if hasattr(views.filters, "to_query") else "") or f"（默认：{org.whole}）"
    return lines + [
        ("指数月份", f"{_month_words(views.month)}（对比上月：{_month_words(views.previous_month)}）"),
        ("说明", "平安指数视图随单位与行业筛选变化，不随期间与警情类别筛选变化"),
        ("筛选参数", query),
    ]


def distribution_notes(d: Download) -> list[tuple[str, str]]:
    dist = d.data.distribution
    return [("企业数（有指数）", str(dist.total)),
            ("平均分", "—" if dist.mean is None else f"{dist.mean:.2f}"),
            ("中位数", "—" if dist.median is None else f"{dist.median:.2f}"),
            ("单位加权指数", "—" if dist.unit_score is None else f"{dist.unit_score:.2f}"),
            ("分档", "每5分一档（100分计入最后一档），按等级分列")]


def funnel_notes(d: Download) -> list[tuple[str, str]]:
    plot = d.data.funnel
    return [("统计窗口", f"{plot.window.first.isoformat()} 至 {plot.window.last.isoformat()}（{plot.window.days} 天）"),
            ("警情", "全部类别" if not plot.category else plot.category),
            ("总体水平（中心线）", f"{plot.p0:.6f} 起/百人·年（{plot.incidents} 起，{plot.exposure:.4f} 百人·年）"),
            ("控制限", "精确泊松分位数（Spiegelhalter 2005）：95% 与 99.8% 双侧；每家企业一行，"
                       "警情率与控制限均为每百人·年，控制限按该企业自身的暴露量计算"),
            ("从业人数", "未登记的按同行业中位数估算，不足1人按1人计")]


def ranking_notes(kind: str):
    def notes(d: Download) -> list[tuple[str, str]]:
        views = d.data
        out = []
        if kind == "park":
            out.append(("园区范围", d.org.whole if views.parks_station is None
                        else views.scope.station_name or str(views.parks_station)))
        if views.rankings_ignore_sector:
            out.append(("排名说明", "派出所与园区的指数覆盖全部行业（行业筛选不影响排名）"))
        return out + [("名次变化", "较上月上升的名次（负数为下降，空为上月未排名）")]
    return notes


def distribution_chart(d: Download):
    unit, _short = index_unit_names(d.data, d.org)
    return _print(distribution_figure(d.data, "zh"), 420,
                  f"{unit} · {t('idx_dist_title', 'zh')}（{_month_words(d.data.month)}）")


def funnel_chart(d: Download):
    unit, _short = index_unit_names(d.data, d.org)
    fig = funnel_figure(d.data, "zh", webgl=False)
    return _print(fig, 600, f"{unit} · 警情率漏斗图（{d.data.funnel.window.first.isoformat()} 至 "
                            f"{d.data.funnel.window.last.isoformat()}）")


# --- the enterprise profile --------------------------------------------------------------------------

@dataclass(frozen=True)
class EnterpriseData:
    """What the enterprise downloads are drawn from: the profile and every event (the page lists the newest
    ``data.screens.enterprise.EVENT_LIMIT``), all masked by data.screens.enterprise."""

    profile: Any  # data.screens.enterprise.EnterpriseProfile
    incidents: Any  # data.screens.enterprise.EventList
    disputes: Any
    hazards: Any


def _time(moment) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def enterprise_index_frame(data: EnterpriseData) -> pd.DataFrame:
    """The stored index of every month: score, band and the four pillar scores."""
    columns = ["月份", "数据截至", "平安指数", "等级"] + [f"{t(f'ent_pillar_{p}', 'zh')}维度得分"
                                                   for p in safety_index.PILLARS]
    return pd.DataFrame.from_records([
        [p.month.strftime("%Y-%m"), p.through.isoformat() if p.partial else "", _float(p.score, 2), p.band]
        + [_float(getattr(p, pillar), 2) for pillar in safety_index.PILLARS]
        for p in data.profile.history], columns=columns)


INCIDENT_COLUMNS = ["编号", "接警时间", "类别", "细类", "紧急程度", "来源", "地点", "报警人", "电话", "处置", "状态",
                    "办结时间"]
DISPUTE_COLUMNS = ["编号", "登记时间", "类型", "当事方", "人数", "涉及金额", "化解层级", "调解力量", "状态", "化解时间"]
HAZARD_COLUMNS = ["编号", "发现时间", "类型", "等级", "描述", "整改期限", "整改时间", "状态"]


def enterprise_incidents_frame(data: EnterpriseData) -> pd.DataFrame:
    """Every incident of the enterprise, newest first; place, caller and phone masked."""
    return pd.DataFrame.from_records([
        [i.id, _time(i.received_at), i.category, i.subcategory, t(f"ent_priority_{i.priority}", "zh"), i.channel,
         i.place, i.caller_name, i.caller_phone, i.disposition, i.status, _time(i.closed_at)]
        for i in data.incidents.items], columns=INCIDENT_COLUMNS)


def enterprise_disputes_frame(data: EnterpriseData) -> pd.DataFrame:
    """Every dispute of the enterprise, newest first; the names of persons among the parties masked."""
    return pd.DataFrame.from_records([
        [d.id, _time(d.reported_at), d.dispute_type, d.parties, d.party_count,
         None if d.amount is None else float(d.amount), d.settled_level, d.mediator, d.status, _time(d.settled_at)]
        for d in data.disputes.items], columns=DISPUTE_COLUMNS)


def enterprise_hazards_frame(data: EnterpriseData) -> pd.DataFrame:
    """Every hazard of the enterprise, newest first, with its status today (已逾期 past the deadline)."""
    return pd.DataFrame.from_records([
        [h.id, _time(h.found_at), h.hazard_type, h.severity, h.description, h.deadline.isoformat(),
         _time(h.rectified_at), h.status]
        for h in data.hazards.items], columns=HAZARD_COLUMNS)


UNMASKED_NOTE = "未脱敏（经授权查看，已记入审计日志），请按涉密规定保管"


def enterprise_lines(data: EnterpriseData) -> list[tuple[str, str]]:
    ident = data.profile.identity
    return [("企业", ident.name), ("编号", str(ident.id)), ("统一社会信用代码", ident.credit_code),
            ("行业", ident.sector), ("派出所", ident.station_name), ("园区", ident.park_name or "不在园区"),
            ("截至", data.profile.today.isoformat()),
            ("个人信息", UNMASKED_NOTE if data.profile.unmasked
             else "已脱敏：姓名仅显示姓氏，电话仅显示前三后四位，地址仅到街道")]


def _events_note(kind: str):
    def note(d: Download) -> list[tuple[str, str]]:
        events = getattr(d.data, kind)
        counts = "，".join(f"{status} {n}" for status, n in events.by_status.items())
        return [("记录数", f"共 {events.total} 条（{counts}），全部列出，最新在前")]
    return note


def enterprise_chart(d: Download):
    profile = d.data.profile
    fig = index_figure(profile.history, "zh", profile.config)
    fig.data = [trace for trace in fig.data if trace.visible != "legendonly"]  # the pillars: in the table only
    fig.update_layout(showlegend=False)
    return _print(fig, 450, f"{profile.identity.name} · {t('ent_index_title', 'zh')}")


# --- the wall's charts, in a light print style -------------------------------------------------------

PRINT_TEXT = "#1f2d3d"
PRINT_MUTED = "#5d6d7e"


def wall_unit_names(name: str | None, org: Organisation = DEFAULT_ORGANISATION) -> tuple[str, str]:
    """(the wall's unit in words, for file names): (全镇, the organisation's place name) or (某某派出所, 某某)."""
    if not name:
        return org.whole, org.file_place
    return name, name.removesuffix("派出所")


def wall_print(fig, title: str, height: int):
    """A wall chart (dark template, text in light colours) redrawn for paper: light template, dark text,
    a title naming the unit and the day."""
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, paper_bgcolor="#ffffff", plot_bgcolor="#ffffff")
    for trace in fig.data:
        textfont = getattr(trace, "textfont", None)
        if textfont is not None and textfont.color == theme.TEXT:
            trace.textfont.color = PRINT_TEXT
    for annotation in fig.layout.annotations or ():
        if annotation.font.color in (None, theme.MUTED, theme.TEXT):
            annotation.font.color = PRINT_MUTED
    legend = fig.layout.showlegend is not False
    if legend:  # just above the plot, below the title
        fig.update_layout(legend={"y": 1.02, "yanchor": "bottom", "x": 0, "xanchor": "left"})
    fig.update_layout(margin={"t": 100 if legend else 64, "l": 20, "r": 30, "b": 20},
                      title={"text": title, "x": 0.01, "xanchor": "left", "y": 1 - 14 / height, "yanchor": "top",
                             "font": {"size": 18, "color": PRINT_TEXT}})
    fig.update_xaxes(tickfont={"color": PRINT_TEXT}, gridcolor="#e5e8ec", zerolinecolor="#cfd6de")
    fig.update_yaxes(tickfont={"color": PRINT_TEXT}, gridcolor="#e5e8ec", zerolinecolor="#cfd6de")
    fig.update_layout(width=CHART_SIZE[0], height=height)
    return fig


def _hours_begun(numbers) -> int:
    """The last hour of the numbers' day that has begun (23 for a past day)."""
    at = getattr(numbers, "at", None)
    if at is None or at.date() > numbers.today:
        return 23
    return at.hour


def wall_hourly_frame(numbers) -> pd.DataFrame:
    """Calls per hour today (empty for hours still to come) and the same weekday's average over 8 weeks."""
    begun = _hours_begun(numbers)
    today = list(numbers.hours_today or [])[:24] + [0] * max(0, 24 - len(numbers.hours_today or []))
    average = list(numbers.hours_weekday_avg or [])[:24] + [0.0] * max(0, 24 - len(numbers.hours_weekday_avg or []))
    return pd.DataFrame({"小时": [f"{h:02d}:00–{h:02d}:59" for h in range(24)],
                         "今日警情": pd.array([int(today[h]) if h <= begun else None for h in range(24)],
                                          dtype="Int64"),
                         "近8周同日均值": [round(float(v), 2) for v in average]})


def wall_categories_frame(numbers) -> pd.DataFrame:
    """Calls by category today and this week (every category of the vocabulary, zeros included)."""
    today, week = numbers.categories_today or {}, numbers.categories_week or {}
    order = list(INCIDENT_CATEGORIES) + sorted((set(today) | set(week)) - set(INCIDENT_CATEGORIES))
    week_column = f"{week_words(numbers, 'zh')}（{window_words(numbers.week_window, 'zh')}）"
    return pd.DataFrame({"警情类别": order, "今日": [int(today.get(c, 0)) for c in order],
                         week_column: [int(week.get(c, 0)) for c in order]})


def wall_last30_frame(numbers) -> pd.DataFrame:
    """The last 30 days and the same days a year earlier (29 February against 28 February)."""
    before = {d: int(n) for d, n in (numbers.last30_year_earlier or [])}
    running = f"否（截至{to_local(numbers.at or now_utc()).strftime('%H:%M')}）"
    rows = [(d.isoformat(), int(n), running if d == numbers.today else "是", shift_year(d, -1).isoformat(),
             before.get(shift_year(d, -1))) for d, n in (numbers.last30 or [])]
    frame = pd.DataFrame.from_records(rows, columns=["日期", "警情数", "完整日", "去年同期日期", "去年同期警情数"])
    frame["去年同期警情数"] = frame["去年同期警情数"].astype("Int64")
    return frame


def wall_levels_frame(numbers) -> pd.DataFrame:
    """Disputes settled this year by level, with the share of all settled ones."""
    by_level = numbers.disputes_by_level or {}
    levels = list(SETTLED_LEVELS) + sorted(k for k in by_level if k not in SETTLED_LEVELS)
    total = sum(int(by_level.get(lv, 0)) for lv in levels)
    return pd.DataFrame.from_records([
        {"化解层级": lv, "企业/园区内化解": "是" if lv in IN_HOUSE_LEVELS else "否", "件数": int(by_level.get(lv, 0)),
         "占比%": None if total == 0 else round(100 * int(by_level.get(lv, 0)) / total, 1)} for lv in levels],
        columns=["化解层级", "企业/园区内化解", "件数", "占比%"])


def wall_hazards_frame(numbers) -> pd.DataFrame:
    """Open hazards by days since found: still in time and overdue."""
    rows = []
    for b in numbers.open_hazards_by_age or []:
        lo, hi = int(b["from"]), b.get("to")
        label = (t("wch_age_over", "zh", n=lo - 1) if hi is None else t("wch_age_range", "zh", lo=lo, hi=int(hi)))
        rows.append({"账龄": label, "起（天）": lo, "止（天）": None if hi is None else int(hi),
                     "未逾期": int(b.get("open", 0)), "已逾期": int(b.get("overdue", 0)),
                     "合计": int(b.get("open", 0)) + int(b.get("overdue", 0))})
    return pd.DataFrame.from_records(rows, columns=["账龄", "起（天）", "止（天）", "未逾期", "已逾期", "合计"]
                                     ).astype({"止（天）": "Int64"})


def wall_lowest_frame(numbers) -> pd.DataFrame:
    """The parks and enterprises with the lowest index in the latest month, lowest first."""
    rows = [{"类别": kind, "名次": i, "编号": r.get("id"), "名称": r.get("name"), "平安指数": _float(r.get("score"), 2),
             "等级": r.get("band")}
            for kind, items in (("园区", numbers.lowest_parks or []), ("企业", numbers.lowest_enterprises or []))
            for i, r in enumerate(items, start=1)]
    return pd.DataFrame.from_records(rows, columns=["类别", "名次", "编号", "名称", "平安指数", "等级"])


def wall_lines(numbers, unit: str) -> list[tuple[str, str]]:
    at = getattr(numbers, "at", None)
    return [("单位", unit), ("日期", numbers.today.isoformat()),
            ("数据时间", at.strftime("%Y-%m-%d %H:%M") if at is not None else "—"),
            ("来源", "驾驶舱大屏（与大屏同一计算）")]


def wall_kpis_frame(numbers) -> pd.DataFrame:
    """The KPI row as the wall shows it (figures/wall_spec.py KPI_TILES, the same words), one tile a row."""
    return pd.DataFrame.from_records(
        [{"指标": tile.label, "数值": tile.value, "说明": tile.detail, "显著性": tile.mark_title or ""}
         for tile in wall_spec.tiles(numbers, "zh")], columns=["指标", "数值", "说明", "显著性"])


@dataclass(frozen=True)
class WallExport:
    panel: str  # the wall's panel (figures/wall_spec.py PANELS, download=True); the export is "wall-<panel>"
    builder: str | None  # figures.wall_charts.CHART_BUILDERS key of its printed chart (None: a table only)
    subject: str
    title: str | None  # figures.strings key of the panel title (of its printed chart)
    frame: Callable[[Any], pd.DataFrame]
    height: int
    note: str


WALL_EXPORTS = (
    WallExport("kpis", None, "核心指标", None, wall_kpis_frame, 0,
               "大屏顶部的核心指标，与大屏同一计算、同一文字；同比为本年至昨日对去年同期"),
    WallExport("hourly", "hourly", "分时警情", "panel_hourly", wall_hourly_frame, 450,
               "今日0时起每小时警情数（尚未开始的小时为空）；均值为近8周同一星期几的平均"),
    WallExport("categories", "category_mix", "警情分类", "panel_categories", wall_categories_frame, 480,
               "今日与本周（周一起）各类警情数"),
    WallExport("last30", "last30", "近30天警情", "panel_last30", wall_last30_frame, 450,
               "近30天每日警情数（今日未结束）与去年同期同日"),
    WallExport("levels", "settled_levels", "纠纷化解层级", "panel_levels", wall_levels_frame, 420,
               "本年已化解的矛盾纠纷按化解层级"),
    WallExport("hazards", "hazard_age", "隐患账龄", "panel_hazards", wall_hazards_frame, 450,
               "待整改隐患按发现至今天数；已逾期：整改期限早于今日"),
    WallExport("lowest", "lowest", "平安指数最低园区企业", "panel_lowest", wall_lowest_frame, 650,
               "最新一个月平安指数最低的园区（5个）与企业（10个）"),
)
_offered = {p.name for p in wall_spec.PANELS if p.download}
if {w.panel for w in WALL_EXPORTS} != _offered:  # one list of the wall's panels: figures/wall_spec.py
    raise RuntimeError(f"wall downloads {sorted(w.panel for w in WALL_EXPORTS)} differ from the panels offered "
                       f"for download {sorted(_offered)} (figures/wall_spec.py PANELS)")


def _wall_chart(spec: WallExport):
    def figure(d: Download):
        numbers = d.data
        fig = CHART_BUILDERS[spec.builder](numbers, "zh")
        title = f"{d.unit} · {t(spec.title, 'zh')} · {numbers.today.isoformat()}"
        return wall_print(fig, title, spec.height)
    return figure


# --- the registry of downloads ----------------------------------------------------------------------

@dataclass(frozen=True)
class Download:
    """One download's page data, loaded by web/downloads.py from the request: the source's data
    (ReviewBundle, overdue rows, IndexViews, EnterpriseData, CockpitNumbers), the unit in words and in the
    file name, today, and what the source's lines need."""

    source: str
    data: Any
    unit: str  # 全镇, a station's or park's name, an enterprise's name
    short: str  # the file name's unit: the organisation's place name, a station's short name, a park's, an enterprise's
    today: date
    baseline: int | None = None  # review: the baseline year
    unmasked: bool = False  # personal data in plain text (the viewer may see it; the view was audited)
    org: Organisation = DEFAULT_ORGANISATION  # whose file it is: its title line names the organisation


Subject = str | Callable[[Download], str]


@dataclass(frozen=True)
class TableExport:
    subject: Subject  # the file-name subject
    frame: Callable[[Download], pd.DataFrame]
    # review: the periods the table covers, or a function of the filters giving them (None: the filters' one)
    periods: tuple[str, ...] | Callable[[Any], tuple[str, ...]] | None = None
    source: str = "review"
    notes: Callable[[Download], list[tuple[str, str]]] | None = None  # lines of this table only


@dataclass(frozen=True)
class ChartExport:
    subject: Subject
    figure: Callable[[Download], object]
    size: tuple[int, int] = CHART_SIZE
    source: str = "review"


SOURCES = ("review", "overdue", "index", "enterprise", "wall")
OVERDUE_SUBJECT = "逾期未整改隐患"


def _print(fig, height: int, title: str | None = None):
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, width=CHART_SIZE[0], height=height)
    if title:
        top = max(fig.layout.margin.t or 0, 30) + 40
        fig.update_layout(margin={"t": top},
                          title={"text": title, "x": 0.01, "xanchor": "left", "y": 1 - 12 / height, "yanchor": "top",
                                 "font": {"size": 17}})
    return fig


def _trend_subject(d: Download) -> str:
    return f"月度趋势_{row_label(d.data.row, 'zh')}"


def _note(text: str):
    return lambda _d: [("说明", text)]


TABLES: dict[str, TableExport] = {
    # the review page
    "book": TableExport("期间对比表", lambda d: book_frame(d.data.book), book_periods),
    "drill": TableExport("下级单位警情", lambda d: drill_frame(d.data.drill)),
    "measures": TableExport("运行指标", lambda d: measures_frame(d.data.measures)),
    "trend": TableExport(_trend_subject, lambda d: trend_frame(d.data.trend)),
    "festival": TableExport("春节对齐同比", lambda d: festival_frame(d.data.festival)),
    "overdue": TableExport(OVERDUE_SUBJECT, lambda d: overdue_frame(d.data), source="overdue"),
    # the safety-index views of the review page
    "index-distribution": TableExport("企业平安指数分布", lambda d: distribution_frame(d.data), source="index",
                                      notes=distribution_notes),
    "index-funnel": TableExport("警情率漏斗图", lambda d: funnel_frame(d.data), source="index", notes=funnel_notes),
    "index-stations": TableExport("派出所平安指数排名", lambda d: ranking_frame(d.data.stations), source="index",
                                  notes=ranking_notes("station")),
    "index-parks": TableExport("园区平安指数排名", lambda d: ranking_frame(d.data.parks), source="index",
                               notes=ranking_notes("park")),
    # the enterprise profile
    "enterprise-index": TableExport("平安指数走势", lambda d: enterprise_index_frame(d.data), source="enterprise"),
    "enterprise-incidents": TableExport("警情记录", lambda d: enterprise_incidents_frame(d.data),
                                        source="enterprise", notes=_events_note("incidents")),
    "enterprise-disputes": TableExport("矛盾纠纷记录", lambda d: enterprise_disputes_frame(d.data),
                                       source="enterprise", notes=_events_note("disputes")),
    "enterprise-hazards": TableExport("安全隐患记录", lambda d: enterprise_hazards_frame(d.data),
                                      source="enterprise", notes=_events_note("hazards")),
}
def _of_data(frame: Callable[[Any], pd.DataFrame]) -> Callable[[Download], pd.DataFrame]:
    return lambda d: frame(d.data)


TABLES.update({f"wall-{w.panel}": TableExport(w.subject, _of_data(w.frame), source="wall", notes=_note(w.note))
               for w in WALL_EXPORTS})

CHARTS: dict[str, ChartExport] = {
    # the review page
    "trend": ChartExport(_trend_subject,
                         lambda d: _print(trend_figure(d.data.trend, "zh", row_label(d.data.row, "zh")), 450)),
    "festival": ChartExport("春节对齐同比", lambda d: _print(festival_figure(d.data.festival, "zh"), 400)),
    "drill": ChartExport("下级单位警情", lambda d: _print(drill_figure(d.data.drill, "zh"), 420)),
    # the safety-index views of the review page
    "index-distribution": ChartExport("企业平安指数分布", distribution_chart, (1000, 420), "index"),
    "index-funnel": ChartExport("警情率漏斗图", funnel_chart, (1000, 600), "index"),
    # the enterprise profile
    "enterprise-index": ChartExport("平安指数走势", enterprise_chart, (1000, 450), "enterprise"),
}
CHARTS.update({f"wall-{w.panel}": ChartExport(w.subject, _wall_chart(w), (1000, w.height), "wall")
               for w in WALL_EXPORTS if w.builder})


def subject_of(spec: TableExport | ChartExport, d: Download) -> str:
    """The file-name subject of an entry for this download: 期间对比表, 月度趋势_警情合计, 警情分类, …"""
    return spec.subject(d) if callable(spec.subject) else spec.subject


def lines_of(spec: TableExport | ChartExport, d: Download, subject: str) -> list[tuple[str, str]]:
    """The filters and facts a file carries, in words (the CSV's ``#`` lines, the XLSX's 筛选条件 sheet)."""
    if d.source == "review":
        periods = getattr(spec, "periods", None)
        return filter_lines(d.data, d.today, d.baseline, subject, periods, d.org) + _notes(spec, d)
    if d.source == "overdue":
        return [("内容", subject), ("单位", d.unit), ("截至", d.today.isoformat()),
                ("个人信息", UNMASKED_NOTE if d.unmasked else "已脱敏（地址仅到街道）")] + _notes(spec, d)
    if d.source == "index":
        body = index_lines(d.data, d.org)
    elif d.source == "enterprise":
        body = enterprise_lines(d.data)
    elif d.source == "wall":
        body = wall_lines(d.data, d.unit)
    else:
        raise ValueError(f"unknown download source {d.source!r}")
    return [("内容", subject)] + body + _notes(spec, d) + [generated_line()]


def _notes(spec, d: Download) -> list[tuple[str, str]]:
    notes = getattr(spec, "notes", None)
    return list(notes(d)) if notes else []


def title_of(d: Download, subject: str) -> str:
    """The title line of a table file: 某某公安 e企安365 · 某某派出所 · 期间对比表 (no name set: e企安365 · …)."""
    return f"{d.org.brand} · {d.unit} · {subject}"

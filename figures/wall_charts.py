"""The wall cockpit's chart figures: one pure function per chart panel, from ``CockpitNumbers`` to a figure.

Every builder takes the numbers of one frame and the UI language and returns a ``go.Figure`` in the dark
wall template. Nothing here reads the database or the request: equal input gives an equal figure (the
hourly chart also takes the clock, as ``now``, to know which hours have happened). Figures carry no
title (the panel has one), read from five metres (tick, legend and label fonts of at least
``TICK_SIZE`` px on the 1920×1080 design canvas), and set ``uirevision`` so that the wall's periodic
redraws replace the data without resetting the view.

``CHART_BUILDERS`` maps the chart names used by the wall's panel specs (figures/wall_spec.py PANELS) to the
builders.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from data.core.periods import period_name, shift_year
from data.core.timeutil import now_utc, to_local
from data.core.vocab import IN_HOUSE_LEVELS, INCIDENT_CATEGORIES, SETTLED_LEVELS
from data.screens.cockpit import HAZARD_AGE_BUCKETS, SAME_WEEKDAYS, CockpitNumbers
from figures import theme
from figures.strings import t, tv

TICK_SIZE = 18  # axis ticks, legend entries and annotations
LABEL_SIZE = 20  # values written on bars
COMPACT_SIZE = 16  # labels of a chart with many rows in a short panel
HOUR_TICK_STEP = 3
NAME_MAX_CHARS = 14  # longer park / enterprise names are cut with an ellipsis on the axis (full name on hover)

OPEN_COLOUR = theme.ACCENT
OVERDUE_COLOUR = theme.UP
TODAY_COLOUR = theme.ACCENT
WEEK_COLOUR = theme.SERIES[4]
AVERAGE_COLOUR = theme.WARN
YEAR_EARLIER_COLOUR = theme.MUTED
IN_HOUSE_COLOUR = theme.DOWN  # settled close to home: the good outcome
OUTSIDE_COLOUR = theme.MUTED
UNKNOWN_BAND_COLOUR = theme.MUTED
CURRENT_HOUR_OPACITY = 0.55  # the hour still running is drawn fainter

LEVEL_KEYS = {
    "企业内": "wch_level_enterprise",
    "园区": "wch_level_park",
    "派出所": "wch_level_station",
    "调解中心": "wch_level_mediation",
    "诉讼": "wch_level_court",
}


# ---------------------------------------------------------------- helpers

def _count(value) -> int:
    """A count as a plain int; missing, negative or non-finite values count as 0."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 0
    if not math.isfinite(number) or number < 0:
        return 0
    return int(round(number))


def _real(value) -> float | None:
    """A measurement as a plain float; non-finite or missing values become gaps (None), never NaN."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _hourly(values: Sequence | None) -> list:
    """Exactly 24 values, padded with zeros (a short or empty list means no calls in those hours)."""
    values = list(values or [])[:24]
    return values + [0] * (24 - len(values))


def _level_label(level: str, lang: str) -> str:
    key = LEVEL_KEYS.get(level)
    return t(key, lang) if key else tv(level, lang)


def _short(name: str) -> str:
    return name if len(name) <= NAME_MAX_CHARS else name[: NAME_MAX_CHARS - 1] + "…"


def _axis_font() -> dict:
    return {"size": TICK_SIZE}


def _style(fig: go.Figure, kind: str, *, legend: bool = True) -> go.Figure:
    """The wall look shared by every chart: template, big fonts, no title, a stable uirevision."""
    fig.update_layout(
        template=theme.TEMPLATE_NAME,
        uirevision=f"wall-{kind}",
        showlegend=legend,
        legend={"font": {"size": TICK_SIZE}, "orientation": "h", "x": 0, "xanchor": "left",
                "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
        margin={"l": 12, "r": 24, "t": 48 if legend else 12, "b": 12},
        bargap=0.25,
        hoverlabel={"font": {"size": TICK_SIZE}},
        dragmode=False,
    )
    fig.update_xaxes(tickfont=_axis_font(), automargin=True, fixedrange=True, title=None)
    fig.update_yaxes(tickfont=_axis_font(), automargin=True, fixedrange=True, title=None)
    for annotation in fig.layout.annotations or ():
        annotation.font.size = max(annotation.font.size or 0, TICK_SIZE)
    return fig


def _no_data(fig: go.Figure, lang: str) -> None:
    """A quiet note in the middle of a chart that has nothing to draw yet."""
    fig.add_annotation(text=t("wch_no_data", lang), xref="paper", yref="paper", x=0.5, y=0.5,
                       showarrow=False, font={"size": TICK_SIZE + 4, "color": theme.MUTED})


def week_words(numbers: CockpitNumbers, lang: str) -> str:
    """The week the category mix counts: 本周至昨日, or 上周 on a Monday (the to-date rule: data/core/periods.py)."""
    return t(f"wch_{period_name('week', numbers.week_window)}", lang)


def _clock_text(numbers: CockpitNumbers) -> str:
    """The local time the day in progress is counted to (HH:MM), as the partial bucket's label says."""
    return to_local(numbers.at or now_utc()).strftime("%H:%M")


def _current_hour(day: date, now: datetime | None) -> tuple[int, bool]:
    """The last hour of ``day`` that has begun at ``now`` (23 for a past day, -1 for a day still to come),
    and whether ``day`` is today (so that hour is still running)."""
    local_now = to_local(now or now_utc())
    if day < local_now.date():
        return 23, False
    if day > local_now.date():
        return -1, False
    return local_now.hour, True


# ---------------------------------------------------------------- the panels

def hourly_figure(numbers: CockpitNumbers, lang: str = "zh", now: datetime | None = None) -> go.Figure:
    """Today's calls by hour (bars, up to the current hour) against the same weekday's average (a line).

    ``now`` (aware; default the clock) decides which hours of ``numbers.today`` have begun; the running hour
    is drawn fainter. Should the numbers hold calls in a later hour (the database's clock ahead of this
    one), the bars run to that hour rather than hide them.
    """
    today = [_count(v) for v in _hourly(numbers.hours_today)]
    average = [_real(v) for v in _hourly(numbers.hours_weekday_avg)]
    current, is_today = _current_hour(numbers.today, now or getattr(numbers, "at", None))
    last = max([current] + [h for h, n in enumerate(today) if n > 0])
    hours = list(range(last + 1))
    running = current if is_today and last == current else None
    opacity = [CURRENT_HOUR_OPACITY if h == running else 1.0 for h in hours]

    tick_hours = list(range(0, 24, HOUR_TICK_STEP))
    fig = go.Figure()
    fig.add_trace(go.Bar(
        name=t("wch_today", lang), x=hours, y=today[: last + 1],
        marker={"color": TODAY_COLOUR, "opacity": opacity, "line": {"width": 0}},
        hovertemplate="%{y}<extra>%{fullData.name}</extra>",
    ))
    fig.add_trace(go.Scatter(
        name=t("wch_weekday_avg", lang, n=SAME_WEEKDAYS), x=list(range(24)), y=average, mode="lines",
        line={"color": AVERAGE_COLOUR, "width": 4},
        hovertemplate="%{y:.1f}<extra>%{fullData.name}</extra>",
    ))
    _style(fig, "hourly")
    fig.update_xaxes(range=[-0.5, 23.5], tickmode="array", tickvals=tick_hours,
                     ticktext=[t("wch_hour_tick", lang, h=h) for h in tick_hours], showgrid=False)
    fig.update_yaxes(rangemode="tozero", tickformat=",d", nticks=5)
    return fig


def _category_values(counts: dict | None) -> dict[str, int]:
    counts = counts or {}
    extra = sorted(k for k in counts if k not in INCIDENT_CATEGORIES)  # never drop an unexpected value
    return {c: _count(counts.get(c, 0)) for c in (*INCIDENT_CATEGORIES, *extra)}


def category_mix_figure(numbers: CockpitNumbers, lang: str = "zh") -> go.Figure:
    """Today and this week by category: two bar columns side by side on a shared category axis.

    Every category of the vocabulary is drawn, in vocabulary order from the top, zeros included; each
    column has its own scale (a week is seven times a day), and each bar is labelled with its count.
    """
    today = _category_values(numbers.categories_today)
    week = _category_values(numbers.categories_week)
    for key in week:
        today.setdefault(key, 0)
    for key in today:
        week.setdefault(key, 0)
    order = list(today)
    labels = [tv(c, lang) for c in order]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    for col, (name, values, colour) in enumerate(
            ((t("wch_today", lang), today, TODAY_COLOUR), (week_words(numbers, lang), week, WEEK_COLOUR)), start=1):
        counts = [values[c] for c in order]
        fig.add_trace(go.Bar(
            name=name, orientation="h", y=labels, x=counts, marker={"color": colour, "line": {"width": 0}},
            text=[f"{n:,}" for n in counts], textposition="outside", cliponaxis=False,
            textfont={"size": COMPACT_SIZE, "color": theme.TEXT},
            hovertemplate="%{y}: %{x}<extra>%{fullData.name}</extra>",
        ), row=1, col=col)
        top = max(counts) if max(counts) > 0 else 1
        fig.update_xaxes(range=[0, top * 1.3], row=1, col=col)
    _style(fig, "category_mix")
    # Eight rows in a short panel: every category keeps its label (dtick 1) at a compact size.
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels, autorange="reversed", dtick=1,
                     tickfont={"size": COMPACT_SIZE})
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=True)
    fig.update_layout(bargap=0.25, legend={"y": 1.14})
    return fig


def last30_figure(numbers: CockpitNumbers, lang: str = "zh") -> go.Figure:
    """The last 30 days against the same days a year earlier: two lines over the current dates.

    Today's point (the day is still running) is an open circle. The year-earlier values are placed by
    date (each current day against the same month and day a year before, 29 February against 28
    February), so a window that crosses a leap day stays aligned although the two lists then differ in
    length by one.
    """
    current = [(d, _count(n)) for d, n in (numbers.last30 or [])]
    # today is still running: its point is drawn apart (open, on a dotted line, 截至HH:MM) so that a low last
    # value is not read as a drop
    whole = [(d, n) for d, n in current if d != numbers.today]
    running = [(d, n) for d, n in current if d == numbers.today]
    before = {d: _count(n) for d, n in (numbers.last30_year_earlier or [])}
    days = [d.isoformat() for d, _n in current]
    earlier_days = [shift_year(d, -1) for d, _n in current]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        name=t("wch_year_earlier", lang), x=days, y=[before.get(d) for d in earlier_days], mode="lines",
        line={"color": YEAR_EARLIER_COLOUR, "width": 3, "dash": "dash"},
        customdata=[d.isoformat() for d in earlier_days],
        hovertemplate="%{customdata}: %{y}<extra>%{fullData.name}</extra>",
    ))
    fig.add_trace(go.Scatter(
        name=t("wch_last30", lang), x=[d.isoformat() for d, _n in whole], y=[n for _d, n in whole],
        mode="lines+markers", line={"color": TODAY_COLOUR, "width": 4},
        marker={"size": 8, "symbol": "circle", "color": TODAY_COLOUR, "line": {"color": TODAY_COLOUR, "width": 2}},
        hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>",
    ))
    if running:
        note = t("partial_through", lang, date=_clock_text(numbers))
        link = whole[-1:] + running
        fig.add_trace(go.Scatter(
            name=note, x=[d.isoformat() for d, _n in link], y=[n for _d, n in link], mode="lines+markers+text",
            line={"color": TODAY_COLOUR, "width": 3, "dash": "dot"}, showlegend=False,
            marker={"size": [0] * (len(link) - 1) + [12], "symbol": "circle-open", "color": TODAY_COLOUR,
                    "line": {"color": TODAY_COLOUR, "width": 3}},
            text=[""] * (len(link) - 1) + [note], textposition="top left",
            textfont={"size": COMPACT_SIZE, "color": theme.MUTED},
            hovertemplate="%{x}: %{y}" + f" · {note}<extra></extra>",
        ))
    _style(fig, "last30")
    fig.update_layout(legend={"traceorder": "reversed"})
    fig.update_xaxes(type="date", tickformat="%b %-d" if lang == "en" else "%-m月%-d日", nticks=6,
                     showgrid=False)
    fig.update_yaxes(rangemode="tozero", tickformat=",d", nticks=5)
    if not current:
        _no_data(fig, lang)
    return fig


def settled_levels_figure(numbers: CockpitNumbers, lang: str = "zh") -> go.Figure:
    """Disputes settled this year by level, in the fixed order 企业内 → 园区 → 派出所 → 调解中心 → 诉讼.

    Ordered horizontal bars from the top (a funnel read downwards: the lower, the further from home); the
    in-house levels (企业内, 园区) are one colour and trace, the rest another. Each bar shows its count and
    its share of all settled disputes.
    """
    by_level = numbers.disputes_by_level or {}
    extra = sorted(k for k in by_level if k not in SETTLED_LEVELS)
    levels = [*SETTLED_LEVELS, *extra]
    counts = {lv: _count(by_level.get(lv, 0)) for lv in levels}
    total = sum(counts.values())
    labels = {lv: _level_label(lv, lang) for lv in levels}

    def text(n: int) -> str:
        return f"{n:,}" if total == 0 else f"{n:,} · {100 * n / total:.0f}%"

    fig = go.Figure()
    groups = ((t("wch_in_house", lang), [lv for lv in levels if lv in IN_HOUSE_LEVELS], IN_HOUSE_COLOUR),
              (t("wch_outside", lang), [lv for lv in levels if lv not in IN_HOUSE_LEVELS], OUTSIDE_COLOUR))
    for name, group, colour in groups:
        fig.add_trace(go.Bar(
            name=name, orientation="h", y=[labels[lv] for lv in group], x=[counts[lv] for lv in group],
            marker={"color": colour, "line": {"width": 0}}, text=[text(counts[lv]) for lv in group],
            textposition="outside", cliponaxis=False, textfont={"size": LABEL_SIZE, "color": theme.TEXT},
            hovertemplate="%{y}: %{x}<extra>%{fullData.name}</extra>",
        ))
    _style(fig, "settled_levels")
    top = max(counts.values()) if total else 1
    fig.update_layout(barmode="overlay")
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=[labels[lv] for lv in levels],
                     autorange="reversed")
    fig.update_xaxes(range=[0, top * 1.35], showticklabels=False, showgrid=False)
    return fig


def _age_label(lo: int, hi: int | None, lang: str) -> str:
    if hi is None:  # the data layer's "and older" bucket has no upper limit
        return t("wch_age_over", lang, n=lo - 1)
    return t("wch_age_range", lang, lo=lo, hi=hi)


def hazard_age_figure(numbers: CockpitNumbers, lang: str = "zh") -> go.Figure:
    """Open hazards by age since they were found: stacked bars of still-in-time (blue) and overdue (red).

    With no bucket list at all, the standard buckets are drawn empty so the panel keeps its axis.
    """
    buckets = list(numbers.open_hazards_by_age or []) or [
        {"from": lo, "to": hi, "open": 0, "overdue": 0} for lo, hi in HAZARD_AGE_BUCKETS]
    labels = [_age_label(_count(b.get("from")), None if b.get("to") is None else _count(b.get("to")), lang)
              for b in buckets]
    fig = go.Figure()
    for name, field, colour in ((t("wch_hazard_open", lang), "open", OPEN_COLOUR),
                                (t("wch_hazard_overdue", lang), "overdue", OVERDUE_COLOUR)):
        values = [_count(b.get(field, 0)) for b in buckets]
        fig.add_trace(go.Bar(
            name=name, x=labels, y=values, marker={"color": colour, "line": {"width": 0}},
            text=[f"{n:,}" if n else "" for n in values], textposition="inside", insidetextanchor="middle",
            textfont={"size": LABEL_SIZE, "color": theme.TEXT},
            hovertemplate="%{x}: %{y}<extra>%{fullData.name}</extra>",
        ))
    _style(fig, "hazard_age")
    fig.update_layout(barmode="stack")
    fig.update_xaxes(type="category", categoryorder="array", categoryarray=labels, showgrid=False)
    fig.update_yaxes(rangemode="tozero", tickformat=",d", nticks=5)
    return fig


def _index_rows(rows: Iterable[dict], lang: str) -> tuple[list, list, list, list, list]:
    rows = list(rows or [])
    names = [tv(str(r.get("name") or "—"), lang) for r in rows]
    scores = [_real(r.get("score")) for r in rows]
    colours = [theme.BAND_COLOURS.get(r.get("band"), UNKNOWN_BAND_COLOUR) for r in rows]
    bands = [r.get("band") or "—" for r in rows]
    return names, scores, colours, bands, list(range(len(rows)))


def lowest_figure(numbers: CockpitNumbers, lang: str = "zh") -> go.Figure:
    """The parks (top block) and enterprises (bottom block) with the lowest safety index, lowest first.

    Horizontal bars on a fixed 0–100 scale, coloured by band (蓝 黄 橙 红), names on the axis (cut to
    ``NAME_MAX_CHARS``; the full name is in the hover), the score written at the end of each bar. Rows
    are placed by position, so two units with the same name still get a bar each.
    """
    parks = list(numbers.lowest_parks or [])
    enterprises = list(numbers.lowest_enterprises or [])
    heights = [max(len(parks), 1), max(len(enterprises), 1)]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1,
                        row_heights=[h / sum(heights) for h in heights],
                        subplot_titles=(t("wch_parks", lang), t("wch_enterprises", lang)))
    for row, (name, rows) in enumerate(((t("wch_parks", lang), parks),
                                        (t("wch_enterprises", lang), enterprises)), start=1):
        names, scores, colours, bands, positions = _index_rows(rows, lang)
        fig.add_trace(go.Bar(
            name=name, orientation="h", y=positions, x=scores, marker={"color": colours, "line": {"width": 0}},
            text=[f"{s:.1f}" if s is not None else "—" for s in scores], textposition="outside",
            cliponaxis=False, textfont={"size": LABEL_SIZE, "color": theme.TEXT},
            customdata=[[n, b] for n, b in zip(names, bands, strict=True)],  # one of each per row
            hovertemplate="%{customdata[0]} · %{customdata[1]}: %{x:.1f}<extra></extra>",
        ), row=row, col=1)
        fig.update_yaxes(tickmode="array", tickvals=positions, ticktext=[_short(n) for n in names],
                         range=[heights[row - 1] - 0.5, -0.5], showgrid=False, row=row, col=1)
    _style(fig, "lowest", legend=False)
    for annotation in fig.layout.annotations:  # the block headings, left-aligned over the bars
        annotation.update(x=0, xanchor="left", font={"color": theme.MUTED})
    fig.update_xaxes(range=[0, 112], showgrid=True, tickvals=[0, 20, 40, 60, 80, 100])
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_layout(margin={"t": 36})
    if not parks and not enterprises:
        _no_data(fig, lang)
    return fig


ChartBuilder = Callable[[CockpitNumbers, str], go.Figure]

# The chart names the wall's panel specs use (PanelSpec.chart) -> builder(numbers, lang).
CHART_BUILDERS: dict[str, ChartBuilder] = {
    "hourly": hourly_figure,
    "category_mix": category_mix_figure,
    "last30": last30_figure,
    "settled_levels": settled_levels_figure,
    "hazard_age": hazard_age_figure,
    "lowest": lowest_figure,
}

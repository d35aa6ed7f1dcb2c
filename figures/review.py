"""The leadership review's figures and words (light theme): the monthly trend, the Spring Festival view, the
units one level down and the review map, and the names of periods, windows, book rows and measures.

Shared by the page (layouts/review.py) and its files (exports/registry.py, exports/report.py). Pure functions.
"""

from __future__ import annotations

import plotly.graph_objects as go

from data.core import periods
from data.core.periods import Window
from data.counts.metrics import format_change
from data.screens.review import BookRow, DrillItem, FestivalView, ReviewFilters, Trend
from figures import wall_map
from figures.strings import t, tv
from figures.theme import LIGHT_SERIES, LIGHT_TEMPLATE_NAME

# --- words -------------------------------------------------------------------------------------------------

def period_title(kind: str, window: Window | None, lang: str) -> str:
    """A period's name on screen and in files: 本周, or 上周 when its window is the whole previous week."""
    return t(f"period_{periods.period_name(kind, window) if window else kind}", lang)


def window_words(window: Window, lang: str) -> str:
    """A window's days, as a person reads them: 12月1日—12月6日 (2025年12月1日—2026年1月6日 across a year)."""
    def words(day, year):
        return t("date_with_year" if year else "date_short", lang, day=day)
    across = window.first.year != window.last.year
    if window.first == window.last:
        return words(window.first, across)
    return f"{words(window.first, across)}—{words(window.last, across)}"


def book_row_label(row: BookRow, lang: str) -> str:
    if row.key == "total":
        return t(f"book_total_{row.section}", lang)
    if row.key == "enterprise":
        return t("book_enterprise", lang)
    return tv(row.key, lang)


def row_label(selected: str, lang: str) -> str:
    """The name of a book row ("incidents:刑事") as the page writes it."""
    section, key = selected.split(":", 1)
    if key == "total":
        return t(f"book_total_{section}", lang)
    return t("book_enterprise", lang) if key == "enterprise" else tv(key, lang)


def measure_label(key: str, lang: str) -> str:
    """A measure's name: 隐患整改用时中位数, or 　其中重大隐患 for one severity."""
    name, _, severity = key.partition(":")
    if severity:
        return t("measure_rectify_days_severity", lang, severity=tv(severity, lang))
    return t(f"measure_{name}", lang)


def measure_value(value: float | None, unit: str, lang: str) -> str:
    """A measure's value as the page writes it: 12分钟, 4天, 71.0%; 无数据 without inputs."""
    if value is None:
        return t("no_data", lang)
    if unit == "share":
        return f"{100 * value:.1f}%"
    return t(f"unit_{unit}", lang, n=f"{value:,.0f}")


def measure_change(m, lang: str) -> str:
    """The change of a measure: +2天, −3.1个百分点 (a share's change is in percentage points)."""
    if m.diff is None:
        return t("no_data", lang)
    if m.unit == "share":
        return f"{100 * m.diff:+.1f}" + ("个百分点" if lang == "zh" else " pp")
    return t(f"unit_{m.unit}", lang, n=f"{m.diff:+,.0f}")


# --- figures -----------------------------------------------------------------------------------------------

def partial_trace(trend: Trend, lang: str):
    """The month in progress: a hollow marker on a dotted line from the month before, labelled 截至12月6日."""
    month = trend.partial_month
    values = trend.years[month.year]
    x, y = [month.month], [values[month.month - 1]]
    if month.month > 1 and values[month.month - 2] is not None:
        x, y = [month.month - 1] + x, [values[month.month - 2]] + y
    note = t("partial_through", lang, date=t("date_short", lang, day=trend.through))
    return go.Scatter(x=x, y=y, mode="lines+markers", name=f"{month.year}（{note}）" if lang == "zh"
                      else f"{month.year} ({note})", legendgroup=str(month.year), showlegend=False,
                      line={"width": 2, "dash": "dot", "color": LIGHT_SERIES[0]},
                      marker={"symbol": "circle-open", "size": 10, "line": {"width": 2}},
                      hovertemplate="%{y:,}" + f" · {note}<extra></extra>")


def trend_figure(trend: Trend, lang: str, label: str):
    """Monthly counts of a row, this year against the last two, with the programme start marked."""
    fig = go.Figure()
    months = list(range(1, 13))
    styles = {0: {"width": 3}, 1: {"width": 2, "dash": "dash"}, 2: {"width": 2, "dash": "dot"}}
    partial = trend.partial_month
    for i, year in enumerate(sorted(trend.years, reverse=True)):
        values = list(trend.years[year])
        if partial is not None and year == partial.year:
            values[partial.month - 1] = None  # drawn apart below, so nobody reads a month in progress as a fall
        fig.add_trace(go.Scatter(x=months, y=values, mode="lines+markers", name=str(year),
                                 line=styles.get(i, {}), connectgaps=False, legendgroup=str(year)))
    if partial is not None:
        fig.add_trace(partial_trace(trend, lang))
    if trend.programme_start is not None and trend.programme_start.year in trend.years:
        x = trend.programme_start.month + (trend.programme_start.day - 1) / 31
        fig.add_vline(x=x, line={"color": "#d9534f", "dash": "dash"})
        note = t("programme_start_note", lang, date=trend.programme_start.isoformat())
        if trend.change is not None:
            note += " · " + t("programme_change", lang, months=trend.after_months,
                              pct=format_change(trend.change),
                              sig=t(f"sig_{trend.change.significance}", lang))
        fig.add_annotation(x=x, y=1.08, yref="paper", text=note, showarrow=False, font={"color": "#d9534f"})
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=360, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                      xaxis={"tickmode": "array", "tickvals": months,
                             "ticktext": [t("month_label", lang, m=m) for m in months]},
                      yaxis={"title": label, "rangemode": "tozero"}, legend={"orientation": "h", "y": -0.15})
    return fig


def festival_figure(view: FestivalView, lang: str):
    """Daily counts around the Spring Festival, this year against last, aligned on the festival day."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=view.offsets, y=view.now, name=str(view.this_year), mode="lines"))
    fig.add_trace(go.Scatter(x=view.offsets, y=view.before, name=str(view.this_year - 1), mode="lines",
                             line={"dash": "dash"}))
    fig.add_vline(x=0, line={"color": "#888", "dash": "dot"})
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=300, margin={"l": 50, "r": 20, "t": 30, "b": 40},
                      xaxis={"title": t("days_from_festival", lang)}, legend={"orientation": "h", "y": -0.25})
    return fig


def drill_figure(items: list[DrillItem], lang: str):
    """Incidents by unit one level down, this period against a year earlier; click a bar to go down."""
    names = [tv(i.name, lang) for i in items]
    custom = [[i.kind, i.id] for i in items]
    fig = go.Figure([
        go.Bar(x=names, y=[i.now for i in items], name=t("col_now", lang), customdata=custom),
        go.Bar(x=names, y=[i.before for i in items], name=t("col_year_earlier", lang), customdata=custom,
               marker={"color": "#b0bec5"}),
    ])
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, barmode="group", height=320,
                      margin={"l": 50, "r": 20, "t": 20, "b": 80}, legend={"orientation": "h", "y": 1.1})
    return fig


def review_map_figure(areas: dict, parks: list[dict], filters: ReviewFilters, lang: str):
    """The station areas and parks on a light, offline map: a click on an area or a park drills down."""
    fig = go.Figure()
    features = areas.get("features", []) if areas else []
    if features:
        ids_ = [f["properties"]["id"] for f in features]
        fig.add_trace(go.Choroplethmap(
            geojson=areas, featureidkey="properties.id", locations=ids_,
            z=[1 if i == filters.station else 0 for i in ids_], zmin=0, zmax=1, showscale=False,
            colorscale=[[0, "#dbe7f3"], [1, "#f5c16c"]],
            marker={"opacity": 0.6, "line": {"color": "#5b7a99", "width": 2}},
            customdata=[["station", i] for i in ids_], hovertext=[tv(f["properties"]["name"], lang) for f in features],
            hoverinfo="text", name=t("map_station_areas", lang)))
    if parks:
        fig.add_trace(go.Scattermap(
            lat=[p["lat"] for p in parks], lon=[p["lon"] for p in parks], mode="markers",
            marker={"size": [16 if p["id"] == filters.park else 11 for p in parks],
                    "color": ["#c0392b" if p["id"] == filters.park else "#1f6fb2" for p in parks]},
            customdata=[["park", p["id"]] for p in parks], hovertext=[p["name"] for p in parks], hoverinfo="text",
            name=t("filter_park", lang)))
    style = {**wall_map.map_style(), "layers": [{"id": "background", "type": "background",
                                                  "paint": {"background-color": "#f5f7fa"}}]}
    map_layout = {"style": style}
    if features:
        centre, zoom = wall_map.fit_view(wall_map.area_bounds(areas), size=(560, 320))
        map_layout.update(center=centre, zoom=zoom)
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=320, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      map=map_layout, showlegend=False, uirevision="review-map")
    return fig

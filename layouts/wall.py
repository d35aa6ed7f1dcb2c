"""The wall cockpit: panels described as data, drawn on a fixed design canvas that scales to the screen.

The canvas is 1920×1080 design pixels (3840×1080 on a 32:9 wall of two screens); assets/wall.js scales
it to the window, so every size is set once here and in assets/wall.css. ``PANELS`` lists what the wall
shows and where (a CSS grid area); ``panel_component`` draws any panel kind. Everything here is pure:
the callbacks fill the panels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from dash import dcc, html

from data.core import periods
from data.counts.metrics import Change, format_pct, poisson_z, significance
from data.screens.cockpit import CockpitNumbers
from data.screens.incidents import CallRow
from figures.strings import t, tv
from figures.theme import GRAPH_CONFIG
from layouts import ids
from layouts.components import SIGNIFICANCE_MARKS, change_tone, count_text

FEED_ROWS = 10


@dataclass(frozen=True)
class PanelSpec:
    """One panel: its id, kind (kpis, chart, map, feed), title key, grid area and chart builder."""

    id: str
    kind: str
    title: str | None
    area: str
    chart: str | None = None


PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(ids.WALL_KPIS, "kpis", None, "kpis"),
    PanelSpec(ids.wall_panel("hourly"), "chart", "panel_hourly", "hourly", "hourly"),
    PanelSpec(ids.wall_panel("categories"), "chart", "panel_categories", "categories", "category_mix"),
    PanelSpec(ids.wall_panel("last30"), "chart", "panel_last30", "last30", "last30"),
    PanelSpec(ids.WALL_MAP, "map", "panel_map", "map"),
    PanelSpec(ids.wall_panel("levels"), "chart", "panel_levels", "levels", "settled_levels"),
    PanelSpec(ids.wall_panel("hazards"), "chart", "panel_hazards", "hazards", "hazard_age"),
    PanelSpec(ids.WALL_FEED, "feed", "panel_feed", "feed"),
    PanelSpec(ids.wall_panel("lowest"), "list", "panel_lowest", "lowest"),
)
CHART_PANELS = tuple(p for p in PANELS if p.kind == "chart")


def _graph(panel_id: str) -> dcc.Graph:
    return dcc.Graph(id=panel_id, config=GRAPH_CONFIG, className="wall-graph",
                     figure={"data": [], "layout": {"template": "eqian_dark", "paper_bgcolor": "rgba(0,0,0,0)",
                                                    "plot_bgcolor": "rgba(0,0,0,0)",
                                                    "xaxis": {"visible": False}, "yaxis": {"visible": False}}})


def panel_component(spec: PanelSpec, lang: str) -> html.Section:
    """Any panel kind, framed the same way."""
    if spec.kind == "kpis":
        return html.Section(id=spec.id, className="wall-kpis", children=kpi_placeholders(lang),
                            style={"gridArea": spec.area, "gridTemplateColumns": f"repeat({len(KPI_TILES)}, 1fr)"})
    if spec.kind == "feed":
        body = html.Div(id=spec.id, className="wall-feed-list")
    elif spec.kind == "list":
        body = html.Div(id=spec.id, className="wall-list")
    else:
        body = _graph(spec.id)
    return html.Section([html.H2(t(spec.title, lang), className="wall-panel-title"),
                         html.Div(body, className="wall-panel-body")],
                        className=f"wall-panel wall-panel-{spec.kind}", style={"gridArea": spec.area})


def kpi_placeholders(lang: str) -> list:
    """Empty tiles, so the layout stands before the first frame arrives."""
    return [kpi_tile(spec.name, t(f"kpi_{spec.name}", lang), "—", "") for spec in KPI_TILES]


def kpi_tile(name: str, label: str, value: str, detail: str, tone: str = "neutral", mark: str | None = None,
             mark_title: str | None = None) -> html.Div:
    """One wall KPI tile: label, a figure at least 48 px high at 1080p, significance mark, detail."""
    value_children = [html.Span(value, className="wall-kpi-value-text")]
    if mark:
        value_children.append(html.Span(mark, className="wall-kpi-mark", title=mark_title))
    return html.Div([html.Div(label, className="wall-kpi-label"),
                     html.Div(value_children, className=f"wall-kpi-value tone-{tone}"),
                     html.Div(detail, className="wall-kpi-detail")],
                    id=ids.wall_kpi(name), className="wall-kpi")


def _ytd_words(numbers: CockpitNumbers, lang: str) -> str:
    """What the year-to-date tiles count: 本年至昨日, or 上年全年 on 1 January (the to-date rule)."""
    return t(f"kpi_period_{periods.period_name('ytd', numbers.ytd_window)}", lang)


def _change_tile(name: str, change: Change, lang: str, period: str) -> html.Div:
    text = t("no_data", lang) if change.missing else format_pct(change.pct, change.now)
    if text == "新增" and lang == "en":
        text = t("pct_new", lang)
    return kpi_tile(name, t(f"kpi_{name}", lang), text,
                    t("kpi_detail_ytd", lang, period=period, now=count_text(change.now, lang),
                      before=count_text(change.before, lang)),
                    change_tone(change.pct, change.now), SIGNIFICANCE_MARKS[change.significance],
                    t(f"sig_{change.significance}", lang))


def _against_average(name: str, now: int, average: float, lang: str) -> html.Div:
    pct = None if average == 0 else 100.0 * (now - average) / average
    sig = significance(poisson_z(now, average))
    detail = t("kpi_detail_weekday", lang, avg=f"{average:,.1f}", pct=format_pct(pct, now))
    return kpi_tile(name, t(f"kpi_{name}", lang), f"{now:,}", detail, change_tone(pct, now),
                    SIGNIFICANCE_MARKS[sig], t(f"sig_{sig}", lang))


def _share(value: float | None, lang: str) -> str:
    """A share as a tile writes it; 无数据 when its inputs are missing (never 0.0%)."""
    return t("no_data", lang) if value is None else f"{100 * value:.1f}%"


def _share_tile(name: str, value: float | None, detail: str, lang: str) -> html.Div:
    return kpi_tile(name, t(f"kpi_{name}", lang), _share(value, lang), detail)


@dataclass(frozen=True)
class KpiSpec:
    """One KPI tile of the wall: its name (component id ``ids.wall_kpi(name)``, label ``kpi_<name>`` in
    figures/strings.py) and how it is drawn from a frame's numbers, the language and the year-to-date words."""

    name: str
    draw: Callable[[CockpitNumbers, str, str], html.Div]


# The wall's KPI row, left to right. A new tile is one entry here (and its label in figures/strings.py): the
# placeholders, the grid's columns (panel_component) and the tests follow from this tuple.
KPI_TILES: tuple[KpiSpec, ...] = (
    KpiSpec("today_total", lambda n, lang, _p: _against_average("today_total", n.today_total,
                                                                 n.weekday_avg_total, lang)),
    KpiSpec("today_enterprise", lambda n, lang, _p: _against_average("today_enterprise", n.today_enterprise,
                                                                      n.weekday_avg_enterprise, lang)),
    KpiSpec("ytd_incidents", lambda n, lang, p: _change_tile("ytd_incidents", n.ytd["incidents"], lang, p)),
    KpiSpec("ytd_enterprise", lambda n, lang, p: _change_tile("ytd_enterprise", n.ytd["enterprise_incidents"],
                                                              lang, p)),
    KpiSpec("ytd_traffic", lambda n, lang, p: _change_tile("ytd_traffic", n.ytd["traffic_accidents"], lang, p)),
    KpiSpec("ytd_labour", lambda n, lang, p: _change_tile("ytd_labour", n.ytd["labour_disputes"], lang, p)),
    KpiSpec("ytd_economic", lambda n, lang, p: _change_tile("ytd_economic", n.ytd["economic_disputes"], lang, p)),
    KpiSpec("in_house", lambda n, lang, p: _share_tile("in_house", n.in_house_share,
                                                       t("kpi_detail_in_house", lang, period=p), lang)),
    KpiSpec("hazards", lambda n, lang, p: _share_tile("hazards", n.rectification_rate,
                                                      t("kpi_detail_overdue", lang, period=p,
                                                        n=f"{n.overdue_hazards:,}"), lang)),
    KpiSpec("index", lambda n, lang, _p: _index_tile(n, lang)),
)
KPI_NAMES = tuple(spec.name for spec in KPI_TILES)


def kpi_tiles(numbers: CockpitNumbers, lang: str) -> list:
    """The KPI row of one frame."""
    period = _ytd_words(numbers, lang)
    return [spec.draw(numbers, lang, period) for spec in KPI_TILES]


def _index_tile(numbers: CockpitNumbers, lang: str) -> html.Div:
    trend = numbers.index_trend
    if not trend:
        return kpi_tile("index", t("kpi_index", lang), "—", "")
    score = trend[-1][1]
    if len(trend) > 1:
        delta = score - trend[-2][1]
        detail = t("kpi_detail_index", lang, delta=f"{delta:+.1f}")
        if numbers.index_through is not None:  # this month's score is to date, not the month's
            detail += " · " + t("partial_through", lang, date=t("date_short", lang, day=numbers.index_through))
        tone = "down" if delta > 0 else ("up" if delta < 0 else "neutral")  # a rising index is good news
    else:
        detail, tone = "", "neutral"
    return kpi_tile("index", t("kpi_index", lang), f"{score:.1f}", detail, tone)


def _short_name(name: str) -> str:
    """An enterprise name without the city prefix and the legal form, for tight lists."""
    for prefix in ("湖州织里", "湖州"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name.replace("有限公司", "")


def _ranked(items: list[dict], short: bool) -> list:
    return [html.Div([html.Span(f"{rank}", className="rank"),
                      html.Span(_short_name(item["name"]) if short else item["name"], className="name",
                                title=item["name"]),
                      html.Span(f"{item['score']:.1f}", className=f"score band-{item['band']}")],
                     className="wall-list-row") for rank, item in enumerate(items, start=1)]


def lowest_list(numbers: CockpitNumbers, lang: str) -> html.Div:
    """The five parks and ten enterprises with the lowest safety index, as two ranked columns."""
    return html.Div([
        html.Div([html.Div(t("lowest_parks", lang), className="wall-list-head")] + _ranked(numbers.lowest_parks, False),
                 className="wall-list-column"),
        html.Div([html.Div(t("lowest_enterprises", lang), className="wall-list-head")]
                 + _ranked(numbers.lowest_enterprises, True), className="wall-list-column wall-list-dense"),
    ], className="wall-list-columns")


def feed_row(call: CallRow, lang: str, new: bool = False) -> html.Div:
    """One call in the live feed (personal data arrives masked from the data layer)."""
    classes = ["wall-feed-row", f"priority-{call.priority}"]
    if new:
        classes.append("feed-new")
        if call.priority == 1:
            classes.append("feed-flash")
    return html.Div([
        html.Div([html.Span(call.received_at.strftime("%H:%M:%S"), className="feed-time"),
                  html.Span(tv(call.category, lang), className="feed-category"),
                  html.Span(tv(call.station, lang), className="feed-station"),
                  html.Span(tv(call.disposition, lang), className="feed-disposition")], className="feed-line"),
        html.Div([html.Span(call.place or "—", className="feed-place"),
                  html.Span(f"{call.caller_name or '—'} {call.caller_phone or ''}".strip(), className="feed-caller")],
                 className="feed-line feed-line-detail"),
    ], className=" ".join(classes), key=str(call.id))


def age_words(minutes: float, lang: str) -> str:
    """An age as a person says it: 12分钟前, 3小时前, 5天前, 4个月前, 2年前 (whole units, rounded down)."""
    for limit, size, key in ((60, 1, "age_minutes"), (48 * 60, 60, "age_hours"), (60 * 1440, 1440, "age_days"),
                             (730 * 1440, 30.44 * 1440, "age_months")):
        if minutes < limit:
            return t(key, lang, n=int(minutes // size))
    return t("age_years", lang, n=int(minutes // (365.25 * 1440)))


def data_age_badge(age, lang: str) -> html.Span | str:
    """The newest incident's age, only when a gap that long is unusual for the hours it spans (else nothing)."""
    if age is None or not age.stale:
        return ""
    if age.newest is None:
        return html.Span(t("data_age_none", lang), className="wall-data-age stale")
    expected = "很多" if math.isinf(age.expected_calls) and lang == "zh" else (
        "many" if math.isinf(age.expected_calls) else f"{age.expected_calls:.1f}")
    return html.Span(t("data_age_stale", lang, age=age_words(age.minutes, lang)), className="wall-data-age stale",
                     title=t("data_age_title", lang, expected=expected))


def header(lang: str, demo: bool) -> html.Header:
    """Title, view name, date and clock, data freshness, and the demo mark."""
    demo_mark = html.Span(t("demo_mark", lang), id=ids.WALL_DEMO_MARK, className="demo-mark") if demo else None
    return html.Header([
        html.Div([html.H1(t("wall_title", lang), id=ids.WALL_TITLE, className="wall-title"),
                  html.Span(t("view_town", lang), id=ids.WALL_VIEW_NAME, className="wall-view-name")],
                 className="wall-header-left"),
        html.Div(html.Span("", id=ids.WALL_CLOCK, className="wall-clock"), className="wall-header-centre"),
        html.Div([demo_mark,
                  html.Span("", id=ids.WALL_FRESHNESS, className="wall-freshness"),
                  html.Span("", id=ids.WALL_DATA_AGE),
                  html.Span(t("status_waiting", lang), id=ids.WALL_STATUS, className="wall-status status-waiting")],
                 className="wall-header-right"),
    ], className="wall-header")


def controls(lang: str, playlist: list[dict]) -> html.Div:
    """Small controls for a desk screen (hidden in kiosk mode): language and view."""
    other = "en" if lang == "zh" else "zh"
    return html.Div([
        html.A(t("switch_language", lang), href=f"?lang={other}", className="wall-control"),
        html.A(t("kiosk_mode", lang), href=f"?lang={lang}&kiosk=1", className="wall-control"),
    ], id=ids.WALL_CONTROLS, className="wall-controls")


def layout(lang: str = "zh", kiosk: bool = False, demo: bool = False, playlist: list[dict] | None = None,
           poll_ms: int = 2000, feed_ms: int = 1000) -> html.Div:
    """The whole wall page."""
    playlist = playlist or [{"kind": "town", "id": None, "seconds": 60, "name": t("view_town", lang)}]
    return html.Div([
        dcc.Interval(id=ids.WALL_TICK, interval=1000),
        dcc.Store(id=ids.WALL_POLL, data=0),
        dcc.Store(id=ids.WALL_FEED_POLL, data=0),
        dcc.Store(id=ids.WALL_FRAME, data=None),
        dcc.Store(id=ids.WALL_FEED_STATE, data={"last_id": None}),
        dcc.Store(id=ids.WALL_VIEW, data={"kind": "town", "id": None}),
        dcc.Store(id=ids.WALL_PLAYLIST, data=playlist),
        dcc.Store(id=ids.WALL_SETTINGS, data={
            "lang": lang, "kiosk": kiosk, "poll_ms": poll_ms, "feed_ms": feed_ms,
            "stale_text": t("status_stale", lang, time="{time}"), "age_text": t("freshness_seconds", lang, n="{n}"),
        }),
        html.Div([
            header(lang, demo),
            html.Div([panel_component(spec, lang) for spec in PANELS], className="wall-grid"),
        ], id=ids.WALL_CANVAS, className="wall-canvas"),
        None if kiosk else controls(lang, playlist),
    ], id=ids.WALL_ROOT, className="wall-root kiosk" if kiosk else "wall-root")

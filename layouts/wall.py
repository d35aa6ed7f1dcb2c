"""The wall cockpit: panels described as data, drawn on a fixed design canvas that scales to the screen.

The canvas is 1920×1080 design pixels (3840×1080 on a 32:9 wall of two screens); assets/wall.js scales
it to the window. What the wall shows, its KPI tiles and the grid of each canvas are figures/wall_spec.py's;
here they become components: ``PANELS`` (with component ids), ``panel_component`` draws any panel kind,
``kpi_tiles`` the KPI row and ``grid_style`` the grids as CSS variables for assets/wall.css. Everything here
is pure: the callbacks fill the panels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dash import dcc, html

from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.core.organisation import Organisation
from data.screens.cockpit import CockpitNumbers
from data.screens.incidents import CallRow
from figures import wall_spec
from figures.strings import t, tv
from figures.text import org_title
from figures.theme import GRAPH_CONFIG
from layouts import ids

FEED_ROWS = 10


@dataclass(frozen=True)
class PanelSpec:
    """One panel as drawn: its component id, kind (kpis, chart, map, feed, list), title key, grid area and chart
    builder; made from figures/wall_spec.py PANELS, the one list of the wall's panels."""

    id: str
    kind: str
    title: str | None
    area: str
    chart: str | None = None


PANEL_IDS = {"kpis": ids.WALL_KPIS, "map": ids.WALL_MAP, "feed": ids.WALL_FEED}  # the rest: ids.wall_panel(name)
PANELS: tuple[PanelSpec, ...] = tuple(
    PanelSpec(PANEL_IDS.get(p.name) or ids.wall_panel(p.name), p.kind, p.title, p.name, p.chart)
    for p in wall_spec.PANELS)
CHART_PANELS = tuple(p for p in PANELS if p.kind == "chart")


def _graph(panel_id: str) -> dcc.Graph:
    return dcc.Graph(id=panel_id, config=GRAPH_CONFIG, className="wall-graph",
                     figure={"data": [], "layout": {"template": "eqian_dark", "paper_bgcolor": "rgba(0,0,0,0)",
                                                    "plot_bgcolor": "rgba(0,0,0,0)",
                                                    "xaxis": {"visible": False}, "yaxis": {"visible": False}}})


def panel_component(spec: PanelSpec, lang: str) -> html.Section:
    """Any panel kind, framed the same way."""
    if spec.kind == "kpis":
        columns = f"repeat({len(wall_spec.KPI_TILES)}, 1fr)"  # one column per tile: the row stays one row
        return html.Section(id=spec.id, className="wall-kpis", children=kpi_placeholders(lang),
                            style={"gridArea": spec.area, "gridTemplateColumns": columns})
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
    return [kpi_tile(spec.name, t(f"kpi_{spec.name}", lang), "—", "") for spec in wall_spec.KPI_TILES]


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


def kpi_tiles(numbers: CockpitNumbers, lang: str) -> list:
    """The KPI row of one frame (figures/wall_spec.py KPI_TILES)."""
    return [kpi_tile(tile.name, tile.label, tile.value, tile.detail, tile.tone, tile.mark, tile.mark_title)
            for tile in wall_spec.tiles(numbers, lang)]


def grid_style() -> dict[str, str]:
    """The grid of every canvas as CSS variables (assets/wall.css reads --grid-<canvas>-columns|rows|areas)."""
    return {f"--grid-{canvas}-{part}": value for canvas, grid in wall_spec.GRIDS.items()
            for part, value in grid.css().items()}


def _short_name(name: str, prefixes: tuple[str, ...] = ()) -> str:
    """An enterprise name without its place prefix (the organisation's ``name_prefixes``, longest first) and the
    legal form, for tight lists."""
    for prefix in prefixes:
        if name.startswith(prefix) and len(name) > len(prefix):
            name = name[len(prefix):]
            break
    return name.replace("有限公司", "")


def _ranked(items: list[dict], short: bool, prefixes: tuple[str, ...] = ()) -> list:
    return [html.Div([html.Span(f"{rank}", className="rank"),
                      html.Span(_short_name(item["name"], prefixes) if short else item["name"], className="name",
                                title=item["name"]),
                      html.Span(f"{item['score']:.1f}", className=f"score band-{item['band']}")],
                     className="wall-list-row") for rank, item in enumerate(items, start=1)]


def lowest_list(numbers: CockpitNumbers, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> html.Div:
    """The five parks and ten enterprises with the lowest safety index, as two ranked columns."""
    return html.Div([
        html.Div([html.Div(t("lowest_parks", lang), className="wall-list-head")] + _ranked(numbers.lowest_parks, False),
                 className="wall-list-column"),
        html.Div([html.Div(t("lowest_enterprises", lang), className="wall-list-head")]
                 + _ranked(numbers.lowest_enterprises, True, org.prefixes),
                 className="wall-list-column wall-list-dense"),
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


def data_age_badge(age, lang: str, setup_gap: str | None = None) -> html.Span | str:
    """The newest incident's age, only when a gap that long is unusual for the hours it spans (else nothing);
    first, what a half-configured database lacks (尚未导入派出所辖区), instead of leaving the panels to look empty."""
    if setup_gap is not None:
        return html.Span(t(f"setup_gap_{setup_gap}", lang), className="wall-data-age stale wall-setup-gap")
    if age is None or not age.stale:
        return ""
    if age.newest is None:
        return html.Span(t("data_age_none", lang), className="wall-data-age stale")
    expected = "很多" if math.isinf(age.expected_calls) and lang == "zh" else (
        "many" if math.isinf(age.expected_calls) else f"{age.expected_calls:.1f}")
    return html.Span(t("data_age_stale", lang, age=age_words(age.minutes, lang)), className="wall-data-age stale",
                     title=t("data_age_title", lang, expected=expected))


def header(lang: str, demo: bool, org: Organisation = DEFAULT_ORGANISATION) -> html.Header:
    """Title (with the organisation's name), view name, date and clock, data freshness, and the demo mark."""
    demo_mark = html.Span(t("demo_mark", lang), id=ids.WALL_DEMO_MARK, className="demo-mark") if demo else None
    return html.Header([
        html.Div([html.H1(org_title("wall_title", org, lang), id=ids.WALL_TITLE, className="wall-title"),
                  html.Span(org.whole_word(lang), id=ids.WALL_VIEW_NAME, className="wall-view-name")],
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
           poll_ms: int = 2000, feed_ms: int = 1000, org: Organisation = DEFAULT_ORGANISATION) -> html.Div:
    """The whole wall page."""
    playlist = playlist or [{"kind": "town", "id": None, "seconds": 60, "name": org.whole_word(lang)}]
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
            header(lang, demo, org),
            html.Div([panel_component(spec, lang) for spec in PANELS], className="wall-grid", style=grid_style()),
        ], id=ids.WALL_CANVAS, className="wall-canvas"),
        None if kiosk else controls(lang, playlist),
    ], id=ids.WALL_ROOT, className="wall-root kiosk" if kiosk else "wall-root")

"""The wall's refreshes: a frame every poll, the live feed every second, both scheduled by the client.

The client asks for the next frame only after the last one arrived (assets/wall.js), so updates never
overlap. A frame whose data version and view have not changed redraws nothing. When the database is
unreachable the panels keep their last frame and the status says how old it is; when the server itself
is unreachable the client's watchdog says so and keeps retrying, without reloading the page.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dash import ClientsideFunction, Input, Output, Patch, State, no_update
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from data import service
from data.core.scope import TOWN, Unit
from data.core.timeutil import now_utc, to_local
from figures import wall_map
from figures.strings import t
from figures.wall_charts import CHART_BUILDERS
from figures.wall_map import map_figure
from layouts import ids, wall
from web import inputs

log = logging.getLogger(__name__)
CHART_IDS = tuple(spec.id for spec in wall.CHART_PANELS)  # the charts of ``frame``'s answer, by component id


def _unit(view) -> Unit:
    """The unit a view store names: a station with a valid id, else the town."""
    view = inputs.mapping(view, "view")
    if view.get("kind") == "station" and view.get("id") is not None:
        return Unit("station", inputs.unit_id(view["id"], "view.id"))
    return TOWN


def _canvas(settings) -> str:
    """The design canvas the wall is drawn on (assets/wall.js writes it into the settings): its map panel's size
    is what the map's view is fitted to."""
    return inputs.choice(inputs.mapping(settings, "settings").get("canvas"), "settings.canvas",
                         wall_map.CANVASES) or "standard"


def _stamp(moment: datetime) -> str:
    return to_local(moment).strftime("%H:%M:%S")


def _panels_kept() -> dict:
    """The panels of a frame left as drawn: the charts, KPI row, lowest list, map, view name and the data's age."""
    return {"charts": dict.fromkeys(CHART_IDS, no_update), "kpis": no_update, "lowest": no_update,
            "map": no_update, "view_name": no_update, "data_age": no_update}


def frame(poll, view, settings, last):
    """Redraw the panels when the data or the view changed; always report how fresh the frame is (``poll``
    only starts it). Answers by name: the charts (by component id), the other panels, the status and its
    class, and the frame's state."""
    lang = inputs.lang(inputs.mapping(settings, "settings").get("lang"))
    canvas = _canvas(settings)
    unit = _unit(view)
    last = inputs.mapping(last, "frame")
    last_stamp = inputs.text(last.get("stamp"), "frame.stamp", max_len=32)
    now = now_utc()
    try:
        version = service.data_version()
        minute = now.replace(second=0, microsecond=0).isoformat()
        key = [version, *unit.cache_key, minute, lang, canvas]
        if last and last.get("ok") and last.get("key") == key:
            state = {**last, "at": now.isoformat(), "stamp": _stamp(now)}
            return {**_panels_kept(), "status": t("status_ok", lang, time=_stamp(now)),
                    "status_class": "wall-status status-ok", "frame": state}
        data = service.wall(minute, *unit.cache_key)
        org = service.organisation()
    except SQLAlchemyError as exc:
        log.warning("wall frame failed: %s", exc.__class__.__name__)
        stamp = last_stamp or "--:--:--"
        state = {**last, "ok": False, "at": now.isoformat(), "db_down": True}
        return {**_panels_kept(), "status": t("status_stale", lang, time=stamp),
                "status_class": "wall-status status-stale", "frame": state}
    numbers = data.numbers
    charts = {spec.id: CHART_BUILDERS[spec.chart](numbers, lang) for spec in wall.CHART_PANELS}
    tile_url = current_app.config.get("EQIAN_TILE_URL", "")
    the_map = map_figure(data.areas, data.station_scores, data.points, data.heat, data.parks, data.enterprises,
                         lang=lang, tile_url=tile_url, canvas=canvas)
    name = org.whole_word(lang) if unit.is_town else next(
        (f["properties"]["name"] for f in data.areas["features"] if f["properties"]["id"] == unit.id), "")
    state = {"ok": True, "key": key, "at": now.isoformat(), "stamp": _stamp(now), "alerts": data.alerts}
    return {"charts": charts, "kpis": wall.kpi_tiles(numbers, lang), "lowest": wall.lowest_list(numbers, lang, org),
            "map": the_map, "view_name": name, "data_age": wall.data_age_badge(data.data_age, lang, data.setup_gap),
            "status": t("status_ok", lang, time=_stamp(now)), "status_class": "wall-status status-ok", "frame": state}


def feed(poll, state, view, settings):
    """The live call feed: the newest calls at first, then only what arrived since, prepended (``poll`` only
    starts it). Answers the rows (all of them, or a Patch) and the feed's state."""
    lang = inputs.lang(inputs.mapping(settings, "settings").get("lang"))
    unit = _unit(view)
    station = unit.id  # a station's, or None: the town's
    state = inputs.mapping(state, "feed state")
    last_id = inputs.integer(state.get("last_id"), "feed state.last_id")
    now = now_utc().isoformat()
    try:
        if last_id is None or state.get("view") != list(unit.cache_key):
            calls = service.feed_start(wall.FEED_ROWS, station)
            last_id = max((c.id for c in calls), default=0)
            rows = [wall.feed_row(c, lang) for c in calls]
            return {"rows": rows, "state": {"last_id": last_id, "at": now, "view": list(unit.cache_key)}}
        calls = service.calls_since(last_id, wall.FEED_ROWS, station)
    except SQLAlchemyError as exc:
        log.warning("wall feed failed: %s", exc.__class__.__name__)
        return {"rows": no_update, "state": {**state, "at": now, "ok": False}}
    if not calls:
        return {"rows": no_update, "state": {**state, "at": now, "ok": True}}
    rows = Patch()
    for call in calls:  # oldest first, so the newest ends on top
        rows.prepend(wall.feed_row(call, lang, new=True))
    for _ in calls:
        del rows[-1]
    return {"rows": rows, "state": {"last_id": calls[-1].id, "at": now, "view": list(unit.cache_key), "ok": True}}


def register_callbacks(app) -> None:
    """Attach the wall's server and clientside callbacks."""
    app.callback(
        output={
            "charts": {chart_id: Output(chart_id, "figure") for chart_id in CHART_IDS},
            "kpis": Output(ids.WALL_KPIS, "children"),
            "lowest": Output(ids.wall_panel("lowest"), "children"),
            "map": Output(ids.WALL_MAP, "figure"),
            "view_name": Output(ids.WALL_VIEW_NAME, "children"),
            "data_age": Output(ids.WALL_DATA_AGE, "children"),
            "status": Output(ids.WALL_STATUS, "children"),
            "status_class": Output(ids.WALL_STATUS, "className"),
            "frame": Output(ids.WALL_FRAME, "data"),
        },
        inputs={"poll": Input(ids.WALL_POLL, "data"), "view": Input(ids.WALL_VIEW, "data")},
        state={"settings": State(ids.WALL_SETTINGS, "data"), "last": State(ids.WALL_FRAME, "data")},
    )(frame)
    app.callback(
        output={"rows": Output(ids.WALL_FEED, "children"), "state": Output(ids.WALL_FEED_STATE, "data")},
        inputs={"poll": Input(ids.WALL_FEED_POLL, "data")},
        state={"state": State(ids.WALL_FEED_STATE, "data"), "view": State(ids.WALL_VIEW, "data"),
               "settings": State(ids.WALL_SETTINGS, "data")},
    )(feed)
    # The client schedules the next poll only after a frame (or feed update) has arrived.
    app.clientside_callback(
        ClientsideFunction(namespace="wall", function_name="scheduleFrame"),
        Output(ids.WALL_POLL, "data", allow_duplicate=True),
        Input(ids.WALL_FRAME, "data"),
        State(ids.WALL_POLL, "data"),
        State(ids.WALL_SETTINGS, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="wall", function_name="scheduleFeed"),
        Output(ids.WALL_FEED_POLL, "data", allow_duplicate=True),
        Input(ids.WALL_FEED_STATE, "data"),
        State(ids.WALL_FEED_POLL, "data"),
        State(ids.WALL_SETTINGS, "data"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="wall", function_name="tick"),
        Output(ids.WALL_CLOCK, "children"),
        Output(ids.WALL_FRESHNESS, "children"),
        Output(ids.WALL_VIEW, "data"),
        Output(ids.WALL_STATUS, "children", allow_duplicate=True),
        Output(ids.WALL_STATUS, "className", allow_duplicate=True),
        Input(ids.WALL_TICK, "n_intervals"),
        State(ids.WALL_FRAME, "data"),
        State(ids.WALL_FEED_STATE, "data"),
        State(ids.WALL_PLAYLIST, "data"),
        State(ids.WALL_VIEW, "data"),
        State(ids.WALL_SETTINGS, "data"),
        prevent_initial_call=True,
    )

"""The wall's map: station areas by safety index, a 7-day heat layer, today's incidents, parks, risky enterprises.

Pure functions from the plain data of ``data.screens.geo`` to a ``go.Figure``; nothing here reads the database.
The figure draws with no request outside the page's origin (see ../shared/RECIPES.md, "Offline maps"):

- the map style is a style dict with a dark background layer, no sources, no sprite and no glyphs; with
  ``tile_url`` set (an internal XYZ tile server) that server is its one raster source;
- every trace is a map trace (``Choroplethmap``, ``Densitymap``, ``Scattermap``) with circle markers and no
  text mode: labels on the map need a glyph server (plotly's built-in styles ask fonts.openmaptiles.org; this
  style has none, so they would not draw), and marker symbols other than circles make plotly.js fetch icons
  from a CDN. Names are in the hover text only.

The view (centre and zoom) is fitted to the station polygons for the map panel of the design canvas in use
(``PANEL_SIZES``: 758×497 px on the 1920×1080 canvas, 1408×766 on the 32:9 wall's 3840×1080; assets/wall.js
tells the frame callback which), and ``uirevision`` is constant, so the wall's periodic redraws replace the data
and keep the view.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

import plotly.graph_objects as go

from figures import theme
from figures.strings import t, tv

# The map's drawing area (#wall-map's box) in design px on each design canvas, as Chromium lays out
# assets/wall.css (the panel's border and its 24 px title line) with figures/wall_spec.py's GRIDS: measured
# 2026-12 on the 1920×1080 canvas (3840×2160 is the same canvas scaled) and on the 32:9 wall's 3840×1080 canvas
# with its wider grid (assets/wall.js picks it at an aspect ratio of 3 or more). tests/test_browser_map.py
# test_map023 measures them again on the real wall, so the CSS and the fit cannot drift apart.
PANEL_SIZES = {"standard": (758, 497), "wide": (1408, 766)}
CANVASES = tuple(PANEL_SIZES)  # = figures/wall_spec.py GRIDS (tests/test_wall_charts.py)
PANEL_SIZE = PANEL_SIZES["standard"]
FIT_PADDING = 0.9  # the jurisdiction spans at most this share of the panel's width or height
TILE_SIZE = 512  # MapLibre's world is 512 px wide at zoom 0
MAX_ZOOM = 18.0
UIREVISION = "wall-map"
STYLE_ID = "eqian-dark"
TILE_SOURCE_ID = "eqian-tiles"
TILE_OPACITY = 0.5  # internal tiles are dimmed so the wall stays dark and the data stands out
TILE_URL_PATTERN = re.compile(r"^https?://[^\s/]+/\S*\{z\}\S*\{x\}\S*\{y\}\S*$")

BAND_ORDER = ("红", "橙", "黄", "蓝")  # colour-bar order, worst at the bottom
AREA_OPACITY = 0.3
AREA_LINE_COLOUR = "#9cc3ff"
UNSCORED_COLOUR = theme.MUTED
HEAT_RADIUS = 26  # px; about 1.5 grid cells (0.004°) at the fitted zoom, so the grid does not show
HEAT_OPACITY = 0.8
HEAT_COLOURSCALE = [
    [0.0, "rgba(255,214,102,0)"],
    [0.2, "rgba(255,214,102,0.2)"],
    [0.45, "rgba(255,170,60,0.55)"],
    [0.75, "rgba(255,110,60,0.85)"],
    [1.0, "rgba(255,60,60,1)"],
]
INCIDENT_SIZE = 13
FADED_OPACITY = 0.15  # an incident ``now_minutes_fade`` minutes old or older
PARK_SIZE = 22
PARK_COLOUR = theme.DOWN
PARK_OPACITY = 0.55
ENTERPRISE_SIZE = 5
ENTERPRISE_OPACITY = 0.55
INCIDENT_GROUP = "incidents"
LEGEND_BG = "rgba(11,31,58,0.82)"  # theme.PANEL, slightly see-through
FONT_SIZE = 16


# ---------------------------------------------------------------- style and view

EMPTY_SOURCE_ID = "eqian-empty"


def map_style(tile_url: str = "") -> dict:
    """A MapLibre style dict: the wall's dark background and, when given, one internal raster tile source."""
    layers = [{"id": "background", "type": "background", "paint": {"background-color": theme.BACKGROUND}}]
    # never an empty "sources": plotly.js drops empty objects when it diffs a new style against the old one,
    # and MapLibre then rejects the style ("missing required property sources") on every later redraw.
    sources: dict = {EMPTY_SOURCE_ID: {"type": "geojson", "data": {"type": "FeatureCollection", "features": []}}}
    if tile_url:
        if not TILE_URL_PATTERN.match(tile_url):
            raise ValueError(f"tile_url {tile_url!r} must be an http(s) URL with {{z}}, {{x}} and {{y}}")
        sources[TILE_SOURCE_ID] = {"type": "raster", "tiles": [tile_url], "tileSize": 256}
        layers.append({"id": TILE_SOURCE_ID, "type": "raster", "source": TILE_SOURCE_ID,
                       "paint": {"raster-opacity": TILE_OPACITY}})
    return {"version": 8, "id": STYLE_ID, "name": STYLE_ID, "sources": sources, "layers": layers}


def _rings(geometry: Mapping) -> Iterable[Sequence]:
    if geometry["type"] == "Polygon":
        yield from geometry["coordinates"]
    elif geometry["type"] == "MultiPolygon":
        for polygon in geometry["coordinates"]:
            yield from polygon
    else:
        raise ValueError(f"station area must be a Polygon or MultiPolygon, not {geometry['type']}")


def area_bounds(areas: Mapping) -> tuple[float, float, float, float]:
    """(west, south, east, north) of all features of a FeatureCollection."""
    lons, lats = [], []
    for feature in areas.get("features", []):
        for ring in _rings(feature["geometry"]):
            for lon, lat, *_ in ring:
                lons.append(float(lon))
                lats.append(float(lat))
    if not lons:
        raise ValueError("no coordinates in the station areas")
    return min(lons), min(lats), max(lons), max(lats)


def _mercator_y(lat: float) -> float:
    """Web Mercator y of a latitude, as a share of the world's height (0 at the equator)."""
    lat = max(min(lat, 85.0511), -85.0511)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)


def fit_view(bounds: tuple[float, float, float, float], size: tuple[int, int] = PANEL_SIZE,
             padding: float = FIT_PADDING) -> tuple[dict, float]:
    """The centre {lat, lon} and zoom that fit ``bounds`` into a ``size`` px panel with ``padding``."""
    west, south, east, north = bounds
    width, height = size
    y_mid = (_mercator_y(south) + _mercator_y(north)) / 2
    centre_lat = math.degrees(2 * math.atan(math.exp(y_mid * 2 * math.pi)) - math.pi / 2)
    centre = {"lat": round(centre_lat, 6), "lon": round((west + east) / 2, 6)}
    span_x = (east - west) / 360.0
    span_y = _mercator_y(north) - _mercator_y(south)
    scales = [padding * px / (TILE_SIZE * span) for px, span in ((width, span_x), (height, span_y)) if span > 0]
    zoom = min(math.log2(min(scales)), MAX_ZOOM) if scales else MAX_ZOOM
    return centre, round(zoom, 3)


# ---------------------------------------------------------------- traces

def _band_z(band: str) -> int:
    return BAND_ORDER.index(band)


def _discrete_colourscale(colours: Sequence[str]) -> list:
    """A colour scale with one flat step per colour, for z = 0..len-1 with zmin -0.5 and zmax len-0.5."""
    steps, n = [], len(colours)
    for k, colour in enumerate(colours):
        steps += [[k / n, colour], [(k + 1) / n, colour]]
    return steps


def _colourbar(lang: str) -> dict:
    return {
        "title": {"text": t("map_station_index", lang), "font": {"color": theme.TEXT, "size": FONT_SIZE},
                  "side": "top"},
        "tickvals": list(range(len(BAND_ORDER))), "ticktext": [tv(b, lang) for b in BAND_ORDER],
        "tickfont": {"color": theme.TEXT, "size": FONT_SIZE}, "ticks": "",
        "bgcolor": LEGEND_BG, "outlinewidth": 0, "thickness": 16, "len": 0.4, "lenmode": "fraction",
        "x": 0.99, "xanchor": "right", "y": 0.03, "yanchor": "bottom", "xpad": 10, "ypad": 10,
    }


def _station_hover(name: str, score: float | None, band: str | None, lang: str) -> str:
    if score is None:
        return f"{name}<br>{t('map_station_index', lang)} —"
    return f"{name}<br>{t('map_station_index', lang)} {score:.1f}（{tv(band, lang)}）"


def area_traces(areas: Mapping, scores: Mapping[int, tuple[float, str]], lang: str) -> list[go.Choroplethmap]:
    """Station areas filled with their band colour (one trace), unscored stations grey (another)."""
    scored, unscored = [], []
    for feature in areas.get("features", []):
        station_id = feature["properties"]["id"]
        entry = scores.get(station_id)
        (scored if entry is not None and entry[1] in BAND_ORDER else unscored).append((feature, entry))
    common = {"geojson": areas, "featureidkey": "properties.id", "marker": {
        "opacity": AREA_OPACITY, "line": {"color": AREA_LINE_COLOUR, "width": 2}}, "hoverinfo": "text"}
    traces = []
    if scored:
        traces.append(go.Choroplethmap(
            name=t("map_station_index", lang),
            locations=[f["properties"]["id"] for f, _ in scored],
            z=[_band_z(e[1]) for _, e in scored], zmin=-0.5, zmax=len(BAND_ORDER) - 0.5,
            colorscale=_discrete_colourscale([theme.BAND_COLOURS[b] for b in BAND_ORDER]),
            colorbar=_colourbar(lang), showscale=True,
            hovertext=[_station_hover(f["properties"]["name"], e[0], e[1], lang) for f, e in scored],
            **common))
    if unscored:
        traces.append(go.Choroplethmap(
            name=t("map_station_index", lang),
            locations=[f["properties"]["id"] for f, _ in unscored], z=[0] * len(unscored),
            colorscale=[[0, UNSCORED_COLOUR], [1, UNSCORED_COLOUR]], showscale=False,
            hovertext=[_station_hover(f["properties"]["name"], None, None, lang) for f, _ in unscored],
            **common))
    return traces


def heat_trace(heat: Sequence[Mapping], lang: str) -> go.Densitymap:
    """The 7-day incident density, one weighted point per grid cell."""
    return go.Densitymap(
        name=t("map_heat_7d", lang), lat=[c["lat"] for c in heat], lon=[c["lon"] for c in heat],
        z=[c["n"] for c in heat], radius=HEAT_RADIUS, opacity=HEAT_OPACITY, colorscale=HEAT_COLOURSCALE,
        zmin=0, zmax=max((c["n"] for c in heat), default=1), showscale=False, showlegend=True,
        hoverinfo="skip")


def fade(age_minutes: float, fade_minutes: float) -> float:
    """Marker opacity of an incident ``age_minutes`` old: 1 when new, ``FADED_OPACITY`` from ``fade_minutes``."""
    if fade_minutes <= 0:
        raise ValueError(f"fade minutes must be positive, got {fade_minutes}")
    share = min(max(age_minutes, 0) / fade_minutes, 1.0)
    return round(1.0 - (1.0 - FADED_OPACITY) * share, 3)


def _incident_hover(point: Mapping, lang: str) -> str:
    return (f"{tv(point['category'], lang)} · {t('map_priority', lang)} {point['priority']}"
            f"<br>{t('map_minutes_ago', lang, n=point['age_minutes'])}")


def _incident_key(priority: int, lang: str) -> go.Scattermap:
    """A data-less legend entry in the full priority colour (a faded trace would show a faded key)."""
    return go.Scattermap(
        name=f"{t('map_priority', lang)} {priority}", mode="markers", lat=[None], lon=[None],
        legendgroup=INCIDENT_GROUP, legendgrouptitle={"text": t("map_incidents_today", lang)},
        marker={"size": INCIDENT_SIZE, "color": theme.PRIORITY_COLOURS[priority]}, hoverinfo="skip")


def incident_traces(points: Sequence[Mapping], lang: str, fade_minutes: float) -> list[go.Scattermap]:
    """Today's incidents, one trace per priority (most urgent on top), fading with age, and their legend keys."""
    keys, traces = [], []
    for priority in sorted(theme.PRIORITY_COLOURS):
        keys.append(_incident_key(priority, lang))
    for priority in sorted(theme.PRIORITY_COLOURS, reverse=True):
        chosen = [p for p in points if p["priority"] == priority]
        if not chosen:
            continue
        traces.append(go.Scattermap(
            name=f"{t('map_priority', lang)} {priority}", mode="markers", legendgroup=INCIDENT_GROUP,
            showlegend=False, lat=[p["lat"] for p in chosen], lon=[p["lon"] for p in chosen],
            marker={"size": INCIDENT_SIZE, "color": theme.PRIORITY_COLOURS[priority],
                    "opacity": [fade(p["age_minutes"], fade_minutes) for p in chosen]},
            hovertext=[_incident_hover(p, lang) for p in chosen], hoverinfo="text"))
    return keys + traces


def _place_hover(item: Mapping, lang: str) -> str:
    if item.get("score") is None:
        return str(item["name"])
    return f"{item['name']}<br>{item['score']:.1f}（{tv(item['band'], lang)}）"


def park_trace(park_rows: Sequence[Mapping], lang: str) -> go.Scattermap:
    """The industrial parks as large translucent circles."""
    return go.Scattermap(
        name=t("map_parks", lang), mode="markers",
        lat=[p["lat"] for p in park_rows], lon=[p["lon"] for p in park_rows],
        marker={"size": PARK_SIZE, "color": PARK_COLOUR, "opacity": PARK_OPACITY},
        hovertext=[_place_hover(p, lang) for p in park_rows], hoverinfo="text")


def enterprise_trace(enterprises: Sequence[Mapping], lang: str) -> go.Scattermap:
    """Orange and red enterprises as small dots in their band colour."""
    return go.Scattermap(
        name=t("map_risky_enterprises", lang), mode="markers",
        lat=[e["lat"] for e in enterprises], lon=[e["lon"] for e in enterprises],
        marker={"size": ENTERPRISE_SIZE, "opacity": ENTERPRISE_OPACITY,
                "color": [theme.BAND_COLOURS.get(e["band"], theme.MUTED) for e in enterprises]},
        hovertext=[_place_hover(e, lang) for e in enterprises], hoverinfo="text")


# ---------------------------------------------------------------- figures

def _layout(map_layout: dict) -> dict:
    """The dark layout every map figure shares: full-bleed map, legend top left, hover labels in the wall style."""
    return {
        "template": theme.TEMPLATE_NAME, "uirevision": UIREVISION, "map": map_layout,
        "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "paper_bgcolor": theme.BACKGROUND,
        "font": {"family": theme.FONT_FAMILY, "color": theme.TEXT, "size": FONT_SIZE},
        "legend": {"orientation": "v", "x": 0.01, "xanchor": "left", "y": 0.99, "yanchor": "top",
                   "bgcolor": LEGEND_BG, "bordercolor": theme.GRID, "borderwidth": 1,
                   "font": {"color": theme.TEXT, "size": FONT_SIZE}, "itemsizing": "constant",
                   "groupclick": "togglegroup"},
        "hoverlabel": {"bgcolor": theme.PANEL, "bordercolor": theme.ACCENT,
                       "font": {"family": theme.FONT_FAMILY, "color": theme.TEXT, "size": FONT_SIZE}},
    }


def map_figure(areas: Mapping, station_scores: Mapping[int, tuple[float, str]], points: Sequence[Mapping],
               heat: Sequence[Mapping], parks: Sequence[Mapping], enterprises: Sequence[Mapping],
               lang: str = "zh", tile_url: str = "", now_minutes_fade: float = 180,
               canvas: str = "standard") -> go.Figure:
    """The wall map of one frame, fitted to the map panel of ``canvas`` (a key of PANEL_SIZES); an empty map
    when there are no station areas to fit the view to."""
    if canvas not in PANEL_SIZES:
        raise ValueError(f"canvas {canvas!r} must be one of {', '.join(CANVASES)}")
    if not areas or not areas.get("features"):
        return empty_map_figure(lang)
    style = map_style(tile_url)
    centre, zoom = fit_view(area_bounds(areas), PANEL_SIZES[canvas])
    traces: list = area_traces(areas, station_scores, lang)
    if heat:
        traces.append(heat_trace(heat, lang))
    if enterprises:
        traces.append(enterprise_trace(enterprises, lang))
    if parks:
        traces.append(park_trace(parks, lang))
    traces += incident_traces(points, lang, now_minutes_fade)
    map_layout = {"style": style, "center": centre, "zoom": zoom, "fitbounds": False, "uirevision": UIREVISION}
    return go.Figure(data=traces, layout=_layout(map_layout))


def empty_map_figure(lang: str = "zh") -> go.Figure:
    """A dark, trace-less map panel for when there is nothing to draw yet."""
    layout = _layout({"style": map_style(), "uirevision": UIREVISION})
    layout["annotations"] = [{
        "text": f"{t('map_station_index', lang)} · {t('map_incidents_today', lang)} —",
        "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
        "font": {"color": theme.MUTED, "size": FONT_SIZE}}]
    layout["xaxis"] = {"visible": False}
    layout["yaxis"] = {"visible": False}
    return go.Figure(layout=layout)

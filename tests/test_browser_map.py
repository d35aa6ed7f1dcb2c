"""The wall map (figures/wall_map.py): figure structure, then the real drawing in headless Chromium.

The structure tests need no browser. The browser tests serve the figure from a tiny Dash app on a live
server and check that the page asks no host but its own, that the console stays clean and, by decoding
screenshots, that the map is drawn: dark background, station areas in their band colours, points and heat.
"""

from __future__ import annotations

import base64
import json
import math
import re
import struct
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import dash
import pytest
from dash import dcc, html
from flask import Flask, Response
from sqlalchemy import select

from data.core.schema import Station
from data.core.timeutil import local_today
from data.demo.geo import station_rows
from data.screens import geo
from figures import theme, wall_map
from figures.strings import t, tv
from figures.wall_map import empty_map_figure, map_figure

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results"
URL = re.compile(r"https?://[^\s\"'\\]+")
TILE_URL = "http://tiles.local/{z}/{x}/{y}.png"
GRAPH_ID = "map-under-test"
TILE_COLOUR = "#ff00ff"
PANEL = dict(zip(("width", "height"), wall_map.PANEL_SIZE, strict=True))  # the wall's map panel, 1920×1080 canvas
MEASURED = {"standard": (758, 497), "wide": (1408, 766)}  # #wall-map in Chromium, 2026-12 (test_map023 re-measures)
# Chromium's software GL reports its own performance notes as console warnings; they are not the page's.
GL_DRIVER_NOTE = re.compile(r"^\[\.WebGL-[0-9a-fx]+\]GL Driver Message \(OpenGL, Performance")


# ---------------------------------------------------------------- inputs

def _demo_areas() -> dict:
    features = [{"type": "Feature", "id": r["id"], "properties": {"id": r["id"], "name": r["name"]},
                 "geometry": json.loads(r["polygon_geojson"])} for r in station_rows()]
    return {"type": "FeatureCollection", "features": features}


def _hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[k:k + 2], 16) for k in (1, 3, 5))


def _blend(top: str, bottom: str, alpha: float) -> tuple[float, float, float]:
    return tuple(alpha * a + (1 - alpha) * b for a, b in zip(_hex_rgb(top), _hex_rgb(bottom), strict=False))


def _shape_areas(shape: str) -> dict:
    """Two stations side by side whose jurisdiction is twice as high as wide ("tall") or four times as wide as
    high ("wide") on the map (Web Mercator), around the town centre."""
    lat0, lon0, half_width = 30.845, 120.262, 0.01 if shape == "tall" else 0.04
    ratio = 2.0 if shape == "tall" else 0.25  # height / width on the map
    y0 = _mercator(lat0)
    half_height = ratio * half_width / 360.0  # in the same share-of-the-world units as x
    south, north = _inverse_mercator(y0 - half_height), _inverse_mercator(y0 + half_height)
    west, east = lon0 - half_width, lon0 + half_width

    def box(w, e):
        return {"type": "Polygon", "coordinates": [[[w, south], [e, south], [e, north], [w, north], [w, south]]]}

    features = [{"type": "Feature", "id": k, "properties": {"id": k, "name": name}, "geometry": geometry}
                for k, name, geometry in ((1, "西所", box(west, lon0)), (2, "东所", box(lon0, east)))]
    return {"type": "FeatureCollection", "features": features}


def _mercator(lat: float) -> float:
    """Web Mercator y as a share of the world (0 at the equator), computed here independently of wall_map."""
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)


def _inverse_mercator(y: float) -> float:
    return math.degrees(2 * math.atan(math.exp(2 * math.pi * y)) - math.pi / 2)


def _world_px(lon: float, lat: float, zoom: float) -> tuple[float, float]:
    """A point in MapLibre's world pixels (512 px at zoom 0), y downwards."""
    world = 512 * 2 ** zoom
    return (lon + 180) / 360 * world, (0.5 - _mercator(lat)) * world


@pytest.fixture
def areas():
    return _demo_areas()


@pytest.fixture
def layers():
    """Small hand-made inputs for every layer of the map."""
    return {
        "scores": {1: (83.9, "蓝"), 2: (70.2, "黄"), 3: (55.0, "橙"), 4: (31.5, "红")},
        "points": [{"lat": 30.85, "lon": 120.28, "priority": p, "category": "刑事", "station_id": 1,
                    "age_minutes": age} for p, age in ((1, 0), (1, 90), (2, 180), (3, 600))],
        "heat": [{"lat": 30.846, "lon": 120.262, "n": 5}, {"lat": 30.842, "lon": 120.258, "n": 1}],
        "parks": [{"id": 1, "name": "香圩墩园区", "station_id": 4, "lat": 30.83, "lon": 120.25, "score": 84.8,
                   "band": "蓝"}],
        "enterprises": [{"id": 9, "name": "湖州鑫果物业服务有限公司", "station_id": 1, "lat": 30.85, "lon": 120.28,
                         "score": 32.3, "band": "红"},
                        {"id": 7, "name": "织里某童装厂", "station_id": 2, "lat": 30.87, "lon": 120.26,
                         "score": 55.0, "band": "橙"}],
    }


def _figure_text(figure) -> str:
    """The figure as plain JSON text (plotly's own to_json escapes '/' as '\\/', which would hide URLs)."""
    return json.dumps(json.loads(figure.to_json()), ensure_ascii=False)


def _figure(areas, layers, **kwargs):
    return map_figure(areas, layers["scores"], layers["points"], layers["heat"], layers["parks"],
                      layers["enterprises"], **kwargs)


def _incident_traces(figure):
    return [tr for tr in figure.data if tr.type == "scattermap" and tr.legendgroup == wall_map.INCIDENT_GROUP
            and tr.hovertext is not None]


def _colour_at(trace, z: float) -> str:
    """The colour a discrete colour scale gives to ``z`` (independent lookup over the scale's steps)."""
    share = (z - trace.zmin) / (trace.zmax - trace.zmin)
    steps = trace.colorscale
    for (lo, colour), (hi, _next) in zip(steps[::2], steps[1::2], strict=False):
        if lo <= share < hi:
            return colour
    raise AssertionError(f"z={z} falls outside the colour scale")


# ---------------------------------------------------------------- figure structure

class TestMapFigure:
    def test_map001_trace_types_bottom_to_top(self, areas, layers):
        figure = _figure(areas, layers)
        assert [tr.type for tr in figure.data] == (
            ["choroplethmap", "densitymap", "scattermap", "scattermap"] + ["scattermap"] * 3 + ["scattermap"] * 3)
        assert [tr.name for tr in figure.data[:4]] == [t("map_station_index"), t("map_heat_7d"),
                                                       t("map_risky_enterprises"), t("map_parks")]
        assert [tr.name for tr in _incident_traces(figure)] == ["优先级 3", "优先级 2", "优先级 1"]  # urgent on top
        assert figure.data[1].z == (5, 1)

    def test_map002_no_text_on_the_map(self, areas, layers):
        figure = _figure(areas, layers)
        for trace in figure.data:
            assert "text" not in (getattr(trace, "mode", None) or ""), trace.name
            assert getattr(trace, "text", None) is None, trace.name
            if trace.type == "scattermap":
                assert trace.marker.symbol in (None, "circle"), trace.name  # other symbols fetch icons
        assert "text-field" not in _figure_text(figure)

    def test_map003_offline_without_tile_url(self, areas, layers):
        figure = _figure(areas, layers)
        style = figure.layout.map.style
        assert URL.findall(_figure_text(figure)) == []
        # one empty GeoJSON source only (an empty "sources" breaks MapLibre on later redraws)
        assert isinstance(style, dict) and [s["type"] for s in style["sources"].values()] == ["geojson"]
        assert all(s["data"]["features"] == [] for s in style["sources"].values())
        assert not {"glyphs", "sprite"} & set(style)
        assert [layer["type"] for layer in style["layers"]] == ["background"]
        assert style["layers"][0]["paint"]["background-color"] == theme.BACKGROUND
        assert figure.layout.map.layers == ()

    def test_map004_tile_url_is_the_only_url(self, areas, layers):
        figure = _figure(areas, layers, tile_url=TILE_URL)
        style = figure.layout.map.style
        assert set(URL.findall(_figure_text(figure))) == {TILE_URL}
        assert [source["tiles"] for source in style["sources"].values() if "tiles" in source] == [[TILE_URL]]
        assert [layer["type"] for layer in style["layers"]] == ["background", "raster"]

    @pytest.mark.parametrize("bad", ["ftp://tiles.local/{z}/{x}/{y}.png", "http://tiles.local/tile.png",
                                     "/tiles/{z}/{x}/{y}.png"])
    def test_map005_bad_tile_url_refused(self, areas, layers, bad):
        with pytest.raises(ValueError, match=r"must be an http\(s\) URL with \{z\}, \{x\} and \{y\}"):
            _figure(areas, layers, tile_url=bad)

    def test_map006_incidents_fade_with_age(self, areas, layers):
        by_name = {tr.name: tr for tr in _incident_traces(_figure(areas, layers))}
        assert by_name["优先级 1"].marker.opacity == (1.0, 0.575)
        assert by_name["优先级 2"].marker.opacity == (wall_map.FADED_OPACITY,)
        assert by_name["优先级 3"].marker.opacity == (wall_map.FADED_OPACITY,)
        quick = {tr.name: tr for tr in _incident_traces(_figure(areas, layers, now_minutes_fade=60))}
        assert quick["优先级 1"].marker.opacity == (1.0, wall_map.FADED_OPACITY)
        assert {tr.name: tr.marker.color for tr in _incident_traces(_figure(areas, layers))} == {
            f"优先级 {p}": colour for p, colour in theme.PRIORITY_COLOURS.items()}
        with pytest.raises(ValueError, match="fade minutes must be positive"):
            _figure(areas, layers, now_minutes_fade=0)

    def test_map007_station_areas_in_band_colours(self, areas, layers):
        scores = dict(layers["scores"])
        del scores[3]  # no index yet
        figure = map_figure(areas, scores, [], [], [], [])
        scored, unscored = figure.data[:2]
        assert [_colour_at(scored, z) for z in scored.z] == [theme.BAND_COLOURS[scores[s][1]] for s in scored.locations]
        assert list(unscored.locations) == [3] and unscored.showscale is False
        assert {c for _, c in unscored.colorscale} == {wall_map.UNSCORED_COLOUR}
        assert "织东派出所" in scored.hovertext[0] and "83.9" in scored.hovertext[0] and "蓝" in scored.hovertext[0]
        assert "织西派出所" in unscored.hovertext[0]

    def test_map008_names_only_in_hover_text(self, areas, layers):
        figure = _figure(areas, layers)
        hover = {tr.name: " ".join(tr.hovertext or ()) for tr in figure.data}
        assert "湖州鑫果物业服务有限公司" in hover[t("map_risky_enterprises")]
        assert "香圩墩园区" in hover[t("map_parks")]
        assert all(tr.hoverinfo in ("text", "skip") for tr in figure.data)
        assert "90分钟前" in " ".join(" ".join(tr.hovertext) for tr in _incident_traces(figure))

    @pytest.mark.parametrize("lang", ["zh", "en"])
    def test_map009_legend_and_colour_bar_readable(self, areas, layers, lang):
        figure = _figure(areas, layers, lang=lang)
        bar = figure.data[0].colorbar
        assert bar.title.text == t("map_station_index", lang)
        assert list(bar.ticktext) == [tv(band, lang) for band in ("红", "橙", "黄", "蓝")]  # worst at the bottom
        assert bar.tickfont.color == theme.TEXT and bar.title.font.color == theme.TEXT
        legend = figure.layout.legend
        assert legend.font.color == theme.TEXT and legend.bgcolor == wall_map.LEGEND_BG
        shown = [tr.name for tr in figure.data if tr.showlegend is not False and tr.type == "scattermap"]
        assert t("map_parks", lang) in shown and t("map_risky_enterprises", lang) in shown
        keys = [tr for tr in figure.data if tr.legendgrouptitle.text]
        assert {tr.legendgrouptitle.text for tr in keys} == {t("map_incidents_today", lang)}
        assert [tr.marker.opacity for tr in keys] == [None] * 3  # full colour in the legend
        assert figure.layout.template.layout.font.family == theme.FONT_FAMILY
        assert figure.layout.paper_bgcolor == theme.BACKGROUND

    def test_map010_view_fits_the_jurisdiction(self, areas, layers):
        figure = _figure(areas, layers)
        west, south, east, north = wall_map.area_bounds(areas)
        centre, zoom = figure.layout.map.center, figure.layout.map.zoom
        assert west < centre.lon < east and south < centre.lat < north
        assert figure.layout.map.fitbounds is False
        shrunk = {"type": "FeatureCollection", "features": [areas["features"][0]]}
        assert map_figure(shrunk, {}, [], [], [], []).layout.map.zoom > zoom  # smaller area, closer view
        wider = wall_map.fit_view((west, south, east + (east - west), north))[1]
        assert wider < zoom
        double = tuple(2 * px for px in wall_map.PANEL_SIZE)
        assert wall_map.fit_view((west, south, east, north), size=double)[1] == pytest.approx(zoom + 1, abs=0.01)

    @pytest.mark.parametrize("canvas", ["standard", "wide"])
    @pytest.mark.parametrize("shape", ["tall", "wide"])
    def test_map013_any_shape_of_jurisdiction_is_wholly_in_the_real_panel(self, canvas, shape):
        """A jurisdiction twice as high as wide, or four times as wide as high, fits the map panel the wall really
        has (758×497, or 1408×766 on the 32:9 canvas): projected independently, every corner is inside it, and
        it fills the panel in its limiting direction (fitted, not merely shrunk)."""
        assert wall_map.PANEL_SIZES == MEASURED
        areas = _shape_areas(shape)
        west, south, east, north = wall_map.area_bounds(areas)
        figure = map_figure(areas, {}, [], [], [], [], canvas=canvas)
        width, height = MEASURED[canvas]
        view = figure.layout.map
        cx, cy = _world_px(view.center.lon, view.center.lat, view.zoom)
        xs = [_world_px(lon, lat, view.zoom)[0] - cx + width / 2 for lon in (west, east) for lat in (south, north)]
        ys = [_world_px(lon, lat, view.zoom)[1] - cy + height / 2 for lon in (west, east) for lat in (south, north)]
        assert 0 <= min(xs) and max(xs) <= width and 0 <= min(ys) and max(ys) <= height, (xs, ys)
        fills = max((max(xs) - min(xs)) / width, (max(ys) - min(ys)) / height)
        assert fills == pytest.approx(wall_map.FIT_PADDING, abs=0.005)
        with pytest.raises(ValueError, match="canvas 'tv' must be one of standard, wide"):
            map_figure(areas, {}, [], [], [], [], canvas="tv")

    def test_map011_redraws_keep_the_view(self, areas, layers):
        first = _figure(areas, layers)
        second = map_figure(areas, {}, [], [], [], [])
        for figure in (first, second):
            assert figure.layout.uirevision == wall_map.UIREVISION
            assert figure.layout.map.uirevision == wall_map.UIREVISION
        assert (first.layout.map.center, first.layout.map.zoom) == (second.layout.map.center, second.layout.map.zoom)

    def test_map012_empty_map(self, layers):
        empty = empty_map_figure("en")
        assert empty.data == ()
        assert URL.findall(_figure_text(empty)) == []
        assert empty.layout.paper_bgcolor == theme.BACKGROUND
        assert t("map_incidents_today", "en") in empty.layout.annotations[0].text
        no_areas = map_figure({"type": "FeatureCollection", "features": []}, {}, layers["points"], [], [], [])
        assert no_areas.to_json() == empty_map_figure().to_json()
        with pytest.raises(ValueError, match="Polygon or MultiPolygon, not Point"):
            wall_map.area_bounds({"features": [{"geometry": {"type": "Point", "coordinates": [120, 30]}}]})


# ---------------------------------------------------------------- in the browser

# The map exists and plotly has put its trace layers into MapLibre's style.
WAIT_FOR_MAP = """id => {
  const gd = document.querySelector(`#${id} .js-plotly-plot`);
  const subplot = gd && gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  const map = subplot && subplot.map;
  return !!(map && map.isStyleLoaded() && map.getStyle().layers.some(l => l.id.startsWith('plotly-trace-layer')));
}"""

# Waits until MapLibre is idle, then reports where the canvas is and what it drew.
MAP_STATE = """async ({id, lonlats}) => {
  const gd = document.querySelector(`#${id} .js-plotly-plot`);
  const map = gd._fullLayout.map._subplot.map;
  await new Promise(resolve => { map.once('idle', resolve); map.triggerRepaint(); });
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const box = document.getElementById(id).getBoundingClientRect();
  const canvas = map.getCanvas().getBoundingClientRect();
  const dx = canvas.left - box.left, dy = canvas.top - box.top;
  const layers = map.getStyle().layers;
  const visible = layers.filter(l => (l.layout || {}).visibility !== 'none');
  const circles = visible.filter(l => l.type === 'circle').map(l => l.id);
  return {
    canvas: [canvas.width, canvas.height],
    projected: lonlats.map(ll => { const p = map.project(ll); return [p.x + dx, p.y + dy]; }),
    visibleTypes: visible.map(l => l.type),
    circlesDrawn: circles.length ? map.queryRenderedFeatures({layers: circles}).length : 0,
    sources: Object.values(map.getStyle().sources).map(s => s.tiles || s.url || null).filter(Boolean),
  };
}"""

# Decodes a PNG with the browser's own decoder (no imaging library needed) and summarises its pixels.
PIXELS = """async ({png, samples, background}) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const colours = new Set();
  let away = 0;
  for (let k = 0; k < data.length; k += 4) {
    colours.add(((data[k] >> 3) << 10) | ((data[k + 1] >> 3) << 5) | (data[k + 2] >> 3));
    const d = Math.abs(data[k] - background[0]) + Math.abs(data[k + 1] - background[1])
      + Math.abs(data[k + 2] - background[2]);
    if (d > 30) away++;
  }
  const at = ([x, y]) => {
    const k = 4 * (Math.round(y) * img.width + Math.round(x));
    return [data[k], data[k + 1], data[k + 2]];
  };
  return {size: [img.width, img.height], distinct: colours.size, awayShare: away / (img.width * img.height),
          samples: samples.map(at)};
}"""


def _dash_page(figure_of) -> Flask:
    """A Flask server with a Dash page showing one map graph in a 900×700 panel on the wall background."""
    server = Flask(__name__)
    app = dash.Dash(__name__, server=server, assets_folder=str(Path(__file__).with_name("no-assets")),
                    title="map test")
    app.layout = lambda: html.Div(
        dcc.Graph(id=GRAPH_ID, figure=figure_of(), config=theme.GRAPH_CONFIG,
                  style={"width": f"{PANEL['width']}px", "height": f"{PANEL['height']}px"}),
        style={"background": theme.BACKGROUND, "padding": "40px", "position": "fixed", "inset": "0"})
    return server


def _watch(page) -> tuple[list, list]:
    console, requests = [], []
    page.on("console", lambda msg: console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: console.append(("pageerror", str(exc))))
    page.on("request", lambda req: requests.append(req.url))
    return console, requests


def _show(page, url: str, lonlats) -> dict:
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(url)
    page.wait_for_function(WAIT_FOR_MAP, arg=GRAPH_ID, timeout=30_000)
    return page.evaluate(MAP_STATE, {"id": GRAPH_ID, "lonlats": lonlats})


def _pixels(page, png: bytes, samples) -> dict:
    """Pixel summary of a screenshot, decoded in a separate blank page (so the watched page stays untouched)."""
    decoder = page.context.new_page()
    try:
        return decoder.evaluate(PIXELS, {"png": base64.b64encode(png).decode(), "samples": samples,
                                         "background": list(_hex_rgb(theme.BACKGROUND))})
    finally:
        decoder.close()


def _outside(requests, base_url: str) -> list[str]:
    origin = urlsplit(base_url).netloc
    return [u for u in requests if urlsplit(u).netloc not in (origin, "") and not u.startswith(("data:", "blob:"))]


def _page_errors(console) -> list:
    return [e for e in console if e[0] in ("error", "pageerror")
            or (e[0] == "warning" and not GL_DRIVER_NOTE.match(e[1]))]


def _close(colour, expected, tolerance: float) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected, strict=False))


def _solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A one-colour PNG, built with zlib alone."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    raw = (b"\x00" + bytes(rgb) * size) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@pytest.fixture
def demo_map(demo_sqlite, demo_now):
    """The map's inputs from the demo town, as the wall would build them now."""
    today = local_today(demo_now)
    with demo_sqlite.connect() as conn:
        inputs = {
            "areas": geo.station_areas(conn), "station_scores": geo.station_scores(conn, today),
            "points": geo.incidents_today(conn, demo_now), "heat": geo.heat_cells(conn, today),
            "parks": geo.parks(conn, month=today), "enterprises": geo.risky_enterprises(conn, today),
        }
        centres = [[r.centre_lon, r.centre_lat] for r in conn.execute(
            select(Station.centre_lon, Station.centre_lat).order_by(Station.id))]
    return inputs, centres


@pytest.mark.browser
class TestMapInBrowser:
    def test_map020_demo_map_draws_offline(self, page, demo_map, live_server_factory):
        inputs, centres = demo_map
        assert inputs["points"] and inputs["heat"] and len(inputs["areas"]["features"]) == 4
        console, requests = _watch(page)
        site = live_server_factory(_dash_page(lambda: map_figure(**inputs)))
        west, south, east, north = wall_map.area_bounds(inputs["areas"])
        state = _show(page, site.url + "/", centres + [[west, north], [east, south]])
        SCREENSHOTS.mkdir(exist_ok=True)
        shot = page.locator(f"#{GRAPH_ID}").screenshot(path=str(SCREENSHOTS / "map-1920x1080.png"))
        assert any("plotly" in u for u in requests), "plotly.js did not come from the app"
        assert _outside(requests, site.url) == []
        assert _page_errors(console) == []

        corner = [PANEL["width"] - 4, 4]  # top right: outside the town, clear of legend and colour bar
        pixels = _pixels(page, shot, state["projected"][:4] + [corner])
        assert pixels["size"] == [PANEL["width"], PANEL["height"]]
        assert pixels["distinct"] > 300, "the map looks blank or flat"
        assert 0.3 < pixels["awayShare"] < 0.9
        assert _close(pixels["samples"][-1], _hex_rgb(theme.BACKGROUND), 3), "background is not the wall's"
        for station, colour in zip(inputs["areas"]["features"], pixels["samples"][:4], strict=False):
            assert not _close(colour, _hex_rgb(theme.BACKGROUND), 20), station["properties"]["name"]

        (left, top), (right, bottom) = state["projected"][4:]
        assert 0 <= left < right <= PANEL["width"] and 0 <= top < bottom <= PANEL["height"]
        assert (right - left) / PANEL["width"] > 0.8 or (bottom - top) / PANEL["height"] > 0.8
        assert {"background", "fill", "heatmap", "circle"} <= set(state["visibleTypes"])
        assert "raster" not in state["visibleTypes"] and "symbol" not in state["visibleTypes"]
        assert state["circlesDrawn"] >= len(inputs["points"])
        assert state["sources"] == []



    def test_map021_tiles_only_from_the_given_server(self, page, live_server_factory):
        hits, holder = [], {}
        server = _dash_page(lambda: map_figure(_demo_areas(), {}, [], [], [], [], tile_url=holder.get("url", "")))

        @server.route("/tiles/<int:z>/<int:x>/<int:y>.png")
        def tile(z, x, y):
            hits.append((z, x, y))
            return Response(_solid_png(_hex_rgb(TILE_COLOUR)), mimetype="image/png")

        site = live_server_factory(server)
        holder["url"] = site.url + "/tiles/{z}/{x}/{y}.png"
        console, requests = _watch(page)
        _show(page, site.url + "/", [])
        corner = [PANEL["width"] - 4, 4]
        pixels = _pixels(page, page.locator(f"#{GRAPH_ID}").screenshot(), [corner])
        assert hits, "no tile was asked from the tile server"
        assert [u for u in requests if "/tiles/" in u] and _outside(requests, site.url) == []
        assert _close(pixels["samples"][0], _blend(TILE_COLOUR, theme.BACKGROUND, wall_map.TILE_OPACITY), 6)
        assert _page_errors(console) == []


    def test_map022_each_station_in_its_band_colour(self, page, live_server_factory):
        scores = {1: (90.0, "蓝"), 2: (70.0, "黄"), 3: (55.0, "橙"), 4: (20.0, "红")}
        site = live_server_factory(_dash_page(lambda: map_figure(_demo_areas(), scores, [], [], [], [])))
        console, requests = _watch(page)
        centres = [[r["centre_lon"], r["centre_lat"]] for r in station_rows()]
        state = _show(page, site.url + "/", centres)
        pixels = _pixels(page, page.locator(f"#{GRAPH_ID}").screenshot(), state["projected"])
        for (_score, band), colour in zip(scores.values(), pixels["samples"], strict=False):
            assert _close(colour, _blend(theme.BAND_COLOURS[band], theme.BACKGROUND, wall_map.AREA_OPACITY), 6), band
        assert _outside(requests, site.url) == [] and _page_errors(console) == []

    @pytest.mark.parametrize("shape", ["tall", "wide"])
    def test_map023_the_wall_fits_its_real_map_panel_on_each_canvas(self, page, live_server_factory, tmp_path, shape):
        """On the real wall (app, login, CSS grid): #wall-map measures PANEL_SIZES on the 1920×1080 and the 32:9
        canvas, and a jurisdiction of an awkward shape is drawn wholly inside it, filling it in one direction."""
        from sqlalchemy.orm import Session

        import app as app_module
        from data.core import db

        url = f"sqlite:///{tmp_path / 'shape.db'}"
        server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False})
        areas = _shape_areas(shape)
        with Session(db.engine_of(server)) as session:
            for f in areas["features"]:
                ring = f["geometry"]["coordinates"][0]
                session.add(Station(id=f["properties"]["id"], code=f"S{f['properties']['id']}",
                                    name=f["properties"]["name"], polygon_geojson=json.dumps(f["geometry"]),
                                    centre_lat=(ring[0][1] + ring[2][1]) / 2, centre_lon=(ring[0][0] + ring[2][0]) / 2))
            session.commit()
        west, south, east, north = wall_map.area_bounds(areas)
        console, _requests = _watch(page)
        site = live_server_factory(server).login(page, "wall")
        for viewport, canvas in (((1920, 1080), "standard"), ((3840, 1080), "wide")):
            page.set_viewport_size(dict(zip(("width", "height"), viewport, strict=False)))
            page.goto(site.url + "/")
            expected_zoom = wall_map.fit_view((west, south, east, north), wall_map.PANEL_SIZES[canvas])[1]
            page.wait_for_function(WAIT_FOR_MAP, arg="wall-map", timeout=30_000)
            page.wait_for_function("z => { const gd = document.querySelector('#wall-map .js-plotly-plot');"
                                   " return gd._fullLayout.map.zoom === z; }", arg=expected_zoom, timeout=30_000)
            state = page.evaluate(MAP_STATE, {"id": "wall-map", "lonlats": [[west, north], [east, south]]})
            size = page.evaluate("() => { const el = document.getElementById('wall-map');"
                                 " return [el.offsetWidth, el.offsetHeight]; }")
            assert tuple(size) == wall_map.PANEL_SIZES[canvas] == MEASURED[canvas], canvas
            width, height = size
            (left, top), (right, bottom) = state["projected"]
            assert 0 <= left < right <= width and 0 <= top < bottom <= height, (canvas, state["projected"])
            assert max((right - left) / width, (bottom - top) / height) > 0.85, canvas
        assert _page_errors(console) == []

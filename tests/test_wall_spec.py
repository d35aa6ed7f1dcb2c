"""The wall described once (figures/wall_spec.py): tiles, panels and grids, and everything that follows from them.

The browser tests look at the real wall drawn from the spec (tests/test_browser_wall.py brw010: the KPI row is one
row at 1080p, 4K and 32:9; tests/test_browser_map.py: the map panel's size on each canvas)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import app as app_module
from exports import registry
from figures import wall_charts, wall_map, wall_spec
from figures.strings import STRINGS
from layouts import wall as wall_layout

ROOT = Path(__file__).resolve().parent.parent


def test_wsp001_every_tile_has_its_labels_and_every_panel_its_title():
    assert len(set(wall_spec.KPI_NAMES)) == len(wall_spec.KPI_TILES) >= 10
    for name in wall_spec.KPI_NAMES:
        zh, en = STRINGS[f"kpi_{name}"]
        assert zh and en
    for panel in wall_spec.PANELS:
        assert panel.title is None or panel.title in STRINGS
        assert panel.chart is None or panel.chart in wall_charts.CHART_BUILDERS


def test_wsp002_the_grids_place_every_panel_and_the_check_refuses_one_that_does_not():
    wall_spec.check_grids()
    assert set(wall_spec.GRIDS) == set(wall_map.CANVASES)
    standard = wall_spec.GRIDS["standard"]
    missing = wall_spec.Grid(standard.columns, standard.rows,
                             tuple(tuple("map" if a == "lowest" else a for a in row) for row in standard.areas))
    with pytest.raises(wall_spec.GridError, match=r"panels not placed \['lowest'\]"):
        wall_spec.check_grids({"standard": missing})
    extra = wall_spec.Grid(standard.columns, standard.rows, (*standard.areas[:-1], ("last30", "levels", "x", "lowest")))
    with pytest.raises(wall_spec.GridError, match=r"areas without a panel \['x'\]"):
        wall_spec.check_grids({"standard": extra})
    ragged = wall_spec.Grid(standard.columns[:3], standard.rows, standard.areas)
    with pytest.raises(wall_spec.GridError, match="does not match"):
        wall_spec.check_grids({"standard": ragged})


def test_wsp003_the_css_reads_the_grid_of_every_canvas_from_the_layout():
    css = (ROOT / "assets" / "wall.css").read_text(encoding="utf-8")
    style = wall_layout.grid_style()
    for canvas, grid in wall_spec.GRIDS.items():
        for part, value in grid.css().items():
            assert style[f"--grid-{canvas}-{part}"] == value
            assert f"var(--grid-{canvas}-{part})" in css
    assert not re.search(r"grid-template-areas:\s*\"", css), "a grid written by hand in wall.css"
    assert style["--grid-standard-areas"].startswith('"kpis kpis kpis kpis" "hourly map map feed"')


def test_wsp004_the_drawn_wall_and_the_downloads_follow_the_panels():
    page = wall_layout.layout("zh", False, False, [], 2000, 1000)
    found = set()

    def walk(node):
        if getattr(node, "id", None):
            found.add(node.id)
        children = getattr(node, "children", None)
        for child in children if isinstance(children, list) else [children]:
            if child is not None and not isinstance(child, str):
                walk(child)

    walk(page)
    assert {spec.id for spec in wall_layout.PANELS} <= found
    assert [spec.area for spec in wall_layout.PANELS] == list(wall_spec.PANEL_NAMES)
    offered = {f"wall-{p.name}" for p in wall_spec.PANELS if p.download}
    assert offered == {name for name in registry.TABLES if name.startswith("wall-")}
    assert {f"wall-{p.name}" for p in wall_spec.PANELS if p.download and p.name != "kpis"} == {
        name for name in registry.CHARTS if name.startswith("wall-")}


def test_wsp005_the_app_refuses_to_start_with_a_panel_left_out_of_a_grid(monkeypatch):
    grid = wall_spec.GRIDS["wide"]
    broken = wall_spec.Grid(grid.columns, grid.rows, tuple(tuple("feed" if a == "hazards" else a for a in row)
                                                           for row in grid.areas))
    monkeypatch.setitem(wall_spec.GRIDS, "wide", broken)
    with pytest.raises(wall_spec.GridError, match=r"'wide': panels not placed \['hazards'\]"):
        app_module.create_app({"EQIAN_DATABASE_URL": "sqlite://"})


def test_wsp006_a_tile_without_its_label_stops_the_app_at_start_up(monkeypatch):
    wall_spec.check_tiles()
    trial = wall_spec.KpiSpec("trial", lambda n, lang, _p: wall_spec.Tile("trial", "", ""))
    monkeypatch.setattr(wall_spec, "KPI_TILES", (*wall_spec.KPI_TILES, trial))
    with pytest.raises(wall_spec.SpecError, match=r"without a label .*\['trial'\]"):
        app_module.create_app({"EQIAN_DATABASE_URL": "sqlite://"})
    with pytest.raises(wall_spec.SpecError, match="named twice: \\['index'\\]"):
        wall_spec.check_tiles((*wall_spec.KPI_TILES, *(s for s in wall_spec.KPI_TILES if s.name == "index")))
    monkeypatch.setitem(STRINGS, "kpi_trial", ("试", "Trial"))
    app_module.create_app({"EQIAN_DATABASE_URL": "sqlite://"})  # with its words it starts

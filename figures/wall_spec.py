"""The wall, described once: its KPI tiles, its panels and where each panel stands on each canvas.

Everything the wall shows and offers for download comes from here, and nothing here imports dash:

- ``KPI_TILES``: the KPI row, left to right. A tile is a name (component id ``wall-kpi-<name>``, label
  ``kpi_<name>`` in figures/strings.py) and a value function that turns a frame's numbers into a ``Tile`` of
  plain text. layouts/wall.py draws the tiles and sets the row's columns from this tuple; the ``wall-kpis``
  download (CSV/XLSX) lists the same tiles with the same words.
- ``PANELS``: every panel (KPI row, charts, map, feed, list): its name, kind, title key, chart builder and
  whether it is offered for download. The download's table and print height are exports/registry.py's.
- ``GRIDS``: the CSS grid of each canvas (1920×1080 ``standard``, 3840×1080 ``wide``): its columns, rows and
  areas, written by layouts/wall.py as CSS variables that assets/wall.css reads, so a panel added here and
  placed in every grid is drawn without touching the CSS. ``check_grids`` (run at start-up with the
  vocabulary check) refuses a panel missing from a grid or an area naming no panel.

Adding a KPI tile: one ``KpiSpec`` entry with its value function, and its label ``kpi_<name>``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from data.core import periods
from data.counts.metrics import Change, format_pct, poisson_z, significance
from data.screens.cockpit import CockpitNumbers
from figures.strings import STRINGS, t
from figures.text import SIGNIFICANCE_MARKS, change_tone, count_text


@dataclass(frozen=True)
class Tile:
    """One KPI tile as words: label, figure, detail line, tone (up, down, neutral...) and significance mark."""

    name: str
    label: str
    value: str
    detail: str = ""
    tone: str = "neutral"
    mark: str | None = None
    mark_title: str | None = None


@dataclass(frozen=True)
class KpiSpec:
    """One KPI tile of the wall: its name and its value function (numbers, language, the year-to-date words)."""

    name: str
    value: Callable[[CockpitNumbers, str, str], Tile]


def ytd_words(numbers: CockpitNumbers, lang: str) -> str:
    """What the year-to-date tiles count: 本年至昨日, or 上年全年 on 1 January (the to-date rule)."""
    return t(f"kpi_period_{periods.period_name('ytd', numbers.ytd_window)}", lang)


def change_tile(name: str, change: Change, lang: str, period: str) -> Tile:
    """A year-to-date 同比 tile: the change in per cent (无数据 when a side is missing), both counts."""
    text = t("no_data", lang) if change.missing else format_pct(change.pct, change.now)
    if text == "新增" and lang == "en":
        text = t("pct_new", lang)
    return Tile(name, t(f"kpi_{name}", lang), text,
                t("kpi_detail_ytd", lang, period=period, now=count_text(change.now, lang),
                  before=count_text(change.before, lang)),
                change_tone(change.pct, change.now), SIGNIFICANCE_MARKS[change.significance],
                t(f"sig_{change.significance}", lang))


def against_average(name: str, now: int, average: float, lang: str) -> Tile:
    """A today tile: the count against the same weekday's average up to the same time of day."""
    pct = None if average == 0 else 100.0 * (now - average) / average
    sig = significance(poisson_z(now, average))
    detail = t("kpi_detail_weekday", lang, avg=f"{average:,.1f}", pct=format_pct(pct, now))
    return Tile(name, t(f"kpi_{name}", lang), f"{now:,}", detail, change_tone(pct, now),
                SIGNIFICANCE_MARKS[sig], t(f"sig_{sig}", lang))


def share_text(value: float | None, lang: str) -> str:
    """A share as a tile writes it; 无数据 when its inputs are missing (never 0.0%)."""
    return t("no_data", lang) if value is None else f"{100 * value:.1f}%"


def share_tile(name: str, value: float | None, detail: str, lang: str) -> Tile:
    return Tile(name, t(f"kpi_{name}", lang), share_text(value, lang), detail)


def index_tile(numbers: CockpitNumbers, lang: str) -> Tile:
    """The unit's safety index and its change since last month (a rising index is good news)."""
    trend = numbers.index_trend
    if not trend:
        return Tile("index", t("kpi_index", lang), "—")
    score = trend[-1][1]
    if len(trend) > 1:
        delta = score - trend[-2][1]
        detail = t("kpi_detail_index", lang, delta=f"{delta:+.1f}")
        if numbers.index_through is not None:  # this month's score is to date, not the month's
            detail += " · " + t("partial_through", lang, date=t("date_short", lang, day=numbers.index_through))
        tone = "down" if delta > 0 else ("up" if delta < 0 else "neutral")
    else:
        detail, tone = "", "neutral"
    return Tile("index", t("kpi_index", lang), f"{score:.1f}", detail, tone)


def _ytd(name: str, figure: str) -> KpiSpec:
    """A year-to-date tile of one headline figure (data/counts/programme.py FIGURES)."""
    return KpiSpec(name, lambda n, lang, period: change_tile(name, n.ytd[figure], lang, period))


# The wall's KPI row, left to right.
KPI_TILES: tuple[KpiSpec, ...] = (
    KpiSpec("today_total", lambda n, lang, _p: against_average("today_total", n.today_total,
                                                                n.weekday_avg_total, lang)),
    KpiSpec("today_enterprise", lambda n, lang, _p: against_average("today_enterprise", n.today_enterprise,
                                                                     n.weekday_avg_enterprise, lang)),
    _ytd("ytd_incidents", "incidents"),
    _ytd("ytd_enterprise", "enterprise_incidents"),
    _ytd("ytd_traffic", "traffic_accidents"),
    _ytd("ytd_labour", "labour_disputes"),
    _ytd("ytd_economic", "enterprise_economic_disputes"),
    KpiSpec("in_house", lambda n, lang, p: share_tile("in_house", n.in_house_share,
                                                      t("kpi_detail_in_house", lang, period=p), lang)),
    KpiSpec("hazards", lambda n, lang, p: share_tile("hazards", n.rectification_rate,
                                                     t("kpi_detail_overdue", lang, period=p,
                                                       n=f"{n.overdue_hazards:,}"), lang)),
    KpiSpec("index", lambda n, lang, _p: index_tile(n, lang)),
)
KPI_NAMES = tuple(spec.name for spec in KPI_TILES)


def tiles(numbers: CockpitNumbers, lang: str) -> list[Tile]:
    """The KPI row of one frame, as words."""
    period = ytd_words(numbers, lang)
    return [spec.value(numbers, lang, period) for spec in KPI_TILES]


@dataclass(frozen=True)
class WallPanel:
    """One panel: its name (grid area, ``wall-<name>`` download), kind, title key, chart builder
    (figures/wall_charts.py CHART_BUILDERS) and whether its data and chart are offered for download."""

    name: str
    kind: str  # kpis, chart, map, feed, list
    title: str | None
    chart: str | None = None
    download: bool = False


PANELS: tuple[WallPanel, ...] = (
    WallPanel("kpis", "kpis", None, download=True),
    WallPanel("hourly", "chart", "panel_hourly", "hourly", download=True),
    WallPanel("categories", "chart", "panel_categories", "category_mix", download=True),
    WallPanel("last30", "chart", "panel_last30", "last30", download=True),
    WallPanel("map", "map", "panel_map"),
    WallPanel("levels", "chart", "panel_levels", "settled_levels", download=True),
    WallPanel("hazards", "chart", "panel_hazards", "hazard_age", download=True),
    WallPanel("feed", "feed", "panel_feed"),
    WallPanel("lowest", "list", "panel_lowest", download=True),
)
PANEL_NAMES = tuple(p.name for p in PANELS)


@dataclass(frozen=True)
class Grid:
    """A canvas's CSS grid: column widths, row heights and the area of each cell, row by row."""

    columns: tuple[str, ...]
    rows: tuple[str, ...]
    areas: tuple[tuple[str, ...], ...]

    def css(self) -> dict[str, str]:
        """grid-template-columns, -rows and -areas as CSS values."""
        return {"columns": " ".join(self.columns), "rows": " ".join(self.rows),
                "areas": " ".join('"' + " ".join(row) + '"' for row in self.areas)}


GRIDS: dict[str, Grid] = {  # assets/wall.js picks the canvas: wide from a 3:1 window
    "standard": Grid(("560px", "375px", "375px", "560px"), ("180px", "1fr", "1fr", "1fr"),
                     (("kpis",) * 4, ("hourly", "map", "map", "feed"), ("categories", "map", "map", "feed"),
                      ("last30", "levels", "hazards", "lowest"))),
    "wide": Grid(("600px", "600px", "700px", "700px", "560px", "580px"), ("180px", "1fr", "1fr"),
                 (("kpis",) * 6, ("hourly", "categories", "map", "map", "feed", "lowest"),
                  ("last30", "levels", "map", "map", "feed", "hazards"))),
}


class SpecError(ValueError):
    """A wall spec the wall cannot be drawn from: a tile or panel without its words, or a broken grid."""


class GridError(SpecError):
    """A wall grid that does not place every panel exactly, or names an area no panel has."""


def check_tiles(tiles: tuple[KpiSpec, ...] | None = None, panels: tuple[WallPanel, ...] | None = None) -> None:
    """Every KPI tile has a name of its own and its label (``kpi_<name>``) in Chinese and English, and every
    panel's title exists: a tile added without its words stops the app at start-up, not a frame later."""
    tiles, panels = tiles or KPI_TILES, panels or PANELS
    names = [spec.name for spec in tiles]
    if len(set(names)) != len(names):
        raise SpecError(f"wall KPI tiles named twice: {sorted({n for n in names if names.count(n) > 1})}")
    unlabelled = [n for n in names if not all(STRINGS.get(f"kpi_{n}", ("", "")))]
    untitled = [p.name for p in panels if p.title is not None and not all(STRINGS.get(p.title, ("", "")))]
    if unlabelled or untitled:
        raise SpecError(f"wall KPI tiles without a label in figures/strings.py (kpi_<name>, zh and en): "
                        f"{unlabelled}; panels without a title: {untitled}")


def check_grids(grids: dict[str, Grid] | None = None, panels: tuple[WallPanel, ...] = PANELS) -> None:
    """Every canvas places every panel and nothing else, with one cell per column of each row."""
    names = {p.name for p in panels}
    for canvas, grid in (grids or GRIDS).items():
        areas = {a for row in grid.areas for a in row}
        if areas != names:
            missing, extra = sorted(names - areas), sorted(areas - names)
            raise GridError(f"wall grid {canvas!r}: panels not placed {missing}, areas without a panel {extra}")
        if len(grid.rows) != len(grid.areas) or any(len(row) != len(grid.columns) for row in grid.areas):
            raise GridError(f"wall grid {canvas!r}: {len(grid.rows)} rows × {len(grid.columns)} columns "
                            f"does not match its areas")

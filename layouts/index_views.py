"""The safety-index views of the leadership review (light theme): distribution, funnel plot, rankings.

Pure functions of ``data.index.index_views.IndexViews``: ``sections(views, lang)`` returns the components the review
page puts into its index holder (``ids.REVIEW_INDEX_HOLDER``). Component ids are defined here (prefix
``review-index-``) so that callbacks and tests can import them:

- the two charts are figures/index_views.py's (``distribution_figure``, ``funnel_figure``; its docstring says
  what a funnel point's customdata carries);
- ranking rows are ``review-index-station-<id>`` and ``review-index-park-<id>``; their names link to the
  review of that unit;
- each chart and table has download links (``review-download-index-distribution``, ``-index-funnel``,
  ``-index-stations``, ``-index-parks``): the registry's entries in exports/registry.py, carrying the page's
  filters.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from dash import dcc, html

from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.core.organisation import Organisation
from figures.index_views import (
    DISTRIBUTION_HEIGHT,
    EMPTY_FIGURE,
    FUNNEL_HEIGHT,
    band_name,
    distribution_figure,
    funnel_figure,
)
from figures.strings import t, tv
from figures.theme import BAND_COLOURS, GRAPH_CONFIG
from layouts.components import TABLE_AND_CHART, download_links
from layouts.ids import (
    REVIEW_INDEX,
    REVIEW_INDEX_BANDS,
    REVIEW_INDEX_DISTRIBUTION,
    REVIEW_INDEX_DISTRIBUTION_SECTION,
    REVIEW_INDEX_EMPTY,
    REVIEW_INDEX_FLAG_COUNTS,
    REVIEW_INDEX_FLAGGED,
    REVIEW_INDEX_FUNNEL,
    REVIEW_INDEX_FUNNEL_HEAD,
    REVIEW_INDEX_FUNNEL_NOTE,
    REVIEW_INDEX_FUNNEL_SECTION,
    REVIEW_INDEX_FUNNEL_TAIL,
    REVIEW_INDEX_HOLDER,
    REVIEW_INDEX_PARKS,
    REVIEW_INDEX_RANKINGS,
    REVIEW_INDEX_STATIONS,
    REVIEW_INDEX_SUMMARY,
    rank_row_id,
)
from layouts.markup import block, el, link

INDEX_GRAPH_CONFIG = {**GRAPH_CONFIG, "displayModeBar": "hover", "modeBarButtonsToRemove": ["sendDataToCloud"]}
UP_COLOUR, DOWN_COLOUR, FLAT_COLOUR, NEW_COLOUR = "#1e8449", "#c0392b", "#7f8c8d", "#1f6fb2"
FLAGGED_SHOWN = 10
SHOWN, HIDDEN = {}, {"display": "none"}


def _month_label(month, lang: str) -> str:
    return t("ent_month", lang, y=month.year, m=month.month)


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def _scope_label(views, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> str:
    scope = views.scope
    if scope.park_name:
        label = scope.park_name
    elif scope.station_name:
        label = tv(scope.station_name, lang)
    else:
        label = org.whole_word(lang)
    return t("idx_scope_sector", lang, scope=label, sector=scope.sector) if scope.sector else label


def _with_lang(href: str, lang: str) -> str:
    if lang != "en":
        return href
    return href + ("&" if "?" in href else "?") + "lang=en"


def _unit_href(views, row, lang: str) -> str | None:
    """The review of a ranked unit with the same period and filters (None if the filters are unknown)."""
    filters = views.filters
    if filters is None or not hasattr(filters, "to_query"):
        return None
    if row.kind == "station":
        target = replace(filters, station=row.id, park=None, enterprise=None)
    else:
        target = replace(filters, station=row.station, park=row.id, enterprise=None)
    query = target.to_query()
    return _with_lang(f"/review?{query}" if query else "/review", lang)


# --- distribution ----------------------------------------------------------------------------------------

def band_badges(views, lang: str) -> html.Div:
    """Enterprises per band: 蓝色 1,137 家（34.8%）…"""
    dist = views.distribution
    badges = []
    for band in dist.bands:
        n = dist.band_counts.get(band, 0)
        pct = f"{100 * n / dist.total:.1f}%" if dist.total else "—"
        badges.append(html.Span(t("idx_band_count", lang, band=band_name(band, lang), n=f"{n:,}", pct=pct),
                                className=f"index-band index-band-{band}",
                                style={"background": BAND_COLOURS.get(band, "#9aa7b4"),
                                       "color": "#3d3000" if band == "黄" else "#ffffff", "padding": "2px 10px",
                                       "borderRadius": "10px", "marginRight": "8px", "fontSize": "14px",
                                       "whiteSpace": "nowrap", "display": "inline-block", "marginBottom": "4px"}))
    return html.Div(badges, id=REVIEW_INDEX_BANDS, className="index-bands")


def summary_line(views, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> html.P:
    dist = views.distribution
    text = t("idx_summary", lang, scope=_scope_label(views, lang, org), n=f"{dist.total:,}",
             median=_number(dist.median), mean=_number(dist.mean))
    if dist.unit_score is not None:
        change = None if dist.unit_previous is None else dist.unit_score - dist.unit_previous
        text += ("；" if lang != "en" else "; ") + t("idx_unit_score", lang, score=f"{dist.unit_score:.1f}",
                                                      change=_signed(change))
    return html.P(text, id=REVIEW_INDEX_SUMMARY, className="index-summary", style={"margin": "0 0 6px 0"})


# --- funnel ------------------------------------------------------------------------------------------------

def _what(views, lang: str) -> str:
    category = views.funnel.category
    return t("idx_what_category", lang, category=tv(category, lang)) if category else t("idx_what_all", lang)


def flagged_table(views, lang: str) -> html.Div:
    """The enterprises above the 99.8% limit, most incidents above expected first, each a link to its profile."""
    points = views.funnel.points
    above = points[points["flag"] == "above_998"].assign(excess=lambda d: d["incidents"] - d["expected"])
    above = above.sort_values(["excess", "enterprise_id"], ascending=[False, True])
    if above.empty:
        return html.Div(html.P(t("idx_flagged_none", lang), className="note"), id=REVIEW_INDEX_FLAGGED)
    rows, imputed = [], False
    for r in above.head(FLAGGED_SHOWN).itertuples():
        imputed = imputed or bool(r.imputed)
        workers = f"{r.workers_used:,.0f}" + ("*" if r.imputed else "")
        rows.append(el("tr", [
            el("td", link(r.name, _with_lang(f"/enterprise/{r.enterprise_id}", lang))),
            el("td", r.enterprise_id, cls="num"),
            el("td", workers, cls="num"), el("td", f"{r.incidents:,}", cls="num"),
            el("td", f"{r.expected:.1f}", cls="num"), el("td", f"{r.excess:+.1f}", cls="num"),
            el("td", f"{r.rate:.1f}", cls="num"), el("td", _number(r.score), cls="num"),
        ]))
    head = el("tr", [el("th", t(k, lang)) for k in ("idx_col_enterprise", "idx_hover_id", "idx_col_workers",
                                                    "idx_col_incidents", "idx_col_expected", "idx_col_excess",
                                                    "idx_col_rate", "idx_col_index")])
    children = [html.H3(t("idx_flagged_title", lang)),
                block(None, el("table", el("thead", head), el("tbody", rows),
                               cls="book-table index-flagged-table"), "markup-block")]
    notes = []
    if len(above) > FLAGGED_SHOWN:
        notes.append(t("idx_flagged_more", lang, n=len(above), k=FLAGGED_SHOWN))
    if imputed:
        notes.append("*" + t("idx_hover_imputed", lang).strip(" （）()"))
    if notes:
        children.append(html.P(" ".join(notes), className="note"))
    return html.Div(children, id=REVIEW_INDEX_FLAGGED)


def flag_counts_line(views, lang: str) -> html.P:
    c = views.funnel.flag_counts
    return html.P(t("idx_flag_counts", lang, a998=f"{c['above_998']:,}", a95=f"{c['above_95']:,}",
                    b95=f"{c['below_95']:,}", b998=f"{c['below_998']:,}", n=f"{len(views.funnel.points):,}"),
                  id=REVIEW_INDEX_FLAG_COUNTS, className="index-flag-counts", style={"margin": "4px 0"})


# --- rankings ----------------------------------------------------------------------------------------------

def movement_text(movement: int | None, lang: str) -> tuple[str, str]:
    """('↑2', colour), ('↓1', colour), ('—', colour) or ('新', colour) for a rank movement."""
    if movement is None:
        return t("idx_move_new", lang), NEW_COLOUR
    if movement > 0:
        return f"↑{movement}", UP_COLOUR
    if movement < 0:
        return f"↓{-movement}", DOWN_COLOUR
    return "—", FLAT_COLOUR


KEEP_ON_UNIT_LINK = "period,first,last,category,enterprise_only,row,lang"  # assets/nav.js keeps these


def ranking_table(views, rows, kind: str, table_id: str, lang: str):
    """A ranking: rank, unit, index (band colour), change, last month's rank and the movement.
    One component (layouts/markup.py); a unit's link keeps the page's period and topic (assets/nav.js)."""
    if not rows:
        return html.P(t("idx_rank_none", lang), id=table_id, className="note")
    body = []
    for r in rows:
        move, move_colour = movement_text(r.movement, lang)
        change = r.change
        change_colour = FLAT_COLOUR if change is None or abs(change) < 0.05 else (
            UP_COLOUR if change > 0 else DOWN_COLOUR)
        name = tv(r.name, lang) if kind == "station" else r.name
        href = _unit_href(views, r, lang)
        body.append(el("tr", [
            el("td", r.rank, cls="num"),
            el("td", link(name, href, data_keep=KEEP_ON_UNIT_LINK) if href else name),
            el("td", el("span", f"{r.score:.1f}",
                        style=f"border-left: 6px solid {BAND_COLOURS.get(r.band, '#9aa7b4')}; padding-left: 6px"),
               cls="num"),
            el("td", _signed(change), cls="num", style=f"color: {change_colour}"),
            el("td", "—" if r.previous_rank is None else r.previous_rank, cls="num"),
            el("td", move, cls="num index-move", style=f"color: {move_colour}; font-weight: 600"),
            el("td", f"{r.enterprises:,}", cls="num"),
        ], id=rank_row_id(kind, r.id), cls="selected" if r.highlighted else None))
    head = el("tr", [el("th", t(k, lang)) for k in ("idx_col_rank", "col_unit", "idx_col_score", "idx_col_change",
                                                    "idx_col_prev_rank", "idx_col_move", "idx_col_enterprises")])
    return block(None, el("table", el("thead", head), el("tbody", body), id=table_id,
                          cls="book-table index-rank-table"), "markup-block")


def _parks_heading(views, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> str:
    if views.parks_station is None:
        return t("idx_rank_parks_all", lang, whole=org.whole_word(lang))
    return t("idx_rank_parks_of", lang, station=tv(views.scope.station_name, lang))


# --- the sections ------------------------------------------------------------------------------------------

def empty_state(lang: str) -> html.Section:
    """The sentence shown when no index is stored yet (in the skeleton's wrapper, whose id it must not repeat)."""
    return html.Section([html.H2(t("ent_kpi_index", lang)), html.P(t("idx_empty", lang), id=REVIEW_INDEX_EMPTY)],
                        className="review-section")


# What a redraw of the index views fills, in this order: (component id, property). The two charts are in the
# page skeleton and stay mounted, so a redraw updates them in place (on the funnel's live WebGL context).
PART_KEYS = ((REVIEW_INDEX_HOLDER, "children"), (REVIEW_INDEX_DISTRIBUTION, "figure"),
             (REVIEW_INDEX_DISTRIBUTION, "style"), (REVIEW_INDEX_DISTRIBUTION_SECTION, "style"),
             (REVIEW_INDEX_FUNNEL_HEAD, "children"), (REVIEW_INDEX_FUNNEL, "figure"),
             (REVIEW_INDEX_FUNNEL_TAIL, "children"), (REVIEW_INDEX_FUNNEL_SECTION, "style"),
             (REVIEW_INDEX_RANKINGS, "children"))


def _graph(graph_id: str, style: dict) -> dcc.Graph:
    return dcc.Graph(id=graph_id, figure=EMPTY_FIGURE, config=INDEX_GRAPH_CONFIG, style=style)


def skeleton() -> html.Div:
    """The frame of the index views in the review page: sections hidden until the first redraw fills them."""
    return html.Div([
        html.Section([html.Div(id=REVIEW_INDEX_HOLDER), _graph(REVIEW_INDEX_DISTRIBUTION, HIDDEN)],
                     className="review-section", id=REVIEW_INDEX_DISTRIBUTION_SECTION, style=HIDDEN),
        html.Section([html.Div(id=REVIEW_INDEX_FUNNEL_HEAD), _graph(REVIEW_INDEX_FUNNEL, _height(FUNNEL_HEIGHT)),
                      html.Div(id=REVIEW_INDEX_FUNNEL_TAIL)],
                     className="review-section", id=REVIEW_INDEX_FUNNEL_SECTION, style=HIDDEN),
        html.Div(id=REVIEW_INDEX_RANKINGS),
    ], id=REVIEW_INDEX)


def _height(height: int) -> dict:
    return {"height": f"{height}px"}


def parts(views, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> dict[tuple[str, str], object]:
    """What the index views of one filter state put into the skeleton, by (component id, property); with
    ``views`` None (no index stored yet) a sentence saying so and nothing else."""
    if views is None:
        return {(REVIEW_INDEX_HOLDER, "children"): [], (REVIEW_INDEX_DISTRIBUTION, "figure"): EMPTY_FIGURE,
                (REVIEW_INDEX_DISTRIBUTION, "style"): HIDDEN, (REVIEW_INDEX_DISTRIBUTION_SECTION, "style"): HIDDEN,
                (REVIEW_INDEX_FUNNEL_HEAD, "children"): [], (REVIEW_INDEX_FUNNEL, "figure"): EMPTY_FIGURE,
                (REVIEW_INDEX_FUNNEL_TAIL, "children"): [], (REVIEW_INDEX_FUNNEL_SECTION, "style"): HIDDEN,
                (REVIEW_INDEX_RANKINGS, "children"): [empty_state(lang)]}
    month = _month_label(views.month, lang)
    plot = views.funnel
    has_enterprises = len(plot.points) > 0
    head = [html.H2(t("idx_title", lang, month=month)), summary_line(views, lang, org)]
    drawn = has_enterprises and views.distribution.total
    if drawn:
        head += [band_badges(views, lang), html.H3(t("idx_dist_title", lang)),
                 html.P(t("idx_dist_note", lang), className="note"),
                 download_links("index-distribution", TABLE_AND_CHART, lang)]
    else:
        head.append(html.P(t("idx_no_enterprises", lang), className="note"))
    funnel_head = []
    if has_enterprises:
        note = t("idx_funnel_note", lang, first=plot.window.first.isoformat(), last=plot.window.last.isoformat(),
                 what=_what(views, lang), p0=f"{plot.p0:.2f}")
        funnel_head = [html.H2(t("idx_funnel_title", lang)),
                       html.P(note, id=REVIEW_INDEX_FUNNEL_NOTE, className="note"),
                       flag_counts_line(views, lang), download_links("index-funnel", TABLE_AND_CHART, lang)]
    return {
        (REVIEW_INDEX_HOLDER, "children"): head,
        (REVIEW_INDEX_DISTRIBUTION, "figure"): distribution_figure(views, lang) if drawn else EMPTY_FIGURE,
        (REVIEW_INDEX_DISTRIBUTION, "style"): _height(DISTRIBUTION_HEIGHT) if drawn else HIDDEN,
        (REVIEW_INDEX_DISTRIBUTION_SECTION, "style"): SHOWN,
        (REVIEW_INDEX_FUNNEL_HEAD, "children"): funnel_head,
        (REVIEW_INDEX_FUNNEL, "figure"): funnel_figure(views, lang) if has_enterprises else EMPTY_FIGURE,
        (REVIEW_INDEX_FUNNEL_TAIL, "children"): [flagged_table(views, lang)] if has_enterprises else [],
        (REVIEW_INDEX_FUNNEL_SECTION, "style"): SHOWN if has_enterprises else HIDDEN,
        (REVIEW_INDEX_RANKINGS, "children"): [rankings_section(views, lang, org)],
    }


def rankings_section(views, lang: str, org: Organisation = DEFAULT_ORGANISATION) -> html.Section:
    """The station and park rankings side by side."""
    rank_notes = [html.P(t("idx_rank_note", lang), className="note")]
    if views.rankings_ignore_sector:
        rank_notes.append(html.P(t("idx_rank_sector_note", lang), className="note"))
    return html.Section([
        html.H2(t("idx_rank_title", lang)), *rank_notes,
        html.Div([
            html.Div([html.H3(t("idx_rank_stations", lang)),
                      download_links("index-stations", ("csv", "xlsx"), lang),
                      ranking_table(views, views.stations, "station", REVIEW_INDEX_STATIONS, lang)],
                     style={"flex": "1 1 420px", "minWidth": "0"}),
            html.Div([html.H3(_parks_heading(views, lang, org)),
                      download_links("index-parks", ("csv", "xlsx"), lang),
                      ranking_table(views, views.parks, "park", REVIEW_INDEX_PARKS, lang)],
                     style={"flex": "1 1 420px", "minWidth": "0"}),
        ], style={"display": "flex", "flexWrap": "wrap", "gap": "24px"}),
    ], className="review-section", id="review-index-rankings-section")

"""The safety-index views of the leadership review (light theme): distribution, funnel plot, rankings.

Pure functions of ``data.index.index_views.IndexViews``: ``sections(views, lang)`` returns the components the review
page puts into its index holder (``ids.REVIEW_INDEX_HOLDER``). Component ids are defined here (prefix
``review-index-``) so that callbacks and tests can import them:

- funnel points carry ``customdata = [enterprise_id, count, expected, score, rate]``: a click handler reads
  ``point["customdata"][0]`` to open ``/enterprise/<id>``; points where several enterprises coincide carry
  ``[NaN, count, expected, rate, enterprises]`` and open nothing;
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

from figures.strings import t, tv
from figures.theme import BAND_COLOURS, GRAPH_CONFIG, LIGHT_TEMPLATE_NAME
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
from layouts.review import TABLE_AND_CHART, download_links

INDEX_GRAPH_CONFIG = {**GRAPH_CONFIG, "displayModeBar": "hover", "modeBarButtonsToRemove": ["sendDataToCloud"]}
FLAG_STYLE = {  # colour, marker size, opacity; drawn in this order (the most unusual on top)
    "within": ("#9aa7b4", 5, 0.45),
    "below_95": ("#5dade2", 7, 0.9),
    "below_998": ("#1f5f8b", 8, 0.95),
    "above_95": ("#f39c12", 7, 0.9),
    "above_998": ("#c0392b", 8, 0.95),
}
LIMIT_STYLE = {"95": {"color": "#7f8c8d", "width": 1.5, "dash": "dash"}, "998": {"color": "#34495e", "width": 1.5}}
UP_COLOUR, DOWN_COLOUR, FLAT_COLOUR, NEW_COLOUR = "#1e8449", "#c0392b", "#7f8c8d", "#1f6fb2"
FLAGGED_SHOWN = 10
FUNNEL_HEIGHT, DISTRIBUTION_HEIGHT = 480, 320
SHOWN, HIDDEN = {}, {"display": "none"}
EMPTY_FIGURE = {"data": [], "layout": {}}


def _month_label(month, lang: str) -> str:
    return t("ent_month", lang, y=month.year, m=month.month)


def _number(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def _signed(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f}"


def _scope_label(views, lang: str) -> str:
    scope = views.scope
    if scope.park_name:
        label = scope.park_name
    elif scope.station_name:
        label = tv(scope.station_name, lang)
    else:
        label = t("view_town", lang)
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


def _band_name(band: str, lang: str) -> str:
    return t("ent_band", lang, band=tv(band, lang))


def band_rules(distribution) -> dict[str, str]:
    """'≥80', '65–80', ..., '<50' per band, from the configured lower limits (best first)."""
    rules, upper = {}, None
    for name, lower in distribution.band_limits:
        rules[name] = f"≥{lower:g}" if upper is None else f"{lower:g}–{upper:g}"
        upper = lower
    last = distribution.bands[-1]
    if last not in rules:
        rules[last] = f"<{upper:g}" if upper is not None else ""
    return rules


# --- distribution ----------------------------------------------------------------------------------------

def distribution_figure(views, lang: str):
    """Enterprises per 5-point bin, stacked by band, with the median (and the filtered enterprise) marked."""
    import plotly.graph_objects as go

    dist = views.distribution
    edges = np.asarray(dist.edges, dtype=float)
    centres = (edges[:-1] + edges[1:]) / 2
    bins = np.column_stack([edges[:-1], edges[1:]])  # numeric, sent as a typed array like x and y
    if np.all(bins == np.round(bins)):
        bins = bins.astype(np.int64)  # plotly sends int64 as the smallest integer type that holds it: 1 byte here
    label = t("idx_hover_bin", lang, lo="%{customdata[0]}", hi="%{customdata[1]}")
    rules = band_rules(dist)
    fig = go.Figure()
    for band in dist.bands:
        fig.add_trace(go.Bar(
            x=centres, y=np.asarray(dist.counts[band], dtype=np.int64), width=edges[1] - edges[0], customdata=bins,
            name=t("idx_band_legend", lang, band=_band_name(band, lang), rule=rules.get(band, "")),
            marker={"color": BAND_COLOURS.get(band, "#9aa7b4"), "line": {"color": "#ffffff", "width": 1}},
            hovertemplate=f"{label}: %{{y}}<extra>%{{fullData.name}}</extra>"))
    if dist.median is not None:
        fig.add_vline(x=dist.median, line={"color": "#34495e", "dash": "dash", "width": 1.5})
        fig.add_annotation(x=dist.median, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
                           text=t("idx_median", lang, v=f"{dist.median:.1f}"), font={"color": "#34495e", "size": 12})
    if dist.highlight_score is not None:
        fig.add_vline(x=dist.highlight_score, line={"color": "#8e44ad", "width": 2})
        fig.add_annotation(x=dist.highlight_score, y=0.9, yref="paper", showarrow=False, xanchor="left",
                           text=" " + t("idx_this_enterprise", lang, v=f"{dist.highlight_score:.1f}"),
                           font={"color": "#8e44ad", "size": 12})
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, barmode="stack", bargap=0, height=DISTRIBUTION_HEIGHT,
                      margin={"l": 55, "r": 20, "t": 30, "b": 45},
                      xaxis={"title": t("idx_axis_score", lang), "range": [0, 100], "dtick": 10},
                      yaxis={"title": t("idx_axis_enterprises", lang), "rangemode": "tozero"},
                      legend={"orientation": "h", "y": -0.22, "traceorder": "normal"})
    return fig


def band_badges(views, lang: str) -> html.Div:
    """Enterprises per band: 蓝色 1,137 家（34.8%）…"""
    dist = views.distribution
    badges = []
    for band in dist.bands:
        n = dist.band_counts.get(band, 0)
        pct = f"{100 * n / dist.total:.1f}%" if dist.total else "—"
        badges.append(html.Span(t("idx_band_count", lang, band=_band_name(band, lang), n=f"{n:,}", pct=pct),
                                className=f"index-band index-band-{band}",
                                style={"background": BAND_COLOURS.get(band, "#9aa7b4"),
                                       "color": "#3d3000" if band == "黄" else "#ffffff", "padding": "2px 10px",
                                       "borderRadius": "10px", "marginRight": "8px", "fontSize": "14px",
                                       "whiteSpace": "nowrap", "display": "inline-block", "marginBottom": "4px"}))
    return html.Div(badges, id=REVIEW_INDEX_BANDS, className="index-bands")


def summary_line(views, lang: str) -> html.P:
    dist = views.distribution
    text = t("idx_summary", lang, scope=_scope_label(views, lang), n=f"{dist.total:,}",
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


def funnel_figure(views, lang: str, webgl: bool = True):
    """Rates against head counts with the centre line and the 95% / 99.8% Poisson control limits.

    Both axes are logarithmic: head counts run from 1 to about 1,000 and the funnel from a few incidents per
    100 workers a year for the largest enterprises to a few hundred for a one-person shop, so on a linear rate
    axis the large enterprises, whose excess matters most, would be squeezed into the bottom few pixels.
    Enterprises with no incident (rate 0) sit on a floor line labelled 0 below the lowest positive rate.

    Kept small to send and quick to draw (a unit change redraws it): the enterprises within the limits go as
    numbers only (typed arrays, no names), only the flagged ones and the filtered enterprise carry their names,
    and enterprises at the same place are one point. The points are WebGL (``webgl``): the page keeps the chart
    mounted, and updating a live WebGL plot takes ~40-100 ms where SVG takes ~100-400 ms for the town's ~1,500
    points (headless Chromium, no GPU); only the first draw pays for starting WebGL. Prints take SVG
    (``webgl=False``).
    """
    import plotly.graph_objects as go

    plot = views.funnel
    points = plot.points
    floor, ticks = rate_axis(views)
    fig = go.Figure()
    grid = np.round(plot.grid_workers, 2)
    for suffix, label in (("998", t("idx_limit_998", lang)), ("95", t("idx_limit_95", lang))):
        for i, side in enumerate(("upper", "lower")):
            values = np.asarray(plot.limits[f"{side}_{suffix}"], dtype=float)
            values = np.where(values > 0, np.round(values, 3), np.nan)  # a lower limit of 0 is no limit: a gap
            fig.add_trace(go.Scatter(x=grid, y=values, mode="lines", name=label, legendgroup=f"limit-{suffix}",
                                     showlegend=i == 0, hoverinfo="skip", line=LIMIT_STYLE[suffix],
                                     connectgaps=False))
    if plot.p0 > 0:
        fig.add_trace(go.Scatter(x=[float(grid[0]), float(grid[-1])], y=[plot.p0, plot.p0], mode="lines",
                                 name=t("idx_centre", lang, p0=f"{plot.p0:.2f}"), hoverinfo="skip",
                                 line={"color": "#2c3e50", "width": 1}))
    figures = (f"{t('idx_hover_incidents', lang)} %{{customdata[1]}} · {t('idx_hover_expected', lang)} "
               f"%{{customdata[2]:.2f}}<br>{t('idx_hover_rate', lang)} %{{customdata[4]:.1f}} · "
               f"{t('idx_hover_index', lang)} %{{customdata[3]:.1f}}<extra>%{{fullData.name}}</extra>")
    where = f"{t('idx_hover_id', lang)} %{{customdata[0]}} · {t('idx_hover_workers', lang)} %{{x}}"
    hover = f"%{{text}}<br>{where}<br>{figures}"  # named points: the name carries the imputation note
    within = points[points["flag"] == "within"]
    singles, groups = _split_coincident(within)
    marks = go.Scattergl if webgl else go.Scatter
    for flag, (colour, size, opacity) in FLAG_STYLE.items():
        rows = points[points["flag"] == flag]
        if rows.empty and flag != "within":
            continue
        name = (f"{t(f'idx_flag_{flag}', lang)}（{len(rows):,}）" if lang != "en"
                else f"{t(f'idx_flag_{flag}', lang)} ({len(rows):,})")
        marker = {"color": colour, "size": size, "opacity": opacity}
        if flag == "within":
            fig.add_traces(_within_traces(marks, singles, groups, floor, name, marker, where, lang))
            continue
        # the flagged few keep their names in the hover
        fig.add_trace(marks(
            x=_column(rows, "workers_used"), y=_shown_rates(rows, floor), mode="markers", name=name,
            legendgroup=flag, text=_point_names(rows, lang), customdata=_point_data(rows),
            hovertemplate=hover, marker={**marker, "symbol": _symbols(rows)}))
    if views.scope.enterprise is not None:
        own = points[points["enterprise_id"] == views.scope.enterprise]
        if len(own):
            fig.add_trace(go.Scatter(
                x=_column(own, "workers_used"), y=_shown_rates(own, floor), mode="markers",
                name=t("idx_this_enterprise", lang, v=""), text=_point_names(own, lang), customdata=_point_data(own),
                hovertemplate=hover,
                marker={"symbol": "star", "size": 16, "color": "#8e44ad", "line": {"color": "#ffffff", "width": 1}}))
    top = _rate_axis_top(views)
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=FUNNEL_HEIGHT, margin={"l": 60, "r": 20, "t": 20, "b": 50},
                      xaxis={"title": t("idx_axis_workers", lang), "type": "log"},
                      yaxis={"title": t("idx_axis_rate", lang), "type": "log",
                             "range": [float(np.log10(floor)) - 0.08, float(np.log10(top)) + 0.05],
                             "tickvals": [floor, *ticks], "ticktext": ["0", *[f"{v:g}" for v in ticks]]},
                      legend={"orientation": "h", "y": -0.16}, hovermode="closest", uirevision="index-funnel")
    return fig


NICE_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def rate_axis(views) -> tuple[float, list[float]]:
    """Where a zero rate is drawn (a nice value below the lowest positive rate, limit and centre) and the rate
    ticks above it."""
    plot = views.funnel
    rates = plot.points["rate"].to_numpy(dtype=float)
    candidates = [1.0]
    if (rates > 0).any():
        candidates.append(float(rates[rates > 0].min()))
    candidates += [float(v[v > 0].min()) for v in map(np.asarray, plot.limits.values()) if (v > 0).any()]
    if plot.p0 > 0:
        candidates.append(plot.p0)
    lowest = min(candidates) / 1.5
    floor = max([v for v in NICE_TICKS if v <= lowest], default=NICE_TICKS[0])
    top = _rate_axis_top(views)
    return floor, [v for v in NICE_TICKS if floor < v <= top]


def _shown_rates(rows, floor: float) -> np.ndarray:
    """Rates as drawn: a zero rate on the floor line."""
    rates = rows["rate"].to_numpy(dtype=float)
    return np.round(np.where(rates > 0, rates, floor), 3)


def _column(rows, name: str) -> np.ndarray:
    return np.round(rows[name].to_numpy(dtype=float), 2)


def _point_names(rows, lang: str) -> np.ndarray:
    note = t("idx_hover_imputed", lang)
    return np.array([f"{n}{note}" if imp else n for n, imp in zip(rows["name"], rows["imputed"])], dtype=object)


def _point_data(rows) -> np.ndarray:
    """customdata per point: [enterprise id, count, expected count, index score, rate], numbers only.

    Sent as plain JSON numbers, not as a typed array: dcc.Graph takes a click's customdata from the figure as
    sent (``gd.data``), where a typed array is still its base64 description, so a click on a point with typed
    customdata would carry no enterprise id. (An object array of Python numbers skips plotly's per-element
    validation of a nested list and is written out as one.)"""
    data = np.empty((len(rows), 5), dtype=object)
    scores = np.round(rows["score"].to_numpy(dtype=float), 1)
    data[:, 0] = rows["enterprise_id"].to_numpy(dtype=np.int64).tolist()
    data[:, 1] = rows["incidents"].to_numpy(dtype=np.int64).tolist()
    data[:, 2] = np.round(rows["expected"].to_numpy(dtype=float), 2).tolist()
    data[:, 3] = [None if np.isnan(sc) else sc for sc in scores.tolist()]
    data[:, 4] = np.round(rows["rate"].to_numpy(dtype=float), 2).tolist()
    return data


def _symbols(rows):
    """Open circles for head counts not recorded (an array only when the trace has some)."""
    imputed = rows["imputed"].to_numpy(dtype=bool)
    return np.where(imputed, 100, 0) if imputed.any() else "circle"  # symbol codes: 0 circle, 100 circle-open


def _split_coincident(rows):
    """Points that do not share their place, and one row per place shared by two or more (same head count,
    count and imputation) with ``n``, how many enterprises are there."""
    keys = ["workers_used", "incidents", "imputed"]
    size = rows.groupby(keys)["enterprise_id"].transform("size")
    shared = rows[size > 1]
    groups = shared.groupby(keys, sort=True).agg(expected=("expected", "first"), rate=("rate", "first"),
                                                 n=("enterprise_id", "size")).reset_index()
    return rows[size == 1], groups


def _group_head(lang: str) -> str:
    """'%{customdata[4]:,} 家企业重合于此': the idx_group text without its names (shared points carry none)."""
    return t("idx_group", lang, n="%{customdata[4]:,}", names="\0").split("\0")[0].rstrip("：:, ")


def _within_traces(marks, singles, groups, floor: float, name: str, marker: dict, where: str, lang: str) -> list:
    """The enterprises within the limits (most of them) as numbers only: no names, the id in the hover.

    One point per enterprise that has its place to itself (clickable: customdata[0] is its id), and one per
    place that several share, whose hover says how many (customdata ``[NaN, count, expected, rate, n]``, a typed
    array: nothing to open). Recorded and imputed head counts are separate traces, so the hover can say which
    and the symbol is one value per trace. The first trace is always drawn and carries the legend entry;
    ``marks`` is go.Scatter or go.Scattergl."""
    figures = (f"{t('idx_hover_incidents', lang)} %{{customdata[1]}} · {t('idx_hover_expected', lang)} "
               f"%{{customdata[2]:.2f}}")
    rate, extra = t("idx_hover_rate", lang), "<extra>%{fullData.name}</extra>"
    traces = []
    for shared, part in ((False, singles), (True, groups)):
        for imputed in (False, True):
            these = part[part["imputed"].to_numpy(dtype=bool) == imputed]
            if these.empty and traces:
                continue
            note = t("idx_hover_imputed", lang) if imputed else ""
            if shared:
                customdata = np.column_stack([  # float32: half the bytes of float64, exact for the counts
                    np.full(len(these), np.nan), these["incidents"].to_numpy(dtype=float),
                    these["expected"].to_numpy(dtype=float), these["rate"].to_numpy(dtype=float),
                    these["n"].to_numpy(dtype=float)]).astype(np.float32)
                hover = (f"{_group_head(lang)}<br>{t('idx_hover_workers', lang)} %{{x}}{note} · {figures}"
                         f"<br>{rate} %{{customdata[3]:.1f}}{extra}")
            else:
                customdata = _point_data(these)
                hover = (f"{where}{note}<br>{figures}<br>{rate} %{{customdata[4]:.1f}} · "
                         f"{t('idx_hover_index', lang)} %{{customdata[3]:.1f}}{extra}")
            traces.append(marks(
                x=_column(these, "workers_used"), y=_shown_rates(these, floor), mode="markers", name=name,
                legendgroup="within", showlegend=not traces, customdata=customdata, hovertemplate=hover,
                marker={**marker, "symbol": "circle-open" if imputed else "circle"}))
    return traces


def _rate_axis_top(views) -> float:
    """The y range: every point, and the upper 99.8% limit where the enterprises are (not at 1 worker)."""
    plot = views.funnel
    rates = plot.points["rate"].to_numpy(dtype=float)
    top = float(rates.max()) if len(rates) else 0.0
    workers = plot.points["workers_used"].to_numpy(dtype=float)
    if len(workers):
        at = np.interp(np.log(np.percentile(workers, 5)), np.log(plot.grid_workers), plot.limits["upper_998"])
        top = max(top, float(at))
    return max(top, plot.p0 * 3, 1.0) * 1.1


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


def _parks_heading(views, lang: str) -> str:
    if views.parks_station is None:
        return t("idx_rank_parks_all", lang)
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


def parts(views, lang: str) -> dict[tuple[str, str], object]:
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
    head = [html.H2(t("idx_title", lang, month=month)), summary_line(views, lang)]
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
        funnel_head = [html.H2(t("idx_funnel_title", lang)), html.P(note, id=REVIEW_INDEX_FUNNEL_NOTE, className="note"),
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
        (REVIEW_INDEX_RANKINGS, "children"): [rankings_section(views, lang)],
    }


def rankings_section(views, lang: str) -> html.Section:
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
            html.Div([html.H3(_parks_heading(views, lang)),
                      download_links("index-parks", ("csv", "xlsx"), lang),
                      ranking_table(views, views.parks, "park", REVIEW_INDEX_PARKS, lang)],
                     style={"flex": "1 1 420px", "minWidth": "0"}),
        ], style={"display": "flex", "flexWrap": "wrap", "gap": "24px"}),
    ], className="review-section", id="review-index-rankings-section")

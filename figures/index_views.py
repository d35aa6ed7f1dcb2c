"""The safety-index figures of the leadership review (light theme): the score distribution and the funnel plot.

Pure functions of ``data.index.index_views.IndexViews``, shared by the page (layouts/index_views.py) and the
chart downloads (exports/registry.py):

- ``distribution_figure``: enterprises per 5-point bin, stacked by band (``band_rules`` names the bands' limits);
- ``funnel_figure``: rates against head counts with the Poisson control limits, both axes logarithmic
  (``rate_axis``: where a zero rate is drawn and the ticks above it). Funnel points carry
  ``customdata = [enterprise_id, count, expected, score, rate]``: a click handler reads
  ``point["customdata"][0]`` to open ``/enterprise/<id>``; points where several enterprises coincide carry
  ``[NaN, count, expected, rate, enterprises]`` and open nothing.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from figures.strings import t, tv
from figures.theme import BAND_COLOURS, LIGHT_TEMPLATE_NAME

FLAG_STYLE = {  # colour, marker size, opacity; drawn in this order (the most unusual on top)
    "within": ("#9aa7b4", 5, 0.45),
    "below_95": ("#5dade2", 7, 0.9),
    "below_998": ("#1f5f8b", 8, 0.95),
    "above_95": ("#f39c12", 7, 0.9),
    "above_998": ("#c0392b", 8, 0.95),
}
LIMIT_STYLE = {"95": {"color": "#7f8c8d", "width": 1.5, "dash": "dash"}, "998": {"color": "#34495e", "width": 1.5}}
FUNNEL_HEIGHT, DISTRIBUTION_HEIGHT = 480, 320
EMPTY_FIGURE = {"data": [], "layout": {}}
NICE_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)


def band_name(band: str, lang: str) -> str:
    """A band as the legend and the badges name it: 蓝色."""
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
            name=t("idx_band_legend", lang, band=band_name(band, lang), rule=rules.get(band, "")),
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



# --- funnel ------------------------------------------------------------------------------------------------

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
    names = zip(rows["name"], rows["imputed"], strict=True)  # two columns of one frame
    return np.array([f"{n}{note}" if imp else n for n, imp in names], dtype=object)


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


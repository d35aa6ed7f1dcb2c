"""The enterprise profile's figure and words (light theme): the monthly index over its bands, and the text
formatters of scores, indicators, numbers, times and amounts.

Shared by the page (layouts/enterprise.py) and the chart download (exports/registry.py). Pure functions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import plotly.graph_objects as go

from data.index import safety_index
from data.screens import enterprise as ent
from figures.strings import t, tv
from figures.theme import BAND_COLOURS, LIGHT_TEMPLATE_NAME

INDEX_LINE_COLOUR = "#12355b"
INDEX_HOVER = "%{x|%Y-%m}: %{y:.1f} (%{customdata})<extra></extra>"
SHARE_INDICATORS = ("unsettled_share", "in_house_share")
COUNT_INDICATORS = ("open_hazards", "overdue_hazards", "severe_hazards", "teams")


# --- small formatters ----------------------------------------------------------------------------------

def fmt_score(value: float | None) -> str:
    """Index, pillar and indicator scores and contributions: two decimals, as in the docs."""
    return "—" if value is None else f"{value:.2f}"


def fmt_signed(value: float | None) -> str:
    if value is None:
        return "—"
    text = f"{value:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text.replace("-", "−")


def fmt_indicator(name: str, value: float | None) -> str:
    """An indicator's value (or peer mean) in its own unit: shares as percentages, counts as numbers."""
    if value is None:
        return "—"
    if name in SHARE_INDICATORS:
        return f"{100 * value:.1f}%"
    if name in COUNT_INDICATORS and float(value).is_integer():
        return f"{int(value)}"
    return f"{value:.2f}"


def fmt_number(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}"


def fmt_time(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def fmt_day(day: date | None) -> str:
    return "—" if day is None else day.isoformat()


def fmt_month(month: date, lang: str) -> str:
    return t("ent_month", lang, y=month.year, m=month.month)


def point_month(point: ent.IndexPoint, lang: str) -> str:
    """An index point's month, with 截至6月15日 when it was scored while in progress."""
    if not point.partial:
        return fmt_month(point.month, lang)
    return f"{fmt_month(point.month, lang)} {t('partial_through', lang, date=t('date_short', lang, day=point.through))}"


def fmt_amount(amount: Decimal | None) -> str:
    return "—" if amount is None else f"¥{amount:,.0f}"



# --- the index over time -------------------------------------------------------------------------------

def band_ranges(config: safety_index.IndexConfig) -> list[tuple[str, float, float]]:
    """(band, lower, upper) from the best band down; the last band reaches 0."""
    ranges, upper = [], 100.0
    for name, lower in config.bands:
        ranges.append((name, float(lower), upper))
        upper = float(lower)
    ranges.append((config.last_band, 0.0, upper))
    return ranges


def index_figure(history: tuple[ent.IndexPoint, ...], lang: str, config: safety_index.IndexConfig):
    """The monthly index: a line with band-coloured markers over the band thresholds as background."""
    fig = go.Figure()
    for name, lower, upper in band_ranges(config):
        fig.add_hrect(y0=lower, y1=upper, fillcolor=BAND_COLOURS.get(name, "#cccccc"), opacity=0.13, line_width=0,
                      layer="below")
        fig.add_annotation(x=1.0, xref="paper", xanchor="left", y=(lower + upper) / 2, yref="y", showarrow=False,
                           text=t("ent_band_range", lang, band=tv(name, lang), lo=f"{lower:g}"),
                           font={"size": 12, "color": "#5d6d7e"})
    months = [p.month.isoformat() for p in history]
    bands = [tv(p.band, lang) for p in history]
    fig.add_trace(go.Scatter(  # whole months only: a month in progress is drawn apart (partial_index_trace)
        x=months, y=[None if p.partial else round(p.score, 2) for p in history], mode="lines+markers",
        name=t("ent_index_series", lang), legendgroup="index", line={"color": INDEX_LINE_COLOUR, "width": 2},
        marker={"color": [BAND_COLOURS.get(p.band, "#888") for p in history], "size": 9,
                "line": {"color": "#ffffff", "width": 1}}, connectgaps=False,
        customdata=bands, hovertemplate=INDEX_HOVER,
    ))
    for pillar in safety_index.PILLARS:
        fig.add_trace(go.Scatter(x=months, y=[round(getattr(p, pillar), 2) for p in history], mode="lines",
                                 name=t(f"ent_pillar_{pillar}", lang), visible="legendonly",
                                 line={"width": 1, "dash": "dot"},
                                 hovertemplate="%{x|%Y-%m}: %{y:.1f}<extra>%{fullData.name}</extra>"))
    for k, point in enumerate(history):
        if point.partial:
            fig.add_trace(partial_index_trace(history[k - 1] if k else None, point, lang))
    xaxis = {"tickformat": "%Y-%m", "hoverformat": "%Y-%m"}
    if history:  # half a month of air either side, not the next year's January
        xaxis["range"] = [(history[0].month - timedelta(days=16)).isoformat(),
                          (history[-1].month + timedelta(days=16)).isoformat()]
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=330, margin={"l": 44, "r": 78, "t": 16, "b": 30},
                      yaxis={"range": [0, 100], "title": t("ent_index_axis", lang), "dtick": 20},
                      xaxis=xaxis,
                      legend={"orientation": "h", "y": -0.14, "x": 0}, hovermode="closest", showlegend=True)
    return fig


def partial_index_trace(before: ent.IndexPoint | None, point: ent.IndexPoint, lang: str):
    """A month in progress: a hollow marker on a dotted segment from the month before, labelled 截至6月15日, so
    a score to date is not read as the month's (or as a fall)."""
    note = t("partial_through", lang, date=t("date_short", lang, day=point.through))
    link = [before] if before is not None and not before.partial else []
    shown = link + [point]
    return go.Scatter(
        x=[p.month.isoformat() for p in shown], y=[round(p.score, 2) for p in shown], mode="lines+markers+text",
        name=f"{t('ent_index_series', lang)} ({note})", legendgroup="index", showlegend=False,
        line={"color": INDEX_LINE_COLOUR, "width": 2, "dash": "dot"},
        marker={"symbol": ["circle"] * len(link) + ["circle-open"], "size": [0] * len(link) + [11],
                "color": BAND_COLOURS.get(point.band, "#888"), "line": {"width": 2.5}},
        text=[""] * len(link) + [note], textposition="top left", textfont={"size": 12, "color": "#5d6d7e"},
        customdata=[tv(p.band, lang) for p in shown],
        hovertemplate=[INDEX_HOVER] * len(link) + [INDEX_HOVER.replace("<extra>", f" · {note}<extra>")],
    )


"""Reusable pure layout functions: a panel kind is one function used many times."""

from __future__ import annotations

from dash import html

from figures.strings import t

SIGNIFICANCE_MARKS = {"significant": "▲▲", "notable": "▲", "noise": "≈", "none": ""}  # none: a side has no data


def panel(title: str, body, panel_id: str | None = None, class_name: str = "") -> html.Section:
    """A titled box."""
    kwargs = {"id": panel_id} if panel_id else {}
    return html.Section([html.H2(title, className="panel-title"), html.Div(body, className="panel-body")],
                        className=f"panel {class_name}".strip(), **kwargs)


def kpi_tile(tile_id: str, label: str, value: str, detail: str = "", tone: str = "neutral",
             mark: str | None = None, mark_title: str | None = None) -> html.Div:
    """A KPI tile: label, big value, optional significance mark and detail line."""
    value_children = [html.Span(value, className="kpi-value-text")]
    if mark:
        value_children.append(html.Span(mark, className="kpi-mark", title=mark_title))
    return html.Div(
        [html.Div(label, className="kpi-label"),
         html.Div(value_children, className=f"kpi-value tone-{tone}"),
         html.Div(detail, className="kpi-detail")],
        id=tile_id, className="kpi-tile",
    )


def change_tone(pct: float | None, now: int | None) -> str:
    """Colour of a change: down is good (green), up is bad (red) for incident counts; no data is neutral."""
    if pct is None:
        return "up" if now is not None and now > 0 else "neutral"
    if pct < 0:
        return "down"
    if pct > 0:
        return "up"
    return "neutral"


def count_text(n: int | None, lang: str = "zh") -> str:
    """A count as the screen writes it: 1,234; 无数据 when the data do not cover its window (never 0)."""
    return t("no_data", lang) if n is None else f"{n:,}"

"""Colours, fonts and the Plotly template of the dark wall style; every figure and panel uses these."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

FONT_FAMILY = '"WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
BACKGROUND = "#061226"
PANEL = "#0b1f3a"
GRID = "#1c4a7a"
TEXT = "#d8e6ff"
MUTED = "#7f9cc4"
ACCENT = "#3fb6ff"
UP = "#ff5b5b"  # an increase of incidents is bad
DOWN = "#3ddc84"
WARN = "#ffb020"

BAND_COLOURS = {"蓝": "#2f80ed", "黄": "#f2c94c", "橙": "#f2994a", "红": "#eb5757"}
PRIORITY_COLOURS = {1: "#ff4d4f", 2: "#ffb020", 3: "#3fb6ff"}
SERIES = ["#3fb6ff", "#7f9cc4", "#3ddc84", "#ffb020", "#b38cff", "#ff7eb6", "#5ee7df", "#f2994a"]

# One config for every graph: no cloud upload button, no mode bar on the wall, no outside requests.
GRAPH_CONFIG = {"showSendToCloud": False, "displaylogo": False, "displayModeBar": False, "responsive": True}

TEMPLATE_NAME = "eqian_dark"


def _template() -> go.layout.Template:
    return go.layout.Template(layout=go.Layout(
        font={"family": FONT_FAMILY, "color": TEXT, "size": 16},
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        colorway=SERIES,
        xaxis={"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID, "tickfont": {"color": MUTED}},
        yaxis={"gridcolor": GRID, "zerolinecolor": GRID, "linecolor": GRID, "tickfont": {"color": MUTED}},
        legend={"font": {"color": TEXT}, "bgcolor": "rgba(0,0,0,0)", "orientation": "h", "y": 1.12},
        margin={"l": 48, "r": 16, "t": 16, "b": 36},
        hoverlabel={"font": {"family": FONT_FAMILY}},
    ))


pio.templates[TEMPLATE_NAME] = _template()


LIGHT_TEMPLATE_NAME = "eqian_light"
LIGHT_SERIES = ("#1f77b4", "#7f8c8d", "#bdc3c7", "#2ca02c", "#ff7f0e", "#9467bd")  # the first is this year


def _light_template() -> go.layout.Template:
    return go.layout.Template(layout=go.Layout(
        font={"family": FONT_FAMILY, "color": "#1f2d3d", "size": 14},
        paper_bgcolor="#ffffff", plot_bgcolor="#ffffff",
        colorway=list(LIGHT_SERIES),
        xaxis={"gridcolor": "#e5e8ec", "zerolinecolor": "#cfd6de", "linecolor": "#cfd6de"},
        yaxis={"gridcolor": "#e5e8ec", "zerolinecolor": "#cfd6de", "linecolor": "#cfd6de"},
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
        hoverlabel={"font": {"family": FONT_FAMILY}},
    ))


pio.templates[LIGHT_TEMPLATE_NAME] = _light_template()

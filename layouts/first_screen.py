"""The first screen: today's count, the programme's five figures and totals, and the newest calls.

Pure functions: ``layout()`` is the page shell, ``body(overview, lang)`` the part each refresh redraws.
"""

from __future__ import annotations

from dash import dcc, html

from data.metrics import format_pct
from data.overview import Overview
from data.programme import FIGURE_ORDER
from data.timeutil import to_local
from layouts import ids
from layouts.components import SIGNIFICANCE_MARKS, change_tone, data_table, kpi_tile, panel
from layouts.strings import t, tv


def layout(refresh_seconds: float = 2.0) -> html.Div:
    """The page shell; the body arrives with the first refresh."""
    return html.Div(
        [
            dcc.Location(id=ids.FS_LOCATION),
            dcc.Interval(id=ids.FS_INTERVAL, interval=int(refresh_seconds * 1000), n_intervals=0),
            dcc.Store(id=ids.FS_LAST_OK),
            html.Header(
                [html.H1(t("app_title"), className="app-title"),
                 html.Span(t("status_waiting"), id=ids.FS_STATUS, className="status-badge status-waiting")],
                className="app-header",
            ),
            html.Main(id=ids.FS_BODY, className="fs-body"),
        ],
        className="screen screen-first",
    )


def _recovered_text(amount, lang: str) -> str:
    value = float(amount)
    return f"¥{value / 1e6:,.1f}M" if lang == "en" else f"¥{value / 1e4:,.1f}万"


def figure_tiles(view: Overview, lang: str) -> list:
    """One tile per programme figure."""
    tiles = []
    for figure in FIGURE_ORDER:
        change = view.figures[figure]
        pct_text = format_pct(change.pct, change.now)
        if change.pct is None and change.now > 0 and lang == "en":
            pct_text = t("pct_new", lang)
        tiles.append(kpi_tile(
            ids.figure_tile(figure), t(f"fig_{figure}", lang), pct_text,
            t("now_vs_before", lang, now=f"{change.now:,}", before=f"{change.before:,}"),
            tone=change_tone(change.pct, change.now),
            mark=SIGNIFICANCE_MARKS[change.significance], mark_title=t(f"sig_{change.significance}", lang),
        ))
    return tiles


def total_tiles(view: Overview, lang: str) -> list:
    """Tiles for what the programme has done since it started."""
    totals = view.totals
    if totals is None:
        return []
    since = t("since_start", lang, date=totals.since.isoformat())
    return [
        kpi_tile(ids.total_tile("hazards_rectified"), t("total_hazards_rectified", lang),
                 f"{totals.hazards_rectified:,}", since),
        kpi_tile(ids.total_tile("enterprise_criminal_cases"), t("total_enterprise_criminal_cases", lang),
                 f"{totals.enterprise_criminal_cases:,}", since),
        kpi_tile(ids.total_tile("recovered"), t("total_recovered", lang),
                 _recovered_text(totals.enterprise_criminal_recovered, lang), since),
    ]


def calls_table(view: Overview, lang: str) -> html.Table:
    """The newest calls, masked."""
    columns = [t(k, lang) for k in ("col_time", "col_category", "col_station", "col_place", "col_caller",
                                    "col_phone", "col_disposition")]
    rows = [[c.received_at.strftime("%H:%M:%S"), tv(c.category, lang), tv(c.station, lang), c.place or "—",
             c.caller_name or "—", c.caller_phone or "—", tv(c.disposition, lang)] for c in view.calls]
    classes = [f"priority-{c.priority}" for c in view.calls]
    return data_table(columns, rows, table_id=ids.FS_CALLS, row_classes=classes)


def body(view: Overview, lang: str = "zh") -> list:
    """The redrawn part of the first screen."""
    demo = [html.Div([html.Span(t("demo_mark", lang), className="demo-mark"),
                      html.Span(t("demo_note", lang), className="demo-note")], id=ids.FS_DEMO_MARK)] if view.demo else []
    return demo + [
        html.Div([kpi_tile(ids.FS_TODAY, t("today_incidents", lang), f"{view.today_count:,}",
                           to_local(view.at).strftime("%Y-%m-%d"))] + total_tiles(view, lang), className="tile-row"),
        panel(t("rolling_note", lang), html.Div(figure_tiles(view, lang), className="tile-row")),
        panel(t("latest_calls", lang), calls_table(view, lang)),
    ]

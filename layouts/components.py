"""Reusable pure layout functions: a panel kind is one function used many times."""

from __future__ import annotations

from dash import html

from figures.strings import t
from layouts import ids

TABLE_AND_CHART = ("png", "svg", "csv", "xlsx")


def download_links(name: str, formats: tuple[str, ...], lang: str, kind: str = "table",
                   query: str | None = None) -> html.Div:
    """Download links of a table, a chart or the report, on any page: ``/export/chart/<name>.png|svg``,
    ``/export/table/<name>.csv|xlsx`` or ``/export/report.pdf|docx`` (``kind="report"``); the names are the
    registry's (exports/registry.py). Without ``query`` a link carries the page's current filters: assets/nav.js
    adds the address's query when it is clicked (the review page). With ``query`` (``enterprise=12``) the link
    is fixed and carries nothing else (the enterprise profile)."""
    links = []
    for fmt in formats:
        chart = fmt in ("png", "svg")
        base = (f"/export/report.{fmt}" if kind == "report" else
                f"/export/{'chart' if chart else 'table'}/{name}.{fmt}")
        extra = {"href": f"{base}?{query}"} if query else {"href": base, "data-export": base}
        title = t("download_fixed" if query else "download_as", lang, fmt=fmt.upper())
        links.append(html.A(fmt.upper(), className="download", title=title, **extra))
    return html.Div([html.Span(t("download", lang), className="download-label")] + links,
                    className="download-bar", id=ids.download_bar(name))

"""The page shell (a router) and the pages that are not a screen of their own."""

from __future__ import annotations

from dash import dcc, html

from layouts import ids
from layouts.strings import t


def root() -> html.Div:
    """The app's layout: the URL and the page drawn for it."""
    return html.Div([dcc.Location(id=ids.ROUTER_LOCATION, refresh="callback-nav"), dcc.Store(id=ids.ROUTER_RENDERED),
                     html.Div(id=ids.ROUTER_PAGE)])


def not_found(path: str, lang: str = "zh") -> html.Div:
    """A page for an unknown address."""
    return html.Div([html.H1(t("not_found", lang)), html.P(path), html.A(t("to_wall", lang), href="/")],
                    className="screen not-found")

"""The page shell (a router) and the pages that are not a screen of their own."""

from __future__ import annotations

from dash import dcc, html

from figures.strings import t
from layouts import ids


def root(user: str | None = None, role: str | None = None, admin: bool = False) -> html.Div:
    """The app's layout: the URL, the page drawn for it and, for a logged-in user, a small user bar."""
    return html.Div([dcc.Location(id=ids.ROUTER_LOCATION, refresh="callback-nav"), dcc.Store(id=ids.ROUTER_RENDERED),
                     html.Div(id=ids.ROUTER_PAGE), user_bar(user, role, admin)])


def user_bar(user: str | None, role: str | None, admin: bool, lang: str = "zh") -> html.Div:
    """Who is logged in, a link to the admin pages for an admin, and the logout link (hidden on the wall)."""
    if not user:
        return html.Div(id=ids.USER_BAR)
    links = [html.A(t("user_bar_admin", lang), href="/admin")] if admin else []
    return html.Div([html.Span(f"{user}（{role}）"), *links, html.A(t("user_bar_logout", lang), href="/logout")],
                    id=ids.USER_BAR, className="user-bar")


def forbidden(role: str, lang: str = "zh") -> html.Div:
    """A page the logged-in user may not open."""
    return html.Div([html.H1(t("forbidden", lang)), html.P(t("forbidden_detail", lang, role=role)),
                     html.A(t("to_wall", lang), href="/")], className="screen not-found forbidden")


def not_found(path: str, lang: str = "zh") -> html.Div:
    """A page for an unknown address."""
    return html.Div([html.H1(t("not_found", lang)), html.P(path), html.A(t("to_wall", lang), href="/")],
                    className="screen not-found")

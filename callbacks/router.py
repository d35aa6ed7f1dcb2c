"""The router: draw the page the URL asks for."""

from __future__ import annotations

import logging

from dash import Input, Output, State, no_update
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from callbacks.enterprise import enterprise_page
from data.core import db, units
from data.demo.generator import is_demo
from figures.strings import lang_from_search, t
from layouts import ids, pages, review, wall
from web import gate as auth
from web import inputs

log = logging.getLogger(__name__)


def wall_page(lang: str, kiosk: bool):
    """The wall, with its playlist: the town, then each station."""
    config = current_app.config
    try:
        with db.current_engine().connect() as conn:
            stations, demo = units.stations(conn), is_demo(conn)
    except SQLAlchemyError as exc:  # the wall still stands; its frames will report the outage
        log.warning("wall page without stations: %s", exc.__class__.__name__)
        stations, demo = [], False
    playlist = [{"kind": "town", "id": None, "seconds": config["EQIAN_WALL_TOWN_SECONDS"], "name": t("view_town", lang)}]
    playlist += [{"kind": "station", "id": s["id"], "seconds": config["EQIAN_WALL_STATION_SECONDS"], "name": s["name"]}
                 for s in stations]
    return wall.layout(lang, kiosk, demo, playlist, int(config["EQIAN_REFRESH_SECONDS"] * 1000),
                       int(config["EQIAN_FEED_SECONDS"] * 1000))


def review_page(lang: str):
    """The review page shell; its content follows the URL's query (callbacks/review.py)."""
    try:
        with db.current_engine().connect() as conn:
            stations, parks, demo = units.stations(conn), units.parks(conn), is_demo(conn)
    except SQLAlchemyError as exc:
        log.warning("review page without units: %s", exc.__class__.__name__)
        stations, parks, demo = [], [], False
    return review.layout(lang, stations, parks, demo)


def page_for(pathname, search):
    """The page for a path, if the logged-in user may open it (the HTTP gate checks page loads; this
    checks the pages reached by in-page navigation)."""
    lang = lang_from_search(search)
    kiosk = "kiosk=1" in (search or "")
    who = auth.current_principal()
    permission = auth.page_permission(pathname or "/")
    if who is None or (permission and not who.may(permission)):
        return pages.forbidden(auth.role_label(who.role, lang) if who else "—", lang)
    if pathname in ("/", "/wall", None):
        return wall_page(lang, kiosk)
    if pathname == "/review":
        return review_page(lang)
    if pathname and pathname.startswith("/enterprise/"):
        return enterprise_page(pathname.rsplit("/", 1)[-1], lang)
    return pages.not_found(pathname, lang)


def render(pathname, search, rendered):
    """Draw the page when the path (or the language) changes; a change of the query alone, or the back
    button returning to the same page, leaves the page standing for its own callbacks."""
    pathname = inputs.text(pathname, "pathname", max_len=inputs.MAX_URL)
    search = inputs.url_part(search, "search")
    rendered = inputs.text(rendered, "rendered", max_len=inputs.MAX_URL + 10)
    key = f"{pathname}|{lang_from_search(search)}"
    if key == rendered:
        return no_update, no_update
    return page_for(pathname, search), key


def register_callbacks(app) -> None:
    app.callback(Output(ids.ROUTER_PAGE, "children"), Output(ids.ROUTER_RENDERED, "data"),
                 Input(ids.ROUTER_LOCATION, "pathname"), State(ids.ROUTER_LOCATION, "search"),
                 State(ids.ROUTER_RENDERED, "data"))(render)

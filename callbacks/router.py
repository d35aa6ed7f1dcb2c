"""The router: draw the page the URL asks for."""

from __future__ import annotations

import logging

from dash import Input, Output
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from data import db, units
from data.demo.generator import is_demo
from layouts import first_screen, ids, pages, wall
from layouts.strings import lang_from_search, t

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


def render(pathname, search):
    """The page for a path."""
    lang = lang_from_search(search)
    kiosk = "kiosk=1" in (search or "")
    if pathname in ("/", "/wall", None):
        return wall_page(lang, kiosk)
    if pathname == "/first":
        return first_screen.layout(current_app.config["EQIAN_REFRESH_SECONDS"])
    return pages.not_found(pathname, lang)


def register_callbacks(app) -> None:
    app.callback(Output(ids.ROUTER_PAGE, "children"),
                 Input(ids.ROUTER_LOCATION, "pathname"), Input(ids.ROUTER_LOCATION, "search"))(render)

"""The router: draw the page the URL asks for.

Which page is where and the permission it needs are in web/pages.py (the gate reads them too); ``SCREENS`` gives
each Dash page there, by name, what the Dash app needs of it: the function that draws it, its part of the
validation layout and the function registering its callbacks. ``check_screens`` (called by ``app.create_app``)
refuses a page in one table and not in the other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from dash import Dash, Input, Output, State, html, no_update
from dash.development.base_component import Component
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from callbacks import review as review_callbacks
from callbacks import wall as wall_callbacks
from callbacks.enterprise import enterprise_page
from data import service
from data.core import db, units
from data.demo.generator import is_demo
from data.screens import setup
from figures.strings import lang_from_search
from layouts import ids, pages, review, wall
from web import gate as auth
from web import inputs
from web import pages as site_pages

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
    org = service.organisation_or_default()
    playlist = [{"kind": "town", "id": None, "seconds": config["EQIAN_WALL_TOWN_SECONDS"],
                 "name": org.whole_word(lang)}]
    playlist += [{"kind": "station", "id": s["id"], "seconds": config["EQIAN_WALL_STATION_SECONDS"], "name": s["name"]}
                 for s in stations]
    return wall.layout(lang, kiosk, demo, playlist, int(config["EQIAN_REFRESH_SECONDS"] * 1000),
                       int(config["EQIAN_FEED_SECONDS"] * 1000), org)


def review_page(lang: str):
    """The review page shell; its content follows the URL's query (callbacks/review.py)."""
    try:
        with db.current_engine().connect() as conn:
            stations, parks, demo = units.stations(conn), units.parks(conn), is_demo(conn)
            sectors, gap = units.sectors(conn), setup.missing_reference(conn)
    except SQLAlchemyError as exc:
        log.warning("review page without units: %s", exc.__class__.__name__)
        stations, parks, demo, sectors, gap = [], [], False, [], None
    return review.layout(lang, stations, parks, demo, service.organisation_or_default(), sectors, gap)


@dataclass(frozen=True)
class Screen:
    """What the Dash app needs of a Dash page of web/pages.py (its callbacks need the page's permission)."""

    draw: Callable[[str, str, bool], Component]  # (path, lang, kiosk) -> the page
    validation: Callable[[], Component] | None = None  # the components its callbacks refer to
    register: Callable[[Dash], None] | None = None  # registers its callbacks on a Dash app


SCREENS: dict[str, Screen] = {
    "wall": Screen(draw=lambda _path, lang, kiosk: wall_page(lang, kiosk), validation=wall.layout,
                   register=wall_callbacks.register_callbacks),
    "review": Screen(draw=lambda _path, lang, _kiosk: review_page(lang),
                     validation=lambda: review.layout("zh", [], [], False),
                     register=review_callbacks.register_callbacks),
    "enterprise": Screen(draw=lambda path, lang, _kiosk: enterprise_page(path.rsplit("/", 1)[-1], lang)),
}


class PageTableError(RuntimeError):
    """web/pages.py and SCREENS disagree: a Dash page without its screen, or a screen without its page."""


def check_screens(page_table=None, screens=None) -> None:
    """Raise PageTableError unless every Dash page of web/pages.py has its screen here and no screen is extra."""
    page_table = site_pages.dash_pages() if page_table is None else page_table
    screens = SCREENS if screens is None else screens
    wanted = {page.name for page in page_table if page.dash}
    missing, extra = sorted(wanted - set(screens)), sorted(set(screens) - wanted)
    if missing or extra:
        raise PageTableError(f"web/pages.py and callbacks/router.py SCREENS disagree: pages without a screen "
                             f"{missing}, screens without a page {extra}")


def screens() -> list[tuple[site_pages.Page, Screen]]:
    """The Dash pages in the order of web/pages.py, each with its screen."""
    return [(page, SCREENS[page.name]) for page in site_pages.dash_pages()]


def validation_layout() -> html.Div:
    """Every component a callback refers to: the page shell and each page's part."""
    return html.Div([pages.root(), *(screen.validation() for _page, screen in screens() if screen.validation)])


def page_for(pathname, search):
    """The page for a path, if the logged-in user may open it (the HTTP gate checks page loads; this
    checks the pages reached by in-page navigation)."""
    lang = lang_from_search(search)
    kiosk = "kiosk=1" in (search or "")
    who = auth.current_principal()
    permission = auth.page_permission(pathname or "/")
    if who is None or (permission and not who.may(permission)):
        return pages.forbidden(auth.role_label(who.role, lang) if who else "—", lang)
    path = "/" if pathname is None else pathname
    page = site_pages.drawn_at(path)
    if page is None:
        return pages.not_found(pathname, lang)
    return SCREENS[page.name].draw(path, lang, kiosk)


def render(pathname, search, rendered):
    """Draw the page when the path (or the language) changes; a change of the query alone, or the back
    button returning to the same page, leaves the page standing for its own callbacks."""
    pathname = inputs.text(pathname, "pathname", max_len=inputs.MAX_URL)
    search = inputs.url_part(search, "search")
    rendered = inputs.text(rendered, "rendered", max_len=inputs.MAX_URL + 10)
    key = f"{pathname}|{lang_from_search(search)}"
    if key == rendered:
        return {"page": no_update, "rendered": no_update}
    return {"page": page_for(pathname, search), "rendered": key}


def register_callbacks(app) -> None:
    """The router's own callback (any logged-in user: ``page_for`` checks each page's permission)."""
    app.callback(output={"page": Output(ids.ROUTER_PAGE, "children"), "rendered": Output(ids.ROUTER_RENDERED, "data")},
                 inputs={"pathname": Input(ids.ROUTER_LOCATION, "pathname")},
                 state={"search": State(ids.ROUTER_LOCATION, "search"),
                        "rendered": State(ids.ROUTER_RENDERED, "data")})(render)

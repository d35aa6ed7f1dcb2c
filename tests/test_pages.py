"""The page table (web/pages.py), page by page: the gate's permission, the router's answer for a role that may
open the page and for one that may not, its callbacks' permission, and the validation layout holding every id
its callbacks use. A page in the table without its screen in callbacks/router.py, or the other way round, stops
the app at start-up."""

from __future__ import annotations

import json

import pytest
from auth_support import ROLES, callback_outputs, ensure_accounts, login_client
from dash import Dash
from flask_login import login_user

import app as app_module
from callbacks import router
from data import service
from data.access.roles import PERMISSIONS, Principal
from data.core import db
from layouts import pages as page_layouts
from web import gate, pages
from web.gate import CALLBACK_PERMISSIONS_KEY, SessionUser

NOBODY = "nobody"  # a role roles.py does not know (a dropped one, say): it may open nothing


def _json(value) -> str:
    return json.dumps(value, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


def component_ids(component) -> set[str]:
    """The ids of a component and of everything in it."""
    found = set()

    def walk(node):
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and isinstance(props.get("id"), str):
                found.add(props["id"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(_json(component)))
    return found


def callback_ids(callback_map: dict) -> set[str]:
    """Every component id the callbacks of a callback_map write or read."""
    found = set()
    for key, spec in callback_map.items():
        outputs = callback_outputs(key)
        found |= {o["id"] for o in (outputs if isinstance(outputs, list) else [outputs])}
        found |= {d["id"] for d in spec["inputs"] + spec["state"]}
    return found


def guarded(page: pages.Page) -> list[str]:
    """Addresses that need the page's permission: its paths, and its prefix, it without a final slash, an address
    beneath it."""
    found = list(page.paths)
    if page.prefix:
        found += sorted({page.prefix, page.prefix.rstrip("/"), page.prefix + "1"})
    return found


def drawn(page: pages.Page) -> list[str]:
    return [address for address in guarded(page) if page.drawn_at(address)]


def permitted_role(page: pages.Page) -> str:
    return next(role for role in ROLES if page.permission in PERMISSIONS[role])


def forbidden_role(page: pages.Page) -> str:
    """A demo role without the page's permission, else a role unknown to roles.py (every demo role may open it)."""
    return next((role for role in ROLES if page.permission not in PERMISSIONS[role]), NOBODY)


PAGE_IDS = [page.name for page in pages.PAGES]


@pytest.fixture(scope="module")
def server(small_demo_town):
    server = app_module.create_app({"EQIAN_DATABASE_URL": small_demo_town.copy("pages"), "EQIAN_SIMULATE": False})
    ensure_accounts(server)
    with server.app_context():
        service.forget_version()
    yield server  # no app context held: each login below needs its own (flask-wtf keeps its token in g)
    db.engine_of(server).dispose()


def _as(server, role: str):
    """A request context logged in as a principal of ``role``."""
    context = server.test_request_context("/")
    context.push()
    login_user(SessionUser(Principal("user", 1, "测试", role)))
    return context


class TestTheTable:
    def test_pag001_every_dash_page_has_its_screen_and_no_screen_is_extra(self):
        router.check_screens()
        assert [page.name for page, _screen in router.screens()] == [p.name for p in pages.PAGES if p.dash]
        assert set(router.SCREENS) == {p.name for p in pages.PAGES if p.dash}
        assert len(set(PAGE_IDS)) == len(PAGE_IDS)

    def test_pag002_a_page_in_one_table_only_stops_the_app(self, monkeypatch, tmp_path):
        new = pages.Page("new", "review", paths=("/new",))
        with pytest.raises(router.PageTableError, match=r"pages without a screen \['new'\]"):
            router.check_screens(page_table=(*pages.PAGES, new))
        old = router.Screen(draw=lambda _path, _lang, _kiosk: None)
        with pytest.raises(router.PageTableError, match=r"screens without a page \['old'\]"):
            router.check_screens(screens={**router.SCREENS, "old": old})
        router.check_screens(page_table=(*pages.PAGES, pages.Page("flask", "admin", prefix="/flask", dash=False)))
        monkeypatch.setattr(pages, "PAGES", (*pages.PAGES, new))
        with pytest.raises(router.PageTableError, match="new"):
            app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}"})

    def test_pag003_the_gate_and_the_router_read_the_same_entries(self):
        assert gate.page_permission("/") == "wall"
        for address in ("/nowhere", "/first", "/login-help", "/enterprises"):
            assert gate.page_permission(address) is None and pages.drawn_at(address) is None
        assert pages.drawn_at("/wall/x") is None and gate.page_permission("/wall/x") == "wall"
        assert pages.drawn_at("/enterprise/1/x").name == "enterprise"


@pytest.mark.parametrize("page", pages.PAGES, ids=PAGE_IDS)
class TestEachPage:
    def test_pag010_the_gate_asks_for_the_page_permission(self, server, page):
        for address in guarded(page):
            assert gate.page_permission(address) == page.permission, address
        forbidden = forbidden_role(page)
        for role in (permitted_role(page), forbidden):
            if role == NOBODY:  # no demo account lacks the permission: the router's check below covers it
                continue
            client = server.test_client()
            login_client(client, role)
            for address in guarded(page):
                status = client.get(address).status_code
                if role == forbidden:
                    assert status == 403, (role, address, status)
                else:
                    assert status not in (401, 403), (role, address, status)

    def test_pag011_the_router_draws_the_page_for_a_permitted_role_only(self, server, page):
        assert bool(drawn(page)) == page.dash
        context = _as(server, forbidden_role(page))
        try:
            label = gate.role_label(forbidden_role(page))
            for address in guarded(page):
                assert _json(router.page_for(address, "")) == _json(page_layouts.forbidden(label)), address
        finally:
            context.pop()
        context = _as(server, permitted_role(page))
        try:
            for address in guarded(page):
                answer = _json(router.page_for(address, ""))
                assert "无权访问" not in answer, address
                not_found = answer == _json(page_layouts.not_found(address))
                assert not_found == (address not in drawn(page)), address  # a Flask page is not the router's
        finally:
            context.pop()

    def test_pag012_the_validation_layout_holds_every_id_the_page_callbacks_use(self, server, page):
        screen = router.SCREENS.get(page.name)
        if screen is None:
            assert not page.dash
            return
        everything = callback_ids(app_module.dash_app_of(server).callback_map)
        shell = component_ids(page_layouts.root())
        validation = component_ids(router.validation_layout())
        context = _as(server, permitted_role(page))
        try:
            drawn_ids = set().union(*(component_ids(router.page_for(address, "")) for address in drawn(page)))
        finally:
            context.pop()
        if screen.register is None:
            assert screen.validation is None
            assert drawn_ids & everything <= shell, "a page without callbacks draws ids some callback uses"
            return
        own = Dash(__name__)
        screen.register(own)
        used = callback_ids(own.callback_map)
        assert used <= validation, sorted(used - validation)
        assert used <= component_ids(screen.validation()) | shell
        assert used <= drawn_ids | shell, sorted(used - drawn_ids - shell)  # the page draws what they need
        permissions = app_module.dash_app_of(server).server.extensions[CALLBACK_PERMISSIONS_KEY]
        assert {key: permissions[key] for key in own.callback_map} == dict.fromkeys(own.callback_map, page.permission)

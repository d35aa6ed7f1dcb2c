"""Logging in from tests: the demo accounts (data/access/accounts.py) through the real login pages.

``login_client(client, role)`` logs a Flask test client in through /login (or /device for "wall");
``login_page(page, base_url, role)`` does the same in the browser, filling in the real form.
"""

from __future__ import annotations

import re

import app as app_module
from data.access import accounts as auth
from data.core import db

ROLES = ("wall", "leader", "analyst", "admin")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def ensure_accounts(server) -> None:
    """The demo accounts on the app's database (seed_demo makes them; smaller test databases may lack them)."""
    with db.engine_of(server).begin() as conn:
        auth.ensure_demo_accounts(conn)


def credentials(role: str) -> tuple[str, str]:
    for username, (_display, user_role, password) in auth.DEMO_PASSWORDS.items():
        if user_role == role:
            return username, password
    raise KeyError(role)


def csrf_token(client, path: str = "/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def login_client(client, role: str = "leader"):
    """Log a Flask test client in as the demo account of ``role``; returns the final response."""
    if role == "wall":
        token = csrf_token(client, "/device")
        response = client.post("/device", data={"csrf_token": token, "token": auth.DEMO_WALL_TOKEN[1],
                                                "next": "/session"})
    else:
        username, password = credentials(role)
        response = client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                               "password": password, "next": "/session"})
    assert response.status_code == 302, f"login as {role} failed: {response.status_code}"
    return response


def login_page(page, base_url: str, role: str = "leader") -> None:
    """Log the browser page in as the demo account of ``role`` through the real login page."""
    if role == "wall":
        page.goto(f"{base_url}/device#token={auth.DEMO_WALL_TOKEN[1]}&next=/session")
    else:
        username, password = credentials(role)
        page.goto(f"{base_url}/login?next=/session")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#login-submit")
    page.wait_for_url("**/session", timeout=15_000)


def callback_outputs(key: str):
    """The outputs spec of a Dash callback_map key ("id.prop" or "..id.prop...id.prop.."), as the browser sends it."""
    def one(part):
        ident, _, prop = part.partition(".")
        return {"id": ident, "property": prop.split("@")[0]}
    if key.startswith(".."):
        return [one(part) for part in key[2:-2].split("...")]
    return one(key)


def server_callbacks(server) -> dict[str, tuple[str, dict]]:
    """module.function -> (callback_map key, spec) for the server-side callbacks of an app's Dash app."""
    found = {}
    for key, spec in app_module.dash_app_of(server).callback_map.items():
        func = spec.get("callback")
        if func is not None:
            found[f"{func.__module__.removeprefix('callbacks.')}.{func.__name__}"] = (key, spec)
    return found


def callback_body(key: str, spec: dict, values=None, changed=()) -> dict:
    """A /_dash-update-component request for the callback ``key`` (its callback_map ``spec``) with ``values``
    for its inputs then states (default: all None)."""
    deps = spec["inputs"] + spec["state"]
    values = [None] * len(deps) if values is None else values
    items = [{"id": d["id"], "property": d["property"], "value": v} for d, v in zip(deps, values, strict=True)]
    body = {"output": key, "outputs": callback_outputs(key), "inputs": items[:len(spec["inputs"])],
            "changedPropIds": list(changed)}
    if spec["state"]:
        body["state"] = items[len(spec["inputs"]):]
    return body

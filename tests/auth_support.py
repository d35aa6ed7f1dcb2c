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


def named_values(spec: dict, values: dict) -> list:
    """Input then state values in the order the browser sends them, from values by the callback's argument
    names (its ``inputs=dict(...)``/``state=dict(...)`` names; those not given are None)."""
    indices = spec["inputs_state_indices"]
    if not isinstance(indices, dict):
        raise TypeError("the callback does not name its inputs (a dict signature)")
    unknown = set(values) - set(indices)
    if unknown:
        raise KeyError(f"the callback has no inputs named {sorted(unknown)}; it has {sorted(indices)}")
    flat = [None] * (len(spec["inputs"]) + len(spec["state"]))
    for name, value in values.items():
        flat[indices[name]] = value
    return flat


def callback_body(key: str, spec: dict, values=None, changed=()) -> dict:
    """A /_dash-update-component request for the callback ``key`` (its callback_map ``spec``) with ``values``:
    a list for its inputs then states in the order the browser sends them, or a dict by the callback's argument
    names (default: all None)."""
    deps = spec["inputs"] + spec["state"]
    if isinstance(values, dict):
        values = named_values(spec, values)
    values = [None] * len(deps) if values is None else values
    items = [{"id": d["id"], "property": d["property"], "value": v} for d, v in zip(deps, values, strict=True)]
    body = {"output": key, "outputs": callback_outputs(key), "inputs": items[:len(spec["inputs"])],
            "changedPropIds": list(changed)}
    if spec["state"]:
        body["state"] = items[len(spec["inputs"]):]
    return body


def named_outputs(key: str, spec: dict, response: dict) -> dict:
    """A callback's answer (the ``response`` of a /_dash-update-component reply) by the callback's output names,
    nested as the callback returns them (its ``output=dict(...)``); an output the answer leaves alone is absent."""
    flat = callback_outputs(key)
    flat = flat if isinstance(flat, list) else [flat]

    def pick(group):
        if isinstance(group, dict):
            picked = {name: pick(sub) for name, sub in group.items()}
            return {name: value for name, value in picked.items() if value is not _ABSENT}
        out = flat[group]
        return (response.get(out["id"]) or {}).get(out["property"], _ABSENT)

    indices = spec["outputs_indices"]
    if not isinstance(indices, dict):
        raise TypeError("the callback does not name its outputs (a dict signature)")
    return pick(indices)


_ABSENT = object()

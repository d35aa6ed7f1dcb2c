"""Access control and privacy (issue 7): accounts, throttling, tokens, the gate in front of every page, callback
and download, sessions that end, CSRF, security headers, masking by role and the audit log.

Data-level tests run on SQLite and PostgreSQL; the HTTP tests run the real app on the scale-1 demo (SQLite).
"""

from __future__ import annotations

import json
import re
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

import app as app_module
from auth_support import ROLES, callback_body, credentials, csrf_token, ensure_accounts, login_client
from data import access, audit, auth, db
from data.config import ConfigError, load_config
from data.enterprise import profile
from data.incidents import latest_calls
from data.schema import SCHEMA_VERSION, AuditEntry, DeviceToken, User
from data.timeutil import local_today, now_utc

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _actions(engine, action: str | None = None) -> list[AuditEntry]:
    with engine.connect() as conn:
        return audit.entries(conn, limit=1000, action=action)


# --- accounts and tokens (both backends) --------------------------------------------------------------------

class TestAccounts:
    def test_auth001_passwords_are_hashed_and_checked(self, engine):
        with engine.begin() as conn:
            auth.create_user(conn, "zhang", "correct horse battery", "leader")
        with engine.connect() as conn:
            stored = conn.execute(select(User.password_hash).where(User.username == "zhang")).scalar_one()
        assert stored.startswith("scrypt:") and "correct horse" not in stored
        with engine.begin() as conn:
            who = auth.authenticate(conn, "zhang", "correct horse battery", ip="10.0.0.1")
        assert (who.kind, who.name, who.role) == ("user", "zhang", "leader")
        with engine.begin() as conn, pytest.raises(auth.AuthError, match="wrong username or password"):
            auth.authenticate(conn, "zhang", "wrong horse battery", ip="10.0.0.1")

    @pytest.mark.parametrize("username, password, role, message", [
        ("li", "short", "leader", "at least 10"),
        ("li", "long enough password", "wall", "not a user role"),
        ("li", "long enough password", "chief", "not a user role"),
        ("", "long enough password", "leader", "1 to 64"),
    ])
    def test_auth002_bad_accounts_are_refused_with_the_reason(self, engine, username, password, role, message):
        with engine.begin() as conn, pytest.raises(auth.AuthError, match=message):
            auth.create_user(conn, username, password, role)

    def test_auth003_a_taken_name_is_refused(self, engine):
        with engine.begin() as conn:
            auth.create_user(conn, "wang", "long enough password", "analyst")
        with engine.begin() as conn, pytest.raises(auth.AuthError, match="exists already"):
            auth.create_user(conn, "wang", "another long password", "leader")

    def test_auth004_failed_logins_are_audited_and_throttled(self, engine):
        with engine.begin() as conn:
            auth.create_user(conn, "chen", "long enough password", "leader")
            auth.create_user(conn, "zhou", "long enough password", "leader")
        start = now_utc()
        for i in range(auth.MAX_FAILURES_PER_USER):
            with engine.begin() as conn, pytest.raises(auth.AuthError):
                auth.authenticate(conn, "chen", f"guess number {i}", ip="10.0.0.9", now=start + timedelta(seconds=i))
        with engine.begin() as conn, pytest.raises(auth.Throttled):  # even the right password, for a while
            auth.authenticate(conn, "chen", "long enough password", ip="10.0.0.9", now=start + timedelta(seconds=10))
        with engine.begin() as conn:  # another user from another address is not affected
            assert auth.authenticate(conn, "zhou", "long enough password", ip="10.0.0.8").name == "zhou"
        later = start + timedelta(minutes=auth.THROTTLE_MINUTES, seconds=30)
        with engine.begin() as conn:
            assert auth.authenticate(conn, "chen", "long enough password", ip="10.0.0.9", now=later).name == "chen"
        failed = _actions(engine, "login_failed")
        assert len(failed) == auth.MAX_FAILURES_PER_USER and {e.detail for e in failed} == {"wrong password"}
        assert all(e.actor == "chen" and e.ip == "10.0.0.9" for e in failed)
        assert len(_actions(engine, "login_throttled")) == 1 and len(_actions(engine, "login")) == 2

    def test_auth005_unknown_and_inactive_users_fail_alike(self, engine):
        with engine.begin() as conn:
            auth.create_user(conn, "sun", "long enough password", "leader")
            auth.change_user(conn, "sun", "admin", active=False)
        for name in ("sun", "nobody"):
            with engine.begin() as conn, pytest.raises(auth.AuthError, match="wrong username or password"):
                auth.authenticate(conn, name, "long enough password")
        assert {e.detail for e in _actions(engine, "login_failed")} == {"inactive", "unknown user"}
        with engine.connect() as conn:
            uid = conn.execute(select(User.id).where(User.username == "sun")).scalar_one()
            assert auth.user_principal(conn, uid) is None

    def test_auth006_device_tokens_are_stored_hashed_and_can_be_revoked(self, engine):
        with engine.begin() as conn:
            token_id, token = auth.issue_token(conn, "指挥室大屏1", "admin")
        with engine.connect() as conn:
            stored = conn.execute(select(DeviceToken.token_hash)).scalar_one()
        assert len(token) >= 40 and token not in stored and stored == auth.hash_token(token)
        with engine.begin() as conn:
            who = auth.token_login(conn, token, ip="10.1.1.1")
        assert (who.kind, who.role, who.name) == ("device", "wall", "指挥室大屏1")
        with engine.begin() as conn:
            auth.revoke_token(conn, token_id, "admin")
        for attempt in (token, "made-up-token"):
            with engine.begin() as conn, pytest.raises(auth.AuthError):
                auth.token_login(conn, attempt)
        with engine.connect() as conn:
            assert auth.device_principal(conn, token_id) is None
        refused = _actions(engine, "token_refused")
        assert [e.detail for e in refused] == ["unknown token", "revoked"]
        assert [e.action for e in reversed(_actions(engine))][:3] == ["token_issued", "token_login", "token_revoked"]

    def test_auth007_reveal_audits_only_roles_that_may_see(self, engine):
        leader = access.Principal("user", 1, "zhang", "leader")
        analyst = access.Principal("user", 2, "li", "analyst")
        admin = access.Principal("user", 3, "boss", "admin")
        with engine.connect() as conn:
            assert not access.reveal(conn, leader, "calls", "x")
            assert not access.reveal(conn, admin, "calls", "x")
            assert access.reveal(conn, analyst, "calls", "incident 7")
        views = _actions(engine, "unmasked_view")
        assert [(e.actor, e.role, e.target) for e in views] == [("li", "analyst", "incident 7")]

    def test_auth008_a_version_6_database_gains_the_new_tables_and_keeps_its_data(self, engine):
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_log"))
            conn.execute(text("DROP TABLE device_tokens"))
            conn.execute(text("DROP TABLE users"))
            db.set_meta(conn, "schema_version", "6")
            conn.execute(text("INSERT INTO stations (id, name, code, polygon_geojson, centre_lat, centre_lon) "
                              "VALUES (99, '测试所', 'T99', '{}', 30.9, 120.2)"))
        db.create_schema(engine)  # a real (non-demo) database: upgraded in place, nothing dropped
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name FROM stations WHERE id = 99")).scalar_one() == "测试所"
            auth.create_user(conn, "after", "long enough password", "admin")


class TestConfig:
    def test_auth010_production_refuses_the_development_key(self):
        with pytest.raises(ConfigError, match="must be set"):
            load_config(environ={"EQIAN_ENV": "production"})
        with pytest.raises(ConfigError, match="development key"):
            load_config(environ={"EQIAN_ENV": "production", "EQIAN_SECRET_KEY": "dev-only-not-secret"})
        config = load_config(environ={"EQIAN_ENV": "production", "EQIAN_SECRET_KEY": "s3cret-from-vault"})
        assert config["SESSION_COOKIE_SECURE"] is True and config["SECRET_KEY"] == "s3cret-from-vault"


# --- the app over HTTP (scale-1 demo on SQLite) --------------------------------------------------------------

@pytest.fixture(scope="module")
def server(demo_databases):
    engine = demo_databases("sqlite")
    app = app_module.create_app({"EQIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                                 "EQIAN_SIMULATE": False})
    ensure_accounts(app)
    yield app
    db.engine_of(app).dispose()


@pytest.fixture
def engine_of(server):
    return db.engine_of(server)


def _client(server, role: str | None = None):
    client = server.test_client()
    if role is not None:
        login_client(client, role)
    return client


def _callback_keys(server) -> list[str]:
    return sorted(app_module.dash_app_of(server).callback_map)


def _callback_body(server, key: str) -> dict:
    return callback_body(key, app_module.dash_app_of(server).callback_map[key])


def _post_callback(client, server, key: str, **headers):
    return client.post("/_dash-update-component", data=json.dumps(_callback_body(server, key)),
                       content_type="application/json", headers=headers)


PAGES = {  # path -> roles allowed
    "/": {"wall", "leader", "analyst", "admin"},
    "/wall?kiosk=1": {"wall", "leader", "analyst", "admin"},
    "/review": {"leader", "analyst", "admin"},
    "/review?period=month&station=2": {"leader", "analyst", "admin"},
    "/enterprise/1": {"leader", "analyst", "admin"},
    "/first": {"leader", "analyst", "admin"},
    "/admin/users": {"admin"},
    "/admin/tokens": {"admin"},
    "/admin/audit": {"admin"},
    "/export/table/book.csv?period=month": {"leader", "analyst", "admin"},
    "/export/table/overdue.xlsx": {"leader", "analyst", "admin"},
}
PERMISSION_OF_CALLBACK = {"wall": {"wall", "leader", "analyst", "admin"}, "review": {"leader", "analyst", "admin"},
                          None: {"wall", "leader", "analyst", "admin"}}


class TestGate:
    @pytest.mark.parametrize("path", [*PAGES, "/nowhere", "/_dash-layout", "/_dash-dependencies", "/session",
                                      "/export/report.pdf?period=2026-10", "/export/chart/trend.png"])
    def test_auth020_anonymous_requests_get_nothing(self, server, path):
        response = _client(server).get(path)
        if path.startswith(("/_dash-", "/export/")):
            assert response.status_code == 401
        else:
            assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")
        body = response.get_data(as_text=True)
        assert "织南" not in body and "警情" not in body

    def test_auth021_every_callback_refuses_an_anonymous_request(self, server):
        client = _client(server)
        keys = _callback_keys(server)
        assert len(keys) >= 10
        for key in keys:
            response = _post_callback(client, server, key)
            assert response.status_code == 401, key
            assert response.get_json() == {"error": "login required"}

    def test_auth022_static_files_and_the_login_page_are_open(self, server):
        client = _client(server)
        assert client.get("/login").status_code == 200
        assert client.get("/assets/auth.css").status_code == 200
        dash_js = re.search(r'src="(/_dash-component-suites/[^"]+)"', _client(server, "leader").get("/review").text)
        assert client.get(dash_js.group(1)).status_code == 200

    @pytest.mark.parametrize("role", ROLES)
    def test_auth023_each_role_opens_exactly_its_pages(self, server, role):
        client = _client(server, role)
        for path, allowed in PAGES.items():
            response = client.get(path)
            if role in allowed:
                assert response.status_code == 200, (role, path, response.status_code)
            else:
                assert response.status_code == 403, (role, path, response.status_code)
                assert "无权访问" in response.get_data(as_text=True) or path.startswith("/export/")

    @pytest.mark.parametrize("role", ROLES)
    def test_auth024_each_role_reaches_exactly_its_callbacks(self, server, role):
        client = _client(server, role)
        table = server.extensions["eqian_callback_permissions"]
        assert set(table) == set(_callback_keys(server)), "a callback registered without a permission"
        for key in _callback_keys(server):
            status = _post_callback(client, server, key).status_code
            if role in PERMISSION_OF_CALLBACK[table[key]]:
                assert status not in (401, 403), (role, key, status)
            else:
                assert status == 403, (role, key, status)

    def test_auth025_a_wall_token_on_a_leader_page_is_refused_and_audited(self, server, engine_of):
        client = _client(server, "wall")
        assert client.get("/review").status_code == 403
        review_callbacks = [k for k, p in server.extensions["eqian_callback_permissions"].items() if p == "review"]
        assert review_callbacks and _post_callback(client, server, review_callbacks[0]).status_code == 403
        assert client.get("/export/table/book.csv").status_code == 403
        entries = [e for e in _actions(engine_of, "forbidden") if e.actor.startswith("device:")][:3]
        assert {e.target for e in entries} == {"/review", "/_dash-update-component", "/export/table/book.csv"}

    def test_auth026_the_router_refuses_a_page_reached_inside_the_app(self, server):
        from callbacks import router

        client = _client(server, "wall")
        key = next(k for k, p in server.extensions["eqian_callback_permissions"].items()
                   if p is None and "page-content" in k)
        body = _callback_body(server, key)
        body["inputs"][0]["value"] = "/review"
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200
        page = json.dumps(response.get_json(), ensure_ascii=False)
        assert "无权访问" in page and "review-book" not in page
        body["inputs"][0]["value"] = "/"
        allowed = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert "无权访问" not in json.dumps(allowed.get_json(), ensure_ascii=False)
        assert router.page_for  # the router is what answered

    def test_auth027_cross_origin_callback_posts_are_refused(self, server):
        client = _client(server, "leader")
        key = next(k for k, p in server.extensions["eqian_callback_permissions"].items() if p == "review")
        assert _post_callback(client, server, key, Origin="http://evil.example").status_code == 403
        assert _post_callback(client, server, key, Origin="http://localhost").status_code not in (401, 403)


class TestSessions:
    def test_auth030_a_revoked_token_ends_the_wall_session(self, server, engine_of):
        wall = _client(server, "wall")
        assert wall.get("/").status_code == 200
        admin = _client(server, "admin")
        with engine_of.connect() as conn:
            token_id = conn.execute(select(DeviceToken.id).where(
                DeviceToken.token_hash == auth.hash_token(auth.DEMO_WALL_TOKEN[1]))).scalar_one()
        page = admin.get("/admin/tokens").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        assert admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token}).status_code == 302
        try:
            assert wall.get("/").status_code == 302
            frame = next(k for k, p in server.extensions["eqian_callback_permissions"].items() if p == "wall")
            assert _post_callback(wall, server, frame).status_code == 401
            fresh = server.test_client()
            refused = fresh.post("/device", data={"csrf_token": csrf_token(fresh, "/device"),
                                                  "token": auth.DEMO_WALL_TOKEN[1]})
            assert refused.status_code == 401 and "无效或已吊销" in refused.get_data(as_text=True)
            assert _actions(engine_of, "token_revoked")[0].actor == "admin"
            assert _actions(engine_of, "token_refused")[0].detail == "revoked"
        finally:
            with engine_of.begin() as conn:
                conn.execute(DeviceToken.__table__.update().where(DeviceToken.id == token_id).values(revoked_at=None))
            from callbacks.auth import forget_principal

            with server.app_context():
                forget_principal("device", token_id)

    @pytest.mark.parametrize("field, age", [("login_at", 13 * 3600), ("seen", 3 * 3600)])
    def test_auth031_an_expired_session_goes_back_to_the_login(self, server, engine_of, field, age):
        client = _client(server, "leader")
        assert client.get("/review").status_code == 200
        with client.session_transaction() as sess:
            sess[field] = time.time() - age
        response = client.get("/review")
        assert response.status_code == 302 and "reason=expired" in response.headers["Location"]
        assert _post_callback(client, server, _callback_keys(server)[0]).status_code == 401
        assert _actions(engine_of, "session_expired")[0].actor == "leader"

    def test_auth032_a_wall_session_does_not_expire_by_age(self, server):
        client = _client(server, "wall")
        with client.session_transaction() as sess:
            sess["login_at"] = sess["seen"] = time.time() - 40 * 24 * 3600
        assert client.get("/").status_code == 200

    def test_auth033_logout_needs_the_form_and_ends_the_session(self, server, engine_of):
        client = _client(server, "leader")
        assert client.post("/logout", data={}).status_code == 400  # no CSRF token
        assert client.get("/review").status_code == 200
        response = client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")})
        assert response.status_code == 302 and "reason=logged_out" in response.headers["Location"]
        assert client.get("/review").status_code == 302
        assert _actions(engine_of, "logout")[0].actor == "leader"

    def test_auth034_login_form_needs_its_csrf_token_and_refuses_open_redirects(self, server):
        client = _client(server)
        username, password = credentials("leader")
        no_token = client.post("/login", data={"username": username, "password": password})
        assert no_token.status_code == 400 and "表单已过期" in no_token.get_data(as_text=True)
        response = client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                               "password": password, "next": "//evil.example/x"})
        assert response.status_code == 302 and response.headers["Location"] == "/"

    def test_auth035_a_leader_sent_to_an_admin_page_lands_on_the_review(self, server):
        client = _client(server)
        username, password = credentials("leader")
        response = client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                               "password": password, "next": "/admin/users"})
        assert response.headers["Location"] == "/review"

    def test_auth036_throttled_login_page_says_so(self, server, engine_of):
        client = _client(server)
        with engine_of.begin() as conn:
            auth.create_user(conn, f"victim{time.time_ns()}", "long enough password", "leader")
            name = conn.execute(select(User.username).order_by(User.id.desc())).first()[0]
        statuses = []
        for _ in range(auth.MAX_FAILURES_PER_USER + 1):
            statuses.append(client.post("/login", data={"csrf_token": csrf_token(client), "username": name,
                                                        "password": "not the password"}).status_code)
        assert statuses == [401] * auth.MAX_FAILURES_PER_USER + [429]
        last = client.post("/login", data={"csrf_token": csrf_token(client), "username": name,
                                           "password": "long enough password"})
        assert last.status_code == 429 and "分钟后再试" in last.get_data(as_text=True)


class TestHeaders:
    def test_auth040_security_headers_on_pages_and_data(self, server):
        client = _client(server, "leader")
        page = client.get("/review")
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src and "'sha256-" in script_src
        assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
        assert page.headers["Cache-Control"] == "no-store"
        key = next(k for k, p in server.extensions["eqian_callback_permissions"].items() if p == "review")
        assert _post_callback(client, server, key).headers["Cache-Control"] == "no-store"
        assert client.get("/export/table/book.csv?period=week").headers["Cache-Control"] == "no-store"
        assert "no-store" not in client.get("/assets/auth.css").headers.get("Cache-Control", "")
        cookie = _client(server).post("/login", data={}).headers.get("Set-Cookie", "")
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie

    def test_auth041_every_inline_script_of_the_page_is_hashed(self, server):
        import base64
        import hashlib

        page = _client(server, "leader").get("/review")
        csp = page.headers["Content-Security-Policy"]
        html = re.sub(r"<!--.*?-->", "", page.get_data(as_text=True), flags=re.S)  # e.g. Dash's IE-only warning
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>(.*?)</script>", html, re.S)
        executable = [body for attrs, body in inline if "application/json" not in attrs]
        assert executable, "Dash renders its renderer inline"
        for body in executable:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in csp

    def test_auth042_a_tile_server_is_allowed_only_when_configured(self, demo_databases):
        engine = demo_databases("sqlite")
        app = app_module.create_app({"EQIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                                     "EQIAN_SIMULATE": False,
                                     "EQIAN_TILE_URL": "http://tiles.police.local:8080/{z}/{x}/{y}.png"})
        csp = app.test_client().get("/login").headers["Content-Security-Policy"]
        assert "img-src 'self' data: blob: http://tiles.police.local:8080" in csp
        assert "connect-src 'self' http://tiles.police.local:8080" in csp


class TestAdmin:
    def test_auth050_admin_creates_a_user_who_can_then_log_in(self, server, engine_of):
        admin = _client(server, "admin")
        name = f"liu{time.time_ns() % 10**8}"
        form = {"csrf_token": csrf_token(admin, "/admin/users"), "username": name, "display_name": "刘研判",
                "role": "analyst", "password": "a long analyst password"}
        assert admin.post("/admin/users", data={**form, "csrf_token": ""}).status_code == 400
        with engine_of.connect() as conn:
            assert conn.execute(select(User.id).where(User.username == name)).first() is None
        assert admin.post("/admin/users", data=form).status_code == 302
        assert name in admin.get("/admin/users").get_data(as_text=True)
        fresh = server.test_client()
        response = fresh.post("/login", data={"csrf_token": csrf_token(fresh), "username": name,
                                              "password": "a long analyst password", "next": "/session"})
        assert response.status_code == 302 and fresh.get("/session").get_json()["role"] == "analyst"
        created = _actions(engine_of, "user_created")[0]
        assert (created.actor, created.target, created.detail) == ("admin", name, "role=analyst")
        # deactivating the user ends their session at once
        change = {"csrf_token": csrf_token(admin, "/admin/users"), "role": "analyst", "password": ""}
        assert admin.post(f"/admin/users/{name}", data=change).status_code == 302  # active unchecked
        assert fresh.get("/review").status_code == 302
        assert "active=False" in _actions(engine_of, "user_changed")[0].detail

    def test_auth051_admin_issues_a_token_shown_once_that_logs_a_wall_in(self, server, engine_of):
        admin = _client(server, "admin")
        page = admin.post("/admin/tokens", data={"csrf_token": csrf_token(admin, "/admin/tokens"),
                                                 "name": "织南所大屏"}).get_data(as_text=True)
        link = re.search(r'<code id="admin-issued-link">([^<]+)</code>', page).group(1)
        token = re.search(r"#token=([^&]+)&", link.replace("&amp;", "&")).group(1)
        assert token not in admin.get("/admin/tokens").get_data(as_text=True)  # shown once
        wall = server.test_client()
        response = wall.post("/device", data={"csrf_token": csrf_token(wall, "/device"), "token": token})
        assert response.status_code == 302 and response.headers["Location"] == "/?kiosk=1"
        assert wall.get("/session").get_json() == {"name": "织南所大屏", "kind": "device", "role": "wall",
                                                    "label": "大屏"}

    def test_auth052_the_audit_page_lists_and_filters(self, server):
        admin = _client(server, "admin")
        _client(server, "leader")
        page = admin.get("/admin/audit?action=login").get_data(as_text=True)
        rows = re.findall(r'<tr data-action="([^"]+)">', page)
        assert rows and set(rows) == {"login"}
        assert "leader" in page and "127.0.0.1" in page


class TestMaskingAndAudit:
    def test_auth060_exports_and_reports_are_audited(self, server, engine_of):
        client = _client(server, "leader")
        assert client.get("/export/table/book.csv?period=month").status_code == 200
        entry = _actions(engine_of, "export")[0]
        assert (entry.actor, entry.target, entry.detail) == ("leader", "/export/table/book.csv", "period=month")
        assert client.get("/export/table/nothing.csv").status_code == 404
        assert _actions(engine_of, "export")[0].id == entry.id  # a failed download is not an export

    def test_auth061_the_wall_feed_is_masked_for_every_viewer(self, server, engine_of):
        with engine_of.connect() as conn:
            calls = latest_calls(conn, 20)
            plain = conn.execute(text("SELECT caller_phone FROM incidents WHERE caller_phone IS NOT NULL "
                                      "ORDER BY received_at DESC LIMIT 20")).scalars().all()
        assert calls and all("*" in (c.caller_phone or "*") and "*" in (c.caller_name or "*") for c in calls)
        assert not set(plain) & {c.caller_phone for c in calls}
        client = _client(server, "analyst")  # an analyst looking at the wall still sees it masked
        feed = next(k for k in _callback_keys(server) if "wall-feed" in k and "@" not in k)
        body = _callback_body(server, feed)
        body["inputs"][0]["value"] = 1
        for item in body["state"]:
            if item["id"] == "wall-settings":
                item["value"] = {"feed_ms": 1000}
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert not PHONE.search(response.get_data(as_text=True))

    def test_auth062_an_analyst_sees_a_profile_unmasked_and_it_is_audited(self, engine_of):
        with engine_of.connect() as conn:
            ent = conn.execute(text("SELECT enterprise_id FROM incidents WHERE enterprise_id IS NOT NULL "
                                    "AND caller_phone IS NOT NULL LIMIT 1")).scalar_one()
            today = local_today()
            masked = profile(conn, ent, today)
            before = len(_actions(engine_of, "unmasked_view"))
            analyst = access.Principal("user", 99, "li", "analyst")
            plain = profile(conn, ent, today, viewer=analyst)
            leader = profile(conn, ent, today, viewer=access.Principal("user", 98, "zhang", "leader"))
        assert all("****" in (i.caller_phone or "****") for i in masked.incidents.items)
        assert any(i.caller_phone and PHONE.fullmatch(i.caller_phone) for i in plain.incidents.items)
        assert leader == masked
        views = _actions(engine_of, "unmasked_view")
        assert len(views) == before + 1 and views[0].target == f"enterprise {ent}" and views[0].actor == "li"


class TestCli:
    def test_auth070_create_user_and_tokens_from_the_command_line(self, server, engine_of):
        runner = server.test_cli_runner()
        name = f"first_admin_{time.time_ns() % 10**6}"
        result = runner.invoke(args=["create-user", name, "--role", "admin", "--password", "a long admin password"])
        assert result.exit_code == 0, result.output
        short = runner.invoke(args=["create-user", name + "x", "--role", "admin", "--password", "short"])
        assert short.exit_code != 0 and "at least 10" in short.output
        issued = runner.invoke(args=["issue-token", "织北所大屏", "--base-url", "https://cockpit.zl"])
        assert issued.exit_code == 0 and "https://cockpit.zl/device#token=" in issued.output
        token_id = int(re.search(r"device token (\d+)", issued.output).group(1))
        assert runner.invoke(args=["revoke-token", str(token_id)]).exit_code == 0
        assert runner.invoke(args=["revoke-token", str(token_id)]).exit_code != 0
        changed = runner.invoke(args=["change-user", name, "--inactive"])
        assert changed.exit_code == 0
        with engine_of.connect() as conn:
            assert conn.execute(select(User.active).where(User.username == name)).scalar_one() is False


class TestMaskingByRole:
    @staticmethod
    def _overdue_address(engine_of):
        with engine_of.connect() as conn:
            return conn.execute(text(
                "SELECT e.address FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id "
                "WHERE h.status = '待整改' AND h.deadline < :today ORDER BY h.deadline LIMIT 1"),
                {"today": local_today()}).scalar_one()

    def test_auth080_overdue_table_is_masked_for_leaders_and_plain_for_analysts(self, server, engine_of):
        full = self._overdue_address(engine_of)
        leader = _client(server, "leader").get("/export/table/overdue.csv").get_data(as_text=True)
        assert full not in leader and "已脱敏" in leader
        views = len(_actions(engine_of, "unmasked_view"))
        analyst = _client(server, "analyst").get("/export/table/overdue.csv").get_data(as_text=True)
        assert full in analyst and "未脱敏" in analyst
        entries = _actions(engine_of, "unmasked_view")
        assert len(entries) == views + 1 and entries[0].actor == "analyst"
        assert "overdue hazards" in entries[0].detail

    def test_auth081_enterprise_downloads_follow_the_role(self, server, engine_of):
        with engine_of.connect() as conn:
            ent, phone = conn.execute(text(
                "SELECT enterprise_id, caller_phone FROM incidents WHERE enterprise_id IS NOT NULL "
                "AND caller_phone IS NOT NULL ORDER BY received_at DESC LIMIT 1")).one()
        url = f"/export/table/enterprise-incidents.csv?enterprise={ent}"
        leader = _client(server, "leader").get(url).get_data(as_text=True)
        assert phone not in leader and not PHONE.search(leader)
        analyst = _client(server, "analyst").get(url).get_data(as_text=True)
        assert phone in analyst and "未脱敏" in analyst
        assert _actions(engine_of, "unmasked_view")[0].target == f"enterprise {ent}"

    def test_auth082_reports_are_masked_unless_the_role_may_see(self, server, engine_of):
        import io

        from docx import Document

        def docx_text(body: bytes) -> str:
            doc = Document(io.BytesIO(body))
            cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
            return "\n".join([p.text for p in doc.paragraphs] + cells)

        full = self._overdue_address(engine_of)
        url = "/export/report.docx?period=month"
        leader = docx_text(_client(server, "leader").get(url).data)
        assert "已脱敏" in leader and full not in leader
        analyst = docx_text(_client(server, "analyst").get(url).data)
        assert full in analyst and "未脱敏" in analyst
        reports = _actions(engine_of, "report")[:2]
        assert [e.actor for e in reports] == ["analyst", "leader"] and reports[0].detail == "period=month"


def _every_download() -> list[str]:
    from layouts import exports as export_layout

    charts = [f"/export/chart/{name}.{fmt}" for name in export_layout.CHARTS for fmt in ("png", "svg")]
    tables = [f"/export/table/{name}.{fmt}" for name in export_layout.TABLES for fmt in ("csv", "xlsx")]
    return ["/export/report.pdf", "/export/report.docx", *charts, *tables]


def test_auth090_every_download_refuses_the_anonymous_and_the_wall(server):
    anonymous, wall = _client(server), _client(server, "wall")
    urls = _every_download()
    assert len(urls) >= 40
    for url in urls:
        assert anonymous.get(url + "?enterprise=1").status_code == 401, url
        assert wall.get(url + "?enterprise=1").status_code == 403, url

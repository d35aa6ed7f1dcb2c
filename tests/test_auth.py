"""Access control and privacy (issue 7): accounts, throttling, tokens, the gate in front of every page, callback
and download, sessions that end, CSRF, security headers, masking by role and the audit log.

Data-level tests run on SQLite and PostgreSQL; the HTTP tests run the real app on the scale-1 demo (SQLite).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from auth_support import ROLES, callback_body, credentials, csrf_token, ensure_accounts, login_client
from fault_support import free_port, private_redis  # noqa: F401 - a fixture
from migration_support import before_the_migrations
from sqlalchemy import select, text

import app as app_module
from data.access import accounts as auth
from data.access import audit
from data.access import roles as access
from data.core import cache as cache_module
from data.core import db, migrate
from data.core.config import DEV_SECRET_KEY, ConfigError, load_config
from data.core.schema import SCHEMA_VERSION, AuditEntry, DeviceToken, User
from data.core.timeutil import local_today, now_utc
from data.screens.enterprise import profile
from data.screens.incidents import latest_calls

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
        for i in range(auth.MAX_FAILURES_PER_ADDRESS):
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
        assert len(failed) == auth.MAX_FAILURES_PER_ADDRESS and {e.detail for e in failed} == {"wrong password"}
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
        before_the_migrations(engine, "6")
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE audit_log"))
            conn.execute(text("DROP TABLE device_tokens"))
            conn.execute(text("DROP TABLE users"))
            conn.execute(text("INSERT INTO stations (id, name, code, polygon_geojson, centre_lat, centre_lon) "
                              "VALUES (99, '测试所', 'T99', '{}', 30.9, 120.2)"))
        db.create_schema(engine)  # a real (non-demo) database: upgraded in place, nothing dropped
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION == migrate.current_revision(engine)
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

    @pytest.mark.parametrize("value", ["Production", "PRODUCTION", "prod", "production ", " production", "dev",
                                       "staging", "test", ""])
    def test_auth011_an_unknown_environment_is_an_error_naming_the_allowed_ones(self, value):
        with pytest.raises(ConfigError, match=re.escape(f"EQIAN_ENV={value!r} is not an environment: use one of "
                                                        "development, production")):
            load_config(environ={"EQIAN_ENV": value, "EQIAN_SECRET_KEY": "s3cret-from-vault"})
        assert load_config(environ={"EQIAN_ENV": "development"})["EQIAN_ENV"] == "development"

    @pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.20.0.11", "cockpit.zhili.internal", "", "[::]"])
    def test_auth012_the_development_key_is_refused_beyond_loopback(self, host):
        with pytest.raises(ConfigError, match=re.escape(f"EQIAN_SECRET_KEY must be set when EQIAN_HOST={host!r} "
                                                        "listens beyond this machine")):
            load_config(environ={"EQIAN_HOST": host})
        with pytest.raises(ConfigError, match="beyond this machine"):  # the key spelled out is the same key
            load_config(environ={"EQIAN_HOST": host, "EQIAN_SECRET_KEY": DEV_SECRET_KEY})
        assert load_config(environ={"EQIAN_HOST": host, "EQIAN_SECRET_KEY": "s3cret"})["EQIAN_HOST"] == host

    @pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
    def test_auth013_the_development_key_serves_loopback_but_not_gunicorn(self, host):
        assert load_config(environ={"EQIAN_HOST": host})["SECRET_KEY"] == DEV_SECRET_KEY
        under_gunicorn = {"EQIAN_HOST": host, "SERVER_SOFTWARE": "gunicorn/27.0.1"}
        with pytest.raises(ConfigError, match="EQIAN_SECRET_KEY must be set under gunicorn"):
            load_config(environ=under_gunicorn)
        assert load_config(environ={**under_gunicorn, "EQIAN_SECRET_KEY": "s3cret"})["SECRET_KEY"] == "s3cret"

    @pytest.mark.faults
    def test_auth014_gunicorn_with_the_development_key_refuses_to_start(self, tmp_path):
        """Started as production starts it (deploy/gunicorn.conf.py, preloaded, on loopback), without a key."""
        gunicorn = Path(sys.executable).with_name("gunicorn")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EQIAN_", "GUNICORN_", "SERVER_SOFTWARE"))}
        env.update(EQIAN_DATABASE_URL=f"sqlite:///{tmp_path / 'g.db'}", EQIAN_DEMO="0", EQIAN_SIMULATE="0",
                   WEB_CONCURRENCY="1")
        env.pop("RUNTIME_DIRECTORY", None)
        log = tmp_path / "gunicorn.log"
        with open(log, "wb") as out:
            master = subprocess.Popen([str(gunicorn), "-c", "deploy/gunicorn.conf.py", "-b",
                                       f"127.0.0.1:{free_port()}", "app:server"], cwd=Path(app_module.__file__).parent,
                                      env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = master.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(master.pid, signal.SIGKILL)  # its own process group: the master and any worker
            master.wait()
            pytest.fail(f"gunicorn started with the development key:\n{log.read_text()[-2000:]}")
        assert returncode != 0 and "EQIAN_SECRET_KEY must be set under gunicorn" in log.read_text()


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


@pytest.fixture
def bare_app(tmp_path):
    """``make(**config)``: an app with the demo accounts and no data, on this test's own SQLite file; every app it
    makes shares that file, as gunicorn workers share the database."""
    made = []
    url = f"sqlite:///{tmp_path / 'bare.db'}"

    def make(**config):
        server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": False, "EQIAN_SIMULATE": False,
                                        **config})
        ensure_accounts(server)
        made.append(server)
        return server

    yield make
    for server in made:
        db.engine_of(server).dispose()


def _errors_logged(caplog) -> list[str]:
    """What was logged at ERROR or with a traceback."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def _client(server, role: str | None = None):
    client = server.test_client()
    if role is not None:
        login_client(client, role)
    return client


def _callback_keys(server) -> list[str]:
    return sorted(app_module.dash_app_of(server).callback_map)


def _callback_body(server, key: str, values: dict | None = None) -> dict:
    """A request for the callback ``key``, with ``values`` by the callback's argument names (others None)."""
    return callback_body(key, app_module.dash_app_of(server).callback_map[key], values)


def _post_callback(client, server, key: str, **headers):
    return client.post("/_dash-update-component", data=json.dumps(_callback_body(server, key)),
                       content_type="application/json", headers=headers)


# "next" values that must not send anyone off the site: browsers drop tabs and line breaks and read a backslash as a
# slash, so "/\t/evil.example" is "//evil.example" to them; a line break also broke the Location header (a 500).
HOSTILE_NEXT = ["//evil.example", "///evil.example", "/\t/evil.example", "/\n/evil.example", "/\r/evil.example",
                "/x\r\nSet-Cookie: stolen=1", "/\\evil.example", "\\\\evil.example", "/\\/evil.example",
                "/%2F/evil.example", "/%2f%2fevil.example", "%2F%2Fevil.example", "/%252F/evil.example",
                "/%5Cevil.example", "/%09/evil.example", "/%0a/evil.example", "https:evil.example",
                "https://evil.example", "http:/evil.example", "javascript:alert(1)", "evil.example",
                "/\uff0f/evil.example", "\uff0f\uff0fevil.example", "/\u2215/evil.example", "/\u2044/evil.example",
                "/\uff3cevil.example", " //evil.example", "/\x00/evil.example", "/\x0b/evil.example",
                "/\u2028/evil.example", "/\u00a0/evil.example", "/\u200b/evil.example", "/" + "a" * 5000]
NEXT_FIELD = re.compile(r'name="next" type="hidden" value="([^"]*)"')

PAGES = {  # path -> roles allowed
    "/": {"wall", "leader", "analyst", "admin"},
    "/wall?kiosk=1": {"wall", "leader", "analyst", "admin"},
    "/review": {"leader", "analyst", "admin"},
    "/review?period=month&station=2": {"leader", "analyst", "admin"},
    "/enterprise/1": {"leader", "analyst", "admin"},
    "/admin/users": {"admin"},
    "/admin/tokens": {"admin"},
    "/admin/audit": {"admin"},
    "/admin/organisation": {"admin"},
    "/admin/stations": {"admin"},
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

    @pytest.mark.parametrize("path", ["/_dash-component-suites/nothing/x.js", "/_dash-component-suites/dash/nothing.js",
                                      "/_dash-component-suites/dash/deps/react@0.0.1.min.js",
                                      "/_dash-component-suites/os/path.py",
                                      "/_dash-component-suites/dash/..%2F..%2Fsetup.py",
                                      "/_dash-component-suites/plotly/package_data/plotly.v9_9_9m1.min.js.map"])
    def test_auth028_an_unknown_bundle_is_a_quiet_404_for_everyone(self, bare_app, path, caplog):
        server = bare_app()
        anonymous, leader = server.test_client(), server.test_client()
        login_client(leader, "leader")
        with caplog.at_level(logging.INFO):
            statuses = [client.get(path).status_code for client in (anonymous, leader)]
        assert statuses == [404, 404]
        assert _errors_logged(caplog) == []

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
        body = _callback_body(server, key, {"pathname": "/review"})
        response = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
        assert response.status_code == 200
        page = json.dumps(response.get_json(), ensure_ascii=False)
        assert "无权访问" in page and "review-book" not in page
        body = _callback_body(server, key, {"pathname": "/"})
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
            from web.gate import forget_principal

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
        client.environ_base["REMOTE_ADDR"] = "10.36.0.1"  # its own address: the lock must not reach other tests
        with engine_of.begin() as conn:
            auth.create_user(conn, f"victim{time.time_ns()}", "long enough password", "leader")
            name = conn.execute(select(User.username).order_by(User.id.desc())).first()[0]
        statuses = []
        for _ in range(auth.MAX_FAILURES_PER_ADDRESS + 1):
            statuses.append(client.post("/login", data={"csrf_token": csrf_token(client), "username": name,
                                                        "password": "not the password"}).status_code)
        assert statuses == [401] * auth.MAX_FAILURES_PER_ADDRESS + [429]
        last = client.post("/login", data={"csrf_token": csrf_token(client), "username": name,
                                           "password": "long enough password"})
        assert last.status_code == 429 and "分钟后再试" in last.get_data(as_text=True)

    def test_auth037_login_sends_no_one_to_another_site_however_next_is_spelled(self, bare_app):
        client = bare_app().test_client()
        username, password = credentials("leader")
        for target in HOSTILE_NEXT:
            page = client.get("/login", query_string={"next": target})
            assert page.status_code == 200 and NEXT_FIELD.search(page.text).group(1) == "/", repr(target)
            response = client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                                   "password": password, "next": target})
            assert (response.status_code, response.headers.get("Location")) == (302, "/"), repr(target)
        kept = client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                           "password": password, "next": "/review?period=28d&category=刑事"})
        assert kept.headers["Location"] == "/review?period=28d&category=%E5%88%91%E4%BA%8B"

    def test_auth038_a_wall_is_sent_to_no_other_site_however_next_is_spelled(self, bare_app):
        client = bare_app().test_client()
        for target in HOSTILE_NEXT:
            response = client.post("/device", data={"csrf_token": csrf_token(client, "/device"),
                                                    "token": auth.DEMO_WALL_TOKEN[1], "next": target})
            assert (response.status_code, response.headers.get("Location")) == (302, "/?kiosk=1"), repr(target)
        kept = client.post("/device", data={"csrf_token": csrf_token(client, "/device"),
                                            "token": auth.DEMO_WALL_TOKEN[1], "next": "/wall?kiosk=1"})
        assert kept.headers["Location"] == "/wall?kiosk=1"


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

    @pytest.mark.parametrize("value", [2**63, 2**64, 10**30, 2**31, 0, -1, "1e9", "0x10", "１２"])
    def test_auth053_ids_no_column_holds_get_a_4xx_and_no_traceback(self, bare_app, value, caplog):
        admin = bare_app().test_client()
        login_client(admin, "admin")
        token = csrf_token(admin, "/admin/tokens")
        with caplog.at_level(logging.INFO):
            revoke = admin.post(f"/admin/tokens/{value}/revoke", data={"csrf_token": token})
            audit_page = admin.get("/admin/audit", query_string={"before": value})
            days = admin.get("/admin/audit", query_string={"days": value})
        assert 400 <= revoke.status_code < 500 and audit_page.status_code == 400 and days.status_code == 200
        assert "is not an id" in audit_page.text
        assert _errors_logged(caplog) == []
        assert admin.get("/admin/audit?before=2147483647").status_code == 200

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
        body = _callback_body(server, feed, {"poll": 1, "settings": {"feed_ms": 1000}})
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
    from exports import registry as export_layout

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


# --- throttling: the guessing address is locked out, not the account (both backends) -------------------------

ATTACKER = "203.0.113.9"


def _guess(engine, username: str, ip: str, at, password: str = "a wrong guess"):
    """One login attempt; the exception it raised (every attempt here fails)."""
    with engine.begin() as conn, pytest.raises(auth.AuthError) as refused:
        auth.authenticate(conn, username, password, ip=ip, now=at)
    return refused.value


class TestThrottling:
    def test_auth091_guesses_lock_out_the_guessing_address_not_the_account(self, engine):
        with engine.begin() as conn:
            auth.create_user(conn, "boss", "long enough password", "admin")
        start = now_utc()
        for i in range(auth.MAX_FAILURES_PER_ADDRESS):
            refused = _guess(engine, "boss", ATTACKER, start + timedelta(seconds=i))
            assert not isinstance(refused, auth.Throttled)
        soon = start + timedelta(seconds=10)
        assert isinstance(_guess(engine, "boss", ATTACKER, soon, "long enough password"), auth.Throttled)
        with engine.begin() as conn:  # the owner, from their own desk, while the attacker waits
            assert auth.authenticate(conn, "boss", "long enough password", ip="10.20.1.5", now=soon).name == "boss"
        assert isinstance(_guess(engine, "someone", ATTACKER, soon), auth.Throttled)  # any name, from there

    def test_auth092_each_further_lock_of_an_address_lasts_twice_as_long(self, engine):
        at = now_utc()
        for level in (1, 2, 3):
            for i in range(auth.MAX_FAILURES_PER_ADDRESS):
                assert not isinstance(_guess(engine, f"name{i}", ATTACKER, at), auth.Throttled)
                at += timedelta(seconds=1)
            locked_at, seconds = at - timedelta(seconds=1), auth.LOCK_SECONDS * 2 ** (level - 1)
            throttled = _guess(engine, "name", ATTACKER, locked_at + timedelta(seconds=seconds - 1))
            assert isinstance(throttled, auth.Throttled) and throttled.retry_after == 1
            at = locked_at + timedelta(seconds=seconds)  # over: the next guess is counted again
        details = [e.detail for e in reversed(_actions(engine, "login_throttled"))]
        assert details == [f"address locked for {60 * 2 ** k} s after 5 failed attempts (lock {k + 1} within 24 h)"
                           for k in range(3)]
        assert auth.lock_seconds(40) == auth.MAX_LOCK_SECONDS
        quiet = at + timedelta(hours=auth.BACKOFF_HOURS, seconds=1)  # a day without a lock: back to the first
        for _ in range(auth.MAX_FAILURES_PER_ADDRESS):
            _guess(engine, "name", ATTACKER, quiet)
        with engine.connect() as conn:
            assert auth.last_lock(conn, ATTACKER, quiet).level == 1

    def test_auth093_a_locked_address_writes_no_more_audit_rows(self, engine):
        at = now_utc()
        for i in range(150):
            _guess(engine, "admin", ATTACKER, at + timedelta(milliseconds=i))
        assert len(_actions(engine, "login_failed")) == auth.MAX_FAILURES_PER_ADDRESS
        assert len(_actions(engine, "login_throttled")) == 1

    def test_auth094_guessed_device_tokens_lock_the_address_a_revoked_wall_does_not(self, engine):
        with engine.begin() as conn:
            token_id, token = auth.issue_token(conn, "织南所大屏", "admin")
            auth.revoke_token(conn, token_id, "admin")
        at = now_utc()
        for _ in range(auth.MAX_FAILURES_PER_ADDRESS + 2):  # a real wall whose token was revoked, retrying
            with engine.begin() as conn, pytest.raises(auth.AuthError) as refused:
                auth.token_login(conn, token, ip="10.20.3.3", now=at)
            assert not isinstance(refused.value, auth.Throttled)
        for i in range(auth.MAX_FAILURES_PER_ADDRESS):
            with engine.begin() as conn, pytest.raises(auth.AuthError):
                auth.token_login(conn, f"guessed-token-{i}", ip=ATTACKER, now=at)
        with engine.begin() as conn, pytest.raises(auth.Throttled):
            auth.token_login(conn, token, ip=ATTACKER, now=at)
        assert isinstance(_guess(engine, "leader", ATTACKER, at), auth.Throttled)

    def test_auth095_over_http_behind_nginx_the_attacker_waits_and_the_admin_logs_in(self, bare_app):
        server = bare_app(EQIAN_PROXY_HOPS=1)
        attacker, owner = server.test_client(), server.test_client()
        attacker.environ_base["HTTP_X_FORWARDED_FOR"] = ATTACKER
        owner.environ_base["HTTP_X_FORWARDED_FOR"] = "10.20.1.7"
        username, password = credentials("admin")

        def attempt(client, guess):
            return client.post("/login", data={"csrf_token": csrf_token(client), "username": username,
                                               "password": guess, "next": "/session"})

        statuses = [attempt(attacker, f"guess {i}").status_code for i in range(auth.MAX_FAILURES_PER_ADDRESS + 20)]
        assert statuses == [401] * auth.MAX_FAILURES_PER_ADDRESS + [429] * 20
        locked = attempt(attacker, password)
        assert locked.status_code == 429 and 0 < int(locked.headers["Retry-After"]) <= auth.LOCK_SECONDS
        assert "请 1 分钟后再试" in locked.text
        assert attempt(owner, password).status_code == 302 and owner.get("/session").get_json()["role"] == "admin"
        with db.engine_of(server).connect() as conn:
            rows = [(e.action, e.actor, e.ip) for e in audit.entries(conn, limit=100) if e.action.startswith("login")]
        assert rows == [("login", "admin", "10.20.1.7"), ("login_throttled", "admin", ATTACKER),
                        *[("login_failed", "admin", ATTACKER)] * auth.MAX_FAILURES_PER_ADDRESS]


# --- a logout ends every copy of the session cookie, whatever the cache does ----------------------------------

def _cookie(client) -> str:
    return client.get_cookie("eqian_session").value


def _presenting(server, cookie: str):
    """A new client of ``server`` (another worker, another browser) presenting a copied session cookie."""
    client = server.test_client()
    client.set_cookie("eqian_session", cookie)
    return client


def _log_out(client) -> None:
    assert client.post("/logout", data={"csrf_token": csrf_token(client, "/logout")}).status_code == 302


def _refused(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


class TestLogoutEverywhere:
    @pytest.mark.parametrize("role", ["leader", "wall"])
    @pytest.mark.parametrize("cache_url", ["null", "simple"])
    def test_auth100_a_copied_cookie_dies_with_the_logout_on_every_worker(self, bare_app, cache_url, role):
        first, second = bare_app(EQIAN_CACHE_URL=cache_url), bare_app(EQIAN_CACHE_URL=cache_url)
        owner = first.test_client()
        login_client(owner, role)
        copy = _cookie(owner)
        assert _presenting(second, copy).get("/session").status_code == 200
        _log_out(owner)
        for worker in (first, second):
            assert _refused(_presenting(worker, copy).get("/session"))
        with db.engine_of(first).connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM ended_sessions")).scalar_one() == 1

    def test_auth101_with_redis_unreachable_the_database_ends_the_copy(self, bare_app):
        nowhere = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
        first, second = bare_app(EQIAN_CACHE_URL=nowhere), bare_app(EQIAN_CACHE_URL=nowhere)
        owner = first.test_client()
        login_client(owner, "leader")
        copy = _cookie(owner)
        assert _presenting(second, copy).get("/session").status_code == 200
        _log_out(owner)
        assert _refused(_presenting(second, copy).get("/session"))

    @pytest.mark.faults
    def test_auth102_a_logout_while_redis_is_away_holds_when_it_is_back(self, bare_app, private_redis):
        first, second = bare_app(EQIAN_CACHE_URL=private_redis.url), bare_app(EQIAN_CACHE_URL=private_redis.url)
        for worker in (first, second):
            cache_module.backend(worker).retry_seconds = 0.0  # ask Redis again at every call
        owner = first.test_client()
        login_client(owner, "leader")
        copy = _cookie(owner)
        assert _presenting(second, copy).get("/session").status_code == 200
        private_redis.stop()
        _log_out(owner)  # Redis hears nothing of it
        assert _refused(_presenting(second, copy).get("/session"))
        private_redis.start()  # the same port, empty
        for worker in (first, second):
            assert _refused(_presenting(worker, copy).get("/session"))

    @pytest.mark.faults
    def test_auth103_with_redis_a_live_session_costs_no_query_and_a_logout_counts_at_once(self, bare_app,
                                                                                         private_redis):
        from sqlalchemy import event

        first, second = bare_app(EQIAN_CACHE_URL=private_redis.url), bare_app(EQIAN_CACHE_URL=private_redis.url)
        owner = first.test_client()
        login_client(owner, "leader")
        copy = _cookie(owner)
        thief = _presenting(second, copy)
        assert thief.get("/session").status_code == 200  # who it is and "not logged out" are now in Redis
        statements = []
        event.listen(db.engine_of(second), "before_cursor_execute", lambda *args: statements.append(args[2]))
        assert thief.get("/session").status_code == 200 and statements == []
        _log_out(owner)
        assert _refused(_presenting(second, copy).get("/session"))
        assert private_redis.client().keys("eqian:session-live:*") == []

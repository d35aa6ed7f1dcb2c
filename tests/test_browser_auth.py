"""The login in a real browser (headless Chromium) under the Content-Security-Policy: log in, log out, a wall
logging in with its device link, and a wall whose token is revoked while it runs."""

from __future__ import annotations

import pytest
from auth_support import credentials, ensure_accounts

import app as app_module
from data import service
from data.access import accounts as auth
from data.core import db
from web.gate import forget_principal

pytestmark = pytest.mark.browser


@pytest.fixture
def site(demo_sqlite, live_server_factory):
    server = app_module.create_app({"EQIAN_DATABASE_URL": demo_sqlite.url.render_as_string(hide_password=False),
                                    "EQIAN_SIMULATE": False})
    service.forget_version()
    ensure_accounts(server)
    return live_server_factory(server)


def _watch(page, origin: str) -> dict:
    log = {"console": [], "foreign": []}
    page.on("console", lambda m: log["console"].append((m.type, m.text))
            if m.type == "error" or (m.type == "warning" and "GPU stall" not in m.text) else None)
    page.on("pageerror", lambda e: log["console"].append(("pageerror", str(e))))
    page.on("request", lambda r: log["foreign"].append(r.url)
            if not r.url.startswith((origin, "data:", "blob:")) else None)
    return log


def test_bra001_log_in_review_log_out(page, site):
    log = _watch(page, site.url)
    page.goto(site.url + "/review?period=month")
    page.wait_for_url("**/login?**")
    assert page.locator(".auth-message").inner_text() == "请先登录。"
    username, password = credentials("leader")
    page.fill("#username", username)
    page.fill("#password", "not the password")
    page.click("#login-submit")
    assert page.locator(".auth-message").inner_text() == "用户名或密码错误。"
    assert [text for _kind, text in log["console"]] == [  # the refused login answers 401, as it should
        "Failed to load resource: the server responded with a status of 401 (UNAUTHORIZED)"]
    log["console"].clear()
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    page.wait_for_url("**/review?period=month")
    page.wait_for_selector("#book-incidents-total", timeout=60_000)
    bar = page.locator("#user-bar")
    assert bar.is_visible() and "leader" in bar.inner_text() and "领导" in bar.inner_text()
    assert page.locator("#user-bar a", has_text="管理").count() == 0  # only admins see the admin link
    page.click("#user-bar a:has-text('退出')")
    page.click("#logout-submit")
    page.wait_for_url("**/login?reason=logged_out")
    page.goto(site.url + "/review")
    page.wait_for_url("**/login?**")
    assert log["console"] == [], log["console"]  # no CSP violation, no script error
    assert log["foreign"] == []


def test_bra002_a_wall_logs_in_with_its_device_link_and_leaves_when_revoked(page, site):
    log = _watch(page, site.url)
    engine = db.engine_of(site.app)
    with engine.begin() as conn:
        token_id, token = auth.issue_token(conn, "浏览器测试大屏", "test")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{site.url}/device#token={token}&next=/%3Fkiosk%3D1")
    page.wait_for_url("**/?kiosk=1")
    page.wait_for_function("() => document.querySelector('#wall-status') && "
                           "document.querySelector('#wall-status').textContent.startsWith('数据更新')", timeout=60_000)
    assert "#token=" not in page.url and token not in page.content()
    assert page.locator("#user-bar").count() == 1 and not page.locator("#user-bar").is_visible()
    with engine.begin() as conn:
        auth.revoke_token(conn, token_id, "test")
    with site.app.app_context():
        forget_principal("device", token_id)
    page.wait_for_url("**/login?reason=expired**", timeout=30_000)  # the next poll is refused
    assert "大屏请使用管理员签发的设备链接登录" in page.content()
    errors = [text for kind, text in log["console"] if "401" not in text]
    assert errors == [], errors
    assert log["foreign"] == []


def test_bra003_a_revoked_device_link_says_so(page, site):
    engine = db.engine_of(site.app)
    with engine.begin() as conn:
        token_id, token = auth.issue_token(conn, "已吊销大屏", "test")
        auth.revoke_token(conn, token_id, "test")
    page.goto(f"{site.url}/device#token={token}")
    page.wait_for_selector(".auth-message")
    assert "无效或已吊销" in page.locator(".auth-message").inner_text()
    assert page.url.endswith("/device")


def test_bra004_admin_pages_work_under_the_csp(page, site):
    log = _watch(page, site.url)
    site.login(page, "admin")
    page.goto(site.url + "/admin/tokens")
    page.fill("#admin-new-token input[name=name]", "织东所大屏")
    page.click("#admin-new-token button")
    link = page.locator("#admin-issued-link").inner_text()
    assert "/device#token=" in link
    page.goto(site.url + "/admin/audit?action=token_issued")
    assert "织东所大屏" in page.locator("#admin-audit").inner_text()
    page.goto(site.url + "/review")
    page.wait_for_selector("#user-bar a:has-text('管理')")
    assert log["console"] == [], log["console"]
    assert log["foreign"] == []


def test_bra005_an_analyst_sees_callers_in_plain_text_and_it_is_audited(page, site):
    import re

    from sqlalchemy import text

    from data.access import audit

    engine = db.engine_of(site.app)
    with engine.connect() as conn:
        ent, phone = conn.execute(text(
            "SELECT enterprise_id, caller_phone FROM incidents WHERE enterprise_id IS NOT NULL "
            "AND caller_phone IS NOT NULL ORDER BY received_at DESC LIMIT 1")).one()
    site.login(page, "analyst")
    page.goto(f"{site.url}/enterprise/{ent}")
    page.wait_for_selector(".ent-events, #ent-incidents, table", timeout=60_000)
    page.wait_for_function("(p) => document.body.innerText.includes(p)", arg=phone, timeout=30_000)
    with engine.connect() as conn:
        views = audit.entries(conn, limit=5, action="unmasked_view")
    assert views and views[0].actor == "analyst" and views[0].target == f"enterprise {ent}"
    assert re.search(r"1[3-9]\d{9}", page.inner_text("body"))

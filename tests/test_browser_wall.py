"""The wall cockpit in headless Chromium: what it draws at 1080p and 4K, what it never shows, how fast a
new call appears, and how it behaves when the database or the server goes away."""

from __future__ import annotations

import os
import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import create_pg_database, drop_pg_database, pg_unreachable
from sqlalchemy import text

import app as app_module
from data import service
from data.core import db
from data.core.schema import Incident
from data.demo.generator import seed_demo
from figures import wall_spec

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
# Screenshots go to test-results/; EQIAN_UPDATE_SCREENSHOTS=1 writes the README's copies in docs/ instead.
SHOTS = ROOT / ("docs" if os.environ.get("EQIAN_UPDATE_SCREENSHOTS") else "test-results")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Chromium's software WebGL reports driver performance notes as console warnings; they are not the page's.
GL_NOTE = re.compile(r"GL Driver Message|GPU stall|WebGL|GroupMarkerNotSet")


def _console_problems(entries):
    return [e for e in entries if e[0] in ("error", "pageerror") or (e[0] == "warning" and not GL_NOTE.search(e[1]))]


def _watch(page):
    log = {"console": [], "requests": []}
    page.on("console", lambda msg: log["console"].append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: log["console"].append(("pageerror", str(exc))))
    page.on("request", lambda req: log["requests"].append(req.url))
    return log


def _outside(requests, base_url):
    origin = urlsplit(base_url).netloc
    return [u for u in requests if urlsplit(u).netloc not in (origin, "") and not u.startswith(("data:", "blob:"))]


@pytest.fixture(scope="module")
def wall_db(small_demo_town):
    """A copy of the session's small demo town (scale 0.1) the wall tests may write to."""
    return small_demo_town.copy("browser-wall")


def _serve(page, live_server_factory, url, **config):
    server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False, **config})
    service.forget_version()
    return live_server_factory(server).login(page, "wall")


def _wait_drawn(page):
    page.wait_for_selector(".wall-feed-row", timeout=30_000)
    page.wait_for_function("""(tileCount) => {
        const tiles = Array.from(document.querySelectorAll('.wall-kpi-value-text'));
        const graphs = Array.from(document.querySelectorAll('#wall-canvas .js-plotly-plot'));
        return tiles.length === tileCount && document.querySelectorAll(".wall-list-row").length >= 10 &&
               tiles.every(t => t.textContent.trim() !== '—') &&
               graphs.length >= 6 && graphs.every(g => g.data && g.data.length > 0);
    }""", arg=len(wall_spec.KPI_TILES), timeout=30_000)


class TestDrawn:
    @pytest.mark.parametrize("width,height", [(1920, 1080), (3840, 2160), (3840, 1080)])
    def test_brw010_every_panel_drawn_offline_and_masked(self, page, live_server_factory, wall_db, width, height):
        site = _serve(page, live_server_factory, wall_db)
        log = _watch(page)
        page.set_viewport_size({"width": width, "height": height})
        page.goto(site.url + "/")
        _wait_drawn(page)
        page.wait_for_timeout(2_500)  # a couple of polls
        scale = min(width / 1920, height / 1080)
        heights = page.evaluate("() => Array.from(document.querySelectorAll('.wall-kpi-value-text'))"
                                ".map(e => e.getBoundingClientRect().height)")
        assert min(heights) >= 48 * scale
        rows = page.evaluate("() => new Set(Array.from(document.querySelectorAll('.wall-kpi'))"
                             ".map(e => Math.round(e.getBoundingClientRect().top))).size")
        assert rows == 1, "the KPI tiles are not one row: the grid has a column per tile (KPI_TILES)"
        map_has_canvas = page.evaluate("() => !!document.querySelector('#wall-map canvas')")
        assert map_has_canvas
        assert page.locator(".wall-feed-row").count() >= 5
        body = page.inner_text("body")
        assert "演示数据" in body and "数据更新" in page.inner_text("#wall-status")
        assert not PHONE.search(body), "an unmasked phone number is on the wall"
        with db.make_engine(wall_db).connect() as conn:
            names = [r[0] for r in conn.execute(text(
                "SELECT caller_name FROM incidents ORDER BY id DESC LIMIT 200")) if r[0] and len(r[0]) > 1]
        html = page.content()
        assert not [n for n in names if n in html], "an unmasked caller name is in the page"
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / f"wall-{width}x{height}.png"))
        assert _outside(log["requests"], site.url) == []
        assert _console_problems(log["console"]) == []

    def test_brw011_kiosk_mode(self, page, live_server_factory, wall_db):
        site = _serve(page, live_server_factory, wall_db)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(site.url + "/?kiosk=1")
        _wait_drawn(page)
        assert page.locator("#wall-controls").count() == 0
        assert page.evaluate("() => getComputedStyle(document.querySelector('.wall-kpi')).cursor") == "none"
        assert page.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1 && "
                             "document.documentElement.scrollWidth <= window.innerWidth + 1")


class TestLive:
    def test_brw020_a_new_call_is_on_screen_within_two_seconds(self, page, live_server_factory, wall_db):
        site = _serve(page, live_server_factory, wall_db)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(site.url + "/")
        _wait_drawn(page)
        page.wait_for_selector(".wall-feed-row", timeout=30_000)  # the feed's first full list is in
        page.wait_for_timeout(1_500)  # and it has polled since, so the next call comes as new
        marker = "司马" + uuid.uuid4().hex[:2]
        now = datetime.now(UTC)
        engine = db.make_engine(wall_db)
        with engine.begin() as conn:
            conn.execute(Incident.__table__.insert().values(
                received_at=now, created_at=now, category="刑事", priority=1, enterprise_related=False,
                station_id=1, channel="110", source="test", source_id=f"live-{uuid.uuid4()}",
                caller_name=marker, caller_phone="13700001111", address="织里镇大港路1号"))
        started = time.monotonic()
        # arrives by the live poll, without a reload; the 2-second target itself is measured by
        # benchmarks/bench_wall_memory.py (feed latency), not asserted on a loaded test machine
        page.wait_for_function("(m) => document.querySelector('#wall-feed').textContent.includes(m)",
                               arg="司**", timeout=10_000)
        print(f"feed latency {time.monotonic() - started:.2f} s")
        row = page.locator(".wall-feed-row").first
        assert "feed-flash" in row.get_attribute("class")
        assert "137****1111" in row.inner_text() and marker not in page.content()

    def test_brw021_rotation_visits_stations_and_jumps_to_an_alert(self, page, live_server_factory, wall_db):
        site = _serve(page, live_server_factory, wall_db, EQIAN_WALL_TOWN_SECONDS=60, EQIAN_WALL_STATION_SECONDS=3)
        log = _watch(page)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(site.url + "/")
        _wait_drawn(page)
        assert page.inner_text("#wall-view-name") == "全镇"
        now = datetime.now(UTC)
        with db.make_engine(wall_db).begin() as conn:
            for k in range(3):
                conn.execute(Incident.__table__.insert().values(
                    received_at=now - timedelta(seconds=k), created_at=now, category="刑事", priority=1,
                    enterprise_related=False, station_id=3, channel="110", source="test",
                    source_id=f"alert-{uuid.uuid4()}"))
        page.wait_for_function("() => document.querySelector('#wall-view-name').textContent === '织西派出所'",
                               timeout=15_000)
        page.wait_for_function("() => document.querySelector('#wall-view-name').textContent === '全镇'",
                               timeout=15_000)
        page.wait_for_timeout(3_000)
        # the map was redrawn with new data and new views: MapLibre accepted every style diff ("Map error."
        # came from an empty "sources" in the style, on redraws only)
        assert _console_problems(log["console"]) == []


@pytest.fixture
def pg_wall_db():
    """A small demo town in its own PostgreSQL database, which the test may cut off."""
    try:
        admin, url, name = create_pg_database("eqian_wall")
    except Exception as exc:  # noqa: BLE001
        pg_unreachable(exc)
    seed_demo(db.make_engine(url), scale=0.05, now=datetime.now(UTC))
    yield url, name, admin
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    drop_pg_database(admin, name)
    admin.dispose()


class TestOutages:
    def test_brw030_database_outage_shows_stale_and_recovers(self, page, live_server_factory, pg_wall_db):
        url, name, admin = pg_wall_db
        site = _serve(page, live_server_factory, url)
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(site.url + "/")
        _wait_drawn(page)
        before = page.inner_text("#wall-kpi-today-total")
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        page.wait_for_function("() => document.querySelector('#wall-status').textContent.startsWith('连接中断')",
                               timeout=20_000)
        assert re.search(r"最后更新 \d\d:\d\d:\d\d", page.inner_text("#wall-status"))
        assert page.inner_text("#wall-kpi-today-total") == before  # the last good frame stays
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        page.wait_for_function("() => document.querySelector('#wall-status').textContent.startsWith('数据更新')",
                               timeout=30_000)

    def test_brw031_server_away_shows_stale_and_recovers_without_reload(self, page, live_server_factory, wall_db):
        from conftest import LiveServer

        server_app = app_module.create_app({"EQIAN_DATABASE_URL": wall_db, "EQIAN_SIMULATE": False})
        site = LiveServer(server_app).start()
        site.login(page, "wall")
        port = site.port
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(site.url + "/")
        _wait_drawn(page)
        page.evaluate("() => { window.__eqianMarker = 42; }")  # survives only if the page never reloads
        site.stop()
        page.wait_for_function("() => document.querySelector('#wall-status').textContent.startsWith('连接中断')",
                               timeout=30_000)
        from werkzeug.serving import make_server

        revived = make_server("127.0.0.1", port, server_app, threaded=True)
        import threading

        threading.Thread(target=revived.serve_forever, daemon=True).start()
        try:
            page.wait_for_function(
                "() => document.querySelector('#wall-status').textContent.startsWith('数据更新')", timeout=30_000)
            assert page.evaluate("() => window.__eqianMarker") == 42
        finally:
            revived.shutdown()

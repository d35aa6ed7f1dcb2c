"""The first screen in headless Chromium: what it shows, that it stays on its origin, a clean console."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

import app as app_module
from data import db
from data.schema import Incident

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-results"


@pytest.fixture
def demo_site(demo_sqlite, live_server_factory, page):
    server = app_module.create_app({"EQIAN_DATABASE_URL": demo_sqlite.url.render_as_string(hide_password=False),
                                    "EQIAN_SIMULATE": False, "EQIAN_REFRESH_SECONDS": 1.0})
    yield live_server_factory(server).login(page, "leader")
    db.engine_of(server).dispose()


def test_brw001_first_screen_shows_the_demo(page, demo_site, demo_sqlite):
    console, requests = [], []
    page.on("console", lambda msg: console.append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: console.append(("pageerror", str(exc))))
    page.on("request", lambda req: requests.append(req.url))
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(demo_site.url + "/first")
    page.wait_for_selector("#fs-calls tbody tr", timeout=30_000)

    for figure, pct in (("incidents", "-11.2%"), ("enterprise-incidents", "-25.2%"),
                        ("traffic-accidents", "-9.5%"), ("enterprise-economic-disputes", "-13.5%"),
                        ("labour-disputes", "-6.6%")):
        assert pct in page.inner_text(f"#fs-figure-{figure} .kpi-value")

    now = datetime.now(timezone.utc)
    midnight = now.astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0, microsecond=0)
    with demo_sqlite.connect() as conn:
        expected_today = conn.execute(select(func.count()).select_from(Incident).where(
            Incident.received_at >= midnight, Incident.received_at <= now)).scalar_one()
    shown_today = int(page.inner_text("#fs-today-count .kpi-value").replace(",", ""))
    assert shown_today == expected_today

    assert page.locator("#fs-calls tbody tr").count() == 10
    assert "演示数据" in page.inner_text("#fs-demo-mark")
    assert "数据更新" in page.inner_text("#fs-status")
    assert page.inner_text("#fs-total-enterprise-criminal-cases .kpi-value") == "52"

    text = page.inner_text("body")
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text), "an unmasked phone number is on the page"
    assert re.search(r"1\d\d\*\*\*\*\d{4}", text)
    page.wait_for_timeout(2_500)  # a few refresh cycles
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "first-screen-1920x1080.png"))

    origin = urlsplit(demo_site.url).netloc
    outside = [url for url in requests if urlsplit(url).netloc not in (origin, "") and not url.startswith("data:")]
    assert outside == []
    assert [entry for entry in console if entry[0] in ("error", "warning", "pageerror")] == []

"""The enterprise profile page in headless Chromium, on a small demo town of its own: what it draws for a
busy enterprise and for one without any event, that its receipt is the index's receipt, that nothing
personal or outside the origin shows up, and the not-found page."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

import app as app_module
from data import service
from data.core import db
from data.core.timeutil import local_today
from data.index import safety_index as si

pytestmark = pytest.mark.browser
RESULTS = Path(__file__).resolve().parent.parent / "test-results"
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# Chromium's software WebGL reports driver performance notes as console warnings; they are not the page's.
GL_NOTE = re.compile(r"GL Driver Message|GPU stall")


def _console_problems(entries):
    return [e for e in entries if e[0] in ("error", "pageerror") or (e[0] == "warning" and not GL_NOTE.search(e[1]))]


def _watch(page):
    log = {"console": [], "requests": [], "failed": []}
    page.on("console", lambda msg: log["console"].append((msg.type, msg.text)))
    page.on("pageerror", lambda exc: log["console"].append(("pageerror", str(exc))))
    page.on("request", lambda req: log["requests"].append(req.url))
    page.on("response", lambda res: log["failed"].append((res.status, res.url)) if res.status >= 400 else None)
    return log


def _outside(requests, base_url):
    origin = urlsplit(base_url).netloc
    return [u for u in requests if urlsplit(u).netloc not in (origin, "") and not u.startswith(("data:", "blob:"))]


@pytest.fixture(scope="module")
def ent_db(small_demo_town):
    """A copy of the session's small demo town (scale 0.1) and the enterprises the tests look at."""
    url = small_demo_town.copy("browser-enterprise")
    engine = db.make_engine(url)
    with engine.connect() as conn:
        busy = conn.execute(text("SELECT enterprise_id FROM incidents WHERE enterprise_id IS NOT NULL "
                                 "GROUP BY enterprise_id ORDER BY COUNT(*) DESC, enterprise_id LIMIT 1")).scalar()
        quiet = conn.execute(text(
            "SELECT id FROM enterprises e WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.enterprise_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM disputes d WHERE d.enterprise_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM hazards h WHERE h.enterprise_id = e.id) ORDER BY id LIMIT 1")).scalar()
        in_park = conn.execute(text("SELECT id, station_id, park_id FROM enterprises WHERE park_id IS NOT NULL "
                                    "ORDER BY id LIMIT 1")).one()
    engine.dispose()
    return {"url": url, "busy": busy, "quiet": quiet, "in_park": tuple(in_park)}


def _serve(page, live_server_factory, url, role="leader"):
    server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False})
    service.forget_version()
    return live_server_factory(server).login(page, role)


def _enterprise(url, enterprise_id):
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT name, credit_code FROM enterprises WHERE id = :e"),
                               {"e": enterprise_id}).one()
            month = conn.execute(select(func.max(si.index_table.c.month))
                                 .where(si.index_table.c.enterprise_id == enterprise_id)).scalar()
            months = conn.execute(select(func.count()).select_from(si.index_table)
                                  .where(si.index_table.c.enterprise_id == enterprise_id)).scalar()
            # months scored while still in progress, as the refresh recorded them (drawn apart on the chart)
            recorded = conn.execute(text("SELECT value FROM meta WHERE key = 'safety_index_partial'")).scalar()
            partial = month.isoformat()[:7] in {m[:7] for m in json.loads(recorded or "{}")} if month else False
            receipt = si.receipt(conn, enterprise_id, month, local_today())
            names = {r[0] for r in conn.execute(text(
                "SELECT caller_name FROM incidents WHERE enterprise_id = :e"), {"e": enterprise_id}) if r[0]}
            names |= {r[0] for r in conn.execute(text("SELECT caller_name FROM incidents ORDER BY id DESC LIMIT 200"))
                      if r[0]}
            phones = {r[0] for r in conn.execute(text(
                "SELECT caller_phone FROM incidents WHERE enterprise_id = :e"), {"e": enterprise_id}) if r[0]}
        return {"name": row[0], "code": row[1], "receipt": receipt, "months": months, "names": names,
                "phones": phones, "partial": partial}
    finally:
        engine.dispose()


def _open(page, url):
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(url)
    page.wait_for_selector("#ent-page", timeout=30_000)


def _wait_chart(page, points: int, partial: bool):
    """The index chart drawn: one point a month, the month in progress (if the last is) on its own trace."""
    page.wait_for_function("""([n, partial]) => {
        const g = document.querySelector('#ent-index-chart .js-plotly-plot');
        if (!(g && g.data && g.data.length > 0 && g.data[0].y.length === n)) { return false; }
        const solid = g.querySelectorAll('.scatterlayer .trace')[0].querySelectorAll('.point').length;
        const apart = g.data.filter(t => t.marker && [].concat(t.marker.symbol).includes('circle-open')).length;
        return solid === (partial ? n - 1 : n) && apart === (partial ? 1 : 0);
    }""", arg=[points, partial], timeout=30_000)


def test_ent050_busy_enterprise_profile_receipt_masked_offline(page, live_server_factory, ent_db):
    site = _serve(page, live_server_factory, ent_db["url"])
    facts = _enterprise(ent_db["url"], ent_db["busy"])
    log = _watch(page)
    _open(page, site.url + f"/enterprise/{ent_db['busy']}")
    _wait_chart(page, facts["months"], facts["partial"])
    assert page.inner_text("#ent-name") == facts["name"]
    assert page.inner_text("#ent-credit-code") == facts["code"]
    r = facts["receipt"]
    assert page.inner_text("#ent-receipt-score") == f"{r.score:.2f}"
    for pillar in r.pillars:
        assert page.inner_text(f"[data-contribution={pillar['name']}]") == f"{pillar['contribution']:.2f}"
        assert page.inner_text(f"[data-pillar-score={pillar['name']}]") == f"{pillar['score']:.2f}"
    for ind in r.indicators:
        assert page.inner_text(f"[data-indicator={ind['name']}]") == f"{ind['score']:.2f}"
    total = page.inner_text("#ent-pillar-total")
    assert f"{r.score:.2f}" in total and f"{r.previous_score:.2f}" in total
    assert f"{abs(r.change):.2f}" in page.inner_text("#ent-receipt-change")
    assert page.inner_text("[data-input=incidents]") == f"{int(r.inputs['incidents']):,}"
    assert page.locator("#ent-incidents tbody tr").count() > 0
    body, html = page.inner_text("body"), page.content()
    assert not PHONE.search(body) and not PHONE.search(html), "an unmasked phone number is on the page"
    assert not [n for n in facts["names"] if len(n) > 1 and n in html], "an unmasked caller name is in the page"
    assert not [p for p in facts["phones"] if p in html]
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "enterprise-busy.png"), full_page=True)
    assert _outside(log["requests"], site.url) == []
    assert _console_problems(log["console"]) == []
    assert log["failed"] == []

def test_ent051_enterprise_without_events(page, live_server_factory, ent_db):
    site = _serve(page, live_server_factory, ent_db["url"])
    facts = _enterprise(ent_db["url"], ent_db["quiet"])
    log = _watch(page)
    _open(page, site.url + f"/enterprise/{ent_db['quiet']}")
    _wait_chart(page, facts["months"], facts["partial"])
    assert page.inner_text("#ent-name") == facts["name"]
    assert page.inner_text("#ent-credit-code") == facts["code"]
    assert "暂无警情记录" in page.inner_text("#ent-incidents")
    assert "暂无矛盾纠纷记录" in page.inner_text("#ent-disputes")
    assert "暂无安全隐患记录" in page.inner_text("#ent-hazards")
    assert page.inner_text("#ent-kpi-incidents .ent-kpi-value") == "0"
    assert page.inner_text("#ent-receipt-score") == f"{facts['receipt'].score:.2f}"
    RESULTS.mkdir(exist_ok=True)
    page.screenshot(path=str(RESULTS / "enterprise-quiet.png"), full_page=True)
    assert _outside(log["requests"], site.url) == []
    assert _console_problems(log["console"]) == []
    assert log["failed"] == []

def test_ent052_malformed_and_unknown_ids_show_not_found(page, live_server_factory, ent_db):
    site = _serve(page, live_server_factory, ent_db["url"])
    log = _watch(page)
    for raw, expected in (("abc", "“abc” 不是有效的企业编号"), ("999999", "没有编号为 999999 的企业")):
        _open(page, site.url + f"/enterprise/{raw}")
        section = page.inner_text("#ent-not-found")
        assert "未找到该企业" in section and expected in section
        assert page.locator("#ent-receipt").count() == 0
    _open(page, site.url + "/enterprise/999999?lang=en")
    assert "There is no enterprise number 999999" in page.inner_text("#ent-not-found")
    assert _console_problems(log["console"]) == []
    assert log["failed"] == []

def test_ent053_breadcrumbs_and_english(page, live_server_factory, ent_db):
    enterprise_id, station, park = ent_db["in_park"]
    site = _serve(page, live_server_factory, ent_db["url"])
    log = _watch(page)
    _open(page, site.url + f"/enterprise/{enterprise_id}?lang=en")
    page.wait_for_selector("#ent-receipt-score")
    assert "Receipt: why this score" in page.inner_text("#ent-receipt")
    assert page.inner_text("#ent-lang-link") == "中文"
    hrefs = page.eval_on_selector_all("#ent-breadcrumbs a.crumb", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs == ["/review?lang=en", f"/review?station={station}&lang=en",
                     f"/review?station={station}&park={park}&lang=en"]
    _open(page, site.url + f"/enterprise/{enterprise_id}")
    hrefs = page.eval_on_selector_all("#ent-breadcrumbs a.crumb", "els => els.map(e => e.getAttribute('href'))")
    assert hrefs == ["/review", f"/review?station={station}", f"/review?station={station}&park={park}"]
    assert _console_problems(log["console"]) == []
    page.click(f"#ent-breadcrumbs a.crumb[href='/review?station={station}']")
    # the profile's own title is a .review-title too: wait for the profile to go, then for the review's title
    page.wait_for_selector("#ent-page", state="detached", timeout=30_000)
    page.wait_for_selector(".review-title:not(.ent-name)", timeout=30_000)
    assert page.url.endswith(f"/review?station={station}")
    assert page.locator("#ent-page").count() == 0

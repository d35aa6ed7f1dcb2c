"""The leadership review in headless Chromium: filters in the URL, the back button, drill-down, and the
numbers on the page against an independent pandas computation over the raw rows."""

from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pandas as pd
import pytest
from sqlalchemy import text

import app as app_module
from data import db, service
from data.timeutil import local_today

pytestmark = pytest.mark.browser
GL_NOTE = re.compile(r"GL Driver Message|GPU stall|WebGL")


@pytest.fixture(scope="module")
def review_db(small_demo_town):
    """A copy of the session's small demo town (scale 0.1): login writes the demo accounts into it."""
    return small_demo_town.copy("browser-review")


@pytest.fixture(scope="module")
def raw(review_db):
    with db.make_engine(review_db).connect() as conn:
        frame = pd.read_sql(text("SELECT received_at, category, enterprise_related, station_id, park_id "
                                 "FROM incidents"), conn)
    frame["day"] = pd.to_datetime(frame["received_at"], utc=True, format="mixed").dt.tz_convert(
        "Asia/Shanghai").dt.date
    return frame


@pytest.fixture
def site(review_db, live_server_factory, page):
    server = app_module.create_app({"EQIAN_DATABASE_URL": review_db, "EQIAN_SIMULATE": False})
    service.forget_version()
    return live_server_factory(server).login(page, "leader")


def _watch(page):
    log = {"console": [], "requests": []}
    page.on("console", lambda m: log["console"].append((m.type, m.text)))
    page.on("pageerror", lambda e: log["console"].append(("pageerror", str(e))))
    page.on("request", lambda r: log["requests"].append(r.url))
    return log


def _clean(log, base):
    origin = urlsplit(base).netloc
    outside = [u for u in log["requests"] if urlsplit(u).netloc not in (origin, "") and not u.startswith(("data:", "blob:"))]
    problems = [e for e in log["console"] if e[0] in ("error", "pageerror") or (e[0] == "warning" and not GL_NOTE.search(e[1]))]
    return outside, problems


def _cells(page, row_id: str) -> list[str]:
    return [c.strip() for c in page.locator(f"#{row_id} td").all_inner_texts()]


def _num(text_: str) -> int:
    return int(text_.replace(",", ""))


def _count(frame, first: date, last: date, **where) -> int:
    mask = (frame["day"] >= first) & (frame["day"] <= last)
    for column, value in where.items():
        mask &= frame[column] == value
    return int(mask.sum())


def _emit_click_until(page, script: str, url_pattern, tries: int = 10):
    """Emit a plotly click (``script`` returns a value) until the page navigates: dcc.Graph binds its click
    handler only after Plotly has drawn, so on a loaded machine the first click may come too early."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    value = None
    for _ in range(tries):
        value = page.evaluate(script)
        try:
            page.wait_for_url(url_pattern, timeout=2_000)
            return value
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"no navigation to {url_pattern} after {tries} clicks")


def _wait_book(page):
    page.wait_for_selector("#review-book", timeout=30_000)


def test_rev001_book_numbers_equal_pandas(page, site, raw):
    log = _watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?station=2")
    _wait_book(page)
    today = local_today()
    monday = today - timedelta(days=today.weekday())
    cells = _cells(page, "book-incidents-total")
    # label, then per period (week, 28d, ytd): now, year earlier, 同比, 环比, baseline
    assert _num(cells[1]) == _count(raw, monday, today, station_id=2)
    assert _num(cells[6]) == _count(raw, today - timedelta(days=27), today, station_id=2)
    assert _num(cells[11]) == _count(raw, date(today.year, 1, 1), today, station_id=2)
    assert _num(cells[12]) == _count(raw, date(today.year - 1, 1, 1), today.replace(year=today.year - 1),
                                      station_id=2)
    crime = _cells(page, "book-incidents-刑事")
    assert _num(crime[11]) == _count(raw, date(today.year, 1, 1), today, station_id=2, category="刑事")
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []


def test_rev002_filters_write_the_url_and_the_back_button_steps_back(page, site, raw):
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review")
    _wait_book(page)
    town_ytd = _cells(page, "book-incidents-total")[11]
    page.get_by_label("本周").check()
    page.wait_for_url(re.compile(r"period=week"))
    page.locator("#review-category").click()
    page.get_by_role("option", name="刑事").click()
    page.wait_for_url(re.compile(r"category=%E5%88%91%E4%BA%8B"))
    page.wait_for_function("() => !document.querySelector('#book-incidents-治安') && "
                           "!!document.querySelector('#book-incidents-刑事')")
    assert page.locator("#book-incidents-刑事").count() == 1
    page.go_back()
    page.wait_for_url(re.compile(r"period=week(?!.*category)"))
    page.wait_for_function("() => !!document.querySelector('#book-incidents-治安')")
    assert page.locator("#review-period input[value=week]").is_checked()
    page.go_back()
    page.wait_for_function("() => !location.search.includes('period')")
    page.wait_for_function("() => document.querySelector('#review-period input[value=ytd]')?.checked")
    page.wait_for_function(
        "(v) => { const r = document.querySelector('#book-incidents-total'); "
        "return r && r.querySelectorAll('td')[11].textContent.trim() === v; }", arg=town_ytd, timeout=10_000)


def test_rev003_a_copied_link_reproduces_the_view(page, site, browser):
    url = site.url + "/review?period=month&station=3&sector=%E7%AB%A5%E8%A3%85%E7%94%9F%E4%BA%A7&enterprise_only=1"
    page.goto(url)
    _wait_book(page)
    first = page.locator("#review-book").inner_text()
    other = browser.new_page()
    site.login(other, "leader")
    other.goto(url)
    other.wait_for_selector("#review-book", timeout=30_000)
    assert other.locator("#review-book").inner_text() == first
    assert other.locator("#review-sector").inner_text().strip().startswith("童装生产")
    assert other.locator("#review-enterprise-only input").is_checked()
    other.close()


def test_rev004_drill_down_and_breadcrumbs(page, site, raw):
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review")
    _wait_book(page)
    page.locator("#review-drill-table a", has_text="织东派出所").click()
    page.wait_for_url(re.compile(r"station=1"))
    page.wait_for_function("() => document.querySelector('#review-breadcrumbs')?.textContent.includes('织东派出所')")
    park_button = page.locator("#review-drill-table a").first
    park_name = park_button.inner_text()
    park_button.click()
    page.wait_for_url(re.compile(r"park=\d+"))
    page.wait_for_function("(n) => document.querySelector('#review-breadcrumbs')?.textContent.includes(n)",
                           arg=park_name)
    park_id = int(re.search(r"park=(\d+)", page.url).group(1))
    today = local_today()
    ytd = _num(_cells(page, "book-incidents-total")[11])
    assert ytd == _count(raw, date(today.year, 1, 1), today, park_id=park_id)
    enterprise = page.locator("#review-drill-table a").first
    enterprise.click()
    page.wait_for_url(re.compile(r"/enterprise/\d+"))
    page.go_back()
    page.wait_for_url(re.compile(r"park="))
    page.locator("#review-breadcrumbs a", has_text="全镇").click()
    page.wait_for_function("() => !location.search.includes('station')")
    page.wait_for_function("() => document.querySelector('#review-drill-table')?.textContent.includes('织东派出所')")


def test_rev005_bad_filters_say_what_is_wrong(page, site):
    page.goto(site.url + "/review?period=fortnight")
    page.wait_for_selector(".review-error", timeout=30_000)
    assert "period='fortnight'" in page.inner_text(".review-error")


def test_rev006_a_book_row_shows_its_trend_without_reloading(page, site, raw):
    log = _watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?period=week")
    _wait_book(page)
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page reloads
    page.locator("#book-incidents-刑事 a").click()
    page.wait_for_url(re.compile(r"row=incidents%3A%E5%88%91%E4%BA%8B|row=incidents:%E5%88%91%E4%BA%8B"))
    page.wait_for_function("() => document.querySelector('#review-trend-title')?.textContent.includes('刑事')")
    assert "selected" in page.locator("#book-incidents-刑事").get_attribute("class")
    assert "period=week" in page.url
    # this year's monthly points equal pandas, month by month
    today = local_today()
    series = page.evaluate("() => { const g = document.querySelector('#review-trend .js-plotly-plot'); "
                           f"return g.data.find(t => t.name === '{today.year}').y; }}")
    for month in range(1, today.month + 1):
        first = date(today.year, month, 1)
        last = min(today, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        assert series[month - 1] == _count(raw, first, last, category="刑事"), month
    # a filter change and the back button stay inside the same document: no reload
    page.get_by_label("近28天").check()
    page.wait_for_url(re.compile(r"period=28d"))
    page.go_back()
    page.wait_for_url(re.compile(r"period=week"))
    assert page.evaluate("() => window.__sameDocument === true")
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []


def test_rev007_index_views_and_ranking_links_keep_the_period(page, site):
    log = _watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?period=28d&category=%E5%88%91%E4%BA%8B")
    page.wait_for_selector("#review-index-stations a", timeout=30_000)
    assert page.locator("#review-index-funnel .js-plotly-plot").count() == 1
    assert page.locator("#review-index-distribution .js-plotly-plot").count() == 1
    page.evaluate("() => { window.__sameDocument = true; }")
    link = page.locator("#review-index-stations a").first
    name = link.inner_text()
    link.click()
    page.wait_for_url(re.compile(r"station=\d+"))
    assert "period=28d" in page.url and "category=" in page.url
    page.wait_for_function("(n) => document.querySelector('#review-breadcrumbs')?.textContent.includes(n)", arg=name)
    # the parks ranking now lists the parks of that station, highlighted station row
    page.wait_for_function("() => document.querySelector('#review-index-stations tr.selected') !== null")
    assert page.evaluate("() => window.__sameDocument === true")
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []


def test_rev008_a_click_in_the_funnel_plot_opens_the_enterprise(page, site):
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?station=2")
    page.wait_for_selector("#review-index-funnel .js-plotly-plot", timeout=30_000)
    # an enterprise within the limits (no name sent, numbers only): dcc.Graph reads the click's customdata from
    # gd.data, so its customdata must be a plain array there (a typed one stays a base64 description)
    script = """() => {
        const gd = document.querySelector('#review-index-funnel .js-plotly-plot');
        const i = gd.data.findIndex(t => t.legendgroup === 'within' && Array.isArray(t.customdata)
                                         && t.customdata.length && t.customdata[0][0] !== null);
        if (i < 0) { return null; }
        const p = {curveNumber: i, pointNumber: 0, pointIndex: 0, x: gd._fullData[i].x[0], y: gd._fullData[i].y[0],
                   customdata: gd.data[i].customdata[0], data: gd.data[i], fullData: gd._fullData[i]};
        gd.emit('plotly_click', {points: [p], event: {}});
        return gd.data[i].customdata[0][0];
    }"""
    enterprise_id = _emit_click_until(page, script, re.compile(r"/enterprise/\d+$"))
    assert page.url.endswith(f"/enterprise/{enterprise_id}")
    page.wait_for_selector("#ent-page", timeout=30_000)
    assert page.locator("#ent-name").inner_text().strip() != ""


def test_rev009_download_links_carry_the_filters(page, site, raw):
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?period=week&station=2")
    _wait_book(page)
    with page.expect_download() as info:
        page.locator("#review-download-book a", has_text="CSV").click()
    download = info.value
    assert download.suggested_filename.endswith(".csv") and "本周" not in download.url
    assert "station=2" in download.url and "period=week" in download.url
    frame = pd.read_csv(download.path(), comment="#").set_index("项目")
    today = local_today()
    monday = today - timedelta(days=today.weekday())
    assert int(frame.loc["警情合计", "本周·本期"]) == _count(raw, monday, today, station_id=2)
    with page.expect_download() as info:
        page.locator("#review-download-trend a", has_text="PNG").click()
    png = open(info.value.path(), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(png[16:20], "big")
    assert width >= 2000


def test_rev010_a_click_on_a_map_area_drills_to_the_station(page, site, raw):
    log = _watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?period=28d")
    page.wait_for_selector("#review-map .js-plotly-plot", timeout=30_000)
    page.wait_for_function("() => { const g = document.querySelector('#review-map .js-plotly-plot'); "
                           "return g && g.data && g.data.length >= 2; }")
    _emit_click_until(page, """() => {
        const gd = document.querySelector('#review-map .js-plotly-plot');
        const p = {curveNumber: 0, pointNumber: 2, pointIndex: 2, location: gd.data[0].locations[2],
                   customdata: gd.data[0].customdata[2], data: gd.data[0], fullData: gd._fullData[0]};
        gd.emit('plotly_click', {points: [p], event: {}});
    }""", re.compile(r"station=3"))
    assert "period=28d" in page.url
    page.wait_for_function("() => document.querySelector('#review-breadcrumbs')?.textContent.includes('派出所')")
    today = local_today()
    cells = _cells(page, "book-incidents-total")
    assert _num(cells[6]) == _count(raw, today - timedelta(days=27), today, station_id=3)
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []

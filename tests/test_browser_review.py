"""The leadership review in headless Chromium: filters in the URL, the back button, drill-down, and the
numbers on the page against an independent pandas computation over the raw rows."""

from __future__ import annotations

import os
import re
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from sqlalchemy import text

import app as app_module
from data import service
from data.core import db
from data.core.timeutil import local_today

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
# Screenshots go to test-results/; EQIAN_UPDATE_SCREENSHOTS=1 writes the README's copy in docs/ instead.
SHOTS = ROOT / ("docs" if os.environ.get("EQIAN_UPDATE_SCREENSHOTS") else "test-results")
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
    outside = [u for u in log["requests"]
               if urlsplit(u).netloc not in (origin, "") and not u.startswith(("data:", "blob:"))]
    problems = [e for e in log["console"]
                if e[0] in ("error", "pageerror") or (e[0] == "warning" and not GL_NOTE.search(e[1]))]
    return outside, problems


def _cells(page, row_id: str) -> list[str]:
    return [c.strip() for c in page.locator(f"#{row_id} td").all_inner_texts()]


def _book(page, row_id: str) -> dict[str, list[str]]:
    """A book row's cells by period, in the page's own column order (read from the column heads): for each
    period 本期, 去年同期, 同比, 环比, against the baseline."""
    kinds = page.eval_on_selector_all("#review-book th.period-head", "els => els.map(e => e.dataset.period)")
    cells = _cells(page, row_id)
    return {kind: cells[1 + 5 * i: 6 + 5 * i] for i, kind in enumerate(kinds)}


def _yesterday() -> date:
    """The last complete day: every period of the book ends there (the to-date rule)."""
    return local_today() - timedelta(days=1)


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
    end = _yesterday()
    monday = end - timedelta(days=end.weekday())
    book = _book(page, "book-incidents-total")
    # the chosen period (the default, year to date) first, then this week and 28 days; all to yesterday
    assert list(book) == ["ytd", "week", "28d"]
    assert _num(book["week"][0]) == _count(raw, monday, end, station_id=2)
    assert _num(book["28d"][0]) == _count(raw, end - timedelta(days=27), end, station_id=2)
    assert _num(book["ytd"][0]) == _count(raw, date(end.year, 1, 1), end, station_id=2)
    same_day = end.replace(year=end.year - 1, day=28) if (end.month, end.day) == (2, 29) else end.replace(
        year=end.year - 1)
    assert _num(book["ytd"][1]) == _count(raw, date(end.year - 1, 1, 1), same_day, station_id=2)
    crime = _book(page, "book-incidents-刑事")
    assert _num(crime["ytd"][0]) == _count(raw, date(end.year, 1, 1), end, station_id=2, category="刑事")
    heads = page.locator("#review-book th.period-head").all_inner_texts()
    assert heads[0].startswith("上年" if local_today().timetuple().tm_yday == 1 else "本年")
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []


def test_rev002_filters_write_the_url_and_the_back_button_steps_back(page, site, raw):
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review")
    _wait_book(page)
    town_ytd = _book(page, "book-incidents-total")["ytd"][0]
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
        "return r && r.querySelectorAll('td')[1].textContent.trim() === v; }", arg=town_ytd, timeout=10_000)


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
    end = _yesterday()
    ytd = _num(_book(page, "book-incidents-total")["ytd"][0])
    assert ytd == _count(raw, date(end.year, 1, 1), end, park_id=park_id)
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
    end = _yesterday()  # the trend counts whole days; the month in progress is drawn apart
    traces = page.evaluate("() => { const g = document.querySelector('#review-trend .js-plotly-plot'); "
                           "return g.data.map(t => [t.name, t.x, t.y]); }")
    series = next(y for name, _x, y in traces if name == str(end.year))
    month_end = (end.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    for month in range(1, end.month + 1):
        first = date(end.year, month, 1)
        last = min(end, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1))
        if month == end.month and end != month_end:  # in progress: not on the solid line, on its own
            assert series[month - 1] is None
            apart = next(y for name, x, y in traces if name and name.startswith(f"{end.year}（截至"))
            assert apart[-1] == _count(raw, first, last, category="刑事")
            continue
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
    end = _yesterday()
    monday = end - timedelta(days=end.weekday())
    week = "上周" if local_today().weekday() == 0 else "本周"
    assert frame.reset_index().columns[2] == f"{week}·本期"  # the chosen period first, as on the page
    assert int(frame.loc["警情合计", f"{week}·本期"]) == _count(raw, monday, end, station_id=2)
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
    end = _yesterday()
    assert _num(_book(page, "book-incidents-total")["28d"][0]) == _count(raw, end - timedelta(days=27), end,
                                                                          station_id=3)
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []


def test_rev011_the_book_heads_say_which_days_and_the_measures_show(page, site, raw):
    log = _watch(page)
    page.set_viewport_size({"width": 1600, "height": 1000})
    page.goto(site.url + "/review?period=28d&station=2")
    _wait_book(page)
    page.wait_for_selector("#review-measures tr[data-measure=rectify_days]", timeout=30_000)
    end = _yesterday()
    heads = page.locator("#review-book th.period-head").all_inner_texts()
    first = end - timedelta(days=27)
    # the chosen period first, headed with its days (to yesterday), then the week and the year
    def day(d):
        return f"{d.year}年{d.month}月{d.day}日" if first.year != end.year else f"{d.month}月{d.day}日"

    assert heads[0].replace("\n", "") == f"近28天{day(first)}—{day(end)}"
    assert len(heads) == 3 and page.locator("#review-measures tbody tr").count() == 8
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "review-1600x1000.png"))
    outside, problems = _clean(log, site.url)
    assert outside == [] and problems == []

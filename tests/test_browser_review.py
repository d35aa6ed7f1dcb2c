"""The leadership review in headless Chromium: filters in the URL, the back button, drill-down, and the
numbers on the page against an independent pandas computation over the raw rows."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from urllib.parse import urlsplit

import pandas as pd
import pytest
from sqlalchemy import text

import app as app_module
from data import db, service
from data.demo.generator import seed_demo
from data.timeutil import local_today

pytestmark = pytest.mark.browser
GL_NOTE = re.compile(r"GL Driver Message|GPU stall|WebGL")


@pytest.fixture(scope="module")
def review_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('review') / 'review.db'}"
    seed_demo(db.make_engine(url), scale=0.2, now=datetime.now(timezone.utc))
    return url


@pytest.fixture(scope="module")
def raw(review_db):
    with db.make_engine(review_db).connect() as conn:
        frame = pd.read_sql(text("SELECT received_at, category, enterprise_related, station_id, park_id "
                                 "FROM incidents"), conn)
    frame["day"] = pd.to_datetime(frame["received_at"], utc=True, format="mixed").dt.tz_convert(
        "Asia/Shanghai").dt.date
    return frame


@pytest.fixture
def site(review_db, live_server_factory):
    server = app_module.create_app({"EQIAN_DATABASE_URL": review_db, "EQIAN_SIMULATE": False})
    service.forget_version()
    return live_server_factory(server)


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
    page.locator("#review-drill-table button", has_text="织东派出所").click()
    page.wait_for_url(re.compile(r"station=1"))
    page.wait_for_function("() => document.querySelector('#review-breadcrumbs')?.textContent.includes('织东派出所')")
    park_button = page.locator("#review-drill-table button").first
    park_name = park_button.inner_text()
    park_button.click()
    page.wait_for_url(re.compile(r"park=\d+"))
    page.wait_for_function("(n) => document.querySelector('#review-breadcrumbs')?.textContent.includes(n)",
                           arg=park_name)
    park_id = int(re.search(r"park=(\d+)", page.url).group(1))
    today = local_today()
    ytd = _num(_cells(page, "book-incidents-total")[11])
    assert ytd == _count(raw, date(today.year, 1, 1), today, park_id=park_id)
    enterprise = page.locator("#review-drill-table button").first
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

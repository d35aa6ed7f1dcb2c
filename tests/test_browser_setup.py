"""A bureau's first day in a real browser: a database set up only through the product's own import paths from the
real Chicago files (the police districts' KML, ten years of aggravated assaults), then ``/admin/setup`` and the
wall as the admin and a leader see them (screenshots; no console error, no request beyond the origin).

``EQIAN_UPDATE_SCREENSHOTS=1`` writes the screenshots to docs/ instead of test-results/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from auth_support import ensure_accounts
from intake_support import MAPPINGS, SHARED

import app as app_module
from data import intake, service
from data.core import db, organisation
from data.intake import boundaries

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/datasets is not here")]
ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ("docs" if os.environ.get("EQIAN_UPDATE_SCREENSHOTS") else "test-results")
DISTRICTS = SHARED / "chicago-police-districts" / "chicago_police_districts.kml"
ASSAULTS = SHARED / "chicago-aggravated-assaults" / "chicago_aggravated_assaults.csv.gz"


@pytest.fixture(scope="module")
def chicago(tmp_path_factory):
    """A real-data jurisdiction built through the public paths only: organisation, stations, sectors, calls."""
    import gzip  # noqa: PLC0415

    folder = tmp_path_factory.mktemp("chicago")
    server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{folder / 'chicago.db'}", "EQIAN_DEMO": False,
                                    "EQIAN_SIMULATE": False})
    engine = db.engine_of(server)
    calls = folder / "assaults.csv"
    calls.write_bytes(gzip.decompress(ASSAULTS.read_bytes()))
    with engine.begin() as conn:
        organisation.save(conn, {"name": "Chicago Police Department", "short_name": "芝加哥警察局",
                                 "whole": "全市", "whole_en": "Whole city", "place": "芝加哥"})
        assert boundaries.import_boundaries(conn, DISTRICTS, "Name", "description").created == 23
    sectors = intake.import_registry(engine, "sectors", "name,name_en,industry_codes\n餐饮,Catering,H62\n".encode(),
                                     {"source": "bureau", "_identity": True})
    assert sectors.inserted == 1
    report = intake.import_file(engine, "incidents", calls, MAPPINGS / "chicago_assaults.yaml")
    assert report.ok and report.accepted > 148_000, report.lines()
    ensure_accounts(server)
    service.forget_version()
    yield server
    engine.dispose()


def _watch(page, origin: str) -> dict:
    log = {"console": [], "foreign": []}
    page.on("console", lambda m: log["console"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: log["console"].append(str(e)))
    page.on("request", lambda r: log["foreign"].append(r.url)
            if not r.url.startswith((origin, "data:", "blob:")) else None)
    return log


def test_brs001_the_setup_page_of_a_real_data_jurisdiction(page, chicago, live_server_factory):
    site = live_server_factory(chicago)
    log = _watch(page, site.url)
    page.set_viewport_size({"width": 1600, "height": 1000})
    site.login(page, "admin")
    page.goto(f"{site.url}/admin/setup")
    states = page.eval_on_selector_all("#setup-checks tr[data-check]",
                                       "rows => Object.fromEntries(rows.map(r => [r.dataset.check, r.dataset.state]))")
    assert states["organisation"] == "ok" and states["stations"] == "ok" and states["sectors"] == "ok"
    assert states["events"] == "ok" and states["enterprises"] == "missing"
    text = page.inner_text("#setup-checks")
    assert "23 个派出所" in text and "尚未导入企业名录" in text and "警情 148," in text
    assert page.locator("#setup-templates a[download]").count() == 3 * 8
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "setup-1600x1000.png"), full_page=True)
    assert log == {"console": [], "foreign": []}, log


def test_brs002_the_wall_of_a_real_data_jurisdiction_says_what_is_missing(page, chicago, live_server_factory):
    site = live_server_factory(chicago)
    log = _watch(page, site.url)
    page.set_viewport_size({"width": 1920, "height": 1080})
    site.login(page, "leader")
    page.goto(f"{site.url}/")
    page.wait_for_function("() => (document.querySelector('#wall-status')?.textContent || '').startsWith('数据更新')",
                           timeout=60_000)
    assert "芝加哥警察局" in page.inner_text("#wall-title") and page.inner_text("#wall-view-name") == "全市"
    page.wait_for_selector(".wall-setup-gap", timeout=15_000)
    assert "尚未导入企业名录" in page.inner_text(".wall-setup-gap")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "wall-chicago-1920x1080.png"))
    assert log == {"console": [], "foreign": []}, log

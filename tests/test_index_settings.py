"""The programme start, the index's base year and band limits as settings of the database (data/index/settings.py):
checked, stored, audited, and followed by every stored score: new bands re-band at once, a new base recomputes.

The jurisdiction here is small and built row by row (40 enterprises, three years of calls), on both backends; the
expected bands and scores are worked out independently of the stored ones (pandas over the stored scores, and a
fresh computation with the base year given in the configuration itself).
"""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from auth_support import csrf_token, ensure_accounts, login_client
from intake_support import credit_code
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import app as app_module
from data.access import audit
from data.core import db, rollups
from data.core.schema import Enterprise, Incident, Meta, Station
from data.index import jobs, safety_index
from data.index import settings as index_settings
from web.admin import save_programme

TODAY = date(2026, 11, 20)
START = date(2025, 8, 29)
CATEGORIES = ("治安", "刑事", "纠纷", "群众求助", "交通事故")


def _town(engine) -> None:
    """40 enterprises of two sectors and sizes, and calls at random days from 2023 to TODAY (seeded)."""
    rng = random.Random(19)
    with Session(engine) as s:
        s.add(Station(id=1, code="S1", name="甲派出所", polygon_geojson="{}", centre_lat=30.0, centre_lon=120.0))
        s.flush()
        for i in range(1, 41):
            s.add(Enterprise(id=i, name=f"测试企业{i}有限公司", credit_code=credit_code(f"91330502MA2B3C{i:03d}"),
                             sector="甲行业" if i % 2 else "乙行业", workers=rng.choice((5, 20, 80, 400)),
                             station_id=1, lat=30.0, lon=120.0, address=f"某路{i}号"))
        s.flush()
        first = datetime(2023, 1, 1, tzinfo=UTC)
        span = (datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC) - first).days
        for n in range(1500):
            at = first + timedelta(days=rng.randrange(span), hours=rng.randrange(24))
            s.add(Incident(received_at=at, category=rng.choice(CATEGORIES), priority=2, enterprise_related=True,
                           enterprise_id=max(1, rng.randint(1, 40) ** 2 // 40), station_id=1, channel="110",
                           created_at=at, source="t", source_id=f"i{n}"))
        s.commit()
    with engine.begin() as conn:
        _save(conn, {"programme_start": START.isoformat()})
        safety_index.refresh(conn, safety_index.index_months(conn, TODAY), TODAY)
        index_settings.clear_stale(conn)  # the refresh above computed every month on the start just set


def _file_bands():
    return safety_index.default_config().bands


def _save(conn, changes: dict):
    """``settings.save`` on TODAY, with the file's bands and the index writer's re-band (as save_programme)."""
    return index_settings.save(conn, changes, TODAY, _file_bands(), safety_index.reband)


def _stored(conn, table: str = "safety_index") -> pd.DataFrame:
    frame = pd.read_sql(text(f"SELECT * FROM {table}"), conn)
    return frame.assign(month=frame["month"].astype(str).str[:10])  # one spelling on both backends


def _expected_bands(scores: pd.Series, limits: tuple[tuple[str, float], ...]) -> list[str]:
    """The band of each score, worked out by hand: the first limit it reaches, else 红."""
    return [next((name for name, lower in limits if s >= lower), "红") for s in scores]


def test_set100_refused_settings_name_the_reason_and_store_nothing(engine):
    _town(engine)
    cases = {"programme_start": ("2026-13-01", "not a date"), "base_year": ("1999", "not a year from 2000"),
             "bands": ("50,65,80", "fall strictly")}
    with engine.connect() as conn:
        before = index_settings.load(conn)
    for field, (value, reason) in cases.items():
        with engine.begin() as conn, pytest.raises(index_settings.SettingsError, match=reason):
            _save(conn, {"bands": "85,70,55", field: value})
    with engine.begin() as conn, pytest.raises(index_settings.SettingsError, match="between 2000-01-01 and today"):
        _save(conn, {"programme_start": "2026-11-21"})
    with engine.begin() as conn, pytest.raises(index_settings.SettingsError, match="2 limits given, 3 wanted"):
        _save(conn, {"bands": "80,60"})
    with engine.connect() as conn:
        assert index_settings.load(conn) == before and index_settings.stale(conn) is None


def test_set101_new_band_limits_reband_every_stored_score_at_once(engine):
    _town(engine)
    with engine.connect() as conn:
        scores_before = _stored(conn).sort_values(["month", "enterprise_id"]).reset_index(drop=True)
        version = rollups.current_version(conn)
    limits = (("蓝", 70.0), ("黄", 55.0), ("橙", 40.0))
    with engine.begin() as conn:
        changed = _save(conn, {"bands": "70，55,40"})
    assert changed == {"bands": ("", "70,55,40")}
    with engine.connect() as conn:
        after = _stored(conn).sort_values(["month", "enterprise_id"]).reset_index(drop=True)
        units = _stored(conn, "safety_index_units")
        assert safety_index.config_for(conn).bands == limits
        assert rollups.current_version(conn) != version and index_settings.stale(conn) is None
    np.testing.assert_array_equal(after["score"], scores_before["score"])  # the scores stand
    assert after["band"].tolist() == _expected_bands(after["score"], limits)
    assert units["band"].tolist() == _expected_bands(units["score"], limits)
    assert after["band"].tolist() != scores_before["band"].tolist()  # the new limits moved some scores' band
    with engine.begin() as conn:  # back to the file's bands: empty
        _save(conn, {"bands": ""})
    with engine.connect() as conn:
        assert _stored(conn)["band"].tolist() == _expected_bands(_stored(conn)["score"], _file_bands())
        assert db.get_meta(conn, index_settings.BANDS_KEY) is None


@pytest.fixture
def _on_today(monkeypatch):
    """The index job's day is TODAY (it reads local_today)."""
    monkeypatch.setattr(jobs, "local_today", lambda: TODAY)


@pytest.mark.usefixtures("_on_today")
def test_set102_a_new_base_year_drops_the_bounds_and_recomputes_every_month(engine):
    _town(engine)
    with engine.connect() as conn:
        before = _stored(conn).set_index(["month", "enterprise_id"]).sort_index()
        assert json.loads(conn.execute(select(Meta.value).where(Meta.key.like("safety_index_bounds:%")))
                          .scalar_one())["base_year"] == 2024
    with engine.begin() as conn:
        assert _save(conn, {"base_year": "2023"}) == {
            "base_year": ("", "2023")}
    with engine.connect() as conn:
        assert index_settings.stale(conn) == "base_year"
        assert conn.execute(select(Meta.key).where(Meta.key.like("safety_index_bounds:%"))).all() == []
    written = jobs.refresh_current_index(engine)
    with engine.connect() as conn:
        after = _stored(conn).set_index(["month", "enterprise_id"]).sort_index()
        assert index_settings.stale(conn) is None
        config = dataclasses.replace(safety_index.default_config(), base_year=2023)  # the base in the file itself
        bounds = safety_index.reference_bounds(conn, TODAY, config)
        month = date(2025, 3, 1)
        fresh = safety_index.compute_month(conn, month, TODAY, bounds, config).set_index("enterprise_id")
    assert written == len(after) == len(before)  # every month, not only the current one
    assert set(after.index.get_level_values("month")) == set(before.index.get_level_values("month"))
    old = after.xs(month.isoformat(), level="month")
    np.testing.assert_allclose(old["score"].sort_index(), fresh["score"].sort_index(), atol=1e-9)
    assert not np.allclose(after["score"], before["score"])  # the base moved the scores


@pytest.mark.usefixtures("_on_today")
def test_set103_a_new_programme_start_moves_the_default_base_year(engine):
    _town(engine)
    with engine.begin() as conn:
        _save(conn, {"programme_start": "2024-03-01"})
        assert index_settings.stale(conn) == "programme_start"
        assert safety_index.base_year(conn, safety_index.config_for(conn)) == 2023
    jobs.refresh_current_index(engine)
    with engine.connect() as conn:
        (raw,) = conn.execute(select(Meta.value).where(Meta.key.like("safety_index_bounds:%"))).scalars().all()
        assert json.loads(raw)["base_year"] == 2023


def test_set104_the_admin_page_and_the_cli_set_them_and_audit_each_change(tmp_path):
    server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "EQIAN_DEMO": False,
                                    "EQIAN_SIMULATE": False})
    ensure_accounts(server)
    admin, leader = server.test_client(), server.test_client()
    login_client(admin, "admin")
    login_client(leader, "leader")
    page = admin.get("/admin/organisation").get_data(as_text=True)
    assert 'id="admin-programme"' in page and "平安指数分档下限" in page
    assert leader.post("/admin/programme", data={"bands": "70,55,40"}).status_code == 403
    csrf = csrf_token(admin, "/admin/organisation")
    refused = admin.post("/admin/programme", data={"csrf_token": csrf, "programme_start": "2025-08-29",
                                                   "base_year": "", "bands": "70,80,40"})
    assert refused.status_code == 400 and "fall strictly" in refused.get_data(as_text=True)
    done = admin.post("/admin/programme", data={"csrf_token": csrf, "programme_start": "2025-08-29",
                                                "base_year": "", "bands": "70,55,40"})
    assert done.status_code == 302
    shown = admin.get("/admin/organisation").get_data(as_text=True)
    assert 'value="70,55,40"' in shown and 'value="2025-08-29"' in shown and 'id="admin-index-stale"' in shown
    runner = server.test_cli_runner()
    result = runner.invoke(args=["set-programme", "--base-year", "2023", "--user", "张三"])
    assert result.exit_code == 0 and "base_year: '' -> '2023'" in result.output and "recomputed" in result.output
    refused_cli = runner.invoke(args=["set-programme", "--bands", "80"])
    assert refused_cli.exit_code == 1 and "1 limits given" in refused_cli.output
    with db.engine_of(server).connect() as conn:
        entries = audit.entries(conn, action="settings_changed")
        targets = {e.target: (e.actor, e.detail) for e in entries}
    assert targets["programme.bands"][1] == "'' -> '70,55,40'"
    assert targets["programme.base_year"] == ("cli:张三", "'' -> '2023'")
    assert "programme.programme_start" in targets
    db.engine_of(server).dispose()


def test_set105_save_programme_changes_nothing_twice(engine):
    with engine.begin() as conn:
        assert save_programme(conn, {"programme_start": "2025-08-29"}, "test")
        assert save_programme(conn, {"programme_start": "2025-08-29", "bands": "", "base_year": ""}, "test") == {}


def _csrf(page: str) -> str:
    return page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]

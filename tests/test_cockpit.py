"""The wall's numbers against independent pandas computations, and the versioned cache (memory and Redis)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import event, text

import app as app_module
from data import service
from data.core import db
from data.core.periods import Window
from data.core.schema import Incident
from data.core.scope import Unit
from data.demo.generator import DemoSettings
from data.screens.cockpit import SAME_WEEKDAYS, cockpit_numbers

pytestmark = pytest.mark.slow


def _incidents(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text("SELECT received_at, category, enterprise_related, station_id FROM incidents"), conn)
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True, format="mixed")
    local = frame["received_at"].dt.tz_convert("Asia/Shanghai")
    frame["day"] = local.dt.date
    frame["hour"] = local.dt.hour
    frame["enterprise_related"] = frame["enterprise_related"].astype(bool)
    return frame


@pytest.fixture(scope="module")
def frames(demo_databases):
    return {backend: _incidents(demo_databases(backend)) for backend in ("sqlite", "postgresql")}


@pytest.mark.parametrize("unit", [Unit(), Unit("station", 2)], ids=["town", "station2"])
def test_ckp001_incident_numbers_equal_pandas(demo_engine, frames, unit):
    today = DemoSettings.load(demo_engine).seed_day
    frame = frames[demo_engine.dialect.name]
    if unit.kind == "station":
        frame = frame[frame["station_id"] == unit.id]
    now = datetime.combine(today, datetime.min.time(), ZoneInfo("Asia/Shanghai")).replace(hour=10, minute=45)
    with demo_engine.connect() as conn:
        numbers = cockpit_numbers(conn, today, unit, now=now)
    on_today = frame[frame["day"] == today]
    assert numbers.today_total == len(on_today)
    assert numbers.today_enterprise == int(on_today["enterprise_related"].sum())
    assert numbers.categories_today == on_today["category"].value_counts().to_dict()
    weekdays = [today - timedelta(days=7 * k) for k in range(1, SAME_WEEKDAYS + 1)]
    past = frame[frame["day"].isin(weekdays)]
    # the same weekday up to 10:45: hours 0-9 whole, three quarters of hour 10
    so_far = (past["hour"] < 10) + 0.75 * (past["hour"] == 10)
    assert numbers.weekday_avg_total == pytest.approx(so_far.sum() / SAME_WEEKDAYS)
    assert numbers.weekday_avg_enterprise == pytest.approx(so_far[past["enterprise_related"]].sum() / SAME_WEEKDAYS)
    assert numbers.hours_today == [int((on_today["hour"] == h).sum()) for h in range(24)]
    assert numbers.hours_weekday_avg == pytest.approx(
        [(past["hour"] == h).sum() / SAME_WEEKDAYS for h in range(24)])
    # the to-date rule: the week and the year run to yesterday (on a Monday: the whole week before; on
    # 1 January: the whole year before); today counts on its own tiles and as the last, partial, day of 30
    yesterday = today - timedelta(days=1)
    monday = yesterday - timedelta(days=yesterday.weekday())
    assert numbers.week_window == Window(monday, yesterday)
    assert numbers.categories_week == frame[(frame["day"] >= monday) & (frame["day"] <= yesterday)][
        "category"].value_counts().to_dict()
    series = frame[(frame["day"] > today - timedelta(days=30)) & (frame["day"] <= today)].groupby("day").size()
    assert [n for _d, n in numbers.last30] == [int(series.get(d, 0)) for d, _ in numbers.last30]
    assert numbers.last30[-1][0] == today
    jan1 = date(yesterday.year, 1, 1)
    ytd = frame[(frame["day"] >= jan1) & (frame["day"] <= yesterday)]
    same_day = (yesterday.month, 28 if (yesterday.month, yesterday.day) == (2, 29) else yesterday.day)
    last_year = frame[(frame["day"] >= date(yesterday.year - 1, 1, 1))
                      & (frame["day"] <= date(yesterday.year - 1, *same_day))]
    assert (numbers.ytd["incidents"].now, numbers.ytd["incidents"].before) == (len(ytd), len(last_year))
    assert numbers.ytd["enterprise_incidents"].now == int(ytd["enterprise_related"].sum())
    assert numbers.ytd["traffic_accidents"].before == int((last_year["category"] == "交通事故").sum())


def test_ckp002_hazards_disputes_and_index(demo_engine):
    today = DemoSettings.load(demo_engine).seed_day
    with demo_engine.connect() as conn:
        numbers = cockpit_numbers(conn, today)
        hazards = pd.read_sql(text("SELECT found_at, deadline, status FROM hazards WHERE status = '待整改'"), conn)
        lowest = conn.execute(text(
            "SELECT enterprise_id FROM safety_index WHERE month = :m ORDER BY score, enterprise_id LIMIT 10"),
            {"m": today.replace(day=1) if demo_engine.dialect.name != "sqlite" else today.replace(day=1).isoformat()}
        ).scalars().all()
    deadline = pd.to_datetime(hazards["deadline"]).dt.date
    assert numbers.overdue_hazards == int((deadline < today).sum())
    assert sum(b["open"] + b["overdue"] for b in numbers.open_hazards_by_age) == len(hazards)
    assert [e["id"] for e in numbers.lowest_enterprises] == list(lowest)
    assert len(numbers.lowest_parks) == 5
    assert [p["score"] for p in numbers.lowest_parks] == sorted(p["score"] for p in numbers.lowest_parks)
    assert numbers.index_trend and numbers.index_trend[-1][0] == today.replace(day=1)
    assert 0 < numbers.in_house_share < 1 and 0 < numbers.rectification_rate <= 1


def test_ckp003_wall_units_only(demo_engine):
    with demo_engine.connect() as conn, pytest.raises(ValueError, match="not a park"):
        cockpit_numbers(conn, date(2026, 11, 29), Unit("park", 1))


def _statement_counter(engine):
    counter = {"n": 0}

    def count(*_args, **_kwargs):
        counter["n"] += 1

    event.listen(engine, "before_cursor_execute", count)
    return counter


def _add_incident(engine, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(Incident.__table__.insert().values(
            received_at=when, created_at=when, category="治安", priority=2, enterprise_related=False,
            station_id=1, channel="110", source="test", source_id=when.isoformat()))


class TestCache:
    def _server(self, url: str, cache_url: str = "simple"):
        return app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False,
                                      "EQIAN_CACHE_URL": cache_url})

    def test_ckp010_warm_calls_cost_one_tiny_query_and_new_data_shows_at_once(self, small_demo_town):
        url = small_demo_town.copy("cockpit-cache")
        engine = db.make_engine(url)
        now = small_demo_town.now  # the town ends then: its day is the one asked for, however long ago
        server = self._server(url)
        counter = _statement_counter(db.engine_of(server))
        today = (now + timedelta(hours=8)).date().isoformat()
        with server.app_context():
            service.forget_version()
            first = service.cockpit(today)
            cold = counter["n"]
            service.forget_version()
            again = service.cockpit(today)
            assert counter["n"] - cold == 1  # the version query only
            assert again == first
            _add_incident(engine, now - timedelta(seconds=1))
            service.forget_version()
            fresh = service.cockpit(today)
        assert fresh.today_total == first.today_total + 1
        assert cold > 10

    def test_ckp011_redis_shares_results_between_processes(self, small_demo_town):
        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        try:
            client.ping()
        except redis.exceptions.ConnectionError as exc:
            import os

            if os.environ.get("CI"):
                pytest.fail(f"Redis unreachable: {exc}")
            pytest.skip(f"Redis unreachable: {exc}")
        client.flushdb()
        url = small_demo_town.copy("cockpit-redis")
        now = small_demo_town.now
        today = (now + timedelta(hours=8)).date().isoformat()
        first, second = self._server(url, "redis://127.0.0.1:6379/15"), self._server(url, "redis://127.0.0.1:6379/15")
        counter = _statement_counter(db.engine_of(second))
        with first.app_context():
            service.forget_version()
            computed = service.cockpit(today)
        with second.app_context():
            service.forget_version()
            shared = service.cockpit(today)
        assert shared == computed
        assert counter["n"] <= 1  # the second "process" at most asked for the version (Redis may share it too)
        assert any(key.startswith(b"eqian:") for key in client.keys())
        client.flushdb()

    def test_ckp012_single_flight_through_redis_one_computation_for_all_processes(self, tmp_path):
        """Walls on different workers that miss the same new frame together wait for one computation."""
        import threading
        import time

        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        try:
            client.ping()
        except redis.exceptions.ConnectionError as exc:
            import os

            if os.environ.get("CI"):
                pytest.fail(f"Redis unreachable: {exc}")
            pytest.skip(f"Redis unreachable: {exc}")
        url = f"sqlite:///{tmp_path / 'sf.db'}"
        db.create_schema(db.make_engine(url))
        servers = [self._server(url, "redis://127.0.0.1:6379/15") for _ in range(2)]
        computed, results = [], []

        def frame():
            computed.append(1)
            time.sleep(0.3)
            return ("frame", len(computed))

        def wall(server):
            with server.app_context():
                results.append(service.single_flight("test:ckp012", frame, 60))

        threads = [threading.Thread(target=wall, args=(servers[k % 2],)) for k in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert computed == [1] and results == [("frame", 1)] * 10
        assert not client.exists("eqian:test:ckp012:lock")
        client.flushdb()

    def test_ckp013_the_data_version_is_read_once_for_all_processes_and_a_write_shows_within_a_second(self, tmp_path):
        import time

        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/15")
        try:
            client.ping()
        except redis.exceptions.ConnectionError as exc:
            import os

            if os.environ.get("CI"):
                pytest.fail(f"Redis unreachable: {exc}")
            pytest.skip(f"Redis unreachable: {exc}")
        client.flushdb()
        url = f"sqlite:///{tmp_path / 'v.db'}"
        engine = db.make_engine(url)
        db.create_schema(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO stations (id, name, code, polygon_geojson, centre_lat, centre_lon) "
                              "VALUES (1, '织东派出所', 'ZD', '{}', 30.9, 120.2)"))
        servers = [self._server(url, "redis://127.0.0.1:6379/15") for _ in range(3)]
        counters = [_statement_counter(db.engine_of(server)) for server in servers]
        versions = []
        for server in servers:  # three "processes" within half a second
            with server.app_context():
                service.forget_version()
                versions.append(service.data_version())
        assert len(set(versions)) == 1
        assert [c["n"] for c in counters] == [1, 0, 0]  # the first read the database, the others Redis
        _add_incident(engine, datetime.now(UTC))
        time.sleep(service.SHARED_VERSION_MS / 1000 + service.VERSION_TTL_SECONDS + 0.05)
        with servers[2].app_context():
            assert service.data_version() > versions[0]
        client.flushdb()

    def test_ckp014_the_version_never_goes_back_at_once_but_a_rebuilt_database_is_followed(self, tmp_path,
                                                                                           monkeypatch):
        import types

        url = f"sqlite:///{tmp_path / 'b.db'}"
        db.create_schema(db.make_engine(url))
        server = self._server(url)
        answers = iter([7, 5, 5])
        monkeypatch.setattr(service.rollups, "current_version", lambda _conn: next(answers))
        clock = [1000.0]
        monkeypatch.setattr(service, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
        with server.app_context():
            service.forget_version()
            assert service.data_version() == 7
            clock[0] += 1.0  # a late writer left an older value behind: the process keeps 7
            assert service.data_version() == 7
            clock[0] += service.NO_GOING_BACK_SECONDS + 0.1  # a database rebuilt for real is followed
            assert service.data_version() == 5


"""The map's data layer (data/screens/geo.py) on SQLite and PostgreSQL: crafted rows with known answers, and the demo
town against independent pandas computations from the raw rows."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import count

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import event, select

from data.core.schema import Enterprise, Incident, Park, Station, safety_index_table, safety_index_unit_table
from data.core.scope import Unit
from data.core.timeutil import LOCAL_TZ, local_midnight, local_today
from data.demo.geo import station_rows
from data.screens import geo

POINT_KEYS = {"lat", "lon", "priority", "category", "station_id", "age_minutes"}
PERSONAL = {"caller_name": "张三丰", "caller_phone": "13812345678", "address": "织里镇大港路88号302室",
            "summary": "张三丰报称其电动车被盗"}
CELL = 0.004
_ids = count(1)


# ---------------------------------------------------------------- crafted rows

def _add_stations(conn) -> None:
    conn.execute(Station.__table__.insert(), station_rows())


def _add_incident(conn, when: datetime, lat: float | None, lon: float | None, station_id: int = 1,
                  priority: int = 2, category: str = "治安") -> None:
    conn.execute(Incident.__table__.insert().values(
        received_at=when, created_at=when, category=category, priority=priority, enterprise_related=False,
        station_id=station_id, channel="110", source="test", source_id=f"geo-{next(_ids)}", lat=lat, lon=lon,
        **PERSONAL))


def _add_enterprise(conn, enterprise_id: int, station_id: int, name: str) -> None:
    conn.execute(Enterprise.__table__.insert().values(
        id=enterprise_id, name=name, credit_code=f"91330502MA2B{enterprise_id:05d}X", sector="童装",
        workers=10, station_id=station_id, lat=30.84 + enterprise_id / 1000, lon=120.26, address="织里镇某路1号"))


def _add_index(conn, month: date, enterprise_id: int, score: float, band: str) -> None:
    conn.execute(safety_index_table.insert().values(
        month=month, enterprise_id=enterprise_id, score=score, band=band,
        incidents=score, disputes=score, hazards=score, governance=score))


def _add_unit_index(conn, month: date, kind: str, unit_id: int, score: float, band: str) -> None:
    conn.execute(safety_index_unit_table.insert().values(
        month=month, unit_kind=kind, unit_id=unit_id, score=score, band=band, enterprises=10, workers=100.0))


@pytest.fixture
def stations(engine):
    with engine.begin() as conn:
        _add_stations(conn)
    return engine


# ---------------------------------------------------------------- demo frames (independent of data.screens.geo)

def _demo_incidents(engine, since: datetime) -> pd.DataFrame:
    table = Incident.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.received_at, table.c.lat, table.c.lon, table.c.priority,
                                   table.c.station_id).where(table.c.received_at >= since)).all()
    frame = pd.DataFrame(rows, columns=["received_at", "lat", "lon", "priority", "station_id"])
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    frame["day"] = frame["received_at"].dt.tz_convert("Asia/Shanghai").dt.date
    return frame


@pytest.fixture(scope="module")
def demo_frames(demo_databases, demo_now):
    """Raw incidents of the last ten days per backend, read once per module."""
    cache = {}

    def get(engine):
        name = engine.dialect.name
        if name not in cache:
            cache[name] = _demo_incidents(engine, demo_now - timedelta(days=10))
        return cache[name]

    return get


def _pandas_cells(frame: pd.DataFrame) -> list[dict]:
    located = frame.dropna(subset=["lat", "lon"])
    cells = pd.DataFrame({"i": np.floor(located["lat"] / CELL).astype(int),
                          "j": np.floor(located["lon"] / CELL).astype(int)})
    counted = cells.groupby(["i", "j"]).size().reset_index(name="n").sort_values(["i", "j"])
    return [{"lat": round((i + 0.5) * CELL, 6), "lon": round((j + 0.5) * CELL, 6), "n": int(n)}
            for i, j, n in counted.itertuples(index=False)]


# ---------------------------------------------------------------- station areas

class TestStationAreas:
    def test_geo001_every_station_polygon_as_a_feature(self, stations):
        with stations.connect() as conn:
            areas = geo.station_areas(conn)
        expected = station_rows()
        assert areas["type"] == "FeatureCollection"
        assert [f["id"] for f in areas["features"]] == [r["id"] for r in expected]
        assert [f["properties"] for f in areas["features"]] == [{"id": r["id"], "name": r["name"]} for r in expected]
        assert [f["geometry"] for f in areas["features"]] == [json.loads(r["polygon_geojson"]) for r in expected]
        assert all(f["type"] == "Feature" for f in areas["features"])
        json.dumps(areas)  # JSON-ready for the cache and the figure

    def test_geo002_no_stations_no_features(self, engine):
        with engine.connect() as conn:
            assert geo.station_areas(conn) == {"type": "FeatureCollection", "features": []}

    def test_geo003_demo_has_four_stations(self, demo_engine):
        with demo_engine.connect() as conn:
            areas = geo.station_areas(conn)
        assert [f["properties"]["name"] for f in areas["features"]] == ["织东派出所", "织北派出所", "织西派出所",
                                                                        "织南派出所"]
        assert {f["geometry"]["type"] for f in areas["features"]} == {"Polygon"}


# ---------------------------------------------------------------- today's incidents

class TestIncidentsToday:
    NOW = datetime(2026, 3, 10, 9, 30, tzinfo=LOCAL_TZ).astimezone(UTC)

    @pytest.fixture
    def today_rows(self, stations):
        midnight = local_midnight(date(2026, 3, 10))
        with stations.begin() as conn:
            _add_incident(conn, midnight - timedelta(seconds=1), 30.84, 120.26)  # yesterday
            _add_incident(conn, midnight, 30.841, 120.261, priority=1, category="刑事")
            _add_incident(conn, self.NOW - timedelta(minutes=30, seconds=20), 30.842, 120.262, station_id=2)
            _add_incident(conn, self.NOW, 30.843, 120.263, priority=3)
            _add_incident(conn, self.NOW + timedelta(minutes=1), 30.844, 120.264)  # not yet received
            _add_incident(conn, self.NOW - timedelta(minutes=10), None, None)  # not geocoded
        return stations

    def test_geo010_shanghai_day_up_to_now_oldest_first(self, today_rows):
        with today_rows.connect() as conn:
            points = geo.incidents_today(conn, self.NOW)
        assert [(p["lat"], p["lon"]) for p in points] == [(30.841, 120.261), (30.842, 120.262), (30.843, 120.263)]
        assert [p["age_minutes"] for p in points] == [570, 30, 0]
        assert [(p["priority"], p["category"], p["station_id"]) for p in points] == [
            (1, "刑事", 1), (2, "治安", 2), (3, "治安", 1)]

    def test_geo011_no_personal_data(self, today_rows):
        with today_rows.connect() as conn:
            points = geo.incidents_today(conn, self.NOW)
        assert points and all(set(p) == POINT_KEYS for p in points)
        text = json.dumps(points, ensure_ascii=False)
        assert not [value for value in PERSONAL.values() if value in text]

    def test_geo011a_points_go_out_at_the_precision_of_the_map(self, stations):
        """Beside the feed (time, category, station), a point to six decimals would place a call at a door."""
        with stations.begin() as conn:
            _add_incident(conn, self.NOW - timedelta(minutes=5), 30.8412345, 120.2618765)
        with stations.connect() as conn:
            (point,) = geo.incidents_today(conn, self.NOW)
        assert (point["lat"], point["lon"]) == (30.841, 120.262)  # ≈100 m

    def test_geo012_station_unit(self, today_rows):
        with today_rows.connect() as conn:
            assert [p["station_id"] for p in geo.incidents_today(conn, self.NOW, Unit("station", 2))] == [2]
            assert geo.incidents_today(conn, self.NOW, Unit("station", 4)) == []

    def test_geo013_refuses_park_unit_and_naive_now(self, stations):
        with stations.connect() as conn:
            with pytest.raises(ValueError, match="town or a station, not a park"):
                geo.incidents_today(conn, self.NOW, Unit("park", 1))
            with pytest.raises(ValueError, match="naive datetime"):
                geo.incidents_today(conn, datetime(2026, 3, 10, 9, 30))

    @pytest.mark.parametrize("unit", [Unit(), Unit("station", 3)], ids=["town", "station3"])
    def test_geo014_demo_today_equals_pandas(self, demo_engine, demo_frames, demo_now, unit):
        frame = demo_frames(demo_engine)
        today = local_today(demo_now)
        expected = frame[(frame["day"] == today) & (frame["received_at"] <= demo_now) & frame["lat"].notna()]
        if unit.kind == "station":
            expected = expected[expected["station_id"] == unit.id]
        with demo_engine.connect() as conn:
            points = geo.incidents_today(conn, demo_now, unit)
        assert len(points) == len(expected) > 0
        assert pd.Series([p["priority"] for p in points]).value_counts().to_dict() == \
            expected["priority"].value_counts().to_dict()
        ages = sorted(int((demo_now - t).total_seconds() // 60) for t in expected["received_at"])
        assert sorted(p["age_minutes"] for p in points) == ages
        assert all(set(p) == POINT_KEYS for p in points)


# ---------------------------------------------------------------- heat cells

class TestHeatCells:
    TODAY = date(2026, 3, 10)

    def test_geo020_floor_cells_identical_on_both_backends(self, stations):
        when = local_midnight(self.TODAY) + timedelta(hours=10)
        with stations.begin() as conn:
            for lat, lon in [(30.8479, 120.2519),  # x.975: PostgreSQL's CAST would round up
                             (30.8441, 120.2481),
                             (-0.001, -0.0061),  # negative: SQLite's CAST would truncate toward zero
                             (0.0, 0.0), (0.0039999, 0.0),
                             (0.004, -0.004)]:  # exact multiples
                _add_incident(conn, when, lat, lon)
            _add_incident(conn, when, None, 120.25)
        with stations.connect() as conn:
            cells = geo.heat_cells(conn, self.TODAY, cell_deg=CELL)
        assert cells == [
            {"lat": -0.002, "lon": -0.006, "n": 1},
            {"lat": 0.002, "lon": 0.002, "n": 2},
            {"lat": 0.006, "lon": -0.002, "n": 1},
            {"lat": 30.846, "lon": 120.25, "n": 2},
        ]

    def test_geo021_last_days_are_shanghai_days(self, stations):
        first = local_midnight(self.TODAY - timedelta(days=6))
        end = local_midnight(self.TODAY + timedelta(days=1))
        with stations.begin() as conn:
            _add_incident(conn, first - timedelta(microseconds=1), 30.8441, 120.2481)  # eighth day back
            _add_incident(conn, first, 30.8441, 120.2481)
            _add_incident(conn, end - timedelta(seconds=1), 30.8441, 120.2481)
            _add_incident(conn, end, 30.8441, 120.2481)  # tomorrow
        with stations.connect() as conn:
            assert [c["n"] for c in geo.heat_cells(conn, self.TODAY)] == [2]
            assert [c["n"] for c in geo.heat_cells(conn, self.TODAY, days=1)] == [1]
            assert [c["n"] for c in geo.heat_cells(conn, self.TODAY, days=8)] == [3]

    def test_geo022_counted_in_the_database(self, stations):
        when = local_midnight(self.TODAY) + timedelta(hours=10)
        with stations.begin() as conn:
            for k in range(50):
                _add_incident(conn, when, 30.8441, 120.2481 + (k % 2) * CELL)
        statements = []

        def record(_conn, _cursor, statement, *_rest):
            statements.append(statement)

        event.listen(stations, "before_cursor_execute", record)
        try:
            with stations.connect() as conn:
                cells = geo.heat_cells(conn, self.TODAY)
        finally:
            event.remove(stations, "before_cursor_execute", record)
        assert [c["n"] for c in cells] == [25, 25]
        assert len(statements) == 1
        assert "GROUP BY" in statements[0].upper() and "count(" in statements[0].lower()

    def test_geo023_station_unit_and_bad_arguments(self, stations):
        when = local_midnight(self.TODAY) + timedelta(hours=10)
        with stations.begin() as conn:
            _add_incident(conn, when, 30.8441, 120.2481, station_id=1)
            _add_incident(conn, when, 30.8441, 120.2481, station_id=2)
            _add_incident(conn, when, 30.8441, 120.2481, station_id=2)
        with stations.connect() as conn:
            assert [c["n"] for c in geo.heat_cells(conn, self.TODAY, unit=Unit("station", 2))] == [2]
            with pytest.raises(ValueError, match="days must be at least 1"):
                geo.heat_cells(conn, self.TODAY, days=0)
            with pytest.raises(ValueError, match="cell_deg must be positive"):
                geo.heat_cells(conn, self.TODAY, cell_deg=0)
            with pytest.raises(ValueError, match="town or a station, not a enterprise"):
                geo.heat_cells(conn, self.TODAY, unit=Unit("enterprise", 7))

    @pytest.mark.parametrize("unit", [Unit(), Unit("station", 1)], ids=["town", "station1"])
    def test_geo024_demo_cells_equal_pandas_floor_division(self, demo_engine, demo_frames, demo_now, unit):
        today = local_today(demo_now)
        frame = demo_frames(demo_engine)
        week = frame[(frame["day"] > today - timedelta(days=7)) & (frame["day"] <= today)]
        if unit.kind == "station":
            week = week[week["station_id"] == unit.id]
        with demo_engine.connect() as conn:
            cells = geo.heat_cells(conn, today, unit=unit)
        assert cells == _pandas_cells(week)
        assert sum(c["n"] for c in cells) == week["lat"].notna().sum() > 0

    def test_geo025_demo_sqlite_and_postgresql_agree(self, demo_databases, demo_now):
        today = local_today(demo_now)
        results = []
        for backend in ("sqlite", "postgresql"):
            with demo_databases(backend).connect() as conn:
                results.append(geo.heat_cells(conn, today, days=30, cell_deg=0.0015))
        assert results[0] == results[1]
        assert len(results[0]) > 100


# ---------------------------------------------------------------- parks, enterprises, station scores

class TestParksAndScores:
    MARCH = date(2026, 3, 1)

    @pytest.fixture
    def indexed(self, stations):
        with stations.begin() as conn:
            conn.execute(Park.__table__.insert(), [
                {"id": 1, "name": "东园", "station_id": 1, "lat": 30.85, "lon": 120.28},
                {"id": 2, "name": "北园", "station_id": 2, "lat": 30.87, "lon": 120.26}])
            _add_unit_index(conn, self.MARCH, "park", 1, 70.0, "黄")
            _add_unit_index(conn, self.MARCH, "station", 1, 85.0, "蓝")
            _add_unit_index(conn, self.MARCH, "station", 2, 40.0, "红")
            _add_unit_index(conn, date(2026, 2, 1), "station", 3, 60.0, "橙")
            _add_unit_index(conn, self.MARCH, "town", 0, 75.0, "黄")
            for enterprise_id, station_id, score, band in [(1, 1, 30.0, "红"), (2, 2, 55.0, "橙"), (3, 1, 70.0, "黄"),
                                                           (4, 1, 90.0, "蓝"), (5, 1, 52.0, "橙")]:
                _add_enterprise(conn, enterprise_id, station_id, f"企业{enterprise_id}")
                _add_index(conn, self.MARCH, enterprise_id, score, band)
            _add_index(conn, date(2026, 2, 1), 4, 20.0, "红")  # red last month, blue now
        return stations

    def test_geo030_parks_with_and_without_month(self, indexed):
        with indexed.connect() as conn:
            plain = geo.parks(conn)
            scored = geo.parks(conn, month=date(2026, 3, 17))
            station2 = geo.parks(conn, Unit("station", 2), month=self.MARCH)
        assert [(p["name"], p["score"], p["band"]) for p in plain] == [("东园", None, None), ("北园", None, None)]
        assert [(p["name"], p["score"], p["band"]) for p in scored] == [("东园", 70.0, "黄"), ("北园", None, None)]
        assert [(p["name"], p["lat"], p["lon"]) for p in station2] == [("北园", 30.87, 120.26)]

    def test_geo031_risky_enterprises_of_the_month_lowest_first(self, indexed):
        with indexed.connect() as conn:
            risky = geo.risky_enterprises(conn, date(2026, 3, 20))
            station1 = geo.risky_enterprises(conn, self.MARCH, Unit("station", 1))
            yellow = geo.risky_enterprises(conn, self.MARCH, bands=("黄",))
            february = geo.risky_enterprises(conn, date(2026, 2, 1))
        assert [(e["id"], e["score"], e["band"]) for e in risky] == [(1, 30.0, "红"), (5, 52.0, "橙"), (2, 55.0, "橙")]
        assert [e["id"] for e in station1] == [1, 5]
        assert [e["id"] for e in yellow] == [3]
        assert [(e["id"], e["band"]) for e in february] == [(4, "红")]
        assert all({"lat", "lon", "name", "score", "band"} <= set(e) and "address" not in e for e in risky)

    def test_geo032_unknown_band_and_unit_refused(self, indexed):
        with indexed.connect() as conn:
            with pytest.raises(ValueError, match="unknown band '紫'"):
                geo.risky_enterprises(conn, self.MARCH, bands=("红", "紫"))
            with pytest.raises(ValueError, match="not a park"):
                geo.parks(conn, Unit("park", 1))

    def test_geo033_station_scores_of_the_month_only(self, indexed):
        with indexed.connect() as conn:
            assert geo.station_scores(conn, date(2026, 3, 31)) == {1: (85.0, "蓝"), 2: (40.0, "红")}
            assert geo.station_scores(conn, date(2026, 2, 1)) == {3: (60.0, "橙")}
            assert geo.station_scores(conn, date(2026, 4, 1)) == {}

    @pytest.mark.parametrize("unit", [Unit(), Unit("station", 4)], ids=["town", "station4"])
    def test_geo034_demo_index_equals_raw_tables(self, demo_engine, demo_now, unit):
        month = local_today(demo_now).replace(day=1)
        idx, units = safety_index_table, safety_index_unit_table
        with demo_engine.connect() as conn:
            raw = pd.DataFrame(conn.execute(
                select(idx.c.enterprise_id, idx.c.score, idx.c.band, Enterprise.station_id)
                .join(Enterprise, Enterprise.id == idx.c.enterprise_id).where(idx.c.month == month)).all(),
                columns=["id", "score", "band", "station_id"])
            raw_units = conn.execute(select(units.c.unit_kind, units.c.unit_id, units.c.score, units.c.band)
                                     .where(units.c.month == month)).all()
            risky = geo.risky_enterprises(conn, month, unit)
            scores = geo.station_scores(conn, month)
            park_rows = geo.parks(conn, unit, month=month)
        if unit.kind == "station":
            raw = raw[raw["station_id"] == unit.id]
        expected = raw[raw["band"].isin(["橙", "红"])].sort_values(["score", "id"])
        assert [e["id"] for e in risky] == expected["id"].tolist() and len(risky) > 0
        assert [e["score"] for e in risky] == pytest.approx(expected["score"].tolist())
        assert scores == {uid: (pytest.approx(s), b) for kind, uid, s, b in raw_units if kind == "station"}
        assert len(scores) == 4
        park_scores = {uid: s for kind, uid, s, _b in raw_units if kind == "park"}
        assert {p["id"]: p["score"] for p in park_rows} == {
            p["id"]: pytest.approx(park_scores[p["id"]]) for p in park_rows}
        assert all(p["station_id"] == unit.id for p in park_rows) if unit.kind == "station" else len(park_rows) == 12

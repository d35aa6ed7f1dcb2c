"""The importer on real public exports (../shared/datasets), with mapping files kept in tests/mappings/.

Each file goes into a fresh database on both backends; the 同比 figures the app computes from the rollups
(``compstat.compare``) must equal an independent pandas computation over the raw file (its own clock
converted to Shanghai days, which is how the app buckets every record). Skipped, with the reason, where
../shared is absent (a user's own clone).
"""

from __future__ import annotations

import json
import re
from datetime import date

import pandas as pd
import pytest
import yaml
from intake_support import MAPPINGS, SHARED, snapshot
from sqlalchemy import func, select

from data import intake
from data.core.periods import Window
from data.core.schema import Incident
from data.counts.compstat import compare
from data.intake import boundaries

CVILLE = SHARED / "charlottesville-police-reports"
MONTCO = SHARED / "montco-911-sample"
SEATTLE = SHARED / "seattle-spd-calls-sample"
SHANGHAI = "Asia/Shanghai"


def _need(folder):
    if not folder.exists():
        pytest.skip(f"{folder} is absent (../shared is not beside this clone): real-data import tests skipped")


def _box(lon0, lat0, lon1, lat1) -> dict:
    return {"type": "Polygon", "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]]}


FOREIGN_STATIONS = [("CV", "Charlottesville PD", _box(-78.6, 37.9, -78.3, 38.2)),
                    ("MC", "Montgomery County", _box(-75.7, 39.95, -75.0, 40.45)),
                    ("SE", "Seattle East", _box(-122.46, 47.48, -122.22, 47.74))]


@pytest.fixture
def foreign(engine, tmp_path):
    """A fresh database with one station per foreign police force (the mappings name them by code), set up the way
    a bureau sets its own up: a boundary file through the product's station import (data/intake/boundaries.py)."""
    path = tmp_path / "foreign_stations.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": code, "name": name}, "geometry": box}
        for code, name, box in FOREIGN_STATIONS]}), encoding="utf-8")
    with engine.begin() as conn:
        report = boundaries.import_boundaries(conn, path, "code", "name")
    assert report.created == 3, report.lines()
    return engine


def _mapped(values: pd.Series, spec: dict) -> pd.Series:
    """The mapping's category rules applied with pandas: exact names (case-insensitive if asked), then the
    ordered regex rules, then the default."""
    table = {str(k).strip().casefold() if spec.get("ignore_case") else str(k).strip(): v
             for k, v in (spec.get("map") or {}).items()}
    flags = re.IGNORECASE if spec.get("ignore_case") else 0

    def one(value: str):
        text = value.strip()
        if spec.get("pattern"):
            text = re.search(spec["pattern"], text).group(1)
        key = text.casefold() if spec.get("ignore_case") else text
        if key in table:
            return table[key]
        for rule in spec.get("rules", []):
            if re.search(rule["pattern"], text, flags):
                return rule["value"]
        return spec.get("default")

    uniques = {v: one(v) for v in values.dropna().unique()}
    return values.map(uniques)


def _shanghai_days(utc: pd.Series) -> pd.Series:
    return utc.dt.tz_convert(SHANGHAI).dt.date


def _yoy_pandas(days: pd.Series, categories: pd.Series, year: int) -> dict:
    frame = pd.DataFrame({"day": days, "category": categories})
    now = frame[(frame.day >= date(year, 1, 1)) & (frame.day <= date(year, 12, 31))].category.value_counts()
    before = frame[(frame.day >= date(year - 1, 1, 1)) & (frame.day <= date(year - 1, 12, 31))].category.value_counts()
    # a year that begins before the file's first call is not covered by the data: no data (None), not 0
    covered = date(year - 1, 1, 1) >= frame.day.min()
    return {c: (int(now.get(c, 0)), int(before.get(c, 0)) if covered else None)
            for c in set(now.index) | set(before.index)}


def _yoy_app(engine, year: int) -> dict:
    with engine.connect() as conn:
        rows = compare(conn, "incidents", "custom", date(year + 1, 6, 30), year - 2,
                       custom=Window(date(year, 1, 1), date(year, 12, 31)), breakdown="category")
        total = compare(conn, "incidents", "custom", date(year + 1, 6, 30), year - 2,
                        custom=Window(date(year, 1, 1), date(year, 12, 31)))[()]
    return {k[0]: (c.now, c.year_earlier.before) for k, c in rows.items()}, total


def _count(engine, **where) -> int:
    with engine.connect() as conn:
        stmt = select(func.count()).select_from(Incident)
        for key, value in where.items():
            stmt = stmt.where(getattr(Incident, key) == value)
        return conn.execute(stmt).scalar_one()


class TestCharlottesville:
    MAIN = "crime_raw_2019-09-28.csv"
    OLDER = "crime_raw_2018-11-26.csv"

    def test_pub001_import_and_yoy_equal_pandas(self, foreign):
        _need(CVILLE)
        report = intake.import_file(foreign, "incidents", CVILLE / self.MAIN, MAPPINGS / "charlottesville.yaml")
        assert report.ok, report.error
        assert (report.rows_read, report.accepted, report.rejected) == (29_475, 29_475, 0)
        raw = pd.read_csv(CVILLE / self.MAIN, dtype=str, keep_default_na=False)
        spec = yaml.safe_load((MAPPINGS / "charlottesville.yaml").read_text(encoding="utf-8"))
        categories = _mapped(raw.Offense, spec["fields"]["category"])
        days = _shanghai_days(pd.to_datetime(raw.DateReported, format="%Y/%m/%d %H:%M:%S%z", utc=True))
        for year in (2016, 2017, 2018):
            expected = _yoy_pandas(days, categories, year)
            by_category, total = _yoy_app(foreign, year)
            assert by_category == expected, year
            assert (total.now, total.year_earlier.before) == (
                sum(v[0] for v in expected.values()), sum(v[1] for v in expected.values()))
            now, before = total.now, total.year_earlier.before
            # compared per day: 2016 had 366 days, 2015 365 (data.counts.metrics.Change.exposure)
            scaled = before * (366 if year % 4 == 0 else 365) / (366 if (year - 1) % 4 == 0 else 365)
            assert total.year_earlier.pct == pytest.approx(100.0 * (now - scaled) / scaled)
        # Spot checks of the values as stored.
        with foreign.connect() as conn:
            first = conn.execute(select(Incident.__table__).where(Incident.source_id == "201900027888")).one()
        assert (first.category, first.subcategory, first.summary) == ("刑事", "盗窃", "Larceny - Shoplifitng")
        assert first.address == "1500 UNIVERSITY AVE" and first.received_at.isoformat() == "2019-09-27T01:14:27+00:00"

    def test_pub002_older_export_adds_only_what_is_new(self, foreign):
        _need(CVILLE)
        mapping = MAPPINGS / "charlottesville.yaml"
        intake.import_file(foreign, "incidents", CVILLE / self.MAIN, mapping)
        older = intake.import_file(foreign, "incidents", CVILLE / self.OLDER, mapping)
        # The README: 25,429 incidents are in both exports (recognised by IncidentID, not RecordID).
        assert (older.rows_read, older.duplicates, older.accepted, older.rejected) == (30_245, 25_429, 4_816, 0)
        before = snapshot(foreign)
        for name in (self.MAIN, self.OLDER):
            again = intake.import_file(foreign, "incidents", CVILLE / name, mapping)
            assert again.ok and not again.changed
        assert snapshot(foreign) == before
        assert _count(foreign, source="cville-cpd") == 29_475 + 4_816


class TestMontco:
    def test_pub010_headerless_hash_ids_flags_and_yoy(self, foreign):
        _need(MONTCO)
        mapping = MAPPINGS / "montco.yaml"
        report = intake.import_file(foreign, "incidents", MONTCO / "911.csv", mapping)
        assert report.ok, report.error
        assert (report.rows_read, report.accepted, report.rejected) == (3_051, 3_051, 0)
        raw = pd.read_csv(MONTCO / "911.csv", header=None, names=["lat", "lng", "title", "ts", "twp", "addr"])
        outside = ~(raw.lng.between(-75.70, -75.00) & raw.lat.between(39.95, 40.45))
        assert report.flagged == int(outside.sum()) == report.flags["out_of_area"]
        spec = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        categories = _mapped(raw.title, spec["fields"]["category"])
        local = pd.to_datetime(raw.ts, format="%Y-%m-%d %H:%M").dt.tz_localize("America/New_York")
        days = _shanghai_days(local.dt.tz_convert("UTC"))
        for year in (2017, 2018):
            by_category, total = _yoy_app(foreign, year)
            assert by_category == _yoy_pandas(days, categories, year)
        before = snapshot(foreign)
        again = intake.import_file(foreign, "incidents", MONTCO / "911.csv", mapping)
        assert (again.duplicates, again.accepted) == (3_051, 0) and snapshot(foreign) == before


class TestSeattle:
    def test_pub020_bom_twelve_hour_clock_and_arrivals(self, foreign):
        _need(SEATTLE)
        mapping = MAPPINGS / "seattle.yaml"
        counts = {}
        files = (("db_call_data_2010-2023.csv", 275, 66), ("db_call_data_2018-2023.csv", 222, 36))
        for name, rows, no_arrival in files:
            report = intake.import_file(foreign, "incidents", SEATTLE / name, mapping)
            assert report.ok, report.error
            counts[name] = report
            assert report.rows_read == rows and report.rejected == 0, report.lines()
            raw = pd.read_csv(SEATTLE / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            assert int((raw["Arrived Time"] == "").sum()) == no_arrival
        first, second = counts.values()
        assert first.encoding == "utf-8-sig" and second.encoding == "utf-8"
        # The two files are different points; ids never repeat across them.
        assert second.duplicates == 0 and _count(foreign, source="seattle-spd") == 275 + 222
        with foreign.connect() as conn:
            no_arrival = conn.execute(select(func.count()).select_from(Incident)
                                      .where(Incident.arrived_at.is_(None))).scalar_one()
        assert no_arrival == 66 + 36
        both = pd.concat([pd.read_csv(SEATTLE / n, dtype=str, encoding="utf-8-sig") for n in counts])
        local = pd.to_datetime(both["Original Time Queued"], format="%m/%d/%Y %I:%M:%S %p")
        days = _shanghai_days(local.dt.tz_localize("America/Los_Angeles").dt.tz_convert("UTC"))
        spec = yaml.safe_load(mapping.read_text(encoding="utf-8"))
        categories = _mapped(both["Initial Call Type"], spec["fields"]["category"])
        for year in (2019, 2021, 2023):
            assert _yoy_app(foreign, year)[0] == _yoy_pandas(days, categories, year)

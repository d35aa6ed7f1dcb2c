"""The reference-data import (data/intake/registry.py) on a real public registry, end to end through the product's own
import paths only: San Francisco's inspected food businesses as our enterprise registry, then three years of their
inspection violations as hazards linked to them by the registry's own id (../shared/datasets/sf-restaurant-inspections).

The station comes in through the boundary import, the sector table through ``import_registry("sectors")``, the
businesses and violations through the mappings in tests/mappings/ (sf_businesses.yaml, sf_violations.yaml). Every
figure is checked against an independent pandas read of the raw files, on SQLite and PostgreSQL. Skipped, with the
reason, where ../shared is absent (a user's own clone).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
import yaml
from intake_support import MAPPINGS, SHARED
from sqlalchemy import func, select

from data import intake
from data.core.schema import Enterprise, EnterpriseHistory, Hazard, ImportRun, QuarantineRow, Sector
from data.intake import boundaries
from data.intake.registry import import_registry

SF = SHARED / "sf-restaurant-inspections"
BUSINESSES = SF / "businesses.csv"
VIOLATIONS = SF / "violations.csv"
BUSINESS_MAPPING = MAPPINGS / "sf_businesses.yaml"
VIOLATION_MAPPING = MAPPINGS / "sf_violations.yaml"
REGISTRY = "sf-dph-businesses"

pytestmark = pytest.mark.skipif(not SF.is_dir(), reason=f"{SF} is absent (../shared is not beside this clone): "
                                                        "real-registry import tests skipped")

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)  # the importer's clock: what lies after it is "in the future"
FIRST, LATER, LATEST = date(2026, 10, 31), date(2026, 11, 30), date(2026, 12, 31)  # the snapshots' dates
LOS_ANGELES, SHANGHAI = ZoneInfo("America/Los_Angeles"), ZoneInfo("Asia/Shanghai")
WEST, SOUTH, EAST, NORTH = -122.53, 37.70, -122.35, 37.84  # one station covering San Francisco
BOX = {"type": "Polygon", "coordinates": [[[WEST, SOUTH], [EAST, SOUTH], [EAST, NORTH], [WEST, NORTH], [WEST, SOUTH]]]}
SECTORS_CSV = "name,name_en,industry_codes\n餐饮,Catering,H62\n".encode()
TAG = r"\[ date violation corrected: (.*?) \]"


# --- setting up through the public paths ----------------------------------------------------------------------


@pytest.fixture
def city(engine, tmp_path):
    """One station (SF) from a GeoJSON square through the boundary import, and the sector table 餐饮."""
    path = tmp_path / "sf_station.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "SF", "name": "San Francisco"}, "geometry": BOX}]}),
        encoding="utf-8")
    with engine.begin() as conn:
        assert boundaries.import_boundaries(conn, path, "code", "name").created == 1
    report = import_registry(engine, "sectors", SECTORS_CSV, {"source": "bureau", "_identity": True}, now=NOW)
    assert report.ok and report.inserted == 1, report.lines()
    with engine.connect() as conn:
        assert conn.execute(select(Sector.name, Sector.name_en, Sector.industry_codes)).all() == [
            ("餐饮", "Catering", "H62")]
    return engine


@pytest.fixture
def registry(city):
    """The city with businesses.csv imported as its enterprise registry (snapshot of FIRST)."""
    report = import_registry(city, "enterprises", BUSINESSES, BUSINESS_MAPPING, now=NOW, as_of=FIRST)
    assert report.ok, report.lines()
    return city, report


def _businesses() -> pd.DataFrame:
    """businesses.csv as text, read independently: Latin-1 (the README: 7 lines hold Latin-1 bytes)."""
    frame = pd.read_csv(BUSINESSES, dtype=str, keep_default_na=False, encoding="latin-1")
    # no record spans lines, so the data row at index i is on line i + 2 (the header is line 1)
    assert BUSINESSES.read_bytes().count(b"\n") == len(frame) + 1
    frame["line"] = frame.index + 2
    return frame


def _stored(engine, model=Enterprise) -> dict:
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(model.__table__).order_by(model.id))}


def _count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def _station(engine):
    with engine.connect() as conn:
        (station,) = boundaries.stored_stations(conn)
    return station


def _mapping(path, **changes) -> dict:
    return {**yaml.safe_load(path.read_text(encoding="utf-8")), **changes}


# --- the registry ------------------------------------------------------------------------------------------------


def test_rpub001_the_latin1_file_needs_its_encoding_declared_and_a_wrong_one_stores_nothing(city):
    raw = BUSINESSES.read_bytes()
    lines = raw.split(b"\n")
    non_ascii = [i for i, line in enumerate(lines, start=1) if not line.isascii()]
    assert len(non_ascii) == 7  # as the README says
    not_gb18030 = []
    for i in non_ascii:
        try:
            lines[i - 1].decode("gb18030")
        except UnicodeDecodeError:
            not_gb18030.append(i)
    # auto: not UTF-8 (the first Latin-1 byte), and not GB18030 Chinese either: the import asks for an encoding
    auto = import_registry(city, "enterprises", BUSINESSES, _mapping(BUSINESS_MAPPING, encoding="auto"), now=NOW)
    assert not auto.ok and auto.error_line == non_ascii[0] == 2355, auto.lines()
    assert "cannot tell the file's encoding" in auto.error and "encoding: ..." in auto.error
    utf8 = import_registry(city, "enterprises", BUSINESSES, _mapping(BUSINESS_MAPPING, encoding="utf-8"), now=NOW)
    assert not utf8.ok and utf8.error_line == 2355 and "not valid UTF-8" in utf8.error
    # most Latin-1 letters followed by an ASCII letter happen to be GB18030 pairs; the first that is not stops it
    gbk = import_registry(city, "enterprises", BUSINESSES, _mapping(BUSINESS_MAPPING, encoding="gb18030"), now=NOW)
    assert not gbk.ok and gbk.error_line == not_gb18030[0] == 3791 and "not valid gb18030" in gbk.error
    assert _count(city, Enterprise) == 0 and _count(city, ImportRun) == 1  # the sector table's only
    # the mapping's own declaration (latin-1) reads every line
    dry = import_registry(city, "enterprises", BUSINESSES, BUSINESS_MAPPING, now=NOW, dry_run=True)
    assert dry.ok and dry.encoding == "iso8859-1" and dry.rows_read == len(lines) - 2 and dry.rejected == 0
    assert _count(city, Enterprise) == 0


def test_rpub002_every_business_is_stored_as_read_and_those_without_a_point_take_the_stations(registry):
    engine, report = registry
    frame = _businesses()
    # what the importer should refuse, computed here: no id, an id seen before, a name or address longer than our
    # columns, an empty name, only one coordinate, or coordinates that are not coordinates
    name, address = frame.name.str.strip(), frame.address.str.strip()
    lat, lon = pd.to_numeric(frame.latitude, errors="coerce"), pd.to_numeric(frame.longitude, errors="coerce")
    refused = {
        "source_id": (frame.business_id.str.strip() == "") | frame.business_id.duplicated()
        | (frame.business_id.str.len() > 64),
        "name": (name == "") | (name.str.len() > 100),
        "address": address.str.len() > 120,
        "lat/lon": (lat.isna() != lon.isna()) | ~lat.between(-90, 90) & lat.notna()
        | ~lon.between(-180, 180) & lon.notna(),
    }
    expected_refused = {int(line): sorted(k for k, bad in refused.items() if bad.iloc[i])
                        for i, line in enumerate(frame.line) if any(bad.iloc[i] for bad in refused.values())}
    assert expected_refused == {}  # this registry holds no row the importer should refuse ...
    assert [(r.line, r.reasons) for r in report.rejections] == [] and report.rejected == 0  # ... and none was
    accepted = frame[~pd.concat(refused, axis=1).any(axis=1)]
    assert accepted.business_id.nunique() == len(accepted) == 6399

    rows = {r.source_id: r for r in _stored(engine).values()}
    assert (report.rows_read, report.inserted, len(rows)) == (len(frame), 6399, 6399)
    assert set(rows) == set(accepted.business_id)
    assert {r.source for r in rows.values()} == {REGISTRY} and all(r.credit_code is None for r in rows.values())
    # names and addresses as the file holds them (trimmed), the Latin-1 letters included
    assert {k: r.name for k, r in rows.items()} == dict(zip(accepted.business_id, name[accepted.index], strict=True))
    assert {k: r.address for k, r in rows.items()} == dict(zip(accepted.business_id, address[accepted.index],
                                                               strict=True))
    accented = frame[~frame.name.map(str.isascii)]
    assert sorted(rows[b].name for b in accented.business_id) == sorted(accented.name.str.strip())
    assert rows["38566"].name == "TROPISUEÑO" and rows["75448"].name == "LAGUNA CAFÉ"
    assert rows["70705"].name == "CRÈME BRULEE TO GO" and rows["68091"].name == "KIÊN THANH"
    assert all(r.sector == "餐饮" and r.industry_code is None for r in rows.values())

    # no point: the station's centre, flagged point_from_station; the file's own point otherwise
    station = _station(engine)
    no_point = frame[(frame.latitude.str.strip() == "") & (frame.longitude.str.strip() == "")]
    assert len(no_point) == 3159  # the README's count
    flagged = {r.source_id for r in rows.values() if "point_from_station" in (r.import_flags or "")}
    assert flagged == set(no_point.business_id) and report.flags["point_from_station"] == len(no_point)
    assert {(rows[b].lat, rows[b].lon) for b in no_point.business_id} == {(station.lat, station.lon)}
    assert shapely.intersects_xy(shapely.geometry.shape(BOX), station.lon, station.lat)
    pointed = frame.drop(no_point.index)
    assert all(abs(rows[b].lat - float(y)) < 1e-7 and abs(rows[b].lon - float(x)) < 1e-7
               for b, y, x in zip(pointed.business_id, pointed.latitude, pointed.longitude, strict=True))
    # a point outside the station is kept and flagged out_of_area (two lie south of the city line; one of them,
    # "PIER 39 WEST PARK", is 15 km from Pier 39: a bad geocode the flag lets an admin find)
    inside = shapely.intersects_xy(shapely.geometry.shape(BOX), pointed.longitude.astype(float).to_numpy(),
                                   pointed.latitude.astype(float).to_numpy())
    outside = pointed[~inside]
    assert sorted(outside.line) == [1362, 2187]
    assert sorted(line for line, flags in report.flagged_lines if "out_of_area" in flags) == sorted(outside.line)
    assert {r.source_id for r in rows.values() if r.import_flags == "out_of_area"} == set(outside.business_id)
    assert report.flagged == len(no_point) + len(outside) and len(report.flagged_lines) == report.flagged
    assert {r.station_id for r in rows.values()} == {station.id}
    assert all(r.closed_on is None and r.values_since == FIRST for r in rows.values())


def test_rpub003_importing_the_same_registry_again_changes_nothing(registry):
    engine, first = registry
    before, runs = _stored(engine), _count(engine, ImportRun)
    again = import_registry(engine, "enterprises", BUSINESSES, BUSINESS_MAPPING, now=NOW + timedelta(days=1),
                            as_of=LATER)
    assert again.ok and not again.changed, again.lines()
    assert (again.inserted, again.updated, again.unchanged, again.closed) == (0, 0, 6399, 0)
    assert again.flags == first.flags and "nothing new: the database is unchanged" in again.summary()
    assert _stored(engine) == before and _count(engine, ImportRun) == runs


def test_rpub006_an_empty_address_cell_survives_a_second_import_without_a_default(city):
    frame = _businesses()
    (empty,) = frame[frame.address.str.strip() == ""].itertuples()  # business 77922, line 4028
    plain = _mapping(BUSINESS_MAPPING)
    plain["fields"] = {**plain["fields"], "address": "address"}  # the column alone, no default
    first = import_registry(city, "enterprises", BUSINESSES, plain, now=NOW, as_of=FIRST)
    assert first.ok and first.inserted == len(frame), first.lines()
    with city.connect() as conn:
        assert conn.execute(select(Enterprise.address).where(Enterprise.source_id == empty.business_id)
                            ).scalar_one() == ""
    before = _stored(city)
    again = import_registry(city, "enterprises", BUSINESSES, plain, now=NOW, as_of=LATER)
    assert again.ok and not again.changed, again.lines()
    assert _stored(city) == before


def test_rpub004_a_full_snapshot_closes_the_removed_renames_in_place_and_reopens_what_returns(registry, tmp_path):
    engine, _first = registry
    frame = _businesses().drop(columns="line")
    rng = np.random.default_rng(365)
    removed = set(rng.choice(frame.index, size=round(len(frame) * 0.05), replace=False))
    kept = frame.index.difference(sorted(removed))
    renamed = set(rng.choice(kept, size=round(len(frame) * 0.01), replace=False))
    snapshot = frame.drop(index=sorted(removed))
    snapshot.loc[sorted(renamed), "name"] = snapshot.loc[sorted(renamed), "name"].str.strip() + " (NEW OWNER)"
    path = tmp_path / "businesses_snapshot.csv"
    snapshot.to_csv(path, index=False, encoding="latin-1")
    full = _mapping(BUSINESS_MAPPING, snapshot="full")
    ids = {r.source_id: r.id for r in _stored(engine).values()}
    gone = {frame.business_id[i] for i in removed}
    new_names = {frame.business_id[i]: snapshot.name[i] for i in renamed}

    report = import_registry(engine, "enterprises", path, full, now=NOW, as_of=LATER)
    assert report.ok, report.lines()
    assert (len(gone), len(new_names)) == (320, 64)
    assert (report.stored_before, report.closed, report.updated, report.inserted) == (6399, 320, 64, 0)
    assert report.changed_fields == {"name": 64} and report.history == 0 and report.reopened == 0
    rows = {r.source_id: r for r in _stored(engine).values()}
    assert {k: r.id for k, r in rows.items()} == ids  # nothing deleted, ids never change
    assert {k for k, r in rows.items() if r.closed_on is not None} == gone
    assert {r.closed_on for r in rows.values() if r.closed_on is not None} == {LATER}
    assert {k: rows[k].name for k in new_names} == new_names
    assert _count(engine, EnterpriseHistory) == 0  # a name change keeps no history

    back = import_registry(engine, "enterprises", BUSINESSES, full, now=NOW, as_of=LATEST)
    assert back.ok, back.lines()
    assert (back.reopened, back.closed, back.updated, back.history) == (320, 0, 320 + 64, 0)
    rows = {r.source_id: r for r in _stored(engine).values()}
    assert all(r.closed_on is None for r in rows.values()) and {k: r.id for k, r in rows.items()} == ids
    originals = dict(zip(frame.business_id, frame.name.str.strip(), strict=True))
    assert {k: r.name for k, r in rows.items()} == originals
    assert _count(engine, EnterpriseHistory) == 0


# --- the violations, linked by the registry's own id --------------------------------------------------------------


def _la_instant(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOS_ANGELES).astimezone(UTC)


def _violations() -> pd.DataFrame:
    """violations.csv read independently, with what each row should become (or why it should be refused)."""
    frame = pd.read_csv(VIOLATIONS, dtype=str, keep_default_na=False)
    assert VIOLATIONS.read_bytes().count(b"\n") == len(frame) + 1  # no record spans lines
    frame["line"] = frame.index + 2
    frame["found"] = [datetime.strptime(d, "%Y%m%d").date() for d in frame.date]
    frame["tag"] = frame.description.str.extract(TAG)[0]
    frame["text"] = frame.description.str.replace(r"\s*\[ date violation corrected:.*$", "", regex=True).str.strip()
    corrected, refusal = [], []
    for found, tag in zip(frame.found, frame.tag, strict=True):
        day, why = None, None
        if isinstance(tag, str):
            m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", tag.strip())
            if m is None:
                why = "format"  # a clock time where the date belongs
            else:
                day = date(int(m[3]), int(m[1]), int(m[2]))
                if _la_instant(day) > NOW + timedelta(minutes=5):
                    why = "future"
                elif day < found:
                    why = "before"
        corrected.append(day)
        refusal.append(why)
    frame["corrected"], frame["refusal"] = corrected, refusal
    return frame


def _hazard_type(description: str, spec: dict) -> str:
    for rule in spec["rules"]:
        if re.search(rule["pattern"], description):
            return rule["value"]
    return spec["default"]


def test_rpub005_violations_become_hazards_at_the_enterprise_whose_registry_id_they_name(registry):
    engine, _report = registry
    frame = _violations()
    report = intake.import_file(engine, "hazards", VIOLATIONS, VIOLATION_MAPPING, now=NOW)
    assert report.ok, report.lines()

    # refused: exactly the lines whose corrected-date tag is a clock time, in the future, or before the day found
    expected = {int(r.line): r.refusal for r in frame.itertuples() if isinstance(r.refusal, str)}
    assert pd.Series(expected).value_counts().to_dict() == {"before": 141, "format": 12, "future": 2}  # the README
    kinds = {"does not match the format %m/%d/%Y": "format", "is in the future": "future",
             "is before found_at": "before"}
    got = {}
    for rejection in report.rejections:
        (reason,) = rejection.reasons
        assert reason.startswith("rectified_at: "), reason
        (got[rejection.line],) = [kind for text, kind in kinds.items() if text in reason]
    assert got == expected
    accepted = frame[frame.refusal.isna()]
    assert (report.rows_read, report.accepted, report.rejected) == (len(frame), len(accepted), len(expected))
    assert (len(frame), len(accepted)) == (39006, 38851)
    # identical raw rows are quarantined once
    refused_rows = frame[frame.refusal.notna()][["business_id", "date", "description"]]
    assert _count(engine, QuarantineRow) == len(refused_rows.drop_duplicates()) == report.quarantined == 154

    with engine.connect() as conn:
        stored = pd.DataFrame(conn.execute(
            select(Enterprise.source_id.label("business_id"), Enterprise.source.label("registry"), Hazard.found_at,
                   Hazard.rectified_at, Hazard.description, Hazard.hazard_type, Hazard.severity, Hazard.status,
                   Hazard.deadline, Hazard.station_id, Hazard.source, Hazard.source_id)
            .select_from(Hazard).outerjoin(Enterprise, Enterprise.id == Hazard.enterprise_id)).all())
    assert len(stored) == len(accepted) == _count(engine, Hazard)
    assert set(stored.registry) == {REGISTRY} and set(stored.source) == {"sf-dph-violations"}
    assert stored.source_id.is_unique and set(stored.station_id) == {_station(engine).id}
    found = pd.to_datetime(stored.found_at, utc=True).dt.tz_convert(LOS_ANGELES)
    assert (found.dt.hour == 0).all() and (found.dt.minute == 0).all()  # midnight in San Francisco
    rectified = pd.to_datetime(stored.rectified_at, utc=True).dt.tz_convert(LOS_ANGELES)
    stored["found"] = found.dt.date
    stored["corrected"] = [None if pd.isna(t) else t.date() for t in rectified]

    # each hazard at the enterprise whose registry id is its business_id: the stored (business, day found, text,
    # day corrected) rows, joined back through the enterprise, are the accepted rows of the file, row for row
    key = ["business_id", "found", "text", "corrected"]
    stored["text"] = stored.description
    mine = stored[key].astype(str).value_counts().sort_index()
    theirs = accepted[key].astype(str).value_counts().sort_index()
    assert mine.to_dict() == theirs.to_dict()

    # per enterprise, the top 10 by hazards equal pandas' counts over the accepted rows
    per_pandas = accepted.business_id.value_counts()
    per_stored = stored.business_id.value_counts()
    top = per_pandas.sort_values(ascending=False, kind="stable").head(10)
    assert {b: int(per_stored[b]) for b in top.index} == {b: int(n) for b, n in top.items()}
    assert per_stored.sort_index().to_dict() == per_pandas.sort_index().to_dict()

    # the rest of each row: status from the tag, the deadline 30 days after the (Shanghai) day found, the type
    # from the mapping's rules, severity constant
    assert (stored.status == np.where(stored.corrected.isna(), "待整改", "已整改")).all()
    assert int((stored.status == "已整改").sum()) == int(accepted.corrected.notna().sum())
    deadlines = [_la_instant(d).astimezone(SHANGHAI).date() + timedelta(days=30) for d in stored.found]
    assert list(stored.deadline) == deadlines
    spec = yaml.safe_load(VIOLATION_MAPPING.read_text(encoding="utf-8"))["fields"]["hazard_type"]
    types = accepted.description.map(lambda d: _hazard_type(d, spec)).value_counts().to_dict()
    assert stored.hazard_type.value_counts().to_dict() == types
    assert types == {"其他": 38212, "危化品": 507, "生产安全": 100, "三合一住人": 32}
    assert set(stored.severity) == {"一般"}

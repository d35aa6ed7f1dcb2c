"""Station boundaries through the product's own import (data/intake/boundaries.py, ``flask import-stations``), on the
real public files of ../shared/datasets (a KML, a projected zipped shapefile, a GCJ-02 GeoJSON) and on broken ones.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import shapely
from auth_support import csrf_token, ensure_accounts, login_client
from click.testing import CliRunner
from intake_support import SHARED
from pyogrio import raw as ogr
from sqlalchemy import func, select

import app as app_module
from data.access import audit
from data.core import db, rollups
from data.core.schema import Incident, Station
from data.intake import boundaries
from data.intake.coords import gcj02_to_wgs84, station_areas

DATASETS = SHARED  # ../shared/datasets beside the clone, or EQIAN_SHARED_DIR, or /work/shared
LONDON = DATASETS / "london-wards" / "london_wards.zip"
CHICAGO = DATASETS / "chicago-police-districts" / "chicago_police_districts.kml"
HUZHOU = DATASETS / "huzhou-boundaries" / "330500_full.json"

pytestmark = pytest.mark.skipif(not DATASETS.is_dir(), reason="../shared/datasets is not here")


def _geojson(tmp_path: Path, features: list[tuple[dict, dict | None]], name: str = "stations.geojson",
             crs=None) -> Path:
    collection = {"type": "FeatureCollection",
                  "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features]}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    path = tmp_path / name
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return path


def _square(x: float, y: float, size: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


class TestRealFiles:
    def test_bnd001_a_projected_shapefile_lands_in_london_with_its_own_areas(self):
        report = boundaries.read_boundaries(LONDON, "GSS_CODE", "GSS_CODE")
        assert report.ok and report.rows == len(report.boundaries) == 654
        assert report.crs == "OSGB36 / British National Grid"
        west, south, east, north = shapely.union_all([b.geometry for b in report.boundaries]).bounds
        assert -0.52 < west < -0.49 and 51.27 < south < 51.30 and 0.32 < east < 0.35 and 51.68 < north < 51.70
        # each ward's area, on the ellipsoid from our longitudes and latitudes, against the file's own HECTARES
        meta, _f, _g, values = ogr.read(f"/vsizip/{LONDON}/London_Ward_Boundaries.shp")
        fields = list(meta["fields"])
        hectares = dict(zip(values[fields.index("GSS_CODE")], values[fields.index("HECTARES")], strict=True))
        ratios = np.array([b.area_m2 / 1e4 / hectares[b.code] for b in report.boundaries])
        assert np.all(np.abs(ratios - 1) < 0.01), ratios[np.abs(ratios - 1) >= 0.01]
        assert report.overlaps == [] and report.gaps == []  # wards share their edges

    def test_bnd002_london_ward_names_are_not_unique_and_each_refusal_names_its_line(self):
        report = boundaries.read_boundaries(LONDON, "GSS_CODE", "NAME")
        assert not report.ok and len(report.rejected) == 26
        reasons = {reason for _line, _code, reason in report.rejected}
        assert any(r.startswith("name Belmont is also code") for r in reasons)
        assert any("is longer than 32 characters" in r for r in reasons)
        lines = report.lines()
        assert lines[0].endswith("26 rejected, 0 repaired, 0 merged, 0 overlaps, 0 gaps; nothing stored")
        assert all(line.startswith("line ") for line in lines[1:27])

    def test_bnd003_the_chicago_kml_is_stored_once_and_a_second_import_changes_nothing(self, engine):
        with engine.begin() as conn:
            report = boundaries.import_boundaries(conn, CHICAGO, "Name", "description")
        assert report.stored and report.created == 23 and report.merged == [("31", (3, 4, 8))]
        with engine.begin() as conn:
            version = rollups.current_version(conn)
            again = boundaries.import_boundaries(conn, CHICAGO, "Name", "description")
            assert (again.created, again.updated, again.unchanged) == (0, 0, 23)
            assert rollups.current_version(conn) == version
        with engine.connect() as conn:
            rows = {r.code: r for r in conn.execute(select(Station))}
            areas = station_areas(conn)
        assert rows["1"].name == "District 1" and len(rows) == 23
        # the event importer's jurisdiction rule sees the new stations: each centre lies in its own district
        lon = np.array([r.centre_lon for r in rows.values()])
        lat = np.array([r.centre_lat for r in rows.values()])
        assert list(areas.locate(lon, lat)) == [r.id for r in rows.values()]

    def test_bnd004_gcj02_boundaries_are_converted_to_wgs84(self):
        plain = boundaries.read_boundaries(HUZHOU, "adcode", "name")
        mars = boundaries.read_boundaries(HUZHOU, "adcode", "name", coords="gcj02")
        assert [b.name for b in mars.boundaries] == ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"]
        assert mars.crs == "WGS 84, GCJ-02"
        source = shapely.get_coordinates(plain.boundaries[0].geometry)
        converted = shapely.get_coordinates(mars.boundaries[0].geometry)
        lon, lat = gcj02_to_wgs84(source[:, 0], source[:, 1])
        assert np.allclose(converted, np.column_stack([lon, lat]), atol=1e-9)
        shift = np.abs(converted - source).max(axis=0)
        assert 0.003 < shift[0] < 0.006 and 0.001 < shift[1] < 0.004  # a few hundred metres


class TestBadInput:
    def test_bnd010_every_bad_row_is_named_and_nothing_is_stored(self, engine, tmp_path):
        spike = {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.01, 30.0], [120.01, 30.01],
                                                     [120.005, 30.01], [120.0051, 30.02], [120.0049, 30.0],
                                                     [120.0, 30.01], [120.0, 30.0]]]}
        bowtie = {"type": "Polygon", "coordinates": [[[120.1, 30.0], [120.11, 30.01], [120.11, 30.0],
                                                      [120.1, 30.01], [120.1, 30.0]]]}
        path = _geojson(tmp_path, [
            ({"code": "A", "name": "甲所"}, _square(120.2, 30.0)),
            ({"code": "", "name": "无编号"}, _square(120.3, 30.0)),
            ({"code": "B", "name": "乙所"}, {"type": "Point", "coordinates": [120.4, 30.0]}),
            ({"code": "C", "name": "丙所"}, bowtie),
            ({"code": "D", "name": "丁所"}, _square(120.5, 30.0)),
            ({"code": "D", "name": "戊所"}, _square(120.6, 30.0)),
            ({"code": "E", "name": "己所"}, None),
            ({"code": "F", "name": "庚所"}, spike),
        ])
        with engine.begin() as conn:
            report = boundaries.import_boundaries(conn, path, "code", "name")
        assert not report.stored and {(line, reason.split(":")[0]) for line, _c, reason in report.rejected} == {
            (2, "no code"), (3, "a Point, not a polygon"), (4, "invalid rings (Self-intersection[120.105 30.005])"),
            (6, "code D has two names"), (7, "no geometry")}
        assert [(line, code) for line, code, _why in report.repaired] == [(8, "F")]
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Station)).scalar_one() == 0

    def test_bnd011_a_projected_file_without_its_coordinate_system(self, tmp_path):
        bare = tmp_path / "wards_without_prj.zip"
        with zipfile.ZipFile(LONDON) as source, zipfile.ZipFile(bare, "w") as target:
            for item in source.namelist():
                if not item.lower().endswith(".prj"):
                    target.writestr(item, source.read(item))
        with pytest.raises(boundaries.BoundaryError, match="says no coordinate system"):
            boundaries.read_boundaries(bare, "GSS_CODE", "GSS_CODE")
        assert boundaries.read_boundaries(bare, "GSS_CODE", "GSS_CODE", crs="EPSG:27700").ok
        metres = _geojson(tmp_path, [({"code": "A", "name": "甲所"}, _square(530000, 180000, 1000))])
        refused = boundaries.read_boundaries(metres, "code", "name")  # GeoJSON says WGS-84, the numbers are metres
        assert "are not longitude and latitude" in refused.rejected[0][2]
        with pytest.raises(boundaries.BoundaryError, match="has no field 'district'; it has"):
            boundaries.read_boundaries(CHICAGO, "district", "Name")
        (tmp_path / "junk.kml").write_text("not a kml", encoding="utf-8")
        with pytest.raises(boundaries.BoundaryError, match="cannot be read"):
            boundaries.read_boundaries(tmp_path / "junk.kml", "code", "name")

    def test_bnd012_a_second_file_updates_by_code_keeps_ids_and_never_deletes(self, engine, tmp_path):
        first = _geojson(tmp_path, [({"code": c, "name": n}, _square(120 + i / 10, 30.0))
                                    for i, (c, n) in enumerate([("A", "甲所"), ("B", "乙所"), ("C", "丙所")])])
        with engine.begin() as conn:
            boundaries.import_boundaries(conn, first, "code", "name")
        with engine.connect() as conn:
            ids = dict(conn.execute(select(Station.code, Station.id)).all())
        second = _geojson(tmp_path, [({"code": "A", "name": "甲所"}, _square(120.0, 30.0)),
                                     ({"code": "B", "name": "乙派出所"}, _square(120.1, 30.0)),
                                     ({"code": "C", "name": "丙所"}, _square(120.2, 30.0, 0.02)),
                                     ({"code": "D", "name": "丁所"}, _square(120.3, 30.0))], name="second.geojson")
        with engine.begin() as conn:
            dry = boundaries.import_boundaries(conn, second, "code", "name", dry_run=True)
            assert dry.ok and not dry.stored and dry.summary().endswith("dry run, nothing stored")
            report = boundaries.import_boundaries(conn, second, "code", "name")
        assert (report.created, report.updated, report.unchanged, report.kept) == (1, 2, 1, 0)
        third = _geojson(tmp_path, [({"code": "A", "name": "甲所"}, _square(120.0, 30.0))], name="third.geojson")
        with engine.begin() as conn:
            assert boundaries.import_boundaries(conn, third, "code", "name").kept == 3
        with engine.connect() as conn:
            now = dict(conn.execute(select(Station.code, Station.id)).all())
            names = dict(conn.execute(select(Station.code, Station.name)).all())
        assert {c: now[c] for c in ids} == ids and set(now) == {"A", "B", "C", "D"} and names["B"] == "乙派出所"

    def test_bnd013_overlaps_and_enclosed_gaps_are_reported_with_their_area(self, tmp_path):
        ring = [("N", _square(120.0, 30.02, 0.03)), ("S", _square(120.0, 30.0, 0.03)),
                ("W", {"type": "Polygon", "coordinates": [[[120.0, 30.0], [120.01, 30.0], [120.01, 30.05],
                                                           [120.0, 30.05], [120.0, 30.0]]]}),
                ("E", {"type": "Polygon", "coordinates": [[[120.02, 30.0], [120.03, 30.0], [120.03, 30.05],
                                                           [120.02, 30.05], [120.02, 30.0]]]})]
        path = _geojson(tmp_path, [({"code": c, "name": c + "所"}, g) for c, g in ring])
        report = boundaries.read_boundaries(path, "code", "name")
        pairs = {(a, b) for a, b, _m2 in report.overlaps}
        assert ("N", "S") in pairs or ("S", "N") in pairs
        ns = next(m2 for a, b, m2 in report.overlaps if {a, b} == {"N", "S"})
        expected = boundaries.geodesic_area(shapely.box(120.0, 30.02, 120.03, 30.03))
        assert ns == pytest.approx(expected, rel=1e-6)
        assert report.gaps == []  # N and S overlap across the middle: nothing is enclosed
        hole = [("N", _square(120.0, 30.04, 0.03)), ("S", _square(120.0, 30.0, 0.03))] + ring[2:]
        report = boundaries.read_boundaries(_geojson(tmp_path, [({"code": c, "name": c + "所"}, g) for c, g in hole],
                                                     name="hole.geojson"), "code", "name")
        (m2, lon, lat), = report.gaps
        assert m2 == pytest.approx(boundaries.geodesic_area(shapely.box(120.01, 30.03, 120.02, 30.04)), rel=1e-6)
        assert 120.01 < lon < 120.02 and 30.03 < lat < 30.04


def test_bnd020_the_cli_imports_audits_and_fails_on_a_bad_file(tmp_path):
    server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "EQIAN_DEMO": False,
                                    "EQIAN_SIMULATE": False})
    command = server.cli.get_command(None, "import-stations")
    runner = CliRunner()
    with server.app_context():
        dry = runner.invoke(command, [str(CHICAGO), "--code-field", "Name", "--name-field", "description",
                                      "--dry-run", "--user", "it-officer"])
        assert dry.exit_code == 0 and "dry run, nothing stored" in dry.output
        done = runner.invoke(command, [str(CHICAGO), "--code-field", "Name", "--name-field", "description"])
        assert done.exit_code == 0 and "stored: 23 new, 0 updated, 0 unchanged, 0 kept" in done.output
        bad = runner.invoke(command, [str(LONDON), "--code-field", "GSS_CODE", "--name-field", "NAME"])
        assert bad.exit_code == 1 and "name Belmont is also code" in bad.output
        missing = runner.invoke(command, [str(CHICAGO), "--code-field", "nope", "--name-field", "Name"])
        assert missing.exit_code == 1 and "has no field 'nope'" in missing.output
    with db.engine_of(server).connect() as conn:
        entries = audit.entries(conn, action="import")
        assert conn.execute(select(func.count()).select_from(Station)).scalar_one() == 23
    chicago = "chicago_police_districts.kml · stations"
    assert [e.target for e in entries] == ["london_wards.zip · stations", chicago, chicago]
    assert entries[-1].actor == "cli:it-officer" and '"dry_run": true' in entries[-1].detail
    db.engine_of(server).dispose()


def test_bnd021_the_admin_page_imports_a_kml_audited_and_lists_the_stations(tmp_path):
    server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'page.db'}", "EQIAN_DEMO": False,
                                    "EQIAN_SIMULATE": False})
    ensure_accounts(server)
    leader, admin = server.test_client(), server.test_client()
    login_client(leader, "leader")
    assert leader.get("/admin/stations").status_code == 403
    login_client(admin, "admin")
    empty = admin.get("/admin/stations").get_data(as_text=True)
    assert "尚未导入派出所辖区" in empty and 'id="stations-form"' in empty

    def post(path: Path, name: str, **fields):
        form = {"csrf_token": csrf_token(admin, "/admin/stations"), "code_field": "Name",
                "name_field": "description", "coords": "wgs84", **fields,
                "file": (io.BytesIO(path.read_bytes()), name)}
        return admin.post("/admin/stations", data=form, content_type="multipart/form-data")

    dry = post(CHICAGO, "districts.kml", dry_run="y")
    assert dry.status_code == 200 and "dry run, nothing stored" in dry.get_data(as_text=True)
    done = post(CHICAGO, "districts.kml")
    page = done.get_data(as_text=True)
    assert done.status_code == 200 and "stored: 23 new" in page and "现有派出所（23）" in page
    assert 'data-station="31"' in page and "District 31" in page
    bad = post(LONDON, "wards.zip", code_field="GSS_CODE", name_field="NAME")
    assert bad.status_code == 400 and "name Belmont is also code" in bad.get_data(as_text=True)
    missing = post(CHICAGO, "districts.kml", code_field="nope")
    assert missing.status_code == 400 and "districts.kml has no field &#39;nope&#39;" in missing.get_data(as_text=True)
    wrong = post(CHICAGO, "districts.txt")
    assert wrong.status_code == 400 and "只接受 GeoJSON" in wrong.get_data(as_text=True)
    with db.engine_of(server).connect() as conn:
        targets = [e.target for e in audit.entries(conn, action="import")]
    assert targets == ["wards.zip · stations", "districts.kml · stations", "districts.kml · stations"]
    db.engine_of(server).dispose()


ASSAULTS = DATASETS / "chicago-aggravated-assaults" / "chicago_aggravated_assaults.csv.gz"
MAPPINGS = Path(__file__).resolve().parent / "mappings"


def test_bnd030_chicago_from_its_own_files_every_call_in_the_district_its_point_lies_in(engine, tmp_path):
    """A jurisdiction built only through the product's import paths: the KML districts, then ten years of calls
    whose station is found from their point; against an independent point-in-polygon count with shapely."""
    import pandas as pd  # noqa: PLC0415 - this test alone

    from data import intake  # noqa: PLC0415

    calls = tmp_path / "chicago_aggravated_assaults.csv"
    frame = pd.read_csv(ASSAULTS, dtype=str, keep_default_na=False)
    frame.to_csv(calls, index=False)
    with engine.begin() as conn:
        assert boundaries.import_boundaries(conn, CHICAGO, "Name", "description").created == 23
    report = intake.import_file(engine, "incidents", calls, MAPPINGS / "chicago_assaults.yaml")
    # independently: the KML's polygons by district in the file's order (the stations' ids follow it), each point
    # to the first district whose polygon holds it (edges included), as the importer's rule says
    meta, _f, wkb, values = ogr.read(str(CHICAGO))
    names = values[list(meta["fields"]).index("Name")]
    districts: dict[str, object] = {}
    for name, blob in zip(names, wkb, strict=True):
        part = shapely.from_wkb(blob)
        districts[name] = part if name not in districts else shapely.union_all([districts[name], part])
    lon, lat = frame.longitude.astype(float).to_numpy(), frame.latitude.astype(float).to_numpy()
    placed = np.full(len(frame), "", dtype=object)
    for name, polygon in districts.items():
        hit = (placed == "") & shapely.intersects_xy(polygon, lon, lat)
        placed[hit] = name
    outside = int((placed == "").sum())
    assert 80 <= outside <= 120  # the dataset's README: 91 points lie in no polygon
    assert (report.rows_read, report.accepted, report.rejected) == (len(frame), len(frame) - outside, outside)
    expected = pd.Series(placed[placed != ""]).value_counts().to_dict()
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Station.code, func.count(Incident.id)).join(Incident, Incident.station_id
                                                                                        == Station.id)
                                   .group_by(Station.code)).all())
    assert stored == expected
    # and where the file's own district column (a spatial join with the city's beats) agrees: about 98%
    agree = (frame.district.to_numpy() == placed).mean()
    assert 0.97 < agree < 0.99

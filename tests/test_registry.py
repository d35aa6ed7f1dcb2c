"""Reference data through the product's own import (data/intake/registry.py, ``flask import-registry``): the sector
table, parks and the enterprise registry, with monthly snapshots, on SQLite and PostgreSQL, from an empty database.

Stations come in through their own public path (data.intake.boundaries), never by SQL.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest
from click.testing import CliRunner
from intake_support import credit_code
from sqlalchemy import func, select

import app as app_module
from data.access import audit
from data.core import db, rollups, units
from data.core.schema import Enterprise, EnterpriseHistory, ImportRun, Park, Sector
from data.index import safety_index
from data.intake import boundaries
from data.intake.industry import SectorTable, normalise_code
from data.intake.registry import import_registry

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
SECTORS_CSV = ("name,name_en,industry_codes\n"
               "服装制造,Garments,C18\n"
               "针织服装,Knitwear,C1820\n"
               "批发零售,Trade,F\n"
               "餐饮,Catering,H62\n").encode()
ENTERPRISE_MAPPING = {
    "source": "county-registry",
    "fields": {"credit_code": "统一社会信用代码", "name": "企业名称", "sector": "行业代码", "workers": "从业人数",
               "address": "地址", "park": "园区", "lat": "纬度", "lon": "经度"},
}
ENTERPRISE_HEADER = "统一社会信用代码,企业名称,行业代码,从业人数,地址,园区,纬度,经度"
CODES = [credit_code(f"91330502MA2B{i:04d}X") for i in range(40)]


def _square(x: float, y: float, size: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


@pytest.fixture
def town(engine, tmp_path):
    """Two stations (west, east) through the boundary import, and the sector table."""
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "W01", "name": "西所"}, "geometry": _square(120.20, 30.80, 0.05)},
        {"type": "Feature", "properties": {"code": "E01", "name": "东所"}, "geometry": _square(120.25, 30.80, 0.05)},
    ]}
    path = tmp_path / "stations.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    with engine.begin() as conn:
        assert boundaries.import_boundaries(conn, path, "code", "name").stored
    report = import_registry(engine, "sectors", SECTORS_CSV, {"source": "bureau", "_identity": True}, now=NOW)
    assert report.ok and report.inserted == 4, report.lines()
    return engine


def _parks(engine, rows: list[str], **kw):
    body = ("代码,名称,纬度,经度,范围\n" + "\n".join(rows) + "\n").encode()
    mapping = {"source": "parks", "fields": {"code": "代码", "name": "名称", "lat": "纬度", "lon": "经度",
                                             "polygon": "范围"}}
    return import_registry(engine, "parks", body, mapping, now=NOW, **kw)


def _enterprises(engine, rows: list[str], mapping=None, **kw):
    body = (ENTERPRISE_HEADER + "\n" + "\n".join(rows) + "\n").encode()
    return import_registry(engine, "enterprises", body, mapping or ENTERPRISE_MAPPING, now=NOW, **kw)


def _stored(engine, model=Enterprise):
    with engine.connect() as conn:
        return {r.id: r for r in conn.execute(select(model.__table__))}


class TestIndustryCodes:
    def test_reg001_codes_read_with_or_without_their_section_letter(self):
        assert normalise_code("c1811") == normalise_code("1811") == normalise_code("C 1811") == "C1811"
        assert normalise_code("H") == "H" and normalise_code("62") == "H62"
        assert normalise_code("C0110") is None and normalise_code("童装") is None and normalise_code("99") is None

    def test_reg002_the_longest_covering_prefix_wins(self):
        table = SectorTable.from_rows([("服装制造", "C18"), ("针织服装", "C1820"), ("批发零售", "F")])
        assert table.sector_of("C1811") == ("服装制造", "C1811")
        assert table.sector_of("1820") == ("针织服装", "C1820")
        assert table.sector_of("5137") == ("批发零售", "F5137")
        assert table.sector_of("服装制造") == ("服装制造", None)
        assert table.sector_of("C1710") is None and table.sector_of("纺织") is None


class TestSectorsAndParks:
    def test_reg010_the_sector_table_is_data_and_a_second_import_changes_nothing(self, town):
        rows = _stored(town, Sector)
        assert sorted(r.name for r in rows.values()) == ["批发零售", "服装制造", "针织服装", "餐饮"]
        again = import_registry(town, "sectors", SECTORS_CSV, {"source": "bureau", "_identity": True}, now=NOW)
        assert again.ok and not again.changed and again.unchanged == 4
        assert "nothing new: the database is unchanged" in again.summary()

    def test_reg011_a_bad_industry_code_names_its_line(self, town):
        body = "name,name_en,industry_codes\n服装制造,Garments,C18\n坏行业,Bad,Z99 C18\n".encode()
        report = import_registry(town, "sectors", body, {"source": "bureau", "_identity": True}, now=NOW)
        assert report.rejected == 1 and report.rejections[0].line == 3
        assert report.rejections[0].reasons == ["industry_codes: 'Z99' are not GB/T 4754 codes"]

    def test_reg012_parks_find_their_station_from_their_point_or_outline(self, town):
        outline = "POLYGON ((120.26 30.81, 120.27 30.81, 120.27 30.82, 120.26 30.82, 120.26 30.81))"
        report = _parks(town, ["P1,西园,30.82,120.22,", f'P2,东园,,,"{outline}"', "P3,远园,31.50,121.50,"])
        assert report.ok and report.inserted == 2 and report.rejected == 1, report.lines()
        assert report.rejections[0].line == 4 and "station: none given" in report.rejections[0].reasons[0]
        parks = {p.code: p for p in _stored(town, Park).values()}
        stations = _station_ids(town)
        assert parks["P1"].station_id == stations["W01"] and parks["P2"].station_id == stations["E01"]
        assert 30.81 < parks["P2"].lat < 30.82 and json.loads(parks["P2"].polygon_geojson)["type"] == "Polygon"

    def test_reg013_a_renamed_park_is_updated_in_place_and_keeps_its_id(self, town):
        _parks(town, ["P1,西园,30.82,120.22,"])
        (before,) = _stored(town, Park).values()
        report = _parks(town, ["P1,西区园,30.82,120.22,"])
        assert report.updated == 1 and report.changed_fields == {"name": 1}
        (after,) = _stored(town, Park).values()
        assert (after.id, after.name) == (before.id, "西区园")


def _station_ids(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {s.code: s.id for s in boundaries.stored_stations(conn)}


class TestCreditCodes:
    def test_reg020_codes_excel_mangled_are_refused_with_the_reason_and_the_line(self, town):
        rows = [f"{CODES[0]},甲,C1811,10,地址,,30.82,120.22",
                "9.13305E+17,乙,C1811,10,地址,,30.82,120.22",
                "330502000123456,丙,C1811,10,地址,,30.82,120.22",
                "913305021234567000,丁,C1811,10,地址,,30.82,120.22",
                "12345,戊,C1811,10,地址,,30.82,120.22"]
        report = _enterprises(town, rows)
        assert report.inserted == 1 and report.rejected == 4
        reasons = {r.line: r.reasons[0] for r in report.rejections}
        assert "scientific notation" in reasons[3] and "15 digits: an old 工商注册号" in reasons[4]
        assert "Excel rounded it" not in reasons[5] and "ends in 000" in reasons[5]
        assert reasons[6].startswith("credit_code: '12345' is not a 统一社会信用代码")
        assert all(line.startswith(("rejected line", "imported", "file:", "rejections by"))
                   for line in report.lines())

    def test_reg021_a_number_cell_in_a_workbook_is_refused(self, town):
        book = openpyxl.Workbook()
        sheet = book.active
        sheet.append(ENTERPRISE_HEADER.split(","))
        sheet.append([913305021234567890, "甲", "C1811", 10, "地址", None, 30.82, 120.22])
        sheet.append([CODES[1], "乙", "C1811", 10, "地址", None, 30.82, 120.22])
        buffer = io.BytesIO()
        book.save(buffer)
        report = import_registry(town, "enterprises", buffer.getvalue(), ENTERPRISE_MAPPING, filename="r.xlsx",
                                 now=NOW)
        assert report.inserted == 1 and report.rejected == 1
        assert "is a number cell: Excel keeps 15 significant digits" in report.rejections[0].reasons[0]

    def test_reg022_a_failed_check_digit_is_stored_and_flagged_not_hidden(self, town):
        wrong = CODES[2][:-1] + ("0" if CODES[2][-1] != "0" else "1")
        report = _enterprises(town, [f"{wrong},甲,C1811,10,地址,,30.82,120.22"])
        assert report.inserted == 1 and report.flags == {"credit_code_check_digit": 1}
        (row,) = _stored(town).values()
        assert row.credit_code == wrong and row.import_flags == "credit_code_check_digit"


class TestEnterprises:
    def test_reg030_sector_station_park_and_point_come_from_the_row_or_fall_back(self, town):
        _parks(town, ["P1,西园,30.82,120.22,"])
        rows = [f"{CODES[0]},甲,C1811,10,一路1号,P1,30.83,120.21",  # its own point
                f"{CODES[1]},乙,1820,,二路2号,P1,,",  # no point: the park's
                f"{CODES[2]},丙,F5137,3,三路3号,,30.81,120.28",  # no park: the station from its point
                f"{CODES[3]},丁,C1710,3,四路4号,,30.81,120.28",  # an industry no sector covers
                f"{CODES[4]},戊,批发零售,3,五路5号,,,"]  # no park, no point: nothing places it
        report = _enterprises(town, rows)
        assert report.inserted == 3 and report.rejected == 2, report.lines()
        reasons = {r.line: r.reasons[0] for r in report.rejections}
        assert reasons[5].startswith("sector: 'C1710' is neither a sector of ours")
        assert reasons[6].startswith("station: none given")
        rows = {r.credit_code: r for r in _stored(town).values()}
        stations = _station_ids(town)
        assert (rows[CODES[0]].sector, rows[CODES[0]].industry_code) == ("服装制造", "C1811")
        assert (rows[CODES[1]].sector, rows[CODES[1]].workers) == ("针织服装", None)
        assert (rows[CODES[1]].lat, rows[CODES[1]].lon, rows[CODES[1]].import_flags) == (30.82, 120.22,
                                                                                         "point_from_park")
        assert rows[CODES[2]].station_id == stations["E01"] and rows[CODES[2]].park_id is None

    def test_reg031_a_second_import_of_the_same_file_changes_nothing(self, town):
        rows = [f"{CODES[i]},企业{i},C1811,{i + 1},路{i}号,,30.82,120.22" for i in range(5)]
        first = _enterprises(town, rows)
        before = _stored(town)
        again = _enterprises(town, rows)
        assert first.inserted == 5 and again.ok and not again.changed and again.unchanged == 5
        assert _stored(town) == before
        with town.connect() as conn:
            assert conn.execute(select(func.count()).select_from(ImportRun)).scalar_one() == 2  # sectors, first
            versions = rollups.current_version(conn)
        assert versions == rollups.current_version(town.connect())

    def test_reg032_a_snapshot_updates_what_changed_and_keeps_the_history(self, town):
        rows = [f"{CODES[i]},企业{i},C1811,{10 + i},路{i}号,,30.82,120.22" for i in range(20)]
        _enterprises(town, rows, as_of=date(2026, 10, 31))
        ids = {r.credit_code: r.id for r in _stored(town).values()}
        rows[3] = f"{CODES[3]},企业3,C1811,99,路3号,,30.82,120.22"  # head count
        rows[4] = f"{CODES[4]},企业4,F5137,14,路4号,,30.82,120.22"  # sector
        rows[5] = f"{CODES[5]},新名字,C1811,15,路5号,,30.82,120.22"  # name only: no history needed
        report = _enterprises(town, rows, as_of=date(2026, 11, 30))
        assert (report.inserted, report.updated, report.unchanged, report.history) == (0, 3, 17, 2)
        assert report.changed_fields == {"workers": 1, "sector": 1, "name": 1}
        after = {r.credit_code: r for r in _stored(town).values()}
        assert {c: r.id for c, r in after.items()} == ids  # ids never change
        assert after[CODES[3]].workers == 99 and after[CODES[3]].values_since == date(2026, 11, 30)
        history = {h.enterprise_id: h for h in _stored(town, EnterpriseHistory).values()}
        assert set(history) == {ids[CODES[3]], ids[CODES[4]]}
        old = history[ids[CODES[4]]]
        assert (old.sector, old.workers, old.valid_from, old.valid_to) == ("服装制造", 14, date(2026, 10, 31),
                                                                         date(2026, 11, 30))

    def test_reg033_a_full_snapshot_closes_what_the_registry_no_longer_holds_and_reopens_what_returns(self, town):
        full = {**ENTERPRISE_MAPPING, "snapshot": "full"}
        rows = [f"{CODES[i]},企业{i},C1811,10,路{i}号,,30.82,120.22" for i in range(20)]
        _enterprises(town, rows, full, as_of=date(2026, 10, 31))
        report = _enterprises(town, rows[:19], full, as_of=date(2026, 11, 30))
        assert report.closed == 1 and report.stored_before == 20, report.lines()
        closed = [r for r in _stored(town).values() if r.closed_on is not None]
        assert [(r.credit_code, r.closed_on) for r in closed] == [(CODES[19], date(2026, 11, 30))]
        back = _enterprises(town, rows, full, as_of=date(2026, 12, 31))
        assert back.reopened == 1 and back.closed == 0
        assert all(r.closed_on is None for r in _stored(town).values())

    def test_reg034_a_snapshot_that_drops_half_the_registry_is_refused_in_the_dry_run(self, town):
        full = {**ENTERPRISE_MAPPING, "snapshot": "full"}
        rows = [f"{CODES[i]},企业{i},C1811,10,路{i}号,,30.82,120.22" for i in range(20)]
        _enterprises(town, rows, full, as_of=date(2026, 10, 31))
        before = _stored(town)
        dry = _enterprises(town, rows[:10], full, dry_run=True)
        assert not dry.ok and "would close 10 of the 20 open enterprises of registry county-registry (50%)" in \
            dry.error and "Nothing was stored" in dry.error
        real = _enterprises(town, rows[:10], full)
        assert not real.ok and _stored(town) == before
        allowed = _enterprises(town, rows[:10], full, allow_mass_close=True)
        assert allowed.ok and allowed.closed == 10

    def test_reg035_the_dry_run_reports_everything_and_stores_nothing(self, town):
        rows = [f"{CODES[i]},企业{i},C1811,10,路{i}号,,30.82,120.22" for i in range(3)]
        report = _enterprises(town, rows, dry_run=True)
        assert report.ok and report.inserted == 3 and report.summary().startswith("would import")
        assert _stored(town) == {}

    def test_reg036_a_gbk_export_keyed_on_the_registrys_own_id(self, town):
        mapping = {"source": "scjg", "encoding": "gbk",
                   "fields": {"source_id": "登记号", "name": "企业名称", "sector": {"value": "餐饮"},
                              "address": "地址", "station": "派出所"}}
        body = "登记号,企业名称,地址,派出所\nA-1,湖州饭店,一路1号,东所\nA-2,南浔面馆,二路2号,W01\n".encode("gbk")
        report = import_registry(town, "enterprises", body, mapping, now=NOW)
        assert report.ok and report.inserted == 2 and report.encoding == "gbk", report.lines()
        rows = {r.source_id: r for r in _stored(town).values()}
        assert rows["A-1"].credit_code is None and rows["A-1"].source == "scjg"
        assert rows["A-1"].import_flags == "point_from_station"

    def test_reg037_the_same_enterprise_twice_in_one_file_is_refused_on_its_second_line(self, town):
        rows = [f"{CODES[0]},甲,C1811,10,地址,,30.82,120.22", f"{CODES[0]},甲二,C1811,10,地址,,30.82,120.22"]
        report = _enterprises(town, rows)
        assert report.inserted == 1 and report.rejections[0].line == 3
        assert "already on line 2" in report.rejections[0].reasons[0]

    def test_reg039_each_month_of_the_index_stands_on_that_months_registry(self, town):
        full = {**ENTERPRISE_MAPPING, "snapshot": "full"}
        rows = [f"{CODES[i]},企业{i},C1811,{10 + i},路{i}号,,30.82,120.22" for i in range(20)]
        _enterprises(town, rows, full, as_of=date(2026, 10, 31))
        changed = [f"{CODES[0]},企业0,F5137,99,路0号,,30.82,120.22", *rows[1:19]]  # 0 changes, 19 leaves
        _enterprises(town, changed, full, as_of=date(2026, 11, 30))
        ids = {r.credit_code: r.id for r in _stored(town).values()}
        with town.connect() as conn:
            october = safety_index.enterprise_frame(conn, date(2026, 10, 1)).set_index("enterprise_id")
            november = safety_index.enterprise_frame(conn, date(2026, 11, 1)).set_index("enterprise_id")
            december = safety_index.enterprise_frame(conn, date(2026, 12, 1)).set_index("enterprise_id")
            now = safety_index.enterprise_frame(conn).set_index("enterprise_id")
        first, gone = ids[CODES[0]], ids[CODES[19]]
        assert (october.loc[first, "sector"], october.loc[first, "workers"]) == ("服装制造", 10.0)
        assert (november.loc[first, "sector"], november.loc[first, "workers"]) == ("批发零售", 99.0)
        assert gone in october.index and gone in november.index and gone not in december.index
        assert len(december) == 19 and len(now) == 20  # closed, never deleted

    def test_reg038_without_a_sector_table_the_mapping_says_what_to_import_first(self, engine):
        report = import_registry(engine, "enterprises", (ENTERPRISE_HEADER + "\n").encode(), ENTERPRISE_MAPPING,
                                 now=NOW)
        assert not report.ok and "no sectors are defined yet" in report.error


class TestNetworkAndTeams:
    def test_reg050_the_networks_classes_are_the_bureaus_and_enterprises_are_checked_against_them(self, town):
        classes = "name,name_en,position\n加油站,Filling stations,1\n小区物业,Residential property,2\n".encode()
        assert import_registry(town, "network_classes", classes, {"source": "bureau", "_identity": True},
                               now=NOW).inserted == 2
        mapping = {**ENTERPRISE_MAPPING, "fields": {**ENTERPRISE_MAPPING["fields"], "network_unit_class": "类别"}}
        body = (ENTERPRISE_HEADER + ",类别\n" + f"{CODES[0]},甲,C1811,10,地址,,30.82,120.22,加油站\n"
                + f"{CODES[1]},乙,C1811,10,地址,,30.82,120.22,网吧\n").encode()
        report = import_registry(town, "enterprises", body, mapping, now=NOW)
        assert report.inserted == 1 and report.rejections[0].line == 3
        assert report.rejections[0].reasons == ["network_unit_class: '网吧' is not one of the network's classes "
                                                "(加油站, 小区物业)"]
        with town.connect() as conn:
            assert units.network_classes(conn) == [{"name": "加油站", "name_en": "Filling stations"},
                                                   {"name": "小区物业", "name_en": "Residential property"}]

    def test_reg051_teams_are_matched_on_enterprise_and_type_and_the_index_counts_those_standing(self, town):
        _enterprises(town, [f"{CODES[i]},企业{i},C1811,10,地址,,30.82,120.22" for i in range(3)])
        mapping = {"source": "teams", "fields": {"enterprise": "信用代码", "team_type": "类型",
                                                 "established_on": "成立", "dissolved_on": "解散", "members": "人数"}}

        def teams(rows):
            body = ("信用代码,类型,成立,解散,人数\n" + "\n".join(rows) + "\n").encode()
            return import_registry(town, "teams", body, mapping, now=NOW)

        rows = [f"{CODES[0]},安全巡防队,2025-01-10,,12", f"{CODES[0]},矛盾调处队,2025-03-01,,5",
                f"{CODES[1]},安全巡防队,2025-02-01,2025-01-01,3", f"{CODES[2]},足球队,2025-02-01,,3"]
        first = teams(rows)
        assert first.inserted == 2 and [r.line for r in first.rejections] == [4, 5], first.lines()
        assert first.rejections[0].reasons == ["dissolved_on: 2025-01-01 is before established_on 2025-02-01"]
        assert not teams(rows[:2]).changed  # the same teams again
        dissolved = teams([f"{CODES[0]},安全巡防队,2025-01-10,2026-10-15,12"])
        assert dissolved.updated == 1 and dissolved.changed_fields == {"dissolved_on": 1}
        ids = {r.credit_code: r.id for r in _stored(town).values()}
        config = safety_index.default_config()
        with town.connect() as conn:
            september = safety_index.month_inputs(conn, date(2026, 9, 1), date(2026, 11, 30), config)
            november = safety_index.month_inputs(conn, date(2026, 11, 1), date(2026, 11, 30), config)
        standing = lambda frame: dict(zip(frame["enterprise_id"], frame["teams"], strict=True))  # noqa: E731
        assert standing(september)[ids[CODES[0]]] == 2 and standing(november)[ids[CODES[0]]] == 1


class TestCli:
    def test_reg040_flask_import_registry_imports_audits_and_fails_on_a_bad_mapping(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "EQIAN_DEMO": False,
                                        "EQIAN_SIMULATE": False})
        sectors = tmp_path / "sectors.csv"
        sectors.write_bytes(SECTORS_CSV)
        bad_mapping = tmp_path / "bad.yaml"
        bad_mapping.write_text("source: x\nfields:\n  name: a\n  colour: b\n", encoding="utf-8")
        command = server.cli.get_command(None, "import-registry")
        runner = CliRunner()
        with server.app_context():
            dry = runner.invoke(command, ["sectors", str(sectors), "--source", "bureau", "--dry-run"])
            assert dry.exit_code == 0 and "would import sectors from bureau: 4 rows read, 4 new" in dry.output
            done = runner.invoke(command, ["sectors", str(sectors), "--source", "bureau", "--user", "it-officer"])
            assert done.exit_code == 0 and "imported sectors from bureau: 4 rows read, 4 new" in done.output
            bad = runner.invoke(command, ["sectors", str(sectors), "--mapping", str(bad_mapping)])
            assert bad.exit_code == 1 and "sectors have no field 'colour'" in bad.output
        with db.engine_of(server).connect() as conn:
            entries = audit.entries(conn, action="import")
            assert conn.execute(select(func.count()).select_from(Sector)).scalar_one() == 4
        assert len(entries) == 3 and all(e.target.startswith("sectors.csv") for e in entries)
        assert entries[1].actor == "cli:it-officer"
        db.engine_of(server).dispose()

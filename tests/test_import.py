"""The importer (data/intake) on SQLite and PostgreSQL: a corpus of bad input, the report, the quarantine,
idempotent re-import and all-or-nothing failure. Fuzzing is in test_import_fuzz.py, real public exports in
test_import_public.py."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from intake_support import (
    BAD_CODE,
    CODES,
    HEADER,
    INSIDE,
    INSIDE_NORTH,
    MAPPING,
    OUTSIDE,
    UNKNOWN_CODE,
    csv_bytes,
    make_town,
    recent,
    row,
    snapshot,
)
from sqlalchemy import func, inspect, select, text

from data import intake
from data.core import db, migrate
from data.core.schema import Dispute, Hazard, ImportRun, Incident, QuarantineRow
from data.intake import validate

UTC = UTC


@pytest.fixture
def town(engine):
    make_town(engine)
    return engine


def _mapping(**changes) -> dict:
    m = json.loads(json.dumps(MAPPING))
    for key, value in changes.items():
        if key.startswith("field_"):
            m["fields"][key[6:]] = value
        else:
            m[key] = value
    return m


def _incidents(engine) -> dict[str, Incident]:
    with engine.connect() as conn:
        return {r.source_id: r for r in conn.execute(select(Incident.__table__))}


def _quarantine(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(select(QuarantineRow.__table__).order_by(QuarantineRow.line)))


class TestGoodFile:
    def test_imp001_rows_stored_with_our_values(self, town):
        data = csv_bytes([
            row("A1", when="2025-03-01 10:00:00", code=CODES[0]),
            row("A2", when="2025-03-02 23:30:00", category="车祸", channel="对讲", station="ZB", lat=INSIDE_NORTH[0],
                lon=INSIDE_NORTH[1], summary="两车刮擦"),
            row("A3", category="求助", priority="", station="", code=CODES[1], lat=None, lon=None),
        ])
        report = intake.import_file(town, "incidents", data, MAPPING, filename="county.csv")
        assert report.ok, report.error
        assert (report.accepted, report.rejected, report.duplicates, report.rows_read) == (3, 0, 0, 3)
        assert report.encoding == "utf-8" and report.format == "csv" and report.import_id is not None
        rows = _incidents(town)
        a1, a2, a3 = rows["A1"], rows["A2"], rows["A3"]
        assert a1.received_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)  # Shanghai 10:00 is 02:00 UTC
        assert (a1.category, a1.priority, a1.channel, a1.station_id) == ("刑事", 2, "110", 1)
        assert (a1.enterprise_id, a1.enterprise_related, a1.park_id) == (1, True, 1)  # park from the enterprise
        assert (a1.lat, a1.lon) == pytest.approx(INSIDE)
        assert a1.source == "county-110" and a1.import_id == report.import_id and a1.import_flags is None
        assert (a2.category, a2.channel, a2.station_id, a2.enterprise_related) == ("交通事故", "民芯对讲", 2, False)
        # No station and no point: the enterprise's station; an empty priority takes the default.
        assert (a3.station_id, a3.priority, a3.lat, a3.enterprise_id) == (4, 3, None, 2)
        with town.connect() as conn:
            run = conn.execute(select(ImportRun.__table__)).one()
        assert (run.kind, run.source, run.filename, run.accepted, run.rows_read) == (
            "incidents", "county-110", "county.csv", 3, 3)
        assert json.loads(run.mapping_json)["fields"]["source_id"] == "编号"

    def test_imp002_rollups_fresh_after_import(self, town):
        data = csv_bytes([row(f"R{i}", when=recent(days=3 + i % 5)) for i in range(40)])
        before = snapshot(town)
        report = intake.import_file(town, "incidents", data, MAPPING, batch_size=7)
        assert report.accepted == 40
        after = snapshot(town)
        assert after["data_version"] > before["data_version"]
        assert after["triggers"] == before["triggers"]  # SQLite's suspended triggers are back
        from data.core import rollups
        from data.core.periods import Window

        with town.connect() as conn:
            window = Window(date(2020, 1, 1), date.today())
            for family, by in (("incidents", ("station_id", "category")), ("hours", ("hour",)),
                               ("response", ("category",))):
                assert rollups.counts(conn, family, window, group_by=by) == \
                    rollups.counts_raw(conn, family, window, group_by=by)
        # And the triggers still work after the import: a plain insert is counted at once.
        more = intake.import_file(town, "incidents", csv_bytes([row("R-late", when=recent(days=2))]), MAPPING)
        assert more.accepted == 1
        with town.connect() as conn:
            assert rollups.total(conn, "incidents", window) == 41


class TestBadInputCorpus:
    """One file with one fault per line; the report names each line and reason, the quarantine keeps them."""

    CORPUS = [
        row("B01"),                                             # line 2: good
        row("B02", when="2025-02-30 10:00:00"),                 # 3: no 30 February
        row("B03", when="01/03/2025 10:00"),                    # 4: wrong format
        row("B04", when="2099-01-01 10:00:00"),                 # 5: in the future
        row("B05", category="走私"),                             # 6: unknown category
        row("B06", lat=OUTSIDE[0], lon=OUTSIDE[1]),             # 7: out of area (flagged, stored)
        row("B01", summary="second B01"),                       # 8: duplicate of line 2 in this file
        row("B08", summary='=HYPERLINK("http://x","y")'),       # 9: formula (neutralised, stored)
        row("B09", code=BAD_CODE),                              # 10: bad check digit
        row("B10", code=UNKNOWN_CODE),                          # 11: valid code, unknown enterprise
        row("B11", priority="9"),                               # 12: priority not 1-3
        row("", summary="no id"),                               # 13: no source id
        row("B13", station="火星派出所"),                         # 14: unknown station
        row("B14", lat="30.86", lon=""),                        # 15: half a coordinate
        row("B15", when=""),                                    # 16: no time
        row("B16", when="1999-12-31 10:00:00"),                 # 17: before 2000
        row("B17", station="", lat=None, lon=None),             # 18: no way to tell the station
    ]
    EXPECTED = {
        3: "received_at: '2025-02-30 10:00:00' is not a real date",
        4: "received_at: '01/03/2025 10:00' does not match the format %Y-%m-%d %H:%M:%S",
        5: "received_at: '2099-01-01 10:00:00' is in the future",
        6: "category: '走私' is not in the mapping",
        8: "source_id: 'B01' already on line 2 of this file",
        10: "enterprise: credit code",
        11: f"enterprise: credit code {UNKNOWN_CODE} is valid but no enterprise of ours has it",
        12: "priority: '9' is not one of 1, 2, 3",
        13: "source_id: missing",
        14: "station: '火星派出所' is not a station code or name of ours",
        15: "lat/lon: give both or neither",
        16: "received_at: missing",
        17: "received_at: '1999-12-31 10:00:00' is before 2000-01-01",
        18: "station: none given",
    }

    def test_imp010_report_names_lines_and_reasons(self, town):
        report = intake.import_file(town, "incidents", csv_bytes(self.CORPUS), MAPPING)
        assert report.ok, report.error
        assert report.rows_read == len(self.CORPUS)
        by_line = {r.line: r.reasons for r in report.rejections}
        assert sorted(by_line) == sorted(self.EXPECTED)
        for line, reason in self.EXPECTED.items():
            assert any(reason in r for r in by_line[line]), (line, by_line[line])
        assert "check digit does not match" in by_line[10][0]
        assert report.accepted == 3 and report.rejected == len(self.EXPECTED)
        assert dict(report.flags) == {"out_of_area": 1, "formula": 1}
        text_lines = report.lines()
        assert any(t.startswith("rejected line 5: received_at:") and "in the future" in t for t in text_lines)
        assert any(t == "flagged line 7: out_of_area" for t in text_lines)

    def test_imp011_quarantine_holds_rejected_rows_as_read(self, town):
        report = intake.import_file(town, "incidents", csv_bytes(self.CORPUS), MAPPING)
        rows = _quarantine(town)
        assert [r.line for r in rows] == sorted(self.EXPECTED)
        assert report.quarantined == len(rows)
        first = rows[0]
        raw = json.loads(first.raw_json)
        assert list(raw) == HEADER and raw["接警时间"] == "2025-02-30 10:00:00" and raw["编号"] == "B02"
        assert first.status == "open" and first.source_id == "B02" and first.import_id == report.import_id
        assert "is not a real date" in json.loads(first.reasons_json)[0]
        items = intake.list_quarantine(town, kind="incidents")
        assert [i.line for i in items] == sorted(self.EXPECTED)
        assert intake.count_quarantine(town) == len(self.EXPECTED)

    def test_imp012_accepted_rows_and_their_flags(self, town):
        intake.import_file(town, "incidents", csv_bytes(self.CORPUS), MAPPING)
        rows = _incidents(town)
        assert sorted(rows) == ["B01", "B06", "B08"]
        assert rows["B01"].summary == "电动车被盗"  # the first B01 won; the second is quarantined
        assert rows["B06"].import_flags == "out_of_area" and rows["B06"].lat == pytest.approx(OUTSIDE[0])
        assert rows["B08"].summary == "'=HYPERLINK(\"http://x\",\"y\")" and rows["B08"].import_flags == "formula"

    def test_imp013_reimport_changes_nothing(self, town):
        data = csv_bytes(self.CORPUS)
        first = intake.import_file(town, "incidents", data, MAPPING)
        before = snapshot(town)
        again = intake.import_file(town, "incidents", data, MAPPING)
        assert again.ok and not again.changed and again.import_id is None
        assert (again.accepted, again.duplicates, again.quarantined) == (0, 3, 0)
        assert again.rejected == first.rejected and all(not r.quarantined for r in again.rejections)
        assert "nothing new: the database is unchanged" in again.summary()
        assert snapshot(town) == before

    def test_imp014_out_of_area_rejected_when_the_mapping_says_so(self, town):
        m = _mapping(coordinates={"outside": "reject"})
        report = intake.import_file(town, "incidents", csv_bytes(self.CORPUS[:6]), m)
        reasons = {r.line: r.reasons for r in report.rejections}
        assert reasons[7] == ["lat/lon: 30.500000, 121.500000 lies outside the stations' areas"]

    def test_imp015_formula_rejected_when_the_mapping_says_so(self, town):
        m = _mapping(formulas="reject")
        report = intake.import_file(town, "incidents", csv_bytes([row("F1", summary="=1+2"), row("F2", summary="-5"),
                                                                  row("F3", summary="@SUM(A1)")]), m)
        reasons = {r.line: r.reasons for r in report.rejections}
        assert reasons == {
            2: ["summary: '=1+2' starts with '=': a spreadsheet would run it as a formula (formulas: reject)"],
            4: ["summary: '@SUM(A1)' starts with '@': a spreadsheet would run it as a formula (formulas: reject)"],
        }
        assert _incidents(town)["F2"].summary == "-5"  # a plain number is inert

    def test_imp016_duplicates_against_the_database_are_skipped(self, town):
        intake.import_file(town, "incidents", csv_bytes([row("D1"), row("D2")]), MAPPING)
        report = intake.import_file(town, "incidents",
                                    csv_bytes([row("D0"), row("D1", summary="changed upstream"), row("D2"), row("D3")]),
                                    MAPPING)
        assert (report.accepted, report.duplicates, report.rejected) == (2, 2, 0)
        assert report.duplicate_lines == [3, 4]
        assert _incidents(town)["D1"].summary == "电动车被盗"  # stored rows are never overwritten
        # The same ids from another source are other records.
        other = intake.import_file(town, "incidents", csv_bytes([row("D1")]), MAPPING, source="other-system")
        assert other.accepted == 1

    def test_imp017_row_with_wrong_field_count(self, town):
        data = csv_bytes([row("W1"), row("W2")[:5], row("W3") + ["extra"], row("W4") + [""]])
        report = intake.import_file(town, "incidents", data, MAPPING)
        reasons = {r.line: r.reasons for r in report.rejections}
        assert reasons == {3: ["row: 5 fields, the header has 11"], 4: ["row: 12 fields, the header has 11"]}
        assert report.accepted == 2
        raw = json.loads(_quarantine(town)[1].raw_json)
        assert raw["#12"] == "extra"


class TestFileFailures:
    """A file that fails as a whole stores nothing, also after earlier batches were written."""

    def _assert_unchanged(self, engine, before, report, message, line=None):
        assert not report.ok and message in report.error, report.error
        if line is not None:
            assert report.error_line == line
        assert report.accepted == 0 and report.import_id is None
        assert snapshot(engine) == before

    def test_imp020_truncated_mid_row_after_several_batches(self, town):
        intake.import_file(town, "incidents", csv_bytes([row("OLD")]), MAPPING)
        before = snapshot(town)
        good = csv_bytes([row(f"T{i}") for i in range(12)], newline_at_end=False)
        cut = good[: good.rindex(",织里镇".encode())]  # the last line stops half-way
        report = intake.import_file(town, "incidents", cut, MAPPING, batch_size=3)
        self._assert_unchanged(town, before, report, "the last line has 8 of 11 fields and no line break", 13)

    def test_imp021_truncated_inside_a_quoted_field(self, town):
        before = snapshot(town)
        data = csv_bytes([row(f"Q{i}") for i in range(6)]) + b'Q9,2025-03-01 10:00:00,"\xe7\x9b\x97'
        report = intake.import_file(town, "incidents", data, MAPPING, batch_size=2)
        self._assert_unchanged(town, before, report, "ends inside a quoted field", 8)

    def test_imp022_truncated_inside_a_character(self, town):
        before = snapshot(town)
        data = csv_bytes([row("C1"), row("C2", summary="盗")])[:-3]  # cut through the UTF-8 of 盗
        report = intake.import_file(town, "incidents", data, MAPPING)
        self._assert_unchanged(town, before, report, "the file ends in the middle of a UTF-8 character: it looks "
                                                     "truncated", 3)
        declared = intake.import_file(town, "incidents", data, _mapping(encoding="utf-8"))
        self._assert_unchanged(town, before, declared, "not valid UTF-8; it ends in the middle of a character", 3)

    def test_imp023_gbk_declared_as_utf8_fails_naming_the_line(self, town):
        before = snapshot(town)
        data = csv_bytes([row(f"G{i}") for i in range(5)], encoding="gbk")
        report = intake.import_file(town, "incidents", data, _mapping(encoding="utf-8"))
        self._assert_unchanged(town, before, report, "are not valid UTF-8; the file reads as GBK/GB18030 Chinese: "
                                                     "declare encoding: gb18030", 1)

    def test_imp024_utf8_declared_as_gbk_is_refused_not_garbled(self, town):
        before = snapshot(town)
        report = intake.import_file(town, "incidents", csv_bytes([row("U1")]), _mapping(encoding="gbk"))
        self._assert_unchanged(town, before, report, "the mapping declares gbk, but the file is UTF-8 text")

    def test_imp025_utf8_file_with_a_gbk_line_later_fails_before_anything_is_stored(self, town):
        before = snapshot(town)
        data = csv_bytes([row(f"M{i}") for i in range(30)]) + csv_bytes([row("M99")], header=None, encoding="gbk")
        report = intake.import_file(town, "incidents", data, MAPPING, batch_size=5)
        self._assert_unchanged(town, before, report, "cannot tell the file's encoding", 32)

    def test_imp026_missing_columns_named(self, town):
        before = snapshot(town)
        header = [h for h in HEADER if h not in ("接警时间", "信用代码")]
        data = csv_bytes([[c for h, c in zip(HEADER, row("X1"), strict=True) if h in header]], header=header)
        report = intake.import_file(town, "incidents", data, MAPPING)
        self._assert_unchanged(town, before, report, "the file has no column(s) '信用代码', '接警时间'")
        assert "its columns are '编号'" in report.error

    def test_imp027_empty_and_binary_files(self, town):
        before = snapshot(town)
        assert "the file is empty" in intake.import_file(town, "incidents", b"", MAPPING).error
        xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
        assert "legacy Excel .xls" in intake.import_file(town, "incidents", xls, MAPPING).error
        damaged = b"PK\x03\x04" + b"\x00" * 50
        assert "not a readable XLSX" in intake.import_file(town, "incidents", damaged, MAPPING).error
        assert snapshot(town) == before

    def test_imp028_database_refusal_rolls_back_everything(self, town, monkeypatch):
        """A value the validator let through by mistake is caught by the database's CHECK, in batch 3."""
        before = snapshot(town)
        calls = {"n": 0}
        real = validate.RowValidator.validate

        def slipping(self, batch, *args, **kw):
            results = real(self, batch, *args, **kw)
            calls["n"] += 1
            if calls["n"] == 3:
                results[0].values["category"] = "走私"
            return results

        monkeypatch.setattr(validate.RowValidator, "validate", slipping)
        report = intake.import_file(town, "incidents", csv_bytes([row(f"Z{i}") for i in range(10)]), MAPPING,
                                    batch_size=2)
        assert not report.ok and report.error.startswith("the database refused the import (")
        assert "ck_incident_category" in report.error or "CHECK constraint failed" in report.error
        assert snapshot(town) == before

    def test_imp029_bad_mapping_stores_nothing(self, town, tmp_path):
        before = snapshot(town)
        bad = _mapping(field_category={"column": "类别", "map": {"盗窃": "盗窃"}})
        report = intake.import_file(town, "incidents", csv_bytes([row("M1")]), bad)
        assert not report.ok
        assert report.error.startswith("mapping: fields.category.map['盗窃']: '盗窃' is not one of ours")
        path = tmp_path / "m.yaml"
        path.write_text("kind: incidents\nsource: x\nfeilds: {}\n", encoding="utf-8")
        report = intake.import_file(town, "incidents", csv_bytes([row("M1")]), path)
        assert "mapping: feilds: unknown key(s)" in report.error
        assert snapshot(town) == before


class TestEncodings:
    def test_imp030_gbk_without_declaring_is_detected(self, town):
        data = csv_bytes([row("G1", address="织里镇栋梁路８号", summary="童装厂盗窃，损失约三千元")], encoding="gbk")
        report = intake.import_file(town, "incidents", data, MAPPING)
        assert report.ok and report.encoding == "gb18030" and report.accepted == 1
        g1 = _incidents(town)["G1"]
        assert (g1.address, g1.summary) == ("织里镇栋梁路８号", "童装厂盗窃，损失约三千元")

    def test_imp031_gb18030_declared(self, town):
        data = csv_bytes([row("G2", summary="䶮字在GB18030里")], encoding="gb18030")
        report = intake.import_file(town, "incidents", data, _mapping(encoding="gb18030"))
        assert report.ok and _incidents(town)["G2"].summary == "䶮字在GB18030里"

    def test_imp032_utf8_with_bom(self, town):
        data = csv_bytes([row("BOM1")], encoding="utf-8-sig")
        report = intake.import_file(town, "incidents", data, MAPPING)
        assert report.ok and report.encoding == "utf-8-sig" and report.accepted == 1

    def test_imp033_latin1_is_not_taken_for_chinese(self, town):
        header = ["id", "time", "summary"]
        data = csv_bytes([["L1", "2025-03-01 10:00:00", "Señor Müller à Zürich, café crème, Ñandú"]], header=header,
                         encoding="latin-1")
        m = {"source": "europe", "fields": {
            "source_id": "id", "received_at": {"column": "time", "format": "%Y-%m-%d %H:%M:%S"}, "summary": "summary",
            "category": {"value": "其他"}, "priority": {"value": 3}, "channel": {"value": "110"},
            "station": {"value": "ZD"}}}
        report = intake.import_file(town, "incidents", data, m)
        assert not report.ok and "cannot tell the file's encoding" in report.error
        report = intake.import_file(town, "incidents", data, {**m, "encoding": "latin-1"})
        assert report.ok and _incidents(town)["L1"].summary == "Señor Müller à Zürich, café crème, Ñandú"


class TestMappingFile:
    def test_imp035_yaml_words_stay_text(self, town, tmp_path):
        path = tmp_path / "county.yaml"
        path.write_text(
            "source: county-110\n"
            "fields:\n"
            "  source_id: 编号\n"
            "  received_at: {column: 接警时间, format: '%Y-%m-%d %H:%M:%S'}\n"
            "  category: {value: 治安}\n"
            "  priority: {value: 2}\n"
            "  channel: {column: 方式, map: {ON: 来所, OFF: 110, yes: 钉钉群}}\n"
            "  station: {value: ZD}\n"
            "  enterprise_related: {column: 摘要, true: [Y], false: [N]}\n", encoding="utf-8")
        data = csv_bytes([row("Y1", channel="ON", summary="Y"), row("Y2", channel="OFF", summary="N"),
                          row("Y3", channel="yes", summary="N")])
        report = intake.import_file(town, "incidents", data, path)
        assert report.accepted == 3, report.lines()
        rows = _incidents(town)
        assert [(rows[k].channel, rows[k].enterprise_related) for k in ("Y1", "Y2", "Y3")] == [
            ("来所", True), ("110", False), ("钉钉群", False)]


class TestCoordinates:
    def test_imp040_gcj02_converted_to_wgs84_and_station_found_from_the_point(self, town):
        g_lon, g_lat = intake.wgs84_to_gcj02(INSIDE_NORTH[1], INSIDE_NORTH[0])
        data = csv_bytes([row("P1", station="", lat=f"{float(g_lat):.7f}", lon=f"{float(g_lon):.7f}")])
        report = intake.import_file(town, "incidents", data, _mapping(coordinates={"system": "gcj02"}))
        assert report.ok and report.accepted == 1
        p1 = _incidents(town)["P1"]
        assert p1.lat == pytest.approx(INSIDE_NORTH[0], abs=1e-6)
        assert p1.lon == pytest.approx(INSIDE_NORTH[1], abs=1e-6)
        assert p1.station_id == 2  # 织北, from the point
        assert abs(float(g_lon) - INSIDE_NORTH[1]) > 0.003  # the shift is real, a few hundred metres

    def test_imp041_bbox_jurisdiction_and_none(self, town):
        data = csv_bytes([row("P2", lat=OUTSIDE[0], lon=OUTSIDE[1]), row("P3")])
        m = _mapping(coordinates={"jurisdiction": {"bbox": [121, 30, 122, 31]}, "outside": "reject"})
        report = intake.import_file(town, "incidents", data, m)
        assert [r.line for r in report.rejections] == [3]
        assert "lies outside bbox 121.0,30.0,122.0,31.0" in report.rejections[0].reasons[0]
        m = _mapping(coordinates={"jurisdiction": "none"}, source="elsewhere")
        report = intake.import_file(town, "incidents", data, m)
        assert report.accepted == 2 and report.flagged == 0

    def test_imp042_zero_zero_means_no_point(self, town):
        report = intake.import_file(town, "incidents", csv_bytes([row("P4", lat="0", lon="0")]), MAPPING)
        assert report.accepted == 1 and _incidents(town)["P4"].lat is None


class TestTimes:
    def test_imp050_zones_and_offsets(self, town):
        m = _mapping(timezone="America/New_York",
                     field_received_at={"column": "接警时间", "format": ["%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M:%S"]})
        data = csv_bytes([row("Z1", when="2024-07-01 08:00:00"), row("Z2", when="2024-07-01 08:00:00+08"),
                          row("Z3", when="2016-03-13 02:26:00"), row("Z4", when="2024-11-03 01:30:00")])
        report = intake.import_file(town, "incidents", data, m)
        rows = _incidents(town)
        assert rows["Z1"].received_at == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)  # EDT is UTC-4
        assert rows["Z2"].received_at == datetime(2024, 7, 1, 0, 0, tzinfo=UTC)
        assert rows["Z4"].received_at == datetime(2024, 11, 3, 5, 30, tzinfo=UTC)  # ambiguous: the first (EDT)
        assert [r.reasons for r in report.rejections] == [
            ["received_at: 2016-03-13 02:26 does not exist in America/New_York (the clocks went forward)"]]

    def test_imp051_twelve_hour_clock(self, town):
        m = _mapping(field_received_at={"column": "接警时间", "format": "%m/%d/%Y %I:%M:%S %p"})
        data = csv_bytes([row("H1", when="11/04/2023 6:08:26 PM"), row("H2", when="12/12/2023 12:06:49 AM")])
        intake.import_file(town, "incidents", data, m)
        rows = _incidents(town)
        assert rows["H1"].received_at == datetime(2023, 11, 4, 10, 8, 26, tzinfo=UTC)
        assert rows["H2"].received_at == datetime(2023, 12, 11, 16, 6, 49, tzinfo=UTC)

    def test_imp052_dispatch_before_receipt_refused(self, town):
        m = _mapping(field_arrived_at={"column": "摘要", "format": "%Y-%m-%d %H:%M:%S"})
        report = intake.import_file(town, "incidents",
                                    csv_bytes([row("T1", summary="2025-03-01 09:00:00"),
                                               row("T2", summary="2025-03-01 10:25:00")]), m)
        assert [r.reasons for r in report.rejections] == [
            ["arrived_at: 2025-03-01 09:00 is before received_at 2025-03-01 10:00"]]  # as the file reads
        assert _incidents(town)["T2"].arrived_at == datetime(2025, 3, 1, 2, 25, tzinfo=UTC)


class TestOtherKinds:
    def test_imp060_disputes(self, town):
        header = ["案件号", "登记时间", "纠纷类型", "当事人", "金额", "化解层级", "化解时间", "信用代码"]
        data = csv_bytes([
            ["J1", "2025-01-05 09:00", "欠薪", "张某、李某", "¥12,000", "企业内", "2025-01-07 16:00", CODES[0]],
            ["J2", "2025-01-06 09:00", "邻里", "王某", "", "", "", CODES[1]],
            ["J3", "2025-01-06 09:00", "欠薪", "", "-5", "", "2025-01-01 09:00", CODES[1]],
        ], header=header)
        m = {"source": "mediation", "fields": {
            "source_id": "案件号",
            "reported_at": {"column": "登记时间", "format": "%Y-%m-%d %H:%M"},
            "dispute_type": {"column": "纠纷类型", "map": {"欠薪": "劳资", "邻里": "邻里"}},
            "parties": "当事人", "amount": "金额", "settled_level": "化解层级",
            "settled_at": {"column": "化解时间", "format": "%Y-%m-%d %H:%M"}, "enterprise": "信用代码"}}
        report = intake.import_file(town, "disputes", data, m)
        assert report.accepted == 2
        assert [r.reasons for r in report.rejections] == [[
            "amount: '-5' is negative",
            "settled_at: 2025-01-01 09:00 is before reported_at 2025-01-06 09:00"]] or \
            report.rejections[0].reasons[0] == "amount: '-5' is negative"
        with town.connect() as conn:
            rows = {r.source_id: r for r in conn.execute(select(Dispute.__table__))}
        assert (rows["J1"].status, rows["J1"].amount, rows["J1"].station_id, rows["J1"].party_count) == (
            "已化解", Decimal("12000.00"), 1, 2)
        assert (rows["J2"].status, rows["J2"].settled_level, rows["J2"].station_id) == ("调解中", None, 4)

    def test_imp061_hazards_with_deadline_days(self, town):
        header = ["隐患编号", "发现日期", "类型", "等级", "整改日期", "状态", "信用代码"]
        data = csv_bytes([
            ["H1", "2025-05-01", "消防通道堵塞", "一般", "2025-05-03", "", CODES[0]],
            ["H2", "2025-05-02", "电线老化", "重大", "", "", CODES[2]],
            ["H3", "2025-05-02", "电线老化", "重大", "", "已整改", CODES[2]],
        ], header=header)
        m = {"source": "inspections", "deadline_days": 15, "fields": {
            "source_id": "隐患编号", "found_at": {"column": "发现日期", "format": "%Y-%m-%d"},
            "hazard_type": {"column": "类型", "rules": [{"pattern": "消防", "value": "消防"},
                                                       {"pattern": "电", "value": "用电"}]},
            "severity": "等级", "rectified_at": {"column": "整改日期", "format": "%Y-%m-%d"},
            "status": "状态", "enterprise": "信用代码"}}
        report = intake.import_file(town, "hazards", data, m)
        assert report.accepted == 2
        assert report.rejections[0].reasons == ["status: 已整改 needs rectified_at"]
        with town.connect() as conn:
            rows = {r.source_id: r for r in conn.execute(select(Hazard.__table__))}
        assert (rows["H1"].hazard_type, rows["H1"].status, rows["H1"].deadline) == ("消防", "已整改", date(2025, 5, 16))
        assert (rows["H2"].hazard_type, rows["H2"].status, rows["H2"].rectified_at) == ("用电", "待整改", None)

    def test_imp062_default_mapping_is_our_own_layout(self, town):
        header = ["source_id", "received_at", "category", "subcategory", "priority", "channel", "station"]
        data = csv_bytes([["S1", "2025-04-01T08:00:00+08:00", "刑事", "盗窃", "1", "110", "ZN"],
                          ["S2", "2025/04/01 08:00", "刑事", "赌博", "1", "110", "ZN"]], header=header)
        report = intake.import_file(town, "incidents", data, None, source="template")
        assert report.accepted == 1
        assert report.rejections[0].reasons == ["subcategory: 赌博 is not a subcategory of 刑事"]
        s1 = _incidents(town)["S1"]
        assert (s1.received_at, s1.station_id, s1.source) == (datetime(2025, 4, 1, 0, 0, tzinfo=UTC), 4, "template")
        missing = intake.import_file(town, "incidents", csv_bytes([["S3"]], header=["source_id"]), None)
        assert not missing.ok and "incidents need received_at, category, priority, channel" in missing.error


class TestXlsx:
    def test_imp070_xlsx_with_date_cells_and_a_formula(self, town, tmp_path):
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        ws = book.active
        ws.append(HEADER)
        ws.append(["X1", datetime(2025, 3, 1, 10, 0), "盗窃", 2, "电话", "织东派出所", INSIDE[0], INSIDE[1], "大港路",
                   '=HYPERLINK("http://x","y")', None])
        ws.append([20250301, "2025-03-02 10:00:00", "斗殴", 1.0, "电话", "ZD", None, None, "利济路", "打架", CODES[0]])
        ws.append([None] * len(HEADER))  # an empty row Excel left behind
        path = tmp_path / "county.xlsx"
        book.save(path)
        report = intake.import_file(town, "incidents", path, MAPPING)
        assert report.ok and report.format == "xlsx" and report.accepted == 2, report.lines()
        rows = _incidents(town)
        assert rows["X1"].received_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
        assert rows["X1"].summary == "'=HYPERLINK(\"http://x\",\"y\")" and rows["X1"].import_flags == "formula"
        assert rows["20250301"].priority == 1 and rows["20250301"].enterprise_id == 1

    def test_imp071_xlsx_under_any_file_name(self, town, tmp_path):
        # the format comes from the content: a workbook saved without the .xlsx ending (as an upload is stored)
        openpyxl = pytest.importorskip("openpyxl")
        book = openpyxl.Workbook()
        book.active.append(HEADER)
        book.active.append(["N1", "2025-03-02 10:00:00", "斗殴", 1, "电话", "ZD", None, None, "利济路", "打架", None])
        path = tmp_path / "upload-7f3a.bin"
        book.save(path)
        report = intake.import_file(town, "incidents", path, MAPPING)
        assert report.ok and report.format == "xlsx" and report.accepted == 1, report.lines()
        assert "N1" in _incidents(town)


class TestQuarantine:
    def _seed(self, engine):
        data = csv_bytes([row("Q1", when="2025-02-30 10:00:00"), row("Q2", category="走私"), row("Q3"),
                          row("Q4", code=BAD_CODE)])
        return intake.import_file(engine, "incidents", data, MAPPING)

    def test_imp080_correct_and_resubmit(self, town):
        self._seed(town)
        items = intake.list_quarantine(town)
        q1 = items[0]
        assert q1.raw["接警时间"] == "2025-02-30 10:00:00" and q1.filename is None and q1.status == "open"
        updated = intake.update_quarantine_row(town, q1.id, {"接警时间": "2025-02-28 10:00:00"}, user="admin1")
        assert updated.raw["接警时间"] == "2025-02-28 10:00:00" and updated.updated_by == "admin1"
        (result,) = intake.resubmit(town, q1.id, user="admin1")
        assert result.ok and result.row_id is not None
        stored = _incidents(town)["Q1"]
        assert stored.id == result.row_id and stored.received_at == datetime(2025, 2, 28, 2, 0, tzinfo=UTC)
        assert stored.import_id == q1.import_id
        entry = intake.get_quarantine_row(town, q1.id)
        assert (entry.status, entry.row_id, entry.reasons) == ("resolved", result.row_id, [])
        assert intake.count_quarantine(town) == 2

    def test_imp081_resubmit_that_still_fails_keeps_it_open_with_new_reasons(self, town):
        self._seed(town)
        q2 = intake.list_quarantine(town)[1]
        intake.update_quarantine_row(town, q2.id, {"类别": "偷渡"})
        (result,) = intake.resubmit(town, [q2.id])
        assert not result.ok and result.reasons == ["category: '偷渡' is not in the mapping (no map entry, rule or "
                                                    "default)"]
        entry = intake.get_quarantine_row(town, q2.id)
        assert entry.status == "open" and entry.reasons == result.reasons

    def test_imp082_resubmit_of_an_id_already_stored_and_discard(self, town):
        self._seed(town)
        q4 = [i for i in intake.list_quarantine(town) if i.source_id == "Q4"][0]
        intake.update_quarantine_row(town, q4.id, {"信用代码": "", "编号": "Q3"})
        (result,) = intake.resubmit(town, q4.id)
        assert not result.ok and "source_id: Q3 is already stored" in result.reasons[0]
        gone = intake.discard_quarantine_row(town, q4.id, user="admin2")
        assert gone.status == "discarded" and gone.resolved_at is not None
        with pytest.raises(intake.QuarantineError, match="is discarded, not open"):
            intake.update_quarantine_row(town, q4.id, {"编号": "Q5"})
        with pytest.raises(intake.QuarantineError, match="the row has no column"):
            intake.update_quarantine_row(town, intake.list_quarantine(town)[0].id, {"nope": "x"})
        with pytest.raises(intake.QuarantineError, match="no quarantine entry 999999"):
            intake.get_quarantine_row(town, 999999)

    def test_imp083_corrected_file_resolves_open_entries(self, town):
        self._seed(town)
        fixed = csv_bytes([row("Q1"), row("Q2"), row("Q3"), row("Q4")])
        report = intake.import_file(town, "incidents", fixed, MAPPING)
        assert (report.accepted, report.duplicates) == (3, 1)
        assert intake.count_quarantine(town) == 0
        assert {i.status for i in intake.list_quarantine(town, status=None)} == {"resolved"}

    def test_imp084_hash_ids_survive_resubmission(self, town):
        m = _mapping(field_source_id={"hash": True})
        data = csv_bytes([row("n/a", when="2025-02-30 10:00:00"), row("n/a")])
        first = intake.import_file(town, "incidents", data, m)
        assert first.accepted == 1
        (entry,) = intake.list_quarantine(town)
        assert entry.source_id.startswith("h") and len(entry.source_id) == 33
        intake.update_quarantine_row(town, entry.id, {"接警时间": "2025-02-27 10:00:00"})
        assert intake.resubmit(town, entry.id)[0].ok
        again = intake.import_file(town, "incidents", data, m)
        assert not again.changed and (again.duplicates, again.rejected) == (2, 0)  # the corrected row kept its id


class TestModes:
    def test_imp090_dry_run_stores_nothing(self, town):
        before = snapshot(town)
        report = intake.import_file(town, "incidents", csv_bytes([row("Y1"), row("Y2", category="?")]), MAPPING,
                                    dry_run=True)
        assert report.ok and report.dry_run and (report.accepted, report.rejected) == (1, 1)
        assert report.summary().startswith("would import 1 of 2 rows")
        assert snapshot(town) == before

    def test_imp091_inside_a_callers_transaction(self, town):
        with town.connect() as conn:
            with conn.begin() as tx:
                report = intake.import_file(conn, "incidents", csv_bytes([row("K1")]), MAPPING)
                assert report.accepted == 1
                assert conn.execute(select(func.count()).select_from(Incident)).scalar_one() == 1
                tx.rollback()
        assert _incidents(town) == {}
        with town.connect() as conn:
            intake.import_file(conn, "incidents", csv_bytes([row("K2")]), MAPPING)
            conn.commit()
        assert list(_incidents(town)) == ["K2"]

    def test_imp092_the_demo_is_refused(self, town):
        db.set_meta(town, "demo_settings", "{}")
        report = intake.import_file(town, "incidents", csv_bytes([row("DM1")]), MAPPING)
        assert not report.ok and "holds the synthetic demo" in report.error
        assert intake.import_file(town, "incidents", csv_bytes([row("DM1")]), MAPPING, allow_demo=True).accepted == 1

    def test_imp093_progress_reaches_the_end(self, town):
        seen = []
        data = csv_bytes([row(f"PR{i}") for i in range(25)])
        intake.import_file(town, "incidents", data, MAPPING, batch_size=10, progress=lambda d, t: seen.append((d, t)))
        assert len(seen) == 3 and seen[-1] == (len(data), len(data))
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)


class TestCli:
    def test_imp100_import_command(self, tmp_path):
        import app as app_module

        url = f"sqlite:///{tmp_path / 'cli.db'}"
        server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": False})
        make_town(db.engine_of(server))
        mapping = tmp_path / "county.json"
        mapping.write_text(json.dumps(MAPPING, ensure_ascii=False), encoding="utf-8")
        data = tmp_path / "county.csv"
        data.write_bytes(csv_bytes([row("C1"), row("C2", when="2099-01-01 00:00:00")]))
        runner = server.test_cli_runner()
        result = runner.invoke(args=["import", "incidents", str(data), "--mapping", str(mapping)])
        assert result.exit_code == 0, result.output
        assert "imported 1 of 2 rows into incidents from county-110" in result.output
        assert "rejected line 3: received_at: '2099-01-01 00:00:00' is in the future" in result.output
        again = runner.invoke(args=["import", "incidents", str(data), "--mapping", str(mapping)])
        assert "nothing new: the database is unchanged" in again.output
        data.write_bytes(csv_bytes([row("C3")], encoding="gbk"))
        bad = runner.invoke(args=["import", "incidents", str(data), "--mapping", str(mapping), "--source", "x"])
        assert bad.exit_code == 0 and "imported 1 of 1 rows into incidents from x" in bad.output
        data.write_bytes(csv_bytes([row("C4", summary="stolen bike", code=CODES[0])])[:-25])
        failed = runner.invoke(args=["import", "incidents", str(data), "--mapping", str(mapping)])
        assert failed.exit_code == 1 and "import failed, nothing stored: line 2: the last line has" in failed.output
        # every run is in the audit log, as an upload's is: who (--user or the OS user), the file and the outcome
        dry = runner.invoke(args=["import", "incidents", str(data), "--mapping", str(mapping), "--dry-run",
                                  "--user", "zhang"])
        assert dry.exit_code == 1
        with db.engine_of(server).connect() as conn:
            logged = conn.execute(text("SELECT actor, role, target, detail FROM audit_log WHERE action = 'import' "
                                       "ORDER BY id")).all()
        assert len(logged) == 5
        assert {a for a, *_ in logged[:4]} == {f"cli:{getpass.getuser()}"} and logged[4].actor == "cli:zhang"
        assert all(r.role == "cli" and r.target.startswith("county.csv") for r in logged)
        assert "import #" in logged[0].target and "import #" not in logged[3].target
        assert "imported 1 of 2 rows" in logged[0].detail and "nothing stored" in logged[3].detail

    def test_imp101_schema_version_bump_rebuilds_an_old_demo(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = db.make_engine(url)
        db.create_schema(engine)
        with engine.begin() as conn:  # version 5 of the versioning from before the migrations, a demo
            conn.execute(text(f"DROP TABLE {migrate.VERSION_TABLE}"))
            db.set_meta(conn, "schema_version", "5")
            db.set_meta(conn, "demo_settings", "{}")
        db.create_schema(engine, reset_demo=True)
        assert migrate.current_revision(engine) == migrate.HEAD
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM import_quarantine")).scalar_one() == 0
            assert "import_flags" in [c["name"] for c in inspect(engine).get_columns("incidents")]
        assert db.get_meta(engine, "demo_settings") is None


# --- limits (issue 17, finding 7): nothing in a file or a mapping can stall or swamp the process ---------------

TIMED_IMPORT = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from intake_support import csv_bytes, make_town, row
from data import intake
from data.core import db
engine = db.make_engine(sys.argv[1])
db.create_schema(engine)
make_town(engine)
data = csv_bytes([row("R1", summary="a" * 40 + "b"), row("R2", category="a" * 40 + "b", summary="aa"),
                  row("R3", summary="aa")])
started = time.perf_counter()
report = intake.import_file(engine, "incidents", data, json.loads(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - started, "accepted": report.accepted,
                  "reasons": {r.line: r.reasons for r in report.rejections}}, ensure_ascii=False))
"""


def _run_bounded(code: str, *args: str, timeout: float = 30) -> dict:
    """Run ``code`` in a fresh interpreter, killed after ``timeout`` s (a backtracking regex holds the GIL: no
    thread or signal of this process could stop it), and return the JSON it prints."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    try:
        done = subprocess.run([sys.executable, "-c", code, *args], cwd=root, capture_output=True, text=True,
                              timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout} s")
    return json.loads(done.stdout)


SHARED_STRINGS_TYPE = (b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                       b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>')


class TestLimits:
    def test_imp110_a_catastrophic_pattern_returns_at_once_with_a_clear_rejection(self, tmp_path):
        # (a+)+$ on 'a' * 40 + 'b': about 2**40 steps for a backtracking engine; RE2 takes microseconds.
        m = _mapping(field_summary={"column": "摘要", "pattern": "(a+)+$"},
                     field_category={"column": "类别", "map": {"盗窃": "刑事"},
                                     "rules": [{"pattern": "(a|aa)+$", "value": "治安"}]})
        out = _run_bounded(TIMED_IMPORT, f"sqlite:///{tmp_path / 'redos.db'}", json.dumps(m, ensure_ascii=False),
                           str(Path(__file__).resolve().parent))
        assert out["seconds"] < 1.0 and out["accepted"] == 1
        assert out["reasons"] == {
            "2": ["summary: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab' does not match the pattern '(a+)+$'"],
            "3": ["category: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab' is not in the mapping (no map entry, rule or "
                  "default)"],
        }

    @pytest.mark.parametrize(("rule", "message"), [
        ("x" * 1001, r"fields\.category\.rules\[1\]\.pattern: the pattern has 1,001 characters, at most 1,000"),
        ("(", r"fields\.category\.rules\[1\]\.pattern: bad regular expression '\(': missing \)"),
        ("(a{1000}){1000}", r"fields\.category\.rules\[1\]\.pattern: bad regular expression .*invalid repetition size"),
        ("(?<=a)b", r"fields\.category\.rules\[1\]\.pattern: lookbehind \(\?<=…\) is not supported: patterns run "
                    "on RE2"),
        (r"(a)\1", r"fields\.category\.rules\[1\]\.pattern: \\1 is a backreference, which is not supported"),
        (5, r"fields\.category\.rules\[1\]\.pattern: a regular expression must be text, got 5"),
    ])
    def test_imp111_patterns_too_long_or_unusable_are_refused_at_load_naming_field_and_rule(self, rule, message):
        m = _mapping(field_category={"column": "类别", "rules": [{"pattern": "盗", "value": "刑事"},
                                                                 {"pattern": rule, "value": "治安"}]})
        with pytest.raises(intake.MappingError, match=rf"^mapping: {message}"):
            intake.load_mapping(m, "incidents")
        with pytest.raises(intake.MappingError,
                           match=r"fields\.summary\.pattern: '\(a\)\(b\)' has 2 groups; use at most 1"):
            intake.load_mapping(_mapping(field_summary={"column": "摘要", "pattern": "(a)(b)"}), "incidents")

    def test_imp112_patterns_keep_pythons_unicode_classes(self, town):
        m = _mapping(field_summary={"column": "摘要", "pattern": r"损失(\d+)元", "default": None},
                     field_category={"column": "类别", "map": {"盗窃": "刑事"},
                                     "rules": [{"pattern": r"^\w+斗殴$", "value": "治安"},
                                               {"pattern": r"^[\u4e00-\u9fa5]{2}事故\Z", "value": "交通事故"},
                                               {"pattern": r"HELP\s求助", "value": "群众求助"}], "ignore_case": True})
        data = csv_bytes([row("U1", category="酒后斗殴", summary="损失３０００元"), row("U2", category="车辆事故"),
                          row("U3", category="help\u3000求助")])
        report = intake.import_file(town, "incidents", data, m)
        assert report.accepted == 3, report.lines()
        rows = _incidents(town)
        assert (rows["U1"].category, rows["U1"].summary) == ("治安", "３０００")  # \d is any decimal digit, as in re
        assert rows["U2"].category == "交通事故" and rows["U3"].category == "群众求助"

    @staticmethod
    def _bomb(tmp_path, size: int = 64 << 20):
        """A real workbook whose shared-strings table (declared, so openpyxl reads it whole) holds one string of
        ``size`` 'A's, which deflate packs 1000:1."""
        openpyxl = pytest.importorskip("openpyxl")
        import zipfile

        book = openpyxl.Workbook()
        book.active.append(HEADER)
        book.active.append(["Z1", "2025-03-02 10:00:00", "斗殴", 1, "电话", "ZD", None, None, "利济路", "打架", None])
        plain = tmp_path / "plain.xlsx"
        book.save(plain)
        path = tmp_path / "bomb.xlsx"
        with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
            for info in src.infolist():
                body = src.read(info.filename)
                if info.filename == "[Content_Types].xml":
                    body = body.replace(b"</Types>", SHARED_STRINGS_TYPE + b"</Types>")
                if info.filename != "xl/sharedStrings.xml":
                    out.writestr(info, body)
            out.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
                         b'main" count="1" uniqueCount="1"><si><t>' + b"A" * size + b"</t></si></sst>")
        return path

    def test_imp113_a_zip_bomb_workbook_is_refused_before_it_is_expanded(self, town, tmp_path, monkeypatch):
        import tracemalloc

        import openpyxl

        path = self._bomb(tmp_path)
        assert path.stat().st_size < 400_000

        def never(*_args, **_kw):
            raise AssertionError("openpyxl was given the workbook")

        monkeypatch.setattr(openpyxl, "load_workbook", never)
        tracemalloc.start()
        report = intake.import_file(town, "incidents", path, MAPPING)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert not report.ok and report.error.startswith(
            "the XLSX file's xl/sharedStrings.xml would expand ") and "at most 100 times" in report.error
        assert "a workbook that packs this tightly is a zip bomb" in report.error
        assert peak < 16 << 20  # the zip's directory was read, not its members
        assert _incidents(town) == {}

    def test_imp113b_workbooks_past_the_size_limits_are_refused(self, town, tmp_path, monkeypatch):
        from data.intake import reader

        path = self._bomb(tmp_path, size=100_000)  # small enough for its ratio
        monkeypatch.setattr(reader, "XLSX_MAX_HELD", 50_000)
        report = intake.import_file(town, "incidents", path, MAPPING)
        assert not report.ok and "xl/sharedStrings.xml would expand to 98 KB in memory" in report.error
        monkeypatch.setattr(reader, "XLSX_MAX_EXPANDED", 60_000)
        report = intake.import_file(town, "incidents", path, MAPPING)
        assert not report.ok and "the XLSX file would expand to " in report.error
        assert "more than the 59 KB an import reads: split it by period" in report.error

    @pytest.mark.parametrize("form", ["yaml", "json", "dict"])
    def test_imp114_a_mapping_nested_10000_deep_is_refused_naming_the_limit(self, tmp_path, form):
        if form == "dict":
            deep: list = []
            for _ in range(10_000):
                deep = [deep]
            spec = dict(_mapping(), description=deep)
        else:
            path = tmp_path / f"deep.{form}"
            deep = "[" * 10_000 + "]" * 10_000
            body = json.dumps(_mapping(), ensure_ascii=False)[:-1] + ', "description": ' + deep + "}"
            path.write_text(body, encoding="utf-8")  # JSON is YAML's flow style too
            spec = path
        with pytest.raises(intake.MappingError, match=r"nested more than 16 levels deep \(the limit is 16\)"):
            intake.load_mapping(spec, "incidents")

    def test_imp115_a_yaml_alias_bomb_is_refused(self, tmp_path):
        lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        lines += [f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
                  f"*a{i - 1}, *a{i - 1}, *a{i - 1}]" for i in range(1, 9)]
        path = tmp_path / "laughs.yaml"
        body = json.dumps(_mapping(), ensure_ascii=False)[:-1] + ', "description": {' + ", ".join(
            f'"{line.split(":")[0]}": {line.split(": ", 1)[1]}' for line in lines) + "}}"
        path.write_text(body, encoding="utf-8")
        with pytest.raises(intake.MappingError, match=r"holds more than 100,000 keys and values \(aliases expanded\)"):
            intake.load_mapping(path, "incidents")

    def test_imp116_a_long_cell_that_starts_like_a_formula_is_checked_in_linear_time(self):
        import time

        from data.intake.values import is_formula

        started = time.perf_counter()
        assert is_formula("-" + "1" * 20_000 + "x") and not is_formula("-" + "1" * 20_000)
        assert time.perf_counter() - started < 0.5  # the old single pattern backtracked: about 11 s

"""Fuzzing the importer with hypothesis: any input gives accepted rows or clear per-row reasons (or, for
whole files and mappings, a FileError / MappingError), never an unhandled exception. No database: the
reference data is built in memory."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from intake_support import CODES, HEADER, INSIDE, MAPPING
from shapely.geometry import shape

from data.core import vocab
from data.demo import geo
from data.intake import MappingError, load_mapping
from data.intake.coords import StationAreas
from data.intake.mapping import TARGETS
from data.intake.reader import FileError, open_table, resolve_input
from data.intake.validate import Lookups, RowValidator
from data.intake.values import FieldError, compile_time_format

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _lookups() -> Lookups:
    rows = geo.station_rows()
    stations = {}
    for r in rows:
        stations[r["code"].casefold()] = r["id"]
        stations[r["name"].casefold()] = r["id"]
    geometries = []
    for r in rows:
        g = shape(json.loads(r["polygon_geojson"]))
        shapely.prepare(g)
        geometries.append(g)
    return Lookups(stations=stations, parks={"香圩墩园区": (1, 1)},
                   enterprises={code: (i, 1, None) for i, code in enumerate(CODES, start=1)},
                   station_areas=StationAreas(tuple(r["id"] for r in rows), tuple(geometries)), now=NOW)


LOOKUPS = _lookups()
FIELD_NAMES = set(TARGETS["incidents"]) | {"row", "lat/lon"}

cells = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.sampled_from(["", " ", "=HYPERLINK(\"http://x\",\"y\")", "+1", "-", "@x", "\t=1", "\x00", "\ud800", "0", "1e309",
                     "nan", "inf", "-1", "2025-02-30 10:00:00", "2025-03-01 10:00:00", "9999-12-31 23:59:59",
                     "0001-01-01 00:00:00", "盗窃", "织东派出所", "ZD", "30.86", "120.275", "91", CODES[0],
                     CODES[0].lower(), "1" * 18, "𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]),
    st.integers(min_value=-10**20, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.dates(),
)
rows = st.lists(cells, min_size=0, max_size=len(HEADER) + 2).map(tuple)


def _check(results, batch):
    assert len(results) == len(batch)
    for result, (line, _cells) in zip(results, batch, strict=True):
        assert result.line == line
        if result.ok:
            values = result.values
            assert values["category"] in vocab.INCIDENT_CATEGORIES
            assert values["priority"] in vocab.PRIORITIES and values["channel"] in vocab.CHANNELS
            assert values["received_at"].tzinfo is not None and values["received_at"] <= NOW + timedelta(minutes=5)
            assert isinstance(values["station_id"], int) and values["source_id"]
            for key in ("address", "summary", "source_id"):
                text = values.get(key)
                assert text is None or (not text.startswith(("=", "@", "\t", "\r")) and "\x00" not in text)
        else:
            assert result.values is None and result.errors
            for reason in result.errors:
                assert isinstance(reason, str) and reason.split(":", 1)[0] in FIELD_NAMES, reason


class TestValidatorFuzz:
    @FUZZ
    @given(batch=st.lists(rows, min_size=1, max_size=8))
    def test_fuz001_any_cells_give_values_or_reasons(self, batch):
        validator = RowValidator(load_mapping(MAPPING, "incidents"), tuple(HEADER), LOOKUPS)
        numbered = list(enumerate(batch, start=2))
        _check(validator.validate(numbered), numbered)

    @FUZZ
    @given(batch=st.lists(rows, min_size=1, max_size=8),
           mapping_changes=st.fixed_dictionaries({}, optional={
               "formulas": st.sampled_from(["reject", "neutralise"]),
               "timezone": st.sampled_from(["UTC", "America/New_York", "Asia/Kathmandu"]),
               "coordinates": st.sampled_from([{"system": "gcj02"}, {"outside": "reject"}, {"jurisdiction": "none"},
                                               {"jurisdiction": {"bbox": [120, 30, 121, 31]}}]),
           }))
    def test_fuz002_mapping_options_keep_it_total(self, batch, mapping_changes):
        mapping = load_mapping({**MAPPING, **mapping_changes}, "incidents")
        validator = RowValidator(mapping, tuple(HEADER), LOOKUPS)
        numbered = list(enumerate(batch, start=2))
        _check(validator.validate(numbered), numbered)

    @FUZZ
    @given(when=st.datetimes(min_value=datetime(2000, 1, 2), max_value=datetime(2026, 5, 30)),
           category=st.sampled_from(["盗窃", "斗殴", "车祸", "求助"]), priority=st.sampled_from(["1", "2", "3", ""]),
           station=st.sampled_from(["织东派出所", "ZD", "zd", ""]), summary=st.text(max_size=30),
           code=st.sampled_from(["", *CODES]))
    def test_fuz003_valid_rows_are_always_accepted(self, when, category, priority, station, summary, code):
        assume("\x00" not in summary and not any(0xD800 <= ord(c) <= 0xDFFF for c in summary))
        validator = RowValidator(load_mapping(MAPPING, "incidents"), tuple(HEADER), LOOKUPS)
        row = ("V1", when.strftime("%Y-%m-%d %H:%M:%S"), category, priority, "电话", station, str(INSIDE[0]),
               str(INSIDE[1]), "大港路", summary, code)
        (result,) = validator.validate([(2, row)])
        assert result.ok, result.errors
        assert result.values["station_id"] == 1
        stored = result.values["summary"]
        assert (stored is None and not summary.strip()) or stored in (summary.strip(), "'" + summary.strip())


class TestMappingFuzz:
    keys = st.sampled_from(["kind", "source", "format", "encoding", "delimiter", "header", "columns", "skip_rows",
                            "sheet", "timezone", "earliest", "formulas", "coordinates", "deadline_days", "fields",
                            "nonsense"])
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=12),
                        st.sampled_from(["incidents", "csv", "gbk", "utf-8", ",", "UTC", "2020-01-01", "reject"]))
    values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                          max_leaves=12)
    field_specs = st.one_of(
        st.text(max_size=8),
        st.dictionaries(st.sampled_from(["column", "columns", "value", "map", "rules", "default", "format", "pattern",
                                         "timezone", "ignore_case", "true", "false", "unknown", "hash", "join",
                                         "bogus"]), values, max_size=4),
        values)

    @FUZZ
    @given(top=st.dictionaries(keys, values, max_size=8),
           fields=st.dictionaries(st.sampled_from(sorted(TARGETS["incidents"]) + ["nope"]), field_specs, max_size=6),
           kind=st.sampled_from(["incidents", "disputes", "hazards", "cats"]))
    def test_fuz010_any_mapping_loads_or_says_why(self, top, fields, kind):
        spec = {**top, "fields": fields} if fields or "fields" not in top else top
        try:
            mapping = load_mapping(spec, kind)
        except MappingError as exc:
            assert str(exc)
            return
        try:
            RowValidator(mapping, tuple(HEADER), LOOKUPS).validate([(2, tuple(["x"] * len(HEADER)))])
        except MappingError as exc:
            assert str(exc)


class TestReaderFuzz:
    @FUZZ
    @given(data=st.one_of(st.binary(max_size=300),
                          st.text(max_size=200).map(lambda t: t.encode("utf-8")),
                          st.text(alphabet="ab,\"\n\r\t盗", max_size=80).map(lambda t: t.encode("gb18030"))),
           encoding=st.sampled_from(["auto", "utf-8", "gbk", "latin-1"]))
    def test_fuz020_any_bytes_read_or_fail_cleanly(self, data, encoding):
        mapping = load_mapping({**MAPPING, "encoding": encoding}, "incidents")
        try:
            table = open_table(resolve_input(data), mapping)
            got = list(table.rows())
        except FileError as exc:
            assert str(exc)
            return
        for line, cells in got:
            assert line >= 2 and all(isinstance(c, str) for c in cells)


class TestTimeFormatFuzz:
    @FUZZ
    @given(fmt=st.text(alphabet="%YymdHIMSfpzb-/: T年月日x", max_size=16), text=st.text(max_size=24))
    def test_fuz030_formats_compile_or_refuse_and_parse_or_refuse(self, fmt, text):
        try:
            parse = compile_time_format(fmt)
        except ValueError:
            return
        try:
            value, offset = parse(text)
        except FieldError:
            return
        assert isinstance(value, datetime) and value.tzinfo is None
        assert offset is None or abs(offset) <= timedelta(hours=15)
        assert date(1, 1, 1) <= value.date()


class TestPatternFuzz:
    @FUZZ
    @given(pattern=st.text(alphabet="ab盗()[]{}|*+?.^$\\wdsWDSZbu0-9,:=!<>P#", max_size=16),
           text=st.text(alphabet="ab盗1２ \u3000-:", max_size=40))
    def test_fuz040_any_pattern_compiles_or_says_why_and_matches_like_python(self, pattern, text):
        import re
        import warnings

        from data.intake.patterns import PatternError, compile_pattern

        try:
            compiled = compile_pattern(pattern)
        except PatternError as exc:
            assert str(exc)
            return
        found = compiled.search(text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nested-set warnings of re
            try:
                python = re.compile(pattern)
            except re.error:
                return  # RE2 reads some texts that re refuses (e.g. [[:alpha:]]): no twin to compare
        if "[[" in pattern or r"\B" in pattern or r"\b" in pattern:
            return  # POSIX classes and word boundaries are RE2's (docs/import.md)
        twin = python.search(text)
        assert (found and found.group(0)) == (twin and twin.group(0)), (pattern, text)

"""One home per fact of the data layer: a unit's scope (data/core/scope.py), the five headline figures
(data/counts/programme.py) and the stored index's reader (data/index/stored.py).

Each helper of ``Unit`` is checked on the town, a station, a park and an enterprise against an expectation
written out here (the SQL it compiles to, the rows it keeps of a small table). Then the code is read with
``ast``: a unit's scope written by hand anywhere in data/ (``("town", 0)``, ``f"{unit.kind}_id"``,
``X.station_id == unit.id``, ``unit.kind == "town"``), or a module other than the reader and the writer that
names the stored index's tables in a query, fails the test. Each check is shown to find a planted example, so
that it can fail.
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, func, insert, select
from sqlalchemy.dialects import sqlite

from data.core.schema import Dispute, Enterprise, Hazard, Incident, Park, Station, safety_index_unit_table
from data.core.scope import TOWN, UNIT_KINDS, Unit
from data.counts.programme import FIGURE_DIMENSIONS, FIGURE_ORDER, FIGURES

ROOT = Path(__file__).resolve().parent.parent
STATION, PARK, ENTERPRISE = Unit("station", 3), Unit("park", 5), Unit("enterprise", 7)
FOUND = datetime(2026, 1, 1, tzinfo=UTC)
UNITS = (TOWN, STATION, PARK, ENTERPRISE)


def _sql(conditions) -> list[str]:
    return [str(c.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})) for c in conditions]


# --- the helpers ------------------------------------------------------------------------------------------------

class TestUnit:
    # moved from tests/test_compstat.py (cmp030-033) with the Unit itself
    def test_scp001_filters_of_each_kind(self):
        assert TOWN == Unit("town", None) and TOWN.filters() == {}
        assert Unit("station", 2).filters() == {"station_id": 2}
        assert Unit("park", 5).filters() == {"park_id": 5}
        assert Unit("enterprise", 7).filters() == {}  # enterprises are read from the source table instead
        assert UNIT_KINDS == ("town", "station", "park", "enterprise")

    def test_scp002_unknown_kind(self):
        with pytest.raises(ValueError, match=r"^unknown unit kind 'district'; use one of town, station, park, "
                                             r"enterprise$"):
            Unit("district", 1)

    def test_scp003_town_takes_no_id(self):
        with pytest.raises(ValueError, match=r"^unit town takes no id$"):
            Unit("town", 1)

    @pytest.mark.parametrize("kind", ["station", "park", "enterprise"])
    def test_scp004_others_need_an_id(self, kind):
        with pytest.raises(ValueError, match=rf"^unit {kind} needs an id$"):
            Unit(kind)

    def test_scp005_where_on_every_event_table(self):
        for model, table in ((Incident, "incidents"), (Dispute, "disputes"), (Hazard, "hazards")):
            assert TOWN.where(model) == []
            assert _sql(STATION.where(model)) == [f"{table}.station_id = 3"]
            assert _sql(PARK.where(model)) == [f"{table}.park_id = 5"]
            assert _sql(ENTERPRISE.where(model)) == [f"{table}.enterprise_id = 7"]
            assert _sql(STATION.where(model.__table__)) == [f"{table}.station_id = 3"]  # a Table does as well

    def test_scp006_where_on_the_units_own_tables(self):
        assert _sql(STATION.where(Station)) == ["stations.id = 3"]
        assert _sql(STATION.where(Park)) == ["parks.station_id = 3"]
        assert _sql(STATION.where(Enterprise)) == ["enterprises.station_id = 3"]
        assert _sql(PARK.where(Park)) == ["parks.id = 5"]
        assert _sql(PARK.where(Enterprise)) == ["enterprises.park_id = 5"]
        assert _sql(ENTERPRISE.where(Enterprise)) == ["enterprises.id = 7"]
        assert all(TOWN.where(m) == [] for m in (Station, Park, Enterprise, safety_index_unit_table))

    @pytest.mark.parametrize("unit, model", [(PARK, Station), (ENTERPRISE, Station), (ENTERPRISE, Park),
                                             (STATION, safety_index_unit_table)])
    def test_scp007_where_fails_closed(self, unit, model):
        # a table that cannot be scoped to the unit is refused, never read for the whole town
        with pytest.raises(ValueError, match="cannot be scoped"):
            unit.where(model)

    def test_scp008_where_keeps_the_units_rows(self):
        engine = create_engine("sqlite://")
        rows = [(1, 3, 5, 7), (2, 3, 5, None), (3, 3, None, 8), (4, 4, 6, 9), (5, 4, None, None)]
        hazards = Hazard.__table__
        with engine.begin() as conn:
            hazards.create(conn)
            for i, station, park, enterprise in rows:
                conn.execute(insert(hazards).values(
                    id=i, station_id=station, park_id=park, enterprise_id=enterprise, source="t", source_id=str(i),
                    hazard_type="消防", severity="一般", found_at=FOUND, deadline=date(2026, 2, 1), status="待整改",
                    created_at=FOUND))
            expected = {TOWN: {1, 2, 3, 4, 5}, STATION: {1, 2, 3}, PARK: {1, 2}, ENTERPRISE: {1}}
            for unit, ids in expected.items():
                kept = {r[0] for r in conn.execute(select(hazards.c.id).where(*unit.where(Hazard)))}
                assert kept == ids, unit
                total = conn.execute(select(func.count()).select_from(hazards).where(*unit.where(hazards))).scalar()
                assert total == len(ids)
            frame = pd.DataFrame(rows, columns=["id", "station_id", "park_id", "enterprise_id"])
            for unit, ids in expected.items():
                assert set(frame.loc[unit.mask(frame), "id"]) == ids, unit
                narrowed = unit.mask(frame)
                narrowed &= (frame["id"] > 1).to_numpy()  # writable: a caller narrows it further
                assert set(frame.loc[narrowed, "id"]) == ids - {1}, unit
                raw = " AND ".join(unit.sql()) or "1=1"
                assert {r[0] for r in conn.exec_driver_sql(f"SELECT id FROM hazards WHERE {raw}")} == ids, unit

    def test_scp009_raw_sql(self):
        assert TOWN.sql() == [] and TOWN.sql("t.") == []
        assert STATION.sql() == ["station_id = 3"] and STATION.sql("t.") == ["t.station_id = 3"]
        assert PARK.sql() == ["park_id = 5"]
        assert ENTERPRISE.sql() == ["enterprise_id = 7"]

    def test_scp010_rollup_and_cache_keys(self):
        assert [u.rollup_key for u in UNITS] == [("town", 0), ("station", 3), ("park", 5), ("enterprise", 7)]
        assert [u.cache_key for u in UNITS] == [("town", None), ("station", 3), ("park", 5), ("enterprise", 7)]
        assert all(Unit(*u.cache_key) == u for u in UNITS)
        assert [u.column for u in UNITS] == [None, "station_id", "park_id", "enterprise_id"]
        assert [u.is_town for u in UNITS] == [True, False, False, False]


class TestHeadlineFigures:
    def test_scp015_one_definition_of_the_five_figures(self):
        # the programme counts them over the base tables with these conditions, as before they had one definition
        assert FIGURE_ORDER == ("incidents", "enterprise_incidents", "traffic_accidents",
                                "enterprise_economic_disputes", "labour_disputes")
        assert {k: (str(f.time_column), _sql(f.conditions())) for k, f in FIGURES.items()} == {
            "incidents": ("Incident.received_at", []),
            "enterprise_incidents": ("Incident.received_at", ["incidents.enterprise_related IS 1"]),
            "traffic_accidents": ("Incident.received_at", ["incidents.category = '交通事故'"]),
            "enterprise_economic_disputes": ("Dispute.reported_at", ["disputes.dispute_type = '经济'",
                                                                     "disputes.enterprise_id IS NOT NULL"]),
            "labour_disputes": ("Dispute.reported_at", ["disputes.dispute_type = '劳资'"]),
        }
        # the wall and the report read them from the rollups, by the same filters
        assert FIGURE_DIMENSIONS == {"incidents": ("enterprise_related", "category"),
                                     "disputes": ("dispute_type", "with_enterprise")}
        row = {"enterprise_related": 1, "category": "交通事故", "dispute_type": "经济", "with_enterprise": False}
        assert [k for k, f in FIGURES.items() if f.keeps(row)] == ["incidents", "enterprise_incidents",
                                                                   "traffic_accidents"]
        row = {"enterprise_related": 0, "category": "刑事", "dispute_type": "经济", "with_enterprise": True}
        assert [k for k, f in FIGURES.items() if f.family == "disputes" and f.keeps(row)] == [
            "enterprise_economic_disputes"]


# --- the code: no scope by hand, no second reader of the stored index ----------------------------------------

SCOPE_HOME = ROOT / "data" / "core" / "scope.py"
INDEX_READER, INDEX_WRITER = ROOT / "data" / "index" / "stored.py", ROOT / "data" / "index" / "safety_index.py"
INDEX_SCHEMA = ROOT / "data" / "core" / "schema.py"
MIGRATIONS = ROOT / "data" / "core" / "migrations"
INDEX_TABLES = {"safety_index", "safety_index_units"}
INDEX_MODELS = {"safety_index_table", "safety_index_unit_table"}
INDEX_ALIASES = {"index_table", "unit_table"}  # as the reader and the writer import them


def _name(node) -> str:
    """The dotted name of a Name or Attribute chain ('' for anything else)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = _name(node.value)
        return f"{inner}.{node.attr}" if inner else node.attr
    return ""


def _line(finding: str) -> int:
    return int(finding.split(":")[0].removeprefix("line "))


UNIT_COLUMNS = {"station_id", "park_id", "enterprise_id"}  # the columns that place a row in a unit


def hand_scopes(source: str) -> list[str]:
    """Where ``source`` writes a unit's scope by hand: the town's ("town", 0) key, an f-string that builds the
    column name from a kind (f"{unit.kind}_id"), a comparison of a column with a unit's id (X.station_id ==
    unit.id, or Incident.station_id == station_id), or a test of a unit's kind against the town
    (unit.kind == "town")."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Tuple) and [getattr(e, "value", None) for e in node.elts] == ["town", 0]:
            found.append(f'line {node.lineno}: ("town", 0)')
        elif isinstance(node, ast.JoinedStr):
            parts = node.values
            for here, after in zip(parts, parts[1:], strict=False):
                if (isinstance(here, ast.FormattedValue) and _name(here.value).split(".")[-1] == "kind"
                        and isinstance(after, ast.Constant) and str(after.value).startswith("_id")):
                    found.append(f'line {node.lineno}: f"{{...kind}}_id"')
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            eq = any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops)
            ids = [s for s in sides if _name(s).endswith(".id") and "unit" in _name(s).split(".")[-2]]
            columns = [s for s in sides if isinstance(s, ast.Attribute) and s.attr.endswith("_id")]
            if eq and ids and columns:
                found.append(f"line {node.lineno}: {_name(columns[0])} == {_name(ids[0])}")
            # a model's unit column against a plain value: Incident.station_id == station_id
            models = [s for s in columns if s.attr in UNIT_COLUMNS and isinstance(s.value, ast.Name)
                      and s.value.id[:1].isupper()]
            values = [s for s in sides if isinstance(s, ast.Name)]
            if eq and models and values and not ids:
                found.append(f"line {node.lineno}: {_name(models[0])} == {values[0].id}")
            kinds = [s for s in sides if isinstance(s, ast.Attribute) and s.attr == "kind"]
            towns = [s for s in sides if isinstance(s, ast.Constant) and s.value == "town"]
            if eq and kinds and towns:
                found.append(f'line {node.lineno}: {_name(kinds[0])} == "town"')
    return sorted(found, key=_line)


def index_reads(source: str) -> list[str]:
    """Where ``source`` names the stored index's tables: their models (imported, or as an attribute), or the
    tables' names in a string (raw SQL, a metadata lookup)."""
    tree = ast.parse(source)
    prose = {id(n.value) for n in ast.walk(tree) if isinstance(n, ast.Expr)}  # docstrings and bare strings
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if a.name in INDEX_MODELS | INDEX_ALIASES]
        elif isinstance(node, ast.Name) and node.id in INDEX_MODELS:
            found.append(f"line {node.lineno}: {node.id}")
        elif isinstance(node, ast.Attribute) and node.attr in INDEX_MODELS | INDEX_ALIASES:
            found.append(f"line {node.lineno}: {_name(node)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            words = {w.strip("`'\"(),;.") for w in node.value.replace("\n", " ").split(" ")}
            sql = {"select", "from", "join", "into", "update"} & {w.lower() for w in words}
            if INDEX_TABLES & words and (sql or node.value in INDEX_TABLES):
                found.append(f"line {node.lineno}: {node.value[:60]!r}")
    return sorted(found, key=_line)


def _code_files() -> list[Path]:
    """Every module of the project but its tests (what tests/test_architecture.py reads)."""
    files = [ROOT / "app.py", ROOT / "commands.py"]
    for top in ("data", "figures", "layouts", "exports", "web", "callbacks"):
        files += sorted((ROOT / top).rglob("*.py"))
    return [f for f in files if f.exists()]


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


class TestOneHome:
    def test_scp020_no_unit_scope_by_hand_in_data(self):
        offenders = {_relative(f): found for f in sorted((ROOT / "data").rglob("*.py"))
                     if f != SCOPE_HOME and (found := hand_scopes(f.read_text(encoding="utf-8")))}
        assert offenders == {}

    def test_scp021_the_check_finds_each_pattern(self):
        planted = (
            'def key(unit):\n'
            '    kind, unit_id = ("town", 0) if unit.kind == "town" else (unit.kind, unit.id)\n'
            '    return [] if unit.kind == "town" else [f"{unit.kind}_id = {unit.id}"]\n'
            'def scoped(stmt, unit):\n'
            '    if unit.kind != "town":\n'
            '        stmt = stmt.where(getattr(Hazard, f"{unit.kind}_id") == unit.id)\n'
            '    if runit.unit.kind == "station":\n'
            '        stmt = stmt.where(Park.station_id == runit.unit.id)\n'
            '    return stmt.where(Incident.enterprise_id == enterprise_id)\n'
        )
        found = hand_scopes(planted)
        assert any('("town", 0)' in f and f.startswith("line 2") for f in found)
        assert sum(f.startswith("line 3") and "_id" in f for f in found) == 1
        assert any(f.startswith("line 6") and "kind}_id" in f for f in found)
        assert "line 8: Park.station_id == runit.unit.id" in found
        assert "line 9: Incident.enterprise_id == enterprise_id" in found
        assert {f for f in found if f.endswith('== "town"')} == {
            'line 2: unit.kind == "town"', 'line 3: unit.kind == "town"', 'line 5: unit.kind == "town"'}
        # the home itself holds them, and is what the check leaves out
        assert hand_scopes(SCOPE_HOME.read_text(encoding="utf-8"))
        # and scoping through the helper is not flagged
        assert hand_scopes("stmt = stmt.where(*unit.where(Hazard))\nkey = unit.rollup_key\n") == []

    def test_scp022_only_the_reader_and_the_writer_query_the_stored_index(self):
        allowed = {INDEX_READER, INDEX_WRITER, INDEX_SCHEMA}
        offenders = {_relative(f): found for f in _code_files()
                     if f not in allowed and MIGRATIONS not in f.parents  # migrations create every table
                     and (found := index_reads(f.read_text(encoding="utf-8")))}
        assert offenders == {}

    def test_scp023_the_index_check_finds_each_way_in(self):
        planted = (
            "from data.core.schema import Enterprise, safety_index_table\n"
            "from data.core.schema import safety_index_unit_table as units\n"
            "from data.index.safety_index import unit_table\n"
            "rows = select(si.index_table.c.score)\n"
            "QUERY = 'SELECT score, band FROM safety_index_units WHERE month = :m'\n"
            "t = Base.metadata.tables['safety_index']\n"
            "note = 'the safety index of a month'\n"
            "key = 'safety_index_refreshed'\n"
        )
        found = index_reads(planted)
        assert [f.split(":")[0] for f in found] == ["line 1", "line 2", "line 3", "line 4", "line 5", "line 6"]
        assert index_reads('"""Read from safety_index_units, as the docs say."""\nx = 1\n') == []  # prose
        # the reader and the writer do name them: that is what the check allows
        assert index_reads(INDEX_READER.read_text(encoding="utf-8"))
        assert index_reads(INDEX_WRITER.read_text(encoding="utf-8"))

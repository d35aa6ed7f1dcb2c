"""The schema migrations (data/core/migrate.py, data/core/migrations) on SQLite and PostgreSQL.

A fresh database upgraded to the head has exactly the models' schema (Alembic's ``compare_metadata`` finds nothing,
so a model changed without a revision fails here); a database the hand-made versioning built at 6 to 10 is brought
to the head in place, its rows and rollups kept and the rollups it lacked filled; a database this code cannot
upgrade is refused untouched, unless it holds only the demo and a rebuild is asked for; an upgrade is one
transaction, DDL included, and a second one changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import _PG_SCHEMA_FINGERPRINT, BACKENDS, create_pg_database, drop_pg_database, pg_unreachable
from sqlalchemy import CheckConstraint, Column, Integer, MetaData, insert, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from stdnum.cn import uscc

import app as app_module
from data.core import db, migrate, rollups
from data.core.schema import SCHEMA_VERSION, Base, Dispute, Enterprise, Hazard, Incident, Park, Station

ROOT = Path(__file__).resolve().parent.parent
HEAD = migrate.HEAD
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
FOUND = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
RECT_ROLLUPS = ("ru_hzd_rect_day", "ru_hzd_rect_month")
# What each version of the hand-made versioning added, so a database of an earlier version lacks it
# (docs/schema.md): tables, and indexes as (name, table, columns, the index it replaced).
ADDED_TABLES = {"7": ("users", "device_tokens", "audit_log"), "9": RECT_ROLLUPS, "10": ("ended_sessions",)}
ADDED_INDEXES = {"8": (("ix_incident_enterprise_covering", "incidents",
                        ("ix_incident_enterprise_received", "(enterprise_id, received_at)")),)}


@pytest.fixture(scope="module")
def pg_blank_url():
    """A PostgreSQL database of this module's own (the session's is kept as conftest's ``engine`` expects it)."""
    try:
        admin, url, name = create_pg_database("eqian_migrations")
    except Exception as exc:  # noqa: BLE001
        pg_unreachable(exc)
    yield url
    drop_pg_database(admin, name)
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def blank(request, tmp_path):
    """An empty database on each backend: no table, trigger, function or sequence."""
    if request.param == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'blank.db'}")
    else:
        eng = db.make_engine(request.getfixturevalue("pg_blank_url"))
        with eng.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    yield eng
    eng.dispose()


# --- databases as the hand-made versioning left them ----------------------------------------------------------

# Columns later revisions added to tables the baseline has: NULL in every row an upgrade finds.
ADDED_COLUMNS = {
    "parks": ("code", "polygon_geojson"),
    "enterprises": ("industry_code", "deregistered_on", "closed_on", "values_since", "source", "source_id",
                    "created_at", "updated_at", "import_id", "import_flags"),
    "teams": ("dissolved_on", "import_id"),
}


def _old_way(engine, version: str) -> None:
    """A database as the old ``create_schema`` built it at ``version``: schema version 10 (the baseline revision,
    without its ``alembic_version``) less what the later versions added, the rollup triggers, meta
    schema_version. Holds the little town of ``_town``."""
    with migrate.transaction(engine) as conn:
        command.upgrade(migrate.alembic_config(conn), "0010_baseline")
        conn.exec_driver_sql(f"DROP TABLE {migrate.VERSION_TABLE}")
    with engine.begin() as conn:
        rollups.install_triggers(conn)
    _town(engine)
    with engine.begin() as conn:
        rollups.drop_triggers(conn)  # the old version's triggers did not know the tables it lacked
        for later, tables in ADDED_TABLES.items():
            if int(later) > int(version):
                for table in tables:
                    conn.exec_driver_sql(f"DROP TABLE {table}")
        for later, indexes in ADDED_INDEXES.items():
            if int(later) > int(version):
                for name, table, (replaced, columns) in indexes:
                    conn.exec_driver_sql(f"DROP INDEX {name}")
                    conn.exec_driver_sql(f"CREATE INDEX {replaced} ON {table} {columns}")
        if int(version) >= 9:
            rollups.install_triggers(conn)
        db.set_meta(conn, "schema_version", version)


def _code(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


def _town(engine) -> None:
    """Two stations, a park, two enterprises, and incidents, disputes and hazards (counted by the triggers)."""
    with Session(engine) as session:
        session.add_all([Station(id=i, code=f"S{i}", name=f"派出所{i}", polygon_geojson="{}", centre_lat=30.8,
                                 centre_lon=120.2) for i in (1, 2)])
        session.flush()  # no relationship() tells the session the order: flush each level
        # parks and enterprises by their version-10 columns only (the models have more since 0011_registry)
        session.execute(insert(Park.__table__).values(id=1, name="园区1", station_id=1, lat=30.8, lon=120.2))
        session.execute(insert(Enterprise.__table__), [
            dict(id=i, name=f"企业{i}", credit_code=_code(f"9133050{i}MA2B3C4D5"), sector="童装生产",
                 park_id=1 if i == 1 else None, station_id=i, lat=30.8, lon=120.2, address="路1号") for i in (1, 2)])
        session.add_all([Incident(received_at=CREATED + timedelta(hours=7 * k), category=("治安", "刑事")[k % 2],
                                  priority=2, enterprise_related=k % 3 == 0, enterprise_id=1 if k % 3 == 0 else None,
                                  station_id=1 + k % 2, park_id=1 if k % 3 == 0 else None, channel="110",
                                  arrived_at=CREATED + timedelta(hours=7 * k, minutes=9), source="local",
                                  source_id=f"i{k}", created_at=CREATED) for k in range(12)])
        session.add_all([Dispute(reported_at=CREATED + timedelta(days=k), dispute_type="劳资", enterprise_id=2,
                                 station_id=2, status="调解中", source_id=f"d{k}", created_at=CREATED)
                         for k in range(3)])
        session.add_all([
            Hazard(found_at=FOUND, hazard_type="消防", severity="一般", enterprise_id=1, station_id=1, park_id=1,
                   deadline=date(2026, 1, 16), status="已整改", rectified_at=FOUND + timedelta(days=5, hours=3),
                   source_id="h1", created_at=CREATED),
            Hazard(found_at=FOUND, hazard_type="消防", severity="一般", enterprise_id=1, station_id=1, park_id=1,
                   deadline=date(2026, 1, 16), status="已整改", rectified_at=FOUND + timedelta(days=12),
                   source_id="h2", created_at=CREATED),
            Hazard(found_at=FOUND, hazard_type="消防", severity="较大", station_id=2, deadline=date(2026, 1, 16),
                   status="待整改", source_id="h3", created_at=CREATED),
        ])
        session.commit()


# --- what a database holds ------------------------------------------------------------------------------------

def _rows(engine, tables=None) -> dict[str, list[tuple]]:
    """Every row of the tables (default: all of them), in a stable order, as {column: value} pairs: a later
    revision's new columns (NULL in the rows it found) are left out, so rows compare across an upgrade."""
    with engine.connect() as conn:
        names = sorted(tables or inspect(conn).get_table_names())
        out = {}
        for t in names:
            result = conn.exec_driver_sql(f'SELECT * FROM "{t}"')
            keys = list(result.keys())
            added = ADDED_COLUMNS.get(t, ())
            out[t] = sorted(tuple((k, repr(v)) for k, v in zip(keys, r, strict=True) if k not in added)
                            for r in result)
        return out


def _schema(engine) -> str:
    """Everything but rows: tables, columns, indexes, constraints, triggers, functions, sequences."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            return conn.execute(_PG_SCHEMA_FINGERPRINT).scalar_one()
        return repr(conn.exec_driver_sql("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                         "ORDER BY type, name").all())


def _everything(engine) -> tuple:
    return _schema(engine), _rows(engine)


def _differences(engine, metadata: MetaData = Base.metadata) -> list:
    with engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)


def _counts(engine, table: str, key: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text(f"SELECT {key}, SUM(n) FROM {table} GROUP BY {key}")).all())


EVENT_AND_REFERENCE = ("stations", "parks", "enterprises", "incidents", "disputes", "hazards")
ROLLUP_TABLES = tuple(r.name for r in rollups.ROLLUPS)


class TestFresh:
    def test_mig001_a_fresh_database_upgraded_to_the_head_has_exactly_the_models_schema(self, blank):
        assert migrate.upgrade(blank) == ("an empty database", HEAD)
        assert _differences(blank) == []
        assert set(inspect(blank).get_table_names()) == set(Base.metadata.tables) | {migrate.VERSION_TABLE}
        assert migrate.current_revision(blank) == HEAD
        assert db.get_meta(blank, "schema_version") == HEAD
        _town(blank)  # and the triggers count what is written
        assert sum(_counts(blank, "ru_inc_day", "category").values()) == 12

    def test_mig002_the_comparison_sees_a_model_changed_without_a_revision(self, blank):
        migrate.upgrade(blank)
        changed = MetaData()
        for table in Base.metadata.sorted_tables:
            table.to_metadata(changed)
        changed.tables["incidents"].append_column(Column("added", Integer))
        changed.tables["hazards"].indexes.remove(
            next(ix for ix in changed.tables["hazards"].indexes if ix.name == "ix_hazard_open"))
        found = {(d[0], d[2] if d[0] == "add_column" else d[1].name) for d in _differences(blank, changed)}
        assert found == {("add_column", "incidents"), ("remove_index", "ix_hazard_open")}

    def test_mig003_the_check_constraints_are_the_models(self, blank):
        """compare_metadata does not compare CHECK constraints: their names are checked here on both backends,
        and on SQLite (which keeps the text as written) their SQL too, so a vocabulary changed without a
        revision fails."""
        migrate.upgrade(blank)
        inspector = inspect(blank)
        for table in Base.metadata.sorted_tables:
            model = {c.name: str(c.sqltext) for c in table.constraints if isinstance(c, CheckConstraint)}
            stored = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table.name)}
            assert set(stored) == set(model), table.name
            if blank.dialect.name == "sqlite":
                assert stored == model, table.name


class TestLegacy:
    def test_mig010_a_version_10_database_built_the_old_way_is_upgraded_in_place(self, blank):
        _old_way(blank, "10")
        before = _rows(blank, EVENT_AND_REFERENCE + ROLLUP_TABLES)
        assert migrate.upgrade(blank) == ("schema version 10 (before the migrations)", HEAD)
        assert _rows(blank, EVENT_AND_REFERENCE + ROLLUP_TABLES) == before
        assert migrate.current_revision(blank) == HEAD and db.get_meta(blank, "schema_version") == HEAD
        assert _differences(blank) == []

    def test_mig011_a_version_7_database_gains_what_8_to_10_added_and_its_new_rollups_are_filled(self, blank):
        _old_way(blank, "7")
        names = set(inspect(blank).get_table_names())
        assert "ended_sessions" not in names and not set(RECT_ROLLUPS) & names
        assert "ix_incident_enterprise_received" in {ix["name"] for ix in inspect(blank).get_indexes("incidents")}
        before = _rows(blank, EVENT_AND_REFERENCE + tuple(t for t in ROLLUP_TABLES if t not in RECT_ROLLUPS))
        migrate.upgrade(blank)
        after = _rows(blank, EVENT_AND_REFERENCE + tuple(t for t in ROLLUP_TABLES if t not in RECT_ROLLUPS))
        assert after == before
        indexes = {ix["name"] for ix in inspect(blank).get_indexes("incidents")}
        assert "ix_incident_enterprise_covering" in indexes and "ix_incident_enterprise_received" not in indexes
        assert "ix_ended_sessions_expires_at" in {ix["name"] for ix in inspect(blank).get_indexes("ended_sessions")}
        assert _counts(blank, "ru_hzd_rect_day", "rectify_days") == {5: 1, 12: 1, -1: 1}
        assert _counts(blank, "ru_hzd_rect_month", "rectify_days") == {5: 1, 12: 1, -1: 1}
        assert _differences(blank) == []
        with Session(blank) as session:  # and the triggers installed after keep the new rollup exact
            session.add(Hazard(found_at=FOUND, hazard_type="消防", severity="一般", station_id=1,
                               deadline=date(2026, 1, 16), status="已整改", rectified_at=FOUND + timedelta(days=5),
                               source_id="h4", created_at=CREATED))
            session.commit()
        assert _counts(blank, "ru_hzd_rect_day", "rectify_days")[5] == 2

    @pytest.mark.parametrize("version", migrate.LEGACY_VERSIONS)
    def test_mig012_every_version_from_before_the_migrations_becomes_the_head(self, blank, version):
        _old_way(blank, version)
        events = _rows(blank, EVENT_AND_REFERENCE)
        migrate.upgrade(blank)
        assert _differences(blank) == []
        assert _rows(blank, EVENT_AND_REFERENCE) == events
        assert migrate.current_revision(blank) == HEAD
        assert _counts(blank, "ru_hzd_rect_day", "rectify_days") == {5: 1, 12: 1, -1: 1}


class TestRefused:
    def test_mig020_an_unknown_revision_is_refused_and_nothing_changes(self, blank):
        migrate.upgrade(blank)
        _town(blank)
        with blank.begin() as conn:
            conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0099_from_newer_code'"))
        before = _everything(blank)
        for reset_demo in (False, True):  # a real database is never wiped
            with pytest.raises(db.SchemaMismatch, match=f"database schema version 0099_from_newer_code differs "
                                                        f"from this code's {HEAD}: newer code migrated it"):
                migrate.upgrade(blank, reset_demo=reset_demo)
            assert _everything(blank) == before

    def test_mig021_an_unknown_version_from_before_the_migrations_is_refused_and_nothing_changes(self, blank):
        _old_way(blank, "10")
        db.set_meta(blank, "schema_version", "5")
        before = _everything(blank)
        for reset_demo in (False, True):
            with pytest.raises(db.SchemaMismatch, match=f"database schema version 5 differs from this code's {HEAD}, "
                                                        "which upgrades the versions 6 to 10"):
                migrate.upgrade(blank, reset_demo=reset_demo)
            assert _everything(blank) == before
        assert migrate.VERSION_TABLE not in inspect(blank).get_table_names()

    @pytest.mark.parametrize("unknown", ["revision", "legacy"])
    def test_mig022_a_demo_database_of_an_unknown_version_is_rebuilt_when_asked(self, blank, unknown):
        if unknown == "revision":
            migrate.upgrade(blank)
            _town(blank)
            with blank.begin() as conn:
                conn.execute(text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0099_from_newer_code'"))
                conn.exec_driver_sql("CREATE TABLE from_newer_code (x INTEGER)")
        else:
            _old_way(blank, "10")
            db.set_meta(blank, "schema_version", "5")
        db.set_meta(blank, "demo_settings", "{}")
        with pytest.raises(db.SchemaMismatch):
            migrate.upgrade(blank)
        migrate.upgrade(blank, reset_demo=True)
        assert migrate.current_revision(blank) == HEAD
        assert db.get_meta(blank, "demo_settings") is None
        assert set(inspect(blank).get_table_names()) == set(Base.metadata.tables) | {migrate.VERSION_TABLE}
        assert all(rows == [] for rows in _rows(blank, EVENT_AND_REFERENCE + ROLLUP_TABLES).values())
        assert _differences(blank) == []


class TestOnce:
    def test_mig030_upgrading_twice_changes_nothing(self, blank):
        migrate.upgrade(blank)
        _town(blank)
        before = _everything(blank)
        assert migrate.upgrade(blank) == (HEAD, HEAD)
        assert _everything(blank) == before

    def test_mig031_schema_version_is_the_head_of_the_script_directory(self):
        from_ini = ScriptDirectory.from_config(Config(str(ROOT / "alembic.ini")))
        newest = max(p.stem for p in (migrate.MIGRATIONS_DIR / "versions").glob("0*.py"))  # ids sort by number
        assert SCHEMA_VERSION == HEAD == from_ini.get_current_head() == newest
        assert from_ini.dir == str(migrate.MIGRATIONS_DIR)
        assert from_ini.get_revision("0010_baseline").down_revision is None

    def test_mig032_a_failed_upgrade_leaves_the_database_as_it_was(self, blank, monkeypatch):
        def fail(_conn):
            raise RuntimeError("after the revisions ran")

        monkeypatch.setattr(rollups, "install_triggers", fail)
        with pytest.raises(RuntimeError, match="after the revisions ran"):
            migrate.upgrade(blank)
        assert inspect(blank).get_table_names() == []  # the baseline's DDL was rolled back, on SQLite too
        if blank.dialect.name == "sqlite":
            with blank.connect() as conn:  # and the connection went back to the pool as make_engine set it up
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1

    def test_mig033_hosts_started_together_upgrade_one_after_the_other(self, blank):
        """Two upgraders at once on an empty database: the second waits for the first, then finds the head."""
        start, results = threading.Barrier(2), []

        def host():
            start.wait()
            results.append(migrate.upgrade(blank)[0])

        threads = [threading.Thread(target=host) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(results) == sorted(["an empty database", HEAD])
        assert _differences(blank) == []


class TestBatch:
    NEW_WORKERS = "workers IS NULL OR workers BETWEEN 0 AND 1000000"

    def _replace_check(self, conn) -> None:
        ops = Operations(MigrationContext.configure(conn, opts={"render_as_batch": True}))
        with ops.batch_alter_table("enterprises") as batch:
            batch.drop_constraint("ck_enterprise_workers", type_="check")
            batch.create_check_constraint("ck_enterprise_workers", self.NEW_WORKERS)

    def test_mig040_batch_mode_replaces_a_check_constraint_of_a_table_others_refer_to(self, blank):
        """What a later revision does to change a vocabulary: on SQLite batch mode copies the table, which works
        inside ``migrate.transaction`` (foreign keys off) and keeps the other constraints, indexes and rows."""
        migrate.upgrade(blank)
        _town(blank)
        indexes = inspect(blank).get_indexes("enterprises")
        if blank.dialect.name == "sqlite":  # with foreign keys on, dropping the old copy fails on the references
            with pytest.raises(IntegrityError, match="FOREIGN KEY constraint failed"), blank.begin() as conn:
                rollups.drop_triggers(conn)
                self._replace_check(conn)
            with blank.begin() as conn:  # outside one transaction, the copy's CREATE TABLE may have stayed
                conn.exec_driver_sql("DROP TABLE IF EXISTS _alembic_tmp_enterprises")
        with migrate.transaction(blank) as conn:
            rollups.drop_triggers(conn)
            self._replace_check(conn)
            rollups.install_triggers(conn)
        checks = {c["name"]: c["sqltext"] for c in inspect(blank).get_check_constraints("enterprises")}
        assert set(checks) == {"ck_enterprise_credit_code_len", "ck_enterprise_workers"}
        assert inspect(blank).get_indexes("enterprises") == indexes
        with blank.begin() as conn:
            conn.execute(text("UPDATE enterprises SET workers = 999999 WHERE id = 1"))
        for bad in ("UPDATE enterprises SET workers = 1000001 WHERE id = 1",
                    "UPDATE enterprises SET workers = -1 WHERE id = 1",
                    "UPDATE incidents SET enterprise_id = 99 WHERE enterprise_id = 1"):
            with pytest.raises(IntegrityError), blank.begin() as conn:
                conn.execute(text(bad))
        assert len(_rows(blank, ("incidents",))["incidents"]) == 12


class TestCommandLine:
    def test_mig050_alembic_check_from_the_command_line_finds_nothing_to_generate(self, blank):
        migrate.upgrade(blank)
        env = {**os.environ, "EQIAN_DATABASE_URL": blank.url.render_as_string(hide_password=False)}
        alembic = [sys.executable, "-m", "alembic", "-c", str(ROOT / "alembic.ini")]
        current = subprocess.run([*alembic, "current"], env=env, capture_output=True, text=True, timeout=120)
        assert current.returncode == 0 and f"{HEAD} (head)" in current.stdout, current.stderr
        check = subprocess.run([*alembic, "check"], env=env, capture_output=True, text=True, timeout=120)
        assert check.returncode == 0 and "No new upgrade operations detected" in check.stdout + check.stderr

    def test_mig051_db_upgrade_and_db_current(self, blank):
        _old_way(blank, "7")
        server = app_module.create_app({"EQIAN_DATABASE_URL": blank.url.render_as_string(hide_password=False),
                                        "EQIAN_DEMO": False, "EQIAN_SIMULATE": False})
        try:
            runner = server.test_cli_runner()
            upgraded = runner.invoke(args=["db-upgrade"])
            assert upgraded.exit_code == 0, upgraded.output
            assert upgraded.output == f"schema: schema version 7 (before the migrations) -> {HEAD} (upgraded)\n"
            current = runner.invoke(args=["db-current"])
            assert current.exit_code == 0, current.output
            assert f"current: {HEAD}\nhead: {HEAD}\n" in current.output
            server.extensions.pop(db.UPGRADE_KEY)  # as a process that finds the database at the head
            assert runner.invoke(args=["db-upgrade"]).output == f"schema: {HEAD} -> {HEAD} (nothing to do)\n"
        finally:
            db.engine_of(server).dispose()

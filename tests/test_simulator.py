"""data.demo.generator: seeding a small demo town and the live simulator that keeps it going, on both backends.

Every test seeds at scale 0.05 (about 2.5 s) at a fixed instant T = 2026-11-29 06:00 UTC (14:00 in Shanghai).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, func, select, text

from data import db
from data.demo.generator import DemoError, Simulator, pending_count, seed_demo
from data.demo.plan import CELLS
from data.schema import DemoPending, Dispute, Hazard, Incident
from data.timeutil import to_local

UTC = timezone.utc
SEED = 20_151_101
SCALE = 0.05
T = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
T2 = T + timedelta(hours=2)
NEXT_MIDNIGHT = datetime(2026, 11, 29, 16, 0, tzinfo=UTC)  # 2026-11-30 00:00 in Shanghai
MAIN_TIME = {Incident: Incident.received_at, Dispute: Dispute.reported_at, Hazard: Hazard.found_at}


def _seed(engine, now=T) -> dict:
    return seed_demo(engine, seed=SEED, scale=SCALE, now=now)


def _main_times(engine) -> dict[str, datetime]:
    """source_id -> main time of every incident, dispute and hazard (ids are unique across tables)."""
    out = {}
    with engine.connect() as conn:
        for model, column in MAIN_TIME.items():
            for source_id, moment in conn.execute(select(model.source_id, column)):
                assert source_id not in out, source_id
                out[source_id] = moment
    return out


def _table_rows(engine, model) -> dict[str, dict]:
    """source_id -> the row without the surrogate id and the storage time."""
    table = model.__table__
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table))]
    out = {}
    for row in rows:
        row.pop("id")
        row.pop("created_at")
        out[row["source_id"]] = row
    assert len(out) == len(rows)  # no source_id twice
    return out


def _pending(engine) -> set[tuple]:
    with engine.connect() as conn:
        return {tuple(r) for r in conn.execute(
            select(DemoPending.table_name, DemoPending.source_id, DemoPending.due_at, DemoPending.values_json))}


def _assert_same_database_content(first, second) -> None:
    for model in (Incident, Dispute, Hazard):
        rows_a, rows_b = _table_rows(first, model), _table_rows(second, model)
        assert rows_a.keys() == rows_b.keys(), model.__tablename__
        for source_id, row in rows_a.items():
            assert row == rows_b[source_id], (model.__tablename__, source_id)
    assert _pending(first) == _pending(second)


@pytest.fixture
def other_engine(engine, tmp_path):
    """A second, empty database on the same backend as ``engine``."""
    if engine.dialect.name == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        db.create_schema(eng)
        yield eng
        eng.dispose()
        return
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    name = f"{engine.url.database}_b{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = db.make_engine(engine.url.set(database=name).render_as_string(hide_password=False))
    db.create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


class TestTick:
    def test_sim001_writes_the_events_of_the_next_two_hours(self, engine):
        _seed(engine)
        before = _main_times(engine)
        assert max(before.values()) <= T

        written = Simulator(engine).tick(T2)

        after = _main_times(engine)
        new = {k: v for k, v in after.items() if k not in before}
        assert written == len(new) > 0
        assert all(T < moment <= T2 for moment in new.values()), sorted(new.values())
        assert {k: after[k] for k in before} == before  # nothing old was rewritten or lost
        assert db.get_meta(engine, "demo_written_until") == T2.isoformat()

    def test_sim002_second_tick_at_the_same_time_writes_nothing(self, engine):
        _seed(engine)
        sim = Simulator(engine)
        assert sim.tick(T2) > 0
        count = len(_main_times(engine))
        assert sim.tick(T2) == 0
        assert sim.tick(T2 - timedelta(hours=1)) == 0  # a clock that went back does not rewind anything
        assert len(_main_times(engine)) == count
        assert db.get_meta(engine, "demo_written_until") == T2.isoformat()

    def test_sim003_seed_then_tick_equals_seeding_later(self, engine, other_engine):
        _seed(engine, now=T)
        Simulator(engine).tick(T2)
        _seed(other_engine, now=T2)
        _assert_same_database_content(engine, other_engine)


class TestRestart:
    def test_sim010_new_simulator_continues_without_duplicates(self, engine, other_engine):
        later = T + timedelta(hours=13)  # 03:00 on 30 November in Shanghai: across midnight
        _seed(engine)
        first_part = Simulator(engine).tick(T2)
        second_part = Simulator(engine).tick(later)  # as after a restart: a new object, no cache

        _seed(other_engine)
        straight = Simulator(other_engine).tick(later)

        assert first_part > 0 and second_part > 0
        assert first_part + second_part == straight
        for model in (Incident, Dispute, Hazard):
            with engine.connect() as conn:
                total, distinct = conn.execute(
                    select(func.count(), func.count(func.distinct(model.source_id)))).one()
            with other_engine.connect() as conn:
                other_total = conn.execute(select(func.count()).select_from(model)).scalar_one()
            assert total == distinct == other_total, model.__tablename__
        _assert_same_database_content(engine, other_engine)
        assert db.get_meta(engine, "demo_targets:2026-11-30") == db.get_meta(other_engine, "demo_targets:2026-11-30")


def _first_pending(engine, table_name: str, key: str):
    """The earliest pending value of ``table_name`` that sets ``key``: (source_id, due_at, values)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(DemoPending.source_id, DemoPending.due_at, DemoPending.values_json)
            .where(DemoPending.table_name == table_name).order_by(DemoPending.due_at)
        ).all()
    for source_id, due_at, values_json in rows:
        values = json.loads(values_json)
        if key in values:
            return source_id, due_at, values
    raise AssertionError(f"no pending {table_name}.{key}")


class TestPendingValues:
    def test_sim020_incident_closed_at_appears_when_due(self, engine):
        _seed(engine)
        sim = Simulator(engine)
        sim.tick(T2)  # the calls of these two hours are still open at T2
        source_id, due, values = _first_pending(engine, "incidents", "closed_at")
        assert due > T2
        assert datetime.fromisoformat(values["closed_at"]) == due

        def closed_at():
            with engine.connect() as conn:
                return conn.execute(select(Incident.closed_at).where(Incident.source_id == source_id)).scalar_one()

        assert closed_at() is None
        sim.tick(due - timedelta(microseconds=1))
        assert closed_at() is None
        waiting = _pending(engine)
        sim.tick(due)
        assert closed_at() == due
        assert closed_at().tzinfo == UTC
        gone = waiting - _pending(engine)
        assert ("incidents", source_id, due, json.dumps(values, ensure_ascii=False)) in gone

    def test_sim021_hazard_rectified_together_with_its_status(self, engine):
        _seed(engine)
        source_id, due, values = _first_pending(engine, "hazards", "rectified_at")
        assert values["status"] == "已整改"

        def hazard():
            with engine.connect() as conn:
                return tuple(conn.execute(
                    select(Hazard.status, Hazard.rectified_at).where(Hazard.source_id == source_id)).one())

        sim = Simulator(engine)
        assert hazard() == ("待整改", None)
        sim.tick(due - timedelta(seconds=1))
        assert hazard() == ("待整改", None)
        sim.tick(due)
        assert hazard() == ("已整改", due)

    def test_sim022_dispute_settlement_fills_every_column(self, engine):
        _seed(engine)
        source_id, due, values = _first_pending(engine, "disputes", "settled_at")

        def dispute():
            with engine.connect() as conn:
                return conn.execute(select(Dispute.status, Dispute.settled_at, Dispute.settled_level,
                                           Dispute.mediator).where(Dispute.source_id == source_id)).one()

        before = dispute()
        assert (before.status, before.settled_at, before.settled_level, before.mediator) == ("调解中", None, None, None)
        pending_before = _pending(engine)
        Simulator(engine).tick(due)
        after = dispute()
        assert after.status in ("已化解", "未化解") and after.status == values["status"]
        assert after.settled_at == due
        assert after.settled_level == values["settled_level"] and after.mediator == values["mediator"]
        with engine.connect() as conn:
            assert pending_count(conn) == len(_pending(engine))
        assert all(row[2] > due for row in _pending(engine) if row in pending_before)


class TestMidnight:
    def test_sim030_new_day_gets_its_targets(self, engine):
        _seed(engine)
        key = "demo_targets:2026-11-30"
        assert db.get_meta(engine, key) is None
        assert json.loads(db.get_meta(engine, "demo_targets:2026-11-29")).keys() == set(CELLS)

        sim = Simulator(engine)
        sim.tick(NEXT_MIDNIGHT + timedelta(hours=3))
        stored = db.get_meta(engine, key)
        assert stored is not None
        targets = json.loads(stored)
        assert targets.keys() == set(CELLS)
        assert all(isinstance(v, int) and v >= 0 for v in targets.values())
        assert sum(targets.values()) > 0

        # Once the whole Shanghai day is written, each cell holds exactly its target.
        end_of_day = NEXT_MIDNIGHT + timedelta(days=1)
        sim.tick(end_of_day)
        assert json.loads(db.get_meta(engine, key)) == targets  # decided once, never redrawn
        times = _main_times(engine)
        for cell, target in targets.items():
            ids = [k for k in times if k.startswith(f"20261130-{cell}-")]
            assert len(ids) == target, cell
            assert all(to_local(times[k]).date() == date(2026, 11, 30) for k in ids), cell
        assert db.get_meta(engine, "demo_targets:2026-12-01") is not None  # the tick ended on 1 December


class TestRefusals:
    def test_sim040_seed_refuses_a_database_with_data(self, engine):
        _seed(engine)
        count = len(_main_times(engine))
        with pytest.raises(DemoError, match="the database already holds data; seed-demo --reset wipes it first"):
            _seed(engine, now=T2)
        assert len(_main_times(engine)) == count
        assert db.get_meta(engine, "demo_written_until") == T.isoformat()

    def test_sim041_rate_below_one_refused(self, engine):
        with pytest.raises(DemoError, match=r"rate must be at least 1, got 0\.5"):
            Simulator(engine, rate=0.5)

    def test_sim042_non_demo_database_refused(self, engine):
        with pytest.raises(DemoError, match=r"this database holds no demo \(no demo_settings in meta\)"):
            Simulator(engine)

    def test_sim043_bad_seed_arguments_refused(self, engine):
        with pytest.raises(DemoError, match="scale must be positive, got 0"):
            seed_demo(engine, scale=0, now=T)
        with pytest.raises(DemoError, match="programme start 2026-11-15 must lie 30 to 700 days before 2026-11-29"):
            seed_demo(engine, scale=SCALE, now=T, programme_start=date(2026, 11, 15))
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Incident)).scalar_one() == 0

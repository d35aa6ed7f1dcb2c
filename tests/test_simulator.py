"""data.demo.generator: seeding a small demo town and the live simulator that keeps it going, on both backends.

The demo is seeded at scale 0.05 at a fixed instant T = 2026-11-29 06:00 UTC (14:00 in Shanghai). A seeding takes
10-20 s, so most tests start from a copy of one seeding per backend (``SeededCopies``).
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from conftest import BACKENDS, _pg_admin_engine, copy_sqlite, drop_pg_database, pg_unreachable
from sqlalchemy import Engine, create_engine, func, select, text

from data.core import db
from data.core.schema import DemoPending, Dispute, Hazard, Incident
from data.core.timeutil import to_local
from data.demo.generator import DemoError, Simulator, pending_count, seed_demo
from data.demo.plan import CELLS

UTC = UTC
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


class SeededCopies:
    """The demo seeded at T once per backend (a template), handed out as fresh copies.

    Seeding takes many seconds even at scale 0.05 (half of it the safety-index refresh) and most tests here
    start from exactly that database. Seeding is deterministic (test_sim003, test_sim010 and test_cal010
    check it), so a copy is the database a seeding of its own would give; a SQLite copy is made with the
    backup API, a PostgreSQL one with CREATE DATABASE ... TEMPLATE. Seeding itself stays under test: the
    template is made by seed_demo, test_sim003 seeds again at T2 and test_sim040 seeds over data.
    """

    def __init__(self, tmp_dir: Path):
        self.tmp_dir = tmp_dir
        self._templates: dict[str, str] = {}  # backend -> SQLite file or PostgreSQL database name
        self._databases: dict[Engine, str] = {}  # PostgreSQL copies -> their database name
        self._admin = None

    def _admin_engine(self):
        if self._admin is None:
            admin, _url = _pg_admin_engine()
            try:
                with admin.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except Exception as exc:  # noqa: BLE001
                pg_unreachable(exc)
            self._admin = admin
        return self._admin

    def _pg_url(self, name: str) -> str:
        _admin, url = _pg_admin_engine()
        return url.set(database=name).render_as_string(hide_password=False)

    def _template(self, backend: str) -> str:
        if backend not in self._templates:
            if backend == "sqlite":
                template = str(self.tmp_dir / "seeded-at-T.db")
                url = f"sqlite:///{template}"
            else:
                template = f"eqian_simtpl_{uuid.uuid4().hex[:10]}"
                with self._admin_engine().connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{template}"'))
                url = self._pg_url(template)
            eng = db.make_engine(url)
            try:
                db.create_schema(eng)
                _seed(eng)
            except BaseException:
                eng.dispose()
                if backend == "postgresql":
                    self._drop(template)
                raise
            eng.dispose()  # a PostgreSQL template must have no sessions when it is copied
            self._templates[backend] = template
        return self._templates[backend]

    def new(self, backend: str) -> Engine:
        """A new database holding the demo seeded at T."""
        template = self._template(backend)
        if backend == "sqlite":
            path = self.tmp_dir / f"copy-{uuid.uuid4().hex[:10]}.db"
            copy_sqlite(template, path)
            return db.make_engine(f"sqlite:///{path}")
        name = f"eqian_sim_{uuid.uuid4().hex[:10]}"
        with self._admin_engine().connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
        eng = db.make_engine(self._pg_url(name))
        self._databases[eng] = name
        return eng

    def _drop(self, name: str) -> None:
        drop_pg_database(self._admin_engine(), name)

    def discard(self, eng: Engine) -> None:
        eng.dispose()
        name = self._databases.pop(eng, None)
        if name is not None:
            self._drop(name)

    def close(self) -> None:
        for eng in list(self._databases):
            self.discard(eng)
        if "postgresql" in self._templates:
            self._drop(self._templates["postgresql"])
        if self._admin is not None:
            self._admin.dispose()


@pytest.fixture(scope="module")
def seeded_copies(tmp_path_factory):
    copies = SeededCopies(tmp_path_factory.mktemp("sim"))
    yield copies
    copies.close()


@pytest.fixture(params=BACKENDS)
def seeded(request, seeded_copies):
    """The demo seeded at T (``_seed``) on each backend: a database of the test's own."""
    eng = seeded_copies.new(request.param)
    yield eng
    seeded_copies.discard(eng)


@pytest.fixture
def seeded_twin(seeded, seeded_copies):
    """A second database seeded at T, on the same backend as ``seeded``."""
    eng = seeded_copies.new(seeded.dialect.name)
    yield eng
    seeded_copies.discard(eng)


@pytest.fixture
def other_engine(seeded, tmp_path):
    """A second, empty database on the same backend as ``seeded``."""
    if seeded.dialect.name == "sqlite":
        eng = db.make_engine(f"sqlite:///{tmp_path / 'other.db'}")
        db.create_schema(eng)
        yield eng
        eng.dispose()
        return
    admin = create_engine(seeded.url, isolation_level="AUTOCOMMIT")
    name = f"{seeded.url.database}_b{uuid.uuid4().hex[:6]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    eng = db.make_engine(seeded.url.set(database=name).render_as_string(hide_password=False))
    db.create_schema(eng)
    try:
        yield eng
    finally:
        eng.dispose()
        drop_pg_database(admin, name)
        admin.dispose()


class TestTick:
    def test_sim001_writes_the_events_of_the_next_two_hours(self, seeded):
        before = _main_times(seeded)
        assert max(before.values()) <= T

        written = Simulator(seeded).tick(T2)

        after = _main_times(seeded)
        new = {k: v for k, v in after.items() if k not in before}
        assert written == len(new) > 0
        assert all(T < moment <= T2 for moment in new.values()), sorted(new.values())
        assert {k: after[k] for k in before} == before  # nothing old was rewritten or lost
        assert db.get_meta(seeded, "demo_written_until") == T2.isoformat()

    def test_sim002_second_tick_at_the_same_time_writes_nothing(self, seeded):
        sim = Simulator(seeded)
        assert sim.tick(T2) > 0
        count = len(_main_times(seeded))
        assert sim.tick(T2) == 0
        assert sim.tick(T2 - timedelta(hours=1)) == 0  # a clock that went back does not rewind anything
        assert len(_main_times(seeded)) == count
        assert db.get_meta(seeded, "demo_written_until") == T2.isoformat()

    def test_sim003_seed_then_tick_equals_seeding_later(self, seeded, other_engine):
        Simulator(seeded).tick(T2)
        _seed(other_engine, now=T2)
        _assert_same_database_content(seeded, other_engine)


class TestRestart:
    def test_sim010_new_simulator_continues_without_duplicates(self, seeded, seeded_twin):
        later = T + timedelta(hours=13)  # 03:00 on 30 November in Shanghai: across midnight
        first_part = Simulator(seeded).tick(T2)
        second_part = Simulator(seeded).tick(later)  # as after a restart: a new object, no cache

        straight = Simulator(seeded_twin).tick(later)

        assert first_part > 0 and second_part > 0
        assert first_part + second_part == straight
        for model in (Incident, Dispute, Hazard):
            with seeded.connect() as conn:
                total, distinct = conn.execute(
                    select(func.count(), func.count(func.distinct(model.source_id)))).one()
            with seeded_twin.connect() as conn:
                other_total = conn.execute(select(func.count()).select_from(model)).scalar_one()
            assert total == distinct == other_total, model.__tablename__
        _assert_same_database_content(seeded, seeded_twin)
        assert db.get_meta(seeded, "demo_targets:2026-11-30") == db.get_meta(seeded_twin, "demo_targets:2026-11-30")


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
    def test_sim020_incident_closed_at_appears_when_due(self, seeded):
        sim = Simulator(seeded)
        sim.tick(T2)  # the calls of these two hours are still open at T2
        source_id, due, values = _first_pending(seeded, "incidents", "closed_at")
        assert due > T2
        assert datetime.fromisoformat(values["closed_at"]) == due

        def closed_at():
            with seeded.connect() as conn:
                return conn.execute(select(Incident.closed_at).where(Incident.source_id == source_id)).scalar_one()

        assert closed_at() is None
        sim.tick(due - timedelta(microseconds=1))
        assert closed_at() is None
        waiting = _pending(seeded)
        sim.tick(due)
        assert closed_at() == due
        assert closed_at().tzinfo == UTC
        gone = waiting - _pending(seeded)
        assert ("incidents", source_id, due, json.dumps(values, ensure_ascii=False)) in gone

    def test_sim021_hazard_rectified_together_with_its_status(self, seeded):
        source_id, due, values = _first_pending(seeded, "hazards", "rectified_at")
        assert values["status"] == "已整改"

        def hazard():
            with seeded.connect() as conn:
                return tuple(conn.execute(
                    select(Hazard.status, Hazard.rectified_at).where(Hazard.source_id == source_id)).one())

        sim = Simulator(seeded)
        assert hazard() == ("待整改", None)
        sim.tick(due - timedelta(seconds=1))
        assert hazard() == ("待整改", None)
        sim.tick(due)
        assert hazard() == ("已整改", due)

    def test_sim022_dispute_settlement_fills_every_column(self, seeded):
        source_id, due, values = _first_pending(seeded, "disputes", "settled_at")

        def dispute():
            with seeded.connect() as conn:
                return conn.execute(select(Dispute.status, Dispute.settled_at, Dispute.settled_level,
                                           Dispute.mediator).where(Dispute.source_id == source_id)).one()

        before = dispute()
        assert (before.status, before.settled_at, before.settled_level, before.mediator) == ("调解中", None, None, None)
        pending_before = _pending(seeded)
        Simulator(seeded).tick(due)
        after = dispute()
        assert after.status in ("已化解", "未化解") and after.status == values["status"]
        assert after.settled_at == due
        assert after.settled_level == values["settled_level"] and after.mediator == values["mediator"]
        with seeded.connect() as conn:
            assert pending_count(conn) == len(_pending(seeded))
        assert all(row[2] > due for row in _pending(seeded) if row in pending_before)


class TestMidnight:
    def test_sim030_new_day_gets_its_targets(self, seeded):
        key = "demo_targets:2026-11-30"
        assert db.get_meta(seeded, key) is None
        assert json.loads(db.get_meta(seeded, "demo_targets:2026-11-29")).keys() == set(CELLS)

        sim = Simulator(seeded)
        sim.tick(NEXT_MIDNIGHT + timedelta(hours=3))
        stored = db.get_meta(seeded, key)
        assert stored is not None
        targets = json.loads(stored)
        assert targets.keys() == set(CELLS)
        assert all(isinstance(v, int) and v >= 0 for v in targets.values())
        assert sum(targets.values()) > 0

        # Once the whole Shanghai day is written, each cell holds exactly its target.
        end_of_day = NEXT_MIDNIGHT + timedelta(days=1)
        sim.tick(end_of_day)
        assert json.loads(db.get_meta(seeded, key)) == targets  # decided once, never redrawn
        times = _main_times(seeded)
        for cell, target in targets.items():
            ids = [k for k in times if k.startswith(f"20261130-{cell}-")]
            assert len(ids) == target, cell
            assert all(to_local(times[k]).date() == date(2026, 11, 30) for k in ids), cell
        assert db.get_meta(seeded, "demo_targets:2026-12-01") is not None  # the tick ended on 1 December


class TestRefusals:
    def test_sim040_seed_refuses_a_database_with_data(self, seeded):
        count = len(_main_times(seeded))
        with pytest.raises(DemoError, match="the database already holds data; seed-demo --reset wipes it first"):
            _seed(seeded, now=T2)
        assert len(_main_times(seeded)) == count
        assert db.get_meta(seeded, "demo_written_until") == T.isoformat()

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

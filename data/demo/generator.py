"""Seed the demo town and keep it alive.

``seed_demo`` writes the world and every event from the plan's first day up to ``now``; ``Simulator``
then writes each event when its time comes (and fills in arrivals, settlements and rectifications when
they happen). Both draw the same rows for the same day, so a restart neither loses nor repeats events:
the simulator's watermark (``demo_written_until``) and the unique (source, source_id) key guarantee it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, delete, func, select, update

from data.access import accounts as auth
from data.core import bulk, db, organisation, rollups
from data.core.schema import DemoPending, Dispute, Enterprise, Hazard, Incident, Park, Station, Team
from data.core.timeutil import local_midnight, local_today, now_utc
from data.counts.programme import daily_counts
from data.demo import events
from data.demo import plan as planning
from data.demo.world import NETWORK_CLASSES, SECTORS, World, build_world
from data.demo.world import ORGANISATION as DEMO_ORGANISATION
from data.index import safety_index
from data.index.jobs import run_every

log = logging.getLogger(__name__)

TABLES = {"incidents": Incident.__table__, "disputes": Dispute.__table__, "hazards": Hazard.__table__}
CREATED_DELAY = np.timedelta64(30, "s")


class DemoError(RuntimeError):
    """The demo cannot be seeded or simulated on this database; the message says why."""


@dataclass(frozen=True)
class DemoSettings:
    """What a demo database was seeded with (kept in its meta table)."""

    seed: int
    scale: float
    programme_start: date
    seed_day: date
    effects: dict

    @classmethod
    def load(cls, engine_or_conn) -> DemoSettings:
        raw = db.get_meta(engine_or_conn, "demo_settings")
        if raw is None:
            raise DemoError("this database holds no demo (no demo_settings in meta); run seed-demo first")
        data = json.loads(raw)
        return cls(int(data["seed"]), float(data["scale"]), date.fromisoformat(data["programme_start"]),
                   date.fromisoformat(data["seed_day"]), data["effects"])

    def dump(self) -> str:
        return json.dumps({"seed": self.seed, "scale": self.scale, "programme_start": self.programme_start.isoformat(),
                           "seed_day": self.seed_day.isoformat(), "effects": self.effects})

    def world(self) -> World:
        return build_world(self.seed, self.scale, self.seed_day, self.programme_start)


def default_programme_start(today: date) -> date:
    """Fifteen months before ``today`` (the day clamped to the month's length)."""
    month_index = today.year * 12 + today.month - 1 - 15
    year, month = divmod(month_index, 12)
    month += 1
    for day in range(today.day, 0, -1):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def is_demo(engine_or_conn) -> bool:
    """Whether this database was seeded with demo data."""
    return db.get_meta(engine_or_conn, "demo_settings") is not None


def has_events(conn) -> bool:
    """Whether any incident, dispute, hazard or enterprise is stored."""
    for model in (Incident, Dispute, Hazard, Enterprise):
        if conn.execute(select(model.id).limit(1)).first() is not None:
            return True
    return False


def seed_demo(engine: Engine, seed: int = 20_151_101, scale: float = 1.0, now: datetime | None = None,
              programme_start: date | None = None, progress: Callable[[str, int], None] | None = None) -> dict:
    """Create the demo town with events up to ``now``; refuses a database that already holds data."""
    if scale <= 0:
        raise DemoError(f"scale must be positive, got {scale}")
    now = now or now_utc()
    today = local_today(now)
    programme_start = programme_start or default_programme_start(today)
    if programme_start + timedelta(days=30) > today or programme_start < today - timedelta(days=700):
        raise DemoError(f"programme start {programme_start} must lie 30 to 700 days before {today}")
    progress = progress or (lambda _label, _n: None)
    db.create_schema(engine)
    with engine.connect() as conn:
        if has_events(conn):
            raise DemoError("the database already holds data; seed-demo --reset wipes it first")

    world = build_world(seed, scale, today, programme_start)
    progress("world", 1)
    the_plan = planning.make_plan(seed, scale, today, programme_start)
    progress("plan", 1)
    settings = DemoSettings(seed, scale, programme_start, today, the_plan.effects)

    chunks: dict[str, list[dict]] = {name: [] for name in TABLES}
    for cell in planning.CELLS:
        for index, count in enumerate(the_plan.counts[cell]):
            day = the_plan.first + timedelta(days=index)
            rows = events.generate(cell, day, int(count), world, seed, programme_start)
            if rows is not None:
                chunks[rows["_table"]].append(rows)
        progress(cell, 1)
    columns = {name: _concat(parts) for name, parts in chunks.items()}
    _pin_criminal_amounts(columns["incidents"], seed, scale, programme_start, today)

    written = {}
    with engine.begin() as conn, _bulk_load_settings(conn):
        rollups.drop_triggers(conn)  # one GROUP BY after the load beats a trigger call per row
        _import_reference_tables(conn, now)
        _insert_world(conn, world, now)
        for name, cols in columns.items():
            written[name] = write_rows(conn, name, cols, now)
            progress(name, written[name])
        rollups.rebuild(conn)
        rollups.install_triggers(conn)
        db.set_meta(conn, "demo_settings", settings.dump())
        organisation.save(conn, DEMO_ORGANISATION)  # the demo's names, through the path a bureau's admin takes
        db.set_meta(conn, "demo_written_until", now.astimezone(UTC).isoformat())
        db.set_meta(conn, f"demo_targets:{today.isoformat()}",
                    json.dumps({c: int(the_plan.counts[c][-1]) for c in planning.CELLS}))
        months = safety_index.index_months(conn, today)
        written["index_rows"] = safety_index.refresh(conn, months, today)
        progress("index", written["index_rows"])
        auth.ensure_demo_accounts(conn)  # the README's demo accounts
    return {"enterprises": world.n_enterprises, **written, "figures": the_plan.figures,
            "programme_start": programme_start.isoformat()}


# SQLite's defaults (a 2 MB page cache, sorts spilled to temporary files) make the load's index updates and
# the rollups' GROUP BY sorts read and write pages over and over; see https://sqlite.org/pragma.html.
BULK_LOAD_PRAGMAS = {"cache_size": "-131072", "temp_store": "MEMORY"}  # 128 MB of cache, in-memory sorts


@contextmanager
def _bulk_load_settings(conn):
    """On SQLite, a larger page cache and in-memory temporary storage while seeding, then the previous ones."""
    if conn.dialect.name != "sqlite":
        yield
        return
    previous = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar() for name in BULK_LOAD_PRAGMAS}
    for name, value in BULK_LOAD_PRAGMAS.items():
        conn.exec_driver_sql(f"PRAGMA {name}={value}")
    try:
        yield
    finally:
        for name, value in previous.items():
            conn.exec_driver_sql(f"PRAGMA {name}={value}")


def reset(engine: Engine) -> None:
    """Drop and recreate every table (seed-demo --reset)."""
    db.drop_schema(engine)
    db.create_schema(engine)


def _concat(parts: list[dict]) -> dict:
    if not parts:
        return {}
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0] if key != "_table"}


def _import_reference_tables(conn, now: datetime) -> None:
    """The demo bureau's sector table and network classes, through the import a bureau uses
    (data/intake/registry.py)."""
    from data.intake import registry  # noqa: PLC0415 - the importer loads only when seeding

    tables = {
        "sectors": ["name,name_en,industry_codes", *(f'{n},{en},"{codes}"' for n, en, codes in SECTORS)],
        "network_classes": ["name,name_en,position", *(f"{n},{en},{i}" for i, (n, en) in enumerate(NETWORK_CLASSES))],
    }
    for kind, lines in tables.items():
        report = registry.import_registry(conn, kind, ("\n".join(lines) + "\n").encode(), {
            "source": "bureau", "_identity": True}, now=now, allow_demo=True)
        if not report.ok or report.rejected:
            raise DemoError(f"the demo's {kind} were refused: " + "; ".join(report.lines()))


def _import_parks(conn, world: World, now: datetime) -> None:
    """The demo's parks through the import a bureau uses; they get the ids the world gave them (file order)."""
    from data.intake import registry  # noqa: PLC0415 - the importer loads only when seeding

    codes = {s["id"]: s["code"] for s in world.stations}
    lines = ["code,name,station,lat,lon", *(f"P{p['id']:02d},{p['name']},{codes[p['station_id']]},{p['lat']},{p['lon']}"
                                             for p in world.parks)]
    report = registry.import_registry(conn, "parks", ("\n".join(lines) + "\n").encode(), {
        "source": "bureau", "_identity": True}, now=now, allow_demo=True)
    stored = dict(conn.execute(select(Park.name, Park.id)).all())
    if not report.ok or report.rejected or stored != {p["name"]: p["id"] for p in world.parks}:
        raise DemoError("the demo's parks were refused or renumbered: " + "; ".join(report.lines()))


def _insert_world(conn, world: World, now: datetime) -> None:
    bulk.insert_columns(conn, Station.__table__, {k: [r[k] for r in world.stations] for k in world.stations[0]})
    bulk.sync_id_sequence(conn, Station.__table__)
    _import_parks(conn, world, now)
    bulk.insert_columns(conn, Enterprise.__table__, world.enterprises)
    bulk.insert_columns(conn, Team.__table__, world.teams)
    for model in (Station, Park, Enterprise):
        bulk.sync_id_sequence(conn, model.__table__)


def _pin_criminal_amounts(cols: dict, seed: int, scale: float, programme_start: date, today: date) -> None:
    """Spread the published recovered total over the enterprise-related criminal cases since the start."""
    if not cols:
        return
    start = np.datetime64(local_midnight(programme_start).replace(tzinfo=None), "us")
    end = np.datetime64(local_midnight(today).replace(tzinfo=None), "us")
    crim = np.char.find(cols["source_id"].astype(str), "-inc_ent_crim-") >= 0
    rows = np.flatnonzero(crim & (cols["received_at"] >= start) & (cols["received_at"] < end))
    if len(rows) == 0:
        return
    rng = np.random.default_rng([seed, 4])
    total = int(round(planning.ENTERPRISE_CRIMINAL_RECOVERED_YUAN * scale))
    weights = rng.lognormal(0.0, 1.0, len(rows))
    recovered = np.floor(weights / weights.sum() * total).astype(np.int64)
    recovered[np.argmax(recovered)] += total - recovered.sum()
    loss = np.ceil(recovered / rng.uniform(0.55, 0.95, len(rows))).astype(np.int64)
    cols["recovered_amount"] = cols["recovered_amount"].astype(object)
    cols["loss_amount"] = cols["loss_amount"].astype(object)
    cols["recovered_amount"][rows] = recovered.tolist()
    cols["loss_amount"][rows] = loss.tolist()


def _np_utc(moment: datetime) -> np.datetime64:
    return np.datetime64(moment.astimezone(UTC).replace(tzinfo=None), "us")


def write_rows(conn, table_name: str, cols: dict, now: datetime, after: datetime | None = None) -> int:
    """Insert the rows whose main time lies in (after, now]; what happens later becomes pending."""
    if not cols:
        return 0
    now64 = _np_utc(now)
    main = cols[events.MAIN_TIME[table_name]]
    keep = main <= now64
    if after is not None:
        keep &= main > _np_utc(after)
    if not keep.any():
        return 0
    cols = {k: v[keep] for k, v in cols.items()}
    cols["created_at"] = np.minimum(cols[events.MAIN_TIME[table_name]] + CREATED_DELAY, now64)
    pending = []
    for due_col, set_cols, placeholders in events.STAGES[table_name]:
        due = cols[due_col]
        later = np.flatnonzero(due > now64)  # NaT compares False: never-due values stay as they are
        if len(later) == 0:
            continue
        for row in later:
            values = {c: _json_value(cols[c][row]) for c in set_cols}
            pending.append({"table_name": table_name, "source_id": str(cols["source_id"][row]),
                            "due_at": due[row], "values_json": json.dumps(values, ensure_ascii=False)})
        for c in set_cols:
            if cols[c].dtype.kind == "M":
                cols[c] = cols[c].copy()
                cols[c][later] = np.datetime64("NaT")
            else:
                cols[c] = cols[c].astype(object)
                cols[c][later] = placeholders.get(c)
    n = bulk.insert_columns(conn, TABLES[table_name], cols)
    if pending:
        bulk.insert_columns(conn, DemoPending.__table__, {
            "table_name": [p["table_name"] for p in pending],
            "source_id": [p["source_id"] for p in pending],
            "due_at": np.array([p["due_at"] for p in pending], dtype="datetime64[us]"),
            "values_json": [p["values_json"] for p in pending],
        })
    return n


def _json_value(value):
    if isinstance(value, np.datetime64):
        return None if np.isnat(value) else str(value.astype("datetime64[us]")) + "+00:00"
    return value.item() if isinstance(value, np.generic) else value


def apply_pending(conn, now: datetime) -> int:
    """Write the values whose time has come (arrivals, settlements, rectifications)."""
    due = conn.execute(
        select(DemoPending.id, DemoPending.table_name, DemoPending.source_id, DemoPending.values_json)
        .where(DemoPending.due_at <= now).order_by(DemoPending.due_at)
    ).all()
    for _id, table_name, source_id, values_json in due:
        table = TABLES[table_name]
        values = json.loads(values_json)
        for key, value in values.items():
            if isinstance(value, str) and key.endswith("_at"):
                values[key] = datetime.fromisoformat(value)
        conn.execute(update(table).where(table.c.source == "demo", table.c.source_id == source_id).values(**values))
    if due:
        conn.execute(delete(DemoPending).where(DemoPending.id.in_([row[0] for row in due])))
    return len(due)


class Simulator:
    """Writes the demo's events as their time comes; ``rate`` > 1 adds (rate - 1) times more on top."""

    def __init__(self, engine: Engine, rate: float = 1.0):
        if rate < 1.0:
            raise DemoError(f"rate must be at least 1, got {rate}")
        self.engine = engine
        self.rate = rate
        self.settings = DemoSettings.load(engine)
        self.world = self.settings.world()
        self._rows: dict[tuple, dict | None] = {}

    def tick(self, now: datetime | None = None) -> int:
        """Write everything due up to ``now``; returns the number of new event rows."""
        now = now or now_utc()
        with self.engine.begin() as conn:
            written_until = datetime.fromisoformat(db.get_meta(conn, "demo_written_until"))
            if now <= written_until:
                return 0
            total = 0
            day = local_today(written_until)
            while day <= local_today(now):
                total += self._write_day(conn, day, written_until, now)
                day += timedelta(days=1)
            apply_pending(conn, now)
            db.set_meta(conn, "demo_written_until", now.astimezone(UTC).isoformat())
        return total

    def _write_day(self, conn, day: date, after: datetime, now: datetime) -> int:
        targets = self._targets(conn, day)
        self._rows = {k: v for k, v in self._rows.items() if k[1] >= day}
        total = 0
        for cell, count in targets.items():
            streams = [(count, False)]
            if self.rate > 1:
                streams.append((int(round(count * (self.rate - 1))), True))
            for n, extra in streams:
                key = (cell, day, n, extra)
                if key not in self._rows:
                    self._rows[key] = events.generate(cell, day, n, self.world, self.settings.seed,
                                                      self.settings.programme_start, extra=extra)
                rows = self._rows[key]
                if rows is not None:
                    total += write_rows(conn, rows["_table"], {k: v for k, v in rows.items() if k != "_table"},
                                        now, after=after)
        return total

    def _targets(self, conn, day: date) -> dict[str, int]:
        key = f"demo_targets:{day.isoformat()}"
        stored = db.get_meta(conn, key)
        if stored is not None:
            return json.loads(stored)
        targets = self._decide_targets(conn, day)
        db.set_meta(conn, key, json.dumps(targets))
        return targets

    def _decide_targets(self, conn, day: date) -> dict[str, int]:
        """Natural counts for a new day, nudged so that each rolling-year figure stays on its target."""
        s = self.settings
        rng = np.random.default_rng([s.seed, 3, day.toordinal()])
        ordinal = np.array([day.toordinal()])
        natural = {}
        for cell in planning.CELLS:
            if cell == "inc_ent_crim":
                per_day = planning.ENTERPRISE_CRIMINAL_CASES * s.scale / max(1, (s.seed_day - s.programme_start).days)
                natural[cell] = int(rng.poisson(per_day))
            else:
                expected = planning.expected_daily(cell, ordinal, s.programme_start, s.effects[cell], s.scale)[0]
                natural[cell] = int(rng.poisson(expected))
        if self.rate != 1.0:
            return natural  # extra events break the calibration anyway; do not fight them
        for figure in planning.FIGURE_ADJUSTS:
            cells = planning.FIGURE_CELLS[figure]
            free = planning.FIGURE_ADJUSTS[figure]
            past = daily_counts(conn, figure, day - timedelta(days=730), day - timedelta(days=1))
            low, high = planning.band_for_next_day(planning.TARGETS[figure], past)
            others = sum(natural[c] for c in cells if c != free)
            wanted = int(np.clip(sum(natural[c] for c in cells), low, high))
            natural[free] = max(0, wanted - others)
        return natural


def pending_count(conn) -> int:
    """How many delayed values wait to be written."""
    return int(conn.execute(select(func.count()).select_from(DemoPending)).scalar_one())


def run_simulator(sim: Simulator, interval: float = 1.0, stop=None) -> None:
    """Tick forever (or until ``stop`` is set); a database outage is logged and retried, never fatal."""
    run_every(sim.tick, interval, stop or threading.Event(), "demo simulator")

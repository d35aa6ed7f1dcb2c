"""Metrics engine at city scale: rollups against plain GROUP BY and against loading into pandas.

Loads N incidents (with disputes and hazards in proportion) into a fresh PostgreSQL database per size,
then prints, side by side:

- every cockpit number for the town (``data.screens.cockpit.cockpit_numbers``) cold (app cache empty) and warm
  (through ``data.service.cockpit``), read from the rollups;
- the same numbers by plain GROUP BY on the base tables (the same function with the rollup reader
  swapped for ``rollups.counts_raw``), checked equal;
- the load-everything-into-pandas approach (only at the smallest size: it is the slow baseline);
- app start-up time and peak memory (VmHWM: ru_maxrss of a child inherits the parent's) of a fresh
  process computing the cockpit;
- the cost of keeping the rollups fresh: 1,000 new incidents inserted with and without the triggers.

Usage:  python benchmarks/bench_metrics.py [--sizes 1000000 10000000] [--pg postgresql+psycopg://postgres@127.0.0.1:5432/test]
Rows are generated inside PostgreSQL (generate_series), so loading 10 million takes minutes, not hours.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from data.core import db, rollups
from data.core.bulk import insert_columns, sync_id_sequence
from data.core.schema import Enterprise, Park, Station, Team
from data.core.timeutil import local_today
from data.demo.world import build_world
from data.index import safety_index

CATEGORY_CASE = """CASE WHEN r1 < 0.045 THEN '刑事' WHEN r1 < 0.185 THEN '治安' WHEN r1 < 0.275 THEN '交通事故'
  WHEN r1 < 0.495 THEN '纠纷' WHEN r1 < 0.875 THEN '群众求助' WHEN r1 < 0.89 THEN '火灾'
  WHEN r1 < 0.935 THEN '电信网络诈骗' ELSE '其他' END"""


def _incident_sql(n: int, first_id: int, start: str, enterprises: int) -> str:
    return f"""
INSERT INTO incidents (source, source_id, created_at, received_at, category, subcategory, priority,
  enterprise_related, enterprise_id, station_id, park_id, lat, lon, address, caller_name, caller_phone,
  summary, channel, disposition, dispatched_at, arrived_at, closed_at)
SELECT 'bench', g::text, t, t, {CATEGORY_CASE}, NULL, 1 + floor(r2 * 3)::int,
  r3 < 0.15, CASE WHEN r3 < 0.15 THEN 1 + floor(r4 * {enterprises})::int END, 1 + floor(r5 * 4)::int,
  CASE WHEN r6 < 0.4 THEN 1 + floor(r6 * 30)::int END, 30.84 + r4 / 20, 120.26 + r5 / 20,
  '织里镇大港路' || mod(g, 900) || '号', '王某', '138' || lpad(mod(g, 100000000)::text, 8, '0'),
  '基准数据', '110', '出警', t + interval '2 minutes', t + (5 + r2 * 20) * interval '1 minute',
  t + interval '1 hour'
FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5, random() r6,
             timestamptz '{start}' + random() * (now() - timestamptz '{start}') AS t
      FROM generate_series({first_id}, {first_id + n - 1}) g) x"""


def _dispute_sql(n: int, start: str, enterprises: int) -> str:
    return f"""
INSERT INTO disputes (source, source_id, created_at, reported_at, dispute_type, enterprise_id, station_id,
  park_id, parties, party_count, amount, settled_level, mediator, status, settled_at)
SELECT 'bench', g::text, t, t,
  (ARRAY['劳资','经济','邻里','婚恋家庭','交通','其他'])[1 + floor(r1 * 6)::int],
  CASE WHEN r2 < 0.6 THEN 1 + floor(r3 * {enterprises})::int END, 1 + floor(r4 * 4)::int, NULL, '张某；李某', 2,
  1000, (ARRAY['企业内','园区','派出所','调解中心','诉讼'])[1 + floor(r5 * 5)::int], '人民调解员', '已化解',
  t + (1 + r5 * 30) * interval '1 day'
FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5,
             timestamptz '{start}' + random() * (now() - interval '40 days' - timestamptz '{start}') AS t
      FROM generate_series(1, {n}) g) x"""


def _hazard_sql(n: int, start: str, enterprises: int) -> str:
    return f"""
INSERT INTO hazards (source, source_id, created_at, found_at, hazard_type, severity, enterprise_id, station_id,
  park_id, description, deadline, rectified_at, status)
SELECT 'bench', g::text, t, t, (ARRAY['消防','用电','危化品','生产安全','三合一住人'])[1 + floor(r1 * 5)::int],
  CASE WHEN r2 < 0.8 THEN '一般' WHEN r2 < 0.97 THEN '较大' ELSE '重大' END, 1 + floor(r3 * {enterprises})::int,
  1 + floor(r4 * 4)::int, NULL, '基准隐患', (t + interval '15 days')::date,
  CASE WHEN r5 < 0.97 THEN t + (1 + r5 * 20) * interval '1 day' END,
  CASE WHEN r5 < 0.97 THEN '已整改' ELSE '待整改' END
FROM (SELECT g, random() r1, random() r2, random() r3, random() r4, random() r5,
             timestamptz '{start}' + random() * (now() - interval '25 days' - timestamptz '{start}') AS t
      FROM generate_series(1, {n}) g) x"""


def _fresh_database(admin_url: str, name: str) -> str:
    url = make_url(admin_url)
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def load(url: str, n: int) -> dict:
    """Create the schema, a town with enterprises in proportion, and n incidents; rebuild the rollups."""
    engine = db.make_engine(url)
    db.create_schema(engine)
    scale = max(1.0, n / 370_000) ** 0.5  # enterprises grow slower than incidents (a city has more per firm)
    today = local_today()
    start_day = today.replace(year=today.year - 3, month=1, day=1)
    programme_start = today - timedelta(days=456)
    world = build_world(7, scale, today, programme_start)
    timings = {}
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT setseed(0.42)")
        rollups.drop_triggers(conn)
        for model, rows in ((Station, world.stations), (Park, world.parks)):
            insert_columns(conn, model.__table__, {k: [r[k] for r in rows] for k in rows[0]})
        insert_columns(conn, Enterprise.__table__, world.enterprises)
        insert_columns(conn, Team.__table__, world.teams)
        for model in (Station, Park, Enterprise):
            sync_id_sequence(conn, model.__table__)
        start = f"{start_day.isoformat()} 00:00:00+08"
        chunk = 2_000_000
        for first in range(1, n + 1, chunk):
            conn.exec_driver_sql(_incident_sql(min(chunk, n - first + 1), first, start, world.n_enterprises))
        conn.exec_driver_sql(_dispute_sql(n * 6 // 100, start, world.n_enterprises))
        conn.exec_driver_sql(_hazard_sql(n * 2 // 100, start, world.n_enterprises))
        db.set_meta(conn, "programme_start", programme_start.isoformat())
        timings["insert_s"] = time.perf_counter() - started
        t = time.perf_counter()
        rollups.rebuild(conn)
        rollups.install_triggers(conn)
        timings["rollup_rebuild_s"] = time.perf_counter() - t
    with engine.connect() as conn:
        # as autovacuum would: index-only scans need the visibility map
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    t = time.perf_counter()
    with engine.begin() as conn:
        months = safety_index.index_months(conn, today)[-13:]
        safety_index.refresh(conn, months, today)
    timings["index_13_months_s"] = time.perf_counter() - t
    timings["enterprises"] = world.n_enterprises
    engine.dispose()
    return timings


@contextmanager
def raw_group_by():
    """Make every rollup read a plain GROUP BY over the base table instead."""
    original = rollups.counts

    def raw(conn, family, window, filters=None, group_by=()):
        return rollups.counts_raw(conn, family, window, filters, group_by)

    rollups.counts = raw
    try:
        yield
    finally:
        rollups.counts = original


def _timed(fn, repeat: int = 1):
    best, result = None, None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        elapsed = time.perf_counter() - t
        best = elapsed if best is None else min(best, elapsed)
    return best, result


def measure(url: str, n: int, with_pandas: bool) -> dict:
    import app as app_module
    from data import service
    from data.screens.cockpit import cockpit_numbers

    figures = {}
    server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False, "EQIAN_CACHE_URL": "simple"})
    engine = db.engine_of(server)
    today = local_today()
    now = datetime.now(UTC)  # one instant for both, so the time-of-day comparisons agree
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        figures["cold_ms"], rolled = _timed(lambda: cockpit_numbers(conn, today, now=now), repeat=1)
        figures["cold_ms_best_of_3"], _ = _timed(lambda: cockpit_numbers(conn, today, now=now), repeat=3)
        with raw_group_by():
            figures["group_by_ms"], raw = _timed(lambda: cockpit_numbers(conn, today, now=now), repeat=1)
        # equal apart from the instant each was computed at
        figures["equal_to_group_by"] = dataclasses.replace(rolled, at=None) == dataclasses.replace(raw, at=None)
    with server.app_context():
        service.cockpit(today.isoformat())
        figures["warm_ms"], _ = _timed(lambda: service.cockpit(today.isoformat()), repeat=20)
    for key in ("cold_ms", "cold_ms_best_of_3", "group_by_ms", "warm_ms"):
        figures[key] *= 1000
    figures["freshness"] = freshness(engine)
    if with_pandas:
        figures["pandas"] = pandas_baseline(url)
    figures["startup"] = startup(url)
    engine.dispose()
    return figures


def freshness(engine) -> dict:
    """Insert 1,000 incidents the way this app's writers do (one COPY): with the rollup triggers, the
    rollups are fresh at commit; the same insert without triggers shows what keeping them fresh costs.
    Also one ORM-style executemany, where psycopg sends one statement per row."""
    from data.core.schema import Incident

    now = datetime.now(UTC)

    def columns(tag: str, n: int = 1000) -> dict:
        return {"source": [tag] * n, "source_id": [f"{now.timestamp()}-{i}" for i in range(n)],
                "created_at": [now] * n, "received_at": [now - timedelta(seconds=i) for i in range(n)],
                "category": ["治安"] * n, "priority": [2] * n, "enterprise_related": [i % 5 == 0 for i in range(n)],
                "station_id": [1 + i % 4 for i in range(n)], "channel": ["110"] * n}

    table = Incident.__table__
    with engine.begin() as conn:  # warm the connection's plan cache for the trigger functions
        insert_columns(conn, table, columns("warm", 10))
    with engine.begin() as conn:
        t = time.perf_counter()
        insert_columns(conn, table, columns("fresh"))
        with_triggers = time.perf_counter() - t
    with engine.begin() as conn:
        t = time.perf_counter()
        rows = columns("fresh-orm")
        records = [dict(zip(rows, values, strict=True)) for values in zip(*rows.values(), strict=True)]
        conn.execute(table.insert(), records)
        executemany = time.perf_counter() - t
    with engine.begin() as conn:
        rollups.drop_triggers(conn)
        t = time.perf_counter()
        insert_columns(conn, table, columns("fresh-bare"))
        without = time.perf_counter() - t
        conn.rollback()
    with engine.begin() as conn:
        rollups.install_triggers(conn)
    from data.core.periods import Window

    today = local_today()
    with engine.connect() as conn:
        day = Window(today, today)
        equal = rollups.counts(conn, "incidents", day, group_by=("station_id",)) == rollups.counts_raw(
            conn, "incidents", day, group_by=("station_id",))
    return {"copy_1000_with_triggers_ms": with_triggers * 1000, "copy_1000_without_ms": without * 1000,
            "trigger_cost_ms": (with_triggers - without) * 1000,
            "executemany_1000_with_triggers_ms": executemany * 1000,
            "rollups_equal_raw_after": equal}


def pandas_baseline(url: str) -> dict:
    """Load the whole incidents table into pandas and count there (the approach the rollups replace)."""
    code = f"""
import time, json
import pandas as pd
from sqlalchemy import create_engine
t = time.perf_counter()
engine = create_engine({url!r})
frame = pd.read_sql("SELECT * FROM incidents", engine)
loaded = time.perf_counter() - t
frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
local = frame["received_at"].dt.tz_convert("Asia/Shanghai")
ytd = frame[local.dt.year == local.max().year]
counts = ytd.groupby(["category", "enterprise_related"]).size()
total = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({{"rows": len(frame), "load_s": loaded, "load_and_count_s": total, "peak_rss_mb": int(hwm) / 1024}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def startup(url: str) -> dict:
    """A fresh process: import and build the app, serve the page, compute the cockpit once; time and memory."""
    code = f"""
import time, json
t = time.perf_counter()
from app import create_app
server = create_app({{"EQIAN_DATABASE_URL": {url!r}, "EQIAN_SIMULATE": False}})
client = server.test_client()
assert client.get("/login").status_code == 200  # every other page needs a login
started = time.perf_counter() - t
from data import service
from data.core.timeutil import local_today
with server.app_context():
    service.cockpit(local_today().isoformat())
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({{"startup_s": started, "peak_rss_mb": int(hwm) / 1024}}))
"""
    env = {**os.environ, "EQIAN_DATABASE_URL": url}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--pg", default=os.environ.get("EQIAN_TEST_PG_URL",
                                                       "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark databases.")
    args = parser.parse_args()
    results = {}
    for n in args.sizes:
        name = f"eqian_bench_{n}"
        url = _fresh_database(args.pg, name)
        print(f"== {n:,} incidents: loading into {name} …", flush=True)
        loaded = load(url, n)
        print(f"   loaded: {json.dumps(loaded)}", flush=True)
        # pandas only at the smallest size, and never beyond 2 million rows (10 million would need ~25 GB)
        measured = measure(url, n, with_pandas=(n == min(args.sizes) and n <= 2_000_000))
        results[n] = {"load": loaded, **measured}
        print(f"   measured: {json.dumps(measured)}", flush=True)
        if not args.keep:
            _drop(args.pg, name)
    print("\n| incidents | cockpit cold (ms) | cold, best of 3 | warm (ms) | plain GROUP BY (ms) | equal | "
          "1,000 new incidents, rollups fresh (ms) | of which triggers (ms) | start-up (s) | peak RSS (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, r in results.items():
        f = r["freshness"]
        print(f"| {n:,} | {r['cold_ms']:.0f} | {r['cold_ms_best_of_3']:.0f} | {r['warm_ms']:.2f} | "
              f"{r['group_by_ms']:.0f} | {r['equal_to_group_by']} | {f['copy_1000_with_triggers_ms']:.0f} | "
              f"{f['trigger_cost_ms']:.0f} | {r['startup']['startup_s']:.2f} | {r['startup']['peak_rss_mb']:.0f} |")
    for r in results.values():
        if "pandas" in r:
            p = r["pandas"]
            print(f"\npandas baseline at {p['rows']:,} rows: load {p['load_s']:.1f} s, load and count "
                  f"{p['load_and_count_s']:.1f} s, peak RSS {p['peak_rss_mb']:.0f} MB")


def _drop(admin_url: str, name: str) -> None:
    admin = create_engine(make_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


if __name__ == "__main__":
    main()

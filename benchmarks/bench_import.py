"""Import speed: generate an N-row foreign incident CSV (default one million rows) and import it.

    .venv/bin/python benchmarks/bench_import.py                      # SQLite and PostgreSQL, 1,000,000 rows
    .venv/bin/python benchmarks/bench_import.py --rows 200000 --backend sqlite
    .venv/bin/python benchmarks/bench_import.py --encoding gb18030   # a Chinese-Excel style file
    .venv/bin/python benchmarks/bench_import.py --sqlite-row-triggers  # SQLite with its per-row triggers

The file looks like a county command system's export: Chinese headers, its own category names, times as
``YYYY/MM/DD HH:MM:SS`` Shanghai time, GCJ-02 coordinates (1 % outside the town: flagged), a station
name on most rows and none on the rest (found from the point), caller, phone and a short summary. Each
backend gets a fresh database with the demo's four stations; the import runs with the rollup triggers
installed, as in production, and the rollups are checked against a plain GROUP BY afterwards. Prints
rows/s per backend. The target (issue 8): one million rows in under two minutes on PostgreSQL.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.core import db, rollups
from data.core.periods import Window
from data.core.schema import Station
from data.demo import geo
from data.intake import import_file, importer, wgs84_to_gcj02

PG_URL = os.environ.get("EQIAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FOREIGN = {"盗窃案": "刑事", "诈骗案": "刑事", "打架斗殴": "治安", "噪音扰民": "治安", "交通事故": "交通事故",
           "纠纷求助": "纠纷", "求助": "群众求助", "火警": "火灾", "电诈": "电信网络诈骗", "其他警情": "其他"}
CHANNELS = {"110报警": "110", "对讲": "民芯对讲", "钉钉": "钉钉群", "来所报案": "来所"}
MAPPING = {
    "kind": "incidents",
    "source": "bench-county",
    "timezone": "Asia/Shanghai",
    "coordinates": {"system": "gcj02", "jurisdiction": "stations", "outside": "flag"},
    "fields": {
        "source_id": "警情编号",
        "received_at": {"column": "接警时间", "format": "%Y/%m/%d %H:%M:%S"},
        "category": {"column": "警情类别", "map": FOREIGN},
        "priority": {"column": "紧急程度", "map": {"紧急": 1, "较急": 2, "一般": 3}},
        "channel": {"column": "报警方式", "map": CHANNELS},
        "station": "管辖单位",
        "lat": "纬度",
        "lon": "经度",
        "address": "发生地点",
        "caller_name": "报警人",
        "caller_phone": "联系电话",
        "summary": "简要案情",
    },
}
HEADER = ["警情编号", "接警时间", "警情类别", "紧急程度", "报警方式", "管辖单位", "纬度", "经度", "发生地点", "报警人",
          "联系电话", "简要案情"]


def write_csv(path: Path, rows: int, encoding: str, seed: int = 8) -> None:
    """A foreign export of ``rows`` incidents over the last three years."""
    rng = np.random.default_rng(seed)
    end = datetime.now(UTC) - timedelta(days=1)
    seconds = rng.integers(0, 3 * 365 * 86400, rows)
    local = [(end - timedelta(seconds=int(s))).astimezone(geo_zone()) for s in seconds]
    station_index = rng.integers(0, len(geo.STATIONS), rows)
    lon, lat = geo.sample_in_wedges(rng, station_index)
    outside = rng.random(rows) < 0.01
    lon = np.where(outside, lon + 0.2, lon)
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    names = np.array([s[0] for s in geo.STATIONS])
    station = np.where(rng.random(rows) < 0.9, names[station_index], "")
    cats = np.array(list(FOREIGN))[rng.integers(0, len(FOREIGN), rows)]
    pri = np.array(["紧急", "较急", "一般"])[rng.choice(3, rows, p=[0.1, 0.3, 0.6])]
    chan = np.array(list(CHANNELS))[rng.choice(4, rows, p=[0.7, 0.1, 0.1, 0.1])]
    streets = np.array(geo.STREETS)[rng.integers(0, len(geo.STREETS), rows)]
    numbers = rng.integers(1, 999, rows)
    surnames = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡"))[rng.integers(0, 15, rows)]
    phones = rng.integers(13000000000, 13999999999, rows)
    with open(path, "w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(rows):
            w.writerow([f"ZJHZ{i:09d}", local[i].strftime("%Y/%m/%d %H:%M:%S"), cats[i], pri[i], chan[i], station[i],
                        f"{g_lat[i]:.6f}", f"{g_lon[i]:.6f}", f"织里镇{streets[i]}{numbers[i]}号", f"{surnames[i]}先生",
                        str(phones[i]), f"{cats[i]}，现场已处置"])


def geo_zone():
    from data.core.timeutil import LOCAL_TZ

    return LOCAL_TZ


def fresh_engine(backend: str, workdir: Path):
    if backend == "sqlite":
        return db.make_engine(f"sqlite:///{workdir / 'bench_import.db'}"), None
    url = make_url(PG_URL)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"eqian_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return db.make_engine(url.set(database=name).render_as_string(hide_password=False)), (admin, name)


def drop(cleanup) -> None:
    if cleanup is None:
        return
    admin, name = cleanup
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def run(backend: str, path: Path, rows: int, workdir: Path, batch_size: int) -> float:
    engine, cleanup = fresh_engine(backend, workdir)
    try:
        db.drop_schema(engine)
        db.create_schema(engine)
        with engine.begin() as conn:
            conn.execute(insert(Station.__table__), geo.station_rows())
        last = [time.monotonic()]

        def progress(done: int, total: int) -> None:
            if time.monotonic() - last[0] > 10:
                last[0] = time.monotonic()
                print(f"  {backend}: {done / max(total, 1):.0%}", flush=True)

        load_before, cpu_before = os.getloadavg()[0], time.process_time()
        report = import_file(engine, "incidents", path, MAPPING, progress=progress, batch_size=batch_size)
        cpu = time.process_time() - cpu_before
        print("  " + "\n  ".join(report.lines(limit=3)))
        if not report.ok or report.accepted + report.rejected != rows:
            raise SystemExit(f"{backend}: import failed or incomplete")
        with engine.connect() as conn:
            window = Window(datetime(2000, 1, 1).date(), datetime.now(UTC).date() + timedelta(days=1))
            via_rollups = rollups.counts(conn, "incidents", window, group_by=("category",))
            plain = rollups.counts_raw(conn, "incidents", window, group_by=("category",))
        print(f"  rollups match a plain GROUP BY: {via_rollups == plain}")
        rate = report.rows_read / report.seconds
        print(f"{backend}: {report.rows_read:,} rows in {report.seconds:.1f} s = {rate:,.0f} rows/s "
              f"({report.accepted:,} stored, {report.flagged:,} flagged out of area); importer CPU {cpu:.1f} s; "
              f"load average {load_before:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        return rate
    finally:
        engine.dispose()
        drop(cleanup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--encoding", default="utf-8")
    parser.add_argument("--batch-size", type=int, default=importer.BATCH_SIZE)
    parser.add_argument("--sqlite-row-triggers", action="store_true",
                        help="keep SQLite's per-row rollup triggers during the import (for comparison)")
    args = parser.parse_args()
    if args.sqlite_row_triggers:
        importer.SQLITE_SUSPEND_TRIGGERS = False
    with tempfile.TemporaryDirectory(prefix="eqian-bench-import-") as tmp:
        workdir = Path(tmp)
        path = workdir / "incidents.csv"
        started = time.monotonic()
        write_csv(path, args.rows, args.encoding)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 2**20:.0f} MiB, {args.encoding}) "
              f"in {time.monotonic() - started:.0f} s", flush=True)
        for backend in (("sqlite", "postgresql") if args.backend == "both" else (args.backend,)):
            run(backend, path, args.rows, workdir, args.batch_size)


if __name__ == "__main__":
    main()

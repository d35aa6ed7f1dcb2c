"""Reference data import speed (data/intake/registry.py): a 100,000-enterprise registry and its monthly snapshots.

    .venv/bin/python benchmarks/bench_registry.py                        # PostgreSQL, 100,000 enterprises
    .venv/bin/python benchmarks/bench_registry.py --backend sqlite
    .venv/bin/python benchmarks/bench_registry.py --backend both --rows 20000
    .venv/bin/python benchmarks/bench_registry.py --keep                 # leave the database for a look
    .venv/bin/python benchmarks/bench_registry.py --profile              # cProfile each step (slower)

Each backend gets a fresh database (PostgreSQL: ``bench_registry_<hex>`` beside EQIAN_TEST_PG_URL's; SQLite: a
file), and everything comes in through the product's public paths: 12 square station polygons through the
boundary import, the sector table (GB/T 4754 prefixes) and 30 parks with codes through ``import_registry``,
then a county registry export (CSV, Chinese headers, generated from a fixed seed: valid 统一社会信用代码,
Chinese names, industry codes such as C1811/C1820/F5137/H6210/G5990, head counts, addresses, a park for 40 %
of the rows, a point inside the station for every row). The steps:

1. the registry imported into the empty registry (target: 100,000 rows in 60 s on PostgreSQL, 2 cores);
2. a snapshot a month later with 5 % of the rows changed (head count, sector, park and name, a quarter each; a
   fifth of the head-count changes renamed too): updated must be 5 %, unchanged 95 %, and enterprise_history
   must get one row per enterprise whose head count, sector or park changed, none for a name (target: 30 s);
3. the same file again: nothing changes;
4. a full snapshot (``snapshot: full``) a month later still, 2 % of the rows missing: they are closed; then
   one with half the rows missing, which must be refused before anything is stored (the rows with
   ``closed_on`` set and the import records are counted before and after).

Prints one line per step (rows, seconds, rows/s, the target, peak RSS) and exits 1 if a count is not what the
step must give.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from stdnum.cn import uscc

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from data.core import db
from data.core.schema import Enterprise, EnterpriseHistory, ImportRun, Park, Sector
from data.intake import boundaries
from data.intake.registry import import_registry

PG_URL = os.environ.get("EQIAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SEED = 20261207
STATIONS = 12  # a 4 x 3 grid of squares
GRID_COLUMNS, ORIGIN, SIZE = 4, (120.20, 30.80), 0.03  # degrees: a square about 2.9 x 3.3 km
PARKS = 30
AS_OF = (date(2026, 10, 7), date(2026, 11, 7), date(2026, 12, 7))  # the first import, the snapshot, the full one
SECTORS = (("服装制造", "Garments", "C18"), ("针织服装", "Knitwear", "C1820"), ("批发零售", "Trade", "F"),
           ("餐饮", "Catering", "H62"), ("仓储物流", "Warehousing", "G59"))
# industry code -> (its sector, a share of the registry, words for a name)
INDUSTRIES = {"C1811": ("服装制造", 0.35, ("服饰", "童装", "制衣")),
              "C1820": ("针织服装", 0.20, ("针织", "织造")),
              "F5137": ("批发零售", 0.25, ("服装商行", "布料经营部", "贸易")),
              "H6210": ("餐饮", 0.12, ("饭店", "餐饮")),
              "G5990": ("仓储物流", 0.08, ("仓储", "物流"))}
MAPPING = {"source": "county-registry",
           "fields": {"credit_code": "统一社会信用代码", "name": "企业名称", "sector": "行业代码",
                      "workers": "从业人数", "address": "地址", "park": "园区", "lat": "纬度", "lon": "经度"}}
HEADER = ["统一社会信用代码", "企业名称", "行业代码", "从业人数", "地址", "园区", "纬度", "经度"]
PLACES = ("织里", "湖州", "吴兴", "南浔", "太湖", "大港", "轧村", "漾西")
MARKS = tuple("恒隆泰丰盛兴达鑫源宏华美佳悦锦绣嘉诚和顺晨阳新宇天成金银星月蓝海明康瑞福祥")
SUFFIXES = ("有限公司", "有限公司", "有限公司", "厂", "店")
STREETS = ("大港路", "利济路", "中华路", "栋梁路", "吴兴大道", "珍贝路", "康泰路", "富民路", "织里北路", "阿祥路",
           "凯旋路", "晓河路", "长安路", "香圩墩路", "太湖路", "湖织大道", "棋盘路", "东盛路", "南太湖路", "秦家港路")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
TARGETS = {"1 first import": 60.0, "2 snapshot, 5% changed": 30.0}


# --- the data -------------------------------------------------------------------------------------------------


def station_square(i: int) -> tuple[float, float]:
    """The south-west corner of station ``i``'s square."""
    return ORIGIN[0] + (i % GRID_COLUMNS) * SIZE, ORIGIN[1] + (i // GRID_COLUMNS) * SIZE


def stations_geojson() -> dict:
    features = []
    for i in range(STATIONS):
        x, y = station_square(i)
        ring = [[x, y], [x + SIZE, y], [x + SIZE, y + SIZE], [x, y + SIZE], [x, y]]
        features.append({"type": "Feature", "properties": {"code": f"S{i + 1:02d}", "name": f"第{i + 1}派出所"},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}})
    return {"type": "FeatureCollection", "features": features}


def parks_table(rng: np.random.Generator) -> list[tuple[str, str, int, float, float]]:
    """(code, name, station index, lon, lat): 30 parks, two or three per station, each well inside its square."""
    out = []
    for p in range(PARKS):
        station = p % STATIONS
        x, y = station_square(station)
        lon, lat = x + rng.uniform(0.008, SIZE - 0.008), y + rng.uniform(0.008, SIZE - 0.008)
        name = f"{PLACES[p % len(PLACES)]}{p + 1}号工业园"
        out.append((f"YQ{p + 1:03d}", name, station, round(lon, 6), round(lat, 6)))
    return out


def credit_codes(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct valid codes: 9 (工商) + 1/2 (enterprise, individual) + county + an organisation code."""
    counties = ("330502", "330503", "330521")
    kinds = np.where(rng.random(n) < 0.85, "1", "2")
    county = rng.integers(0, len(counties), n)
    serial = rng.permutation(n).astype(np.int64) * 7_919 + 1_234_567  # distinct, far below 31**7
    codes = []
    for i in range(n):
        value, digits = int(serial[i]), []
        for _ in range(7):
            value, d = divmod(value, 31)
            digits.append(USCC_ALPHABET[d])
        body = f"9{kinds[i]}{counties[county[i]]}MA{''.join(reversed(digits))}"
        codes.append(body + uscc.calc_check_digit(body))
    return codes


def company_name(rng: np.random.Generator, industry: str) -> str:
    words = INDUSTRIES[industry][2]
    return (PLACES[rng.integers(len(PLACES))] + MARKS[rng.integers(len(MARKS))] + MARKS[rng.integers(len(MARKS))]
            + words[rng.integers(len(words))] + SUFFIXES[rng.integers(len(SUFFIXES))])


def registry(rows: int, parks: list, seed: int = SEED) -> list[list]:
    """The registry export's rows, as the county system writes them (all text; no head count on 2 % of them)."""
    rng = np.random.default_rng(seed)
    codes = credit_codes(rng, rows)
    industries = list(INDUSTRIES)
    industry = rng.choice(len(industries), rows, p=[INDUSTRIES[c][1] for c in industries])
    in_park = rng.random(rows) < 0.40
    park_of = rng.integers(0, len(parks), rows)
    station_of = rng.integers(0, STATIONS, rows)
    workers = np.clip(np.round(rng.lognormal(2.6, 0.9, rows)), 1, 3000).astype(int)
    no_workers = rng.random(rows) < 0.02
    jitter = rng.uniform(-0.005, 0.005, (rows, 2))
    spot = rng.uniform(0.0005, SIZE - 0.0005, (rows, 2))
    out = []
    for i in range(rows):
        code = industries[industry[i]]
        if in_park[i]:
            park = parks[park_of[i]]
            lon, lat, park_code = park[3] + jitter[i, 0], park[4] + jitter[i, 1], park[0]
        else:
            x, y = station_square(int(station_of[i]))
            lon, lat, park_code = x + spot[i, 0], y + spot[i, 1], ""
        address = f"织里镇{STREETS[rng.integers(len(STREETS))]}{rng.integers(1, 999)}号"
        out.append([codes[i], company_name(rng, code), code, "" if no_workers[i] else str(workers[i]), address,
                    park_code, f"{lat:.6f}", f"{lon:.6f}"])
    return out


def changed_snapshot(rows: list[list], parks: list, share: float, seed: int = SEED + 1) -> tuple[list[list], dict]:
    """The registry a month later: ``share`` of the rows changed, a quarter each in head count, sector, park (another
    park of the same station, so the station stays) and name, and a fifth of the head-count changes renamed as well
    (one update, one history row). Returns the rows and the changed codes by field."""
    rng = np.random.default_rng(seed)
    out = [list(r) for r in rows]
    in_park = [i for i, r in enumerate(rows) if r[5]]
    chosen_park = rng.choice(in_park, size=round(len(rows) * share / 4), replace=False)
    rest = np.setdiff1d(np.arange(len(rows)), chosen_park)
    others = rng.choice(rest, size=round(len(rows) * share) - len(chosen_park), replace=False)
    thirds = np.array_split(others, 3)
    changed: dict[str, set[str]] = {"workers": set(), "sector": set(), "park": set(), "name": set()}
    by_station: dict[int, list[str]] = {}
    for code, _name, station, _lon, _lat in parks:
        by_station.setdefault(station, []).append(code)
    station_of_park = {p[0]: p[2] for p in parks}
    for i in thirds[0]:
        old = int(out[i][3]) if out[i][3] else 0
        out[i][3] = str(old + int(rng.integers(1, 25)))
        changed["workers"].add(out[i][0])
    for i in thirds[1]:
        old_sector = INDUSTRIES[out[i][2]][0]
        choices = [c for c, (sector, _share, _words) in INDUSTRIES.items() if sector != old_sector]
        out[i][2] = choices[rng.integers(len(choices))]
        changed["sector"].add(out[i][0])
    for i in chosen_park:
        choices = [c for c in by_station[station_of_park[out[i][5]]] if c != out[i][5]]
        out[i][5] = choices[rng.integers(len(choices))]
        changed["park"].add(out[i][0])
    for i in [*thirds[2], *thirds[0][::5]]:  # a fifth of the head-count changes come with a new name too
        name = out[i][1]
        while name == out[i][1]:
            name = company_name(rng, out[i][2])
        out[i][1] = name
        changed["name"].add(out[i][0])
    return out, changed


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# --- the database ---------------------------------------------------------------------------------------------


def fresh_engine(backend: str, folder: Path):
    """An engine on a new, empty database, and what drops it afterwards."""
    name = f"bench_registry_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        path = folder / f"{name}.db"
        return db.make_engine(f"sqlite:///{path}"), ("sqlite", path)
    url = make_url(PG_URL)
    admin = create_engine(url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return db.make_engine(url.set(database=name).render_as_string(hide_password=False)), ("postgresql", admin, name)


def drop(cleanup, keep: bool) -> None:
    if cleanup[0] == "sqlite":
        if keep:
            print(f"  kept {cleanup[1]}")
        else:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{cleanup[1]}{suffix}").unlink(missing_ok=True)
        return
    _kind, admin, name = cleanup
    if keep:
        print(f"  kept database {name}: {make_url(PG_URL).set(database=name).render_as_string()}")
    else:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def count(engine, model, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one()


# --- the run --------------------------------------------------------------------------------------------------


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Steps:
    def __init__(self, backend: str, profile: bool):
        self.backend, self.profile = backend, profile
        self.problems: list[str] = []
        self.figures: list[tuple[str, int, float]] = []

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        print(f"    {'ok' if ok else 'WRONG'}: {what}{f' ({detail})' if detail and not ok else ''}", flush=True)
        if not ok:
            self.problems.append(f"{self.backend}: {what}" + (f" ({detail})" if detail else ""))

    def run(self, step: str, engine, path: Path, mapping: dict, as_of: date):
        profiler = cProfile.Profile() if self.profile else None
        cpu = time.process_time()
        if profiler:
            profiler.enable()
        report = import_registry(engine, "enterprises", path, mapping, filename=path.name, as_of=as_of)
        if profiler:
            profiler.disable()
        cpu = time.process_time() - cpu
        rate = report.rows_read / report.seconds if report.seconds else 0.0
        target = TARGETS.get(step)
        verdict = "—" if target is None else (f"≤ {target:.0f} s: " + ("met" if report.seconds <= target else "MISSED"))
        print(f"{self.backend} | {step:<30} | {report.rows_read:>9,} rows | {report.seconds:6.1f} s | "
              f"{rate:>8,.0f} rows/s | target {verdict} | importer CPU {cpu:.1f} s | peak RSS {peak_rss_mb():,.0f} MB",
              flush=True)
        print(f"    {report.summary()}")
        for line in report.lines(limit=3)[1:4]:
            if line.startswith("rejected line"):
                print(f"    {line}")
        self.figures.append((step, report.rows_read, report.seconds))
        if profiler:
            show_profile(profiler)
        return report


def show_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(18)
    stats.sort_stats("cumulative").print_stats(r"data/(intake|core)/", 22)
    print("    " + "\n    ".join(line for line in out.getvalue().splitlines() if line.strip()))


def setup(engine, folder: Path, parks: list) -> None:
    """Stations through the boundary import, the sector table and the parks through import_registry."""
    geojson = folder / "stations.geojson"
    geojson.write_text(json.dumps(stations_geojson(), ensure_ascii=False), encoding="utf-8")
    started = time.perf_counter()
    with engine.begin() as conn:
        stored = boundaries.import_boundaries(conn, geojson, "code", "name")
    assert stored.stored and len(stored.boundaries) == STATIONS, stored.summary()
    body = ("name,name_en,industry_codes\n" + "".join(f"{n},{e},{c}\n" for n, e, c in SECTORS)).encode()
    sectors = import_registry(engine, "sectors", body, {"source": "bureau", "_identity": True}, as_of=AS_OF[0])
    assert sectors.ok and sectors.inserted == len(SECTORS), sectors.lines()
    parks_csv = write_csv(folder / "parks.csv", ["代码", "名称", "纬度", "经度"],
                          [[code, name, f"{lat:.6f}", f"{lon:.6f}"] for code, name, _s, lon, lat in parks])
    done = import_registry(engine, "parks", parks_csv, {"source": "bureau", "fields": {
        "code": "代码", "name": "名称", "lat": "纬度", "lon": "经度"}}, as_of=AS_OF[0])
    assert done.ok and done.inserted == PARKS, done.lines()
    assert count(engine, Sector) == len(SECTORS) and count(engine, Park) == PARKS
    print(f"  set-up: {STATIONS} stations, {len(SECTORS)} sectors, {PARKS} parks in "
          f"{time.perf_counter() - started:.1f} s", flush=True)


def run(backend: str, rows: int, keep: bool, profile: bool) -> Steps:
    steps = Steps(backend, profile)
    rng = np.random.default_rng(SEED)
    parks = parks_table(rng)
    started = time.perf_counter()
    base = registry(rows, parks)
    snapshot, changed = changed_snapshot(base, parks, 0.05)
    drop_rng = np.random.default_rng(SEED + 2)
    missing = set(drop_rng.choice(rows, size=round(rows * 0.02), replace=False).tolist())
    full = [r for i, r in enumerate(snapshot) if i not in missing]
    half = full[:len(full) // 2]
    folder = Path(tempfile.mkdtemp(prefix="bench_registry_"))
    files = {name: write_csv(folder / f"{name}.csv", HEADER, data) for name, data in
             (("registry", base), ("snapshot", snapshot), ("full", full), ("half", half))}
    print(f"{backend}: wrote the registry ({rows:,} rows, {files['registry'].stat().st_size / 2**20:.1f} MiB) and its "
          f"snapshots in {time.perf_counter() - started:.1f} s (peak RSS so far {peak_rss_mb():,.0f} MB); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    engine, cleanup = fresh_engine(backend, Path(tempfile.gettempdir()) if keep else folder)
    try:
        db.create_schema(engine)
        setup(engine, folder, parks)
        full_mapping = {**MAPPING, "snapshot": "full"}

        first = steps.run("1 first import", engine, files["registry"], MAPPING, AS_OF[0])
        steps.check(f"{rows:,} new, nothing refused", first.ok and first.inserted == rows and first.rejected == 0,
                    f"inserted {first.inserted}, rejected {first.rejected}, error {first.error}")
        steps.check("stored", count(engine, Enterprise) == rows, f"{count(engine, Enterprise)} rows")

        second = steps.run("2 snapshot, 5% changed", engine, files["snapshot"], MAPPING, AS_OF[1])
        n_changed = len(set().union(*changed.values()))
        with_history = changed["workers"] | changed["sector"] | changed["park"]
        steps.check(f"updated == 5% ({n_changed:,}), unchanged == 95% ({rows - n_changed:,}), none new",
                    (second.inserted, second.updated, second.unchanged, second.rejected) == (0, n_changed,
                                                                                         rows - n_changed, 0),
                    f"new {second.inserted}, updated {second.updated}, unchanged {second.unchanged}, "
                    f"rejected {second.rejected}")
        expected_fields = {"workers": len(changed["workers"]), "sector": len(changed["sector"]),
                           "park_id": len(changed["park"]), "name": len(changed["name"])}
        steps.check(f"changed fields {expected_fields}", dict(second.changed_fields) == expected_fields,
                    f"report: {dict(second.changed_fields)}")
        with engine.connect() as conn:
            history = conn.execute(select(Enterprise.credit_code, EnterpriseHistory.valid_from,
                                          EnterpriseHistory.valid_to).join(
                Enterprise, Enterprise.id == EnterpriseHistory.enterprise_id)).all()
        steps.check(f"enterprise_history: one row per head-count/sector/park change ({len(with_history):,}), "
                    f"none for a name", second.history == len(history) == len(with_history)
                    and {h.credit_code for h in history} == with_history,
                    f"report {second.history}, stored {len(history)}, "
                    f"{len({h.credit_code for h in history} - with_history)} not expected")
        steps.check(f"history rows hold {AS_OF[0]} .. {AS_OF[1]}",
                    all((h.valid_from, h.valid_to) == AS_OF[:2] for h in history))

        imports_before = count(engine, ImportRun)
        third = steps.run("3 the same file again", engine, files["snapshot"], MAPPING, AS_OF[1])
        steps.check("nothing changed (report.changed False, no import recorded)",
                    third.ok and not third.changed and third.unchanged == rows
                    and count(engine, ImportRun) == imports_before,
                    f"changed {third.changed}, unchanged {third.unchanged}, imports {imports_before} -> "
                    f"{count(engine, ImportRun)}")

        fourth = steps.run("4 full snapshot, 2% missing", engine, files["full"], full_mapping, AS_OF[2])
        closed = count(engine, Enterprise, Enterprise.closed_on.is_not(None))
        closed_on_day = count(engine, Enterprise, Enterprise.closed_on == AS_OF[2])
        steps.check(f"closed == 2% ({len(missing):,}) on {AS_OF[2]}, the rest unchanged",
                    fourth.ok and fourth.closed == closed == closed_on_day == len(missing)
                    and fourth.unchanged == rows - len(missing) and fourth.updated == 0
                    and fourth.stored_before == rows,
                    f"closed {fourth.closed} (stored {closed}), unchanged {fourth.unchanged}, updated "
                    f"{fourth.updated}, stored_before {fourth.stored_before}")

        before = (closed, count(engine, ImportRun))
        fifth = steps.run("4b full snapshot, 50% missing", engine, files["half"], full_mapping, AS_OF[2])
        after = (count(engine, Enterprise, Enterprise.closed_on.is_not(None)), count(engine, ImportRun))
        steps.check("refused (report.ok False)", not fifth.ok and "Nothing was stored" in (fifth.error or ""),
                    f"ok {fifth.ok}, error {fifth.error}")
        print(f"    rows with closed_on set: {before[0]:,} before, {after[0]:,} after; import records: {before[1]} "
              f"before, {after[1]} after: the refusal came before anything was stored"
              if before == after else f"    rows with closed_on set: {before[0]:,} -> {after[0]:,}, import records "
              f"{before[1]} -> {after[1]}: SOMETHING WAS STORED")
        steps.check("nothing stored by the refused import", before == after, f"{before} -> {after}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the CSV files (and the SQLite file, unless --keep)
        engine.dispose()
        drop(cleanup, keep)
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--keep", action="store_true", help="do not drop the database afterwards")
    parser.add_argument("--profile", action="store_true", help="cProfile each step and print where the time went")
    args = parser.parse_args()
    problems = []
    for backend in (("postgresql", "sqlite") if args.backend == "both" else (args.backend,)):
        steps = run(backend, args.rows, args.keep, args.profile)
        problems += steps.problems
        print(f"{backend}: peak RSS {peak_rss_mb():,.0f} MB; " + "; ".join(
            f"{step}: {seconds:.1f} s" for step, _rows, seconds in steps.figures), flush=True)
    if problems:
        print("counts that are not what they must be:\n  " + "\n  ".join(problems))
        raise SystemExit(1)


if __name__ == "__main__":
    main()

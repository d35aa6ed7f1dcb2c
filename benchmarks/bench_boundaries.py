"""Station boundary import speed (data/intake/boundaries.py) on the real public files.

    .venv/bin/python benchmarks/bench_boundaries.py                 # SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_boundaries.py --backend postgresql

Imports the London wards (a zipped shapefile in British National Grid: 654 polygons, reprojected through its
.prj, codes as names) and the Chicago police districts (a KML with MultiGeometry: 25 placemarks, 23 stations)
into a fresh database per backend, then imports the same files again (nothing changes), and prints the time of
each: read and check, and the whole import. The target (issue 19): a 300-polygon boundary file in 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_import import drop, fresh_engine
from data.core import db
from data.intake import boundaries

DATASETS = next((p for p in (ROOT.parent / "shared" / "datasets", Path("/work/shared/datasets")) if p.is_dir()),
                ROOT.parent / "shared" / "datasets")
FILES = ((DATASETS / "london-wards" / "london_wards.zip", "GSS_CODE", "GSS_CODE"),
         (DATASETS / "chicago-police-districts" / "chicago_police_districts.kml", "Name", "description"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    print("| backend | file | polygons | read and check (s) | first import (s) | again, unchanged (s) |")
    print("|---|---|---|---|---|---|")
    for backend in backends:
        with tempfile.TemporaryDirectory() as folder:
            engine, cleanup = fresh_engine(backend, Path(folder))
            try:
                db.create_schema(engine)
                for path, code, name in FILES:
                    started = time.perf_counter()
                    report = boundaries.read_boundaries(path, code, name)
                    read_s = time.perf_counter() - started
                    timings = []
                    for _round in range(2):
                        started = time.perf_counter()
                        with engine.begin() as conn:
                            done = boundaries.import_boundaries(conn, path, code, name)
                        timings.append(time.perf_counter() - started)
                    assert done.unchanged == len(report.boundaries), done.summary()
                    print(f"| {backend} | {path.name} | {report.rows} | {read_s:.2f} | {timings[0]:.2f} | "
                          f"{timings[1]:.2f} |", flush=True)
            finally:
                engine.dispose()
                drop(cleanup)


if __name__ == "__main__":
    main()

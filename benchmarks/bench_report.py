"""How long does a month's report take, as the CLI makes it (PDF and DOCX), and what does an image cost?

Seeds a scale-1 demo into a temporary SQLite file (about 20–50 s; pass --database to use another), then
runs ``flask --app app report --period <last complete month> --unit <unit> --format pdf|docx`` as separate
processes (cold: each starts its own browser for the charts, as a user's command would), and in this
process times the parts: the numbers, the first image (browser start), each further image on the running
browser, one image with a browser of its own, and the PDF and DOCX layout. Target: under 20 s a report.

Usage:  python benchmarks/bench_report.py [--database URL] [--unit 织南] [--period 2026-10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._app import demo_database

TARGET_SECONDS = 20.0


def _last_month(today) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def line(label: str, seconds: float, note: str = "") -> None:
    print(f"  {label:<44}{seconds:6.2f}s" + (f"  ({note})" if note else ""))


def _cli(url: str, period: str, unit: str, fmt: str, out: Path) -> float:
    env = {**os.environ, "EQIAN_DATABASE_URL": url, "EQIAN_DEMO": "0", "EQIAN_SIMULATE": "0"}
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "flask", "--app", "app", "report", "--period", period, "--unit", unit,
                    "--format", fmt, "--out", str(out)], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None)
    parser.add_argument("--unit", default="织南")
    parser.add_argument("--period", default=None, help="default: the last complete month")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    from data.core import db
    from data.core.timeutil import local_today
    from data.screens import report
    from exports import images as figures_export
    from exports import report as report_layout

    url = args.database
    url = demo_database(url, "report", 1.0)
    today = local_today()
    period = args.period or _last_month(today)
    out_dir = Path(tempfile.mkdtemp(prefix="eqian-report-out-"))

    print(f"\nCLI, cold process each time: report --period {period} --unit {args.unit}")
    totals = {}
    for fmt in ("pdf", "docx"):
        times = [_cli(url, period, args.unit, fmt, out_dir / f"report.{fmt}") for _ in range(args.rounds)]
        totals[fmt] = max(times)
        size = (out_dir / f"report.{fmt}").stat().st_size
        print(f"  {fmt:4}  {' '.join(f'{t:5.1f}s' for t in times)}   ({size:,} bytes)")

    print("\nparts, in this process")
    engine = db.make_engine(url)
    started = time.monotonic()
    with engine.connect() as conn:
        data = report.build_report(conn, report.parse_period(period, today), report.resolve_unit(conn, args.unit),
                                   today)
    line("numbers, sentences, book, index, overdue", time.monotonic() - started)
    charts = report_layout.report_charts(data)
    figures = {c.name: c.figure for c in charts}
    first = next(iter(figures.values()))
    figures_export.server().stop()
    started = time.monotonic()
    figures_export.to_png(first)
    line("first image (starts the browser)", time.monotonic() - started)
    per_image = []
    for fig in figures.values():
        started = time.monotonic()
        figures_export.to_png(fig)
        per_image.append(time.monotonic() - started)
    line("one image on the running browser", statistics.median(per_image),
         f"median of {len(per_image)}, max {max(per_image):.2f}s")
    started = time.monotonic()
    images = figures_export.render_images(figures, "png")
    line(f"all {len(images)} report images in one batch", time.monotonic() - started)
    started = time.monotonic()
    figures_export.to_svg(first)
    line("one SVG on the running browser", time.monotonic() - started)
    figures_export.server().stop()
    started = time.monotonic()
    figures_export._render_alone(figures_export.print_ready(first), {"format": "png", "width": 1000, "height": 450,
                                                                     "scale": 2})
    line("one image with a browser of its own", time.monotonic() - started)
    for fmt, render in (("pdf", report_layout.render_pdf), ("docx", report_layout.render_docx)):
        started = time.monotonic()
        render(data, charts, images)
        line(f"{fmt} layout", time.monotonic() - started)

    worst = max(totals.values())
    verdict = "OK" if worst < TARGET_SECONDS else "TOO SLOW"
    print(f"\nslowest report {worst:.1f}s against a target of {TARGET_SECONDS:.0f}s: {verdict}")
    sys.exit(0 if worst < TARGET_SECONDS else 1)


if __name__ == "__main__":
    main()

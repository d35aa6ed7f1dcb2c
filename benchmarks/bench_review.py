"""How fast does the review page redraw after a filter change, in a real browser?

Starts the app on a database (default: a freshly seeded scale-1 demo in a temporary SQLite file; pass
--database for another, e.g. the 10-million-incident PostgreSQL database that
`bench_metrics.py --keep` leaves behind), opens /review in headless Chromium and changes one filter at a
time through the page (period, station, category, enterprise-related only), timing each change from the
click until the period book shows the new numbers. The first round meets every state cold (computed);
later rounds repeat them (served from the cache).

Usage:  python benchmarks/bench_review.py [--database URL] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._app import CHROMIUM_ARGS, start_app  # noqa: E402


def _changes(page):
    """The filter changes, each a (label, action) pair acting through the page."""
    steps = []
    for period in ("week", "28d", "month", "quarter", "ytd"):
        steps.append((f"period {period}", lambda p=period: page.locator(f'#review-period input[value="{p}"]').check()))
    for station in ("织东派出所", "织南派出所", "织北派出所"):
        def pick(name=station):
            page.locator("#review-station").click()
            page.get_by_role("option", name=name).click()
        steps.append((f"station {station}", pick))
    for category in ("刑事", "纠纷"):
        def pick_category(name=category):
            page.locator("#review-category").click()
            page.get_by_role("option", name=name).click()
        steps.append((f"category {category}", pick_category))
    steps.append(("enterprise-related only", lambda: page.locator("#review-enterprise-only input").check()))
    steps.append(("all incidents again", lambda: page.locator("#review-enterprise-only input").uncheck()))
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the list of changes")
    args = parser.parse_args()
    url = args.database
    if url is None:
        from data import db
        from data.demo.generator import seed_demo

        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='eqian-review-')) / 'review.db'}"
        print("seeding a scale-1 demo …", flush=True)
        seed_demo(db.make_engine(url), scale=1.0, now=datetime.now(timezone.utc))
    server, base = start_app(url, {"EQIAN_SIMULATE": "0", "EQIAN_INDEX_REFRESH_SECONDS": "100000"})
    from playwright.sync_api import sync_playwright

    timings = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("EQIAN_CHROMIUM", "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)  # playwright gives each launch a fresh profile
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            started = time.perf_counter()
            page.goto(base + "/review")
            page.wait_for_selector("#review-book", timeout=120_000)
            print(f"first load: {time.perf_counter() - started:.2f} s", flush=True)
            for round_ in range(args.rounds):
                for label, action in _changes(page):
                    # mark the drawn book; the change is done when a newly drawn book replaced it
                    page.evaluate("() => { document.querySelector('#review-book').dataset.old = '1'; }")
                    t = time.perf_counter()
                    action()
                    page.wait_for_function(
                        "() => { const e = document.querySelector('#review-book'); return e && !e.dataset.old; }",
                        timeout=60_000)
                    elapsed = time.perf_counter() - t
                    timings.append(elapsed)
                    print(f"round {round_ + 1} {label:28s} {elapsed * 1000:7.0f} ms", flush=True)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    ms = sorted(x * 1000 for x in timings)
    print(f"\n{len(ms)} filter changes: median {statistics.median(ms):.0f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()

"""Does the wall grow? Run it for a while with the simulator at a fast rate and print JS heap and DOM size.

Seeds a demo town in a temporary SQLite file (or uses --database), starts the app with the simulator at
--rate, opens the wall in headless Chromium at 1920×1080, and every --every seconds collects garbage
and reads the JS heap and the DOM node count through the DevTools protocol, plus the server's RSS.

Usage:  python benchmarks/bench_wall_memory.py [--minutes 30] [--rate 60] [--every 60]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._app import CHROMIUM_ARGS, demo_database, login, start_app

RARE_SURNAMES = "欧诸葛闻尉迟宇文仉督亓官司寇巫马公西端木"


def _feed_latency(page, url: str) -> float:
    """Write one call with a unique masked name and time until the feed shows it (seconds). The call goes to
    the station on screen (a station view's feed shows only that station's calls; the town shows all)."""
    import uuid

    from sqlalchemy import select

    from data.core import db
    from data.core.schema import Incident, Station

    shown = page.inner_text("#wall-feed")
    first = next(c for c in RARE_SURNAMES if f"{c}**" not in shown)  # masked on the wall as 欧**
    marker = first + "阳" + uuid.uuid4().hex[:3]
    now = datetime.now(UTC)
    view = page.inner_text("#wall-view-name").strip()
    with db.make_engine(url).begin() as conn:
        stations = dict(conn.execute(select(Station.name, Station.id)).all())
        conn.execute(Incident.__table__.insert().values(
            received_at=now, created_at=now, category="群众求助", priority=3, enterprise_related=False,
            station_id=stations.get(view, min(stations.values())), channel="110", source="bench",
            source_id=f"bench-{uuid.uuid4()}", caller_name=marker,
            caller_phone="13700001111", address="织里镇大港路1号"))
    started = time.monotonic()
    # done when the call is shown, or when the rotation moved to another view first (then no figure)
    page.wait_for_function("([m, v]) => document.querySelector('#wall-feed').textContent.includes(m) || "
                           "document.querySelector('#wall-view-name').textContent.trim() !== v",
                           arg=[f"{first}**", view], timeout=30_000)
    if f"{first}**" not in page.inner_text("#wall-feed"):
        return float("nan")
    return time.monotonic() - started


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=60, help="simulator rate multiplier")
    parser.add_argument("--every", type=float, default=60, help="seconds between samples")
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--database", default=None, help="an existing demo database URL (default: seed one)")
    args = parser.parse_args()

    url = args.database
    url = demo_database(url, "wall", args.scale)
    server, base = start_app(url, {"EQIAN_SIMULATE": "1", "EQIAN_SIMULATE_RATE": str(args.rate)}, tries=100)
    from playwright.sync_api import sync_playwright

    samples = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("EQIAN_CHROMIUM", "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)  # playwright gives each launch a fresh profile
            page = browser.new_page(viewport={"width": 1920, "height": 1080})
            errors = []
            page.on("pageerror", lambda exc: errors.append(f"{exc.message} | {(exc.stack or '')[:400]}"))
            login(page, base, "wall", url)
            page.goto(base + "/?kiosk=1")
            page.wait_for_selector(".wall-feed-row", timeout=60_000)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            started = time.monotonic()
            print(f"{'min':>6} {'JS heap MB':>11} {'DOM nodes':>10} {'listeners':>10} {'server RSS MB':>14} "
                  f"{'last feed id':>13} {'new call s':>10}", flush=True)
            while True:
                cdp.send("HeapProfiler.collectGarbage")
                metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
                feed_top = page.evaluate(
                    "() => { const r = document.querySelector('.wall-feed-row');"
                    " return r ? r.textContent.slice(0, 8) : '' }")
                minutes = (time.monotonic() - started) / 60
                sample = (minutes, metrics["JSHeapUsedSize"] / 2**20, int(metrics["Nodes"]),
                          int(metrics.get("JSEventListeners", 0)), _rss_mb(server.pid), feed_top,
                          _feed_latency(page, url))
                samples.append(sample)
                print(f"{sample[0]:6.1f} {sample[1]:11.1f} {sample[2]:10d} {sample[3]:10d} {sample[4]:14.1f} "
                      f"{sample[5]:>13} {sample[6]:10.2f}", flush=True)
                if minutes >= args.minutes:
                    break
                time.sleep(args.every)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    first = [s for s in samples if s[0] <= 5][-1]
    last = samples[-1]
    print(f"\nafter the first minutes ({first[0]:.1f} min): heap {first[1]:.1f} MB, {first[2]} DOM nodes; "
          f"at the end ({last[0]:.1f} min): heap {last[1]:.1f} MB, {last[2]} DOM nodes; "
          f"page errors: {len(errors)}")
    latencies = sorted(x[6] for x in samples if x[6] == x[6])  # NaN: the view changed before the call showed
    if latencies:
        print(f"a new call on screen after {latencies[0]:.2f}–{latencies[-1]:.2f} s "
              f"(median {latencies[len(latencies) // 2]:.2f} s, {len(latencies)} probes)")
    for message, count in Counter(errors).most_common(5):
        print(f"  {count:5d} × {message[:300]}")


if __name__ == "__main__":
    main()

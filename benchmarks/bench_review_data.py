"""How long does the review page's data take for each filter state, without a browser?

Times what the page's two callbacks call — ``data.service.review`` (the period book, trend, festival view,
drill-down, crumbs) and ``data.service.index_views`` (distribution, funnel, rankings) — for the filter
states `bench_review.py` steps through: cold (the app cache empty, so computed) and warm (the same call
again, served from the cache). With --parts, each part of the review bundle is also timed on its own
(computed, not cached), to find the slow read.

Usage:  python benchmarks/bench_review_data.py [--database URL] [--parts] [--today YYYY-MM-DD]
(default database: a freshly seeded scale-1 demo in a temporary SQLite file)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from flask import Flask
from sqlalchemy import select

from benchmarks._app import demo_database
from data import service
from data.core import cache, db
from data.core.schema import Enterprise, Park, Station
from data.core.scope import Unit
from data.core.timeutil import local_today
from data.screens import geo
from data.screens import review as rv


def states(conn) -> list[tuple[str, rv.ReviewFilters]]:
    """(label, filters) in the order bench_review.py reaches them."""
    stations = dict(conn.execute(select(Station.name, Station.id)).all())
    parks = dict(conn.execute(select(Park.name, Park.id)).all())
    enterprise = conn.execute(select(Enterprise.id).where(Enterprise.park_id == parks["漾西工业园"])
                              .order_by(Enterprise.id).limit(1)).scalar()
    out = [(f"period {p}", rv.ReviewFilters(period=p)) for p in ("week", "28d", "month", "quarter", "ytd")]
    out += [(f"station {s}", rv.ReviewFilters(station=stations[s])) for s in ("织东派出所", "织南派出所", "织北派出所")]
    north = stations["织北派出所"]
    out += [(f"category {c}", rv.ReviewFilters(station=north, category=c)) for c in ("刑事", "纠纷")]
    out.append(("enterprise-related only", rv.ReviewFilters(station=north, category="纠纷", enterprise_only=True)))
    south = stations["织南派出所"]
    out += [(f"park {p}", rv.ReviewFilters(station=south, park=parks[p]))
            for p in ("香圩墩园区", "中华路物流园", "漾西工业园")]
    last = parks["漾西工业园"]
    out.append(("park + category 刑事", rv.ReviewFilters(station=south, park=last, category="刑事")))
    out.append(("park + 刑事 + enterprise-related", rv.ReviewFilters(station=south, park=last, category="刑事",
                                                                     enterprise_only=True)))
    out.append(("park + sector 童装生产", rv.ReviewFilters(station=south, park=last, sector="童装生产")))
    out.append(("park + week", rv.ReviewFilters(period="week", station=south, park=last)))
    out.append(("enterprise of the park", rv.ReviewFilters(station=south, park=last, enterprise=enterprise)))
    out.append(("town, enterprise-related only", rv.ReviewFilters(enterprise_only=True)))
    return out


PARTS = {
    "book": lambda conn, today, f, base: rv.period_book(conn, today, f, base),
    "trend": lambda conn, today, f, base: rv.monthly_trend(conn, today, f, "incidents", "total"),
    "festival": lambda conn, today, f, base: rv.festival_view(conn, today, f),
    "drill": lambda conn, today, f, base: rv.drill_items(conn, today, f, base),
    "measures": lambda conn, today, f, base: rv.period_measures(conn, today, f, base),
    "crumbs+map": lambda conn, today, f, base: (rv.breadcrumbs(conn, f), geo.station_areas(conn),
                                                geo.parks(conn, Unit("station", f.station) if f.station else Unit())),
}


def _ms(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return (time.perf_counter() - started) * 1000, value


def _summary(title: str, values: list[float]) -> None:
    ms = sorted(values)
    print(f"{title}: {len(ms)} states, median {statistics.median(ms):.0f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None)
    parser.add_argument("--parts", action="store_true", help="time each part of the review bundle too")
    parser.add_argument("--today", type=date.fromisoformat, default=None)
    args = parser.parse_args()
    url = args.database
    url = demo_database(url, "review", 1.0)
    app = Flask("bench_review_data")
    app.config.update(EQIAN_DATABASE_URL=url, EQIAN_CACHE_URL="simple", EQIAN_CACHE_TIMEOUT=3600)
    engine = db.init_app(app)
    cache.init_app(app)
    today = args.today or local_today()
    with engine.connect() as conn:
        plan = states(conn)
        baseline = rv.baseline_year_of(conn, today)
    cold, warm, cold_index, scopes = [], [], [], set()
    print(f"{'state':34s} {'review cold':>11s} {'warm':>6s} {'index cold':>10s}" + (
        "".join(f" {p:>10s}" for p in PARTS) if args.parts else ""), flush=True)
    with app.app_context():
        for label, f in [("town ytd (first load)", rv.ReviewFilters())] + plan:
            query, scope = f.to_query(), f.scope().to_query()
            c, _ = _ms(lambda query=query: service.review(query, rv.DEFAULT_ROW, today.isoformat()))
            w, _ = _ms(lambda query=query: service.review(query, rv.DEFAULT_ROW, today.isoformat()))
            i, _ = _ms(lambda scope=scope: service.index_views(scope, today.isoformat()))
            line = f"{label:34s} {c:11.0f} {w:6.1f} {i:10.0f}"
            if args.parts:
                with engine.connect() as conn:
                    timed = [_ms(lambda p=p, f=f: PARTS[p](conn, today, f, baseline))[0] for p in PARTS]
                    line += "".join(f" {ms:10.0f}" for ms in timed)
            print(line, flush=True)
            if label != "town ytd (first load)":
                cold.append(c)
                warm.append(w)
                if scope not in scopes:  # the page redraws the index views only when the scope changes
                    cold_index.append(i)
            scopes.add(scope)
    print()
    _summary("review, cold", cold)
    _summary("review, warm", warm)
    _summary("index views, cold (only when the unit or sector changes)", cold_index)
    park = [c for (label, _), c in zip(plan, cold, strict=False) if "park" in label]
    _summary("review, cold, park states", park)


if __name__ == "__main__":
    main()

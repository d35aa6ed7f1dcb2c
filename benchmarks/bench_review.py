"""How fast does the review page redraw after a filter change, in a real browser?

Starts the app on a database (default: a freshly seeded scale-1 demo in a temporary SQLite file; pass
--database for another, e.g. the 10-million-incident PostgreSQL database that
`bench_metrics.py --keep` leaves behind), opens /review in headless Chromium and changes one filter at a
time through the page (period, station, category, enterprise-related only, park, park and category, and
back to the town), timing each change from the click that makes it (on the option, the radio button or the clear ×;
timed in the
page, so the moments the list takes to open are not counted) until the period book shows the new numbers ("book"),
and until the whole page has settled ("page": no callback request in flight, every answer applied and two
animation frames painted, so the charts, the map and the index views are drawn too). The first round meets
every state cold (computed, apart from states it has already passed through); later rounds repeat them
(served from the cache). Prints each change, then median, p95 and max per round, for both.

Usage:  python benchmarks/bench_review.py [--database URL] [--rounds 2] [--gunicorn REDIS_URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._app import CHROMIUM_ARGS, demo_database, login, start_app, start_gunicorn, stop_gunicorn


def _pick(page, control: str, name: str):
    """Choose an option of one of the filter dropdowns."""
    def act():
        page.locator(f"#{control}").click()
        page.get_by_role("option", name=name, exact=True).click()
    return act


def _clear(page, control: str):
    """Empty one of the filter dropdowns (its × button)."""
    def act():
        page.locator(f"#{control} .dash-dropdown-clear").first.click()
        page.keyboard.press("Escape")  # in case the click opened the list
    return act


def _changes(page):
    """The filter changes, each a (label, action) pair acting through the page. They end where they began
    (the town, year to date, every category), so a later round meets every state again (warm)."""
    steps = []
    for period in ("week", "28d", "month", "quarter", "ytd"):
        steps.append((f"period {period}", lambda p=period: page.locator(f'#review-period input[value="{p}"]').check()))
    for station in ("织东派出所", "织南派出所", "织北派出所"):
        steps.append((f"station {station}", _pick(page, "review-station", station)))
    for category in ("刑事", "纠纷"):
        steps.append((f"category {category}", _pick(page, "review-category", category)))
    steps.append(("enterprise-related only", lambda: page.locator("#review-enterprise-only input").check()))
    steps.append(("all incidents again", lambda: page.locator("#review-enterprise-only input").uncheck()))
    steps.append(("all categories", _clear(page, "review-category")))
    steps.append(("station 织南派出所", _pick(page, "review-station", "织南派出所")))
    for park in ("香圩墩园区", "中华路物流园", "漾西工业园"):  # the parks of 织南派出所
        steps.append((f"park {park}", _pick(page, "review-park", park)))
    steps.append(("park + category 刑事", _pick(page, "review-category", "刑事")))
    steps.append(("park + enterprise-related", lambda: page.locator("#review-enterprise-only input").check()))
    steps.append(("park + all incidents", lambda: page.locator("#review-enterprise-only input").uncheck()))
    steps.append(("park + all categories", _clear(page, "review-category")))
    steps.append(("all parks (station)", _clear(page, "review-park")))
    steps.append(("town", _clear(page, "review-station")))
    return steps


# Counts the page's callback requests in flight, and notes when the user last pressed the mouse button: the moment a
# filter changes is the click on the option (or the radio button, or the clear ×), not the moments before it
# when the list was being opened (installed before any page script runs).
PENDING_COUNTER = """
(() => {
  window.__benchPending = 0;
  window.__benchInputAt = 0;
  // the press that starts the click (the earliest moment of it; the Escape that may follow a clear is not counted)
  document.addEventListener("pointerdown", () => { window.__benchInputAt = performance.now(); }, true);
  const original = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === "string" ? input : (input && input.url) || "";
    if (url.indexOf("/_dash-update-component") === -1) { return original.apply(this, arguments); }
    window.__benchPending += 1;
    return original.apply(this, arguments).finally(() => {
      // the answer is applied by React after this promise settles: count it as done a task later
      setTimeout(() => { window.__benchPending -= 1; }, 0);
    });
  };
})();
"""
# The time from the last click to a newly drawn book (polled every animation frame).
BOOK_SHOWN = """
() => {
  const e = document.querySelector('#review-book');
  return e && !e.dataset.old ? performance.now() - window.__benchInputAt : false;
}
"""
SETTLED = """
() => new Promise(resolve => {
  let quiet = 0;
  const check = () => {
    quiet = window.__benchPending === 0 && !document.querySelector('[data-dash-is-loading="true"]') ? quiet + 1 : 0;
    if (quiet >= 2) { resolve(performance.now() - window.__benchInputAt); } else { requestAnimationFrame(check); }
  };
  requestAnimationFrame(check);
})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default=None)
    parser.add_argument("--rounds", type=int, default=2, help="passes over the list of changes")
    parser.add_argument("--gunicorn", metavar="REDIS_URL", default=None,
                        help="serve as in production: gunicorn -c deploy/gunicorn.conf.py (processes of threads) with "
                             "this Redis database as the shared cache (emptied first), e.g. redis://127.0.0.1:6379/7; "
                             "default: python app.py (one process, the in-process cache)")
    args = parser.parse_args()
    url = args.database
    url = demo_database(url, "review", 1.0)
    env = {"EQIAN_SIMULATE": "0", "EQIAN_INDEX_REFRESH_SECONDS": "100000"}
    if args.gunicorn:
        import secrets

        import redis

        redis.Redis.from_url(args.gunicorn).flushdb()
        master, base = start_gunicorn({**env, "EQIAN_DATABASE_URL": url, "EQIAN_CACHE_URL": args.gunicorn,
                                       "EQIAN_DEMO": "0", "EQIAN_SECRET_KEY": secrets.token_hex(32)})
        print(f"gunicorn -c deploy/gunicorn.conf.py at {base}, cache {args.gunicorn}", flush=True)
        stop = lambda: stop_gunicorn(master)  # noqa: E731
    else:
        server, base = start_app(url, env)

        def stop():
            server.terminate()
            server.wait(timeout=10)
    from playwright.sync_api import sync_playwright

    timings, settled_timings = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get("EQIAN_CHROMIUM", "/usr/bin/chromium"),
                                        args=CHROMIUM_ARGS)  # playwright gives each launch a fresh profile
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.add_init_script(PENDING_COUNTER)
            started = time.perf_counter()
            login(page, base, "leader", url)
            page.goto(base + "/review")
            page.wait_for_selector("#review-book", timeout=120_000)
            print(f"first load: {time.perf_counter() - started:.2f} s", flush=True)
            for round_ in range(args.rounds):
                for label, action in _changes(page):
                    # mark the drawn book; the change is done when a newly drawn book replaced it
                    page.evaluate("() => { document.querySelector('#review-book').dataset.old = '1'; }")
                    action()
                    elapsed = page.wait_for_function(BOOK_SHOWN, timeout=60_000).json_value() / 1000
                    settled = page.evaluate(SETTLED) / 1000
                    timings.append((round_, label, elapsed))
                    settled_timings.append((round_, label, settled))
                    print(f"round {round_ + 1} {label:28s} book {elapsed * 1000:7.0f} ms   "
                          f"page {settled * 1000:7.0f} ms",
                          flush=True)
            browser.close()
    finally:
        stop()
    for what, series in (("book shown", timings), ("page settled", settled_timings)):
        print(f"\n{what}:")
        for round_ in range(args.rounds):
            _summary(f"round {round_ + 1} ({'cold' if round_ == 0 else 'warm'})",
                     [t for r, _, t in series if r == round_])
            _summary(f"round {round_ + 1} park changes",
                     [t for r, label, t in series if r == round_ and "park" in label])
        _summary("all rounds", [t for _, _, t in series])


def _summary(title: str, seconds: list[float]) -> None:
    if not seconds:
        return
    ms = sorted(x * 1000 for x in seconds)
    print(f"{title}: {len(ms)} filter changes, median {statistics.median(ms):.0f} ms, "
          f"p95 {ms[int(0.95 * (len(ms) - 1))]:.0f} ms, max {ms[-1]:.0f} ms")


if __name__ == "__main__":
    main()

"""Load test of the production setup on this machine: 20 wall screens and 10 leaders for ten minutes.

What runs: gunicorn with deploy/gunicorn.conf.py (its default worker count unless --workers), EQIAN_ENV=production
behind an imagined nginx (every request carries X-Forwarded-Proto/-For, EQIAN_PROXY_HOPS=1), PostgreSQL with a
fresh database seeded with the scale-1 demo (``flask --app app seed-demo``, 100 s on a quiet 2-core machine; or
--database to reuse one, which is then neither seeded nor dropped), Redis as the shared cache on its own
database number (--cache-url, default redis://127.0.0.1:6379/7: FLUSHDB'd at the start and the end, so never
give it a database number that anything else uses), and the demo simulator as ONE separate process
(``flask --app app simulate --rate 10``; under gunicorn no worker starts it) writing live incidents meanwhile
(at 10 times the demo's real pace, --sim-rate).

How the screens are simulated: the wall and the review page are first opened once in headless Chromium
(Playwright; the wall logs in through /device#token=…, the leader through /login) and the POST bodies that the
browser sends to /_dash-update-component are recorded. Then every simulated screen is an HTTP client (requests,
a thread per poll loop) with its own session that logs in through the same forms, loads the page (HTML,
/_dash-layout, /_dash-dependencies, the router callback) and replays those bodies as the browser would:

- a wall asks for a frame 2 s after the last frame arrived and for the feed 1 s after the last feed answer,
  sending back what the previous answer stored (the frame's ``wall-frame`` state, the feed's ``last_id``), and
  rotates between the town and the stations exactly as assets/wall.js does (a changed view asks for a frame at
  once); a failed request is re-asked by the page's watchdog (poll interval + 8 s, then every 5 s);
- a leader changes one review filter (period, station or category) every --think seconds on average: the new
  URL (which the page writes itself, assets/review.js; here by the Python it mirrors), then the redraw and the
  controls' sync together, then the index views.

A page that does not come up in the browser is reloaded, as a person would, and the server errors the browser
met are printed (a fresh gunicorn worker can answer 500 to its first concurrent requests for Dash's bundles).

Printed: requests and p50/p95/p99 response times per kind, errors (non-200 answers, connection failures,
answers that are not a Dash response, wall frames saying 连接中断 and review pages saying the database is
down), and the database's work per minute (pg_stat_database transactions and tuples, per-table scans from
pg_stat_user_tables, and pg_stat_statements calls when the extension can be used: on the shared server it
must be in shared_preload_libraries; --private-postgres runs a throwaway cluster of our own that has it).
Then walls only, --walls and --compare-walls screens for --compare-minutes each, side by side: what the
database does per minute with 20 walls and with 5.

Usage:
    python benchmarks/bench_load.py                          # 20 walls + 10 leaders for 10 min, then 20 vs 5 walls
    python benchmarks/bench_load.py --walls 5 --leaders 0 --minutes 2 --compare-walls 0
    python benchmarks/bench_load.py --database postgresql+psycopg://postgres@127.0.0.1:5432/mydemo --keep
    python benchmarks/bench_load.py --private-postgres        # with pg_stat_statements
    python benchmarks/bench_load.py --private-postgres --minutes 0 --compare-minutes 3   # only 20 vs 5 walls

It cleans up after itself: the screens, the simulator and gunicorn stop, the cache database is flushed, and the
database it created is dropped (unless --keep). Logs (gunicorn, simulator) go to a temporary directory that
is printed at the start.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._app import (
    CHROMIUM_ARGS,
    child_pids,
    chromium_path,
    cpu_seconds,
    start_gunicorn,
    start_private_postgres,
    stop_gunicorn,
)
from data.screens.review import ReviewFilters
from layouts.review import review_href

CALLBACK = "/_dash-update-component"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
WATCHDOG_GRACE = 8.0  # assets/wall.js: a poll is re-asked when no answer came for poll interval + 8 s …
RETRY_EVERY = 5.0  # … and then every 5 s
TIMEOUT = 30.0  # an answer later than this counts as an error
KINDS = ("wall frame", "wall feed", "review", "review other", "page load", "login")


# -- measuring ---------------------------------------------------------------------------------------------

class Stats:
    """Response times and errors per kind of request, shared by every screen of one phase."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter = Counter()
        self.examples: dict[tuple[str, str], str] = {}
        self.changes: list[float] = []  # a leader's whole filter change, click to index views drawn
        self.feed_rows = 0  # new calls that reached a wall's feed
        self.feed_ids: set[int] = set()
        self.redraws = 0  # wall frames that redrew the panels (new data version, view or minute)
        self.frame_keys: set[str] = set()  # distinct (data version, view, minute) frames: what must be computed

    def ok(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.times[kind].append(seconds)

    def error(self, kind: str, reason: str, example: str = "") -> None:
        with self.lock:
            self.errors[(kind, reason)] += 1
            self.examples.setdefault((kind, reason), example[:500])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


class _ThroughTls(requests.cookies.RequestsCookieJar):
    """The session cookie is Secure (EQIAN_ENV=production): behind nginx's TLS the browser sends it back; here,
    on plain HTTP to 127.0.0.1, every cookie is stored as not Secure so that it is sent too."""

    def set_cookie(self, cookie, *args, **kwargs):
        cookie.secure = False
        return super().set_cookie(cookie, *args, **kwargs)


class Client:
    """One screen's browser: a cookie jar shared by the connections of its poll loops."""

    def __init__(self, base: str, stats: Stats, address: str, callback_path: str):
        self.base, self.stats, self.callback_path = base, stats, callback_path
        self.jar = _ThroughTls()
        self.headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": address, "Origin": base,
                        "User-Agent": "eqian-bench-load"}
        self._local = threading.local()

    @property
    def session(self) -> requests.Session:  # a connection pool per thread, like a browser's parallel sockets
        if not hasattr(self._local, "session"):
            s = requests.Session()
            s.cookies = self.jar
            s.headers.update(self.headers)
            self._local.session = s
        return self._local.session

    def get(self, path: str, kind: str = "page load") -> requests.Response | None:
        return self._request("GET", path, kind)

    def _request(self, method: str, path: str, kind: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = self.session.request(method, self.base + path, timeout=TIMEOUT, allow_redirects=False,
                                            **kwargs)
        except requests.RequestException as exc:
            self.stats.error(kind, f"connection: {type(exc).__name__}", str(exc))
            return None
        if response.status_code not in (200, 302):
            self.stats.error(kind, f"HTTP {response.status_code}", f"{method} {path}: {response.text}")
            return None
        self.stats.ok(kind, time.perf_counter() - started)
        return response

    def login(self, form: str, fields: dict) -> bool:
        page = self.get(form, "login")
        match = CSRF.search(page.text) if page is not None else None
        if not match:
            self.stats.error("login", "no CSRF token", page.text if page is not None else "")
            return False
        # over HTTPS (as the app sees it behind the proxy) Flask-WTF also wants a same-site Referer
        answer = self._request("POST", form, "login", data={"csrf_token": match.group(1), **fields},
                               headers={"Referer": self.base + form})
        if answer is None or answer.status_code != 302:
            if answer is not None:
                self.stats.error("login", f"HTTP {answer.status_code}", answer.text)
            return False
        return True

    def load_page(self, path: str, router_body: dict) -> dict | None:
        """What the browser fetches for a page (its static assets aside): HTML, layout, dependencies, router."""
        for part in (path, "/_dash-layout", "/_dash-dependencies"):
            if self.get(part) is None:
                return None
        return self.callback(router_body, "page load")

    def callback(self, body: dict, kind: str) -> dict | None:
        """POST one callback; its ``response`` part, or None after recording why not."""
        started = time.perf_counter()
        try:
            answer = self.session.post(self.base + self.callback_path, timeout=TIMEOUT,
                                       data=json.dumps(body, ensure_ascii=False).encode(),
                                       headers={"Content-Type": "application/json", "Accept": "application/json"})
        except requests.RequestException as exc:
            self.stats.error(kind, f"connection: {type(exc).__name__}", str(exc))
            return None
        elapsed = time.perf_counter() - started
        if answer.status_code == 204:  # PreventUpdate: nothing to change, a valid answer
            self.stats.ok(kind, elapsed)
            return {}
        if answer.status_code != 200:
            self.stats.error(kind, f"HTTP {answer.status_code}", answer.text)
            return None
        try:
            payload = answer.json()
            response = payload["response"]
        except (ValueError, KeyError, TypeError):
            self.stats.error(kind, "not a Dash answer", answer.text)
            return None
        self.stats.ok(kind, elapsed)
        return response


# -- what the browser sends --------------------------------------------------------------------------------

def with_values(template: dict, values: dict[tuple[str, str], object], changed: list[str]) -> dict:
    """A copy of a recorded callback body with some inputs and states set and ``changed`` as the trigger."""
    body = copy.deepcopy(template)
    for part in ("inputs", "state"):
        for item in body.get(part) or []:
            if (item["id"], item["property"]) in values:
                item["value"] = values[(item["id"], item["property"])]
    body["changedPropIds"] = list(changed)
    if "parsedChangedPropsIds" in body:
        body["parsedChangedPropsIds"] = list(changed)
    return body


def find_props(tree, component_id: str) -> dict | None:
    """The props of the component with ``component_id`` in a Dash layout (JSON) tree."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            props = node.get("props")
            if isinstance(props, dict) and props.get("id") == component_id:
                return props
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return None


def classify(body: dict) -> str | None:
    output = body.get("output", "")
    if "wall-frame.data" in output:
        return "frame"
    if "wall-feed-state.data" in output:
        return "feed"
    if "page-content.children" in output:
        return "router"
    if "review-drawn.data" in output:
        return "render"
    if "review-index-scope.data" in output:
        return "index"
    if output.startswith("..review-period.value"):
        return "sync"
    return None


def capture(base: str) -> dict:
    """Open the wall (device login) and the review page (leader login) in headless Chromium; record the
    bodies of their callbacks, the callback URL, the wall's playlist and the review filters' options."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    from data.access import accounts as auth

    proxy = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.10.250"}
    found: dict = {"wall": {}, "review": {}, "server_errors": []}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for screen in ("wall", "review"):
                context = browser.new_context(viewport={"width": 1920, "height": 1080}, extra_http_headers=proxy)
                page = context.new_page()
                posts = []
                page.on("request", lambda r, posts=posts: posts.append(r)
                        if r.method == "POST" and CALLBACK in r.url else None)
                page.on("response", lambda r: found["server_errors"].append(f"{r.status} {urlsplit(r.url).path}")
                        if r.status >= 500 else None)
                if screen == "wall":
                    page.goto(f"{base}/device#token={auth.DEMO_WALL_TOKEN[1]}&next=/")
                    ready = ".wall-feed-row"
                else:
                    username = next(u for u, (_d, role, _p) in auth.DEMO_PASSWORDS.items() if role == "leader")
                    page.goto(f"{base}/login?next=/review")
                    page.fill("#username", username)
                    page.fill("#password", auth.DEMO_PASSWORDS[username][2])
                    page.click("#login-submit")
                    ready = "#review-book"
                for attempt in range(4):  # a page that did not come up is reloaded, as a person would
                    try:
                        page.wait_for_selector(ready, timeout=45_000)
                        break
                    except PlaywrightTimeout:
                        if attempt == 3:
                            raise
                        print(f"  the {screen} page did not come up (server errors: "
                              f"{found['server_errors'][-3:]}); reloading it", flush=True)
                        page.reload()
                if screen == "wall":
                    page.wait_for_timeout(4500)  # a few polls of each
                else:
                    page.wait_for_timeout(2000)
                    page.locator('#review-period input[value="week"]').check()  # one filter change
                    page.wait_for_timeout(3000)
                bodies = found[screen]
                for request in posts:
                    body = request.post_data_json
                    kind = classify(body)
                    if kind and kind not in bodies:
                        bodies[kind] = body
                        found.setdefault("path", CALLBACK + (("?" + urlsplit(request.url).query)
                                                             if urlsplit(request.url).query else ""))
                    if kind == "router":
                        bodies["router_answer"] = request.response().json()
                context.close()
        finally:
            browser.close()
    wall, review = found["wall"], found["review"]
    missing = [f"wall {k}" for k in ("frame", "feed", "router") if k not in wall] + [
        f"review {k}" for k in ("router", "render", "sync", "index") if k not in review]
    if missing:
        raise RuntimeError(f"the browser did not send these callbacks: {', '.join(missing)}")
    found["playlist"] = (find_props(wall.pop("router_answer"), "wall-playlist") or {}).get("data") or [
        {"kind": "town", "id": None, "seconds": 60}]
    settings = next(s["value"] for s in wall["frame"]["state"] if s["id"] == "wall-settings")
    found["poll_s"] = (settings.get("poll_ms") or 2000) / 1000
    found["feed_s"] = (settings.get("feed_ms") or 1000) / 1000
    layout = review.pop("router_answer")
    options = {}
    for control in ("review-period", "review-station", "review-category"):
        props = find_props(layout, control) or {}
        options[control] = [o["value"] for o in props.get("options", []) if o.get("value") != "custom"]
    found["options"] = options
    return found


# -- the screens -------------------------------------------------------------------------------------------

class Rotation:
    """assets/wall.js currentView(): the playlist in turn, a jump to a station that raised an alert."""

    def __init__(self, playlist: list[dict], rng: random.Random, now: float):
        self.playlist = playlist
        self.index = rng.randrange(len(playlist))  # screens switched on at different times
        self.since = now - rng.uniform(0, playlist[self.index].get("seconds") or 60)
        self.jump: dict | None = None
        self.last_jump: dict = {}

    def view(self, alerts, now: float) -> dict:
        if self.jump:
            if now - self.jump["since"] >= self.jump["seconds"]:
                self.jump, self.since = None, now
            else:
                return {"kind": "station", "id": self.jump["id"]}
        showing = self.playlist[self.index % len(self.playlist)]
        for station in alerts or []:
            showing_it = showing["kind"] == "station" and showing.get("id") == station
            if not showing_it and now - self.last_jump.get(station, -1e9) > 600:
                self.last_jump[station] = now
                entry = next((p for p in self.playlist if p["kind"] == "station" and p.get("id") == station), None)
                self.jump = {"id": station, "since": now, "seconds": entry["seconds"] if entry else 30}
                return {"kind": "station", "id": station}
        if now - self.since >= (showing.get("seconds") or 60):
            self.index = (self.index + 1) % len(self.playlist)
            self.since = now
            showing = self.playlist[self.index]
        return {"kind": showing["kind"], "id": showing.get("id")}


def _ms() -> int:
    return int(time.time() * 1000)


class Wall:
    def __init__(self, number: int, base: str, recorded: dict, stats: Stats, stop: threading.Event,
                 deadline: float):
        self.number, self.recorded, self.stats, self.stop, self.deadline = number, recorded, stats, stop, deadline
        self.client = Client(base, stats, f"127.0.10.{number + 1}", recorded["path"])
        self.rng = random.Random(number)
        self.view = {"kind": "town", "id": None}  # the wall-view store's first value
        self.alerts: list = []

    def _running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def _wait(self, seconds: float) -> None:
        self.stop.wait(max(0.0, min(seconds, self.deadline - time.monotonic())))

    def run(self) -> None:
        from data.access import accounts as auth

        self._wait(self.rng.uniform(0, 3))  # not all switched on in the same second
        if not self._running() or not self.client.login("/device", {"token": auth.DEMO_WALL_TOKEN[1], "next": "/"}):
            return
        if self.client.load_page("/", self.recorded["wall"]["router"]) is None:
            return
        feed = threading.Thread(target=self.feed_loop, name=f"wall-{self.number}-feed", daemon=True)
        feed.start()
        self.frame_loop()
        feed.join()

    def frame_loop(self) -> None:
        template = self.recorded["wall"]["frame"]
        poll_s = self.recorded["poll_s"]
        rotation = Rotation(self.recorded["playlist"], self.rng, time.monotonic())
        poll, last, changed = 0, None, []  # the page's first frame: no trigger, no previous frame
        last_ok = time.monotonic()
        next_tick = time.monotonic() + self.rng.random()  # the 1-s clientside tick
        while self._running():
            body = with_values(template, {("wall-poll", "data"): poll, ("wall-view", "data"): self.view,
                                          ("wall-frame", "data"): last}, changed)
            answer = self.client.callback(body, "wall frame")
            now = time.monotonic()
            if answer is not None:
                status = (answer.get("wall-status") or {}).get("className", "")
                if "status-stale" in status:
                    self.stats.error("wall frame", "status 连接中断 (database unreachable)",
                                     json.dumps(answer.get("wall-status"), ensure_ascii=False))
                if "wall-map" in answer:
                    with self.stats.lock:
                        self.stats.redraws += 1
                if "wall-frame" in answer:
                    last = answer["wall-frame"]["data"]
                    if (last or {}).get("key"):
                        with self.stats.lock:
                            self.stats.frame_keys.add(json.dumps(last["key"]))
                    self.alerts = (last or {}).get("alerts") or []
                    last_ok = now
                    due = now + poll_s  # scheduleFrame: the next poll 2 s after this frame arrived
                else:
                    due = last_ok + poll_s + WATCHDOG_GRACE
            else:  # no frame stored: only the watchdog asks again
                due = max(last_ok + poll_s + WATCHDOG_GRACE, now + RETRY_EVERY)
            changed = ["wall-poll.data"]
            while self._running():
                now = time.monotonic()
                if now >= due:
                    poll = _ms()
                    break
                if now >= next_tick:
                    next_tick += 1.0
                    view = rotation.view(self.alerts, now)
                    if view != self.view:
                        self.view = view  # an Input of the frame: Dash asks for a frame at once
                        changed = ["wall-view.data"]
                        break
                self._wait(min(due, next_tick) - now)

    def feed_loop(self) -> None:
        template = self.recorded["wall"]["feed"]
        feed_s = self.recorded["feed_s"]
        poll, state, changed = 0, {"last_id": None}, []
        last_ok = time.monotonic()
        while self._running():
            body = with_values(template, {("wall-feed-poll", "data"): poll, ("wall-feed-state", "data"): state,
                                          ("wall-view", "data"): self.view}, changed)
            answer = self.client.callback(body, "wall feed")
            now = time.monotonic()
            if answer is not None and "wall-feed-state" in answer:
                new_state = answer["wall-feed-state"]["data"]
                if new_state.get("ok") is False:
                    self.stats.error("wall feed", "feed answered ok=false (database unreachable)",
                                     json.dumps(new_state))
                patch = (answer.get("wall-feed") or {}).get("children")
                if isinstance(patch, dict) and state.get("last_id") is not None:
                    new = sum(1 for op in patch.get("operations", []) if op.get("operation") == "Prepend")
                    with self.stats.lock:
                        self.stats.feed_rows += new
                        self.stats.feed_ids.add(new_state.get("last_id"))
                state = new_state
                last_ok = now
                due = now + feed_s
            else:
                due = max(last_ok + feed_s + WATCHDOG_GRACE, now + RETRY_EVERY)
            self._wait(due - now)
            poll, changed = _ms(), ["wall-feed-poll.data"]


class Leader:
    def __init__(self, number: int, base: str, recorded: dict, stats: Stats, stop: threading.Event,
                 deadline: float, think: float):
        self.number, self.recorded, self.stats, self.stop, self.deadline = number, recorded, stats, stop, deadline
        self.think = think
        self.client = Client(base, stats, f"127.0.11.{number + 1}", recorded["path"])
        self.rng = random.Random(1000 + number)
        self.pool = ThreadPoolExecutor(2, thread_name_prefix=f"leader-{number}")
        self.controls = {"review-period": "ytd", "review-station": None, "review-category": None}
        self.search = ""
        self.scope = None

    def _running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline

    def run(self) -> None:
        from data.access import accounts as auth

        try:
            self.stop.wait(self.rng.uniform(0, 5))
            username = next(u for u, (_d, role, _p) in auth.DEMO_PASSWORDS.items() if role == "leader")
            if not self._running() or not self.client.login(
                    "/login", {"username": username, "password": auth.DEMO_PASSWORDS[username][2], "next": "/review"}):
                return
            router = with_values(self.recorded["review"]["router"], {("page-location", "pathname"): "/review",
                                                                    ("page-location", "search"): ""},
                                 ["page-location.pathname"])
            if self.client.load_page("/review", router) is None:
                return
            self.redraw("")
            while self._running():
                self.stop.wait(self.rng.uniform(0.5 * self.think, 1.5 * self.think))
                if self._running():
                    self.change()
        finally:
            self.pool.shutdown(wait=True)

    def redraw(self, search: str) -> None:
        """What a new URL sets off: the content and the controls together, then the index views."""
        review = self.recorded["review"]
        values = {("page-location", "search"): search, ("page-location", "pathname"): "/review"}
        render = with_values(review["render"], values, ["page-location.search"])
        sync = with_values(review["sync"], values, ["page-location.search"])
        drawn_answer = self.pool.submit(self.client.callback, render, "review")
        self.pool.submit(self.client.callback, sync, "review other").result()
        drawn = drawn_answer.result()
        if drawn is None:
            return
        text = json.dumps(drawn, ensure_ascii=False)
        if "review-error" in text:
            self.stats.error("review", "review page shows an error message", text)
        drawn_search = ((drawn.get("review-drawn") or {}).get("data"))
        if drawn_search is None:
            return
        index = with_values(review["index"], {("review-drawn", "data"): drawn_search, **values,
                                              ("review-index-scope", "data"): self.scope}, ["review-drawn.data"])
        answer = self.client.callback(index, "review other")
        if answer and "review-index-scope" in answer:
            self.scope = answer["review-index-scope"]["data"]

    def change(self) -> None:
        options = self.recorded["options"]
        control = self.rng.choice(["review-period", "review-period", "review-station", "review-category"])
        choices = [v for v in options[control] + ([None] if control != "review-period" else [])
                   if v != self.controls[control]]
        if not choices:
            return
        self.controls[control] = self.rng.choice(choices)
        started = time.perf_counter()
        # the page writes the URL itself (assets/review.js); the same query, from the Python that it mirrors
        search = review_href(ReviewFilters(period=self.controls["review-period"] or "ytd",
                                           station=self.controls["review-station"],
                                           category=self.controls["review-category"]), None, "zh")
        search = search.removeprefix("/review")
        self.search = search
        self.redraw(search)
        with self.stats.lock:
            self.stats.changes.append(time.perf_counter() - started)


def run_screens(base: str, recorded: dict, walls: int, leaders: int, seconds: float, think: float,
                stop: threading.Event, on_minute=None) -> Stats:
    """Run the screens for ``seconds``; ``on_minute(elapsed_seconds, stats)`` is called once a minute."""
    stats = Stats()
    deadline = time.monotonic() + seconds
    screens = [Wall(i, base, recorded, stats, stop, deadline) for i in range(walls)] + [
        Leader(i, base, recorded, stats, stop, deadline, think) for i in range(leaders)]
    threads = [threading.Thread(target=s.run, name=type(s).__name__, daemon=True) for s in screens]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    next_report = started + 60
    while time.monotonic() < deadline and not stop.is_set():
        stop.wait(max(0.0, min(next_report, deadline) - time.monotonic()))
        if on_minute and time.monotonic() >= next_report:
            on_minute(time.monotonic() - started, stats)
            next_report += 60
    for thread in threads:
        thread.join(TIMEOUT + 15)
    return stats


# -- the database's side -----------------------------------------------------------------------------------

class DatabaseProbe:
    """Counters of one database: pg_stat_database, pg_stat_user_tables and (if usable) pg_stat_statements."""

    def __init__(self, admin_url: str, database_url: str, name: str):
        from sqlalchemy import create_engine, text

        self.text = text
        self.name = name
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.own = create_engine(database_url, isolation_level="AUTOCOMMIT", pool_size=1)
        self.statements = None  # why pg_stat_statements is not used, or True
        self.cache = None  # the Redis client of the app's cache: its computations:<function> counters
        try:
            with self.own.connect() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"))
                conn.execute(text("SELECT pg_stat_statements_reset()"))
                conn.execute(text("SELECT count(*) FROM pg_stat_statements"))
            self.statements = True
        except Exception as exc:  # noqa: BLE001 - reported, not fatal
            self.statements = str(getattr(exc, "orig", exc)).strip().splitlines()[0]

    def snapshot(self) -> dict:
        text = self.text
        with self.admin.connect() as conn:
            row = conn.execute(text(
                "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, "
                "blks_read, blks_hit FROM pg_stat_database WHERE datname = :d"), {"d": self.name}).mappings().one()
            backends = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d"),
                                    {"d": self.name}).scalar_one()
        snap = {"at": time.monotonic(), "db": dict(row), "backends": backends, "tables": {}, "statements": {},
                 "computations": {}}
        if self.cache is not None:  # data/service.py counts each computation of a cached function
            for key in self.cache.scan_iter(match="eqian:computations:*"):
                snap["computations"][key.decode().split(":", 2)[2]] = int(self.cache.get(key) or 0)
        with self.own.connect() as conn:
            for name, seq, idx, ins in conn.execute(text(
                    "SELECT relname, seq_scan, COALESCE(idx_scan, 0), n_tup_ins FROM pg_stat_user_tables")):
                snap["tables"][name] = (seq, idx, ins)
            if self.statements is True:
                for query, calls, total_ms in conn.execute(text(
                        "SELECT query, calls, total_exec_time FROM pg_stat_statements "
                        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())")):
                    if "pg_stat" in query:
                        continue
                    key = " ".join(query.split())[:110]
                    calls0, ms0 = snap["statements"].get(key, (0, 0.0))
                    snap["statements"][key] = (calls0 + calls, ms0 + total_ms)
        return snap

    def dispose(self) -> None:
        self.admin.dispose()
        self.own.dispose()


def per_minute(before: dict, after: dict) -> dict:
    minutes = max(1e-9, (after["at"] - before["at"]) / 60)
    db = {k: (after["db"][k] - before["db"][k]) / minutes for k in after["db"]}
    tables = {}
    for name, (seq, idx, ins) in after["tables"].items():
        s0, i0, n0 = before["tables"].get(name, (0, 0, 0))
        tables[name] = ((seq - s0) / minutes, (idx - i0) / minutes, (ins - n0) / minutes)
    statements = {}
    for key, (calls, ms) in after["statements"].items():
        c0, m0 = before["statements"].get(key, (0, 0.0))
        if calls > c0:
            statements[key] = ((calls - c0) / minutes, (ms - m0) / minutes)
    computations = {name: (n - before["computations"].get(name, 0)) / minutes
                    for name, n in after["computations"].items()}
    return {"minutes": minutes, "db": db, "tables": tables, "statements": statements, "computations": computations,
            "statement_calls": sum(c for c, _ in statements.values()), "backends": after["backends"]}


# -- printing ----------------------------------------------------------------------------------------------

def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def print_requests(stats: Stats, seconds: float) -> None:
    print(f"  {'kind':14s} {'requests':>9s} {'per s':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s} "
          f"{'max ms':>8s} {'errors':>7s}")
    for kind in KINDS:
        times = stats.times.get(kind, [])
        errors = sum(n for (k, _), n in stats.errors.items() if k == kind)
        if not times and not errors:
            continue
        ms = [t * 1000 for t in times] or [float("nan")]
        print(f"  {kind:14s} {len(times) + errors:9d} {(len(times) + errors) / seconds:7.1f} {pct(ms, 50):8.0f} "
              f"{pct(ms, 95):8.0f} {pct(ms, 99):8.0f} {max(ms):8.0f} {errors:7d}")
    if stats.changes:
        ms = [t * 1000 for t in stats.changes]
        print(f"  {'filter change':14s} {len(ms):9d} {len(ms) / seconds:7.2f} {pct(ms, 50):8.0f} {pct(ms, 95):8.0f} "
              f"{pct(ms, 99):8.0f} {max(ms):8.0f}   (new URL → content + controls → index views)")
    if stats.errors:
        print("  errors:")
        for (kind, reason), n in sorted(stats.errors.items()):
            print(f"    {n:6d}  {kind}: {reason}  e.g. {stats.examples[(kind, reason)][:200]!r}")
    else:
        print("  errors: none (no non-200 answer, no connection failure, no Dash error, no 连接中断 status)")
    print(f"  wall frames that redrew the panels: {stats.redraws} of {len(stats.times.get('wall frame', []))} "
          f"(the rest: same data version, view and minute, nothing to redraw); {len(stats.frame_keys)} distinct "
          f"(data version, view, minute) frames, i.e. wall computations the shared cache needs at the least")
    print(f"  live feed: {stats.feed_rows} new call rows delivered to the walls; "
          f"{len(stats.feed_ids)} distinct last_id values reached")


def print_database(rate: dict, probe: DatabaseProbe, top: int = 12) -> None:
    db = rate["db"]
    print(f"  database per minute: {db['xact_commit']:,.0f} transactions, {db['tup_returned']:,.0f} tuples returned, "
          f"{db['tup_fetched']:,.0f} fetched, {db['tup_inserted']:,.0f} inserted, {db['blks_read']:,.0f} blocks "
          f"read from disk / {db['blks_hit']:,.0f} from shared buffers; {rate['backends']} connections open")
    if rate["computations"]:
        print("  computations per minute (cached functions, counted by the app): " + ", ".join(
            f"{name.rsplit('.', 1)[-1]} {n:,.1f}" for name, n in sorted(rate["computations"].items()) if n))
    busy = sorted(((seq + idx, name, seq, idx) for name, (seq, idx, _ins) in rate["tables"].items() if seq + idx > 0),
                  reverse=True)
    if busy:
        print("  table scans per minute (seq + index), busiest first: " + ", ".join(
            f"{name} {seq:,.0f}+{idx:,.0f}" for _, name, seq, idx in busy[:10]))
    if probe.statements is True:
        print(f"  pg_stat_statements: {rate['statement_calls']:,.0f} statements per minute; the most called:")
        for key, (calls, ms) in sorted(rate["statements"].items(), key=lambda kv: -kv[1][0])[:top]:
            print(f"    {calls:9,.1f}/min {ms / max(calls, 1e-9):7.2f} ms  {key}")
    else:
        print(f"  pg_stat_statements: not available ({probe.statements})")


def print_comparison(results: list[tuple[int, Stats, dict, float, float]]) -> None:
    """Walls-only phases side by side: what the database and the app did per minute."""
    print("\n=== walls only: does the database's work grow with the number of walls? (per minute) ===")
    head = "".join(f"{f'{walls} walls':>14s}" for walls, *_ in results)
    print(f"  {'':44s}{head}")

    def row(label: str, values: list[float], fmt: str = "{:,.0f}") -> None:
        print(f"  {label:44s}" + "".join(f"{fmt.format(v):>14s}" for v in values))

    row("wall frame requests", [len(s.times["wall frame"]) / r["minutes"] for _, s, r, _, _ in results])
    row("wall feed requests", [len(s.times["wall feed"]) / r["minutes"] for _, s, r, _, _ in results])
    row("transactions (pg_stat_database)", [r["db"]["xact_commit"] for _, _, r, _, _ in results])
    row("tuples returned", [r["db"]["tup_returned"] for _, _, r, _, _ in results])
    row("tuples fetched", [r["db"]["tup_fetched"] for _, _, r, _, _ in results])
    tables = sorted({t for _, _, r, _, _ in results for t, v in r["tables"].items() if v[0] + v[1] > 0})
    for table in tables:
        row(f"  scans of {table}", [sum(r["tables"].get(table, (0, 0, 0))[:2]) for _, _, r, _, _ in results])
    if all(r["statements"] for _, _, r, _, _ in results):
        row("statements (pg_stat_statements)", [r["statement_calls"] for _, _, r, _, _ in results])
        keys = sorted({k for _, _, r, _, _ in results for k in r["statements"]},
                      key=lambda k: -max(r["statements"].get(k, (0, 0))[0] for _, _, r, _, _ in results))
        for key in keys[:8]:
            row(f"  {key[:42]}", [r["statements"].get(key, (0, 0))[0] for _, _, r, _, _ in results], "{:,.1f}")
    row("app CPU seconds (gunicorn, all processes)", [cpu / r["minutes"] for _, _, r, cpu, _ in results], "{:,.1f}")
    row("wall frame p95 ms", [pct([t * 1000 for t in s.times["wall frame"]] or [0], 95) for _, s, *_ in results])
    row("wall feed p95 ms", [pct([t * 1000 for t in s.times["wall feed"]] or [0], 95) for _, s, *_ in results])
    row("wall frames that redrew the panels", [s.redraws / r["minutes"] for _, s, r, _, _ in results])
    row("distinct frames (computations needed)", [len(s.frame_keys) / r["minutes"] for _, s, r, _, _ in results])
    row("frame computations (data.service.wall)",
        [r["computations"].get("data.service.wall", 0) for _, _, r, _, _ in results], "{:,.1f}")
    row("feed window reads (data.service.feed_window)",
        [r["computations"].get("data.service.feed_window", 0) for _, _, r, _, _ in results], "{:,.1f}")
    row("incidents written (the simulator)", [r["tables"].get("incidents", (0, 0, 0))[2] for _, _, r, _, _ in results],
        "{:,.1f}")
    row("errors", [sum(s.errors.values()) for _, s, *_ in results])
    print("  load average at the end of each phase: " + "; ".join(f"{w} walls: {la}" for w, *_, la in results))


# -- the run -----------------------------------------------------------------------------------------------

def app_cpu(master: subprocess.Popen) -> float:
    return cpu_seconds(master.pid) + sum(cpu_seconds(pid) for pid in child_pids(master.pid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--walls", type=int, default=20, help="wall screens (default 20)")
    parser.add_argument("--leaders", type=int, default=10, help="leaders changing review filters (default 10)")
    parser.add_argument("--minutes", type=float, default=10, help="length of the main run (default 10; 0: skip it)")
    parser.add_argument("--think", type=float, default=10, help="a leader's mean seconds between filter changes")
    parser.add_argument("--compare-walls", type=int, default=5,
                        help="after the main run, walls only: --walls, then this many (0: skip)")
    parser.add_argument("--compare-minutes", type=float, default=2, help="length of each comparison phase")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the config's)")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="admin URL of the PostgreSQL server to create the database on")
    parser.add_argument("--private-postgres", action="store_true",
                        help="run a throwaway PostgreSQL cluster of our own with pg_stat_statements preloaded")
    parser.add_argument("--database", default=None, help="use this existing demo database (not seeded, not dropped)")
    parser.add_argument("--scale", type=float, default=1.0, help="demo scale to seed (default 1)")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/7",
                        help="Redis cache URL; its database is FLUSHDB'd at start and end (default db 7)")
    parser.add_argument("--sim-rate", type=float, default=10.0,
                        help="simulator rate: 1 is the demo's real pace (a call every minute or two at scale 1); "
                             "the default 10 brings new calls to the feed and new data versions every few seconds; "
                             "0: no simulator (no writes: the data version stays put)")
    parser.add_argument("--keep", action="store_true", help="keep the created database")
    args = parser.parse_args()

    import redis
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    stop = threading.Event()

    def terminate(*_):  # `kill` or a closed session: stop the screens and clean up as on Ctrl-C
        stop.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    logs = Path(tempfile.mkdtemp(prefix="eqian-load-"))
    print(f"logs in {logs}; load average {load_average()} on {os.cpu_count()} CPUs", flush=True)
    cleanups: list = []
    master = simulator = None
    try:
        admin_url = args.postgres
        if args.private_postgres:
            admin_url, stop_cluster = start_private_postgres({"shared_preload_libraries": "pg_stat_statements"})
            cleanups.append(stop_cluster)
            print(f"private PostgreSQL cluster at {make_url(admin_url).render_as_string()}", flush=True)
        if args.database:
            url = args.database
            name = make_url(url).database
            if args.private_postgres:
                raise SystemExit("--database and --private-postgres do not go together")
            admin_url = make_url(url).set(database="postgres").render_as_string(hide_password=False)
        else:
            name = f"eqian_load_{secrets.token_hex(4)}"
            admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            if not args.keep:
                def drop(admin_url=admin_url, name=name):
                    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
                    with engine.connect() as conn:
                        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                    engine.dispose()
                    print(f"dropped database {name}")
                cleanups.append(drop)
            print(f"database {name}: seeding the scale-{args.scale:g} demo …", flush=True)
        env = {"EQIAN_DATABASE_URL": url, "EQIAN_CACHE_URL": args.cache_url, "EQIAN_ENV": "production",
               "EQIAN_SECRET_KEY": secrets.token_hex(32), "EQIAN_DEMO": "0", "EQIAN_SIMULATE": "0",
               "EQIAN_PROXY_HOPS": "1", "EQIAN_REFRESH_SECONDS": "2", "EQIAN_FEED_SECONDS": "1",
               "EQIAN_SIMULATE_RATE": str(args.sim_rate)}
        flask = [str(Path(sys.executable).with_name("flask")), "--app", "app"]
        cli_env = {**os.environ, **env}
        if not args.database:
            started = time.monotonic()
            subprocess.run([*flask, "seed-demo", "--scale", str(args.scale)], cwd=ROOT, env=cli_env, check=True,
                           stdout=open(logs / "seed.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
            print(f"  {(logs / 'seed.log').read_text().strip().splitlines()[-1]} (wall time "
                  f"{time.monotonic() - started:.0f} s)", flush=True)
        else:
            from data.access import accounts as auth
            from data.core import db

            engine = db.make_engine(url)
            with engine.begin() as conn:
                auth.ensure_demo_accounts(conn)
            engine.dispose()

        cache = redis.Redis.from_url(args.cache_url)
        cache.flushdb()
        cleanups.append(lambda: (cache.flushdb(), print(f"flushed {args.cache_url}")))

        master, base = start_gunicorn(env, workers=args.workers, log_path=logs / "gunicorn.log")
        expected = args.workers or min(2 * len(os.sched_getaffinity(0)) + 1, 12)  # as deploy/gunicorn.conf.py
        deadline = time.monotonic() + 60
        while len(child_pids(master.pid)) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = child_pids(master.pid)
        print(f"gunicorn -c deploy/gunicorn.conf.py at {base}: master {master.pid}, {len(workers)} workers", flush=True)
        if args.sim_rate > 0:
            simulator = subprocess.Popen([*flask, "simulate", "--rate", str(args.sim_rate)], cwd=ROOT, env=cli_env,
                                         stdout=open(logs / "simulator.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
            print(f"simulator: flask --app app simulate --rate {args.sim_rate:g} (pid {simulator.pid})", flush=True)
        else:
            print("simulator: none (--sim-rate 0: no writes, so the data version stays put)", flush=True)

        print("recording the browser's callbacks in headless Chromium …", flush=True)
        recorded = capture(base)
        print(f"  callback URL {recorded['path'][:60]}…; wall playlist: "
              + ", ".join(f"{p['kind']}{'' if p.get('id') is None else ' ' + str(p['id'])} {p.get('seconds')} s"
                          for p in recorded["playlist"])
              + f"; review options: {len(recorded['options']['review-period'])} periods, "
              f"{len(recorded['options']['review-station'])} stations, "
              f"{len(recorded['options']['review-category'])} categories", flush=True)
        if recorded["server_errors"]:
            print(f"  the browser got {len(recorded['server_errors'])} server errors while loading the pages: "
                  + ", ".join(sorted(set(recorded["server_errors"])))
                  + " (Dash's component bundles from a worker that had not finished its first-request setup: "
                    "an app bug, see the report)", flush=True)

        probe = DatabaseProbe(admin_url, url, name)
        probe.cache = cache
        print(f"pg_stat_statements: {'in use' if probe.statements is True else 'not available: ' + probe.statements}")

        def phase(label: str, walls: int, leaders: int, minutes: float, timeline: bool):
            print(f"\n=== {label}: {walls} walls + {leaders} leaders for {minutes:g} min "
                  f"(load average {load_average()}) ===", flush=True)
            snaps = [probe.snapshot()]
            cpu0 = app_cpu(master)

            def minute(elapsed, stats):
                snap = probe.snapshot()
                rate = per_minute(snaps[-1], snap)
                snaps.append(snap)
                with stats.lock:
                    counts = {k: len(v) for k, v in stats.times.items()}
                    errors = sum(stats.errors.values())
                print(f"  {elapsed / 60:4.1f} min: " + ", ".join(f"{k} {counts.get(k, 0)}" for k in KINDS[:3])
                      + f"; errors {errors}; {rate['db']['xact_commit']:,.0f} transactions/min"
                      + (f", {rate['statement_calls']:,.0f} statements/min" if probe.statements is True else "")
                      + f"; load average {load_average()}", flush=True)

            started = time.monotonic()
            stats = run_screens(base, recorded, walls, leaders, minutes * 60, args.think, stop,
                                minute if timeline else None)
            seconds = time.monotonic() - started
            rate = per_minute(snaps[0], probe.snapshot())
            cpu = app_cpu(master) - cpu0
            print(f"  --- {label}: {seconds:.0f} s, load average at the end {load_average()}, app CPU "
                  f"{cpu / rate['minutes']:.1f} s/min")
            print_requests(stats, seconds)
            print_database(rate, probe)
            return stats, rate, cpu, load_average()

        if args.minutes > 0 and (args.walls or args.leaders):
            phase("main run", args.walls, args.leaders, args.minutes, True)
        if args.compare_walls and not stop.is_set():
            results = []
            for walls in (args.walls, args.compare_walls):
                stats, rate, cpu, la = phase(f"walls only, {walls}", walls, 0, args.compare_minutes, False)
                results.append((walls, stats, rate, cpu, la))
            print_comparison(results)
        probe.dispose()
        log = (logs / "gunicorn.log").read_text(errors="replace")
        tracebacks = log.count("Traceback")
        answers_500 = sum(1 for line in log.splitlines() if '" 500 ' in line)
        print(f"\ngunicorn log: {tracebacks} tracebacks, "
              f"{log.count('[CRITICAL] WORKER TIMEOUT')} worker timeouts, "
              f"{answers_500} answers 500; workers now "
              f"{len(child_pids(master.pid))} (were {len(workers)})")
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", flush=True)
    finally:
        stop.set()
        if simulator is not None:
            simulator.terminate()
            try:
                simulator.wait(timeout=15)
            except subprocess.TimeoutExpired:
                simulator.kill()
        if master is not None:
            stop_gunicorn(master)
            print("gunicorn stopped")
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - clean up the rest anyway
                print(f"clean-up step failed: {exc}")


if __name__ == "__main__":
    main()

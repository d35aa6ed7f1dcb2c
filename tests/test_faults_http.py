"""Load and faults over HTTP: wall screens polling the app under gunicorn while a worker, PostgreSQL or Redis fails.

Everything runs against servers of our own (tests/fault_support.py): a private PostgreSQL cluster with a small
demo town, a private Redis per test, and ``gunicorn -c deploy/gunicorn.conf.py app:server``. The walls are
HTTP clients logged in with the demo device token that post the frame and feed callbacks as the browser does
(bodies from /_dash-dependencies, state carried from answer to answer, the wall's 2-s/1-s cadence) and retry
as the browser does: a request whose connection broke is resent once at once (Chromium resends a request
whose kept-alive connection was closed under it); otherwise the page's watchdog asks again after 10 s.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from fault_support import (  # noqa: F401 - fixtures
    WallClient,
    WallScreens,
    connections_by_worker,
    gunicorn_factory,
    pg,
    private_postgres,
    private_redis,
    seed_town,
    wait_until,
)
from sqlalchemy import select

from data.core import db
from data.core.schema import Incident

pytestmark = pytest.mark.faults

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
STALE = "wall-status status-stale"
OK = "wall-status status-ok"


@pytest.fixture(scope="module")
def town(private_postgres):
    """A small demo town (scale 0.02) with the demo accounts, in a database of the private cluster."""
    return seed_town(private_postgres, "faults_http", NOW)


def serve(gunicorn_factory, town: str, cache_url: str, workers: int = 2):
    return gunicorn_factory({"EQIAN_DATABASE_URL": town, "EQIAN_CACHE_URL": cache_url, "EQIAN_DEMO": "0",
                             "EQIAN_SIMULATE": "0", "EQIAN_SECRET_KEY": "faults-http-test",
                             "EQIAN_REFRESH_SECONDS": "2", "EQIAN_FEED_SECONDS": "1"}, workers=workers)


def add_incident(engine, source_id: str) -> int:
    """A new call, received now; returns its id."""
    when = datetime.now(UTC)
    with engine.begin() as conn:
        return conn.execute(Incident.__table__.insert().values(
            received_at=when, created_at=when, category="治安", priority=2, enterprise_related=False,
            station_id=1, channel="110", source="faults-http", source_id=source_id,
            address="织里镇大港路1号").returning(Incident.id)).scalar_one()


def statuses(screens: WallScreens, since: float = 0.0, until: float = float("inf")) -> Counter:
    """(kind, status) of every request the walls sent in a window."""
    return Counter((e[2], e[3]) for w in screens.walls for e in w.answers(since=since) if e[0] <= until)


def frame_classes(screens: WallScreens, since: float, until: float = float("inf")) -> Counter:
    return Counter((e[5] or {}).get("wall-status", {}).get("className") for w in screens.walls
                   for e in w.answers("frame", since) if e[0] <= until and e[3] == 200)


def panels(response: dict) -> dict:
    """The charts, KPI tiles and lowest-scores list of a full frame's answer (the map aside)."""
    from layouts import wall

    parts = [spec.id for spec in wall.CHART_PANELS] + ["wall-kpis", "wall-lowest"]
    return {part: response[part] for part in parts}


def true_panels(database_url: str, minute: str) -> dict:
    """The same parts computed here, from the database, without any cache, for the frame's minute: what a
    correct answer contains (as Dash would send it)."""
    import plotly

    from data import service
    from figures.wall_charts import CHART_BUILDERS
    from layouts import wall

    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            numbers = service.wall.uncached(conn, minute).numbers
            org = service.organisation.uncached(conn)  # the lowest list cuts its name prefixes
    finally:
        engine.dispose()
    parts = {spec.id: {"figure": CHART_BUILDERS[spec.chart](numbers, "zh")} for spec in wall.CHART_PANELS}
    parts["wall-kpis"] = {"children": wall.kpi_tiles(numbers, "zh")}
    parts["wall-lowest"] = {"children": wall.lowest_list(numbers, "zh", org)}
    return json.loads(json.dumps(parts, cls=plotly.utils.PlotlyJSONEncoder))


# -- a worker killed -----------------------------------------------------------------------------------------

def test_flh001_worker_killed_under_wall_load_no_wall_gets_an_error_and_answers_resume(
        gunicorn_factory, town, pg, private_redis):
    server = serve(gunicorn_factory, town, private_redis.url, workers=2)
    screens = WallScreens(server.url, 8).start()  # 8 walls at their cadence: 12 requests a second
    # and 4 more screens asking for whole frames back to back (walls being switched on, views changing), so that
    # the worker has requests in flight when it dies
    busy = [WallClient(server.url, 50 + i) for i in range(4)]
    stop = threading.Event()

    def redraw(wall):
        while not stop.is_set():
            wall.frame(0, None)

    threads = []
    try:
        wait_until(lambda: min(screens.ok_counts("frame")) >= 2 and min(screens.ok_counts("feed")) >= 3, 40, 0.2,
                   "every wall's first frames and feeds")
        for wall in busy:
            wall.login()
            threads.append(threading.Thread(target=redraw, args=(wall,), daemon=True))
            threads[-1].start()
        time.sleep(1.5)
        workers = server.worker_pids()
        held = connections_by_worker(server)  # kill the worker that serves most of the screens' connections
        victim = max(held, key=held.get)
        assert held[victim] > 0, f"no worker holds a screen's connection: {held}"
        killed_at = time.monotonic()
        killed = server.kill_worker(victim)
        replaced = server.wait_for_workers(2, replacing={killed})
        respawned_at = time.monotonic()
        wait_until(lambda: all(n >= 3 for n in screens.ok_counts("frame", respawned_at))
                   and all(n >= 5 for n in screens.ok_counts("feed", respawned_at)), 30, 0.2,
                   "every wall's frames and feed answering again after the respawn")
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        screens.stop()

    everyone = screens.walls + busy
    seen = Counter((e[2], e[3]) for w in everyone for e in w.answers())
    errors = {k: n for k, n in seen.items() if isinstance(k[1], int) and k[1] != 200}
    assert not errors, f"error answers: {errors}; all: {seen}"
    # what the kill cut: requests resent at once (their connection broke before any answer) and requests whose
    # answer was cut off (the page's watchdog asks again); never more than the killed worker had in hand
    cut = [e for w in everyone for e in w.answers() if e[4] or not isinstance(e[3], int)]
    assert cut, f"the kill of the worker holding {held[victim]} connections cut no request in flight"
    assert all(e[0] >= killed_at - 5 for e in cut), "requests failed before the kill"
    lost = [e for e in cut if not isinstance(e[3], int)]
    assert len(lost) <= held[victim], f"{len(lost)} requests failed for good: {lost}"
    print(f"killed worker {killed} holding {held[victim]} of {sum(held.values())} connections: "
          f"{len(cut) - len(lost)} requests resent and answered 200, {len(lost)} cut off mid-answer "
          f"(re-asked by the watchdog); respawn {respawned_at - killed_at:.1f} s; {sum(seen.values())} requests")
    assert all(wall.frame_state["ok"] for wall in screens.walls)
    assert frame_classes(screens, 0).keys() == {OK}
    assert replaced - workers and killed not in replaced
    assert f"Worker (pid:{killed}) was sent SIGKILL" in server.log()
    assert respawned_at - killed_at < 10


# -- PostgreSQL stops ----------------------------------------------------------------------------------------

def _refresh_principals(private_redis, wall: WallClient | None = None) -> None:
    """Drop the login gate's cached principals (web/gate.py keeps them 30 s); with ``wall``, make one
    request with its session at once, which loads the walls' principal afresh (every wall logs in with the
    same device token): it then stays cached for the next 30 s."""
    client = private_redis.client()
    for key in client.scan_iter(match="*principal:*"):
        client.delete(key)
    if wall is not None:
        assert wall.session.get(wall.base + "/_dash-layout", timeout=10).status_code == 200
        assert any(True for _ in client.scan_iter(match="*principal:*")), "the principal is cached again"


def test_flh002_postgres_outage_walls_show_stale_not_500_then_recover_and_the_feed_catches_up(
        gunicorn_factory, town, pg, private_redis):
    engine = db.make_engine(town)
    server = serve(gunicorn_factory, town, private_redis.url, workers=2)
    screens = WallScreens(server.url, 4).start()
    try:
        wait_until(lambda: min(screens.ok_counts("frame")) >= 2 and min(screens.ok_counts("feed")) >= 2, 40, 0.2,
                   "every wall's first frames and feeds")
        start_ids = {w.number: (w.feed_state["last_id"], len(w.feed_ids)) for w in screens.walls}
        before = add_incident(engine, "before-outage")
        wait_until(lambda: all(before in w.feed_ids for w in screens.walls), 15, 0.2, "the call before the outage")
        # the gate's principal cache must not run out during the 10-s outage (that case: test_flh003)
        _refresh_principals(private_redis, screens.walls[0])
        engine.dispose()

        pg.stop("fast")
        stopped_at = time.monotonic()
        time.sleep(10)
        restart_at = time.monotonic()
        pg.start()
        restarted_at = time.monotonic()
        after = [add_incident(engine, f"after-outage-{i}") for i in range(3)]
        wait_until(lambda: all(set(after) <= set(w.feed_ids) for w in screens.walls), 20, 0.2,
                   "the calls written after the restart in every wall's feed")
        wait_until(lambda: all(w.frame_state.get("ok") for w in screens.walls), 15, 0.2, "status-ok frames again")
        recovered_at = time.monotonic()
    finally:
        screens.stop()

    seen = statuses(screens)
    assert {k: n for k, n in seen.items() if k[1] != 200} == {}, f"every request answered 200: {seen}"
    during = frame_classes(screens, stopped_at + 1, restart_at)  # + 1: the version is remembered 0.5 s
    assert during and set(during) == {STALE}, f"frames during the outage: {during}"
    for wall in screens.walls:
        stale = [e[5] for e in wall.answers("frame", stopped_at + 1) if e[0] <= restart_at]
        assert stale, f"wall {wall.number} asked for no frame during the outage"
        text = stale[-1]["wall-status"]["children"]
        assert text.startswith("连接中断 · 最后更新 "), text
        feeds = [e[5]["wall-feed-state"]["data"] for e in wall.answers("feed", stopped_at + 1) if e[0] <= restart_at]
        assert feeds and all(f["ok"] is False for f in feeds), "the feed says it could not read"
    assert recovered_at - restarted_at < 20

    with engine.connect() as conn:  # nothing written before is lost, nothing after is missed or doubled
        stored = list(conn.execute(select(Incident.id).where(Incident.id > min(i for i, _ in start_ids.values()))
                                   .order_by(Incident.id)).scalars())
    engine.dispose()
    assert before in stored and set(after) <= set(stored)
    for wall in screens.walls:
        last_id, mark = start_ids[wall.number]
        expected = [i for i in stored if i > last_id]
        delivered = wall.feed_ids[mark:]
        assert delivered == expected, f"wall {wall.number}: the feed delivered {delivered}, stored were {expected}"


def test_flh003_postgres_outage_while_the_gates_principal_cache_runs_out(gunicorn_factory, town, pg, private_redis):
    """The login gate caches each session's principal for 30 s (web/gate.py); when that runs out during a
    PostgreSQL outage the gate has to read the principal from the database. The wall must still get its
    status-stale frame (200), not an error."""
    server = serve(gunicorn_factory, town, private_redis.url, workers=2)
    wall = WallClient(server.url)
    wall.login()
    assert wall.frame(0, None)[0] == 200 and wall.feed()[0] == 200
    pg.stop("fast")
    try:
        _refresh_principals(private_redis)  # as if the 30 s ran out now
        frame_status, frame = wall.frame()
        feed_status, _ = wall.feed()
        page_status = wall.session.get(server.url + "/?kiosk=1", timeout=10).status_code
    finally:
        pg.start()
    log = server.log()
    assert (frame_status, feed_status) == (200, 200), (
        f"frame {frame_status}, feed {feed_status}, page {page_status} during the outage; log:\n{log[-3000:]}")
    # stale (连接中断) when the frame had to be computed, ok when the shared cache still held this minute's frame
    assert frame["wall-status"]["className"] in (STALE, "wall-status status-ok")
    assert page_status == 200


# -- Redis stops ---------------------------------------------------------------------------------------------

def test_flh004_redis_outage_pages_and_callbacks_answer_with_correct_figures_and_the_log_says_so_once(
        gunicorn_factory, town, pg, private_redis):
    engine = db.make_engine(town)
    server = serve(gunicorn_factory, town, private_redis.url, workers=2)
    screens = WallScreens(server.url, 4).start()
    probe = WallClient(server.url, 99)
    probe.login()
    try:
        wait_until(lambda: min(screens.ok_counts("frame")) >= 2, 40, 0.2, "every wall's first frames")
        status, before = probe.frame(0, None)
        assert status == 200 and before["wall-status"]["className"] == OK
        assert private_redis.client().dbsize() > 0, "frames are cached in Redis"

        private_redis.stop()
        stopped_at = time.monotonic()
        time.sleep(2)  # the walls poll on
        status, during = probe.frame(0, None)  # a full frame, computed without the cache
        assert status == 200 and during["wall-status"]["className"] == OK
        assert panels(during) == true_panels(town, during["wall-frame"]["data"]["key"][3])
        for path in ("/?kiosk=1", "/_dash-layout", "/_dash-dependencies", "/assets/style.css"):
            assert probe.session.get(server.url + path, timeout=10).status_code == 200, path
        newcomer = WallClient(server.url, 100)
        newcomer.login()  # a wall switched on during the outage logs in and gets its frame
        assert newcomer.frame(0, None)[0] == 200
        add_incident(engine, "during-redis-outage")
        time.sleep(0.6)  # each worker remembers the data version for 0.5 s
        status, fresh = probe.frame(0, None)
        key = fresh["wall-frame"]["data"]["key"]
        assert status == 200 and key[0] > before["wall-frame"]["data"]["key"][0], "a new data version"
        assert panels(fresh) == true_panels(town, key[3]), "the new call counts at once: nothing stale"
        time.sleep(3)
        restart_at = time.monotonic()

        private_redis.start()  # the same port, empty
        time.sleep(5.5)  # the workers try Redis again every 5 s
        status, back = probe.frame(0, None)
        assert status == 200 and panels(back) == true_panels(town, back["wall-frame"]["data"]["key"][3])
        wait_until(lambda: private_redis.client().dbsize() > 0, 15, 0.2, "results cached in Redis again")
    finally:
        screens.stop()
        engine.dispose()

    seen = statuses(screens)
    assert {k: n for k, n in seen.items() if k[1] != 200} == {}, f"every request answered 200: {seen}"
    assert set(frame_classes(screens, stopped_at, restart_at)) == {OK}
    log = server.log()
    down = Counter(re.findall(r"\[(\d+)\] \[WARNING\] data\.core\.cache: Redis cache at \S+ unreachable", log))
    assert down and all(n == 1 for n in down.values()) and len(down) <= 2, (
        f"one warning per worker for the whole outage: {dict(down)}\n{log[-3000:]}")
    assert "Traceback" not in log, log[-3000:]
    assert re.search(r"data\.core\.cache: Redis cache at \S+ is back", log)


# -- a fresh worker ------------------------------------------------------------------------------------------

def test_flh005_a_killed_workers_replacement_serves_the_page_bundles_to_a_browser(
        gunicorn_factory, town, pg, private_redis):
    server = serve(gunicorn_factory, town, private_redis.url, workers=1)
    wall = WallClient(server.url)
    wall.login()
    page = wall.session.get(server.url + "/?kiosk=1", timeout=10)
    bundles = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page.text)
    assert len(bundles) >= 4, page.text[:2000]
    killed = server.kill_worker()
    server.wait_for_workers(1, replacing={killed})
    time.sleep(1)  # the replacement is up and idle; a browser (re)loading the page now asks for the bundles
    with ThreadPoolExecutor(4) as pool:  # in parallel, as Chromium does (up to 6 connections per host)
        answers = list(pool.map(lambda path: wall.session.get(server.url + path, timeout=20).status_code, bundles))
    assert answers == [200] * len(bundles), (
        f"{dict(zip(bundles, answers, strict=True))}\n{server.log()[-2500:]}")

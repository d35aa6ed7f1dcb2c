"""Load and faults: Redis and PostgreSQL going away and coming back, and a gunicorn worker killed.

Everything runs against real servers of our own (tests/fault_support.py): a private PostgreSQL cluster
seeded with a small demo town, a private Redis per test, and the app under gunicorn with
deploy/gunicorn.conf.py. The shared PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from fault_support import gunicorn_factory, pg, private_postgres, private_redis, seed_town, wait_until  # noqa: F401
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from data import service
from data.core import cache, db
from data.core.config import load_config
from data.core.schema import Incident

pytestmark = pytest.mark.faults

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
MINUTE = (NOW - timedelta(minutes=1)).isoformat()  # the wall's frame for the minute just before the seed's end


@pytest.fixture(scope="module")
def town(private_postgres):
    """A small demo town (scale 0.02), in a database of the private cluster."""
    return seed_town(private_postgres, "faults", NOW)


def data_app(database_url: str, cache_url: str) -> Flask:
    """The data layer as the app binds it (engine and cache on a Flask app), without the Dash pages."""
    app = Flask("eqian-faults")
    app.config.update(load_config({"EQIAN_DATABASE_URL": database_url, "EQIAN_CACHE_URL": cache_url,
                                   "EQIAN_DEMO": False}, environ={}))
    db.init_app(app)
    cache.init_app(app)
    return app


def uncached_wall(app: Flask, minute: str = MINUTE):
    with db.engine_of(app).connect() as conn:
        return service.wall.uncached(conn, minute)


def cached_wall(minute: str = MINUTE):
    service.forget_version()  # as if the half-second version memo had run out
    return service.wall(minute)


def add_incident(engine, source_id: str, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(Incident.__table__.insert().values(
            received_at=when, created_at=when, category="治安", priority=2, enterprise_related=False,
            station_id=1, channel="110", source="faults", source_id=source_id))


def cache_records(caplog, level=logging.WARNING):
    return [r for r in caplog.records if r.name in ("data.core.cache", "flask_caching") and r.levelno >= level]


# -- Redis -------------------------------------------------------------------------------------------------

def test_flt001_redis_outage_keeps_correct_figures_logs_once_and_recovers(town, pg, private_redis, caplog):
    app = data_app(town, private_redis.url)
    backend = cache.backend(app)
    backend.retry_seconds = 0.5  # production: 5 s
    client = private_redis.client()
    with app.app_context():
        expected = uncached_wall(app)
        assert cached_wall() == expected
        assert client.dbsize() > 0, "the frame is in Redis"

        private_redis.stop()
        caplog.clear()
        caplog.set_level(logging.WARNING)
        started = time.monotonic()
        for _ in range(4):  # across several retry windows: each retry finds Redis still down
            assert cached_wall() == expected
            time.sleep(0.3)
        # twenty concurrent requests, as from gunicorn's threads: still one warning for the whole outage
        with ThreadPoolExecutor(8) as pool:
            def frame(_):
                with app.app_context():
                    return cached_wall()
            assert all(f == expected for f in pool.map(frame, range(20)))
        # new data during the outage shows at once: nothing stale is served from anywhere
        add_incident(db.engine_of(app), "redis-outage-1", NOW - timedelta(minutes=2))
        fresh = cached_wall()
        assert fresh.numbers.today_total == expected.numbers.today_total + 1
        assert fresh == uncached_wall(app)
        assert time.monotonic() - started < 10
        records = cache_records(caplog)
        assert [r.getMessage().split(" (")[0] for r in records] == [f"Redis cache at {backend.where} unreachable"]
        assert not backend.available

        private_redis.start()  # the same port, empty
        caplog.clear()
        time.sleep(backend.retry_seconds + 0.1)
        assert cached_wall() == fresh
        assert backend.available
        assert client.dbsize() > 0, "results go to Redis again"
        hits = client.info("stats")["keyspace_hits"]
        assert cached_wall() == fresh
        assert client.info("stats")["keyspace_hits"] > hits, "and come from it"
        assert [r.getMessage().split(" after")[0] for r in cache_records(caplog)] == [
            f"Redis cache at {backend.where} is back"]


def test_flt002_redis_that_does_not_answer_costs_one_short_timeout(town, pg, caplog):
    # A port that accepts connections (the kernel's backlog) but never answers: a hung or firewalled Redis.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        app = data_app(town, f"redis://127.0.0.1:{silent.getsockname()[1]}/0")
        caplog.set_level(logging.WARNING)
        with app.app_context():
            expected = uncached_wall(app)
            started = time.monotonic()
            assert cached_wall() == expected
            first = time.monotonic() - started
            started = time.monotonic()
            for _ in range(5):
                assert cached_wall() == expected
            rest = (time.monotonic() - started) / 5
    finally:
        silent.close()
    assert first < 3, f"first call during the outage took {first:.2f}s (socket timeout 1 s)"
    assert rest < 0.5, f"later calls took {rest:.2f}s each: Redis should be skipped until the retry"
    assert len(cache_records(caplog)) == 1


# -- PostgreSQL --------------------------------------------------------------------------------------------

def test_flt010_postgres_outage_is_signalled_to_the_wall_and_recovers_without_restart(town, pg):
    from callbacks import wall as wall_callbacks  # the wall's frame callback, called as Dash would

    app = data_app(town, "simple")
    engine = db.engine_of(app)
    with app.app_context():
        before = cached_wall()
        ok = wall_callbacks.frame(poll=1, view=None, settings={"lang": "zh"}, last=None)
        assert ok["status_class"] == "wall-status status-ok" and ok["frame"]["ok"]
        assert engine.pool.checkedin() >= 1, "a pooled connection that the outage will break"

        pg.stop("fast")
        service.forget_version()
        with pytest.raises(SQLAlchemyError):  # what callbacks/wall.py catches
            service.data_version()
        with pytest.raises(SQLAlchemyError):
            cached_wall()
        service.forget_version()
        stale = wall_callbacks.frame(poll=2, view=None, settings={"lang": "zh"}, last=ok["frame"])
        assert stale["status_class"] == "wall-status status-stale"
        assert stale["frame"]["db_down"] and not stale["frame"]["ok"]
        assert ok["frame"]["stamp"] in stale["status"], "the status names the time of the last good frame"

        pg.start()
        started = time.monotonic()
        after = cached_wall()  # the same app and engine: pool_pre_ping replaces the dead connections
        assert after == before
        service.forget_version()
        again = wall_callbacks.frame(poll=3, view=None, settings={"lang": "zh"}, last=stale["frame"])
        assert again["status_class"] == "wall-status status-ok" and again["frame"]["ok"]
        assert time.monotonic() - started < 5


def test_flt011_every_committed_row_survives_a_postgres_crash(town, pg):
    engine = db.make_engine(town)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(Incident.__table__)).scalar_one()
    acknowledged: list[str] = []
    in_flight: list[str] = []
    failure: list[Exception] = []
    enough = threading.Event()

    def writer():
        for i in range(100_000):
            source_id = f"crash-{i}"
            in_flight[:] = [source_id]
            try:
                add_incident(engine, source_id, NOW - timedelta(minutes=5))
            except SQLAlchemyError as exc:
                failure.append(exc)
                return
            acknowledged.append(source_id)  # commit returned: PostgreSQL promised to keep it
            in_flight.clear()
            if len(acknowledged) >= 50:
                enough.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert enough.wait(30), "the writer got going"
    pg.stop("immediate")  # like a crash: no checkpoint, recovery from the WAL at the next start
    thread.join(30)
    assert failure, "a write during the outage fails loudly, it is not dropped silently"

    pg.start()
    with engine.connect() as conn:
        stored = set(conn.execute(select(Incident.source_id).where(Incident.source == "faults",
                                                                   Incident.source_id.like("crash-%"))).scalars())
        total = conn.execute(select(func.count()).select_from(Incident.__table__)).scalar_one()
        rolled_up = conn.execute(text("SELECT COALESCE(SUM(n), 0) FROM ru_inc_day")).scalar_one()
    engine.dispose()
    assert set(acknowledged) <= stored, f"lost {len(set(acknowledged) - stored)} committed rows"
    assert stored - set(acknowledged) <= set(in_flight), "only the write in flight may have landed unacknowledged"
    assert total == before + len(stored)
    assert rolled_up == total, "the rollups (written by the same transactions' triggers) match the rows"


# -- gunicorn ----------------------------------------------------------------------------------------------

def test_flt020_killed_worker_is_replaced_and_static_files_keep_answering(gunicorn_factory, tmp_path):
    server = gunicorn_factory({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'gunicorn.db'}", "EQIAN_DEMO": "0",
                               "EQIAN_SIMULATE": "0", "EQIAN_SECRET_KEY": "faults-test", "EQIAN_CACHE_URL": "simple"},
                              workers=2)
    asset = "/assets/style.css"
    status, body = server.get(asset)
    assert status == 200 and body
    assert server.get("/")[0] in (200, 302)  # the page, or the login gate's redirect to it
    workers = server.worker_pids()
    assert len(workers) == 2

    statuses: list[int] = []
    stop = threading.Event()

    def load():  # a client hammering the server while the worker dies and is replaced
        while not stop.is_set():
            statuses.append(server.get(asset, timeout=5)[0])
            time.sleep(0.02)

    client = threading.Thread(target=load)
    client.start()
    time.sleep(0.3)
    killed = server.kill_worker()
    during = []
    started = time.monotonic()
    while server.worker_pids() - workers == set() and time.monotonic() - started < 30:
        during.append(server.get(asset, timeout=5)[0])  # served by the surviving worker meanwhile
    replaced = server.wait_for_workers(2, replacing={killed})
    respawn = time.monotonic() - started
    at_respawn = len(statuses)
    wait_until(lambda: len(statuses) >= at_respawn + 20, 30, 0.05, "20 more requests after the respawn")
    stop.set()
    client.join(10)

    assert during and set(during) == {200}, f"during the respawn: {during}"
    assert server.get(asset) == (200, body)
    assert replaced - workers and killed not in replaced
    failures = [s for s in statuses if s != 200]
    # at most the one request the killed worker had accepted when it died may fail
    assert len(failures) <= 1, f"{len(failures)} failed of {len(statuses)}"
    assert respawn < 10, f"respawn took {respawn:.1f}s"
    assert f"Worker (pid:{killed}) was sent SIGKILL" in server.log(), "the master noticed and said so"

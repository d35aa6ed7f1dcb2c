"""Cached entry points for the screens: results keyed on their arguments and the data version.

A cached function takes only repr-stable arguments (ISO dates, strings, ints; a unit as its ``Unit.cache_key``,
kind and id) and is stored under its qualified name, the arguments and ``data_version`` (bumped by the rollup
triggers on every write), so new data shows at once while unchanged data costs one tiny version query; with
``EQIAN_CACHE_URL=redis://…`` every worker process and host shares the results, so twenty screens cost
one computation. The version itself is remembered for half a second per process.

A result that is missing is computed once, not once per screen that asks: the first caller takes a short
lock in the cache (``add``, atomic in Redis) and computes; the others wait for its result (single
flight). Many walls whose minute turns over together therefore cost one computation of the new frame.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from data.core import db, rollups
from data.core import organisation as org_settings
from data.core.cache import cache
from data.core.organisation import Organisation
from data.core.scope import Unit
from data.index import index_views as views
from data.screens.cockpit import CockpitNumbers, cockpit_numbers
from data.screens.incidents import CallRow, calls_after, latest_calls, newest_calls
from data.screens.review import from_query, review_bundle
from data.screens.wall import wall_frame

log = logging.getLogger(__name__)
VERSION_TTL_SECONDS = 0.25  # each process re-reads the version this often
SHARED_VERSION_MS = 500  # with Redis, a version read from the database serves every process this long
NO_GOING_BACK_SECONDS = 2.0
# A computation's lock expires by itself if its worker dies, or if Redis failed it just when the lock was
# to be deleted; then a waiter takes over. The slowest cached computation (a cold review state at 10^7
# incidents) takes about 4 s.
LOCK_SECONDS = 15
WAIT_SECONDS = 15  # a waiter gives up waiting and computes itself after this long
WAIT_STEP_SECONDS = 0.05
FEED_WINDOW = 50  # the newest calls kept per view for the live feed (walls show 10)
_version_lock = threading.Lock()
_version_memo: dict[str, tuple[float, int]] = {}
_version_high: dict[str, tuple[int, float]] = {}


def data_version() -> int:
    """The current data version of the app's database.

    Remembered for ``VERSION_TTL_SECONDS`` per process; with a Redis cache, also shared for
    ``SHARED_VERSION_MS`` between all processes and hosts, so the database answers at most about two version
    reads a second however many workers and screens there are. A write shows within 0.75 s at worst. Never
    goes backwards within a process (a late writer of an older shared value cannot make a frame flicker back).
    """
    engine = db.current_engine()
    key = engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    with _version_lock:
        memo = _version_memo.get(key)
        if memo and now - memo[0] < VERSION_TTL_SECONDS:
            return memo[1]
    share = getattr(cache.cache, "set_for_ms", None)
    shared_key = f"data-version:{hashlib.sha1(key.encode()).hexdigest()[:16]}"
    version = cache.get(shared_key) if share else None
    if version is None:
        with engine.connect() as conn:
            version = rollups.current_version(conn)
        if share:
            share(shared_key, version, SHARED_VERSION_MS)
    with _version_lock:
        high, seen = _version_high.get(key, (version, now))
        if version < high and now - seen < NO_GOING_BACK_SECONDS:
            version = high  # an older shared value written late; a database rebuilt for real goes back later
        else:
            _version_high[key] = (version, now)
        _version_memo[key] = (now, version)
    return version


def forget_version() -> None:
    """Drop the remembered versions (tests, and after a bulk write in this process)."""
    with _version_lock:
        _version_memo.clear()
        _version_high.clear()


def _key(name: str, version: int, args: tuple) -> str:
    digest = hashlib.sha1(repr(args).encode()).hexdigest()[:20]
    return f"v:{name}:{version}:{digest}"


def _available() -> bool:
    """False while the shared cache is unreachable (then nobody could see a lock or a result)."""
    return getattr(cache.cache, "available", True)


def single_flight(key: str, compute: Callable, timeout: int, name: str = "other"):
    """The cached value under ``key``, computed by one caller at a time across processes and hosts.

    Each computation counts itself in the cache (``computations:<name>``, as Redis INCR), so a load test
    can tell computations from requests."""
    found = cache.get(key)
    if found is not None:
        return found[0]
    lock = f"{key}:lock"
    if _available() and not cache.add(lock, 1, timeout=LOCK_SECONDS):
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(WAIT_STEP_SECONDS)
            found = cache.get(key)
            if found is not None:
                return found[0]
            if not _available():  # this process lost the shared cache meanwhile: nobody can hand it a result
                break
            if not cache.has(lock):  # the computing caller failed (or its lock expired): take over
                if cache.add(lock, 1, timeout=LOCK_SECONDS):
                    break
        else:
            log.warning("waited %d s for %s: computing it here", WAIT_SECONDS, key)
    try:
        value = compute()
        cache.set(key, (value,), timeout=timeout)  # wrapped: a cached None is still a hit
        cache.cache.inc(f"computations:{name}")
        return value
    finally:
        cache.delete(lock)


def derived(name: str, args: tuple, compute: Callable, timeout: int = 3600):
    """``compute(*args)`` cached on (``name``, args, data version): for what is built from versioned data (the
    page parts drawn from it, say), which is then as fresh as the data and built once per version."""
    return single_flight(_key(name, data_version(), args), lambda: compute(*args), timeout, name)


_prefetch_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prefetch")


def prefetch(name: str, args: tuple, compute: Callable) -> None:
    """Have ``derived(name, args, compute)`` computed in the background unless it is cached already, so that
    the request that asks for it next finds it done (or waits for it, single_flight) instead of starting it
    then. The review page asks for its index views only after its book is drawn: computing them meanwhile
    overlaps the server's work with the browser's. One background thread per process; failures are left to
    the request, which computes again and reports."""
    if cache.has(_key(name, data_version(), args)):
        return
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                derived(name, args, compute)
            except Exception as exc:  # noqa: BLE001 - the request computes it again and reports
                log.info("prefetch of %s failed: %s", name, exc.__class__.__name__)

    _prefetch_pool.submit(run)


def versioned(timeout: int = 3600) -> Callable:
    """Cache ``fn(conn, *args)`` on (its name, args, data version); call it as ``fn(*args)``."""

    def decorate(fn: Callable) -> Callable:
        name = f"{fn.__module__}.{fn.__qualname__}"

        def compute(args: tuple):
            with db.current_engine().connect() as conn:
                return fn(conn, *args)

        @functools.wraps(fn)
        def wrapper(*args):
            return derived(name, args, lambda *a: compute(a), timeout)

        wrapper.uncached = fn
        return wrapper

    return decorate


@versioned()
def organisation(conn) -> Organisation:
    """The organisation's words (data/core/organisation.py); a settings change bumps the data version."""
    return org_settings.load(conn)


def organisation_or_default() -> Organisation:
    """The organisation for a page's title: the neutral defaults while the database cannot answer (the login
    page and the wall's shell still draw; the frames report the outage)."""
    try:
        return organisation()
    except SQLAlchemyError as exc:
        log.warning("organisation unreadable, using defaults: %s", exc.__class__.__name__)
        return org_settings.DEFAULT


@versioned()
def wall(conn, minute_iso: str, unit_kind: str = "town", unit_id: int | None = None):
    """One wall frame for a unit, as of the end of a minute (ages on the map move on once a minute)."""
    return wall_frame(conn, datetime.fromisoformat(minute_iso) + timedelta(minutes=1), Unit(unit_kind, unit_id))


@versioned()
def cockpit(conn, today_iso: str, unit_kind: str = "town", unit_id: int | None = None) -> CockpitNumbers:
    """The wall's numbers for a Shanghai day and a unit."""
    return cockpit_numbers(conn, date.fromisoformat(today_iso), Unit(unit_kind, unit_id))


@versioned()
def review(conn, query: str, row: str, today_iso: str):
    """One state of the review page, for its normalised filter query and selected book row."""
    return review_bundle(conn, query, row, date.fromisoformat(today_iso))


@versioned()
def index_views(conn, scope_query: str, today_iso: str):
    """The safety-index views (distribution, funnel plot, rankings) for a unit and sector scope."""
    return views.index_views(conn, date.fromisoformat(today_iso), from_query(scope_query), index_base(today_iso))


@versioned()
def index_base(conn, today_iso: str):
    """Every enterprise and its incident count over the index window, read once per data version for all the
    units whose index views are cut from it."""
    return views.town_base(conn, date.fromisoformat(today_iso))



@versioned()
def feed_window(conn, station_id: int | None = None) -> list[CallRow]:
    """The newest ``FEED_WINDOW`` calls by id, newest first, masked: what every wall's feed filters."""
    return newest_calls(conn, FEED_WINDOW, station_id=station_id)


@versioned()
def feed_start(conn, rows: int, station_id: int | None = None) -> list[CallRow]:
    """A feed's first rows: the newest calls by receipt time, masked."""
    return latest_calls(conn, rows, station_id=station_id)


def calls_since(last_id: int, rows: int, station_id: int | None = None) -> list[CallRow]:
    """What ``calls_after`` answers (calls stored after ``last_id``, oldest first, at most ``rows``), read
    from the shared window, so a thousand walls polling every second cost the database nothing between
    writes. Only a wall that fell behind by more than the window asks the database itself."""
    window = feed_window(station_id)
    newer = [call for call in window if call.id > last_id]
    if len(window) == FEED_WINDOW and len(newer) == len(window):  # there may be a gap below the window
        with db.current_engine().connect() as conn:
            return calls_after(conn, last_id, rows, station_id=station_id)
    return newer[::-1][:rows]

"""Cached entry points for the screens: results keyed on their arguments and the data version.

A cached function takes only repr-stable arguments (ISO dates, strings, ints) and is stored under its
qualified name, the arguments and ``data_version`` (bumped by the rollup triggers on every write), so
new data shows at once while unchanged data costs one tiny version query; with
``EQIAN_CACHE_URL=redis://…`` every worker process and host shares the results, so twenty screens cost
one computation. The version itself is remembered for half a second per process.
"""

from __future__ import annotations

import functools
import threading
import time
from datetime import date, datetime, timedelta
from typing import Callable

from data import db, rollups
from data.cache import cache
from data.cockpit import CockpitNumbers, cockpit_numbers
from data.compstat import Unit
from data.wall import wall_frame

VERSION_TTL_SECONDS = 0.5
_version_lock = threading.Lock()
_version_memo: dict[str, tuple[float, int]] = {}


def data_version() -> int:
    """The current data version of the app's database (remembered briefly per process)."""
    engine = db.current_engine()
    key = engine.url.render_as_string(hide_password=True)
    now = time.monotonic()
    with _version_lock:
        memo = _version_memo.get(key)
        if memo and now - memo[0] < VERSION_TTL_SECONDS:
            return memo[1]
    with engine.connect() as conn:
        version = rollups.current_version(conn)
    with _version_lock:
        _version_memo[key] = (now, version)
    return version


def forget_version() -> None:
    """Drop the remembered versions (tests, and after a bulk write in this process)."""
    with _version_lock:
        _version_memo.clear()


def versioned(timeout: int = 3600) -> Callable:
    """Cache ``fn(conn, *args)`` on (its name, args, data version); call it as ``fn(*args)``."""

    def decorate(fn: Callable) -> Callable:
        def at_version(_version: int, *args):
            with db.current_engine().connect() as conn:
                return fn(conn, *args)

        # flask-caching keys on module and qualified name: give each cached function its own.
        at_version.__module__ = fn.__module__
        at_version.__qualname__ = f"{fn.__qualname__}@version"
        cached = cache.memoize(timeout=timeout)(at_version)

        @functools.wraps(fn)
        def wrapper(*args):
            return cached(data_version(), *args)

        wrapper.uncached = fn
        return wrapper

    return decorate


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
    from data.review import review_bundle  # noqa: PLC0415 - the review module imports this one's siblings

    return review_bundle(conn, query, row, date.fromisoformat(today_iso))


@versioned()
def index_views(conn, scope_query: str, today_iso: str):
    """The safety-index views (distribution, funnel plot, rankings) for a unit and sector scope."""
    from data import index_views as views  # noqa: PLC0415
    from data.review import from_query  # noqa: PLC0415

    return views.index_views(conn, date.fromisoformat(today_iso), from_query(scope_query))

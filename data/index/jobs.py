"""Background jobs: a loop that runs a task every few seconds and outlives any database hiccup."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import Connection, Engine

from data.core.timeutil import local_today
from data.index import safety_index
from data.index import settings as index_settings

log = logging.getLogger(__name__)
INDEX_WAKE = "eqian.index_wake"  # the app's extension key of the event that runs the index job at once


def run_every(task: Callable[[], object], interval: float, stop: threading.Event, name: str,
              wake: threading.Event | None = None) -> None:
    """Call ``task`` every ``interval`` seconds until ``stop`` is set, and at once when ``wake`` is set; failures
    are logged, then retried."""
    failures = 0
    while not stop.is_set():
        try:
            task()
            if failures:
                log.warning("%s recovered after %d failed runs", name, failures)
            failures = 0
        except Exception as exc:  # noqa: BLE001 - a background job must never die of a passing fault
            failures += 1
            if failures in (1, 10) or failures % 100 == 0:
                log.warning("%s failed (%d in a row): %s", name, failures, exc)
        _pause(interval, stop, wake)


def _pause(interval: float, stop: threading.Event, wake: threading.Event | None) -> None:
    """Wait ``interval`` seconds, less when ``stop`` or ``wake`` is set (``wake`` is cleared for the next one)."""
    if wake is None:
        stop.wait(interval)
        return
    deadline = time.monotonic() + interval
    while not stop.is_set() and not wake.is_set() and time.monotonic() < deadline:
        wake.wait(min(1.0, max(0.0, deadline - time.monotonic())))
    wake.clear()


def start(task: Callable[[], object], interval: float, name: str, stop: threading.Event | None = None,
          wake: threading.Event | None = None) -> threading.Event:
    """Run ``run_every`` in a daemon thread; returns the event that stops it."""
    stop = stop or threading.Event()
    threading.Thread(target=run_every, args=(task, interval, stop, name, wake), name=name, daemon=True).start()
    return stop


def refresh_current_index(engine: Engine) -> int:
    """Recompute this month's safety index (and last month's during the first days of a month); every stored
    month when a new programme start or base year left the index stale (data/index/settings.py)."""
    today = local_today()
    months = [safety_index.month_start(today)]
    if today.day <= 3:
        months.insert(0, safety_index.month_start(today - timedelta(days=today.day)))
    with engine.begin() as conn:
        return refresh_months(conn, months, today)[0]


def refresh_months(conn: Connection, months: list[date], today: date) -> tuple[int, list[date]]:
    """Refresh ``months``, or every month when a new programme start or base year left the index stale (then no
    longer); answers the rows written and the months refreshed. The app's job and ``flask refresh-index``."""
    stale = index_settings.stale(conn)
    if stale:
        months = safety_index.index_months(conn, today)
    written = safety_index.refresh(conn, months, today)
    if stale:
        index_settings.clear_stale(conn)
    return written, months


def index_refresher(engine: Engine) -> Callable[[], int]:
    """The running app's index task: ``refresh_current_index``, with a configuration it cannot use (no programme
    start) logged once as a warning naming the fix, not as a failure on every run; it runs again once fixed."""
    warned: set[str] = set()

    def task() -> int:
        try:
            written = refresh_current_index(engine)
        except safety_index.IndexConfigError as exc:
            if str(exc) not in warned:
                warned.add(str(exc))
                log.warning("index refresher: %s. The index is not refreshed until then.", exc)
            return 0
        if warned:
            log.warning("index refresher: configuration fixed, index refreshed")
            warned.clear()
        return written

    return task

"""Background jobs: a loop that runs a task every few seconds and outlives any database hiccup."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Engine

from data.core.timeutil import local_today
from data.index import safety_index

log = logging.getLogger(__name__)


def run_every(task: Callable[[], object], interval: float, stop: threading.Event, name: str) -> None:
    """Call ``task`` every ``interval`` seconds until ``stop`` is set; failures are logged, then retried."""
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
        stop.wait(interval)


def start(task: Callable[[], object], interval: float, name: str, stop: threading.Event | None = None):
    """Run ``run_every`` in a daemon thread; returns the event that stops it."""
    stop = stop or threading.Event()
    threading.Thread(target=run_every, args=(task, interval, stop, name), name=name, daemon=True).start()
    return stop


def refresh_current_index(engine: Engine) -> int:
    """Recompute this month's safety index (and last month's during the first days of a month)."""
    today = local_today()
    months = [safety_index.month_start(today)]
    if today.day <= 3:
        months.insert(0, safety_index.month_start(today - timedelta(days=today.day)))
    with engine.begin() as conn:
        return safety_index.refresh(conn, months, today)


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

"""What the first screen shows, assembled from the subject modules and cached.

The rolling-year figures cover complete days only, so they are cached per Shanghai day; today's count
and the newest calls are read fresh on every refresh (they are index lookups).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from data import db
from data.cache import cache
from data.incidents import CallRow, count_today, latest_calls
from data.metrics import Change
from data.programme import FIGURE_ORDER, ProgrammeTotals, programme_start, programme_totals, rolling_year_change
from data.timeutil import local_today, now_utc


@dataclass(frozen=True)
class Overview:
    """One refresh of the first screen."""

    at: datetime
    today_count: int
    figures: dict[str, Change]
    totals: ProgrammeTotals | None
    calls: list[CallRow]
    demo: bool


@cache.memoize(timeout=300)
def rolling_figures(today_iso: str) -> dict[str, Change]:
    """The five rolling-year figures for a Shanghai day (cached per day)."""
    today = date.fromisoformat(today_iso)
    with db.current_engine().connect() as conn:
        return {figure: rolling_year_change(conn, figure, today) for figure in FIGURE_ORDER}


@cache.memoize(timeout=30)
def totals_since_start(start_iso: str) -> ProgrammeTotals:
    """Programme totals since the start (cached briefly: rectifications arrive during the day)."""
    with db.current_engine().connect() as conn:
        return programme_totals(conn, date.fromisoformat(start_iso))


def overview(now: datetime | None = None) -> Overview:
    """Everything the first screen shows at ``now``."""
    now = now or now_utc()
    engine = db.current_engine()
    with engine.connect() as conn:
        today_count = count_today(conn, now)
        calls = latest_calls(conn, limit=10)  # the first screen is a wall too: always masked
        start = programme_start(conn)
        demo = db.get_meta(conn, "demo_settings") is not None
    figures = rolling_figures(local_today(now).isoformat())
    totals = totals_since_start(start.isoformat()) if start else None
    return Overview(now, today_count, figures, totals, calls, demo)

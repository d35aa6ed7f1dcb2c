"""Period comparisons (the CompStat book) for any unit and breakdown, read from the rollups.

A unit is the town, a station, a park or an enterprise. A breakdown is a dimension of a rollup family:
incident category, subcategory or enterprise_related; dispute type or settled level; hazard type or
severity. Each period is compared with the same dates a year earlier (同比), the period just before (环比),
the baseline year and, on request, the Spring-Festival-aligned year earlier.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection

from data.core import periods, rollups
from data.core.periods import Window
from data.core.scope import TOWN, Unit
from data.counts.metrics import Change, exposure

BREAKDOWNS = {
    "incidents": ("category", "subcategory", "enterprise_related"),
    "disputes": ("dispute_type", "settled_level", "with_enterprise", "status"),
    "hazards": ("hazard_type", "severity", "status"),
}


def unit_counts(conn: Connection, family: str, window: Window, unit: Unit = TOWN,
                filters: Mapping | None = None, group_by: tuple[str, ...] = ()) -> dict[tuple, int]:
    """Counts of a family for a unit over a window, by ``group_by``."""
    filters = dict(filters or {})
    if unit.kind == "enterprise":  # few rows, indexed by (enterprise_id, time): read them directly
        return rollups.counts_raw(conn, family, window, filters, group_by, enterprise_id=unit.id)
    return rollups.counts(conn, family, window, {**unit.filters(), **filters}, group_by)


def covered_counts(conn: Connection, family: str, window: Window, unit: Unit = TOWN,
                   filters: Mapping | None = None, group_by: tuple[str, ...] = ()) -> dict[tuple, int] | None:
    """``unit_counts``, or None when the window begins before the family's first record (无数据, not 0)."""
    if not rollups.covers(rollups.first_day(conn, family), window):
        return None
    return unit_counts(conn, family, window, unit, filters, group_by)


def covered_total(conn: Connection, family: str, window: Window, unit: Unit = TOWN,
                  filters: Mapping | None = None) -> int | None:
    """One count over a window, or None when the data do not cover it."""
    counts = covered_counts(conn, family, window, unit, filters)
    return None if counts is None else sum(counts.values())


@dataclass(frozen=True)
class Comparison:
    """One period of one row: the count now against each comparison window."""

    kind: str
    window: Window
    now: int | None  # None: the data do not cover the window (无数据)
    year_earlier: Change
    year_earlier_window: Window
    before: Change | None
    before_window: Window | None
    baseline: Change
    baseline_window: Window

    @property
    def counts(self) -> tuple[int | None, int | None]:
        return self.now, self.year_earlier.before


def comparison_windows(kind: str, today: date, baseline_year: int, custom: Window | None = None,
                       festival_aligned: bool = False) -> dict[str, Window | None]:
    """The window of a period and of each window it is compared with."""
    if kind == "custom":
        if custom is None:
            raise ValueError("a custom period needs its window")
        window = periods.complete_part(custom, today)
    else:
        window = periods.period_window(kind, today)
    earlier = (periods.festival_aligned_year_earlier(window) if festival_aligned
               else periods.year_earlier(window))
    before = None if kind == "ytd" else periods.period_before(kind, window)
    return {"now": window, "year_earlier": earlier, "before": before,
            "baseline": periods.baseline_window(window, baseline_year)}


MISSING: dict = {}  # the counts of a window the data do not cover: every key reads None (无数据)


def _get(counts: dict | None, key: tuple) -> int | None:
    return None if counts is MISSING else counts.get(key, 0)


def compare(conn: Connection, family: str, kind: str, today: date, baseline_year: int, unit: Unit = TOWN,
            filters: Mapping | None = None, breakdown: str | None = None, custom: Window | None = None,
            festival_aligned: bool = False, keys: Iterable[tuple] = ()) -> dict[tuple, Comparison]:
    """Comparisons of a period for each value of ``breakdown`` found in any window, and for each of ``keys``
    (zeros where none were found), or one total under key ().

    A window that begins before the family's first record is not covered by the data: its counts are None
    (无数据), so a comparison against it has no percentage and no significance (never 新增 against a 0 that
    only means "not imported")."""
    windows = comparison_windows(kind, today, baseline_year, custom, festival_aligned)
    group_by = (breakdown,) if breakdown else ()
    first = rollups.first_day(conn, family)
    counted = {name: (None if w is None else unit_counts(conn, family, w, unit, filters, group_by)
                      if rollups.covers(first, w) else MISSING) for name, w in windows.items()}
    found = set(keys).union(*(c.keys() for c in counted.values() if c)) if breakdown else {()}
    result = {}
    for key in sorted(found, key=str):
        now = _get(counted["now"], key)

        def against(name: str, now=now, key=key) -> Change:
            return Change(now, _get(counted[name], key), exposure(windows["now"], windows[name]))

        result[key] = Comparison(
            kind=kind,
            window=windows["now"],
            now=now,
            year_earlier=against("year_earlier"),
            year_earlier_window=windows["year_earlier"],
            before=against("before") if counted["before"] is not None else None,
            before_window=windows["before"],
            baseline=against("baseline"),
            baseline_window=windows["baseline"],
        )
    return result

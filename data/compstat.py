"""Period comparisons (the CompStat book) for any unit and breakdown, read from the rollups.

A unit is the town, a station, a park or an enterprise. A breakdown is a dimension of a rollup family:
incident category, subcategory or enterprise_related; dispute type or settled level; hazard type or
severity. Each period is compared with the same dates a year earlier (同比), the period just before (环比),
the baseline year and, on request, the Spring-Festival-aligned year earlier.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from sqlalchemy import Connection

from data import periods, rollups
from data.metrics import Change
from data.periods import Window

UNIT_KINDS = ("town", "station", "park", "enterprise")
BREAKDOWNS = {
    "incidents": ("category", "subcategory", "enterprise_related"),
    "disputes": ("dispute_type", "settled_level", "with_enterprise", "status"),
    "hazards": ("hazard_type", "severity", "status"),
}


@dataclass(frozen=True)
class Unit:
    """Where to count: the whole town, or one station, park or enterprise."""

    kind: str = "town"
    id: int | None = None

    def __post_init__(self):
        if self.kind not in UNIT_KINDS:
            raise ValueError(f"unknown unit kind {self.kind!r}; use one of {', '.join(UNIT_KINDS)}")
        if (self.kind == "town") != (self.id is None):
            raise ValueError(f"unit {self.kind} {'takes no' if self.kind == 'town' else 'needs an'} id")

    def filters(self) -> dict:
        return {} if self.kind in ("town", "enterprise") else {f"{self.kind}_id": self.id}


TOWN = Unit()


def unit_counts(conn: Connection, family: str, window: Window, unit: Unit = TOWN,
                filters: Mapping | None = None, group_by: tuple[str, ...] = ()) -> dict[tuple, int]:
    """Counts of a family for a unit over a window, by ``group_by``."""
    filters = dict(filters or {})
    if unit.kind == "enterprise":  # few rows, indexed by (enterprise_id, time): read them directly
        return rollups.counts_raw(conn, family, window, filters, group_by, enterprise_id=unit.id)
    return rollups.counts(conn, family, window, {**unit.filters(), **filters}, group_by)


@dataclass(frozen=True)
class Comparison:
    """One period of one row: the count now against each comparison window."""

    kind: str
    window: Window
    now: int
    year_earlier: Change
    year_earlier_window: Window
    before: Change | None
    before_window: Window | None
    baseline: Change
    baseline_window: Window

    @property
    def counts(self) -> tuple[int, int]:
        return self.now, self.year_earlier.before


def comparison_windows(kind: str, today: date, baseline_year: int, custom: Window | None = None,
                       festival_aligned: bool = False) -> dict[str, Window | None]:
    """The window of a period and of each window it is compared with."""
    window = custom if kind == "custom" else periods.period_window(kind, today)
    if window is None:
        raise ValueError("a custom period needs its window")
    earlier = (periods.festival_aligned_year_earlier(window) if festival_aligned
               else periods.year_earlier(window))
    before = None if kind == "ytd" else periods.period_before(kind, window)
    return {"now": window, "year_earlier": earlier, "before": before,
            "baseline": periods.baseline_window(window, baseline_year)}


def compare(conn: Connection, family: str, kind: str, today: date, baseline_year: int, unit: Unit = TOWN,
            filters: Mapping | None = None, breakdown: str | None = None, custom: Window | None = None,
            festival_aligned: bool = False) -> dict[tuple, Comparison]:
    """Comparisons of a period for each value of ``breakdown`` (or one total under key ())."""
    windows = comparison_windows(kind, today, baseline_year, custom, festival_aligned)
    group_by = (breakdown,) if breakdown else ()
    counted = {name: (unit_counts(conn, family, w, unit, filters, group_by) if w is not None else None)
               for name, w in windows.items()}
    keys = sorted(set().union(*(c.keys() for c in counted.values() if c is not None)), key=str) if breakdown else [()]
    result = {}
    for key in keys:
        now = counted["now"].get(key, 0)
        result[key] = Comparison(
            kind=kind,
            window=windows["now"],
            now=now,
            year_earlier=Change(now, counted["year_earlier"].get(key, 0)),
            year_earlier_window=windows["year_earlier"],
            before=Change(now, counted["before"].get(key, 0)) if counted["before"] is not None else None,
            before_window=windows["before"],
            baseline=Change(now, counted["baseline"].get(key, 0)),
            baseline_window=windows["baseline"],
        )
    return result

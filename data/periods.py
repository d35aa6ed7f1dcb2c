"""Periods and the windows they are compared with (同比, 环比, baseline year, Spring-Festival aligned).

A window is a run of Shanghai calendar days, first..last inclusive. Periods run "to date": this week is
Monday to today, this month the 1st to today, and so on. Comparison rules:

- 同比 (year over year): the same dates a year earlier; 29 February maps to 28 February.
- 环比 (period over period): the period just before, of the same kind and the same elapsed length
  (this month to the 29th against last month to the 29th, clamped to its length); for year to date
  the period before is the same dates a year earlier, so 环比 equals 同比 there; a custom range is
  compared with the equally long range just before it.
- baseline: the same dates in the baseline year (default: the year before the programme start).
- Spring-Festival aligned 同比: for windows touching January or February, the year-earlier window is
  moved by the difference between the two lunar new-year dates, so festival days meet festival days.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from lunardate import LunarDate

PERIOD_KINDS = ("week", "28d", "month", "quarter", "ytd", "custom")


@dataclass(frozen=True, order=True)
class Window:
    """Shanghai days first..last inclusive."""

    first: date
    last: date

    def __post_init__(self):
        if self.last < self.first:
            raise ValueError(f"window ends before it starts: {self.first}..{self.last}")

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def shift_days(self, days: int) -> "Window":
        delta = timedelta(days=days)
        return Window(self.first + delta, self.last + delta)

    def shift_years(self, years: int) -> "Window":
        return Window(shift_year(self.first, years), shift_year(self.last, years))

    def key(self) -> tuple[str, str]:
        """A hashable, repr-stable form for cache keys."""
        return (self.first.isoformat(), self.last.isoformat())


def shift_year(day: date, years: int) -> date:
    """The same month and day ``years`` later; 29 February becomes 28 February in a common year."""
    year = day.year + years
    if day.month == 2 and day.day == 29 and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, day.month, day.day)


@lru_cache(maxsize=64)
def spring_festival(year: int) -> date:
    """Lunar new year's day (春节) of a Gregorian year."""
    return LunarDate(year, 1, 1).to_solar_date()


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def period_window(kind: str, today: date, first: date | None = None, last: date | None = None) -> Window:
    """The window of a period kind as of ``today`` (custom takes first and last)."""
    if kind == "week":
        return Window(today - timedelta(days=today.weekday()), today)
    if kind == "28d":
        return Window(today - timedelta(days=27), today)
    if kind == "month":
        return Window(_month_start(today), today)
    if kind == "quarter":
        return Window(_quarter_start(today), today)
    if kind == "ytd":
        return Window(date(today.year, 1, 1), today)
    if kind == "custom":
        if first is None or last is None:
            raise ValueError("a custom period needs a first and a last day")
        return Window(first, last)
    raise ValueError(f"unknown period kind {kind!r}; use one of {', '.join(PERIOD_KINDS)}")


def year_earlier(window: Window) -> Window:
    """同比: the same dates a year earlier."""
    return window.shift_years(-1)


def _same_elapsed(start: date, elapsed_days: int, end_of_block: date) -> Window:
    return Window(start, min(start + timedelta(days=elapsed_days - 1), end_of_block))


def period_before(kind: str, window: Window) -> Window:
    """环比: the period just before, of the same kind and elapsed length."""
    if kind == "week":
        return window.shift_days(-7)
    if kind == "28d":
        return window.shift_days(-28)
    if kind in ("month", "quarter"):
        months = 1 if kind == "month" else 3
        start = _add_months(window.first, -months)
        block_end = window.first - timedelta(days=1)
        if window.last == _add_months(window.first, months) - timedelta(days=1):
            return Window(start, block_end)  # a whole month or quarter against the whole one before
        return _same_elapsed(start, window.days, block_end)
    if kind == "ytd":
        return year_earlier(window)
    if kind == "custom":
        return window.shift_days(-window.days)
    raise ValueError(f"unknown period kind {kind!r}")


def baseline_window(window: Window, baseline_year: int) -> Window:
    """The same dates in the baseline year (a window spanning New Year keeps its span)."""
    return window.shift_years(baseline_year - window.last.year)


def default_baseline_year(programme_start: date) -> int:
    """The year before the programme started."""
    return programme_start.year - 1


def touches_jan_feb(window: Window) -> bool:
    """Whether any day of the window falls in January or February."""
    day = window.first
    while day <= window.last:
        if day.month in (1, 2):
            return True
        if day.month >= 3:  # jump to next January
            day = date(day.year + 1, 1, 1)
        else:
            day += timedelta(days=1)
    return False


def festival_aligned_year_earlier(window: Window) -> Window:
    """同比 aligned on the Spring Festival: for January–February windows, shift by the festival's move."""
    plain = year_earlier(window)
    if not touches_jan_feb(window):
        return plain
    year = window.first.year if window.first.month <= 2 else window.last.year
    offset = (spring_festival(year - 1) - shift_year(spring_festival(year), -1)).days
    return plain.shift_days(offset)

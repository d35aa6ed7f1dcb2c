"""Periods and the windows they are compared with (同比, 环比, baseline year, Spring-Festival aligned).

A window is a run of Shanghai calendar days, first..last inclusive.

**The to-date rule** (one rule for every screen, file and report): every "to date" window ends with the
last complete day, yesterday (截至昨日24时), and so does every window it is compared with. No window ever
holds a part of a day, so 本期 and 去年同期 always count the same whole days and the significance test
compares like with like. This week is the week that holds yesterday, Monday to yesterday; on a Monday that
is the whole of last week (named 上周), on the 1st the whole of last month (上月), on 1 January the whole of
last year (上年). A custom range that reaches today is cut at yesterday. Only the wall's "today" figures
count the day in progress, and they are compared with the same weekday up to the same time of day.

Comparison rules:

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

    def shift_days(self, days: int) -> Window:
        delta = timedelta(days=days)
        return Window(self.first + delta, self.last + delta)

    def shift_years(self, years: int) -> Window:
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


def month_end(day: date) -> date:
    """The last day of the month holding ``day``."""
    return _add_months(day, 1) - timedelta(days=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, 1)


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


class NoCompleteDay(ValueError):
    """A window that has no complete day yet (it begins today or later)."""


def last_complete_day(today: date) -> date:
    """Yesterday: the last whole day, where every to-date window ends."""
    return today - timedelta(days=1)


def period_start(kind: str, day: date) -> date:
    """The first day of the week, month, quarter or year holding ``day`` (28 days: 27 days before it)."""
    if kind == "week":
        return day - timedelta(days=day.weekday())
    if kind == "28d":
        return day - timedelta(days=27)
    if kind == "month":
        return _month_start(day)
    if kind == "quarter":
        return _quarter_start(day)
    if kind == "ytd":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown period kind {kind!r}; use one of {', '.join(PERIOD_KINDS)}")


def period_window(kind: str, today: date, first: date | None = None, last: date | None = None) -> Window:
    """The window of a period kind as of ``today``, ending with the last complete day (custom: first..last,
    cut at that day)."""
    end = last_complete_day(today)
    if kind == "custom":
        if first is None or last is None:
            raise ValueError("a custom period needs a first and a last day")
        return complete_part(Window(first, last), today)
    return Window(period_start(kind, end), end)


def complete_part(window: Window, today: date) -> Window:
    """The whole days of ``window`` as of ``today``: cut at yesterday; NoCompleteDay if none has ended."""
    end = last_complete_day(today)
    if window.first > end:
        raise NoCompleteDay(f"{window.first.isoformat()}..{window.last.isoformat()} has no complete day yet "
                            f"(the last complete day is {end.isoformat()})")
    return window if window.last <= end else Window(window.first, end)


def period_name(kind: str, window: Window) -> str:
    """How a screen names a period's window (a key of the strings table, after ``period_``): ``week``, or
    ``prev_week`` when the window (to yesterday) is the whole of the previous week, as on a Monday; the same
    for month, quarter and ytd (上月, 上季度, 上年); ``28d`` and ``custom`` keep their names."""
    if kind not in ("week", "month", "quarter", "ytd"):
        return kind
    next_day = window.last + timedelta(days=1)
    return f"prev_{kind}" if period_start(kind, next_day) == next_day else kind


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

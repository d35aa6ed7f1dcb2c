"""Pure maths of comparisons: change, percentage with an honest zero base, and Poisson significance.

No SQL and no Dash here: every function takes numbers and returns numbers, so each can be checked
against a hand computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from data.core.periods import Window

NOTABLE_Z = 2.0
SIGNIFICANT_Z = 3.0


@dataclass(frozen=True)
class Change:
    """A count now against a count before; either is None when the data do not cover its window (无数据:
    no data is not zero, so there is no difference, percentage or significance either)."""

    now: int | None
    before: int | None
    # days of the window now / days of the window before: 1 but where 29 February (or a month clamped to a
    # shorter one) makes the two differ; then the percentage and the significance compare daily rates, so a
    # two-day week holding 29 February is not +100% against the one day a year earlier (the counts stay raw)
    exposure: float = 1.0

    @property
    def missing(self) -> bool:
        """Whether a side has no data (its window lies, wholly or partly, before the data begin)."""
        return self.now is None or self.before is None

    @property
    def diff(self) -> int | None:
        return None if self.missing else self.now - self.before

    @property
    def pct(self) -> float | None:
        """Percent change; None when the base is zero (the screen shows 新增 or —, never inf) or missing."""
        return None if self.missing else percent_change(self.now, self.before * self.exposure)

    @property
    def z(self) -> float | None:
        return None if self.missing else poisson_z(self.now, self.before * self.exposure)

    @property
    def significance(self) -> str:
        """significant / notable / noise, or 'none' when a side has no data."""
        return "none" if self.missing else significance(self.z)


def add_changes(changes) -> Change:
    """The sum of several changes side by side; a side with no data in any part has no data."""
    changes = list(changes)
    now = [c.now for c in changes]
    before = [c.before for c in changes]
    exposure = changes[0].exposure if changes else 1.0  # the parts of a total share their windows
    return Change(None if None in now else sum(now), None if None in before else sum(before), exposure)


def exposure(now: Window, before: Window) -> float:
    """How many times longer the window now is than the window it is compared with (days / days)."""
    return now.days / before.days


def percent_change(now: float, before: float) -> float | None:
    """100 * (now - before) / before, or None for a zero base."""
    if before == 0:
        return None
    return 100.0 * (now - before) / before


def poisson_z(now: float, before: float) -> float:
    """Variance-stabilised Poisson test statistic z = 2(sqrt(now) - sqrt(before))."""
    if now < 0 or before < 0:
        raise ValueError(f"counts must not be negative: now={now}, before={before}")
    return 2.0 * (math.sqrt(now) - math.sqrt(before))


def significance(z: float) -> str:
    """'significant' for |z| >= 3, 'notable' for |z| >= 2, else 'noise'."""
    if abs(z) >= SIGNIFICANT_Z:
        return "significant"
    if abs(z) >= NOTABLE_Z:
        return "notable"
    return "noise"


NO_DATA = "无数据"


def format_change(change: Change) -> str:
    """A change's percentage as the screen writes it (format_pct), or 无数据 when a side has no data."""
    return NO_DATA if change.missing else format_pct(change.pct, change.now)


def format_pct(pct: float | None, now: int | None = 0) -> str:
    """A percentage as the screen writes it: +3.4%, -11.2%; 新增 for growth from zero, — for 0 -> 0."""
    if pct is None:
        if now is None:
            return NO_DATA
        return "新增" if now > 0 else "—"
    rounded = Decimal(repr(pct)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "0.0%"  # no "-0.0%" or "+0.0%"
    return f"{rounded:+.1f}%"

"""Pure maths of comparisons: change, percentage with an honest zero base, and Poisson significance.

No SQL and no Dash here: every function takes numbers and returns numbers, so each can be checked
against a hand computation.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from dataclasses import dataclass

NOTABLE_Z = 2.0
SIGNIFICANT_Z = 3.0


@dataclass(frozen=True)
class Change:
    """A count now against a count before."""

    now: int
    before: int

    @property
    def diff(self) -> int:
        return self.now - self.before

    @property
    def pct(self) -> float | None:
        """Percent change; None when the base is zero (the screen shows 新增 or —, never inf)."""
        return percent_change(self.now, self.before)

    @property
    def z(self) -> float:
        return poisson_z(self.now, self.before)

    @property
    def significance(self) -> str:
        return significance(self.z)


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


def format_pct(pct: float | None, now: int = 0) -> str:
    """A percentage as the screen writes it: +3.4%, -11.2%; 新增 for growth from zero, — for 0 -> 0."""
    if pct is None:
        return "新增" if now > 0 else "—"
    rounded = Decimal(repr(pct)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if rounded == 0:
        return "0.0%"  # no "-0.0%" or "+0.0%"
    return f"{rounded:+.1f}%"

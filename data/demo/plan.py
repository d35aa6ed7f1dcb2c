"""How many events of each kind happen on each day, and the calibration that pins the published figures.

The counts are decided before any event is placed: a rate model (weekday, season, Spring Festival,
growth, and a programme effect after the programme start) gives the expected count per day and cell;
Poisson draws give natural counts; then the rolling-365-day windows are adjusted by a handful of events
so that the five published year-over-year figures come out to the published decimal. Random sampling
alone would only land near them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import numpy as np

from data.core.periods import spring_festival
from data.counts.programme import rolling_windows

# The programme's published results (last 365 days against the 365 before), in percent.
TARGETS = {
    "incidents": -11.2,
    "enterprise_incidents": -25.2,
    "enterprise_economic_disputes": -13.5,
    "traffic_accidents": -9.5,
    "labour_disputes": -6.6,
}
# Published totals since the programme start, at scale 1.
ENTERPRISE_CRIMINAL_CASES = 52
ENTERPRISE_CRIMINAL_RECOVERED_YUAN = 82_000_000
HAZARDS_RECTIFIED_MIN = 2_700

# Cells partition the events so that each published figure is a sum of whole cells.
INCIDENT_CELLS = ("inc_ent_crim", "inc_ent_traffic", "inc_ent_other", "inc_traffic", "inc_other")
DISPUTE_CELLS = ("dsp_labour", "dsp_econ_ent", "dsp_other")
HAZARD_CELLS = ("hzd",)
CELLS = INCIDENT_CELLS + DISPUTE_CELLS + HAZARD_CELLS
KIND_OF_CELL = {c: "incident" for c in INCIDENT_CELLS} | {c: "dispute" for c in DISPUTE_CELLS} | {"hzd": "hazard"}

# Expected events a year at scale 1 at the programme start, before its effect.
BASE_PER_YEAR = {
    "inc_ent_crim": 55, "inc_ent_traffic": 900, "inc_ent_other": 17_100, "inc_traffic": 8_100,
    "inc_other": 73_900, "dsp_labour": 2_600, "dsp_econ_ent": 1_000, "dsp_other": 2_400, "hzd": 1_750,
}
# Which cells make up each published figure.
FIGURE_CELLS = {
    "enterprise_incidents": ("inc_ent_crim", "inc_ent_traffic", "inc_ent_other"),
    "traffic_accidents": ("inc_ent_traffic", "inc_traffic"),
    "incidents": INCIDENT_CELLS,
    "enterprise_economic_disputes": ("dsp_econ_ent",),
    "labour_disputes": ("dsp_labour",),
}
# The cell each figure's calibration adjusts (solved in this order, each after the ones it depends on).
FIGURE_ADJUSTS = {
    "enterprise_incidents": "inc_ent_other",
    "traffic_accidents": "inc_traffic",
    "incidents": "inc_other",
    "enterprise_economic_disputes": "dsp_econ_ent",
    "labour_disputes": "dsp_labour",
}
# Cells whose programme effect is shared with another (they move together).
SHARED_EFFECT = {"inc_ent_traffic": "inc_ent_other"}
PRE_PROGRAMME_GROWTH = 0.03  # a year
UNCALIBRATED_EFFECT = {"dsp_other": -0.08, "hzd": 0.0}  # yearly change after the start

WEEKDAY = {
    "incident": (1.04, 1.00, 0.99, 1.00, 1.03, 1.02, 0.92),
    "dispute": (1.15, 1.10, 1.05, 1.05, 1.05, 0.85, 0.75),
    "hazard": (1.25, 1.25, 1.25, 1.2, 1.15, 0.15, 0.05),
}
MONTH = (0.95, 0.90, 1.00, 1.00, 1.02, 1.05, 1.10, 1.10, 1.03, 1.00, 0.98, 0.97)
HAZARD_CAMPAIGNS = (((3, 10), (4, 10)), ((6, 10), (7, 10)), ((9, 15), (10, 15)), ((12, 1), (12, 25)))


def _sf_offsets(ordinals: np.ndarray) -> np.ndarray:
    """Days from the nearest Spring Festival, for each day ordinal."""
    years = np.array([date.fromordinal(int(o)).year for o in ordinals])
    best = np.full(len(ordinals), 10_000)
    for delta in (-1, 0, 1):
        sf = np.array([spring_festival(int(y) + delta).toordinal() for y in years])
        off = ordinals - sf
        best = np.where(np.abs(off) < np.abs(best), off, best)
    return best


def _ramp(x: np.ndarray, points: list[tuple[float, float]]) -> np.ndarray:
    xs, ys = zip(*points, strict=True)
    return np.interp(x, xs, ys)


def seasonal_factor(cell: str, ordinals: np.ndarray) -> np.ndarray:
    """Weekday, month and Spring Festival shape of a cell's daily rate (mean about 1)."""
    kind = KIND_OF_CELL[cell]
    dates = [date.fromordinal(int(o)) for o in ordinals]
    weekday = np.array(WEEKDAY[kind])[[d.weekday() for d in dates]]
    month = np.array(MONTH)[[d.month - 1 for d in dates]] if kind != "hazard" else 1.0
    sf = _sf_offsets(ordinals)
    # Migrant workers leave before the festival and come back after the Lantern Festival.
    lull = 1.0 - 0.55 * _ramp(sf, [(-20, 0), (-5, 1), (8, 1), (25, 0)])
    factor = weekday * month * lull
    if cell == "dsp_labour":  # wage-arrears disputes peak in the weeks before the festival
        factor = factor * (1.0 + 2.2 * _ramp(sf, [(-55, 0), (-18, 1), (-6, 0.3), (-3, 0)]))
    if kind == "hazard":
        campaign = np.zeros(len(dates), dtype=bool)
        for (m1, d1), (m2, d2) in HAZARD_CAMPAIGNS:
            campaign |= np.array([date(d.year, m1, d1) <= d <= date(d.year, m2, d2) for d in dates])
        factor = factor * np.where(campaign, 3.0, 1.0)
    return factor


def trend_factor(ordinals: np.ndarray, programme_start: date, effect: float) -> np.ndarray:
    """Growth before the programme start, a steady yearly change ``effect`` (e.g. -0.12) after it."""
    years = (ordinals - programme_start.toordinal()) / 365.0
    before = (1 + PRE_PROGRAMME_GROWTH) ** years
    after = (1 + effect) ** np.maximum(years, 0.0)
    return np.where(years < 0, before, after)


def expected_daily(cell: str, ordinals: np.ndarray, programme_start: date, effect: float, scale: float):
    """Expected count of a cell on each day."""
    base = BASE_PER_YEAR[cell] * scale / 365.0
    hazard_boost = 1.0
    if cell == "hzd":  # more inspections once the programme runs
        hazard_boost = np.where(ordinals >= programme_start.toordinal(), 1.35, 1.0)
    season = _seasonal_factor_of(cell, np.asarray(ordinals, dtype=np.int64).tobytes())
    return base * season / _season_mean(cell) * trend_factor(ordinals, programme_start, effect) * hazard_boost


@lru_cache(maxsize=64)
def _seasonal_factor_of(cell: str, ordinals: bytes) -> np.ndarray:
    """``seasonal_factor`` memoised on the days (as bytes): solving an effect asks for the same days 60 times."""
    factor = np.asarray(seasonal_factor(cell, np.frombuffer(ordinals, dtype=np.int64)), dtype=float)
    factor.flags.writeable = False
    return factor


@lru_cache(maxsize=16)
def _season_mean(cell: str) -> float:
    ordinals = np.arange(date(2021, 1, 1).toordinal(), date(2025, 1, 1).toordinal())
    return float(seasonal_factor(cell, ordinals).mean())


@dataclass
class Plan:
    """Daily counts per cell from ``first`` to ``today`` inclusive, and the effects that made them."""

    first: date
    today: date
    programme_start: date
    counts: dict[str, np.ndarray]
    effects: dict[str, float]
    figures: dict[str, tuple[int, int]] = field(default_factory=dict)  # figure -> (this window, before)

    def index(self, day: date) -> int:
        return (day - self.first).days

    def window_sum(self, cells, first: date, last: date) -> int:
        return int(sum(self.counts[c][self.index(first): self.index(last) + 1].sum() for c in cells))


def _solve_effect(target_ratio, windows, ordinals, programme_start, scale, cells_fixed, cell_free, shared):
    """The yearly programme effect of ``cell_free`` that makes the expected window ratio hit the target."""
    (a0, a1), (b0, b1) = windows
    ia = (ordinals >= a0.toordinal()) & (ordinals <= a1.toordinal())
    ib = (ordinals >= b0.toordinal()) & (ordinals <= b1.toordinal())
    fixed_a = sum(float(v[ia].sum()) for v in cells_fixed)
    fixed_b = sum(float(v[ib].sum()) for v in cells_fixed)

    def ratio(effect):
        free = sum(expected_daily(c, ordinals, programme_start, effect, scale) for c in (cell_free, *shared))
        return (fixed_a + free[ia].sum()) / (fixed_b + free[ib].sum())

    low, high = -0.9, 0.5
    for _ in range(60):
        mid = (low + high) / 2
        if ratio(mid) > target_ratio:
            high = mid
        else:
            low = mid
    return (low + high) / 2


def calibrated_pair(a: int, b: int, pct: float, tolerance: float = 0.04) -> tuple[int, int]:
    """The integer pair (A, B) nearest (a, b) whose change 100*(A/B-1) lies within ``tolerance`` of pct."""
    ratio = 1 + pct / 100.0
    best = None
    for radius in range(0, max(b, 1) + 10_000):
        for bb in {max(1, b - radius), b + radius}:
            low = max(0, math.floor((ratio - tolerance / 100) * bb) - 1)
            high = math.ceil((ratio + tolerance / 100) * bb) + 1
            valid = [aa for aa in range(low, high + 1) if abs(100.0 * (aa / bb - 1) - pct) < tolerance]
            if not valid:
                continue
            aa = min(valid, key=lambda x: (abs(x - a), x))
            cost = abs(aa - a) + abs(bb - b)
            if best is None or cost < best[0]:
                best = (cost, aa, bb)
        if best is not None and best[0] <= radius:
            break
    if best is None:
        raise ValueError(f"no pair near ({a}, {b}) gives {pct}%")
    return best[1], best[2]


def shift_total(counts: np.ndarray, delta: int, rng: np.random.Generator) -> np.ndarray:
    """Add or remove ``delta`` events across days, in proportion to each day's count."""
    counts = counts.copy()
    if delta > 0:
        weights = counts + 0.5
        counts += rng.multinomial(delta, weights / weights.sum())
    elif delta < 0:
        if -delta > counts.sum():
            raise ValueError(f"cannot remove {-delta} events from {counts.sum()}")
        counts -= rng.multivariate_hypergeometric(counts, -delta)
    return counts


def make_plan(seed: int, scale: float, today: date, programme_start: date, first: date | None = None) -> Plan:
    """Daily counts for every cell from ``first`` (default: 1 January three years back) to ``today``."""
    first = first or date(today.year - 3, 1, 1)
    ordinals = np.arange(first.toordinal(), today.toordinal() + 1)
    windows = rolling_windows(today)
    if windows[1][0] < first:
        raise ValueError("the plan must start at least 730 days before today")
    rng = np.random.default_rng([seed, 2])

    effects: dict[str, float] = {}
    expected: dict[str, np.ndarray] = {}
    crim = expected_daily("inc_ent_crim", ordinals, programme_start, 0.0, scale)
    # The criminal cell is pinned by its published count after the start, not by a rate.
    after = ordinals >= programme_start.toordinal()
    complete = ordinals < today.toordinal()
    n_crim = max(1, round(ENTERPRISE_CRIMINAL_CASES * scale))
    crim_counts = rng.poisson(np.where(after, 0.0, crim))
    post_days = np.flatnonzero(after & complete)
    if len(post_days):
        crim_counts[post_days] += rng.multinomial(n_crim, np.full(len(post_days), 1 / len(post_days)))
    post_share = np.zeros(len(ordinals))
    post_share[post_days] = n_crim / max(1, len(post_days))
    expected["inc_ent_crim"] = np.where(after, post_share, crim)

    order = ("enterprise_incidents", "traffic_accidents", "incidents", "enterprise_economic_disputes",
             "labour_disputes")
    for figure in order:
        free = FIGURE_ADJUSTS[figure]
        shared = tuple(c for c, owner in SHARED_EFFECT.items() if owner == free)
        fixed = [expected[c] for c in FIGURE_CELLS[figure] if c != free and c not in shared]
        effect = _solve_effect(1 + TARGETS[figure] / 100, windows, ordinals, programme_start, scale,
                               fixed, free, shared)
        for cell in (free, *shared):
            effects[cell] = effect
            expected[cell] = expected_daily(cell, ordinals, programme_start, effect, scale)
    for cell, effect in UNCALIBRATED_EFFECT.items():
        effects[cell] = effect
        expected[cell] = expected_daily(cell, ordinals, programme_start, effect, scale)

    counts = {cell: rng.poisson(expected[cell]) for cell in CELLS if cell != "inc_ent_crim"}
    counts["inc_ent_crim"] = crim_counts
    plan = Plan(first, today, programme_start, counts, effects)
    for figure in order:
        _calibrate(plan, figure, windows, rng)
    keep_today_on_target(plan)
    return plan


def _calibrate(plan: Plan, figure: str, windows, rng: np.random.Generator) -> None:
    """Move a few events of the figure's free cell so that its window change hits the target."""
    (a0, a1), (b0, b1) = windows
    cells = FIGURE_CELLS[figure]
    a, b = plan.window_sum(cells, a0, a1), plan.window_sum(cells, b0, b1)
    want_a, want_b = calibrated_pair(a, b, TARGETS[figure])
    free = plan.counts[FIGURE_ADJUSTS[figure]]
    for (first, last), delta in (((a0, a1), want_a - a), ((b0, b1), want_b - b)):
        i, j = plan.index(first), plan.index(last) + 1
        free[i:j] = shift_total(free[i:j], delta, rng)
    plan.figures[figure] = (want_a, want_b)


def isotonic_increasing(values) -> np.ndarray:
    """The least-squares non-decreasing fit of a sequence (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [mean, weight]
    for value in values:
        blocks.append([float(value), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean2, w2 = blocks.pop()
            mean1, w1 = blocks.pop()
            blocks.append([(mean1 * w1 + mean2 * w2) / (w1 + w2), w1 + w2])
    return np.concatenate([np.full(int(w), m) for m, w in blocks])


def band_for_next_day(pct: float, past: np.ndarray, horizon: int = 60, tolerance: float = 0.045):
    """The range of counts for the next day that keeps a rolling 365-day change on ``pct``.

    ``past`` holds the figure's daily counts of the 730 days before the new day, oldest first. Day k
    after the new one (k = 0..horizon) closes the window [k-364, k] against [k-729, k-365], so the new
    days' cumulative count up to day k should be T_k = ratio * earlier window - what the past still adds.
    Counts cannot be negative, so the cumulative count must not decrease: its best feasible path is the
    isotonic (non-decreasing) fit of T, and today's count is kept within ``tolerance`` points of that
    path's first step. Where the seasons of the two years differ (the Spring Festival moves), the fit
    spreads an unavoidable miss over the days ahead instead of failing all at once.
    """
    if len(past) != 730:
        raise ValueError(f"need the 730 days before the new day, got {len(past)}")
    ratio = 1 + pct / 100
    cumulative = np.concatenate([[0], np.cumsum(past)])  # cumulative[i] = sum of past[:i]

    def past_sum(first: int, last: int) -> int:  # inclusive day offsets relative to the new day (-730..-1)
        first, last = max(first, -730), min(last, -1)
        return 0 if last < first else int(cumulative[last + 731] - cumulative[first + 730])

    needed = [ratio * past_sum(k - 729, k - 365) - past_sum(k - 364, -1) for k in range(min(horizon, 364) + 1)]
    path = isotonic_increasing(needed)[0]
    slack = tolerance / 100 * past_sum(-729, -365)
    low, high = max(0, math.ceil(path - slack)), math.floor(path + slack)
    if high < low:
        nearest = max(0, round(path))
        return nearest, nearest
    return low, high


def keep_today_on_target(plan: Plan) -> None:
    """Choose today's counts so that each figure still holds once today is complete (see band_for_next_day)."""
    i = plan.index(plan.today)
    for figure in FIGURE_ADJUSTS:
        cells = FIGURE_CELLS[figure]
        past = sum(plan.counts[c][i - 730:i] for c in cells)
        low, high = band_for_next_day(TARGETS[figure], past)
        current = int(sum(plan.counts[c][i] for c in cells))
        wanted = min(max(current, low), high)
        free = plan.counts[FIGURE_ADJUSTS[figure]]
        free[i] = max(0, free[i] + wanted - current)

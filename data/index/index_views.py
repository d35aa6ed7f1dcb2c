"""The safety-index views of the leadership review: distribution, funnel plot, park and station rankings.

For one filter state (station, park or enterprise, and sector) and the latest month that has an index:

- **distribution**: how many enterprises score in each 5-point bin and in each band (蓝/黄/橙/红), with the
  mean and median, and the scope's own worker-weighted index (from ``safety_index_units``);
- **funnel plot** (Spiegelhalter 2005): each enterprise's *plain* incident count over the index window
  (the 12 months ending with the index month, to today; the category filter narrows it) as a rate per
  100 workers a year, against its head count; the scope's overall rate p0 is the centre line and the
  95% and 99.8% control limits are exact Poisson quantiles of the expected count E = p0 x exposure.
  An enterprise is flagged only when its exact one-sided Poisson tail probability is beyond the limit
  (P(Y >= y | E) <= 2.5% or 0.1% above, P(Y <= y | E) <= 2.5% or 0.1% below), so a small shop with one call
  is "within" however high its raw rate: the funnel is wide where exposure is small;
- **rankings**: stations (always all of them) and parks (of the scope's station, else all) by index this
  month and last, with the rank movement and the change in score.

Head counts follow the index (docs/safety-index.md): no head count recorded means the sector's median,
below 1 counts as 1. Counts come from the enterprise x month rollup ``ru_ent_inc_month``; the index from
``safety_index`` and ``safety_index_units``, read through ``data.index.stored``. No incident row is read. The pure
maths (Poisson quantiles, limits, classification, ranks) is separate from the database functions. The rankings
(``unit_ranking``) are the report's too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from data.core import rollups
from data.core.periods import Window
from data.core.schema import Enterprise, Park, Station
from data.core.scope import TOWN, Unit
from data.index import safety_index as si
from data.index import stored

BIN_WIDTH = 5.0
LEVELS = (0.95, 0.998)  # two-sided coverage of the control limits
FLAGS = ("above_998", "above_95", "within", "below_95", "below_998")
LIMIT_NAMES = ("lower_998", "lower_95", "upper_95", "upper_998")
GRID_POINTS = 160

# --- pure maths: Poisson quantiles and funnel limits -------------------------------------------------------

_CHUNK = 512


_LOG_FACTORIALS = np.zeros(1)


def _log_factorials(n: int) -> np.ndarray:
    """log k! for k = 0..n (at least), each from math.lgamma (a running sum of logs drifts by 1e-11 at k = 1000);
    the table is kept and grown as needed."""
    global _LOG_FACTORIALS
    table = _LOG_FACTORIALS
    if len(table) <= n:
        size = max(n + 1, 2 * len(table), 1024)
        table = np.array([math.lgamma(k + 1.0) for k in range(size)])
        _LOG_FACTORIALS = table
    return table


def _quantile_parts(p: float, mu) -> tuple[np.ndarray, np.ndarray]:
    """For Poisson(mu): r, the smallest count with F(r) >= p, and Spiegelhalter's
    alpha = (F(r) - p) / (F(r) - F(r - 1)), in [0, 1). Vectorised over mu (any shape)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p must lie strictly between 0 and 1, got {p}")
    mu = np.asarray(mu, dtype=float)
    if np.any(mu < 0) or not np.all(np.isfinite(mu)):
        raise ValueError("Poisson means must be finite and >= 0")
    flat = mu.ravel()
    r = np.zeros(flat.shape, dtype=np.int64)
    alpha = np.full(flat.shape, 1.0 - p)  # mu = 0: Y = 0 surely, F(0) = 1 and f(0) = 1
    order = np.flatnonzero(flat > 0)
    order = order[np.argsort(flat[order], kind="stable")]
    for chunk in np.array_split(order, max(1, math.ceil(len(order) / _CHUNK))):
        if len(chunk) == 0:
            continue
        m = flat[chunk]
        sd = np.sqrt(m)
        # The probability outside lo..hi is below 1e-40: summing the pmf from lo gives F to rounding.
        lo = np.floor(np.maximum(0.0, m - 14.0 * sd - 30.0)).astype(np.int64)
        hi = np.ceil(m + 14.0 * sd + 30.0).astype(np.int64)
        k = lo[:, None] + np.arange(int((hi - lo).max()) + 1)[None, :]
        log_fact = _log_factorials(int(k.max()))
        pmf = np.exp(k * np.log(m)[:, None] - m[:, None] - log_fact[k])
        cdf = np.cumsum(pmf, axis=1)
        j = np.argmax(cdf >= p, axis=1)
        rows = np.arange(len(m))
        r[chunk] = lo + j
        alpha[chunk] = np.clip((cdf[rows, j] - p) / pmf[rows, j], 0.0, 1.0)
    return r.reshape(mu.shape), alpha.reshape(mu.shape)


def poisson_quantile(p: float, mu):
    """The exact p-quantile of Poisson(mu): the smallest integer r with P(Y <= r) >= p (vectorised)."""
    r, _ = _quantile_parts(p, mu)
    return int(r) if r.ndim == 0 else r


def poisson_cdf(k, mu):
    """P(Y <= k) for Y ~ Poisson(mu), summed in log space (vectorised; k < 0 gives 0)."""
    k, mu = np.broadcast_arrays(np.asarray(k, dtype=np.int64), np.asarray(mu, dtype=float))
    out = np.zeros(k.shape)
    flat_k, flat_mu, flat_out = k.ravel(), mu.ravel(), out.ravel()
    top = int(max(flat_k.max(initial=0), 0))
    log_fact = _log_factorials(top)
    steps = np.arange(top + 1)
    for i, (kk, m) in enumerate(zip(flat_k, flat_mu, strict=True)):
        if kk < 0:
            continue
        if m == 0:
            flat_out[i] = 1.0
            continue
        terms = steps[:kk + 1] * math.log(m) - m - log_fact[:kk + 1]
        flat_out[i] = min(1.0, float(np.exp(terms).sum()))
    return float(flat_out[0]) if out.ndim == 0 else flat_out.reshape(out.shape)


def limit_counts(expected, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Smooth lower and upper control limits, as counts, of a two-sided ``level`` (0.95, 0.998) at expected
    counts E.

    Exact Poisson quantiles interpolated as in Spiegelhalter (2005, appendix A.1.1): with r the smallest count
    whose cumulative probability reaches p and alpha = (F(r) - p) / f(r), the lower limit is r - alpha for
    p = (1 - level) / 2. The upper limit applies the same interpolation to the upper tail, r + 1 - alpha for
    p = (1 + level) / 2, so that a count lies above it exactly when P(Y >= y | E) <= (1 - level) / 2 (the
    plain r - alpha would put a 10-worker shop with 3 calls, P = 0.8%, above the 99.8% line). Both are
    continuous in E; the lower one is clipped at 0.
    """
    tail = (1.0 - level) / 2.0
    r_lo, a_lo = _quantile_parts(tail, expected)
    r_hi, a_hi = _quantile_parts(1.0 - tail, expected)
    return np.maximum(0.0, r_lo - a_lo), r_hi + 1.0 - a_hi


def classify(observed, expected, levels: tuple[float, float] = LEVELS) -> np.ndarray:
    """Each count against its expected count: 'above_998', 'above_95', 'within', 'below_95' or 'below_998'.

    Above a level's limit means P(Y >= y | E) <= (1 - level) / 2, below means P(Y <= y | E) <= (1 - level) / 2
    (exact Poisson tails, decided through the exact quantiles: y > r(1 - tail) above, y < r(tail) below).
    The quantiles are computed once per distinct expected count (head counts repeat).
    """
    y = np.atleast_1d(np.asarray(observed, dtype=np.int64))
    expected = np.broadcast_to(np.asarray(expected, dtype=float), y.shape)
    unique, inverse = np.unique(expected, return_inverse=True)
    out = np.full(y.shape, "within", dtype=object)
    narrow, wide = sorted(levels)
    for level, above, below in ((narrow, "above_95", "below_95"), (wide, "above_998", "below_998")):
        tail = (1.0 - level) / 2.0
        upper = np.atleast_1d(poisson_quantile(1.0 - tail, unique))[inverse.reshape(y.shape)]
        lower = np.atleast_1d(poisson_quantile(tail, unique))[inverse.reshape(y.shape)]
        out[y > upper] = above
        out[y < lower] = below
    return out


def funnel_limits(p0: float, exposures, levels: tuple[float, float] = LEVELS) -> dict[str, np.ndarray]:
    """Control limits as rates (events per unit of exposure) at each exposure, for centre rate p0."""
    e = np.asarray(exposures, dtype=float)
    out = {}
    for level, suffix in zip(sorted(levels), ("95", "998"), strict=False):
        lower, upper = limit_counts(p0 * e, level)
        out[f"lower_{suffix}"] = np.divide(lower, e, out=np.zeros_like(e), where=e > 0)
        out[f"upper_{suffix}"] = np.divide(upper, e, out=np.full_like(e, np.inf), where=e > 0)
    return out


def exposure_grid(low: float, high: float, points: int = GRID_POINTS) -> np.ndarray:
    """Log-spaced exposures from low to high (the x of the limit lines)."""
    low = max(low, 1e-9)
    high = max(high, low * 1.0001)
    return np.geomspace(low, high, points)


# --- pure maths: distribution and ranks ------------------------------------------------------------------

def score_bins(scores, bands, band_names: tuple[str, ...], width: float = BIN_WIDTH) -> dict[str, list[int]]:
    """Counts per band and score bin [0, w), [w, 2w), ..., [100 - w, 100] (100 falls in the last bin)."""
    scores = np.clip(np.asarray(scores, dtype=float), 0.0, 100.0)
    bands = np.asarray(bands, dtype=object)
    n_bins = int(round(100.0 / width))
    index = np.minimum((scores // width).astype(int), n_bins - 1) if len(scores) else np.array([], dtype=int)
    return {name: np.bincount(index[bands == name], minlength=n_bins).tolist() for name in band_names}


def competition_ranks(scores: dict[int, float]) -> dict[int, int]:
    """Rank 1 for the highest score (the safest); equal scores (to 1e-9) share a rank (1, 2, 2, 4)."""
    rounded = {k: round(float(v), 9) for k, v in scores.items()}
    values = sorted(rounded.values(), reverse=True)
    first = {}
    for position, value in enumerate(values, start=1):
        first.setdefault(value, position)
    return {k: first[v] for k, v in rounded.items()}


def rank_movement(now: dict[int, float], before: dict[int, float]) -> dict[int, tuple[int, int | None, int | None]]:
    """For each unit scored now: (rank now, rank last month, places gained). Ranks last month are among the
    same units; a unit absent last month has None for both (shown as 新)."""
    ranks_now = competition_ranks(now)
    ranks_before = competition_ranks({k: v for k, v in before.items() if k in now})
    return {k: (rank, ranks_before.get(k), None if k not in ranks_before else ranks_before[k] - rank)
            for k, rank in ranks_now.items()}


# --- results -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scope:
    """Where the views look: station and park ids (None for all), the sector, the highlighted enterprise."""

    station: int | None = None
    park: int | None = None
    sector: str | None = None
    enterprise: int | None = None
    category: str | None = None
    station_name: str | None = None
    park_name: str | None = None
    enterprise_name: str | None = None

    @property
    def unit(self) -> Unit:
        """The unit the scope looks at: its park, else its station, else the town (an enterprise is seen in its
        park)."""
        if self.park is not None:
            return Unit("park", self.park)
        if self.station is not None:
            return Unit("station", self.station)
        return TOWN


@dataclass(frozen=True)
class Distribution:
    """Enterprises of the scope by score bin and band in the index month."""

    edges: tuple[float, ...]  # 0, 5, ..., 100
    bands: tuple[str, ...]  # best first: 蓝 黄 橙 红
    band_limits: tuple[tuple[str, float], ...]  # (band, lower limit), the last band has none
    counts: dict[str, tuple[int, ...]]  # band -> enterprises per bin
    band_counts: dict[str, int]
    total: int
    mean: float | None
    median: float | None
    unit_score: float | None  # the scope's worker-weighted index (None with a sector filter)
    unit_previous: float | None
    highlight_score: float | None  # the filtered enterprise's own score


@dataclass(frozen=True, eq=False)
class Funnel:
    """Incident rates against head counts with Poisson control limits.

    ``points`` has one row per enterprise of the scope (sorted by id): enterprise_id, name, workers (recorded,
    NaN when not), workers_used, imputed, incidents, exposure (hundred worker-years), expected, rate (per 100
    workers a year), flag, score and band (the index this month, NaN if none).
    ``grid_workers`` is the x of the limit lines and ``limits`` their rates: lower_998, lower_95, upper_95,
    upper_998.
    """

    window: Window
    category: str | None
    p0: float  # incidents per 100 workers a year over the scope
    incidents: int
    exposure: float
    points: pd.DataFrame
    grid_workers: np.ndarray
    limits: dict[str, np.ndarray]
    flag_counts: dict[str, int]

    @property
    def years(self) -> float:
        return self.window.days / 365.0


@dataclass(frozen=True)
class RankRow:
    """A park or station in the ranking."""

    kind: str  # park, station
    id: int
    name: str
    score: float
    band: str
    rank: int
    previous_score: float | None
    previous_rank: int | None
    movement: int | None  # places gained since last month (negative: lost); None: not ranked last month
    enterprises: int
    highlighted: bool
    station: int | None = None  # a park's station

    @property
    def change(self) -> float | None:
        return None if self.previous_score is None else self.score - self.previous_score


@dataclass(frozen=True, eq=False)
class IndexViews:
    """Everything the index section of the review page draws for one filter state."""

    month: date
    previous_month: date
    scope: Scope
    distribution: Distribution
    funnel: Funnel
    stations: tuple[RankRow, ...]
    parks: tuple[RankRow, ...]
    parks_station: int | None  # the station whose parks are ranked (None: all parks)
    rankings_ignore_sector: bool  # unit scores cover every sector
    filters: object = None  # the ReviewFilters drawn (for links to other units)


# --- database ------------------------------------------------------------------------------------------------

def resolve_scope(conn: Connection, f) -> Scope:
    """The filters as a scope: an enterprise filter looks at its park (its station if it has none)."""
    station, park = getattr(f, "station", None), getattr(f, "park", None)
    enterprise = getattr(f, "enterprise", None)
    sector = getattr(f, "sector", None) or None
    enterprise_name = None
    if enterprise is not None:
        row = conn.execute(select(Enterprise.park_id, Enterprise.station_id, Enterprise.name)
                           .where(Enterprise.id == enterprise)).first()
        if row is not None:
            park, station, enterprise_name = row.park_id, row.station_id, row.name
            sector = None  # one enterprise, its park: every sector
    if park is not None and station is None:
        station = conn.execute(select(Park.station_id).where(Park.id == park)).scalar()
    station_name = conn.execute(select(Station.name).where(Station.id == station)).scalar() if station else None
    park_name = conn.execute(select(Park.name).where(Park.id == park)).scalar() if park else None
    return Scope(station, park, sector, enterprise, getattr(f, "category", None) or None, station_name, park_name,
                 enterprise_name)


def workers_used(frame: pd.DataFrame, town: pd.DataFrame | None = None) -> pd.Series:
    """Head counts as the index uses them: when not recorded, the median of the sector's recorded head counts
    over ``town`` (every enterprise; the frame itself when not given), then the town's; at least 1."""
    town = frame if town is None else town
    workers, recorded = frame["workers"].astype(float), town["workers"].astype(float)
    used = workers.fillna(frame["sector"].map(recorded.groupby(town["sector"]).median()))
    return used.fillna(recorded.median()).fillna(1.0).clip(lower=1.0)


def scope_enterprises(scope: Scope):
    """The ids of the scope's enterprises as a SELECT; None for the whole town."""
    if scope.park is None and scope.station is None and not scope.sector:
        return None
    stmt = select(Enterprise.id).where(*scope.unit.where(Enterprise))
    if scope.sector:
        stmt = stmt.where(Enterprise.sector == scope.sector)
    return stmt


def _columns(conn: Connection, stmt, names: list[str]) -> pd.DataFrame:
    columns = list(zip(*conn.execute(stmt).all(), strict=True)) or [()] * len(names)  # columnar: faster than rows
    return pd.DataFrame({name: pd.Series(values, dtype=object) for name, values in zip(names, columns, strict=True)})


def _enterprises(conn: Connection, month: date, members=None) -> pd.DataFrame:
    """The enterprises of ``members`` (a SELECT of ids; None: all) with the head count used by the index and
    their score this month (one small join; the sector medians are the whole town's)."""
    stmt = stored.with_enterprise_scores(select(Enterprise.id, Enterprise.name, Enterprise.sector, Enterprise.workers,
                                                Enterprise.park_id, Enterprise.station_id), month)
    if members is not None:
        stmt = stmt.where(Enterprise.id.in_(members))
    frame = _columns(conn, stmt, ["enterprise_id", "name", "sector", "workers", "park_id", "station_id", "score",
                                  "band"])
    frame["enterprise_id"] = frame["enterprise_id"].astype(np.int64)
    frame["workers"] = frame["workers"].astype(float)
    frame["score"] = frame["score"].astype(float)
    town = None if members is None else _columns(conn, select(Enterprise.sector, Enterprise.workers),
                                                 ["sector", "workers"])
    frame["workers_used"] = workers_used(frame, town) if len(frame) else pd.Series(dtype=float)
    frame["imputed"] = frame["workers"].isna()
    return frame


@dataclass(frozen=True, eq=False)
class TownBase:
    """What every scope's views are cut from, read once for the whole town: the latest index month, every
    enterprise with its head count as used and its score (``_enterprises``), and every enterprise's plain
    incident count over the index window (every category). A unit's frame is these rows filtered, with the
    same head counts (the medians for missing ones are the town's either way)."""

    month: date
    frame: pd.DataFrame
    counts: dict[int, int]


def town_base(conn: Connection, today: date) -> TownBase | None:
    """The town-wide rows of the index views; None when no index is stored yet."""
    month = stored.latest_month(conn, today)
    if month is None:
        return None
    return TownBase(month, _enterprises(conn, month), incident_counts(conn, month, today))


def _scope_rows(frame: pd.DataFrame, scope: Scope) -> pd.DataFrame:
    """The rows of ``frame`` (all enterprises) in the scope: what ``scope_enterprises`` selects."""
    keep = scope.unit.mask(frame)
    if scope.sector:
        keep &= (frame["sector"] == scope.sector).to_numpy()
    return frame[keep].reset_index(drop=True)


def index_window(month: date, today: date) -> Window:
    """The days of the index of ``month``: the 12 months (config) ending with it, to today."""
    return si.month_window(month, si.default_config().window_months, today)


def incident_counts(conn: Connection, month: date, today: date, category: str | None = None,
                    enterprises=None) -> dict[int, int]:
    """Plain incident counts per enterprise over the index window, from the enterprise x month rollup; only
    of ``enterprises`` (a SELECT of ids) when given."""
    window = index_window(month, today)
    whole = Window(window.first, si.add_months(month, 1) - timedelta(days=1))
    filters = {"category": category} if category else {}
    if enterprises is not None:
        filters["enterprise_id"] = enterprises
    return {key[0]: n for key, n in
            rollups.counts(conn, "enterprise_incidents", whole, filters, group_by=("enterprise_id",)).items()}


def funnel(frame: pd.DataFrame, counts: dict[int, int], window: Window, category: str | None) -> Funnel:
    """The funnel plot of the enterprises in ``frame`` (pure: no database)."""
    years = window.days / 365.0
    points = frame[["enterprise_id", "name", "workers", "workers_used", "imputed", "score", "band"]].copy()
    points = points.sort_values("enterprise_id").reset_index(drop=True)
    points["incidents"] = points["enterprise_id"].map(counts).fillna(0).astype(np.int64)
    points["exposure"] = points["workers_used"] / 100.0 * years
    total, exposure = int(points["incidents"].sum()), float(points["exposure"].sum())
    p0 = total / exposure if exposure > 0 else 0.0
    points["expected"] = p0 * points["exposure"]
    points["rate"] = np.divide(points["incidents"], points["exposure"], out=np.zeros(len(points)),
                               where=points["exposure"].to_numpy() > 0)
    if len(points):
        points["flag"] = classify(points["incidents"].to_numpy(), points["expected"].to_numpy())
        low, high = float(points["workers_used"].min()), float(points["workers_used"].max())
    else:
        points["flag"] = pd.Series(dtype=object)
        low, high = 1.0, 1000.0
    grid = exposure_grid(min(low, 1.0), high * 1.2)
    limits = funnel_limits(p0, grid / 100.0 * years)
    flag_counts = {name: int((points["flag"] == name).sum()) for name in FLAGS}
    return Funnel(window, category, p0, total, exposure, points, grid, limits, flag_counts)


def by_rank(row: RankRow) -> tuple:
    """The review's order of a ranking: by rank (equal to 1e-9 share one), then id."""
    return (row.rank, row.id)


def by_score(row: RankRow) -> tuple:
    """The report's order of a ranking: by exact score, highest first, then id. The same as ``by_rank`` but
    for scores within 1e-9 of each other (one rank), which it lists by score rather than by id."""
    return (-row.score, row.id)


def ranking(kind: str, names: dict[int, str], now: dict[int, tuple], before: dict[int, tuple],
            highlight: int | None, stations: dict[int, int] | None = None, order=by_rank) -> tuple[RankRow, ...]:
    """Rank rows of the units in ``names`` that have a score now (pure: no database), best first (``order``).
    ``now`` and ``before`` map a unit to (score, band, enterprises); ``stations`` a park to its station."""
    scored = {uid: now[uid][0] for uid in names if uid in now}
    previous = {uid: before[uid][0] for uid in names if uid in before}
    moves = rank_movement(scored, previous)
    rows = [RankRow(kind, uid, names[uid], scored[uid], now[uid][1], moves[uid][0], previous.get(uid),
                    moves[uid][1], moves[uid][2], now[uid][2], uid == highlight, (stations or {}).get(uid))
            for uid in scored]
    return tuple(sorted(rows, key=order))


def unit_ranking(conn: Connection, kind: str, names: dict[int, str], month: date, highlight: int | None = None,
                 stations: dict[int, int] | None = None, order=by_rank) -> tuple[RankRow, ...]:
    """The units of ``names`` (stations or parks) ranked by their stored index of ``month``, with their rank and
    score the month before: the one ranking of the review's index views and the report."""
    previous = si.add_months(month, -1)
    scores = stored.unit_scores(conn, kind, (month, previous), names)
    return ranking(kind, names, scores[month], scores[previous], highlight, stations, order)


def index_views(conn: Connection, today: date, f, base: TownBase | None = None) -> IndexViews | None:
    """The index views for the review filters ``f`` (a ReviewFilters); None when no index is stored yet.

    ``base`` (``town_base`` for the same data and day, e.g. from a cache) saves reading every enterprise and
    its count again for each unit: the scope's rows are cut from it. Without it they are read for the scope."""
    if base is None:
        month = stored.latest_month(conn, today)
        if month is None:
            return None
    else:
        month = base.month
    previous = si.add_months(month, -1)
    config = si.config_for(conn)
    scope = resolve_scope(conn, f)
    members = scope_enterprises(scope)
    frame = _enterprises(conn, month, members) if base is None else _scope_rows(base.frame, scope)

    scored = frame.dropna(subset=["score"])
    band_names = tuple(name for name, _ in config.bands) + (config.last_band,)
    counts = score_bins(scored["score"], scored["band"], band_names)
    kind, unit_id = scope.unit.rollup_key
    units = stored.unit_scores(conn, kind, (month, previous), [unit_id])
    unit_now = units[month].get(unit_id) if not scope.sector else None
    unit_before = units[previous].get(unit_id) if not scope.sector else None
    highlight = None
    if scope.enterprise is not None:
        own = frame.loc[frame["enterprise_id"] == scope.enterprise, "score"]  # the scope is its park
        highlight = float(own.iloc[0]) if len(own) and not np.isnan(own.iloc[0]) else None
    distribution = Distribution(
        edges=tuple(float(x) for x in np.arange(0.0, 100.0 + BIN_WIDTH / 2, BIN_WIDTH)),
        bands=band_names, band_limits=tuple(config.bands),
        counts={k: tuple(v) for k, v in counts.items()},
        band_counts={k: int(sum(v)) for k, v in counts.items()}, total=int(len(scored)),
        mean=float(scored["score"].mean()) if len(scored) else None,
        median=float(scored["score"].median()) if len(scored) else None,
        unit_score=unit_now[0] if unit_now else None, unit_previous=unit_before[0] if unit_before else None,
        highlight_score=highlight)

    window = index_window(month, today)
    if base is None or scope.category:
        incidents = incident_counts(conn, month, today, scope.category, members)
    else:
        incidents = base.counts  # every enterprise's: the funnel takes those of its rows
    plot = funnel(frame, incidents, window, scope.category)

    station_names = dict(conn.execute(select(Station.id, Station.name)).all())
    stations = unit_ranking(conn, "station", station_names, month, scope.station)
    park_stmt = select(Park.id, Park.name, Park.station_id)
    if scope.station is not None:
        park_stmt = park_stmt.where(*Unit("station", scope.station).where(Park))
    park_rows = conn.execute(park_stmt).all()
    parks = unit_ranking(conn, "park", {r.id: r.name for r in park_rows}, month, scope.park,
                         {r.id: r.station_id for r in park_rows})
    return IndexViews(month, previous, scope, distribution, plot, stations, parks, scope.station,
                      bool(scope.sector), f)

"""The enterprise safety index (企业平安指数): 0–100, higher is safer, per enterprise and month.

Built the way the OECD/JRC Handbook on Constructing Composite Indicators (2008) describes; the method,
the framework and a worked example are in docs/safety-index.md, the weights and bounds in
data/index/safety_index.toml. In short, for each enterprise and month (indicators over the 12 months ending
with it):

1. inputs from the rollups: harm-weighted incidents, disputes and how they ended, hazards, teams;
2. rates per 100 workers a year, shrunk by empirical Bayes toward the peer group (same sector and size
   band) so that a small enterprise with one call is not ranked the worst in town;
3. each indicator normalised to 0–100 against fixed bounds (explicit, or percentiles of the base year),
   so a score means the same next year;
4. weighted arithmetic means: indicators into four pillars, pillars into the index; four bands;
5. units (park, station, town) as worker-weighted means of their enterprises.

Pure maths (shrinkage, normalisation, aggregation) is separate from the database functions.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, or_, select

from data.core import bulk, db, rollups, vocab
from data.core.periods import Window
from data.core.schema import Enterprise, EnterpriseHistory, Hazard, Team
from data.core.schema import safety_index_table as index_table
from data.core.schema import safety_index_unit_table as unit_table
from data.core.timeutil import local_midnight, now_utc
from data.counts.programme import programme_start
from data.index import settings

CONFIG_PATH = Path(__file__).with_name("safety_index.toml")
PILLARS = ("incidents", "disputes", "hazards", "governance")

# --- configuration ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Indicator:
    name: str
    pillar: str
    weight: float
    direction: str  # "lower" or "higher" is better
    label: str
    percentiles: tuple[float, float] | None
    fixed: tuple[float, float] | None


@dataclass(frozen=True)
class IndexConfig:
    window_months: int
    min_peer_group: int
    base_year: str | int
    bands: tuple[tuple[str, float], ...]  # (name, lower limit), best first; the last band has no limit
    last_band: str
    harm_weights: dict
    escalation_levels: dict
    pillar_weights: dict
    pillar_labels: dict
    indicators: tuple[Indicator, ...]


class IndexConfigError(ValueError):
    """The index configuration is inconsistent; the message says where."""


def load_config(path: Path = CONFIG_PATH) -> IndexConfig:
    """Read and check the index configuration."""
    raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    bands = sorted(raw["bands"].items(), key=lambda kv: -kv[1])
    indicators = []
    for name, spec in raw["indicators"].items():
        if spec["pillar"] not in raw["pillars"]:
            raise IndexConfigError(f"indicator {name}: unknown pillar {spec['pillar']!r}")
        if spec["direction"] not in ("lower", "higher"):
            raise IndexConfigError(f"indicator {name}: direction must be 'lower' or 'higher'")
        if ("percentiles" in spec) == ("fixed" in spec):
            raise IndexConfigError(f"indicator {name}: give either percentiles or fixed bounds")
        indicators.append(Indicator(name, spec["pillar"], float(spec["weight"]), spec["direction"], spec["label"],
                                    tuple(spec["percentiles"]) if "percentiles" in spec else None,
                                    tuple(spec["fixed"]) if "fixed" in spec else None))
    pillar_weights = {p: float(v["weight"]) for p, v in raw["pillars"].items()}
    if set(pillar_weights) != set(PILLARS):
        raise IndexConfigError(f"pillars must be {', '.join(PILLARS)}")
    if abs(sum(pillar_weights.values()) - 1.0) > 1e-9:
        raise IndexConfigError(f"pillar weights sum to {sum(pillar_weights.values()):g}, not 1")
    for pillar in PILLARS:
        if not any(i.pillar == pillar for i in indicators):
            raise IndexConfigError(f"pillar {pillar} has no indicator")
    _check_covers("harm_weights", raw["harm_weights"], vocab.INCIDENT_CATEGORIES, "incident category")
    _check_covers("escalation_levels", raw["escalation_levels"], vocab.SETTLED_LEVELS, "settlement level")
    return IndexConfig(
        window_months=int(raw["window_months"]), min_peer_group=int(raw["min_peer_group"]),
        base_year=raw["base_year"], bands=tuple(bands), last_band="红",
        harm_weights={k: float(v) for k, v in raw["harm_weights"].items()},
        escalation_levels={k: int(v) for k, v in raw["escalation_levels"].items()},
        pillar_weights=pillar_weights, pillar_labels={p: v["label"] for p, v in raw["pillars"].items()},
        indicators=tuple(indicators),
    )


def _check_covers(table: str, given: dict, values: tuple[str, ...], what: str) -> None:
    """A table of the configuration names every value of its vocabulary, and nothing else."""
    missing, unknown = [v for v in values if v not in given], sorted(set(given) - set(values))
    if missing:
        raise IndexConfigError(f"[{table}] has no entry for the {what} {', '.join(missing)} (data/core/vocab.py): "
                               f"add one to data/index/safety_index.toml")
    if unknown:
        raise IndexConfigError(f"[{table}] names {', '.join(unknown)}, which is no {what} of data/core/vocab.py")


@lru_cache(maxsize=4)
def default_config() -> IndexConfig:
    """The configuration file as it stands (no database's settings laid over it)."""
    return load_config()


def config_for(conn: Connection) -> IndexConfig:
    """The configuration this database's index follows: the file's, with the bureau's band limits and base year
    (data/index/settings.py) laid over it."""
    stored, config = settings.load(conn), default_config()
    return replace(config, bands=stored.bands or config.bands,
                   base_year=stored.base_year if stored.base_year is not None else config.base_year)


# --- pure maths ---------------------------------------------------------------------------------------

SIZE_BANDS = ((0, 10, "微型"), (10, 50, "小型"), (50, 300, "中型"), (300, float("inf"), "大型"))


def size_band(workers: float) -> str:
    """Size band of a (possibly imputed) head count."""
    for low, high, name in SIZE_BANDS:
        if low <= workers < high:
            return name
    return SIZE_BANDS[-1][2]


TOWN_PEER_GROUP = "全镇"  # the widest peer group's stored name: every enterprise (screens say the organisation's word)


def peer_levels(sector: pd.Series, band: pd.Series) -> list[pd.Series]:
    """Peer groupings from the most specific to the widest: sector × size band, sector, the whole jurisdiction."""
    return [sector + "·" + band, sector.copy(), pd.Series(TOWN_PEER_GROUP, index=sector.index)]


def chosen_groups(levels: list[pd.Series], min_size: int) -> tuple[np.ndarray, pd.Series]:
    """For each row, the most specific level whose group has at least ``min_size`` members."""
    choice = np.full(len(levels[0]), len(levels) - 1)
    for depth in range(len(levels) - 2, -1, -1):
        sizes = levels[depth].map(levels[depth].value_counts()).to_numpy()
        choice = np.where(sizes >= min_size, depth, choice)
    table = np.column_stack([level.to_numpy(dtype=object) for level in levels])  # row i: its label at each depth
    labels = pd.Series(list(table[np.arange(len(choice)), choice]), index=levels[0].index)
    return choice, labels


@dataclass(frozen=True)
class PeerGroups:
    """The peer grouping of one set of enterprises: each row's chosen level and label, and at each level the
    rows that chose it, their group codes, and the members (all rows, ascending) of each group they use."""

    size: int
    labels: pd.Series
    depths: tuple[tuple[np.ndarray, np.ndarray, int, dict[int, np.ndarray]], ...]  # (rows, codes, n_groups, members)

    @classmethod
    def build(cls, levels: list[pd.Series], min_size: int) -> PeerGroups:
        choice, labels = chosen_groups(levels, min_size)
        depths = []
        for depth, level in enumerate(levels):
            rows = np.flatnonzero(choice == depth)
            if len(rows) == 0:
                continue
            codes, groups = pd.factorize(level.to_numpy(dtype=object))
            used = np.unique(codes[rows] % len(groups))  # as numpy indexing reads a code of -1 (a missing label)
            depths.append((rows, codes, len(groups), _members(codes, used)))
        return cls(len(levels[0]), labels, tuple(depths))


def _members(codes: np.ndarray, used: np.ndarray) -> dict[int, np.ndarray]:
    """The rows of each used group code, in ascending order (as pandas' groupby(...).groups lists them)."""
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], used, side="left")
    ends = np.searchsorted(codes[order], used, side="right")
    return {int(g): order[a:b] for g, a, b in zip(used, starts, ends, strict=True)}


def _per_group(levels: list[pd.Series] | None, min_size: int, stats,
               peers: PeerGroups | None = None) -> tuple[pd.Series, list[np.ndarray]]:
    """Group statistics computed over every member of each group, picked per row at its chosen level.

    Only the groups some row picks are computed; ``peers`` reuses a grouping built once for several calls
    (``levels`` is then not needed).
    """
    peers = peers or PeerGroups.build(levels, min_size)
    columns = [np.zeros(peers.size) for _ in stats(np.array([], dtype=int))]
    for rows, codes, n_groups, members in peers.depths:
        per_group = np.zeros((n_groups, len(columns)))
        for g, idx in members.items():
            per_group[g] = np.array(stats(idx), dtype=float)
        for k in range(len(columns)):
            columns[k][rows] = per_group[codes[rows], k]
    return peers.labels, columns


def shrink_rates(events, exposure, levels: list[pd.Series], min_size: int, events_sq=None,
                 peers: PeerGroups | None = None):
    """Empirical-Bayes (Poisson–gamma, Marshall 1991 moment estimator) rates shrunk toward the peer group.

    The group's mean rate m = sum y / sum e, its between-enterprise variance tau² = max(0, s² - omega m / ē)
    with s² the exposure-weighted variance of the raw rates; an enterprise keeps the share
    w = tau² / (tau² + omega m / e) of its own rate. omega is the group's variance-to-mean factor of one
    event: 1 for plain counts, sum h²n / sum hn over the group for harm-weighted ones (``events_sq``
    holds each enterprise's sum h²n).
    Returns (shrunk rate, group mean, own weight, group label).
    """
    y = np.asarray(events, dtype=float)
    e = np.asarray(exposure, dtype=float)
    y2 = y if events_sq is None else np.asarray(events_sq, dtype=float)

    def stats(idx):
        total_e = e[idx].sum() if len(idx) else 0.0
        if total_e <= 0:
            return 0.0, 0.0, 1.0
        m = y[idx].sum() / total_e
        rate = np.divide(y[idx], e[idx], out=np.zeros(len(idx)), where=e[idx] > 0)
        s2 = float((e[idx] * (rate - m) ** 2).sum() / total_e)
        om = float(y2[idx].sum() / y[idx].sum()) if y[idx].sum() > 0 else 1.0
        return m, max(0.0, s2 - om * m / e[idx].mean()), om

    labels, (m, tau2, om) = _per_group(levels, min_size, stats, peers)
    rate = np.divide(y, e, out=np.zeros_like(y), where=e > 0)
    noise = np.divide(om * m, e, out=np.full_like(e, np.inf), where=e > 0)
    weight = np.zeros_like(y)
    informative = (tau2 > 0) & np.isfinite(noise)
    weight[informative] = tau2[informative] / (tau2[informative] + noise[informative])
    return m + weight * (rate - m), m, weight, labels


def shrink_shares(successes, trials, levels: list[pd.Series], min_size: int, peers: PeerGroups | None = None):
    """Empirical-Bayes (beta–binomial moment estimator) shares shrunk toward the peer group's share.

    An enterprise with no trials gets its group's share. Returns (shrunk, group share, own weight).
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)

    def stats(idx):
        total = n[idx].sum() if len(idx) else 0.0
        if total <= 0:
            return 0.0, 0.0
        p = x[idx].sum() / total
        has = n[idx] > 0
        own = x[idx][has] / n[idx][has]
        s2 = float((n[idx][has] * (own - p) ** 2).sum() / total)
        return p, max(0.0, s2 - p * (1 - p) / n[idx][has].mean())

    _labels, (p, tau2) = _per_group(levels, min_size, stats, peers)
    own = np.divide(x, n, out=p.copy(), where=n > 0)
    weight = np.zeros_like(x)
    informative = (tau2 > 0) & (n > 0)
    weight[informative] = tau2[informative] / (tau2[informative] + p[informative] * (1 - p[informative])
                                               / n[informative])
    return p + weight * (own - p), p, weight


def bayes_mean(total, count, levels: list[pd.Series], min_size: int, strength: float = 5.0,
               peers: PeerGroups | None = None):
    """Means shrunk toward the peer group's mean with a prior worth ``strength`` observations."""
    t = np.asarray(total, dtype=float)
    c = np.asarray(count, dtype=float)

    def stats(idx):
        return (t[idx].sum() / c[idx].sum(),) if len(idx) and c[idx].sum() > 0 else (0.0,)

    _labels, (prior,) = _per_group(levels, min_size, stats, peers)
    return (t + strength * prior) / (c + strength), prior


def normalise(values, lower: float, upper: float, direction: str) -> np.ndarray:
    """Scores 0–100 against fixed bounds; 'lower' means a smaller value is better."""
    values = np.asarray(values, dtype=float)
    if upper <= lower:
        good = values <= lower if direction == "lower" else values >= upper
        return np.where(good, 100.0, 0.0)
    scaled = (values - lower) / (upper - lower)
    if direction == "lower":
        scaled = 1.0 - scaled
    return 100.0 * np.clip(scaled, 0.0, 1.0)


def band_of(score: float, config: IndexConfig) -> str:
    """The band of a score: 蓝, 黄, 橙 or 红 with the default limits."""
    return bands_of([score], config)[0]


def bands_of(scores, config: IndexConfig) -> list[str]:
    """The band of each score: the first band whose lower limit it reaches, else the last."""
    values = np.asarray(scores, dtype=float)
    names = np.select([values >= lower for _name, lower in config.bands], [name for name, _lower in config.bands],
                      default=config.last_band)
    return names.astype(object).tolist()


# --- indicators from inputs (pure) ---------------------------------------------------------------------

INPUT_COLUMNS = ("enterprise_id", "sector", "workers", "harm_events", "harm_sq", "incidents", "disputes",
                 "unsettled", "closed", "in_house", "settled", "escalation_sum", "severe_hazards",
                 "open_hazards", "overdue_hazards", "teams", "window_days")


def inputs_from_records(records: list[dict], config: IndexConfig, window_days: int = 365) -> pd.DataFrame:
    """Inputs given by hand (incidents as {category: count}), as in the worked example of the docs."""
    rows = []
    for record in records:
        by_category = record.get("incidents_by_category", {})
        row = {k: record.get(k, 0) for k in INPUT_COLUMNS}
        row.update(enterprise_id=record["enterprise_id"], sector=record["sector"],
                   workers=float("nan") if record.get("workers") is None else float(record["workers"]),
                   incidents=sum(by_category.values()),
                   harm_events=sum(config.harm_weights[c] * n for c, n in by_category.items()),
                   harm_sq=sum(config.harm_weights[c] ** 2 * n for c, n in by_category.items()),
                   window_days=window_days)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(INPUT_COLUMNS))


def indicators(inputs: pd.DataFrame, config: IndexConfig) -> pd.DataFrame:
    """Indicator values per enterprise from its inputs (one row each); adds the shrinkage details."""
    return _indicators(inputs, config)[0]


def _indicators(inputs: pd.DataFrame, config: IndexConfig,
                peers: PeerGroups | None = None) -> tuple[pd.DataFrame, PeerGroups]:
    """``indicators`` and the peer groups it used; ``peers`` from an earlier month of the same enterprises
    (the groups depend only on their sectors and head counts) saves building them again."""
    frame = inputs.copy()
    sector_median = frame.groupby("sector")["workers"].transform("median")
    frame["workers_imputed"] = frame["workers"].isna()
    frame["workers_used"] = frame["workers"].fillna(sector_median).fillna(frame["workers"].median()).fillna(1.0)
    frame["workers_used"] = frame["workers_used"].clip(lower=1.0)
    size = config.min_peer_group
    levels = None if peers else peer_levels(frame["sector"], frame["workers_used"].map(size_band))
    peers = peers or PeerGroups.build(levels, size)  # the same groups for every indicator
    exposure = frame["workers_used"] / 100.0 * frame["window_days"] / 365.0
    frame["exposure"] = exposure
    (frame["incident_rate"], frame["incident_rate_peer"], frame["incident_rate_own_weight"],
     frame["peer_group"]) = shrink_rates(frame["harm_events"], exposure, levels, size, frame["harm_sq"], peers)
    frame["dispute_rate"], frame["dispute_rate_peer"], frame["dispute_rate_own_weight"], _ = shrink_rates(
        frame["disputes"], exposure, levels, size, peers=peers)
    frame["unsettled_share"], frame["unsettled_share_peer"], _ = shrink_shares(
        frame["unsettled"], frame["disputes"], levels, size, peers)
    frame["escalation"], frame["escalation_peer"] = bayes_mean(frame["escalation_sum"], frame["settled"], levels,
                                                               size, peers=peers)
    frame["in_house_share"], frame["in_house_share_peer"], _ = shrink_shares(
        frame["in_house"], frame["closed"], levels, size, peers)
    return frame, peers


def scores(frame: pd.DataFrame, bounds: dict, config: IndexConfig) -> pd.DataFrame:
    """Indicator scores, pillar scores, the index and its band."""
    out = frame.copy()
    for ind in config.indicators:
        lower, upper = bounds[ind.name]
        out[f"{ind.name}_score"] = normalise(out[ind.name], lower, upper, ind.direction)
    for pillar in PILLARS:
        members = [i for i in config.indicators if i.pillar == pillar]
        weight = sum(i.weight for i in members)
        out[f"pillar_{pillar}"] = sum(out[f"{i.name}_score"] * i.weight for i in members) / weight
    out["score"] = sum(out[f"pillar_{p}"] * config.pillar_weights[p] for p in PILLARS)
    out["band"] = bands_of(out["score"], config)
    return out


def bounds_from(indicator_frames: list[pd.DataFrame], config: IndexConfig) -> dict:
    """Normalisation bounds: explicit ones, else percentiles over the base year's enterprise-months."""
    pooled = pd.concat(indicator_frames) if indicator_frames else pd.DataFrame()
    bounds = {}
    for ind in config.indicators:
        if ind.fixed is not None:
            bounds[ind.name] = tuple(float(v) for v in ind.fixed)
        elif pooled.empty:
            bounds[ind.name] = (0.0, 1.0)
        else:
            low, high = np.percentile(pooled[ind.name].to_numpy(dtype=float), ind.percentiles)
            bounds[ind.name] = (float(low), float(high))
    return bounds


def weighted_unit_scores(frame: pd.DataFrame, by: str, config: IndexConfig) -> pd.DataFrame:
    """Worker-weighted mean score per unit (``by`` a column such as station_id; None-valued rows dropped)."""
    data = frame[["score", "workers_used"]].assign(town=0) if by == "town" else (
        frame[[by, "score", "workers_used"]].dropna(subset=[by]))
    grouped = data.assign(weighted=data["score"] * data["workers_used"]).groupby(by)
    sums = grouped[["weighted", "workers_used"]].sum()  # each column summed on its own, as one groupby each
    result = pd.DataFrame({
        "score": sums["weighted"] / sums["workers_used"],
        "enterprises": grouped.size(),
        "workers": sums["workers_used"],
    })
    result["band"] = bands_of(result["score"], config)
    return result


# --- inputs from the database ---------------------------------------------------------------------------

def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_window(month: date, window_months: int, today: date) -> Window:
    """The days the indicators of ``month`` cover: the window_months months ending with it, to today."""
    last = min(add_months(month, 1) - timedelta(days=1), today)
    return Window(add_months(month, 1 - window_months), last)


ENTERPRISE_COLUMNS = ["enterprise_id", "sector", "workers", "park_id", "station_id"]


def enterprise_frame(conn: Connection, month: date | None = None) -> pd.DataFrame:
    """Enterprise dimension rows (a small table: id, sector, workers, park, station).

    With ``month``, as the registry stood on its last day: an enterprise closed (a full snapshot no longer held
    it) before the month began is left out, and one whose head count, sector, park or station changed later
    takes the values it held then (``enterprise_history``), so each month's index stands on that month's
    registry. Without, as it stands now."""
    columns = (Enterprise.id, Enterprise.sector, Enterprise.workers, Enterprise.park_id, Enterprise.station_id)
    stmt = select(*columns)
    if month is not None:
        stmt = stmt.where(or_(Enterprise.closed_on.is_(None), Enterprise.closed_on > month))
    frame = pd.DataFrame(conn.execute(stmt).all(), columns=ENTERPRISE_COLUMNS)
    if month is not None:
        frame = _as_held(conn, frame, add_months(month, 1) - timedelta(days=1))
    frame["workers"] = frame["workers"].astype(float)
    return frame


def _as_held(conn: Connection, frame: pd.DataFrame, day: date) -> pd.DataFrame:
    """``frame`` with the values each enterprise held on ``day`` where a later snapshot changed them."""
    h = EnterpriseHistory
    held = conn.execute(select(h.enterprise_id, h.sector, h.workers, h.park_id, h.station_id).where(
        h.valid_to > day, or_(h.valid_from.is_(None), h.valid_from <= day)).order_by(h.valid_to.desc())).all()
    if not held:
        return frame
    old = pd.DataFrame(held, columns=ENTERPRISE_COLUMNS).drop_duplicates("enterprise_id", keep="last")
    old = old.set_index("enterprise_id")  # ordered by valid_to, latest first: the earliest period after ``day`` wins
    frame = frame.set_index("enterprise_id")
    common = frame.index.intersection(old.index)
    frame.loc[common, ENTERPRISE_COLUMNS[1:]] = old.loc[common, ENTERPRISE_COLUMNS[1:]].to_numpy()
    return frame.reset_index()


def month_inputs(conn: Connection, month: date, today: date, config: IndexConfig,
                 enterprises: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-enterprise inputs of one month, aggregated in the database."""
    window = month_window(month, config.window_months, today)
    whole_months = Window(window.first, add_months(month, 1) - timedelta(days=1))
    frame = (enterprise_frame(conn, month) if enterprises is None else enterprises).copy()
    ids = frame["enterprise_id"]

    def grouped(counts: dict, names: tuple[str, ...]) -> pd.DataFrame:
        rows = [(*key, n) for key, n in counts.items()]
        return pd.DataFrame(rows, columns=["enterprise_id", *names, "n"]) if rows else pd.DataFrame(
            columns=["enterprise_id", *names, "n"])

    def per_enterprise(data: pd.DataFrame, **values) -> None:
        """Set each named column of ``frame`` to its values summed per enterprise (one groupby for all)."""
        summed = _sums_by_enterprise(ids, data, values)
        for name in values:
            frame[name] = summed[name]

    inc = grouped(rollups.counts(conn, "enterprise_incidents", whole_months, group_by=("enterprise_id", "category")),
                  ("category",))
    harm = inc["category"].map(config.harm_weights) if len(inc) else pd.Series(dtype=float)  # all categories
    per_enterprise(inc, incidents=inc["n"], harm_events=harm * inc["n"], harm_sq=harm**2 * inc["n"])

    dsp = grouped(rollups.counts(conn, "enterprise_disputes", whole_months,
                                 group_by=("enterprise_id", "status", "settled_level")), ("status", "level"))
    settled = dsp["status"] == "已化解"
    level = dsp["level"].map(config.escalation_levels)
    per_enterprise(dsp, disputes=dsp["n"], unsettled=dsp["n"].where(~settled, 0),
                   closed=dsp["n"].where(dsp["status"].isin(("已化解", "未化解")), 0),
                   in_house=dsp["n"].where(settled & dsp["level"].isin(("企业内", "园区")), 0),
                   settled=dsp["n"].where(settled & level.notna(), 0),
                   escalation_sum=(level.fillna(0) * dsp["n"]).where(settled, 0))

    hzd = grouped(rollups.counts(conn, "enterprise_hazards", whole_months, group_by=("enterprise_id", "severity")),
                  ("severity",))
    per_enterprise(hzd, severe_hazards=hzd["n"].where(hzd["severity"].isin(("较大", "重大")), 0))

    # Hazard states at the end of the window: open if found before and not rectified by then; overdue if
    # also past its deadline (in the current month: as of today).
    end_day = window.last
    end = local_midnight(end_day + timedelta(days=1))
    overdue_before = today if end_day >= today else end_day + timedelta(days=1)
    open_rows = conn.execute(
        select(Hazard.enterprise_id, func.count(),
               func.sum(case((Hazard.deadline < overdue_before, 1), else_=0)))
        .where(and_(Hazard.enterprise_id.is_not(None), Hazard.found_at < end,
                    or_(Hazard.rectified_at.is_(None), Hazard.rectified_at >= end)))
        .group_by(Hazard.enterprise_id)
    ).all()
    open_counts = {r[0]: (r[1], int(r[2] or 0)) for r in open_rows}
    frame["open_hazards"] = ids.map({k: v[0] for k, v in open_counts.items()}).fillna(0.0)
    frame["overdue_hazards"] = ids.map({k: v[1] for k, v in open_counts.items()}).fillna(0.0)

    teams = conn.execute(select(Team.enterprise_id, func.count()).where(
        Team.established_on <= end_day, or_(Team.dissolved_on.is_(None), Team.dissolved_on > end_day))
        .group_by(Team.enterprise_id)).all()  # the teams that existed on the month's last day
    frame["teams"] = ids.map(dict(teams)).fillna(0.0)
    frame["window_days"] = window.days
    return frame


def _sums_by_enterprise(ids: pd.Series, data: pd.DataFrame, values: dict) -> pd.DataFrame:
    """Each value series summed per enterprise of ``data``, as float columns aligned to ``ids`` (0.0 where an
    enterprise has no rows).

    One groupby for all the series: pandas sums each column on its own, exactly as one groupby per series did.
    """
    if not len(data):
        return pd.DataFrame(0.0, index=ids.index, columns=list(values))
    summed = data[["enterprise_id"]].assign(**values).groupby("enterprise_id")[list(values)].sum()
    return summed.reindex(ids.to_numpy()).fillna(0.0).astype(float).set_axis(ids.index)


def compute_month(conn: Connection, month: date, today: date, bounds: dict, config: IndexConfig | None = None,
                  enterprises: pd.DataFrame | None = None) -> pd.DataFrame:
    """Everything about every enterprise's index for one month: inputs, shrinkage, scores, band."""
    config = config or config_for(conn)
    return scores(indicators(month_inputs(conn, month, today, config, enterprises), config), bounds, config)


# --- bounds, refresh and receipts ----------------------------------------------------------------------

NO_PROGRAMME_START = (
    "the safety index needs a programme start: base_year = 'baseline' (data/index/safety_index.toml) fixes the score "
    "bounds on the year before it, and none is recorded. Record it with "
    "`flask --app app init-db --programme-start YYYY-MM-DD`, or set a numeric base_year (e.g. 2024) in "
    "data/index/safety_index.toml")


def base_year(conn: Connection, config: IndexConfig) -> int:
    """The year whose enterprise-months fix the percentile bounds: the configured one, else the year before the
    programme start."""
    if config.base_year != "baseline":
        return int(config.base_year)
    start = programme_start(conn)
    if start is None:
        raise IndexConfigError(NO_PROGRAMME_START)
    return start.year - 1


def reference_bounds(conn: Connection, today: date, config: IndexConfig | None = None,
                     month_indicators: Callable[[date], pd.DataFrame] | None = None) -> dict:
    """The stored bounds, computed once from the base year and kept in meta so scores stay comparable.

    ``month_indicators`` (a month's ``indicators`` frame) lets ``refresh`` share the months it scores too.
    """
    config = config or config_for(conn)
    year = base_year(conn, config)
    key = f"safety_index_bounds:v{bounds_version(config)}:{year}"
    stored = db.get_meta(conn, key)
    if stored:
        return {k: tuple(v) for k, v in json.loads(stored)["bounds"].items()}
    month_indicators = month_indicators or _MonthIndicators(conn, today, config)
    frames = [month_indicators(date(year, m, 1)) for m in range(1, 13) if date(year, m, 1) <= today]
    bounds = bounds_from(frames, config)
    db.set_meta(conn, key, json.dumps({"base_year": year, "bounds": bounds}))
    return bounds


def bounds_version(config: IndexConfig) -> str:
    """A short fingerprint of what the bounds depend on (everything but the bands): changed weights or
    indicators get their own stored bounds; the base year is in the key beside it."""
    return hashlib.sha1(repr(replace(config, bands=(), base_year="")).encode()).hexdigest()[:8]


class _MonthIndicators:
    """A month's ``indicators`` frame; with ``keep``, the months computed are kept for one more use until
    ``stop_keeping``."""

    def __init__(self, conn: Connection, today: date, config: IndexConfig, keep: bool = False):
        self.conn, self.today, self.config = conn, today, config
        self.keeping = keep
        self.kept: dict[date, pd.DataFrame] = {}
        # peer groups depend only on the enterprises' sectors and head counts: kept while a month's registry
        # (enterprise_frame as of the month) is the same as the last month's
        self.peers: PeerGroups | None = None
        self._peers_of: pd.DataFrame | None = None

    def stop_keeping(self, wanted: list[date]) -> None:
        """Keep no new months, and of the kept ones only those in ``wanted``."""
        self.keeping = False
        self.kept = {month: frame for month, frame in self.kept.items() if month in wanted}

    def __call__(self, month: date) -> pd.DataFrame:
        if month in self.kept:
            return self.kept.pop(month)
        enterprises = enterprise_frame(self.conn, month)
        if self._peers_of is None or not enterprises.equals(self._peers_of):
            self.peers, self._peers_of = None, enterprises
        inputs = month_inputs(self.conn, month, self.today, self.config, enterprises)
        frame, self.peers = _indicators(inputs, self.config, self.peers)
        if self.keeping:
            self.kept[month] = frame
        return frame


# meta: {month: the last day its window counted} of each stored month that was last refreshed while in progress
PARTIAL_KEY = "safety_index_partial"


def partial_months(conn: Connection) -> dict[date, date]:
    """The stored months last computed while still in progress, each with the last day its indicators counted.

    A month's indicators run to today while it lasts (``month_window``), and the running app refreshes the
    current month every few minutes: such a score is "to date", not the month's, and is drawn as such.
    """
    raw = db.get_meta(conn, PARTIAL_KEY)
    return {date.fromisoformat(m): date.fromisoformat(d) for m, d in json.loads(raw).items()} if raw else {}


def refresh(conn: Connection, months: list[date], today: date, config: IndexConfig | None = None) -> int:
    """Recompute and store the index of the given months for every enterprise and unit."""
    config = config or config_for(conn)
    # Months computed for the bounds (the base year, on the first refresh) are scored without recomputing.
    month_indicators = _MonthIndicators(conn, today, config, keep=True)
    bounds = reference_bounds(conn, today, config, month_indicators)
    month_indicators.stop_keeping(months)
    written = 0
    partial = partial_months(conn)
    for month in months:
        frame = scores(month_indicators(month), bounds, config)
        conn.execute(index_table.delete().where(index_table.c.month == month))
        conn.execute(unit_table.delete().where(unit_table.c.month == month))
        through = month_window(month, config.window_months, today).last
        if through < add_months(month, 1) - timedelta(days=1) and not frame.empty:
            partial[month] = through
        else:
            partial.pop(month, None)
        if frame.empty:
            continue
        rows = frame[["enterprise_id", "score", "band", *(f"pillar_{p}" for p in PILLARS)]].rename(
            columns={f"pillar_{p}": p for p in PILLARS}).assign(month=month)
        bulk.insert_columns(conn, index_table, {c: rows[c].to_numpy() for c in rows.columns})
        conn.execute(unit_table.insert(), _unit_rows(frame, month, config))
        written += len(rows)
    db.set_meta(conn, PARTIAL_KEY, json.dumps({m.isoformat(): d.isoformat() for m, d in sorted(partial.items())}))
    db.set_meta(conn, "safety_index_refreshed", now_utc().isoformat(timespec="seconds"))  # aware, UTC
    return written


def reband(conn: Connection, bands: tuple[tuple[str, float], ...]) -> None:
    """Give every stored score (enterprises' and units') the band its score falls in under ``bands`` (new band
    limits, data/index/settings.py: the scores stand)."""
    for table in (index_table, unit_table):
        band = case(*((table.c.score >= lower, name) for name, lower in bands), else_="红")
        conn.execute(table.update().values(band=band))


def _unit_rows(frame: pd.DataFrame, month: date, config: IndexConfig) -> list[dict]:
    """The town's, the stations' and the parks' rows of one month's index."""
    rows = []
    for kind, column in (("town", "town"), ("station", "station_id"), ("park", "park_id")):
        units = weighted_unit_scores(frame, column, config)
        for unit_id, score, band, enterprises, workers in zip(
                units.index, units["score"].tolist(), units["band"], units["enterprises"].tolist(),
                units["workers"].tolist(), strict=True):
            rows.append({"month": month, "unit_kind": kind, "unit_id": int(unit_id), "score": score, "band": band,
                         "enterprises": int(enterprises), "workers": float(workers)})
    return rows


EVENT_ROLLUPS = (rollups.ENT_INC, rollups.ENT_DSP, rollups.ENT_HZD)  # the enterprise event families the index reads


def first_event_month(conn: Connection) -> date | None:
    """The first month with an enterprise's incident, dispute or hazard (None on a database without any)."""
    firsts = [conn.execute(select(func.min(r.table.c.month))).scalar() for r in EVENT_ROLLUPS]
    firsts = [date.fromisoformat(f[:10]) if isinstance(f, str) else f for f in firsts if f is not None]
    return min(firsts, default=None)


def index_months(conn: Connection, today: date, config: IndexConfig | None = None) -> list[date]:
    """Every month from the first with a full indicator window (of any event family) to the current one."""
    config = config or config_for(conn)
    first = first_event_month(conn)
    if first is None:
        return [month_start(today)]
    month = add_months(first, config.window_months - 1)
    months = []
    while month <= month_start(today):
        months.append(month)
        month = add_months(month, 1)
    return months


@dataclass(frozen=True)
class Receipt:
    """Why an enterprise has its score this month: inputs, indicators, pillars, and the change."""

    enterprise_id: int
    month: date
    score: float
    band: str
    inputs: dict
    indicators: list[dict]
    pillars: list[dict]
    previous_score: float | None
    change: float | None


def receipt(conn: Connection, enterprise_id: int, month: date, today: date,
            config: IndexConfig | None = None) -> Receipt:
    """The receipt of one enterprise's score in one month (recomputed from the rollups)."""
    config = config or config_for(conn)
    bounds = reference_bounds(conn, today, config)
    previous = add_months(month, -1)
    now = compute_month(conn, month, today, bounds, config, enterprise_frame(conn, month)).set_index("enterprise_id")
    before = compute_month(conn, previous, today, bounds, config,
                           enterprise_frame(conn, previous)).set_index("enterprise_id")
    if enterprise_id not in now.index:
        raise KeyError(f"no enterprise {enterprise_id}")
    row, prev = now.loc[enterprise_id], before.loc[enterprise_id] if enterprise_id in before.index else None
    inputs = {k: _plain(row[k]) for k in ("sector", "workers", "workers_used", "workers_imputed", "peer_group",
                                          "window_days", "incidents", "harm_events", "disputes", "unsettled",
                                          "closed", "in_house", "settled", "severe_hazards", "open_hazards",
                                          "overdue_hazards", "teams")}
    inds = []
    for ind in config.indicators:
        entry = {"name": ind.name, "label": ind.label, "pillar": ind.pillar, "value": float(row[ind.name]),
                 "bounds": bounds[ind.name], "direction": ind.direction, "score": float(row[f"{ind.name}_score"]),
                 "weight_in_pillar": ind.weight}
        for extra in ("peer", "own_weight"):
            if f"{ind.name}_{extra}" in row.index:
                entry[extra] = float(row[f"{ind.name}_{extra}"])
        if prev is not None:
            entry["previous_value"] = float(prev[ind.name])
        inds.append(entry)
    pillars = [{"name": p, "label": config.pillar_labels[p], "weight": config.pillar_weights[p],
                "score": float(row[f"pillar_{p}"]),
                "contribution": float(row[f"pillar_{p}"] * config.pillar_weights[p]),
                "previous_contribution": (float(prev[f"pillar_{p}"] * config.pillar_weights[p])
                                          if prev is not None else None)}
               for p in PILLARS]
    previous = float(prev["score"]) if prev is not None else None
    return Receipt(enterprise_id, month, float(row["score"]), str(row["band"]), inputs, inds, pillars, previous,
                   None if previous is None else float(row["score"]) - previous)


def _plain(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value

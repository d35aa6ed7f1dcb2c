"""Operational measures beside the counts: response, in-house settlement, rectification, losses.

Definitions (each has an independent recomputation in tests/test_measures.py):
- receive-to-arrival: whole minutes from receipt to arrival, each time truncated to the second, over
  incidents received in the window that have an arrival; the median is the lower median (the
  ceil(n/2)-th smallest), read from the minute histogram rollup.
- in-house settlement share (矛盾不出企业): of the disputes reported in the window and closed (已化解 or
  未化解), the share settled (已化解) at 企业内 or 园区. A settled dispute whose level was not recorded cannot
  be placed: it is left out of the base (and counted apart, ``level_unknown``); with no level recorded at
  all the share is None (无数据), never 0.
- median days to settle: whole days from report to settlement of the disputes reported in the window
  and settled (已化解), lower median.
- rectification rate: of the hazards found in the window, the share rectified by now.
- median days to rectify (整改用时): whole days from finding to rectification (each time truncated to the
  second) of the hazards found in the window and rectified, lower median; overall and by severity.
- the year-earlier comparison of a measure (``operational_measures``): the same measure over the same
  dates a year earlier, with the significance of the change as for counts (|z| >= 2 notable, >= 3
  significant): a share by the two-proportion z test, a median by Mood's median test (the share of each
  side above the pooled median, compared as two proportions).
- overdue hazards: open hazards whose deadline (a Shanghai date) is before today, with days overdue.
- enterprise-related criminal cases: count, loss and recovered amounts of incidents in the window with
  category 刑事 and enterprise_related.
A share with a zero base or missing inputs is None (the screen shows 无数据), never NaN or 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from data.core import vocab
from data.core.periods import Window
from data.core.schema import Hazard, Incident
from data.core.scope import TOWN, Unit
from data.core.timeutil import local_day_range
from data.counts.compstat import unit_counts
from data.counts.metrics import significance


def lower_median(histogram: dict[int, int]) -> int | None:
    """The ceil(n/2)-th smallest value of a histogram {value: count}; None when empty."""
    total = sum(n for n in histogram.values() if n > 0)
    if total == 0:
        return None
    rank = (total + 1) // 2
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return value
    raise AssertionError("unreachable")


def share(part: int, whole: int) -> float | None:
    """part / whole, or None for a zero base."""
    return None if whole == 0 else part / whole


def median_arrival_minutes(conn: Connection, window: Window, unit: Unit = TOWN, filters=None) -> int | None:
    """Lower median of whole minutes from receipt to arrival."""
    counts = unit_counts(conn, "response", window, unit, filters, ("arrival_minutes",))
    return lower_median({minutes: n for (minutes,), n in counts.items() if minutes >= 0})


@dataclass(frozen=True)
class DisputeMeasures:
    reported: int
    closed: int
    settled_in_house: int
    in_house_share: float | None
    median_days_to_settle: int | None
    by_level: dict[str, int]
    level_unknown: int = 0  # settled (已化解) without a recorded level: outside the share's base


def dispute_measures(conn: Connection, window: Window, unit: Unit = TOWN, filters=None) -> DisputeMeasures:
    """Settlement measures of the disputes reported in a window."""
    rows = unit_counts(conn, "disputes", window, unit, filters, ("status", "settled_level"))
    reported = sum(rows.values())
    closed = sum(n for (status, _level), n in rows.items() if status in ("已化解", "未化解"))
    in_house = sum(n for (status, level), n in rows.items()
                   if status == "已化解" and level in vocab.IN_HOUSE_LEVELS)
    unknown = sum(n for (status, level), n in rows.items() if status == "已化解" and not level)
    placed = sum(n for (status, level), n in rows.items() if status == "已化解" and level)
    by_level = {level: sum(n for (status, lv), n in rows.items() if lv == level and status == "已化解")
                for level in vocab.SETTLED_LEVELS}
    days_rows = unit_counts(conn, "disputes", window, unit, {**(filters or {}), "status": "已化解"},
                            ("settle_days",))
    days = {d: n for (d,), n in days_rows.items() if d >= 0}
    # settled disputes but not one with its level: the share is unknown, not 0
    in_house_share = None if unknown and not placed else share(in_house, closed - unknown)
    return DisputeMeasures(reported, closed, in_house, in_house_share, lower_median(days), by_level, unknown)


@dataclass(frozen=True)
class HazardMeasures:
    found: int
    rectified: int
    rectification_rate: float | None
    median_days_to_rectify: int | None = None
    median_days_by_severity: dict[str, int | None] = field(default_factory=dict)


def rectify_days(conn: Connection, window: Window, unit: Unit = TOWN, filters=None,
                 severity: str | None = None) -> dict[int, int]:
    """Histogram {whole days from finding to rectification: hazards} of the hazards found in a window."""
    wanted = {**(filters or {}), **({"severity": severity} if severity else {})}
    rows = unit_counts(conn, "rectification", window, unit, wanted, ("rectify_days",))
    return {d: n for (d,), n in rows.items() if d >= 0}


def rectify_histograms(conn: Connection, window: Window, unit: Unit = TOWN, filters=None
                       ) -> tuple[dict[int, int], dict[str, dict[int, int]]]:
    """Days-to-rectify histograms of the hazards found in a window, overall and per severity, in one read."""
    by_severity = unit_counts(conn, "rectification", window, unit, filters, ("severity", "rectify_days"))
    overall: dict[int, int] = {}
    per: dict[str, dict[int, int]] = {sev: {} for sev in vocab.HAZARD_SEVERITIES}
    for (sev, days), n in by_severity.items():
        if days >= 0:
            overall[days] = overall.get(days, 0) + n
            per.setdefault(sev, {})[days] = per.get(sev, {}).get(days, 0) + n
    return overall, per


def hazard_measures(conn: Connection, window: Window, unit: Unit = TOWN, filters=None) -> HazardMeasures:
    """Rectification of the hazards found in a window: the rate and the median days, overall and by severity."""
    rows = unit_counts(conn, "hazards", window, unit, filters, ("status",))
    found = sum(rows.values())
    rectified = rows.get(("已整改",), 0)
    overall, per = rectify_histograms(conn, window, unit, filters)
    return HazardMeasures(found, rectified, share(rectified, found), lower_median(overall),
                          {sev: lower_median(h) for sev, h in per.items()})


# --- the year-earlier comparison of the measures -------------------------------------------------------

@dataclass(frozen=True)
class Measure:
    """One operational measure now and over the same dates a year earlier, with the change's significance."""

    key: str  # arrival_minutes, in_house_share, settle_days, rectification_rate, rectify_days[:severity]
    unit: str  # min, share, days
    now: float | None  # None: no inputs (无数据)
    before: float | None
    n_now: int  # how many events the measure stands on
    n_before: int
    z: float | None

    @property
    def significance(self) -> str:
        return "none" if self.z is None else significance(self.z)

    @property
    def diff(self) -> float | None:
        return None if self.now is None or self.before is None else self.now - self.before


def proportion_z(part_a: int, whole_a: int, part_b: int, whole_b: int) -> float | None:
    """Two-proportion z (pooled) of part_a/whole_a against part_b/whole_b; None without both sides."""
    if whole_a == 0 or whole_b == 0:
        return None
    pooled = (part_a + part_b) / (whole_a + whole_b)
    variance = pooled * (1 - pooled) * (1 / whole_a + 1 / whole_b)
    if variance == 0:
        return 0.0
    return (part_a / whole_a - part_b / whole_b) / math.sqrt(variance)


def median_z(now: dict[int, int], before: dict[int, int]) -> float | None:
    """Mood's median test as a signed z: the share of each side above the pooled (lower) median."""
    pooled: dict[int, int] = dict(before)
    for value, n in now.items():
        pooled[value] = pooled.get(value, 0) + n
    middle = lower_median(pooled)
    if middle is None or not now or not before:
        return None
    above_now = sum(n for v, n in now.items() if v > middle)
    above_before = sum(n for v, n in before.items() if v > middle)
    return proportion_z(above_now, sum(now.values()), above_before, sum(before.values()))


def _median_measure(key: str, unit_name: str, now: dict[int, int], before: dict[int, int]) -> Measure:
    return Measure(key, unit_name, lower_median(now), lower_median(before), sum(now.values()),
                   sum(before.values()), median_z(now, before))


def _share_measure(key: str, part_now: int, whole_now: int, part_before: int, whole_before: int) -> Measure:
    return Measure(key, "share", share(part_now, whole_now), share(part_before, whole_before), whole_now,
                   whole_before, proportion_z(part_now, whole_now, part_before, whole_before))


def _arrival_histogram(conn: Connection, window: Window, unit: Unit, filters) -> dict[int, int]:
    counts = unit_counts(conn, "response", window, unit, filters, ("arrival_minutes",))
    return {minutes: n for (minutes,), n in counts.items() if minutes >= 0}


def _settle_histogram(conn: Connection, window: Window, unit: Unit, filters) -> dict[int, int]:
    rows = unit_counts(conn, "disputes", window, unit, {**(filters or {}), "status": "已化解"}, ("settle_days",))
    return {d: n for (d,), n in rows.items() if d >= 0}


def operational_measures(conn: Connection, window: Window, earlier: Window, unit: Unit = TOWN,
                         incident_filters=None, dispute_filters=None, hazard_filters=None) -> list[Measure]:
    """Every operational measure of a window against the same dates a year earlier (``earlier``)."""
    out = [_median_measure("arrival_minutes", "min", _arrival_histogram(conn, window, unit, incident_filters),
                           _arrival_histogram(conn, earlier, unit, incident_filters))]
    d_now, d_before = (dispute_measures(conn, w, unit, dispute_filters) for w in (window, earlier))
    out.append(_share_measure("in_house_share", d_now.settled_in_house,
                              0 if d_now.in_house_share is None else d_now.closed - d_now.level_unknown,
                              d_before.settled_in_house,
                              0 if d_before.in_house_share is None else d_before.closed - d_before.level_unknown))
    out.append(_median_measure("settle_days", "days", _settle_histogram(conn, window, unit, dispute_filters),
                               _settle_histogram(conn, earlier, unit, dispute_filters)))
    rates = [unit_counts(conn, "hazards", w, unit, hazard_filters, ("status",)) for w in (window, earlier)]
    found, rectified = [sum(r.values()) for r in rates], [r.get(("已整改",), 0) for r in rates]
    out.append(_share_measure("rectification_rate", rectified[0], found[0], rectified[1], found[1]))
    (all_now, per_now), (all_before, per_before) = (rectify_histograms(conn, w, unit, hazard_filters)
                                                    for w in (window, earlier))
    out.append(_median_measure("rectify_days", "days", all_now, all_before))
    for severity in vocab.HAZARD_SEVERITIES:
        out.append(_median_measure(f"rectify_days:{severity}", "days", per_now.get(severity, {}),
                                   per_before.get(severity, {})))
    return out


@dataclass(frozen=True)
class OverdueHazard:
    id: int
    enterprise_id: int | None
    station_id: int
    hazard_type: str
    severity: str
    deadline: date
    days_overdue: int


def overdue_hazards(conn: Connection, today: date, unit: Unit = TOWN, limit: int | None = None) -> list[OverdueHazard]:
    """Open hazards past their deadline as of ``today``, most overdue first."""
    conditions = [Hazard.status == "待整改", Hazard.deadline < today, *unit.where(Hazard)]
    stmt = (select(Hazard.id, Hazard.enterprise_id, Hazard.station_id, Hazard.hazard_type, Hazard.severity,
                   Hazard.deadline)
            .where(and_(*conditions)).order_by(Hazard.deadline, Hazard.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return [OverdueHazard(r.id, r.enterprise_id, r.station_id, r.hazard_type, r.severity, r.deadline,
                          (today - r.deadline).days) for r in conn.execute(stmt)]


@dataclass(frozen=True)
class CriminalCases:
    cases: int
    loss: Decimal
    recovered: Decimal


def enterprise_criminal_cases(conn: Connection, window: Window, unit: Unit = TOWN) -> CriminalCases:
    """Enterprise-related criminal cases received in a window, with their loss and recovered amounts."""
    start, end = local_day_range(window.first, window.last)
    conditions = [Incident.received_at >= start, Incident.received_at < end, Incident.category == "刑事",
                  Incident.enterprise_related.is_(True), *unit.where(Incident)]
    cases, loss, recovered = conn.execute(
        select(func.count(), func.coalesce(func.sum(Incident.loss_amount), 0),
               func.coalesce(func.sum(Incident.recovered_amount), 0)).where(and_(*conditions))
    ).one()
    return CriminalCases(int(cases), Decimal(loss), Decimal(recovered))

"""Operational measures beside the counts: response, in-house settlement, rectification, losses.

Definitions (each has an independent recomputation in tests/test_measures.py):
- receive-to-arrival: whole minutes from receipt to arrival, each time truncated to the second, over
  incidents received in the window that have an arrival; the median is the lower median (the
  ceil(n/2)-th smallest), read from the minute histogram rollup.
- in-house settlement share (矛盾不出企业): of the disputes reported in the window and closed (已化解 or
  未化解), the share settled (已化解) at 企业内 or 园区.
- median days to settle: whole days from report to settlement of the disputes reported in the window
  and settled (已化解), lower median.
- rectification rate: of the hazards found in the window, the share rectified by now.
- overdue hazards: open hazards whose deadline (a Shanghai date) is before today, with days overdue.
- enterprise-related criminal cases: count, loss and recovered amounts of incidents in the window with
  category 刑事 and enterprise_related.
A share with a zero base is None (the screen shows —), never NaN.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from data import vocab
from data.compstat import TOWN, Unit, unit_counts
from data.periods import Window
from data.schema import Hazard, Incident
from data.timeutil import local_day_range


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


def dispute_measures(conn: Connection, window: Window, unit: Unit = TOWN, filters=None) -> DisputeMeasures:
    """Settlement measures of the disputes reported in a window."""
    rows = unit_counts(conn, "disputes", window, unit, filters, ("status", "settled_level"))
    reported = sum(rows.values())
    closed = sum(n for (status, _level), n in rows.items() if status in ("已化解", "未化解"))
    in_house = sum(n for (status, level), n in rows.items()
                   if status == "已化解" and level in vocab.IN_HOUSE_LEVELS)
    by_level = {level: sum(n for (status, lv), n in rows.items() if lv == level and status == "已化解")
                for level in vocab.SETTLED_LEVELS}
    days_rows = unit_counts(conn, "disputes", window, unit, {**(filters or {}), "status": "已化解"},
                            ("settle_days",))
    days = {d: n for (d,), n in days_rows.items() if d >= 0}
    return DisputeMeasures(reported, closed, in_house, share(in_house, closed), lower_median(days), by_level)


@dataclass(frozen=True)
class HazardMeasures:
    found: int
    rectified: int
    rectification_rate: float | None


def hazard_measures(conn: Connection, window: Window, unit: Unit = TOWN, filters=None) -> HazardMeasures:
    """Rectification of the hazards found in a window."""
    rows = unit_counts(conn, "hazards", window, unit, filters, ("status",))
    found = sum(rows.values())
    rectified = rows.get(("已整改",), 0)
    return HazardMeasures(found, rectified, share(rectified, found))


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
    conditions = [Hazard.status == "待整改", Hazard.deadline < today]
    if unit.kind != "town":
        conditions.append(getattr(Hazard, f"{unit.kind}_id") == unit.id)
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
                  Incident.enterprise_related.is_(True)]
    if unit.kind != "town":
        conditions.append(getattr(Incident, f"{unit.kind}_id") == unit.id)
    cases, loss, recovered = conn.execute(
        select(func.count(), func.coalesce(func.sum(Incident.loss_amount), 0),
               func.coalesce(func.sum(Incident.recovered_amount), 0)).where(and_(*conditions))
    ).one()
    return CriminalCases(int(cases), Decimal(loss), Decimal(recovered))

"""The programme's headline figures: rolling-year changes and totals since the programme start.

"Last 365 days" means the 365 complete Shanghai days up to yesterday, against the 365 days before them,
so a figure does not move during the day as today's calls arrive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import Connection, and_, func, select

from data.core import db
from data.core.schema import Dispute, Hazard, Incident
from data.core.timeutil import local_date, local_day_range, local_midnight
from data.counts.metrics import Change


def programme_start(conn) -> date | None:
    """The programme start recorded in the database (by seed-demo or init-db), if any."""
    raw = db.get_meta(conn, "programme_start")
    if raw is None:
        settings = db.get_meta(conn, "demo_settings")
        raw = json.loads(settings)["programme_start"] if settings else None
    return date.fromisoformat(raw) if raw else None


# figure -> (table's time column, extra conditions)
FIGURES = {
    "incidents": (Incident.received_at, ()),
    "enterprise_incidents": (Incident.received_at, (Incident.enterprise_related.is_(True),)),
    "traffic_accidents": (Incident.received_at, (Incident.category == "交通事故",)),
    "enterprise_economic_disputes": (
        Dispute.reported_at, (Dispute.dispute_type == "经济", Dispute.enterprise_id.is_not(None)),
    ),
    "labour_disputes": (Dispute.reported_at, (Dispute.dispute_type == "劳资",)),
}
FIGURE_ORDER = tuple(FIGURES)


def count_days(conn: Connection, figure: str, first: date, last: date) -> int:
    """Events of a figure on Shanghai days first..last inclusive."""
    column, conditions = FIGURES[figure]
    start, end = local_day_range(first, last)
    stmt = select(func.count()).select_from(column.table).where(column >= start, column < end, *conditions)
    return int(conn.execute(stmt).scalar_one())


def daily_counts(conn: Connection, figure: str, first: date, last: date):
    """A figure's count on each Shanghai day first..last, as a numpy array (zeros included)."""
    import numpy as np

    column, conditions = FIGURES[figure]
    start, end = local_day_range(first, last)
    day = local_date(column)
    stmt = (select(day, func.count()).select_from(column.table)
            .where(column >= start, column < end, *conditions).group_by(day))
    counts = np.zeros((last - first).days + 1, dtype=np.int64)
    for bucket, n in conn.execute(stmt):
        counts[(bucket - first).days] = n
    return counts


def rolling_windows(today: date) -> tuple[tuple[date, date], tuple[date, date]]:
    """(recent, earlier): the 365 complete days to yesterday and the 365 days before them."""
    last = today - timedelta(days=1)
    return (last - timedelta(days=364), last), (last - timedelta(days=729), last - timedelta(days=365))


def rolling_year_change(conn: Connection, figure: str, today: date) -> Change:
    """A figure's last 365 days against the 365 before."""
    (a0, a1), (b0, b1) = rolling_windows(today)
    return Change(count_days(conn, figure, a0, a1), count_days(conn, figure, b0, b1))


@dataclass(frozen=True)
class ProgrammeTotals:
    """What the programme has done since it started."""

    since: date
    hazards_rectified: int
    enterprise_criminal_cases: int
    enterprise_criminal_loss: Decimal
    enterprise_criminal_recovered: Decimal


def programme_totals(conn: Connection, programme_start: date) -> ProgrammeTotals:
    """Hazards rectified, and enterprise-related criminal cases with their amounts, since the start."""
    start = local_midnight(programme_start)
    rectified = conn.execute(
        select(func.count()).select_from(Hazard).where(Hazard.rectified_at >= start)
    ).scalar_one()
    cases, loss, recovered = conn.execute(
        select(func.count(), func.coalesce(func.sum(Incident.loss_amount), 0),
               func.coalesce(func.sum(Incident.recovered_amount), 0))
        .where(and_(Incident.received_at >= start, Incident.enterprise_related.is_(True),
                    Incident.category == "刑事"))
    ).one()
    return ProgrammeTotals(programme_start, int(rectified), int(cases), Decimal(loss), Decimal(recovered))

"""The programme's headline figures: their one definition (``FIGURES``), rolling-year changes and totals since the
programme start.

"Last 365 days" means the 365 complete Shanghai days up to yesterday, against the 365 days before them,
so a figure does not move during the day as today's calls arrive.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import Connection, and_, func, select

from data.core import db
from data.core.periods import Window
from data.core.schema import Dispute, Hazard, Incident
from data.core.scope import TOWN, Unit
from data.core.timeutil import local_date, local_day_range, local_midnight
from data.counts.compstat import covered_counts
from data.counts.metrics import Change


def programme_start(conn) -> date | None:
    """The programme start recorded in the database (by seed-demo or init-db), if any."""
    raw = db.get_meta(conn, "programme_start")
    if raw is None:
        settings = db.get_meta(conn, "demo_settings")
        raw = json.loads(settings)["programme_start"] if settings else None
    return date.fromisoformat(raw) if raw else None


@dataclass(frozen=True)
class Figure:
    """One of the five headline figures: the events of a family (incidents or disputes) it counts, given as the
    rollups' filters (data/core/rollups.py). The programme counts it over the base tables (``conditions``), the
    wall and the report from the rollups (``figure_totals``, or the filters themselves): one definition."""

    key: str
    family: str  # incidents, disputes
    filters: Mapping[str, object]

    @property
    def time_column(self):
        """The base table's time column the figure is counted by."""
        return TIME_COLUMNS[self.family]

    def conditions(self) -> tuple:
        """The filters as SQLAlchemy conditions over the family's base table."""
        table = self.time_column.class_
        out = []
        for name, value in self.filters.items():
            if name == "with_enterprise":
                out.append(table.enterprise_id.is_not(None) if value else table.enterprise_id.is_(None))
            elif isinstance(value, bool):
                out.append(getattr(table, name).is_(value))
            else:
                out.append(getattr(table, name) == value)
        return tuple(out)

    def keeps(self, key: Mapping[str, object]) -> bool:
        """Whether a rollup row (its dimensions by name) counts towards the figure."""
        return all(bool(key[name]) == value if isinstance(value, bool) else key[name] == value
                   for name, value in self.filters.items())


TIME_COLUMNS = {"incidents": Incident.received_at, "disputes": Dispute.reported_at}
FIGURES = {figure.key: figure for figure in (
    Figure("incidents", "incidents", {}),
    Figure("enterprise_incidents", "incidents", {"enterprise_related": True}),
    Figure("traffic_accidents", "incidents", {"category": "交通事故"}),
    Figure("enterprise_economic_disputes", "disputes", {"dispute_type": "经济", "with_enterprise": True}),
    Figure("labour_disputes", "disputes", {"dispute_type": "劳资"}),
)}
FIGURE_ORDER = tuple(FIGURES)
# the rollup dimensions each family is read by to give all its figures at once
FIGURE_DIMENSIONS = {family: tuple(dict.fromkeys(name for f in FIGURES.values() if f.family == family
                                                 for name in f.filters))
                     for family in TIME_COLUMNS}


def figure_totals(conn: Connection, window: Window, unit: Unit = TOWN) -> dict[str, int | None]:
    """Every headline figure of a unit over a window, from the rollups (one grouped read per family); None
    where the data do not cover the window (无数据)."""
    totals: dict[str, int | None] = {}
    for family, dims in FIGURE_DIMENSIONS.items():
        counts = covered_counts(conn, family, window, unit, group_by=dims)
        for figure in FIGURES.values():
            if figure.family == family:
                totals[figure.key] = None if counts is None else sum(
                    n for key, n in counts.items() if figure.keeps(dict(zip(dims, key, strict=True))))
    return {key: totals[key] for key in FIGURE_ORDER}


def count_days(conn: Connection, figure: str, first: date, last: date) -> int:
    """Events of a figure on Shanghai days first..last inclusive."""
    column, conditions = FIGURES[figure].time_column, FIGURES[figure].conditions()
    start, end = local_day_range(first, last)
    stmt = select(func.count()).select_from(column.table).where(column >= start, column < end, *conditions)
    return int(conn.execute(stmt).scalar_one())


def daily_counts(conn: Connection, figure: str, first: date, last: date):
    """A figure's count on each Shanghai day first..last, as a numpy array (zeros included)."""
    column, conditions = FIGURES[figure].time_column, FIGURES[figure].conditions()
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

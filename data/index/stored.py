"""The stored safety index, read: THE reader of the tables ``safety_index`` (an enterprise's score, band and
pillars per month) and ``safety_index_units`` (the worker-weighted score of the town, each station and each park
per month).

``data.index.safety_index.refresh`` writes both tables; every other module reads them through the functions
here, never with a query of its own (tests/test_scope.py fails when one does). A unit is scoped by
``data.core.scope.Unit`` as everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import NamedTuple

from sqlalchemy import Connection, func, select

from data.core.schema import Enterprise, Park
from data.core.schema import safety_index_table as index_table
from data.core.schema import safety_index_unit_table as unit_table
from data.core.scope import TOWN, Unit
from data.index.safety_index import month_start


class UnitScore(NamedTuple):
    """A unit's stored index of one month."""

    score: float
    band: str
    enterprises: int


def _as_date(value) -> date:
    """A month as stored (SQLite hands aggregates back as text)."""
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


# --- months --------------------------------------------------------------------------------------------------

def latest_month(conn: Connection, today: date) -> date | None:
    """The latest month with a stored enterprise index, not after today's month."""
    value = conn.execute(select(func.max(index_table.c.month))
                         .where(index_table.c.month <= month_start(today))).scalar()
    return None if value is None else _as_date(value)


# --- units (town, stations, parks) ---------------------------------------------------------------------------

def unit_scores(conn: Connection, kind: str, months: Iterable[date],
                ids: Iterable[int] | None = None) -> dict[date, dict[int, UnitScore]]:
    """The stored scores of the units of one kind (``town``, ``station``, ``park``; only ``ids`` when given) in
    each of ``months``: {month: {unit_id: UnitScore}}, every month present, units in id order."""
    months = list(months)
    stmt = (select(unit_table.c.month, unit_table.c.unit_id, unit_table.c.score, unit_table.c.band,
                   unit_table.c.enterprises)
            .where(unit_table.c.unit_kind == kind, unit_table.c.month.in_(months))
            .order_by(unit_table.c.month, unit_table.c.unit_id))
    if ids is not None:
        stmt = stmt.where(unit_table.c.unit_id.in_(list(ids)))
    out: dict[date, dict[int, UnitScore]] = {m: {} for m in months}
    for month, unit_id, score, band, enterprises in conn.execute(stmt).all():
        out.setdefault(_as_date(month), {})[int(unit_id)] = UnitScore(float(score), band, int(enterprises))
    return out


def unit_score(conn: Connection, unit: Unit, month: date) -> UnitScore | None:
    """The stored score of one unit (the town, a station or a park) in one month; None when there is none."""
    kind, unit_id = unit.rollup_key
    return unit_scores(conn, kind, [month], [unit_id])[month].get(unit_id)


def unit_score_query(unit: Unit, month: date) -> str:
    """The plain SQL that reads ``unit_score`` (the report prints the query behind each number)."""
    kind, unit_id = unit.rollup_key
    return (f"SELECT score, band FROM {unit_table.name} WHERE month = '{month.isoformat()}' AND unit_kind = "
            f"'{kind}' AND unit_id = {unit_id}")


def unit_trend(conn: Connection, unit: Unit, since: date) -> list[tuple[date, float]]:
    """A unit's stored score of every month from ``since`` on, oldest first."""
    kind, unit_id = unit.rollup_key
    rows = conn.execute(select(unit_table.c.month, unit_table.c.score)
                        .where(unit_table.c.unit_kind == kind, unit_table.c.unit_id == unit_id,
                               unit_table.c.month >= since)
                        .order_by(unit_table.c.month))
    return [(_as_date(m), float(s)) for m, s in rows]


def lowest_parks(conn: Connection, month: date, unit: Unit = TOWN, limit: int | None = None) -> list:
    """The parks of a unit (the town or a station) with their score and band of ``month``, lowest first (ties
    by id): rows of id, name, score, band."""
    stmt = (select(unit_table.c.unit_id.label("id"), Park.name, unit_table.c.score, unit_table.c.band)
            .join(Park, Park.id == unit_table.c.unit_id)
            .where(unit_table.c.unit_kind == "park", unit_table.c.month == month, *unit.where(Park))
            .order_by(unit_table.c.score, unit_table.c.unit_id))
    if limit is not None:
        stmt = stmt.limit(limit)
    return conn.execute(stmt).all()


def with_unit_scores(stmt, kind: str, unit_id, month: date):
    """``stmt`` (a SELECT with the column ``unit_id`` of units of ``kind``, e.g. ``Park.id``) with each unit's
    ``score`` and ``band`` of ``month`` added by an outer join (NULL where it has none)."""
    return stmt.add_columns(unit_table.c.score, unit_table.c.band).outerjoin(
        unit_table, (unit_table.c.unit_kind == kind) & (unit_table.c.unit_id == unit_id)
        & (unit_table.c.month == month))


# --- enterprises ---------------------------------------------------------------------------------------------

def enterprise_scores(conn: Connection, month: date, ids: Iterable[int]) -> dict[int, float]:
    """The stored score of each of ``ids`` that has one in ``month``."""
    ids = list(ids)
    if not ids:
        return {}
    return dict(conn.execute(select(index_table.c.enterprise_id, index_table.c.score)
                             .where(index_table.c.month == month, index_table.c.enterprise_id.in_(ids))).all())


def lowest_enterprises(conn: Connection, month: date, unit: Unit = TOWN, bands: Iterable[str] | None = None,
                       limit: int | None = None) -> list:
    """The enterprises of a unit with a stored index in ``month`` (of ``bands`` only, when given), lowest score
    first, ties by id: rows of id, name, station_id, lat, lon, score, band."""
    stmt = (select(index_table.c.enterprise_id.label("id"), Enterprise.name, Enterprise.station_id, Enterprise.lat,
                   Enterprise.lon, index_table.c.score, index_table.c.band)
            .join(Enterprise, Enterprise.id == index_table.c.enterprise_id)
            .where(index_table.c.month == month, *unit.where(Enterprise)))
    if bands is not None:
        stmt = stmt.where(index_table.c.band.in_(tuple(bands)))
    stmt = stmt.order_by(index_table.c.score, index_table.c.enterprise_id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return conn.execute(stmt).all()


def with_enterprise_scores(stmt, month: date):
    """``stmt`` (a SELECT from the enterprises) with each enterprise's ``score`` and ``band`` of ``month`` added
    by an outer join (NULL where it has none)."""
    return stmt.add_columns(index_table.c.score, index_table.c.band).select_from(Enterprise.__table__.outerjoin(
        index_table, (index_table.c.enterprise_id == Enterprise.id) & (index_table.c.month == month)))


def enterprise_history(conn: Connection, enterprise_id: int) -> list:
    """An enterprise's stored index of every month, oldest first: rows of month, score, band and the four
    pillars (incidents, disputes, hazards, governance)."""
    c = index_table.c
    return conn.execute(select(c.month, c.score, c.band, c.incidents, c.disputes, c.hazards, c.governance)
                        .where(c.enterprise_id == enterprise_id).order_by(c.month)).all()

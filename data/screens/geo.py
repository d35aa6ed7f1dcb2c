"""What the wall's map draws: station areas, today's incidents, a 7-day heat grid, parks and risky enterprises.

Every function takes an open connection and returns plain dicts and lists (GeoJSON, JSON-ready rows), so
the results can be cached and handed to ``figures.wall_map`` as they are. Points carry no personal data:
no caller, phone, address or free-text summary leaves this module.

The heat grid is aggregated in the database. A cell is ``(floor(lat / cell_deg), floor(lon / cell_deg))``
computed in IEEE double arithmetic; ``floor_int`` compiles that per dialect so that SQLite and PostgreSQL
put every point in the same cell (PostgreSQL's ``CAST(x AS INTEGER)`` rounds, SQLite's truncates, and
SQLite's ``floor()`` exists only in builds with the math functions).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from sqlalchemy import Connection, Integer, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction, count

from data.core.schema import Incident, Park, Station
from data.core.scope import TOWN, Unit
from data.core.timeutil import local_day_range, local_midnight, local_today
from data.index import stored

BANDS = ("蓝", "黄", "橙", "红")  # best first, as data/index/safety_index.toml defines them
RISKY_BANDS = ("橙", "红")
MAP_UNIT_KINDS = ("town", "station")
CELL_DECIMALS = 6  # cell centres are rounded to about 0.1 m


class floor_int(GenericFunction):
    """SQL expression: the largest integer not greater than a numeric expression, as an INTEGER."""

    type = Integer()
    inherit_cache = True


@compiles(floor_int)
def _floor_int_default(element, compiler, **kw):
    (arg,) = list(element.clauses)
    return f"CAST(FLOOR({compiler.process(arg, **kw)}) AS INTEGER)"


@compiles(floor_int, "sqlite")
def _floor_int_sqlite(element, compiler, **kw):
    # CAST truncates toward zero; one less for negative non-integers. The argument is rendered twice,
    # which is safe for a deterministic expression (its bound parameters are bound twice).
    (arg,) = list(element.clauses)
    x = compiler.process(arg, **kw)
    return f"(CAST(({x}) AS INTEGER) - (({x}) < CAST(({x}) AS INTEGER)))"


def _check_unit(unit: Unit) -> None:
    if unit.kind not in MAP_UNIT_KINDS:
        raise ValueError(f"the map shows the town or a station, not a {unit.kind}")


def _month_start(month: date) -> date:
    return month.replace(day=1)


def _score_or_none(value) -> float | None:
    return None if value is None else float(value)


def station_areas(conn: Connection) -> dict:
    """A GeoJSON FeatureCollection of the station polygons; feature id and properties.id are the station id."""
    rows = conn.execute(select(Station.id, Station.name, Station.polygon_geojson).order_by(Station.id))
    features = [
        {"type": "Feature", "id": int(r.id), "properties": {"id": int(r.id), "name": r.name},
         "geometry": json.loads(r.polygon_geojson)}
        for r in rows
    ]
    return {"type": "FeatureCollection", "features": features}


# Today's points go to every wall beside the feed (time, category, station): at three decimals (about 110 m
# north-south, 95 m east-west here) they place a call on the map, not at a door.
POINT_DECIMALS = 3


def incidents_today(conn: Connection, now: datetime, unit: Unit = TOWN) -> list[dict]:
    """Incidents of the Shanghai day of ``now`` received up to ``now``, oldest first, without personal data."""
    _check_unit(unit)
    start = local_midnight(local_today(now))
    stmt = (
        select(Incident.received_at, Incident.lat, Incident.lon, Incident.priority, Incident.category,
               Incident.station_id)
        .where(Incident.received_at >= start, Incident.received_at <= now,
               Incident.lat.is_not(None), Incident.lon.is_not(None))
        .order_by(Incident.received_at, Incident.id)
    )
    stmt = stmt.where(*unit.where(Incident))
    return [
        {"lat": round(float(r.lat), POINT_DECIMALS), "lon": round(float(r.lon), POINT_DECIMALS),
         "priority": int(r.priority), "category": r.category,
         "station_id": int(r.station_id), "age_minutes": int((now - r.received_at).total_seconds() // 60)}
        for r in conn.execute(stmt)
    ]


def heat_cells(conn: Connection, today: date, days: int = 7, unit: Unit = TOWN,
               cell_deg: float = 0.004) -> list[dict]:
    """Incident counts per lat/lon grid cell over the ``days`` Shanghai days ending with ``today``."""
    _check_unit(unit)
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    if not cell_deg > 0:
        raise ValueError(f"cell_deg must be positive, got {cell_deg}")
    start, end = local_day_range(today - timedelta(days=days - 1), today)
    cell = float(cell_deg)
    located = (
        select(floor_int(Incident.lat / cell).label("i"), floor_int(Incident.lon / cell).label("j"))
        .where(Incident.received_at >= start, Incident.received_at < end,
               Incident.lat.is_not(None), Incident.lon.is_not(None))
    )
    located = located.where(*unit.where(Incident))
    cells = located.subquery()
    # Grouping the subquery's columns keeps each bound parameter in one place (PostgreSQL would not see
    # two differently-bound FLOOR(lat / $n) expressions as the same group key).
    stmt = (select(cells.c.i, cells.c.j, count().label("n"))
            .group_by(cells.c.i, cells.c.j).order_by(cells.c.i, cells.c.j))
    return [
        {"lat": round((int(r.i) + 0.5) * cell, CELL_DECIMALS), "lon": round((int(r.j) + 0.5) * cell, CELL_DECIMALS),
         "n": int(r.n)}
        for r in conn.execute(stmt)
    ]


def parks(conn: Connection, unit: Unit = TOWN, month: date | None = None) -> list[dict]:
    """The parks of the unit with their place, and their index score and band of ``month`` when given."""
    _check_unit(unit)
    stmt = select(Park.id, Park.name, Park.station_id, Park.lat, Park.lon).order_by(Park.id)
    if month is not None:
        stmt = stored.with_unit_scores(stmt, "park", Park.id, _month_start(month))
    stmt = stmt.where(*unit.where(Park))
    result = []
    for r in conn.execute(stmt):
        score, band = (r.score, r.band) if month is not None else (None, None)
        result.append({"id": int(r.id), "name": r.name, "station_id": int(r.station_id), "lat": float(r.lat),
                       "lon": float(r.lon), "score": _score_or_none(score), "band": band})
    return result


def risky_enterprises(conn: Connection, month: date, unit: Unit = TOWN,
                      bands: tuple[str, ...] = RISKY_BANDS) -> list[dict]:
    """Enterprises whose safety index of ``month`` falls in ``bands``, lowest score first."""
    _check_unit(unit)
    unknown = [b for b in bands if b not in BANDS]
    if unknown:
        raise ValueError(f"unknown band {unknown[0]!r}; use one of {', '.join(BANDS)}")
    return [
        {"id": int(r.id), "name": r.name, "station_id": int(r.station_id), "lat": float(r.lat),
         "lon": float(r.lon), "score": float(r.score), "band": r.band}
        for r in stored.lowest_enterprises(conn, _month_start(month), unit, bands)
    ]


def station_scores(conn: Connection, month: date) -> dict[int, tuple[float, str]]:
    """Each station's safety index score and band of ``month``: {station_id: (score, band)}."""
    month = _month_start(month)
    scores = stored.unit_scores(conn, "station", [month])[month]
    return {unit_id: (row.score, row.band) for unit_id, row in scores.items()}

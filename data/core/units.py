"""The units of the jurisdiction: stations and parks, for menus and the wall's playlist."""

from __future__ import annotations

from sqlalchemy import Connection, select

from data.core.schema import Park, Station


def stations(conn: Connection) -> list[dict]:
    """Every station: id and name, in id order."""
    return [{"id": r.id, "name": r.name} for r in conn.execute(select(Station.id, Station.name).order_by(Station.id))]


def parks(conn: Connection, station_id: int | None = None) -> list[dict]:
    """Every park (of one station), with its station."""
    stmt = select(Park.id, Park.name, Park.station_id).order_by(Park.id)
    if station_id is not None:
        stmt = stmt.where(Park.station_id == station_id)
    return [{"id": r.id, "name": r.name, "station_id": r.station_id} for r in conn.execute(stmt)]

"""The units of the jurisdiction: stations and parks, for menus and the wall's playlist; and the sectors."""

from __future__ import annotations

from sqlalchemy import Connection, select

from data.core.schema import NetworkClass, Park, Sector, Station
from data.core.scope import Unit


def stations(conn: Connection) -> list[dict]:
    """Every station: id and name, in id order."""
    return [{"id": r.id, "name": r.name} for r in conn.execute(select(Station.id, Station.name).order_by(Station.id))]


def station_name(conn: Connection, station_id: int) -> str | None:
    """One station's name (None: no such station)."""
    return conn.execute(select(Station.name).where(*Unit("station", station_id).where(Station))).scalar()


def parks(conn: Connection, station_id: int | None = None) -> list[dict]:
    """Every park (of one station), with its station."""
    stmt = select(Park.id, Park.name, Park.station_id).order_by(Park.id)
    if station_id is not None:
        stmt = stmt.where(*Unit("station", station_id).where(Park))
    return [{"id": r.id, "name": r.name, "station_id": r.station_id} for r in conn.execute(stmt)]


def sectors(conn: Connection) -> list[dict]:
    """The bureau's sectors (the table a registry import fills): name and English name, in their order."""
    stmt = select(Sector.name, Sector.name_en).order_by(Sector.position.is_(None), Sector.position, Sector.name)
    return [{"name": r.name, "name_en": r.name_en} for r in conn.execute(stmt)]


def network_classes(conn: Connection) -> list[dict]:
    """The classes of the bureau's network of units: name and English name, in their order."""
    stmt = select(NetworkClass.name, NetworkClass.name_en).order_by(NetworkClass.position.is_(None),
                                                                    NetworkClass.position, NetworkClass.name)
    return [{"name": r.name, "name_en": r.name_en} for r in conn.execute(stmt)]

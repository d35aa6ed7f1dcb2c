"""One frame of the wall: the cockpit numbers, the map's layers and the station alerts, for a unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from data import geo
from data.cockpit import CockpitNumbers, cockpit_numbers, station_alerts
from data.compstat import Unit
from data.safety_index import month_start
from data.timeutil import to_local


@dataclass(frozen=True)
class WallFrame:
    """Everything one refresh of the wall draws (no personal data: the feed is separate)."""

    numbers: CockpitNumbers
    areas: dict
    station_scores: dict
    points: list[dict]
    heat: list[dict]
    parks: list[dict]
    enterprises: list[dict]
    alerts: list[int]


def wall_frame(conn: Connection, now: datetime, unit: Unit) -> WallFrame:
    """The wall's data for ``unit`` at ``now`` (an instant exactly at midnight still belongs to the day before)."""
    today = to_local(now - timedelta(microseconds=1)).date()
    month = month_start(today)
    areas = geo.station_areas(conn)
    if unit.kind == "station":
        areas = {**areas, "features": [f for f in areas["features"] if f["properties"]["id"] == unit.id]}
    return WallFrame(
        numbers=cockpit_numbers(conn, today, unit, now=now),
        areas=areas,
        station_scores=geo.station_scores(conn, month),
        points=geo.incidents_today(conn, now, unit),
        heat=geo.heat_cells(conn, today, 7, unit),
        parks=geo.parks(conn, unit, month),
        enterprises=geo.risky_enterprises(conn, month, unit),
        alerts=station_alerts(conn, now),
    )

"""One frame of the wall: the cockpit numbers, the map's layers and the station alerts, for a unit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection

from data.core.scope import Unit
from data.core.timeutil import to_local
from data.index.safety_index import month_start
from data.screens import geo, setup
from data.screens.cockpit import CockpitNumbers, cockpit_numbers, station_alerts
from data.screens.incidents import newest_receipt

STALE_PROBABILITY = 0.01  # the newest call is "late" when a gap this long without one has under 1% chance
MIN_STALE_MINUTES = 10.0
MAX_USUAL_GAP = timedelta(hours=24)  # no usual hour profile makes a gap of a day or more unremarkable


@dataclass(frozen=True)
class DataAge:
    """How old the newest incident of the view is, and whether a gap that long is unusual for the hours it
    spans (a stalled feed or an import that has not come: 最新警情 3小时前)."""

    newest: datetime | None  # receipt of the newest incident (None: there is none)
    minutes: float | None  # its age at the frame's time
    expected_calls: float  # calls the same weekdays usually have over the gap
    stale: bool


def expected_calls(profile: list[float], start: datetime, end: datetime) -> float:
    """Calls expected between two instants from an hour-of-day profile (calls per Shanghai hour), pro rata."""
    if not profile or end <= start:
        return 0.0
    total, moment = 0.0, to_local(start)
    end = to_local(end)
    while moment < end:
        hour_end = moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        step = min(hour_end, end) - moment
        total += profile[moment.hour % len(profile)] * step.total_seconds() / 3600
        moment = moment + step
    return total


def data_age(conn: Connection, now: datetime, unit: Unit, profile: list[float]) -> DataAge:
    """The newest incident's age and whether it is unusual: P(no call in the gap) < 1% given the usual calls
    per hour of the same weekday (``profile``), or no call for a day or more, or none at all."""
    newest = newest_receipt(conn, now, unit.filters().get("station_id"))
    if newest is None:
        return DataAge(None, None, 0.0, True)
    gap = now - newest
    minutes = max(0.0, gap.total_seconds() / 60)
    expected = expected_calls(profile, newest, now) if gap < MAX_USUAL_GAP else float("inf")
    stale = minutes >= MIN_STALE_MINUTES and math.exp(-expected) < STALE_PROBABILITY
    return DataAge(newest, minutes, expected, stale)


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
    data_age: DataAge | None = None
    setup_gap: str | None = None  # what a half-configured database lacks ("stations"), data/screens/setup.py


def wall_frame(conn: Connection, now: datetime, unit: Unit) -> WallFrame:
    """The wall's data for ``unit`` at ``now`` (an instant exactly at midnight still belongs to the day before)."""
    today = to_local(now - timedelta(microseconds=1)).date()
    month = month_start(today)
    areas = geo.station_areas(conn)
    if unit.kind == "station":
        areas = {**areas, "features": [f for f in areas["features"] if f["properties"]["id"] == unit.id]}
    numbers = cockpit_numbers(conn, today, unit, now=now)
    return WallFrame(
        numbers=numbers,
        areas=areas,
        station_scores=geo.station_scores(conn, month),
        points=geo.incidents_today(conn, now, unit),
        heat=geo.heat_cells(conn, today, 7, unit),
        parks=geo.parks(conn, unit, month),
        enterprises=geo.risky_enterprises(conn, month, unit),
        alerts=station_alerts(conn, now),
        data_age=data_age(conn, now, unit, numbers.hours_weekday_avg),
        setup_gap=setup.missing_reference(conn),
    )

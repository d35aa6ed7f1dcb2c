"""Incident queries: today's count and the newest calls, with personal data masked by default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from data.access.masking import mask_address, mask_name, mask_phone, scrub_text
from data.access.roles import MASKED, Principal, reveal
from data.core.schema import Incident, Station
from data.core.scope import TOWN, Unit
from data.core.timeutil import local_midnight, local_today, to_local


@dataclass(frozen=True)
class CallRow:
    """One call as the feed shows it."""

    id: int
    received_at: datetime  # Shanghai time
    category: str
    subcategory: str | None
    priority: int
    station: str
    place: str | None
    caller_name: str | None
    caller_phone: str | None
    disposition: str | None
    enterprise_related: bool


def count_today(conn: Connection, now: datetime) -> int:
    """Incidents received since Shanghai midnight, up to ``now``."""
    start = local_midnight(local_today(now))
    stmt = select(func.count()).select_from(Incident).where(Incident.received_at >= start,
                                                             Incident.received_at <= now)
    return int(conn.execute(stmt).scalar_one())


def _calls(conn: Connection, conditions: list, order, limit: int, viewer: Principal) -> list[CallRow]:
    stmt = (
        select(Incident.id, Incident.received_at, Incident.category, Incident.subcategory, Incident.priority,
               Station.name, Incident.address, Incident.caller_name, Incident.caller_phone,
               Incident.disposition, Incident.enterprise_related)
        .join(Station, Station.id == Incident.station_id)
        .where(*conditions)
        .order_by(*order)
        .limit(limit)
    )
    rows = []
    found = conn.execute(stmt).all()
    unmasked = bool(found) and reveal(conn, viewer, "calls: caller names, phones, addresses",
                                      f"incidents {found[0].id}..{found[-1].id}")
    for r in found:
        place, name, phone = r.address, r.caller_name, r.caller_phone
        if not unmasked:
            place, name, phone = scrub_text(mask_address(place), [name]), mask_name(name), mask_phone(phone)
        rows.append(CallRow(r.id, to_local(r.received_at), r.category, r.subcategory, r.priority, r.name,
                            place, name, phone, r.disposition, bool(r.enterprise_related)))
    return rows


def _station(station_id: int | None) -> list:
    """The conditions that keep one station's calls (none: the town's), through the unit scope."""
    return (TOWN if station_id is None else Unit("station", station_id)).where(Incident)


def latest_calls(conn: Connection, limit: int = 10, viewer: Principal = MASKED,
                 station_id: int | None = None) -> list[CallRow]:
    """The newest calls by receipt time, newest first; personal data masked unless the viewer may see it."""
    conditions = _station(station_id)
    return _calls(conn, conditions, (Incident.received_at.desc(), Incident.id.desc()), limit, viewer)


def newest_calls(conn: Connection, limit: int = 50, viewer: Principal = MASKED,
                 station_id: int | None = None) -> list[CallRow]:
    """The most recently stored calls (by id), newest first: the window the live feeds read from."""
    conditions = _station(station_id)
    return _calls(conn, conditions, (Incident.id.desc(),), limit, viewer)


def calls_after(conn: Connection, after_id: int, limit: int = 20, viewer: Principal = MASKED,
                station_id: int | None = None) -> list[CallRow]:
    """Calls stored after the one with id ``after_id``, oldest first (the live feed's increment)."""
    conditions = [Incident.id > after_id, *_station(station_id)]
    return _calls(conn, conditions, (Incident.id,), limit, viewer)


def last_call_id(conn: Connection) -> int:
    """The id of the most recently stored call (0 when there is none)."""
    return int(conn.execute(select(func.coalesce(func.max(Incident.id), 0))).scalar_one())


def newest_receipt(conn: Connection, now: datetime, station_id: int | None = None) -> datetime | None:
    """When the newest incident received up to ``now`` came in (the town's, or one station's): None if none."""
    conditions = [Incident.received_at <= now, *_station(station_id)]
    return conn.execute(select(func.max(Incident.received_at)).where(*conditions)).scalar()

"""The enterprise profile (企业档案): identity, safety index history and receipt, and its events.

``profile(conn, enterprise_id, today)`` gathers everything the profile page draws for one enterprise.
Personal data is masked here unless the viewer may see it (data/access/roles.py; such a view is audited):
callers' names and phones, addresses cut to street level, and the personal names among a dispute's parties
(organisations keep their names). No Dash in this module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Connection, case, func, select

from data.access.masking import (  # noqa: F401 - mask_parties
    mask_address,
    mask_name,
    mask_parties,
    mask_phone,
    scrub_text,
)
from data.access.roles import MASKED, Principal, reveal
from data.core.periods import Window, period_window, year_earlier
from data.core.schema import Dispute, Enterprise, Hazard, Incident, NetworkClass, Park, Sector, Station, Team
from data.core.scope import Unit
from data.core.timeutil import local_day_range, to_local
from data.core.vocab import DISPUTE_STATUSES
from data.counts.metrics import Change
from data.index import safety_index, stored

EVENT_LIMIT = 50


def _scope(enterprise_id: int) -> Unit:
    """The enterprise as a unit: every query of the profile is scoped through it (data/core/scope.py)."""
    return Unit("enterprise", enterprise_id)

# Derived statuses (incidents have no status column; a hazard past its deadline is overdue).
INCIDENT_CLOSED = "已办结"
INCIDENT_OPEN = "处置中"
INCIDENT_STATUSES = (INCIDENT_OPEN, INCIDENT_CLOSED)
HAZARD_OPEN = "待整改"
HAZARD_OVERDUE = "已逾期"
HAZARD_RECTIFIED = "已整改"
HAZARD_DISPLAY_STATUSES = (HAZARD_OVERDUE, HAZARD_OPEN, HAZARD_RECTIFIED)

# --- the profile ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TeamInfo:
    team_type: str
    established_on: date
    members: int


@dataclass(frozen=True)
class Identity:
    id: int
    name: str
    credit_code: str | None
    sector: str
    sector_en: str | None  # the sector table's English name
    workers: int | None
    park_id: int | None
    park_name: str | None
    station_id: int
    station_name: str
    network_unit_class: str | None
    network_class_en: str | None  # the network_classes table's English name
    registered_on: date | None
    address: str | None  # masked to street level
    teams: tuple[TeamInfo, ...]


@dataclass(frozen=True)
class IndexPoint:
    """One month of the enterprise's stored safety index."""

    month: date
    score: float
    band: str
    incidents: float
    disputes: float
    hazards: float
    governance: float
    through: date | None = None  # the month was still in progress when scored: its last day counted

    @property
    def partial(self) -> bool:
        """Whether the score is of a month in progress (to ``through``), not of the whole month."""
        return self.through is not None


@dataclass(frozen=True)
class IncidentItem:
    id: int
    received_at: datetime  # Shanghai time
    category: str
    subcategory: str | None
    priority: int
    channel: str
    place: str | None  # masked
    caller_name: str | None  # masked
    caller_phone: str | None  # masked
    disposition: str | None
    status: str
    closed_at: datetime | None


@dataclass(frozen=True)
class DisputeItem:
    id: int
    reported_at: datetime
    dispute_type: str
    parties: str | None  # masked
    party_count: int
    amount: Decimal | None
    settled_level: str | None
    mediator: str | None
    status: str
    settled_at: datetime | None


@dataclass(frozen=True)
class HazardItem:
    id: int
    found_at: datetime
    hazard_type: str
    severity: str
    description: str | None
    deadline: date
    rectified_at: datetime | None
    status: str  # 已整改, 待整改 or 已逾期


@dataclass(frozen=True)
class EventList:
    """The newest events of one kind (at most EVENT_LIMIT), the total and the count per status."""

    items: tuple
    total: int
    by_status: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    incidents_ytd: Change  # this year to today against the same days a year earlier
    disputes_ytd: Change
    open_hazards: int  # 待整改 now (overdue included)
    overdue_hazards: int  # 待整改 and past the deadline (before today)
    ytd: Window


@dataclass(frozen=True)
class EnterpriseProfile:
    identity: Identity
    history: tuple[IndexPoint, ...]
    receipt: safety_index.Receipt | None
    incidents: EventList
    disputes: EventList
    hazards: EventList
    summary: Summary
    today: date
    config: safety_index.IndexConfig  # the index's bands and labels as this database sets them
    unmasked: bool = False  # personal data in plain text: the viewer may see it and the view was audited

    @property
    def latest(self) -> IndexPoint | None:
        return self.history[-1] if self.history else None


def profile(conn: Connection, enterprise_id: int, today: date, viewer: Principal = MASKED) -> EnterpriseProfile | None:
    """Everything the profile page shows about one enterprise; None if unknown. Personal data (its address,
    callers, dispute parties) is masked unless the viewer may see it, and then the view is audited."""
    if identity(conn, enterprise_id) is None:
        return None
    unmasked = reveal(conn, viewer, "enterprise profile: address, callers, dispute parties, hazard descriptions",
                      f"enterprise {enterprise_id}")
    ident = identity(conn, enterprise_id, unmasked=unmasked)
    hist = history(conn, enterprise_id)
    return EnterpriseProfile(
        identity=ident, history=hist, receipt=latest_receipt(conn, enterprise_id, hist, today),
        incidents=incidents(conn, enterprise_id, unmasked=unmasked),
        disputes=disputes(conn, enterprise_id, unmasked=unmasked),
        hazards=hazards(conn, enterprise_id, today, unmasked=unmasked), summary=summary(conn, enterprise_id, today),
        today=today, config=safety_index.config_for(conn), unmasked=unmasked)


def identity(conn: Connection, enterprise_id: int, unmasked: bool = False) -> Identity | None:
    """Who the enterprise is; ``unmasked`` only from ``profile`` after ``access.reveal``."""
    row = conn.execute(
        select(Enterprise.id, Enterprise.name, Enterprise.credit_code, Enterprise.sector, Enterprise.workers,
               Enterprise.park_id, Park.name.label("park_name"), Enterprise.station_id,
               Station.name.label("station_name"), Enterprise.network_unit_class, Enterprise.registered_on,
               Enterprise.address, Sector.name_en.label("sector_en"),
               NetworkClass.name_en.label("network_class_en"))
        .join(Station, Station.id == Enterprise.station_id)
        .outerjoin(Park, Park.id == Enterprise.park_id)
        .outerjoin(Sector, Sector.name == Enterprise.sector)
        .outerjoin(NetworkClass, NetworkClass.name == Enterprise.network_unit_class)
        .where(*_scope(enterprise_id).where(Enterprise))
    ).first()
    if row is None:
        return None
    teams = tuple(TeamInfo(r.team_type, _as_date(r.established_on), int(r.members or 0)) for r in conn.execute(
        select(Team.team_type, Team.established_on, Team.members).where(*_scope(enterprise_id).where(Team),
                                                                       Team.dissolved_on.is_(None))  # standing
        .order_by(Team.established_on, Team.team_type)))
    return Identity(int(row.id), row.name, row.credit_code, row.sector, row.sector_en,
                    None if row.workers is None else int(row.workers), row.park_id, row.park_name,
                    int(row.station_id), row.station_name, row.network_unit_class, row.network_class_en,
                    None if row.registered_on is None else _as_date(row.registered_on),
                    row.address if unmasked else mask_address(row.address), teams)


def history(conn: Connection, enterprise_id: int) -> tuple[IndexPoint, ...]:
    """The stored index of every month, oldest first; a month scored while in progress carries its last day."""
    rows = stored.enterprise_history(conn, enterprise_id)
    partial = safety_index.partial_months(conn)
    return tuple(IndexPoint(_as_date(r.month), float(r.score), r.band, float(r.incidents), float(r.disputes),
                            float(r.hazards), float(r.governance), partial.get(_as_date(r.month))) for r in rows)


def latest_receipt(conn: Connection, enterprise_id: int, hist: tuple[IndexPoint, ...],
                   today: date) -> safety_index.Receipt | None:
    """The receipt of the latest stored month (this month without history); None when it cannot be computed."""
    month = hist[-1].month if hist else safety_index.month_start(today)
    try:
        return safety_index.receipt(conn, enterprise_id, month, today)
    except (safety_index.IndexConfigError, KeyError, ValueError, ZeroDivisionError):
        return None


def _people(unmasked: bool, address, name, phone) -> tuple:
    if unmasked:
        return address, name, phone
    return scrub_text(mask_address(address), [name]), mask_name(name), mask_phone(phone)


def _incident_status(closed_at) -> str:
    return INCIDENT_CLOSED if closed_at is not None else INCIDENT_OPEN


def incidents(conn: Connection, enterprise_id: int, limit: int | None = EVENT_LIMIT, *, unmasked: bool) -> EventList:
    rows = conn.execute(
        select(Incident.id, Incident.received_at, Incident.category, Incident.subcategory, Incident.priority,
               Incident.channel, Incident.address, Incident.caller_name, Incident.caller_phone,
               Incident.disposition, Incident.closed_at)
        .where(*_scope(enterprise_id).where(Incident))
        .order_by(Incident.received_at.desc(), Incident.id.desc()).limit(limit)).all()
    items = tuple(IncidentItem(r.id, to_local(r.received_at), r.category, r.subcategory, int(r.priority), r.channel,
                               *_people(unmasked, r.address, r.caller_name, r.caller_phone),
                               r.disposition, _incident_status(r.closed_at),
                               to_local(r.closed_at) if r.closed_at else None) for r in rows)
    closed = case((Incident.closed_at.is_not(None), 1), else_=0)
    total, n_closed = conn.execute(select(func.count(), func.coalesce(func.sum(closed), 0))
                                   .where(*_scope(enterprise_id).where(Incident))).one()
    total, n_closed = int(total), int(n_closed)
    return EventList(items, total, {INCIDENT_OPEN: total - n_closed, INCIDENT_CLOSED: n_closed})


def disputes(conn: Connection, enterprise_id: int, limit: int | None = EVENT_LIMIT, *, unmasked: bool) -> EventList:
    rows = conn.execute(
        select(Dispute.id, Dispute.reported_at, Dispute.dispute_type, Dispute.parties, Dispute.party_count,
               Dispute.amount, Dispute.settled_level, Dispute.mediator, Dispute.status, Dispute.settled_at)
        .where(*_scope(enterprise_id).where(Dispute))
        .order_by(Dispute.reported_at.desc(), Dispute.id.desc()).limit(limit)).all()
    items = tuple(DisputeItem(r.id, to_local(r.reported_at), r.dispute_type,
                              r.parties if unmasked else mask_parties(r.parties),
                              int(r.party_count or 0), r.amount, r.settled_level, r.mediator, r.status,
                              to_local(r.settled_at) if r.settled_at else None) for r in rows)
    counts = dict(conn.execute(select(Dispute.status, func.count()).where(*_scope(enterprise_id).where(Dispute))
                               .group_by(Dispute.status)).all())
    by_status = {s: int(counts.get(s, 0)) for s in DISPUTE_STATUSES}
    return EventList(items, sum(by_status.values()), by_status)


def hazard_status(status: str, deadline: date, today: date) -> str:
    """已整改; 待整改; or 已逾期 when still open and its deadline is before today."""
    if status == HAZARD_RECTIFIED:
        return HAZARD_RECTIFIED
    return HAZARD_OVERDUE if deadline < today else HAZARD_OPEN


def hazards(conn: Connection, enterprise_id: int, today: date, limit: int | None = EVENT_LIMIT, *,
            unmasked: bool) -> EventList:
    """The enterprise's hazards, newest first; a description is free text, scrubbed unless ``unmasked``."""
    rows = conn.execute(
        select(Hazard.id, Hazard.found_at, Hazard.hazard_type, Hazard.severity, Hazard.description, Hazard.deadline,
               Hazard.rectified_at, Hazard.status)
        .where(*_scope(enterprise_id).where(Hazard))
        .order_by(Hazard.found_at.desc(), Hazard.id.desc()).limit(limit)).all()
    items = tuple(HazardItem(r.id, to_local(r.found_at), r.hazard_type, r.severity,
                             r.description if unmasked else scrub_text(r.description),
                             _as_date(r.deadline), to_local(r.rectified_at) if r.rectified_at else None,
                             hazard_status(r.status, _as_date(r.deadline), today)) for r in rows)
    open_, overdue = _open_hazards(conn, enterprise_id, today)
    total = int(conn.execute(select(func.count()).where(*_scope(enterprise_id).where(Hazard))).scalar_one())
    return EventList(items, total, {HAZARD_OVERDUE: overdue, HAZARD_OPEN: open_ - overdue,
                                    HAZARD_RECTIFIED: total - open_})


def _open_hazards(conn: Connection, enterprise_id: int, today: date) -> tuple[int, int]:
    """(open, of which overdue) hazards of the enterprise as of today."""
    overdue = case((Hazard.deadline < today, 1), else_=0)
    n_open, n_overdue = conn.execute(
        select(func.count(), func.coalesce(func.sum(overdue), 0))
        .where(*_scope(enterprise_id).where(Hazard), Hazard.status == HAZARD_OPEN)).one()
    return int(n_open), int(n_overdue)


def _count_between(conn: Connection, column, enterprise_id: int, window: Window) -> int:
    """The enterprise's rows of ``column``'s table whose ``column`` falls on a day of ``window``."""
    start, end = local_day_range(window.first, window.last)
    return int(conn.execute(select(func.count()).where(*_scope(enterprise_id).where(column.table), column >= start,
                                                       column < end)).scalar_one())


def summary(conn: Connection, enterprise_id: int, today: date) -> Summary:
    """This year to yesterday (the to-date rule) against the same days last year; hazards open and overdue now."""
    ytd = period_window("ytd", today)
    before = year_earlier(ytd)
    inc = Change(_count_between(conn, Incident.received_at, enterprise_id, ytd),
                 _count_between(conn, Incident.received_at, enterprise_id, before))
    dsp = Change(_count_between(conn, Dispute.reported_at, enterprise_id, ytd),
                 _count_between(conn, Dispute.reported_at, enterprise_id, before))
    open_, overdue = _open_hazards(conn, enterprise_id, today)
    return Summary(inc, dsp, open_, overdue, ytd)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        return date.fromisoformat(value[:10])
    return value

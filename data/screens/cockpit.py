"""Every number the wall cockpit shows, for the town or one station, in one call.

All counts come from the rollups (a few dozen rows each), the open-hazard list from its index, and the
safety index from its tables; nothing scans the event tables. ``cockpit_numbers`` is what the wall's
refresh calls through the cache (``data.service``), and what the benchmark times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Connection, and_, func, select

from data.core import rollups
from data.core.periods import Window, period_window, year_earlier
from data.core.schema import Hazard, Incident
from data.core.scope import TOWN, Unit
from data.core.timeutil import LOCAL_TZ, now_utc, to_local
from data.counts.compstat import unit_counts
from data.counts.measures import dispute_measures, hazard_measures
from data.counts.metrics import Change, exposure
from data.counts.programme import FIGURE_ORDER, figure_totals
from data.index import stored
from data.index.safety_index import partial_months

SAME_WEEKDAYS = 8  # today is compared with the average of the same weekday over the last eight weeks
HAZARD_AGE_BUCKETS = ((0, 7), (8, 15), (16, 30), (31, 60), (61, None))  # days since found; None: no limit


@dataclass(frozen=True)
class CockpitNumbers:
    """One frame of the wall, as plain numbers (the layout formats them)."""

    today: date
    unit: Unit
    at: object  # the aware instant today's partial figures were compared at
    today_total: int
    today_enterprise: int
    weekday_avg_total: float  # the same weekday's average up to the same time of day
    weekday_avg_enterprise: float
    ytd: dict[str, Change]  # the headline figures (data/counts/programme.py FIGURES), by their keys
    ytd_window: Window  # year to date, to the last complete day (the to-date rule: data/core/periods.py)
    week_window: Window  # this week to the last complete day
    in_house_share: float | None
    disputes_by_level: dict[str, int]
    rectification_rate: float | None
    overdue_hazards: int
    hours_today: list[int]
    hours_weekday_avg: list[float]
    categories_today: dict[str, int]
    categories_week: dict[str, int]
    last30: list[tuple[date, int]]
    last30_year_earlier: list[tuple[date, int]]
    open_hazards_by_age: list[dict]
    index_trend: list[tuple[date, float]]
    lowest_parks: list[dict]
    lowest_enterprises: list[dict]
    extras: dict = field(default_factory=dict)
    index_through: date | None = None  # the last day the newest index month counted, when still in progress


def _weekday_days(today: date) -> list[date]:
    return [today - timedelta(days=7 * k) for k in range(1, SAME_WEEKDAYS + 1)]


def _ytd(conn: Connection, today: date, unit: Unit) -> dict[str, Change]:
    """The headline figures (data/counts/programme.py) of the year to date against the same days a year earlier."""
    now_w = period_window("ytd", today)
    before_w = year_earlier(now_w)
    now, before = figure_totals(conn, now_w, unit), figure_totals(conn, before_w, unit)
    return {key: Change(now[key], before[key], exposure(now_w, before_w)) for key in FIGURE_ORDER}


def _open_hazards_by_age(conn: Connection, today: date, unit: Unit) -> list[dict]:
    conditions = [Hazard.status == "待整改", *unit.where(Hazard)]
    rows = conn.execute(select(Hazard.found_at, Hazard.deadline).where(and_(*conditions))).all()
    buckets = [{"from": lo, "to": hi, "open": 0, "overdue": 0} for lo, hi in HAZARD_AGE_BUCKETS]
    for found_at, deadline in rows:
        age = max(0, (today - to_local(found_at).date()).days)  # found "tomorrow" (clock skew) counts as new
        bucket = next(b for b in buckets if b["to"] is None or age <= b["to"])
        bucket["overdue" if deadline < today else "open"] += 1
    return buckets


def _index(conn: Connection, today: date, unit: Unit):
    trend = stored.unit_trend(conn, unit, date(today.year - 1, today.month, 1))
    latest = trend[-1][0] if trend else None
    parks, enterprises = [], []
    if latest is not None:
        parks = [{"id": r.id, "name": r.name, "score": float(r.score), "band": r.band}
                 for r in stored.lowest_parks(conn, latest, unit, limit=5)]
        enterprises = [{"id": r.id, "name": r.name, "score": float(r.score), "band": r.band}
                       for r in stored.lowest_enterprises(conn, latest, unit, limit=10)]
    return trend, parks, enterprises


def _usual_so_far(past_hours: dict, weekdays: list[date], hour: int, fraction: float, enterprise: bool | None):
    """The same weekday's average count from midnight to this time of day (the current hour pro rata).

    Whole counts are summed first and divided once, so the result does not depend on summation order.
    """
    before = current = 0
    for (d, h, related), n in past_hours.items():
        if d not in weekdays or (enterprise is not None and bool(related) != enterprise):
            continue
        if h < hour:
            before += n
        elif h == hour:
            current += n
    return (before + current * fraction) / SAME_WEEKDAYS


def cockpit_numbers(conn: Connection, today: date, unit: Unit = TOWN, now=None) -> CockpitNumbers:
    """Everything the wall shows for ``unit`` (the town or a station) on ``today`` (Shanghai date).

    Today's counts are compared with the same weekday's average up to the same time of day (``now``,
    default: the end of ``today`` when it is past, else the current time).
    """
    if unit.kind not in ("town", "station"):
        raise ValueError(f"the wall shows the town or a station, not a {unit.kind}")
    day = Window(today, today)
    weekdays = _weekday_days(today)
    history = Window(weekdays[-1], weekdays[0])
    local_now = _time_of_day(today, now)
    hour, fraction = local_now.hour, (local_now.minute * 60 + local_now.second) / 3600

    today_counts = unit_counts(conn, "incidents", day, unit, group_by=("category", "enterprise_related"))
    categories_today: dict[str, int] = {}
    for (category, _e), n in today_counts.items():
        categories_today[category] = categories_today.get(category, 0) + n
    week_window = period_window("week", today)
    week = unit_counts(conn, "incidents", week_window, unit, group_by=("category",))

    hours_filter = unit.filters()
    hours = rollups.counts(conn, "hours", day, hours_filter, ("hour",))
    past_hours = rollups.counts(conn, "hours", history, hours_filter, ("day", "hour", "enterprise_related"))
    hour_sums = [0] * 24
    for (d, h, _related), n in past_hours.items():
        if d in weekdays:
            hour_sums[h] += n
    hours_avg = [n / SAME_WEEKDAYS for n in hour_sums]
    weekday_total = _usual_so_far(past_hours, weekdays, hour, fraction, None)
    weekday_ent = _usual_so_far(past_hours, weekdays, hour, fraction, True)

    last30 = Window(today - timedelta(days=29), today)
    series = unit_counts(conn, "incidents", last30, unit, group_by=("day",))
    series_before = unit_counts(conn, "incidents", year_earlier(last30), unit, group_by=("day",))
    ytd_window = period_window("ytd", today)
    disputes = dispute_measures(conn, ytd_window, unit)
    hazards = hazard_measures(conn, ytd_window, unit)
    by_age = _open_hazards_by_age(conn, today, unit)
    trend, parks, enterprises = _index(conn, today, unit)
    return CockpitNumbers(
        today=today, unit=unit, at=local_now,
        today_total=sum(today_counts.values()),
        today_enterprise=sum(n for (_c, e), n in today_counts.items() if e),
        weekday_avg_total=weekday_total, weekday_avg_enterprise=weekday_ent,
        ytd=_ytd(conn, today, unit), ytd_window=ytd_window, week_window=week_window,
        in_house_share=disputes.in_house_share, disputes_by_level=disputes.by_level,
        rectification_rate=hazards.rectification_rate,
        overdue_hazards=sum(b["overdue"] for b in by_age),
        hours_today=[hours.get((h,), 0) for h in range(24)], hours_weekday_avg=hours_avg,
        categories_today=categories_today, categories_week={k[0]: n for k, n in week.items()},
        last30=[(d, series.get((d,), 0)) for d in _days(last30)],
        last30_year_earlier=[(d, series_before.get((d,), 0)) for d in _days(year_earlier(last30))],
        open_hazards_by_age=by_age, index_trend=trend, lowest_parks=parks, lowest_enterprises=enterprises,
        index_through=partial_months(conn).get(trend[-1][0]) if trend else None,
    )


def _time_of_day(today: date, now):
    """Shanghai wall-clock time to compare today with: now, or the end of a past day."""
    moment = to_local(now or now_utc())
    if moment.date() > today:
        return datetime.combine(today, time(23, 59, 59), LOCAL_TZ)
    return moment


def _days(window: Window) -> list[date]:
    return [window.first + timedelta(days=k) for k in range(window.days)]


def count_rows(conn: Connection) -> int:
    """How many incidents exist (benchmarks print it)."""
    return int(conn.execute(select(func.count()).select_from(Incident)).scalar_one())


ALERT_MIN_CALLS = 10  # a station needs at least this many calls today before it can alert on volume
ALERT_RATIO = 1.5  # ... and this many times its usual count up to this hour on the same weekday
ALERT_URGENT = 3  # or this many priority-1 calls within the last 30 minutes


def station_alerts(conn: Connection, now) -> list[int]:
    """Stations whose calls today run well above their usual level, or with a burst of urgent calls."""
    today = to_local(now).date()
    hour = to_local(now).hour
    weekdays = _weekday_days(today)
    today_hours = rollups.counts(conn, "hours", Window(today, today), group_by=("station_id", "hour"))
    past = rollups.counts(conn, "hours", Window(weekdays[-1], weekdays[0]), group_by=("station_id", "day", "hour"))
    so_far: dict[int, int] = {}
    usual: dict[int, float] = {}
    for (station, h), n in today_hours.items():
        if h <= hour:
            so_far[station] = so_far.get(station, 0) + n
    for (station, d, h), n in past.items():
        if d in weekdays and h <= hour:
            usual[station] = usual.get(station, 0.0) + n / SAME_WEEKDAYS
    alerts = {s for s, n in so_far.items() if n >= ALERT_MIN_CALLS and n >= ALERT_RATIO * usual.get(s, 0.0)}
    urgent = conn.execute(
        select(Incident.station_id, func.count())
        .where(Incident.received_at > now - timedelta(minutes=30), Incident.received_at <= now,
               Incident.priority == 1)
        .group_by(Incident.station_id)).all()
    alerts |= {s for s, n in urgent if n >= ALERT_URGENT}
    return sorted(alerts)

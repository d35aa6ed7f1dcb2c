"""Time zones: everything is stored in UTC and bucketed, shown and compared in Asia/Shanghai.

Shanghai has kept UTC+8 without daylight saving since 1991, but the code still goes through zoneinfo
so that nothing assumes it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc


def now_utc() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(UTC)


def to_local(moment: datetime) -> datetime:
    """An aware instant as Shanghai wall-clock time; naive input is refused."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must carry a zone")
    return moment.astimezone(LOCAL_TZ)


def local_today(moment: datetime | None = None) -> date:
    """The Shanghai calendar date at ``moment`` (default: now)."""
    return to_local(moment or now_utc()).date()


def local_midnight(day: date) -> datetime:
    """The instant (UTC) at which the Shanghai day ``day`` begins."""
    return datetime.combine(day, time(0), LOCAL_TZ).astimezone(UTC)


def local_day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """Half-open UTC interval [start, end) covering Shanghai days first..last inclusive."""
    if last < first:
        raise ValueError(f"empty day range {first}..{last}")
    return local_midnight(first), local_midnight(last + timedelta(days=1))


class local_date(GenericFunction):
    """SQL expression: the Shanghai calendar date of a UTC timestamp column."""

    type = Date()
    inherit_cache = True


@compiles(local_date, "postgresql")
def _local_date_pg(element, compiler, **kw):
    (arg,) = list(element.clauses)
    return f"CAST(({compiler.process(arg, **kw)} AT TIME ZONE 'Asia/Shanghai') AS DATE)"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    # SQLite keeps UTC text; Shanghai has no DST, so a fixed offset is exact here. Cut the fraction
    # first: SQLite rounds it to milliseconds, which would move 23:59:59.9995 to the next day.
    (arg,) = list(element.clauses)
    return f"date(substr({compiler.process(arg, **kw)}, 1, 19), '+8 hours')"

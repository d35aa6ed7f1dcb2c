"""Time zones: everything is stored in UTC and bucketed, shown and compared in Asia/Shanghai.

Shanghai has kept UTC+8 without daylight saving since 1991, but the code still goes through zoneinfo
so that nothing assumes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Date
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import GenericFunction

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
LOCAL_TZ_NAME = "Asia/Shanghai"
UTC = UTC

# The product's clock: the real time plus an offset, or a fixed instant. Only tests (and a demo run at a fixed
# instant) move it, through ``frozen_clock`` / ``shift_clock``; every "now" of the data layer reads it.
_clock = {"offset": timedelta(0), "frozen": None}


def now_utc() -> datetime:
    """The current instant, timezone-aware (the product's clock: see ``frozen_clock``)."""
    if _clock["frozen"] is not None:
        return _clock["frozen"]
    return datetime.now(UTC) + _clock["offset"]


def shift_clock(to: datetime | None) -> None:
    """Let the clock run on from the instant ``to`` (None: back to the real time)."""
    if to is not None and to.tzinfo is None:
        raise ValueError(f"naive datetime {to!r}: times must carry a zone")
    _clock["frozen"] = None
    _clock["offset"] = timedelta(0) if to is None else to - datetime.now(UTC)


@contextmanager
def frozen_clock(moment: datetime) -> Iterator[datetime]:
    """Stop the clock at ``moment`` for the duration of a block (tests: figures at an awkward hour)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: times must carry a zone")
    saved = dict(_clock)
    _clock["frozen"] = moment.astimezone(UTC)
    try:
        yield _clock["frozen"]
    finally:
        _clock.update(saved)


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


def local_stamp(moment: datetime | None = None, seconds: bool = False) -> str:
    """An instant as a person reads it in a file that may travel: 2026-12-07 06:34 (北京时间, UTC+8)."""
    local = to_local(moment or now_utc())
    offset = local.utcoffset() or timedelta(0)
    hours = int(offset.total_seconds() // 3600)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text}（{LOCAL_TZ_NAME}, UTC{hours:+d}）"


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

"""Rollup tables kept exact by database triggers, and the queries that read them.

Each rollup counts the rows of a source table by a few dimensions at a daily or monthly grain
(Shanghai calendar). Triggers on the source keep it exact on every insert, update and delete, so a new
incident is in the rollups the moment it is committed, whoever wrote it, and keeping them fresh costs a
constant amount per written row, not a rescan. On PostgreSQL the triggers are statement-level with
transition tables (one grouped upsert per statement, so COPY of a million rows costs one pass); on SQLite
they are row-level upserts. ``rebuild`` recomputes a rollup from scratch with one GROUP BY (after a bulk
load with triggers suspended, and in tests to prove the triggers right).

Every rollup dimension is written once, as a SQL expression over the source row, used by the triggers,
by ``rebuild`` and by ``count_raw`` (the plain GROUP BY the benchmarks compare against).

``data_version`` counts writes per source table; cached results are keyed on it, so new data shows at
once and unchanged data costs one tiny query.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import BigInteger, Boolean, Column, Connection, Date, Integer, Select, String, Table, func, select, text
from sqlalchemy.sql import and_

from data.core.periods import Window
from data.core.schema import Base, Dispute, Hazard, Incident
from data.core.timeutil import local_day_range

Expr = Callable[[str, str], str]  # (dialect name, row prefix such as "NEW." or "t.") -> SQL


def _col(name: str, default: str | None = None) -> Expr:
    if default is None:
        return lambda _d, r: f"{r}{name}"
    return lambda _d, r: f"COALESCE({r}{name}, {default})"


def _local_day(name: str) -> Expr:
    def expr(d, r):
        if d == "postgresql":
            return f"CAST(({r}{name} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
        return f"date(substr({r}{name}, 1, 19), '+8 hours')"  # whole seconds: SQLite rounds fractions

    return expr


def _local_month(name: str) -> Expr:
    def expr(d, r):
        if d == "postgresql":
            return f"CAST(date_trunc('month', {r}{name} AT TIME ZONE 'Asia/Shanghai') AS DATE)"
        return f"strftime('%Y-%m-01', substr({r}{name}, 1, 19), '+8 hours')"

    return expr


def _local_hour(name: str) -> Expr:
    def expr(d, r):
        if d == "postgresql":
            return f"CAST(EXTRACT(HOUR FROM {r}{name} AT TIME ZONE 'Asia/Shanghai') AS INTEGER)"
        return f"CAST(strftime('%H', substr({r}{name}, 1, 19), '+8 hours') AS INTEGER)"

    return expr


def _whole_units(start: str, end: str, unit_seconds: int, cap: int) -> Expr:
    """Whole units from start to end, each time truncated to the second; -1 when end is NULL."""

    def expr(d, r):
        if d == "postgresql":
            seconds = (f"(EXTRACT(EPOCH FROM date_trunc('second', {r}{end})) "
                       f"- EXTRACT(EPOCH FROM date_trunc('second', {r}{start})))")
            value = f"LEAST({cap}, GREATEST(0, CAST(FLOOR({seconds} / {unit_seconds}) AS INTEGER)))"
        else:
            seconds = (f"(CAST(strftime('%s', substr({r}{end}, 1, 19)) AS INTEGER) "
                       f"- CAST(strftime('%s', substr({r}{start}, 1, 19)) AS INTEGER))")
            value = f"MIN({cap}, MAX(0, {seconds} / {unit_seconds}))"
        return f"(CASE WHEN {r}{end} IS NULL THEN -1 ELSE {value} END)"

    return expr


def _is_set(name: str) -> Expr:
    return lambda _d, r: f"({r}{name} IS NOT NULL)"


@dataclass(frozen=True)
class Dim:
    """A rollup dimension: its column name and type, and the SQL that computes it from a source row."""

    name: str
    type_: object
    expr: Expr
    watches: tuple[str, ...]  # source columns it depends on


def dim(name: str, type_, expr: Expr | None = None, watches: tuple[str, ...] | None = None) -> Dim:
    return Dim(name, type_, expr or _col(name), watches or (name,))


MINUTES_CAP = 600  # receive-to-arrival beyond 10 hours is counted as 600 minutes
DAYS_CAP = 400


@dataclass(frozen=True)
class Rollup:
    """One rollup table: counts of ``source`` rows by ``dims`` at a time grain."""

    name: str
    source: Table
    time_column: str
    grain: str  # "day" or "month"
    dims: tuple[Dim, ...]
    where: Expr | None = None
    where_watches: tuple[str, ...] = ()
    table: Table = field(init=False, compare=False)

    def __post_init__(self):
        time_dim = Column(self.grain, Date, primary_key=True)
        columns = [time_dim] + [Column(d.name, d.type_, primary_key=True) for d in self.dims]
        columns.append(Column("n", BigInteger, nullable=False))
        object.__setattr__(self, "table", Table(self.name, Base.metadata, *columns))

    def time_expr(self) -> Expr:
        return _local_day(self.time_column) if self.grain == "day" else _local_month(self.time_column)

    def key_names(self) -> list[str]:
        return [self.grain] + [d.name for d in self.dims]

    def key_exprs(self, dialect: str, prefix: str) -> list[str]:
        return [self.time_expr()(dialect, prefix)] + [d.expr(dialect, prefix) for d in self.dims]

    def where_sql(self, dialect: str, prefix: str) -> str:
        return self.where(dialect, prefix) if self.where else "1=1"

    def watched(self) -> list[str]:
        cols = {self.time_column, *self.where_watches}
        for d in self.dims:
            cols.update(d.watches)
        return sorted(cols)


_I, _D, _H = Incident.__table__, Dispute.__table__, Hazard.__table__
_station = dim("station_id", Integer)
# The sector of the enterprise concerned ('' when none). An enterprise that changes sector later keeps its
# past events under the old sector until ``rebuild`` (flask --app app rebuild-rollups).
_sector = dim("sector", String(16),
              lambda _d, r: f"COALESCE((SELECT e.sector FROM enterprises e WHERE e.id = {r}enterprise_id), '')",
              ("enterprise_id",))
_park = dim("park_id", Integer, _col("park_id", "0"))
_category = dim("category", String(16))
_subcategory = dim("subcategory", String(32), _col("subcategory", "''"))
_related = dim("enterprise_related", Boolean)
_minutes = dim("arrival_minutes", Integer, _whole_units("received_at", "arrived_at", 60, MINUTES_CAP),
               ("received_at", "arrived_at"))
_hour = dim("hour", Integer, _local_hour("received_at"), ("received_at",))
_enterprise = dim("enterprise_id", Integer)
_dtype = dim("dispute_type", String(16))
_with_ent = dim("with_enterprise", Boolean, _is_set("enterprise_id"), ("enterprise_id",))
_status = dim("status", String(16))
_level = dim("settled_level", String(16), _col("settled_level", "''"))
_settle_days = dim("settle_days", Integer, _whole_units("reported_at", "settled_at", 86400, DAYS_CAP),
                   ("reported_at", "settled_at"))
_htype = dim("hazard_type", String(16))
_severity = dim("severity", String(8))
_has_enterprise = _is_set("enterprise_id")


def _pair(name: str, source: Table, time_column: str, dims: tuple[Dim, ...], **kw) -> tuple[Rollup, Rollup]:
    return (Rollup(f"ru_{name}_day", source, time_column, "day", dims, **kw),
            Rollup(f"ru_{name}_month", source, time_column, "month", dims, **kw))


INC_DAY, INC_MONTH = _pair("inc", _I, "received_at",
                           (_station, _park, _category, _subcategory, _related, _sector))
RESP_DAY, RESP_MONTH = _pair("inc_resp", _I, "received_at", (_station, _park, _category, _related, _minutes))
DSP_DAY, DSP_MONTH = _pair("dsp", _D, "reported_at",
                           (_station, _park, _dtype, _with_ent, _status, _level, _settle_days, _sector))
HZD_DAY, HZD_MONTH = _pair("hzd", _H, "found_at", (_station, _park, _htype, _severity, _status, _sector))
_rectify_days = dim("rectify_days", Integer, _whole_units("found_at", "rectified_at", 86400, DAYS_CAP),
                    ("found_at", "rectified_at"))
# Days from finding to rectification of the hazards found on a day (-1: not rectified), for the median
# inspectors are judged by; schema 9 (filled by ``rebuild`` when an earlier database is upgraded).
HZR_DAY, HZR_MONTH = _pair("hzd_rect", _H, "found_at", (_station, _park, _htype, _severity, _sector, _rectify_days))
# Narrow rollups for the common reads (town or station, by category): a few dozen rows a day at any size.
INC_STN_DAY, INC_STN_MONTH = _pair("inc_stn", _I, "received_at", (_station, _category, _related))
INC_HOUR = Rollup("ru_inc_hour", _I, "received_at", "day", (_station, _related, _hour))
ENT_INC = Rollup("ru_ent_inc_month", _I, "received_at", "month", (_enterprise, _category),
                 where=lambda _d, r: f"{r}enterprise_id IS NOT NULL", where_watches=("enterprise_id",))
ENT_DSP = Rollup("ru_ent_dsp_month", _D, "reported_at", "month", (_enterprise, _dtype, _status, _level),
                 where=lambda _d, r: f"{r}enterprise_id IS NOT NULL", where_watches=("enterprise_id",))
ENT_HZD = Rollup("ru_ent_hzd_month", _H, "found_at", "month", (_enterprise, _severity, _status),
                 where=lambda _d, r: f"{r}enterprise_id IS NOT NULL", where_watches=("enterprise_id",))

ROLLUPS: tuple[Rollup, ...] = (INC_DAY, INC_MONTH, INC_STN_DAY, INC_STN_MONTH, RESP_DAY, RESP_MONTH, INC_HOUR, ENT_INC,
                               DSP_DAY, DSP_MONTH, ENT_DSP, HZD_DAY, HZD_MONTH, ENT_HZD, HZR_DAY, HZR_MONTH)


@dataclass(frozen=True)
class Family:
    """Daily and monthly rollups of one source; a read uses the narrowest one that has the dimensions it
    filters and groups by, and reads whole months from a monthly one."""

    daily: tuple[Rollup, ...] = ()  # narrowest first; the last one has every dimension of the family
    monthly: tuple[Rollup, ...] = ()

    @property
    def any(self) -> Rollup:
        return (self.daily or self.monthly)[-1]

    def pick(self, grain: str, needed: set[str]) -> Rollup | None:
        """The narrowest rollup of a grain that has every needed dimension."""
        for rollup in (self.daily if grain == "day" else self.monthly):
            if needed <= {d.name for d in rollup.dims}:
                return rollup
        return None


FAMILIES = {
    "incidents": Family((INC_STN_DAY, INC_DAY), (INC_STN_MONTH, INC_MONTH)),
    "response": Family((RESP_DAY,), (RESP_MONTH,)),
    "hours": Family((INC_HOUR,), ()),
    "enterprise_incidents": Family((), (ENT_INC,)),
    "disputes": Family((DSP_DAY,), (DSP_MONTH,)),
    "enterprise_disputes": Family((), (ENT_DSP,)),
    "hazards": Family((HZD_DAY,), (HZD_MONTH,)),
    "enterprise_hazards": Family((), (ENT_HZD,)),
    "rectification": Family((HZR_DAY,), (HZR_MONTH,)),
}

data_version = Table(
    "data_version", Base.metadata,
    Column("source", String(32), primary_key=True),
    Column("version", BigInteger, nullable=False),
)
SOURCES = (_I, _D, _H)


# --- triggers -----------------------------------------------------------------------------------------

def _upsert_sqlite(rollup: Rollup, prefix: str, sign: int) -> str:
    keys = rollup.key_names()
    exprs = rollup.key_exprs("sqlite", prefix)
    return (f"INSERT INTO {rollup.name} ({', '.join(keys)}, n) "
            f"SELECT {', '.join(exprs)}, {sign} WHERE {rollup.where_sql('sqlite', prefix)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET n = n + excluded.n;")


def _sqlite_trigger_sql(source: Table) -> list[str]:
    rollups = [r for r in ROLLUPS if r.source is source]
    watched = sorted({c for r in rollups for c in r.watched()})
    bump = f"UPDATE data_version SET version = version + 1 WHERE source = '{source.name}';"
    ins = "\n  ".join(_upsert_sqlite(r, "NEW.", 1) for r in rollups)
    dele = "\n  ".join(_upsert_sqlite(r, "OLD.", -1) for r in rollups)
    upd = "\n  ".join(_upsert_sqlite(r, "OLD.", -1) + "\n  " + _upsert_sqlite(r, "NEW.", 1) for r in rollups)
    name = source.name
    return [
        f"CREATE TRIGGER IF NOT EXISTS ru_{name}_ai AFTER INSERT ON {name} BEGIN\n  {ins}\n  {bump}\nEND",
        f"CREATE TRIGGER IF NOT EXISTS ru_{name}_ad AFTER DELETE ON {name} BEGIN\n  {dele}\n  {bump}\nEND",
        f"CREATE TRIGGER IF NOT EXISTS ru_{name}_au AFTER UPDATE OF {', '.join(watched)} ON {name} "
        f"BEGIN\n  {upd}\n  {bump}\nEND",
        f"CREATE TRIGGER IF NOT EXISTS ru_{name}_av AFTER UPDATE ON {name} BEGIN\n  {bump}\nEND",
    ]


def _pg_delta(rollup: Rollup, parts: list[tuple[str, int]]) -> str:
    keys = rollup.key_names()
    selects = " UNION ALL ".join(
        f"SELECT {', '.join(f'{e} AS {k}' for e, k in zip(rollup.key_exprs('postgresql', 't.'), keys, strict=True))}, "
        f"{sign} AS d FROM {table} t WHERE {rollup.where_sql('postgresql', 't.')}"
        for table, sign in parts
    )
    return (f"INSERT INTO {rollup.name} ({', '.join(keys)}, n) "
            f"SELECT {', '.join(keys)}, SUM(d) FROM ({selects}) x GROUP BY {', '.join(keys)} "
            f"HAVING SUM(d) <> 0 ORDER BY {', '.join(keys)} "
            f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET n = {rollup.name}.n + EXCLUDED.n;")


def _pg_trigger_sql(source: Table) -> list[str]:
    rollups = [r for r in ROLLUPS if r.source is source]
    name = source.name
    ops = {
        "ins": ("INSERT", "REFERENCING NEW TABLE AS new_rows", [("new_rows", 1)]),
        "del": ("DELETE", "REFERENCING OLD TABLE AS old_rows", [("old_rows", -1)]),
        "upd": ("UPDATE", "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
                [("old_rows", -1), ("new_rows", 1)]),
    }
    statements = []
    for op, (event, referencing, parts) in ops.items():
        body = "\n    ".join(_pg_delta(r, parts) for r in rollups)
        function = f"eqian_ru_{name}_{op}"
        statements += [
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
            f"  BEGIN\n    {body}\n"
            f"    UPDATE data_version SET version = version + 1 WHERE source = '{name}';\n"
            f"    RETURN NULL;\n  END $$",
            f"DROP TRIGGER IF EXISTS {function} ON {name}",
            f"CREATE TRIGGER {function} AFTER {event} ON {name} {referencing} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        ]
    return statements


def install_triggers(conn: Connection) -> None:
    """Create (or replace) the rollup triggers and seed the version rows; idempotent."""
    dialect = conn.dialect.name
    for source in SOURCES:
        exists = conn.execute(select(data_version.c.source).where(data_version.c.source == source.name)).first()
        if exists is None:
            conn.execute(data_version.insert().values(source=source.name, version=0))
        for statement in (_pg_trigger_sql(source) if dialect == "postgresql" else _sqlite_trigger_sql(source)):
            conn.exec_driver_sql(statement)


def drop_triggers(conn: Connection) -> None:
    """Remove the rollup triggers (before a bulk load; ``install_triggers`` and ``rebuild`` after)."""
    for source in SOURCES:
        name = source.name
        if conn.dialect.name == "postgresql":
            for op in ("ins", "del", "upd"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS eqian_ru_{name}_{op} ON {name}")
                conn.exec_driver_sql(f"DROP FUNCTION IF EXISTS eqian_ru_{name}_{op}()")
        else:
            for suffix in ("ai", "ad", "au", "av"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS ru_{name}_{suffix}")


def rebuild(conn: Connection, rollups: Iterable[Rollup] = ROLLUPS) -> None:
    """Recompute rollups from their source tables with one GROUP BY each, and bump the data versions.

    A monthly rollup whose daily twin was rebuilt just before is summed from it: the same counts from far
    fewer rows, without evaluating the dimension expressions (the sector lookup among them) again.
    """
    dialect = conn.dialect.name
    rebuilt: list[Rollup] = []
    for rollup in rollups:
        conn.execute(rollup.table.delete())
        daily = _daily_twin(rollup, rebuilt)
        conn.exec_driver_sql(_rebuild_sql(rollup, dialect) if daily is None else _sum_days_sql(rollup, daily, dialect))
        rebuilt.append(rollup)
    conn.execute(data_version.update().values(version=data_version.c.version + 1))


def _rebuild_sql(rollup: Rollup, dialect: str) -> str:
    keys = rollup.key_names()
    prefix = f"{rollup.source.name}."
    exprs = rollup.key_exprs(dialect, prefix)
    return (f"INSERT INTO {rollup.name} ({', '.join(keys)}, n) "
            f"SELECT {', '.join(exprs)}, COUNT(*) FROM {rollup.source.name} "
            f"WHERE {rollup.where_sql(dialect, prefix)} GROUP BY {', '.join(exprs)}")


def _daily_twin(rollup: Rollup, rebuilt: list[Rollup]) -> Rollup | None:
    """The daily rollup of the same source, time, dimensions and filter as a monthly one, if rebuilt already."""
    if rollup.grain != "month":
        return None
    for other in rebuilt:
        if (other.grain == "day" and other.source is rollup.source and other.time_column == rollup.time_column
                and other.dims == rollup.dims and other.where is rollup.where):
            return other
    return None


def _sum_days_sql(rollup: Rollup, daily: Rollup, dialect: str) -> str:
    """Rebuild a monthly rollup by summing its daily twin's rows per (local) month."""
    month = "CAST(date_trunc('month', day) AS DATE)" if dialect == "postgresql" else "strftime('%Y-%m-01', day)"
    dims = [d.name for d in rollup.dims]
    return (f"INSERT INTO {rollup.name} ({', '.join(rollup.key_names())}, n) "
            f"SELECT {', '.join([month, *dims])}, SUM(n) FROM {daily.name} "
            f"GROUP BY {', '.join([month, *dims])}")


def bump_version(conn: Connection, source: str) -> None:
    """Count a write that is not an event row (a setting, reference data) in the data version, so every cached
    answer keyed on it is computed again."""
    table = data_version
    if not conn.execute(table.update().where(table.c.source == source)
                        .values(version=table.c.version + 1)).rowcount:
        conn.execute(table.insert().values(source=source, version=1))


def event_totals(conn: Connection) -> dict[str, int]:
    """Every stored incident, dispute and hazard, counted from the monthly rollups (no scan of the event tables)."""
    return {kind: int(conn.execute(select(func.coalesce(func.sum(rollup.table.c.n), 0))).scalar_one())
            for kind, rollup in (("incidents", INC_STN_MONTH), ("disputes", DSP_MONTH), ("hazards", HZD_MONTH))}


def current_version(conn: Connection) -> int:
    """A number that changes whenever any event row is written (for cache keys)."""
    return int(conn.execute(select(func.coalesce(func.sum(data_version.c.version), 0))).scalar_one())


# --- reading ------------------------------------------------------------------------------------------

Filters = Mapping[str, object]  # dim name -> value, a tuple/list/set of accepted values, or a SELECT of them


def _conditions(table: Table, filters: Filters) -> list:
    """Each filter as a condition on its column: a value, a collection of values, or a SELECT of them."""
    conditions = []
    for name, value in filters.items():
        column = table.c[name]
        if isinstance(value, Select):
            conditions.append(column.in_(value))
        elif isinstance(value, (tuple, list, set, frozenset)):
            conditions.append(column.in_(list(value)))
        else:
            conditions.append(column == value)
    return conditions


def split_window(window: Window) -> tuple[list[Window], Window | None]:
    """The ragged day ranges at the ends of a window, and the run of whole months in between."""
    first_full = window.first if window.first.day == 1 else _next_month(window.first)
    last_full_end = _month_end(window.last) if window.last == _month_end(window.last) else _month_start(
        window.last) - timedelta(days=1)
    if first_full > last_full_end:
        return [window], None
    ragged = []
    if window.first < first_full:
        ragged.append(Window(window.first, first_full - timedelta(days=1)))
    if last_full_end < window.last:
        ragged.append(Window(last_full_end + timedelta(days=1), window.last))
    return ragged, Window(first_full, _month_start(last_full_end))


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


def _month_end(day: date) -> date:
    return _next_month(day) - timedelta(days=1)


def _sum_query(rollup: Rollup, time_first: date, time_last: date, filters: Filters, group_by: tuple[str, ...]):
    table = rollup.table
    time_col = table.c[rollup.grain]
    group_cols = [table.c[g] for g in group_by]
    return (select(*group_cols, func.sum(table.c.n))
            .where(and_(time_col >= time_first, time_col <= time_last, *_conditions(table, filters)))
            .group_by(*group_cols))


def counts(conn: Connection, family: str, window: Window, filters: Filters | None = None,
           group_by: tuple[str, ...] = ()) -> dict[tuple, int]:
    """Counts over a window, by ``group_by`` (dimension names, or 'day'/'month'), read from rollups.

    Whole months come from the monthly rollup and the ragged ends from the daily one; grouping by day
    reads the daily rollup only.
    """
    fam = FAMILIES[family]
    filters = dict(filters or {})
    needed = set(filters) | {g for g in group_by if g not in ("day", "month")}
    daily, monthly = fam.pick("day", needed), fam.pick("month", needed)
    if (fam.daily and daily is None) or (fam.monthly and monthly is None):
        raise ValueError(f"{family} has no rollup with {sorted(needed)}")
    parts = []
    if "day" in group_by:
        if daily is None:
            raise ValueError(f"{family} has no daily rollup")
        parts.append((daily, window.first, window.last))
    elif daily is None or "month" in group_by:
        if monthly is None:
            raise ValueError(f"{family} has no monthly rollup")
        if window.first.day != 1 or window.last != _month_end(window.last):
            raise ValueError(f"{family} by month needs whole months, got {window.first}..{window.last}")
        parts.append((monthly, window.first, _month_start(window.last)))
    else:
        ragged, months = split_window(window)
        parts += [(daily, w.first, w.last) for w in ragged]
        if months is not None:
            parts.append((monthly or daily, months.first, months.last if monthly else _month_end(months.last)))
    return _add_counts(_sums(conn, _sum_query(rollup, first, last, filters, group_by)) for rollup, first, last in parts)


def _sums(conn: Connection, stmt) -> dict[tuple, int]:
    """The rows of a grouped SUM as {key: n}; fetched at once (tens of thousands of keys for enterprises)."""
    rows = conn.execute(stmt).all()
    if conn.dialect.name == "sqlite":  # SQLite gives dates as text
        return {tuple(_normalise(v) for v in row[:-1]): int(row[-1]) for row in rows if row[-1] is not None}
    return {tuple(row[:-1]): int(row[-1]) for row in rows if row[-1] is not None}  # None: a SUM over no rows


def _add_counts(parts: Iterable[Mapping[tuple, int]]) -> dict[tuple, int]:
    result: dict[tuple, int] = {}
    for part in parts:
        for key, n in part.items():
            result[key] = result.get(key, 0) + n
    return {k: v for k, v in result.items() if v != 0}


def first_day(conn: Connection, family: str) -> date | None:
    """The first Shanghai day holding a row of the family's source (None: the source is empty).

    Windows that begin before it are not covered by the data: their counts are unknown (无数据), not 0.
    One read of the first key of the narrowest daily rollup's primary key.
    """
    rollup = (FAMILIES[family].daily or FAMILIES[family].monthly)[0]
    value = conn.execute(select(func.min(rollup.table.c[rollup.grain]))).scalar()
    return _normalise(value) if value is not None else None


def covers(first: date | None, window: Window) -> bool:
    """Whether data beginning on ``first`` cover every day of ``window``."""
    return first is not None and window.first >= first


def total(conn: Connection, family: str, window: Window, filters: Filters | None = None) -> int:
    """One count over a window."""
    return counts(conn, family, window, filters).get((), 0)


def counts_raw(conn: Connection, family: str, window: Window, filters: Filters | None = None,
               group_by: tuple[str, ...] = (), enterprise_id: int | None = None) -> dict[tuple, int]:
    """The same counts by a plain GROUP BY over the source table (benchmarks, tests, one enterprise)."""
    rollup = FAMILIES[family].any
    dialect = conn.dialect.name
    prefix = f"{rollup.source.name}."
    exprs = {d.name: d.expr(dialect, prefix) for d in rollup.dims}
    exprs["day"] = _local_day(rollup.time_column)(dialect, prefix)
    exprs["month"] = _local_month(rollup.time_column)(dialect, prefix)
    start, end = local_day_range(window.first, window.last)
    where = [f"{prefix}{rollup.time_column} >= :start", f"{prefix}{rollup.time_column} < :end",
             rollup.where_sql(dialect, prefix)]
    params: dict[str, object] = {"start": start, "end": end}
    if enterprise_id is not None:
        where.append(f"{prefix}enterprise_id = :enterprise_id")
        params["enterprise_id"] = enterprise_id
    for i, (name, value) in enumerate((filters or {}).items()):
        values = list(value) if isinstance(value, (tuple, list, set, frozenset)) else [value]
        names = [f"f{i}_{j}" for j in range(len(values))]
        where.append(f"{exprs[name]} IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, values, strict=True))
    select_list = [exprs[g] for g in group_by]
    sql = (f"SELECT {', '.join(select_list + ['COUNT(*)'])} FROM {rollup.source.name} "
           f"WHERE {' AND '.join(where)}")
    if group_by:
        sql += f" GROUP BY {', '.join(select_list)}"
    if dialect == "sqlite":
        params = {k: _sqlite_param(v) for k, v in params.items()}
    booleans = [isinstance(next((d.type_ for d in rollup.dims if d.name == g), None), Boolean) for g in group_by]
    rows = conn.execute(text(sql), params)
    return {tuple(bool(v) if b else _normalise(v) for v, b in zip(row[:-1], booleans, strict=True)): int(row[-1])
            for row in rows if row[-1]}


def _sqlite_param(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def _normalise(value):
    """Make keys from either backend compare equal (SQLite gives dates as text)."""
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value

"""The report (通报) for a period and a unit: its numbers, headline sentences, book, ranking and overdue list.

Everything a report shows is computed here; exports/report.py only lays it out (PDF, DOCX, charts).

- A period is written as the CLI and the download URL take it: ``2026-10`` (a month), ``2026`` (a year),
  ``2026-Q3``, ``2026-W44`` (ISO week), ``2026-10-15`` (a day), a range ``2026-01-01..2026-10-31`` or
  ``2026-01..2026-10``, or one of the review page's presets (``week``, ``28d``, ``month``, ``quarter``,
  ``ytd``). Every period ends with the last complete day (yesterday, Shanghai time), as everywhere
  (the to-date rule, data/core/periods.py): an explicit period is cut there, a preset runs to it, so a printed
  report does not change afterwards and compares whole days with whole days.
- A unit is the whole jurisdiction (the default: its word, 全镇 or as the organisation calls it, or its place
  name), a station (its name with or without 派出所, or its code) or a park.
- Comparisons follow data/core/periods.py: 同比 the same dates a year earlier, 环比 the period before of the
  same kind (none for a year), and the baseline year.
- Each headline sentence carries its facts: every number in it with the query that produced it, written
  as the plain SQL over the base tables that gives the same value (the counts themselves come from the
  trigger-maintained rollups, which equal those queries; tests/test_reports.py checks both).
- Sentences follow the house rules of data/counts/metrics.py: no percentage on a zero base (去年同期为0), and
  a change within Poisson noise (|z| < 2) is called 变化不明显.
- Personal data: the only personal field a report can show is an address in the overdue-hazard list; it is
  cut to street level (data/access/masking.py) unless the viewer may see them unmasked (data/access/roles.py, audited).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs

from sqlalchemy import Connection, select

from data.access import masking
from data.access.roles import MASKED, Principal, reveal
from data.core import db, organisation, periods, rollups, vocab
from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.core.organisation import PRODUCT, Organisation
from data.core.periods import Window
from data.core.schema import Enterprise, Park, Station
from data.core.scope import Unit
from data.core.timeutil import now_utc, to_local
from data.counts.compstat import Comparison, covered_total, unit_counts
from data.counts.measures import (
    CriminalCases,
    DisputeMeasures,
    HazardMeasures,
    dispute_measures,
    enterprise_criminal_cases,
    hazard_measures,
    operational_measures,
    overdue_hazards,
)
from data.counts.metrics import Change, exposure
from data.counts.programme import FIGURES
from data.index import stored
from data.index.index_views import by_score, unit_ranking
from data.screens.review import (
    BookRow,
    DrillItem,
    ReviewFilters,
    Trend,
    baseline_year_of,
    drill_items,
    monthly_trend,
    row_filters,
)

PRESETS = ("week", "28d", "month", "quarter", "ytd")
BOOK_KEY = "report"
KEY_CATEGORIES = ("刑事", "治安", "交通事故", "电信网络诈骗")
OVERDUE_SHOWN = 60


class ReportError(ValueError):
    """A period or unit the report cannot be made for; the message says what would work."""


# --- periods ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportPeriod:
    """The days a report covers, how it was asked for, and how the report names it."""

    spec: str
    kind: str  # day, week, month, quarter, year, range, or a review preset
    window: Window
    label: str  # as a sentence opens: 10月 / 1—10月 / 11月1日—28日
    title: str  # with the year: 2026年10月
    cut: bool = False  # the period runs past the last complete day and was cut there


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _month_end(day: date) -> date:
    return _add_months(day.replace(day=1), 1) - timedelta(days=1)


def _side(text: str, end: bool) -> date:
    """One end of a range: a day, a month (its first or last day) or a year."""
    text = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if re.fullmatch(r"\d{4}-\d{1,2}", text):
            year, month = map(int, text.split("-"))
            first = date(year, month, 1)
            return _month_end(first) if end else first
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 12, 31) if end else date(int(text), 1, 1)
    except ValueError:
        pass
    raise ReportError(f"period end {text!r} is not a day (2026-10-31), a month (2026-10) or a year (2026)")


def _explicit_window(spec: str) -> tuple[str, Window]:
    text = spec.strip()
    try:
        if m := re.fullmatch(r"(\d{4})", text):
            return "year", Window(date(int(m[1]), 1, 1), date(int(m[1]), 12, 31))
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            first = date(int(m[1]), int(m[2]), 1)
            return "month", Window(first, _month_end(first))
        if m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
            first = date(int(m[1]), 3 * int(m[2]) - 2, 1)
            return "quarter", Window(first, _month_end(_add_months(first, 2)))
        if m := re.fullmatch(r"(\d{4})-[Ww](\d{1,2})", text):
            first = date.fromisocalendar(int(m[1]), int(m[2]), 1)
            return "week", Window(first, first + timedelta(days=6))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            day = date.fromisoformat(text)
            return "day", Window(day, day)
        if ".." in text:
            left, right = text.split("..", 1)
            first, last = _side(left, end=False), _side(right, end=True)
            if last < first:
                raise ReportError(f"period {spec!r} ends before it starts")
            return "range", Window(first, last)
    except ValueError as exc:
        if isinstance(exc, ReportError):
            raise
        raise ReportError(f"period {spec!r}: {exc}") from None
    raise ReportError(f"period {spec!r} not understood; use 2026-10, 2026, 2026-Q3, 2026-W44, 2026-10-15, "
                      f"2026-01-01..2026-10-31 or one of {', '.join(PRESETS)}")


def parse_period(spec: str | None, today: date) -> ReportPeriod:
    """The report period for a written spec (see the module docstring), as of ``today``."""
    spec = (spec or "").strip() or "month"
    if spec in PRESETS:
        window = periods.period_window(spec, today)
        return ReportPeriod(spec, spec, window, period_label(window, today), period_label(window, today, True))
    kind, window = _explicit_window(spec)
    if window.days > 3 * 366:
        raise ReportError(f"period {spec!r} is longer than three years")
    last_complete = today - timedelta(days=1)
    cut = window.last > last_complete
    if cut:
        if window.first > today:
            raise ReportError(f"period {spec!r} has not begun yet (today is {today.isoformat()})")
        window = Window(window.first, max(window.first, last_complete))
    return ReportPeriod(spec, kind, window, period_label(window, today), period_label(window, today, True), cut)


def custom_period(first: date, last: date, today: date) -> ReportPeriod:
    """A period given by its first and last day (the review page's custom range)."""
    return parse_period(f"{first.isoformat()}..{last.isoformat()}", today)


def period_label(window: Window, today: date, with_year: bool = False) -> str:
    """How a 通报 names a period: 10月, 1—10月, 2025年, 11月1日—28日 (with the year when asked, or when
    the period is not in the current year)."""
    first, last = window.first, window.last
    show_year = with_year or last.year != today.year or first.year != last.year
    year = f"{first.year}年" if show_year else ""
    if first.year != last.year:
        return f"{first.year}年{first.month}月{first.day}日—{last.year}年{last.month}月{last.day}日"
    if first.day == 1 and last == _month_end(last):
        if first.month == 1 and last.month == 12:
            return f"{first.year}年" if show_year else "全年"
        if first.month == last.month:
            return f"{year}{first.month}月"
        return f"{year}{first.month}—{last.month}月"
    if first == last:
        return f"{year}{first.month}月{first.day}日"
    if first.month == last.month:
        return f"{year}{first.month}月{first.day}日—{last.day}日"
    return f"{year}{first.month}月{first.day}日—{last.month}月{last.day}日"


BEFORE_KIND = {"day": "custom", "week": "week", "month": "month", "quarter": "quarter", "range": "custom",
               "28d": "28d", "custom": "custom"}


def report_windows(period: ReportPeriod, baseline_year: int) -> dict[str, Window | None]:
    """The period and the windows it is compared with: year_earlier (同比), before (环比), baseline."""
    window = period.window
    kind = BEFORE_KIND.get(period.kind)
    if period.kind == "range" and (window.first.month, window.first.day) == (1, 1):
        kind = None  # 1—10月 is read like a year to date: 同比 only
    return {"now": window, "year_earlier": periods.year_earlier(window),
            "before": periods.period_before(kind, window) if kind else None,
            "baseline": periods.baseline_window(window, baseline_year)}


# --- units ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportUnit:
    """Where a report counts, and how it names the place."""

    unit: Unit
    name: str  # 全镇 / 织南派出所 / 香圩墩园区
    short: str  # for file names: the organisation's place name / a station's short name / a park's name
    place: str  # in sentences: 全镇 / 某某派出所辖区 / a park's name
    station_id: int | None = None
    park_id: int | None = None

    def review_filters(self, window: Window | None = None) -> ReviewFilters:
        """The review page's filters for this unit (and a custom window)."""
        if window is None:
            return ReviewFilters(station=self.station_id if self.park_id is None else None, park=self.park_id)
        return ReviewFilters(period="custom", first=window.first, last=window.last,
                             station=self.station_id if self.park_id is None else None, park=self.park_id)


def town_unit(org: Organisation = DEFAULT_ORGANISATION) -> ReportUnit:
    """The whole jurisdiction as a report's unit; its file names carry the organisation's place name."""
    return ReportUnit(Unit(), org.whole, org.file_place, org.whole)


TOWN_UNIT = town_unit()  # with the neutral defaults (全镇, and 全镇 in file names)


def _station_unit(station_id: int, name: str) -> ReportUnit:
    short = name.removesuffix("派出所") or name
    return ReportUnit(Unit("station", station_id), name, short, f"{name}辖区", station_id=station_id)


def _park_unit(park_id: int, name: str, station_id: int) -> ReportUnit:
    return ReportUnit(Unit("park", park_id), name, name, name, station_id=station_id, park_id=park_id)


def resolve_unit(conn: Connection, name: str | None) -> ReportUnit:
    """The unit a name means: 全镇, a station (织南, 织南派出所 or its code ZN) or a park's name."""
    text = (name or "").strip()
    org = organisation.load(conn)
    if text in org.whole_names or text.lower() == "town":
        return town_unit(org)
    stations = conn.execute(select(Station.id, Station.code, Station.name).order_by(Station.id)).all()
    for s in stations:
        if text in (s.name, s.name.removesuffix("派出所")) or text.upper() == s.code.upper():
            return _station_unit(s.id, s.name)
    parks = conn.execute(select(Park.id, Park.name, Park.station_id).order_by(Park.id)).all()
    for p in parks:
        if text == p.name:
            return _park_unit(p.id, p.name, p.station_id)
    matches = [p for p in parks if text and text in p.name]
    if len(matches) == 1:
        return _park_unit(matches[0].id, matches[0].name, matches[0].station_id)
    known = [org.whole] + [s.name.removesuffix("派出所") for s in stations] + [p.name for p in parks]
    raise ReportError(f"unknown unit {text!r}; use one of: {', '.join(known)}")


def unit_by_ids(conn: Connection, station: int | None = None, park: int | None = None) -> ReportUnit:
    """The unit of the review page's station / park filter (the park wins when both are given)."""
    if park is not None:
        row = conn.execute(select(Park.id, Park.name, Park.station_id).where(Park.id == park)).first()
        if row is None:
            raise ReportError(f"no park with id {park}")
        return _park_unit(row.id, row.name, row.station_id)
    if station is not None:
        row = conn.execute(select(Station.id, Station.name).where(Station.id == station)).first()
        if row is None:
            raise ReportError(f"no station with id {station}")
        return _station_unit(row.id, row.name)
    return town_unit(organisation.load(conn))


def request_from_query(conn: Connection, query: str | None, today: date) -> tuple[ReportPeriod, ReportUnit]:
    """Period and unit of a download URL: ``period=2026-10&unit=织南``, or the review page's own filter
    query (``period=custom&first=…&last=…&station=4``)."""
    raw = {k: v[-1] for k, v in parse_qs((query or "").lstrip("?")).items()}

    def integer(key):
        if key not in raw or raw[key] == "":
            return None
        try:
            return int(raw[key])
        except ValueError:
            raise ReportError(f"{key}={raw[key]!r} is not a number") from None

    spec = raw.get("period", "month")
    if spec == "custom":
        try:
            first, last = date.fromisoformat(raw.get("first", "")), date.fromisoformat(raw.get("last", ""))
        except ValueError:
            raise ReportError("a custom period needs first and last dates (YYYY-MM-DD)") from None
        period = custom_period(first, last, today)
    else:
        period = parse_period(spec, today)
    if raw.get("unit"):
        unit = resolve_unit(conn, raw["unit"])
    else:
        unit = unit_by_ids(conn, integer("station"), integer("park"))
    return period, unit


# --- facts and phrases ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fact:
    """One number of a sentence and the query behind it."""

    key: str
    label: str
    value: int | float | Decimal | None
    query: str


@dataclass(frozen=True)
class Sentence:
    """A headline sentence and the facts its numbers come from."""

    text: str
    facts: tuple[Fact, ...]


TIME_COLUMNS = {"incidents": "received_at", "disputes": "reported_at", "hazards": "found_at"}
FILTER_SQL = {"with_enterprise": lambda v: "enterprise_id IS NOT NULL" if v else "enterprise_id IS NULL",
              "enterprise_related": lambda v: f"enterprise_related = {'true' if v else 'false'}"}


def _sql_value(value) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_sql_value(v) for v in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _condition(column: str, value) -> str:
    if column in FILTER_SQL:
        return FILTER_SQL[column](value)
    if isinstance(value, (tuple, list)):
        return f"{column} IN {_sql_value(value)}"
    return f"{column} = {_sql_value(value)}"


def window_sql(column: str, window: Window) -> str:
    """A window as SQL over a UTC timestamp column, in Shanghai days (half-open)."""
    end = window.last + timedelta(days=1)
    return f"{column} >= '{window.first.isoformat()} 00:00+08' AND {column} < '{end.isoformat()} 00:00+08'"


def where_clause(family: str, window: Window, unit: Unit, filters: dict | None = None) -> str:
    """The rows of a base table that a figure counts, as an SQL condition."""
    conditions = [window_sql(TIME_COLUMNS[family], window), *unit.sql()]
    conditions += [_condition(k, v) for k, v in (filters or {}).items()]
    return " AND ".join(conditions)


def count_query(family: str, window: Window, unit: Unit, filters: dict | None = None, what: str = "count(*)") -> str:
    """The plain SQL over a base table that gives a count the report reads from the rollups."""
    return f"SELECT {what} FROM {family} WHERE {where_clause(family, window, unit, filters)}"


def pct_text(pct: float) -> str:
    """A percentage's size as a 通报 writes it: 11.2% (one decimal, half up)."""
    rounded = Decimal(repr(abs(pct))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{rounded}%"


def change_phrase(change: Change, basis: str = "去年同期", verb: str = "同比") -> str:
    """同比下降11.2% / 同比上升1.2%（变化不明显）/ 去年同期为0 / 与去年同期持平 / 去年同期无数据."""
    if change.before is None:
        return f"{basis}无数据"
    if change.before == 0:
        return f"{basis}亦为0" if change.now == 0 else f"{basis}为0"
    pct = change.pct
    if Decimal(repr(abs(pct))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) == 0:
        return f"与{basis}持平"
    direction = "上升" if pct > 0 else "下降"
    phrase = f"{verb}{direction}{pct_text(pct)}"
    if change.significance == "noise":
        phrase += "（变化不明显）"
    return phrase


def n(value: int) -> str:
    """A count as a 通报 writes it: 87,087."""
    return f"{value:,}"


def share_text(value: float | None) -> str:
    """A share as a 通报 writes it: 71.0%; 无数据 when its inputs are missing (never 0.0%)."""
    if value is None:
        return "无数据"
    return f"{Decimal(repr(100 * value)).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def wan(amount: Decimal) -> str:
    """An amount in 万元 with one decimal: 8,200.0."""
    value = (Decimal(amount) / Decimal(10000)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value:,}"


# --- the book ---------------------------------------------------------------------------------------

SECTION_BREAKDOWN = {"incidents": "category", "disputes": "dispute_type", "hazards": "hazard_type"}
SECTION_VALUES = {"incidents": vocab.INCIDENT_CATEGORIES, "disputes": vocab.DISPUTE_TYPES,
                  "hazards": vocab.HAZARD_TYPES}


def report_book(conn: Connection, windows: dict[str, Window | None], unit: Unit) -> list[BookRow]:
    """The period book for the report's windows: the same rows as the review page's book, one column."""
    counted: dict[str, dict[tuple[str, str], int | None]] = {}
    first = {section: rollups.first_day(conn, section) for section in SECTION_BREAKDOWN}
    for name, window in windows.items():
        if window is None:
            continue
        cells: dict[tuple[str, str], int | None] = {}
        for section, breakdown in SECTION_BREAKDOWN.items():
            if not rollups.covers(first[section], window):  # no data is not zero (无数据)
                cells.update({(section, v): None for v in ("total", "enterprise", *SECTION_VALUES[section])})
                continue
            by_value = unit_counts(conn, section, window, unit, None, (breakdown,))
            cells[(section, "total")] = sum(by_value.values())
            for value in SECTION_VALUES[section]:
                cells[(section, value)] = by_value.get((value,), 0)
            if section == "incidents":
                cells[("incidents", "enterprise")] = sum(
                    unit_counts(conn, "incidents", window, unit, {"enterprise_related": True}).values())
        counted[name] = cells
    order = [("incidents", "total"), ("incidents", "enterprise")]
    order += [("incidents", c) for c in vocab.INCIDENT_CATEGORIES]
    order += [("disputes", "total")] + [("disputes", t) for t in vocab.DISPUTE_TYPES]
    order += [("hazards", "total")] + [("hazards", t) for t in vocab.HAZARD_TYPES]
    rows = []
    for key in order:
        now = counted["now"][key]
        before = counted.get("before")

        def against(name: str, counts, now=now, key=key) -> Change:
            return Change(now, counts[key], exposure(windows["now"], windows[name]))

        rows.append(BookRow(key[0], key[1], {BOOK_KEY: Comparison(
            kind=BOOK_KEY, window=windows["now"], now=now,
            year_earlier=against("year_earlier", counted["year_earlier"]),
            year_earlier_window=windows["year_earlier"],
            before=against("before", before) if before is not None else None, before_window=windows["before"],
            baseline=against("baseline", counted["baseline"]), baseline_window=windows["baseline"])}))
    return rows


def book_cell(book: list[BookRow], section: str, key: str) -> Comparison:
    """The report column of one book row."""
    for row in book:
        if row.section == section and row.key == key:
            return row.cells[BOOK_KEY]
    raise KeyError(f"{section}:{key}")


# --- safety index and overdue hazards ---------------------------------------------------------------

@dataclass(frozen=True)
class IndexRank:
    """One unit or enterprise in an index ranking."""

    kind: str  # station, park, enterprise
    id: int
    name: str
    score: float
    band: str
    previous: float | None
    enterprises: int | None = None

    @property
    def change(self) -> float | None:
        return None if self.previous is None else self.score - self.previous


@dataclass(frozen=True)
class IndexSummary:
    """The unit's index in the report's month, against the month before, and rankings one level down."""

    month: date
    score: float | None
    band: str | None
    previous: float | None
    rankings: list[tuple[str, list[IndexRank]]]  # (title, ranks best first)


def _ranks(conn: Connection, kind: str, names: dict[int, str], month: date) -> list[IndexRank]:
    """The units of ``names`` by their index of ``month``, best first (the ranking of the review's index views,
    listed by exact score, ties by id)."""
    return [IndexRank(kind, r.id, r.name, r.score, r.band, r.previous_score, r.enterprises)
            for r in unit_ranking(conn, kind, names, month, order=by_score)]


def _lowest_enterprises(conn: Connection, month: date, unit: Unit, limit: int = 10) -> list[IndexRank]:
    rows = stored.lowest_enterprises(conn, month, unit, limit=limit)
    previous = stored.enterprise_scores(conn, _add_months(month, -1), [r.id for r in rows])
    return [IndexRank("enterprise", int(r.id), r.name, float(r.score), r.band,
                      float(previous[r.id]) if r.id in previous else None) for r in rows]


def index_summary(conn: Connection, month: date, runit: ReportUnit) -> IndexSummary:
    """The safety index of the unit in ``month`` and the rankings the report prints."""
    unit = runit.unit
    own = stored.unit_score(conn, unit, month)
    before = stored.unit_score(conn, unit, _add_months(month, -1))
    rankings: list[tuple[str, list[IndexRank]]] = []
    if unit.is_town:
        stations = dict(conn.execute(select(Station.id, Station.name)).all())
        rankings.append(("各派出所", _ranks(conn, "station", stations, month)))
    if unit.kind in ("town", "station"):
        stmt = select(Park.id, Park.name).where(*unit.where(Park))
        rankings.append(("各园区", _ranks(conn, "park", dict(conn.execute(stmt).all()), month)))
    rankings.append(("平安指数最低的企业", _lowest_enterprises(conn, month, unit)))
    return IndexSummary(month, own.score if own else None, own.band if own else None,
                        before.score if before else None, [(title, ranks) for title, ranks in rankings if ranks])


@dataclass(frozen=True)
class OverdueRow:
    """An open hazard past its deadline, with where it is."""

    id: int
    enterprise: str
    address: str
    station: str
    park: str
    hazard_type: str
    severity: str
    deadline: date
    days_overdue: int


def overdue_list(conn: Connection, today: date, unit: Unit, viewer: Principal = MASKED) -> list[OverdueRow]:
    """Every overdue hazard of the unit as of ``today``, most overdue first; addresses masked unless the
    viewer may see them (an unmasked list is audited)."""
    hazards = overdue_hazards(conn, today, unit)
    unmasked = bool(hazards) and reveal(conn, viewer, "overdue hazards: enterprise addresses", f"{unit} {today}")
    ids = sorted({h.enterprise_id for h in hazards if h.enterprise_id is not None})
    enterprises: dict[int, tuple] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for r in conn.execute(select(Enterprise.id, Enterprise.name, Enterprise.address, Enterprise.park_id)
                              .where(Enterprise.id.in_(chunk))):
            enterprises[r.id] = (r.name, r.address, r.park_id)
    stations = dict(conn.execute(select(Station.id, Station.name)).all())
    parks = dict(conn.execute(select(Park.id, Park.name)).all())
    rows = []
    for h in hazards:
        name, address, park_id = enterprises.get(h.enterprise_id, ("", "", None))
        rows.append(OverdueRow(h.id, name, address if unmasked else (masking.mask_address(address) or ""),
                               stations.get(h.station_id, ""), parks.get(park_id, "") if park_id else "",
                               h.hazard_type, h.severity, h.deadline, h.days_overdue))
    return rows


# --- the report -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReportData:
    """Everything one report shows."""

    period: ReportPeriod
    unit: ReportUnit
    today: date
    generated_at: datetime
    baseline_year: int
    windows: dict[str, Window | None]
    sentences: list[Sentence]
    book: list[BookRow]
    trend: Trend
    drill: list[DrillItem]
    disputes: DisputeMeasures
    hazards: HazardMeasures
    criminal: CriminalCases
    index: IndexSummary
    overdue: list[OverdueRow]
    unmasked: bool
    demo: bool
    facts: list[Fact] = field(default_factory=list)
    measures: list = field(default_factory=list)  # operational measures against a year earlier (measures.Measure)
    org: Organisation = DEFAULT_ORGANISATION  # whose report: its masthead, author and footer

    @property
    def title(self) -> str:
        return f"{self.unit.name}{self.period.title}平安建设工作通报"

    @property
    def masthead(self) -> str:
        """The line above the title: the organisation's full name (else its short name) · e企安365."""
        return " · ".join(p for p in (self.org.name or self.org.short_name, PRODUCT) if p)

    @property
    def author(self) -> str:
        """The files' author: 某某公安 e企安365 (no name set: e企安365)."""
        return self.org.brand

    @property
    def footer(self) -> str:
        return f"{self.author} · 内部资料 注意保管" + (" · 演示数据" if self.demo else "")


class _Facts:
    """Collects the facts of the sentences as they are written."""

    def __init__(self, runit: ReportUnit, windows: dict[str, Window | None]):
        self.unit, self.windows = runit.unit, windows
        self.all: list[Fact] = []

    def add(self, key: str, label: str, value, query: str) -> Fact:
        fact = Fact(key, label, value, query)
        self.all.append(fact)
        return fact

    def exposure(self, against: str) -> float:
        """Days of the report's window over days of the window it is compared with (data.counts.metrics.exposure)."""
        return exposure(self.windows["now"], self.windows[against])

    def count(self, key: str, label: str, value: int, family: str, window_name: str, filters: dict | None = None):
        window = self.windows[window_name]
        return self.add(key, label, value, count_query(family, window, self.unit, filters))

    def change(self, key: str, label: str, cell_now: int, cell_before: int, family: str,
               filters: dict | None = None) -> tuple[Fact, Fact, Fact]:
        now = self.count(f"{key}.now", f"{label}（本期）", cell_now, family, "now", filters)
        before = self.count(f"{key}.year_earlier", f"{label}（去年同期）", cell_before, family, "year_earlier", filters)
        change = Change(cell_now, cell_before, self.exposure("year_earlier"))
        if change.missing:
            how = "数据未覆盖该期间（早于最早一条记录），无数据，不计算百分比"
        elif cell_before and change.exposure != 1:  # 29 February: the two windows differ in length
            now_days, before_days = self.windows["now"].days, self.windows["year_earlier"].days
            base = f"{cell_before} × {now_days}/{before_days}"
            how = (f"按日均比较（本期{now_days}天，去年同期{before_days}天）：(本期 − 去年同期 × 天数比) / "
                   f"(去年同期 × 天数比) × 100 = ({cell_now} − {base}) / ({base}) × 100; "
                   f"Poisson z = 2(√{cell_now} − √({base})) = {change.z:.2f}")
        elif cell_before:
            how = (f"(本期 − 去年同期) / 去年同期 × 100 = ({cell_now} − {cell_before}) / {cell_before} × 100; "
                   f"Poisson z = 2(√{cell_now} − √{cell_before}) = {change.z:.2f}")
        else:
            how = "去年同期为0，不计算百分比"
        pct = self.add(f"{key}.yoy", f"{label}（同比，%）", None if change.pct is None else round(change.pct, 1), how)
        return now, before, pct


def _book_change(facts: _Facts, book, section: str, key: str, label: str):
    cell = book_cell(book, section, key)
    facts_ = facts.change(f"{section}.{key}", label, cell.now, cell.year_earlier.before, section,
                          row_filters(section, key))
    return cell, facts_


def incident_sentences(facts: _Facts, book, period: ReportPeriod, runit: ReportUnit) -> list[Sentence]:
    total, f1 = _book_change(facts, book, "incidents", "total", "警情")
    ent, f2 = _book_change(facts, book, "incidents", "enterprise", "涉企警情")
    if total.now is None:  # the data do not cover the period: no sentence of numbers
        return [Sentence(f"{period.label}，{runit.place}无警情数据（数据未覆盖本期）。", f1 + f2)]
    first = Sentence(f"{period.label}，{runit.place}共接报警情{n(total.now)}起，{change_phrase(total.year_earlier)}；"
                     f"其中涉企警情{n(ent.now)}起，{change_phrase(ent.year_earlier)}。", f1 + f2)
    parts, used = [], []
    for category in KEY_CATEGORIES:
        cell, fs = _book_change(facts, book, "incidents", category, f"{category}警情")
        noun = category if category == "交通事故" else f"{category}警情"
        parts.append(f"{noun}{n(cell.now)}起，{change_phrase(cell.year_earlier)}")
        used += fs
    return [first, Sentence("分类别看，" + "；".join(parts) + "。", tuple(used))]


def dispute_sentence(conn: Connection, facts: _Facts, book, runit: ReportUnit) -> tuple[Sentence, DisputeMeasures]:
    total, f1 = _book_change(facts, book, "disputes", "total", "矛盾纠纷")
    labour, f2 = _book_change(facts, book, "disputes", "劳资", "劳资纠纷")
    econ = FIGURES["enterprise_economic_disputes"]
    econ_now, econ_before = (covered_total(conn, econ.family, facts.windows[name], facts.unit, econ.filters)
                             for name in ("now", "year_earlier"))
    f3 = facts.change("disputes.enterprise_economic", "涉企经济纠纷", econ_now, econ_before, econ.family,
                      dict(econ.filters))
    measures = dispute_measures(conn, facts.windows["now"], facts.unit)
    if total.now is None:
        return Sentence("期内无矛盾纠纷数据（数据未覆盖本期）。", f1 + f2 + f3), measures
    window = facts.windows["now"]
    f4 = (
        facts.add("disputes.closed", "已办结纠纷（已化解或未化解）", measures.closed,
                  count_query("disputes", window, facts.unit, {"status": ("已化解", "未化解")})),
        facts.add("disputes.in_house", "在企业内和园区化解", measures.settled_in_house,
                  count_query("disputes", window, facts.unit,
                              {"status": "已化解", "settled_level": vocab.IN_HOUSE_LEVELS})),
        facts.add("disputes.in_house_share", "就地化解率（%）",
                  None if measures.in_house_share is None else round(100 * measures.in_house_share, 1),
                  "在企业内和园区化解 / 已办结 × 100"),
        facts.add("disputes.median_days", "化解用时中位数（天）", measures.median_days_to_settle,
                  "整天数(settled_at − reported_at) 的下中位数，范围：disputes WHERE "
                  + where_clause("disputes", window, facts.unit, {"status": "已化解"})),
    )
    text = (f"共受理矛盾纠纷{n(total.now)}起，{change_phrase(total.year_earlier)}；其中劳资纠纷{n(labour.now)}起，"
            f"{change_phrase(labour.year_earlier)}，涉企经济纠纷{n(econ_now)}起，"
            f"{change_phrase(Change(econ_now, econ_before, facts.exposure('year_earlier')))}。")
    if measures.in_house_share is not None:  # no sentence on missing inputs (no settlement levels recorded)
        text += (f"已办结{n(measures.closed)}起，其中在企业内和园区化解{n(measures.settled_in_house)}起，"
                 f"占{share_text(measures.in_house_share)}，矛盾不出企业")
        if measures.level_unknown:
            text += f"（另有{n(measures.level_unknown)}起已化解纠纷未记录化解层级，不计入）"
        if measures.median_days_to_settle is not None:
            text += f"；化解用时中位数{measures.median_days_to_settle}天"
        text += "。"
    elif measures.median_days_to_settle is not None:
        text += f"已化解纠纷化解用时中位数{measures.median_days_to_settle}天。"
    return Sentence(text, f1 + f2 + f3 + f4), measures


def hazard_sentence(conn: Connection, facts: _Facts, book, today: date,
                    overdue: list[OverdueRow]) -> tuple[Sentence, HazardMeasures]:
    total, f1 = _book_change(facts, book, "hazards", "total", "安全隐患")
    measures = hazard_measures(conn, facts.windows["now"], facts.unit)
    if total.now is None:
        return Sentence("期内无安全隐患数据（数据未覆盖本期）。", f1), measures
    window = facts.windows["now"]
    f2 = (facts.add("hazards.rectified", "其中已整改", measures.rectified,
                    count_query("hazards", window, facts.unit, {"status": "已整改"})),
          facts.add("hazards.rectification_rate", "整改率（%）",
                    None if measures.rectification_rate is None else round(100 * measures.rectification_rate, 1),
                    "已整改 / 发现 × 100"),
          facts.add("hazards.overdue", f"截至{today.month}月{today.day}日逾期未整改隐患", len(overdue),
                    "SELECT count(*) FROM hazards WHERE status = '待整改' AND deadline < "
                    f"'{today.isoformat()}'" + "".join(f" AND {c}" for c in facts.unit.sql())))
    text = f"排查发现安全隐患{n(total.now)}处，{change_phrase(total.year_earlier)}"
    if total.now:
        text += f"；其中已整改{n(measures.rectified)}处，整改率{share_text(measures.rectification_rate)}"
    if measures.median_days_to_rectify is not None:
        earlier = hazard_measures(conn, facts.windows["year_earlier"], facts.unit).median_days_to_rectify
        text += f"，整改用时中位数{measures.median_days_to_rectify}天"
        text += f"（去年同期{earlier}天）" if earlier is not None else "（去年同期无数据）"
        f2 += (facts.add("hazards.median_days", "整改用时中位数（天）", measures.median_days_to_rectify,
                         "整天数(rectified_at − found_at) 的下中位数，范围：hazards WHERE "
                         + where_clause("hazards", window, facts.unit, {"status": "已整改"})),
               facts.add("hazards.median_days.year_earlier", "去年同期整改用时中位数（天）", earlier,
                         "整天数(rectified_at − found_at) 的下中位数，范围：hazards WHERE "
                         + where_clause("hazards", facts.windows["year_earlier"], facts.unit,
                                        {"status": "已整改"})))
    text += "。"
    if overdue:
        text += (f"截至{today.month}月{today.day}日，逾期未整改隐患{n(len(overdue))}处，"
                 f"最长逾期{overdue[0].days_overdue}天，须督促整改。")
    else:
        text += f"截至{today.month}月{today.day}日，无逾期未整改隐患。"
    return Sentence(text, f1 + f2), measures


def criminal_sentence(conn: Connection, facts: _Facts) -> tuple[Sentence, CriminalCases]:
    cases = enterprise_criminal_cases(conn, facts.windows["now"], facts.unit)
    conditions = {"category": "刑事", "enterprise_related": True}
    query = count_query("incidents", facts.windows["now"], facts.unit, conditions,
                        what="count(*), sum(loss_amount), sum(recovered_amount)")
    fs = (facts.add("criminal.cases", "涉企刑事案件", cases.cases, query),
          facts.add("criminal.loss", "涉案损失（元）", cases.loss, query),
          facts.add("criminal.recovered", "挽回损失（元）", cases.recovered, query))
    if cases.cases == 0:
        return Sentence("期内未发生涉企刑事案件。", fs), cases
    return Sentence(f"涉企刑事案件{n(cases.cases)}起，涉案损失{wan(cases.loss)}万元，"
                    f"挽回损失{wan(cases.recovered)}万元。", fs), cases


def index_sentence(facts: _Facts, summary: IndexSummary, runit: ReportUnit) -> Sentence | None:
    if summary.score is None:
        return None
    fs = [facts.add("index.score", f"{summary.month.month}月企业平安指数", round(summary.score, 1),
                    stored.unit_score_query(runit.unit, summary.month))]
    text = f"{summary.month.month}月，{runit.place}企业平安指数{summary.score:.1f}（{summary.band}档）"
    if summary.previous is not None:
        previous_month = _add_months(summary.month, -1)
        fs.append(facts.add("index.previous", f"{previous_month.month}月企业平安指数", round(summary.previous, 1),
                            stored.unit_score_query(runit.unit, previous_month)))
        diff = Decimal(repr(summary.score - summary.previous)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        text += "，与上月持平" if diff == 0 else f"，较上月{'上升' if diff > 0 else '下降'}{abs(diff)}分"
    lows = [ranks for title, ranks in summary.rankings if ranks and ranks[0].kind in ("station", "park")]
    if lows and len(lows[-1]) > 1:
        worst = lows[-1][-1]
        label = "各派出所" if worst.kind == "station" else "各园区"
        text += f"；{label}中，{worst.name}得分最低（{worst.score:.1f}）"
    return Sentence(text + "。", tuple(fs))


def build_report(conn: Connection, period: ReportPeriod, runit: ReportUnit, today: date, viewer: Principal = MASKED,
                 progress: Callable[[str], None] | None = None) -> ReportData:
    """Compute every number, sentence and list of a report."""
    step = progress or (lambda _label: None)
    baseline = baseline_year_of(conn, today)
    windows = report_windows(period, baseline)
    book = report_book(conn, windows, runit.unit)
    step("期间对比")
    facts = _Facts(runit, windows)
    overdue = overdue_list(conn, today, runit.unit, viewer)
    unmasked = viewer.may("unmasked")
    sentences = incident_sentences(facts, book, period, runit)
    disputes_sentence, disputes = dispute_sentence(conn, facts, book, runit)
    hazards_sentence, hazards = hazard_sentence(conn, facts, book, today, overdue)
    crime_sentence, criminal = criminal_sentence(conn, facts)
    sentences += [disputes_sentence, hazards_sentence, crime_sentence]
    step("通报要点")
    index = index_summary(conn, period.window.last.replace(day=1), runit)
    index_line = index_sentence(facts, index, runit)
    if index_line is not None:
        sentences.append(index_line)
    step("平安指数")
    # the trend runs to the period's last day: as seen on the day after it (the to-date rule)
    trend = monthly_trend(conn, period.window.last + timedelta(days=1), runit.review_filters(), "incidents", "total")
    drill = drill_items(conn, today, runit.review_filters(period.window), baseline)
    step("趋势与下钻")
    measures = operational_measures(conn, windows["now"], windows["year_earlier"], runit.unit)
    return ReportData(period, runit, today, to_local(now_utc()), baseline, windows, sentences, book, trend,
                      drill, disputes, hazards, criminal, index, overdue, unmasked,
                      db.get_meta(conn, "demo_settings") is not None, facts.all, measures, organisation.load(conn))


DATA_STEPS = 4  # how many times build_report calls progress

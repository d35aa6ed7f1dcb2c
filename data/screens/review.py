"""The leadership review: the filters, the CompStat period book, monthly trends and drill-down lists.

Everything is read from the rollups through ``data.counts.compstat``; a filter state is a small frozen
dataclass that round-trips through the page URL (``to_query`` / ``from_query``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode

from sqlalchemy import Connection, func, select

from data.core import periods, rollups, vocab
from data.core.periods import Window, spring_festival
from data.core.schema import Enterprise, Incident, Park, Station
from data.core.scope import Unit
from data.core.timeutil import local_day_range
from data.counts import measures
from data.counts.compstat import Comparison, compare, comparison_windows, covered_counts, unit_counts
from data.counts.metrics import Change, add_changes, exposure, poisson_z, significance
from data.counts.programme import programme_start
from data.screens import geo

BOOK_PERIODS = ("week", "28d", "ytd")
DEFAULT_ROW = "incidents:total"  # the book row whose trend is shown when the URL names none
PRESETS = ("week", "28d", "month", "quarter", "ytd", "custom")
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)  # the dates a filter may name


class FilterError(ValueError):
    """A filter in the URL is malformed; the message names it."""


@dataclass(frozen=True)
class ReviewFilters:
    """What the leader is looking at. Empty values mean "all"."""

    period: str = "ytd"
    first: date | None = None  # custom range
    last: date | None = None
    station: int | None = None
    park: int | None = None
    enterprise: int | None = None
    sector: str | None = None
    category: str | None = None
    enterprise_only: bool = False

    def unit(self) -> Unit:
        if self.enterprise is not None:
            return Unit("enterprise", self.enterprise)
        if self.park is not None:
            return Unit("park", self.park)
        if self.station is not None:
            return Unit("station", self.station)
        return Unit()

    def to_query(self) -> str:
        """The filters as a URL query string (empty values left out, stable order)."""
        pairs = []
        for key, value in asdict(self).items():
            if value in (None, False, "") or (key == "period" and value == "ytd"):
                continue
            pairs.append((key, "1" if value is True else str(value)))
        return urlencode(pairs)

    def scope(self) -> ReviewFilters:
        """Only the unit and sector (what the safety-index views depend on)."""
        return ReviewFilters(station=self.station, park=self.park, enterprise=self.enterprise, sector=self.sector)

    def custom_window(self) -> Window | None:
        if self.period != "custom":
            return None
        if self.first is None or self.last is None:
            raise FilterError("a custom period needs first and last dates")
        return Window(self.first, self.last)


def drill_filters(current: ReviewFilters, kind: str, unit_id: int) -> ReviewFilters:
    """The filters one level down from ``current``: a station, or a park (period and topic kept)."""
    if kind == "station":
        return replace(current, station=int(unit_id), park=None, enterprise=None)
    if kind == "park":
        return replace(current, park=int(unit_id), enterprise=None)
    if kind == "enterprise":
        return replace(current, enterprise=int(unit_id))
    raise ValueError(f"unknown unit kind {kind!r}")


def from_query(search: str | None) -> ReviewFilters:
    """Parse a URL query string; unknown keys are ignored, malformed values raise FilterError."""
    raw = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?"), keep_blank_values=False).items()}

    def integer(key):
        if key not in raw:
            return None
        if not (raw[key].isascii() and raw[key].isdigit() and len(raw[key]) <= 10 and 0 < int(raw[key]) < 2**31):
            raise FilterError(f"{key}={raw[key][:40]!r} is not a number (an id from 1 to {2**31 - 1})")
        return int(raw[key])

    def day(key):
        if key not in raw:
            return None
        try:
            value = date.fromisoformat(raw[key])
        except ValueError:
            raise FilterError(f"{key}={raw[key][:40]!r} is not a date (YYYY-MM-DD)") from None
        if not FIRST_DAY <= value <= LAST_DAY:  # the comparison windows reach years before and after
            raise FilterError(f"{key}={raw[key]!r} lies outside {FIRST_DAY}..{LAST_DAY}")
        return value

    period = raw.get("period", "ytd")
    if period not in PRESETS:
        raise FilterError(f"period={period!r}; use one of {', '.join(PRESETS)}")
    category = raw.get("category") or None
    if category is not None and category not in vocab.INCIDENT_CATEGORIES:
        raise FilterError(f"category={category!r} is not an incident category")
    sector = raw.get("sector") or None
    filters = ReviewFilters(period=period, first=day("first"), last=day("last"), station=integer("station"),
                            park=integer("park"), enterprise=integer("enterprise"), sector=sector,
                            category=category, enterprise_only=raw.get("enterprise_only") in ("1", "true"))
    if filters.period == "custom":
        if filters.first and filters.last and filters.last < filters.first:
            raise FilterError(f"last={filters.last} lies before first={filters.first}")
        window = filters.custom_window()
        if window.days > 3 * 366:
            raise FilterError("a custom period may span at most three years")
    return filters


def _incident_filters(f: ReviewFilters) -> dict:
    out = {}
    if f.sector:
        out["sector"] = f.sector
    if f.category:
        out["category"] = f.category
    if f.enterprise_only:
        out["enterprise_related"] = True
    return out


def _dispute_filters(f: ReviewFilters) -> dict:
    out = {}
    if f.sector:
        out["sector"] = f.sector
    if f.enterprise_only:
        out["with_enterprise"] = True
    return out


def _hazard_filters(f: ReviewFilters) -> dict:
    return {"sector": f.sector} if f.sector else {}


FAMILY_FILTERS = {"incidents": _incident_filters, "disputes": _dispute_filters, "hazards": _hazard_filters}


def family_filters(family: str, f: ReviewFilters) -> dict:
    """The rollup filters a family takes from the review filters (the unit is separate)."""
    filters = FAMILY_FILTERS[family](f)
    if f.enterprise is not None:
        filters.pop("sector", None)  # one enterprise has one sector
    return filters


@dataclass(frozen=True)
class BookRow:
    """One row of the period book: a section, a key within it, and a comparison per period."""

    section: str  # incidents, disputes, hazards
    key: str  # "total", "enterprise", or a category / type value
    cells: dict[str, Comparison]


def _sum_comparisons(parts: list[Comparison]) -> Comparison:
    """The total row of a section: its rows' comparisons added side by side (no data in a part: no data)."""
    first = parts[0]
    year = add_changes(c.year_earlier for c in parts)
    before = None if first.before is None else add_changes(c.before for c in parts)
    return replace(first, now=year.now, year_earlier=year, before=before,
                   baseline=add_changes(c.baseline for c in parts))


def book_periods(f: ReviewFilters) -> tuple[str, ...]:
    """The book's columns: the period the leader chose first, then the CompStat periods it does not repeat."""
    return (f.period,) + tuple(p for p in BOOK_PERIODS if p != f.period)


def period_book(conn: Connection, today: date, f: ReviewFilters, baseline_year: int,
                periods_shown: tuple[str, ...] | None = None) -> list[BookRow]:
    """The CompStat book: incidents (total, 涉企, each category), disputes and hazards by type, one column
    per period (the chosen one first; each row's ``cells`` keep that order)."""
    periods_shown = periods_shown or book_periods(f)
    custom = f.custom_window()
    unit = f.unit()
    rows: dict[tuple[str, str], dict[str, Comparison]] = {}
    order: list[tuple[str, str]] = [("incidents", "total"), ("incidents", "enterprise")]
    categories = [f.category] if f.category else list(vocab.INCIDENT_CATEGORIES)
    order += [("incidents", c) for c in categories]
    order += [("disputes", "total")] + [("disputes", t) for t in vocab.DISPUTE_TYPES]
    order += [("hazards", "total")] + [("hazards", t) for t in vocab.HAZARD_TYPES]
    for kind in periods_shown:
        inc = compare(conn, "incidents", kind, today, baseline_year, unit, family_filters("incidents", f),
                      breakdown="category", custom=custom, keys=[(c,) for c in categories])
        ent = compare(conn, "incidents", kind, today, baseline_year, unit,
                      {**family_filters("incidents", f), "enterprise_related": True}, custom=custom)[()]
        dsp = compare(conn, "disputes", kind, today, baseline_year, unit, family_filters("disputes", f),
                      breakdown="dispute_type", custom=custom, keys=[(t,) for t in vocab.DISPUTE_TYPES])
        hzd = compare(conn, "hazards", kind, today, baseline_year, unit, family_filters("hazards", f),
                      breakdown="hazard_type", custom=custom, keys=[(t,) for t in vocab.HAZARD_TYPES])
        rows.setdefault(("incidents", "enterprise"), {})[kind] = ent
        for section, compared, values in (("incidents", inc, categories), ("disputes", dsp, vocab.DISPUTE_TYPES),
                                          ("hazards", hzd, vocab.HAZARD_TYPES)):
            by_value = {k[0]: v for k, v in compared.items()}
            rows.setdefault((section, "total"), {})[kind] = _sum_comparisons(list(by_value.values()))
            for value in values:
                rows.setdefault((section, value), {})[kind] = by_value[value]
    return [BookRow(section, key, rows[(section, key)]) for section, key in order]


BOOK_KEYS = {"incidents": ("total", "enterprise", *vocab.INCIDENT_CATEGORIES),  # the rows period_book makes
             "disputes": ("total", *vocab.DISPUTE_TYPES), "hazards": ("total", *vocab.HAZARD_TYPES)}
ROW_FILTERS = {  # how a book row narrows its family's counts
    "total": {},
    "enterprise": {"enterprise_related": True},
}


def row_filters(section: str, key: str) -> dict:
    """Rollup filters selecting one book row."""
    if key in ROW_FILTERS:
        return dict(ROW_FILTERS[key])
    column = {"incidents": "category", "disputes": "dispute_type", "hazards": "hazard_type"}[section]
    return {column: key}


@dataclass(frozen=True)
class Trend:
    """Monthly counts of one book row for this year and the two before, and the programme effect."""

    section: str
    key: str
    years: dict[int, list[int | None]]  # year -> 12 monthly counts (None for months with no complete day yet)
    programme_start: date | None
    before: int  # the 12 whole months before the programme start
    after: int  # the 12 whole months after it (or as many as have passed, scaled to 12 below)
    after_months: int
    change: Change | None
    through: date | None = None  # the last complete day
    partial_month: date | None = None  # the month in progress (counted to ``through``), if it has a complete day


def monthly_trend(conn: Connection, today: date, f: ReviewFilters, section: str, key: str) -> Trend:
    """A row of the book month by month, this year against the last two, around the programme start."""
    unit = f.unit()
    filters = {**family_filters(section, f), **row_filters(section, key)}
    through = periods.last_complete_day(today)
    first = date(through.year - 2, 1, 1)
    current = through.replace(day=1)  # the month holding the last complete day: whole, or counted to it
    partial = None if through == periods.month_end(through) else current
    if unit.kind == "enterprise":
        counts = rollups.counts_raw(conn, section, Window(first, through), filters, ("month",),
                                    enterprise_id=unit.id)
    else:
        whole = Window(first, (partial or _add_months(current, 1)) - timedelta(days=1))
        scope = {**unit.filters(), **filters}
        counts = rollups.counts(conn, section, whole, scope, ("month",))
        if partial is not None:
            counts[(partial,)] = rollups.total(conn, section, Window(partial, through), scope)
    by_month = {k[0]: n for k, n in counts.items()}
    years = {}
    for year in range(through.year - 2, through.year + 1):
        years[year] = [by_month.get(date(year, m, 1), 0) if date(year, m, 1) <= through else None
                       for m in range(1, 13)]
    start = programme_start(conn)
    before = after = months_after = 0
    change = None
    if start is not None:
        anchor = date(start.year, start.month, 1)
        before_window = Window(_add_months(anchor, -12), anchor - timedelta(days=1))
        months_after = max(0, min(12, (today.year - anchor.year) * 12 + today.month - anchor.month))
        if months_after > 0:
            after_window = Window(anchor, _add_months(anchor, months_after) - timedelta(days=1))
            before = _total(conn, section, before_window, unit, filters)
            after = _total(conn, section, after_window, unit, filters)
            # compare like with like: the same number of months before the start as have passed since
            same_window = Window(_add_months(anchor, -months_after), anchor - timedelta(days=1))
            before_same = _total(conn, section, same_window, unit, filters)
            change = Change(after, before_same, exposure(after_window, same_window))  # per day: months differ
    return Trend(section, key, years, start, before, after, months_after, change, through, partial)


def _total(conn, family, window, unit, filters) -> int:
    return sum(unit_counts(conn, family, window, unit, filters).values())


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class FestivalView:
    """Daily counts around the Spring Festival, this year and last, aligned on the festival day."""

    this_year: int
    offsets: list[int]  # days from the festival
    now: list[int | None]
    before: list[int]
    total_now: int
    total_before: int


def festival_view(conn: Connection, today: date, f: ReviewFilters, section: str = "incidents",
                  key: str = "total", span: tuple[int, int] = (-30, 30)) -> FestivalView:
    """The Spring-Festival-aligned comparison: day k after this year's festival against day k after last year's."""
    through = periods.last_complete_day(today)  # whole days only: the day in progress is left out
    year = through.year
    festival_now, festival_before = spring_festival(year), spring_festival(year - 1)
    offsets = list(range(span[0], span[1] + 1))
    unit = f.unit()
    filters = {**family_filters(section, f), **row_filters(section, key)}

    def series(anchor: date) -> dict:
        window = Window(anchor + timedelta(days=span[0]), anchor + timedelta(days=span[1]))
        return {k[0]: n for k, n in unit_counts(conn, section, window, unit, filters, ("day",)).items()}

    now, before = series(festival_now), series(festival_before)
    now_values = [now.get(festival_now + timedelta(days=k), 0) if festival_now + timedelta(days=k) <= through else None
                  for k in offsets]
    before_values = [before.get(festival_before + timedelta(days=k), 0) for k in offsets]
    shown = [(a, b) for a, b in zip(now_values, before_values, strict=True) if a is not None]
    return FestivalView(year, offsets, now_values, before_values, sum(a for a, _ in shown), sum(b for _, b in shown))


@dataclass(frozen=True)
class DrillItem:
    """One unit below the current one, with its incident count in the period against a year earlier."""

    kind: str  # station, park, enterprise
    id: int
    name: str
    now: int | None  # None: the data do not cover the window (无数据)
    before: int | None
    extra: dict = field(default_factory=dict)
    exposure: float = 1.0  # days now / days a year earlier (29 February), see data.counts.metrics.Change

    @property
    def change(self) -> Change:
        return Change(self.now, self.before, self.exposure)


def drill_items(conn: Connection, today: date, f: ReviewFilters, baseline_year: int,
                limit: int = 20) -> list[DrillItem]:
    """The units one level down (stations of the town, parks of a station, enterprises of a park)."""
    windows = comparison_windows(f.period if f.period != "custom" else "custom", today, baseline_year,
                                 f.custom_window())
    if f.enterprise is not None:
        return []
    if f.park is not None:
        return _enterprise_items(conn, windows, f, limit)
    filters = family_filters("incidents", f)
    level, column = ("park", "park_id") if f.station is not None else ("station", "station_id")
    now, before = (covered_counts(conn, "incidents", windows[name], f.unit(), filters, (column,))
                   for name in ("now", "year_earlier"))
    model = Park if level == "park" else Station
    stmt = select(model.id, model.name)
    if level == "park":
        stmt = stmt.where(Park.station_id == f.station)
    names = dict(conn.execute(stmt.order_by(model.id)).all())
    ratio = exposure(windows["now"], windows["year_earlier"])
    items = [DrillItem(level, uid, name, _of(now, (uid,)), _of(before, (uid,)), exposure=ratio)
             for uid, name in names.items()]
    return sorted(items, key=lambda i: (-(i.now or 0), i.id))


def _of(counts: dict | None, key) -> int | None:
    return None if counts is None else counts.get(key, 0)


def _enterprise_items(conn, windows, f: ReviewFilters, limit: int) -> list[DrillItem]:
    """The enterprises of a park (of the sector filter) with the most incidents in the park in the period."""
    members = select(Enterprise.id).where(Enterprise.park_id == f.park)
    if f.sector:
        members = members.where(Enterprise.sector == f.sector)
    first = rollups.first_day(conn, "incidents")
    now, before = (park_enterprise_counts(conn, windows[name], f.park, members, f.category)
                   if rollups.covers(first, windows[name]) else None for name in ("now", "year_earlier"))
    rows = conn.execute(select(Enterprise.id, Enterprise.name, Enterprise.sector, Enterprise.workers)
                        .where(Enterprise.id.in_(members)))
    ratio = exposure(windows["now"], windows["year_earlier"])
    items = [DrillItem("enterprise", r.id, r.name, _of(now, r.id), _of(before, r.id),
                       {"sector": r.sector, "workers": r.workers}, ratio) for r in rows]
    return sorted(items, key=lambda i: (-(i.now or 0), -(i.before or 0), i.id))[:limit]


def park_enterprise_counts(conn: Connection, window: Window, park: int, members, category: str | None = None
                           ) -> dict[int, int]:
    """Incidents recorded in a park per enterprise of ``members`` (a SELECT of ids), over a window."""
    return dict(conn.execute(park_enterprise_query(window, park, members, category)).all())


def park_enterprise_query(window: Window, park: int, members, category: str | None = None):
    """The query of ``park_enterprise_counts``. It names the enterprises, so it is read enterprise by enterprise
    through the (enterprise_id, received_at) index: the rows read are the members' incidents in the window,
    not every incident of the window as a read by park and time would be."""
    start, end = local_day_range(window.first, window.last)
    conditions = [Incident.enterprise_id.in_(members), *Unit("park", park).where(Incident),
                  Incident.received_at >= start, Incident.received_at < end]
    if category:
        conditions.append(Incident.category == category)
    return select(Incident.enterprise_id, func.count()).where(*conditions).group_by(Incident.enterprise_id)


def breadcrumbs(conn: Connection, f: ReviewFilters) -> list[tuple[str, ReviewFilters]]:
    """The path from the town down to the current unit, each step with the filters that show it."""
    crumbs = [("town", replace(f, station=None, park=None, enterprise=None))]
    if f.station is not None:
        crumbs.append((conn.execute(select(Station.name).where(Station.id == f.station)).scalar() or str(f.station),
                       replace(f, park=None, enterprise=None)))
    if f.park is not None:
        crumbs.append((conn.execute(select(Park.name).where(Park.id == f.park)).scalar() or str(f.park),
                       replace(f, enterprise=None)))
    if f.enterprise is not None:
        crumbs.append((conn.execute(select(Enterprise.name).where(Enterprise.id == f.enterprise)).scalar()
                       or str(f.enterprise), f))
    return crumbs


def z_mark(now: int, before: int) -> str:
    """Significance of a count against another."""
    return significance(poisson_z(now, before))


@dataclass(frozen=True)
class ReviewBundle:
    """Everything one state of the review page draws."""

    filters: ReviewFilters
    row: str
    book: list[BookRow]
    trend: Trend
    festival: FestivalView
    drill: list[DrillItem]
    crumbs: list[tuple[str, ReviewFilters]]
    areas: dict = field(default_factory=dict)  # station polygons (GeoJSON) for the drill-down map
    parks: list = field(default_factory=list)  # parks of the station in view (all parks for the town)
    measures: list = field(default_factory=list)  # operational measures of the chosen period (measures.Measure)


def baseline_year_of(conn: Connection, today: date) -> int:
    """The baseline year: the year before the programme start (or before this year without one)."""
    start = programme_start(conn)
    return periods.default_baseline_year(start) if start else today.year - 1


def review_bundle(conn: Connection, query: str, row: str, today: date) -> ReviewBundle:
    """Compute a review state from its filter query string."""
    f = from_query(query)
    section, _, key = row.partition(":")
    if section not in FAMILY_FILTERS or key not in BOOK_KEYS.get(section, ()):  # not a row of the book
        section, key = "incidents", "total"
    baseline = baseline_year_of(conn, today)
    if f.period == "custom":
        try:
            periods.complete_part(f.custom_window(), today)
        except periods.NoCompleteDay as exc:
            raise FilterError(f"first={f.first}: the period {exc}") from None
    return ReviewBundle(f, f"{section}:{key}", period_book(conn, today, f, baseline),
                        monthly_trend(conn, today, f, section, key), festival_view(conn, today, f, section, key),
                        drill_items(conn, today, f, baseline), breadcrumbs(conn, f), geo.station_areas(conn),
                        geo.parks(conn, Unit("station", f.station) if f.station is not None else Unit()),
                        period_measures(conn, today, f, baseline))


def period_measures(conn: Connection, today: date, f: ReviewFilters, baseline_year: int) -> list:
    """The operational measures of the chosen period against the same dates a year earlier, for the unit."""
    windows = comparison_windows(f.period, today, baseline_year, f.custom_window())
    incident = {k: v for k, v in family_filters("incidents", f).items() if k != "sector"}  # no sector by response
    return measures.operational_measures(conn, windows["now"], windows["year_earlier"], f.unit(), incident,
                                         family_filters("disputes", f), family_filters("hazards", f))

"""The review's fast paths against plain recomputations over the base tables (SQLite and PostgreSQL).

The top enterprises of a park (``data.screens.review.drill_items`` with a park) count the incidents recorded in the
park per enterprise of the park, as before, but read them enterprise by enterprise through the
(enterprise_id, received_at) index instead of every incident of the window by time. They must equal the
query the page used before (incidents by park and time) and a pandas count over the base tables: on a
crafted town with incidents on the first and last instant of every Shanghai month from December 2023 to
March 2026 (windows starting and ending mid-month, inside one month, across month and year ends and
29 February), with incidents recorded in a park other than their enterprise's, after inserts, updates and
deletes; and on the scale-1 demo town for several parks, periods, categories and sectors.

The index views read only the scope's enterprises (their incidents from the enterprise x month rollup
through a SELECT of ids); ``test_index_views`` checks them against plain SQL and pandas.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from data.core.periods import Window, complete_part, period_window
from data.core.schema import Enterprise, Incident, Park, Station
from data.core.timeutil import local_day_range
from data.demo.generator import DemoSettings
from data.screens.review import ReviewFilters, baseline_year_of, drill_items, park_enterprise_query

UTC = UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date.fromisoformat
EVERYONE = 10_000  # a drill limit above any park's number of enterprises


def W(first: str, last: str) -> Window:
    return Window(D(first), D(last))


# --- the crafted town ------------------------------------------------------------------------------------

# id, park, sector; enterprise 4 is in no park
ENTERPRISES = [(1, 1, "童装生产"), (2, 1, "物流仓储"), (3, 2, "童装生产"), (4, None, "童装生产"), (5, 1, "童装生产")]
CATEGORIES = ("刑事", "治安", "纠纷", "群众求助")


def _local(day: date, *hms) -> datetime:
    return datetime(day.year, day.month, day.day, *hms, tzinfo=SHANGHAI).astimezone(UTC)


def _month_starts(first: date, last: date) -> list[date]:
    out, day = [], first
    while day <= last:
        out.append(day)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return out


def _instants() -> list[datetime]:
    """The first and last instant of every Shanghai month (and a mid-month one), Dec 2023 to Mar 2026."""
    out = []
    for month in _month_starts(D("2023-12-01"), D("2026-03-01")):
        last_day = date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)
        out += [_local(month), _local(month.replace(day=14), 12), _local(last_day, 23, 59, 59, 999999)]
    out += [_local(D("2024-02-29"), 0), _local(D("2024-02-29"), 23, 59, 59), _local(D("2025-02-28"), 23, 59, 59)]
    return out


def _incident_rows() -> list[dict]:
    """Incidents of every enterprise at every instant (categories turning), a few without an enterprise,
    and three recorded in a park other than their enterprise's."""
    rows, next_id = [], 1
    for i, at in enumerate(_instants()):
        for enterprise, park, _sector in ENTERPRISES:
            if (i + enterprise) % 3 == 0:
                continue  # not every enterprise every time
            rows.append(_incident(next_id, at, CATEGORIES[(i + enterprise) % len(CATEGORIES)], enterprise, park))
            next_id += 1
        rows.append(_incident(next_id, at, "交通事故", None, 1 if i % 2 else None))
        next_id += 1
    rows += [_incident(next_id, _local(D("2025-01-20"), 9), "刑事", 1, None),  # enterprise of park 1, no park
             _incident(next_id + 1, _local(D("2025-02-10"), 9), "刑事", 1, 2),  # enterprise of park 1, park 2
             _incident(next_id + 2, _local(D("2025-01-20"), 9), "刑事", 3, 1)]  # enterprise of park 2, park 1
    return rows


def _incident(id_: int, at: datetime, category: str, enterprise: int | None, park: int | None) -> dict:
    return {"id": id_, "received_at": at, "category": category, "subcategory": None, "priority": 2,
            "enterprise_related": enterprise is not None, "enterprise_id": enterprise, "station_id": 1,
            "park_id": park, "channel": "110", "created_at": at, "source": "test", "source_id": str(id_)}


def _places(session: Session) -> None:
    session.add_all([Station(id=1, code="ZD", name="织东派出所", polygon_geojson="{}", centre_lat=30.84,
                             centre_lon=120.27)])
    session.flush()
    session.add_all([Park(id=1, name="香圩墩园区", station_id=1, lat=30.845, lon=120.271),
                     Park(id=2, name="织北物流园", station_id=1, lat=30.861, lon=120.262)])
    session.flush()
    for id_, park, sector in ENTERPRISES:
        body = f"91330502MA2B3C{id_:03d}"
        session.add(Enterprise(id=id_, name=f"企业{id_}", credit_code=body + uscc.calc_check_digit(body),
                               sector=sector, workers=10 * id_, park_id=park, station_id=1, lat=30.84, lon=120.27,
                               address="织里镇"))
    session.flush()


@pytest.fixture
def town(engine):
    with Session(engine) as session:
        _places(session)
        session.commit()
    with engine.begin() as conn:
        conn.execute(insert(Incident.__table__), _incident_rows())
    return engine


# --- plain recomputations over the base tables ------------------------------------------------------------

def incident_frame(conn) -> pd.DataFrame:
    """Incidents naming an enterprise: the park they were recorded in, their Shanghai day, and the enterprise's
    own park and sector."""
    frame = pd.read_sql(text("SELECT i.enterprise_id, i.category, i.received_at, i.park_id, e.park_id AS "
                             "enterprise_park, e.sector FROM incidents i JOIN enterprises e ON e.id = i.enterprise_id"),
                        conn)
    local = pd.to_datetime(frame["received_at"], utc=True, format="mixed").dt.tz_convert(SHANGHAI)
    frame["day"] = [t.date() for t in local]
    return frame


def pandas_counts(frame: pd.DataFrame, window: Window, park: int, category: str | None = None,
                  sector: str | None = None) -> dict[int, int]:
    """Incidents recorded in the park per enterprise of the park (and sector) over the window."""
    sel = frame[(frame["park_id"] == park) & (frame["enterprise_park"] == park)
                & frame["day"].between(window.first, window.last)]
    if category:
        sel = sel[sel["category"] == category]
    if sector:
        sel = sel[sel["sector"] == sector]
    return {int(k): int(n) for k, n in sel.groupby("enterprise_id").size().items()}


def previous_query(conn, window: Window, park: int, category: str | None = None) -> dict[int, int]:
    """The query the page used before: incidents naming an enterprise, by the park recorded and time."""
    start, end = local_day_range(window.first, window.last)
    if conn.dialect.name == "sqlite":
        start, end = (t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") for t in (start, end))
    category_test = "AND category = :category " if category else ""
    sql = (f"SELECT enterprise_id, COUNT(*) FROM incidents WHERE park_id = :park AND enterprise_id IS NOT NULL "
           f"AND received_at >= :start AND received_at < :end {category_test}GROUP BY enterprise_id")
    rows = conn.execute(text(sql), {"park": park, "start": start, "end": end, "category": category})
    return {int(e): int(n) for e, n in rows}


def members(conn, park: int, sector: str | None = None) -> list[int]:
    rows = conn.execute(text("SELECT id, sector FROM enterprises WHERE park_id = :p ORDER BY id"), {"p": park})
    return [int(i) for i, s in rows if sector is None or s == sector]


def expected_items(now: dict[int, int] | None, before: dict[int, int] | None, ids: list[int],
                   limit: int = EVERYONE) -> list[tuple]:
    """(enterprise, now, a year earlier) of the enterprises ``ids``, most incidents first; a side whose window
    the data do not cover is None (无数据)."""
    items = [(e, None if now is None else now.get(e, 0), None if before is None else before.get(e, 0)) for e in ids]
    return sorted(items, key=lambda i: (-(i[1] or 0), -(i[2] or 0), i[0]))[:limit]


def first_incident_day(conn) -> date:
    """The Shanghai day of the first incident of all (the data's coverage begins there)."""
    first = pd.to_datetime(conn.execute(text("SELECT min(received_at) FROM incidents")).scalar(), utc=True)
    return first.tz_convert(SHANGHAI).date()


def drawn(conn, today: date, f: ReviewFilters, limit: int = EVERYONE) -> list[tuple]:
    return [(i.id, i.now, i.before) for i in drill_items(conn, today, f, baseline_year_of(conn, today), limit)]


def custom(window: Window, **kw) -> ReviewFilters:
    return ReviewFilters(period="custom", first=window.first, last=window.last, **kw)


def assert_drill_equals_plain_counts(conn, frame, today: date, f: ReviewFilters, window: Window, limit=EVERYONE):
    """The drill list equals pandas and the previous query (both windows), for the filters ``f``."""
    ids = members(conn, f.park, f.sector)
    window = complete_part(window, today)  # the to-date rule: whole days to yesterday
    now, before = (pandas_counts(frame, w, f.park, f.category, f.sector) for w in (window, window.shift_years(-1)))
    for w, mine in ((window, now), (window.shift_years(-1), before)):
        assert mine == {e: n for e, n in previous_query(conn, w, f.park, f.category).items() if e in ids}, w
    first = first_incident_day(conn)
    shown = [counts if w.first >= first else None for w, counts in ((window, now), (window.shift_years(-1), before))]
    assert drawn(conn, today, f, limit) == expected_items(*shown, ids, limit), f
    return now


# Windows starting and ending mid-month, inside one month, on whole months, across month and year ends.
WINDOWS = [
    W("2025-01-15", "2025-03-10"),  # ragged at both ends, one whole month between
    W("2025-02-10", "2025-02-20"),  # inside one month
    W("2025-02-01", "2025-02-28"),  # one whole month
    W("2025-02-01", "2025-02-27"),  # a month but its last day
    W("2025-02-02", "2025-02-28"),  # a month but its first day
    W("2025-01-31", "2025-02-01"),  # a month end
    W("2024-12-31", "2025-01-01"),  # a year end
    W("2024-12-15", "2025-01-15"),  # across a year end, no whole month
    W("2024-12-01", "2025-12-31"),  # whole months across a year end
    W("2025-01-01", "2025-11-29"),  # year to date
    W("2025-11-30", "2026-02-14"),  # from a month's last day, across a year end, to mid-month
    W("2024-02-29", "2024-03-01"),  # leap day (and its year-earlier window is 28 February 2023)
    W("2023-12-01", "2026-03-31"),  # everything
]
TODAY = D("2026-04-01")  # every window above has ended by yesterday


class TestParkEnterprises:
    @pytest.mark.parametrize("window", WINDOWS, ids=str)
    def test_rsp010_top_enterprises_of_a_park_equal_plain_counts(self, town, window):
        with town.connect() as conn:
            frame = incident_frame(conn)
            for park, category, sector in ((1, None, None), (1, "刑事", None), (1, None, "童装生产"),
                                           (2, "纠纷", None)):
                f = custom(window, park=park, category=category, sector=sector)
                assert_drill_equals_plain_counts(conn, frame, TODAY, f, window)
                assert_drill_equals_plain_counts(conn, frame, TODAY, f, window, limit=2)

    def test_rsp011_the_park_recorded_on_the_incident_counts(self, town):
        # enterprise 1 (park 1) has an incident recorded in no park and one in park 2; enterprise 3 (park 2)
        # one recorded in park 1: none of them counts in park 1's list, as before
        window = W("2025-01-20", "2025-02-10")
        with town.connect() as conn:
            items = {e: n for e, n, _ in drawn(conn, TODAY, custom(window, park=1, category="刑事"))}
            naming = conn.execute(text("SELECT enterprise_id, park_id FROM incidents WHERE id >= :first"),
                                  {"first": len(_incident_rows()) - 2}).all()
            previous = previous_query(conn, window, 1, "刑事")
        assert sorted(naming, key=str) == sorted([(1, None), (1, 2), (3, 1)], key=str)
        assert 3 not in items and previous[3] == 1  # listed only under its own park
        assert items[1] == previous.get(1, 0)
        assert set(items) == {1, 2, 5}

    def test_rsp012_after_updates_and_deletes(self, town):
        with town.begin() as conn:
            conn.execute(update(Incident).where(Incident.id.in_([5, 6, 7])).values(enterprise_id=2, park_id=1))
            conn.execute(update(Incident).where(Incident.id == 8).values(received_at=_local(D("2025-02-01"))))
            conn.execute(update(Incident).where(Incident.id == 9).values(category="火灾"))
            conn.execute(update(Incident).where(Incident.id == 11).values(park_id=None))
            conn.execute(delete(Incident).where(Incident.id.in_([10, 40, 41, 42])))
            conn.execute(update(Enterprise).where(Enterprise.id == 4).values(park_id=1))  # moves into park 1
        with town.connect() as conn:
            frame = incident_frame(conn)
            assert members(conn, 1) == [1, 2, 4, 5]
            for window in WINDOWS:
                assert_drill_equals_plain_counts(conn, frame, TODAY, custom(window, park=1), window)

    def test_rsp013_empty_lists(self, town):
        with town.connect() as conn:
            assert drawn(conn, TODAY, ReviewFilters(park=2, sector="物流仓储")) == []  # no such enterprise there
            assert drawn(conn, TODAY, ReviewFilters(park=1, enterprise=1)) == []  # nothing below an enterprise
            # before the first incident: no data, not zero
            assert drawn(conn, TODAY, custom(W("2023-01-01", "2023-01-31"), park=1)) == [(1, None, None),
                                                                                       (2, None, None),
                                                                                       (5, None, None)]

    def test_rsp014_read_through_the_enterprise_index(self, town):
        if town.dialect.name != "sqlite":
            pytest.skip("the plan is checked on SQLite (PostgreSQL plans by statistics)")
        members_of_park = select(Enterprise.id).where(Enterprise.park_id == 1)

        def plan(category):
            stmt = park_enterprise_query(W("2025-01-01", "2025-11-29"), 1, members_of_park, category)
            compiled = stmt.compile(town, compile_kwargs={"literal_binds": True})
            with town.connect() as conn:
                return " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))

        # the covering index: counted from the index alone, the table's rows are never visited
        assert "USING COVERING INDEX ix_incident_enterprise_covering (enterprise_id=? AND received_at>? AND " \
               "received_at<?)" in plan(None)
        # with a category, the (category, received_at) index may serve as well; never time alone
        assert "ix_incident_received " not in plan("刑事") and "SCAN incidents" not in plan("刑事")


# --- the demo town --------------------------------------------------------------------------------------

PERIODS = ("week", "28d", "month", "quarter", "ytd")


def _demo_windows(today: date) -> list[Window]:
    """Custom windows: mid-month to today, inside one month, across the new year, a whole month, a long one."""
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return [Window(last_month.replace(day=10), today), Window(last_month.replace(day=3), last_month.replace(day=17)),
            Window(date(today.year - 1, 12, 15), date(today.year, 1, 20)),
            Window(last_month, this_month - timedelta(days=1)),
            Window(date(today.year - 1, 2, 11), date(today.year - 1, 9, 30))]


@pytest.fixture
def demo(demo_engine):
    today = DemoSettings.load(demo_engine).seed_day
    with demo_engine.connect() as conn:
        frame = incident_frame(conn)
    return demo_engine, today, frame


class TestDemoParks:
    @pytest.mark.parametrize("park", [1, 2, 7])
    def test_rsp020_periods_equal_the_previous_query_and_pandas(self, demo, park):
        engine, today, frame = demo
        drawn = {}
        with engine.connect() as conn:
            for period in PERIODS:
                for category in (None, "纠纷"):
                    f = ReviewFilters(period=period, park=park, category=category)
                    now = assert_drill_equals_plain_counts(conn, frame, today, f, period_window(period, today))
                    drawn[period, category] = sum(now.values())
        # not vacuous: the long windows of every park hold incidents, and the park's disputes show somewhere
        # (a short week in the Spring Festival lull may hold none: seen on its eve, 2027-02-05)
        assert drawn["28d", None] > 0 and drawn["ytd", None] > 0, drawn
        assert sum(n for (_p, c), n in drawn.items() if c == "纠纷") > 0, drawn

    def test_rsp021_custom_windows_sectors_and_the_top_twenty(self, demo):
        engine, today, frame = demo
        with engine.connect() as conn:
            for window in _demo_windows(today):
                for park, category, sector in ((1, None, None), (1, "刑事", None), (3, None, "童装生产"),
                                               (12, "群众求助", "面辅料")):
                    f = custom(window, park=park, category=category, sector=sector)
                    assert_drill_equals_plain_counts(conn, frame, today, f, window, limit=20)

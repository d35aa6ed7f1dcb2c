"""Numbers that hold at any hour: the to-date rule, partial buckets, local clocks, no data is not zero.

A steady town (one incident every hour at each of two stations, from 2023-01-01 to 2028-03-31, and a
few disputes and hazards) is counted at awkward instants with the product's clock frozen there: a Monday at
00:05, 06:30 and 23:59:59, 1 January, 29 February (and the day after), the last day of a month. Because the
town is steady, any window of whole days holds 48 incidents a day, and a year earlier the same: a change
of more than the leap day's worth, or a significance mark, would mean the windows did not hold the same
whole days. Expected counts come from plain SQL over the base table with the windows written by hand.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import BACKENDS, create_pg_database, drop_pg_database, pg_unreachable
from sqlalchemy import text
from sqlalchemy.orm import Session

from data.core import bulk, db, periods, rollups
from data.core.periods import Window
from data.core.schema import Dispute, Hazard, Incident, Station
from data.core.timeutil import frozen_clock, local_today, now_utc
from data.screens import cockpit, report, review
from exports import registry as export_layout
from exports import report as report_layout
from figures import review as review_figures
from figures import wall_spec
from layouts import ids
from layouts import review as review_layout
from layouts import wall as wall_layout

UTC = UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST, LAST = date(2023, 1, 1), date(2028, 3, 31)
PER_DAY = 48  # two stations, one incident an hour each
T0 = datetime(2020, 1, 1, tzinfo=UTC)


def W(first: str, last: str) -> Window:
    return Window(date.fromisoformat(first), date.fromisoformat(last))


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def _stations(engine) -> None:
    with Session(engine) as session:
        session.add_all([Station(id=i, code=f"S{i}", name=f"派出所{i}", polygon_geojson="{}", centre_lat=30.8,
                                 centre_lon=120.2) for i in (1, 2)])
        session.commit()


@pytest.fixture(scope="module", params=BACKENDS)
def town(request, tmp_path_factory):
    """The steady town, built once per backend for the module (read only: the tests that write use their own)."""
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path_factory.mktemp('truth') / 'town.db'}", None
    else:
        try:
            admin, url, name = create_pg_database("eqian_truth")
        except Exception as exc:  # noqa: BLE001
            pg_unreachable(exc)
        cleanup = (admin, name)
    engine = db.make_engine(url)
    db.create_schema(engine)
    _stations(engine)
    start = datetime(FIRST.year, FIRST.month, FIRST.day, 0, 30, tzinfo=SHANGHAI).astimezone(UTC)
    hours = int((LAST - FIRST).days + 1) * 24
    times = [start + timedelta(hours=h) for h in range(hours)] * 2
    n = len(times)
    with engine.begin() as conn:  # a bulk load: triggers off, one GROUP BY per rollup after
        rollups.drop_triggers(conn)
        bulk.insert_columns(conn, Incident.__table__, {
            "received_at": times, "category": ["治安"] * n, "priority": [3] * n, "enterprise_related": [False] * n,
            "station_id": [1] * (n // 2) + [2] * (n // 2), "channel": ["110"] * n, "created_at": [T0] * n,
            "source": ["local"] * n, "source_id": [f"i{k}" for k in range(n)]})
        rollups.rebuild(conn)
        rollups.install_triggers(conn)
    yield engine
    engine.dispose()
    if cleanup:
        drop_pg_database(*cleanup)
        cleanup[0].dispose()


def sql_count(engine, window: Window, station: int | None = None) -> int:
    """Incidents of Shanghai days first..last, by plain SQL over the base table."""
    start = datetime(window.first.year, window.first.month, window.first.day, tzinfo=SHANGHAI).astimezone(UTC)
    end_day = window.last + timedelta(days=1)
    end = datetime(end_day.year, end_day.month, end_day.day, tzinfo=SHANGHAI).astimezone(UTC)
    fmt = (lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")) if engine.dialect.name == "sqlite" else (lambda t: t)
    where = "received_at >= :a AND received_at < :b" + (" AND station_id = :s" if station else "")
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM incidents WHERE {where}"),
                            {"a": fmt(start), "b": fmt(end), "s": station}).scalar_one()


# (frozen instant, hand-written windows of the book as of then: week, 28d, ytd)
AWKWARD = [
    (shanghai(2026, 12, 7, 0, 5), W("2026-11-30", "2026-12-06"), W("2026-11-09", "2026-12-06"),
     W("2026-01-01", "2026-12-06")),  # Monday 00:05: the week is the whole week before
    (shanghai(2026, 12, 7, 6, 30), W("2026-11-30", "2026-12-06"), W("2026-11-09", "2026-12-06"),
     W("2026-01-01", "2026-12-06")),  # Monday 06:30 (the 38 against 254)
    (shanghai(2026, 12, 7, 23, 59, 59), W("2026-11-30", "2026-12-06"), W("2026-11-09", "2026-12-06"),
     W("2026-01-01", "2026-12-06")),  # Monday 23:59:59: still the day of the week before
    (shanghai(2027, 1, 1, 0, 30), W("2026-12-28", "2026-12-31"), W("2026-12-04", "2026-12-31"),
     W("2026-01-01", "2026-12-31")),  # 1 January: the year is the whole year before
    (shanghai(2028, 2, 29, 12, 0), W("2028-02-28", "2028-02-28"), W("2028-02-01", "2028-02-28"),
     W("2028-01-01", "2028-02-28")),  # 29 February (a Tuesday)
    (shanghai(2028, 3, 1, 9, 0), W("2028-02-28", "2028-02-29"), W("2028-02-02", "2028-02-29"),
     W("2028-01-01", "2028-02-29")),  # the day after: windows holding 29 February
    (shanghai(2026, 12, 31, 18, 0), W("2026-12-28", "2026-12-30"), W("2026-12-03", "2026-12-30"),
     W("2026-01-01", "2026-12-30")),  # the last day of a month and of the year (a Thursday)
]


@pytest.mark.parametrize("moment, week, d28, ytd", AWKWARD, ids=[m.isoformat() for m, *_ in AWKWARD])
class TestAtAwkwardHours:
    def test_tru001_every_book_window_ends_yesterday_and_holds_whole_days(self, town, moment, week, d28, ytd):
        with frozen_clock(moment):
            today = local_today()
            with town.connect() as conn:
                book = review.period_book(conn, today, review.ReviewFilters(period="week"), 2024)
        total = next(r for r in book if (r.section, r.key) == ("incidents", "total"))
        assert list(total.cells) == ["week", "28d", "ytd"]  # the chosen period first
        for kind, window in (("week", week), ("28d", d28), ("ytd", ytd)):
            cell = total.cells[kind]
            assert cell.window == window, kind
            assert cell.now == sql_count(town, window) == PER_DAY * window.days, kind
            earlier = periods.year_earlier(window)
            assert cell.year_earlier.before == sql_count(town, earlier) == PER_DAY * earlier.days, kind
            # like with like: the same whole days (29 February has no twin), never a significant change
            assert cell.year_earlier.significance == "noise", (kind, cell.year_earlier)
            assert cell.year_earlier.pct == pytest.approx(0, abs=1e-9), (kind, cell.year_earlier)  # per day

    def test_tru002_the_wall_year_tiles_count_to_yesterday(self, town, moment, week, d28, ytd):
        with frozen_clock(moment):
            today = local_today()
            with town.connect() as conn:
                numbers = cockpit.cockpit_numbers(conn, today, now=now_utc())
        assert numbers.ytd_window == ytd
        assert numbers.ytd["incidents"].now == sql_count(town, ytd)
        assert numbers.ytd["incidents"].before == sql_count(town, periods.year_earlier(ytd))
        assert numbers.ytd["incidents"].significance == "noise"
        assert numbers.week_window == week
        assert wall_spec.ytd_words(numbers, "zh") == ("上年全年" if (moment.month, moment.day) == (1, 1)
                                                         else "本年至昨日")

    def test_tru003_the_report_preset_is_the_same_windows(self, town, moment, week, d28, ytd):
        with frozen_clock(moment):
            today = local_today()
            with town.connect() as conn:
                period = report.parse_period("week", today)
                data = report.build_report(conn, period, report.TOWN_UNIT, today)
        assert period.window == week
        first = data.sentences[0].text
        assert f"共接报警情{PER_DAY * week.days:,}起" in first
        assert "变化不明显" in first or "持平" in first  # never a significant fall of a partial day

    def test_tru004_the_book_download_says_which_days_it_counts(self, town, moment, week, d28, ytd):
        with frozen_clock(moment):
            today = local_today()
            with town.connect() as conn:
                book = review.period_book(conn, today, review.ReviewFilters(), 2024)
        frame = export_layout.book_frame(book)
        year = "上年" if (moment.month, moment.day) == (1, 1) else "本年"
        weekname = "上周" if moment.weekday() == 0 else "本周"
        assert list(frame.columns[2:4]) == [f"{year}·本期", f"{year}·去年同期"]
        assert frame.loc[0, f"{year}·本期"] == sql_count(town, ytd)
        assert f"{weekname}·本期" in frame.columns
        line = export_layout.as_of_line(today)
        assert line == ("统计口径", f"各期截至昨日24时（{(today - timedelta(days=1)).isoformat()}），只含完整日，"
                                    "同比为去年同日")


class TestPartialBuckets:
    def test_tru010_the_review_trend_draws_the_month_in_progress_apart(self, town):
        with frozen_clock(shanghai(2026, 12, 7, 6, 30)):
            today = local_today()
            with town.connect() as conn:
                trend = review.monthly_trend(conn, today, review.ReviewFilters(), "incidents", "total")
        assert trend.through == date(2026, 12, 6) and trend.partial_month == date(2026, 12, 1)
        assert trend.years[2026][11] == PER_DAY * 6 == sql_count(town, W("2026-12-01", "2026-12-06"))
        assert trend.years[2026][10] == PER_DAY * 30  # November, whole
        fig = review_figures.trend_figure(trend, "zh", "警情")
        solid = next(tr for tr in fig.data if tr.name == "2026")
        assert solid.y[11] is None and solid.y[10] == PER_DAY * 30
        apart = next(tr for tr in fig.data if tr.name and "截至12月6日" in tr.name)
        assert list(apart.x) == [11, 12] and apart.line.dash == "dot" and apart.marker.symbol == "circle-open"

    def test_tru011_on_the_first_the_month_just_ended_is_whole(self, town):
        with frozen_clock(shanghai(2026, 12, 1, 0, 5)):
            with town.connect() as conn:
                trend = review.monthly_trend(conn, local_today(), review.ReviewFilters(), "incidents", "total")
        assert trend.partial_month is None and trend.years[2026][10] == PER_DAY * 30 and trend.years[2026][11] is None
        assert [tr.name for tr in review_figures.trend_figure(trend, "zh", "警情").data] == ["2026", "2025", "2024"]

    def test_tru012_the_festival_view_leaves_today_out(self, town):
        with frozen_clock(shanghai(2027, 2, 5, 23, 0)):  # the Spring Festival eve (festival 2027-02-06)
            with town.connect() as conn:
                view = review.festival_view(conn, local_today(), review.ReviewFilters())
        shown = [(k, n) for k, n in zip(view.offsets, view.now, strict=True) if n is not None]
        assert shown[-1] == (-2, PER_DAY)  # 4 February: the last complete day
        assert view.now[view.offsets.index(-1)] is None


class TestClocksAndNoData:
    def test_tru020_the_report_says_when_it_was_made_in_local_time_with_the_zone(self, town):
        with frozen_clock(datetime(2026, 12, 6, 22, 34, tzinfo=UTC)):  # 06:34 on the 7th in Shanghai
            today = local_today()
            with town.connect() as conn:
                data = report.build_report(conn, report.parse_period("2026-11", today), report.TOWN_UNIT, today)
        lines = dict(report_layout.title_lines(data))
        assert lines["生成时间"] == "2026-12-07 06:34（Asia/Shanghai, UTC+8）"
        assert "只含完整日" in lines["统计期间"]
        assert dict([export_layout.generated_line()])["生成时间"].endswith("（Asia/Shanghai, UTC+8）")

    def test_tru021_a_past_range_before_the_data_is_no_data_not_a_fall(self, town):
        f = review.from_query("period=custom&first=2019-01-01&last=2019-12-31")
        with frozen_clock(shanghai(2026, 12, 7, 6, 30)):
            with town.connect() as conn:
                book = review.period_book(conn, local_today(), f, 2024)
        total = next(r for r in book if (r.section, r.key) == ("incidents", "total"))
        cell = total.cells["custom"]
        assert list(total.cells)[0] == "custom" and cell.window == W("2019-01-01", "2019-12-31")
        assert cell.now is None and cell.baseline.before is not None  # 2024 is covered, 2019 is not
        assert cell.baseline.pct is None and cell.baseline.significance == "none"  # no green −100% ▲▲
        html = str(review_layout.book_table(book, "zh", None, f).children)
        assert "无数据" in html and "-100.0%" not in html

    def test_tru022_a_covered_past_range_is_a_column_of_the_book(self, town):
        f = review.from_query("period=custom&first=2024-03-01&last=2024-03-31")
        with frozen_clock(shanghai(2026, 12, 7, 6, 30)):
            with town.connect() as conn:
                book = review.period_book(conn, local_today(), f, 2023)
        cell = next(r for r in book if (r.section, r.key) == ("incidents", "total")).cells["custom"]
        assert cell.now == sql_count(town, W("2024-03-01", "2024-03-31")) == PER_DAY * 31
        assert cell.year_earlier.before == PER_DAY * 31 and cell.before.before == PER_DAY * 31  # 2024-01-30..02-29

    def test_tru023_no_settlement_levels_is_no_data_on_the_tile_and_no_sentence(self, engine):
        town = engine
        _stations(town)
        with Session(town) as session:
            for k in range(12):  # settled disputes from an export without a 化解层级 column, from 26 October
                reported = shanghai(2026, 10, 26, 10).astimezone(UTC) + timedelta(days=k)
                session.add(Dispute(reported_at=reported, dispute_type="劳资", status="已化解", settled_level=None,
                                    settled_at=reported + timedelta(days=2), station_id=1, created_at=T0))
            session.add(Hazard(found_at=shanghai(2026, 11, 3, 9).astimezone(UTC), hazard_type="消防", severity="一般",
                               station_id=1, deadline=date(2026, 11, 20), status="待整改", created_at=T0))
            session.commit()
        with frozen_clock(shanghai(2026, 12, 7, 6, 30)):
            today = local_today()
            with town.connect() as conn:
                numbers = cockpit.cockpit_numbers(conn, today, now=now_utc())
                data = report.build_report(conn, report.parse_period("2026-11", today), report.TOWN_UNIT, today)
        assert numbers.in_house_share is None
        tile = next(t for t in wall_layout.kpi_tiles(numbers, "zh") if t.id == ids.wall_kpi("in_house"))
        assert "无数据" in str(tile.to_plotly_json()) and "0.0%" not in str(tile.to_plotly_json())
        disputes = next(s.text for s in data.sentences if "矛盾纠纷" in s.text)
        assert "矛盾不出企业" not in disputes and "化解用时中位数2天" in disputes

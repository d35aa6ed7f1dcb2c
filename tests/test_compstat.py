"""data.counts.compstat: period comparisons for the town, a station, a park and an enterprise against pandas counts.

The crafted town has, besides a reproducible spread of random incidents, disputes and hazards, one
"heartbeat" incident per Shanghai day at station 1 / park 1 / enterprise 1 and one at station 2, so that
every window part holds rows for those units. Station 3 is reserved for hand-made rows (zero bases and
breakdown values present in only one window). Expected counts come from pandas over the raw rows (times
converted to Asia/Shanghai), with the windows taken from data.core.periods; hand-written windows check that
the right windows were asked for.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from data.core import bulk, periods, vocab
from data.core.periods import Window
from data.core.schema import Dispute, Enterprise, Hazard, Incident, Park, Station
from data.core.scope import TOWN, Unit
from data.counts import compstat
from data.counts.compstat import compare, comparison_windows, unit_counts
from data.demo.generator import DemoSettings

UTC = UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2020, 1, 1, tzinfo=UTC)
BASELINE = 2024
FIRST_DAY, LAST_DAY = date(2023, 12, 1), date(2026, 3, 31)  # Shanghai days holding crafted data


def W(first: str, last: str) -> Window:
    return Window(date.fromisoformat(first), date.fromisoformat(last))


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local_midnight_utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def credit_code(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


# --- the crafted town ----------------------------------------------------------------------------------

def _places(session: Session) -> None:
    session.add_all([Station(id=i, code=f"S{i}", name=f"派出所{i}", polygon_geojson="{}", centre_lat=30.8,
                             centre_lon=120.2) for i in (1, 2, 3)])
    session.flush()
    session.add_all([Park(id=1, name="园区1", station_id=1, lat=30.8, lon=120.2),
                     Park(id=2, name="园区2", station_id=2, lat=30.8, lon=120.2)])
    session.flush()
    for i, park in ((1, 1), (2, None), (3, 2)):
        session.add(Enterprise(id=i, name=f"企业{i}", credit_code=credit_code(f"9133050{i}MA2B3C4D5"),
                               sector="童装生产", park_id=park, station_id=1 if park == 1 else 2, lat=30.8,
                               lon=120.2, address="织里镇"))
    session.flush()


def _random_times(rng, n: int) -> list[datetime]:
    """Uniform instants over the crafted span, a third of them on Shanghai midnight +-1 microsecond."""
    start, end = local_midnight_utc(FIRST_DAY), local_midnight_utc(LAST_DAY + timedelta(days=1))
    span_us = int((end - start).total_seconds() * 1_000_000)
    out = []
    for i in range(n):
        if i % 3 == 0:
            day = FIRST_DAY + timedelta(days=int(rng.integers(0, (LAST_DAY - FIRST_DAY).days + 1)))
            moment = local_midnight_utc(day) + timedelta(microseconds=int(rng.choice([-1, 0, 1])))
            out.append(min(max(moment, start), end - timedelta(microseconds=1)))
        else:
            out.append(start + timedelta(microseconds=int(rng.integers(0, span_us))))
    return out


def _choice(rng, values, n, p=None) -> list:
    return [values[i] for i in rng.choice(len(values), n, p=p)]


def _insert_town(conn) -> None:
    rng = np.random.default_rng(20260316)
    days = [FIRST_DAY + timedelta(days=i) for i in range((LAST_DAY - FIRST_DAY).days + 1)]
    # heartbeats: one incident a day at station 1 / park 1 / enterprise 1 and one at station 2
    n_days = len(days)
    beat_times = ([local_midnight_utc(d) + timedelta(hours=10) for d in days]
                  + [local_midnight_utc(d) + timedelta(hours=23, minutes=59, seconds=59, microseconds=999999)
                     for d in days])
    n_random = 2400
    times = beat_times + _random_times(rng, n_random)
    n = len(times)
    categories = _choice(rng, vocab.INCIDENT_CATEGORIES, n)
    subcats = [None if rng.random() < 0.25 else vocab.INCIDENT_SUBCATEGORIES[c][int(rng.integers(0, 2))]
               for c in categories]
    stations = [1] * n_days + [2] * n_days + _choice(rng, [1, 2], n_random)
    parks = [1] * n_days + [None] * n_days + [_choice(rng, [1, None], 1)[0] if s == 1 else
                                              _choice(rng, [2, None], 1)[0] for s in stations[2 * n_days:]]
    enterprises = [1] * n_days + [None] * n_days + _choice(rng, [None, None, 1, 2, 3], n_random)
    related = [e is not None or bool(rng.random() < 0.2) for e in enterprises]
    bulk.insert_columns(conn, Incident.__table__, {
        "received_at": times, "category": categories, "subcategory": subcats, "priority": [2] * n,
        "enterprise_related": related, "enterprise_id": enterprises, "station_id": stations,
        "park_id": parks, "channel": ["110"] * n, "created_at": [T0] * n, "source": ["local"] * n,
        "source_id": [f"inc-{i}" for i in range(n)],
    })
    m = 900
    d_times = _random_times(rng, m)
    d_status = _choice(rng, vocab.DISPUTE_STATUSES, m)
    d_level = [_choice(rng, list(vocab.SETTLED_LEVELS), 1)[0] if s == "已化解" else
               (_choice(rng, [None, "企业内"], 1)[0] if s == "未化解" else None) for s in d_status]
    d_settled = [t + timedelta(seconds=int(rng.integers(0, 40 * 86400))) if s == "已化解" else None
                 for t, s in zip(d_times, d_status, strict=True)]
    d_station = _choice(rng, [1, 2], m)
    bulk.insert_columns(conn, Dispute.__table__, {
        "reported_at": d_times, "dispute_type": _choice(rng, vocab.DISPUTE_TYPES, m),
        "enterprise_id": _choice(rng, [None, 1, 2, 3], m), "station_id": d_station,
        "park_id": [_choice(rng, [1, None], 1)[0] if s == 1 else None for s in d_station],
        "status": d_status, "settled_level": d_level, "settled_at": d_settled, "created_at": [T0] * m,
        "source": ["local"] * m, "source_id": [f"dsp-{i}" for i in range(m)], "party_count": [2] * m,
    })
    h = 700
    h_times = _random_times(rng, h)
    h_status = _choice(rng, vocab.HAZARD_STATUSES, h)
    h_station = _choice(rng, [1, 2], h)
    bulk.insert_columns(conn, Hazard.__table__, {
        "found_at": h_times, "hazard_type": _choice(rng, vocab.HAZARD_TYPES, h),
        "severity": _choice(rng, vocab.HAZARD_SEVERITIES, h), "enterprise_id": _choice(rng, [None, 1, 2, 3], h),
        "station_id": h_station, "park_id": [_choice(rng, [1, None], 1)[0] if s == 1 else None for s in h_station],
        "deadline": [(t + timedelta(days=30)).date() for t in h_times], "status": h_status,
        "rectified_at": [t + timedelta(days=3) if s == "已整改" else None
                         for t, s in zip(h_times, h_status, strict=True)],
        "created_at": [T0] * h, "source": ["local"] * h, "source_id": [f"hzd-{i}" for i in range(h)],
    })


@pytest.fixture
def town(engine):
    with Session(engine) as session:
        _places(session)
        session.commit()
    with engine.begin() as conn:
        _insert_town(conn)
    return engine


def _station3(engine, rows: list[tuple[datetime, str]]) -> None:
    """Hand-made incidents at station 3 (no park, no enterprise): (received_at, category)."""
    with Session(engine) as session:
        session.add_all([Incident(received_at=t, category=c, priority=3, enterprise_related=False, station_id=3,
                                  channel="110", created_at=T0) for t, c in rows])
        session.commit()


# --- the independent count -----------------------------------------------------------------------------

FAMILY_TABLE = {"incidents": ("incidents", "received_at"), "disputes": ("disputes", "reported_at"),
                "hazards": ("hazards", "found_at")}


def frame_of(conn, family: str, columns: str = "*") -> pd.DataFrame:
    table, time_col = FAMILY_TABLE[family]
    raw = pd.read_sql(text(f"SELECT {columns} FROM {table}"), conn)
    out = raw.copy()
    out["day"] = pd.to_datetime(raw[time_col], utc=True, format="mixed").dt.tz_convert(SHANGHAI).dt.date
    for col in ("subcategory", "settled_level"):
        if col in out:
            out[col] = out[col].astype(object).where(out[col].notna(), "")
    if "enterprise_related" in out:
        out["enterprise_related"] = out["enterprise_related"].astype(bool)
    if family == "disputes" and "enterprise_id" in out:
        out["with_enterprise"] = out["enterprise_id"].notna()
    return out


def _py(value):
    return value.item() if hasattr(value, "item") else value


def pandas_counts(frame, window: Window, unit: Unit = TOWN, filters=None, breakdown: str | None = None) -> dict:
    mask = (frame["day"] >= window.first) & (frame["day"] <= window.last)
    if unit.kind != "town":
        mask &= frame[f"{unit.kind}_id"] == unit.id
    for name, value in (filters or {}).items():
        mask &= frame[name].isin(list(value) if isinstance(value, (tuple, list, set)) else [value])
    sel = frame[mask]
    if breakdown is None:
        return {(): len(sel)} if len(sel) else {}
    return {(_py(k),): int(n) for k, n in sel.groupby(breakdown).size().items() if n}


NO_DATA = "no data"  # a window that begins before the family's first record: its counts are unknown


def expected_comparison(frame, windows: dict, unit: Unit, filters=None, breakdown=None) -> dict:
    """{key: (now, year_earlier, before or None, baseline)} from pandas; a window that begins before the first
    row of the whole table (any unit, any filter) counts None (无数据)."""
    first = frame["day"].min() if len(frame) else None
    counted = {name: (None if w is None else NO_DATA if first is None or w.first < first
                      else pandas_counts(frame, w, unit, filters, breakdown)) for name, w in windows.items()}
    keys = (set().union(*(c.keys() for c in counted.values() if isinstance(c, dict))) if breakdown else {()})

    def get(name, key):
        value = counted[name]
        return None if value is NO_DATA else value.get(key, 0)

    return {k: (get("now", k), get("year_earlier", k), None if counted["before"] is None else get("before", k),
                get("baseline", k)) for k in keys}


def observed(result: dict) -> dict:
    return {k: (c.now, c.year_earlier.before, None if c.before is None else c.before.before, c.baseline.before)
            for k, c in result.items()}


def expected_windows(kind: str, today: date, custom: Window | None = None, aligned: bool = False) -> dict:
    window = periods.complete_part(custom, today) if kind == "custom" else periods.period_window(kind, today)
    return {"now": window,
            "year_earlier": (periods.festival_aligned_year_earlier(window) if aligned
                             else periods.year_earlier(window)),
            "before": None if kind == "ytd" else periods.period_before(kind, window),
            "baseline": periods.baseline_window(window, BASELINE)}


UNITS = [TOWN, Unit("station", 1), Unit("station", 2), Unit("park", 1), Unit("enterprise", 1), Unit("enterprise", 3)]
# awkward days: a Tuesday, 1 January (ytd is the whole year before), 31 December, the 1st of a month,
# 1 March after a 29 February, a Monday (the week is the whole week before)
TODAYS = [date(2026, 3, 17), date(2026, 1, 1), date(2025, 12, 31), date(2025, 7, 1), date(2024, 3, 1),
          date(2026, 3, 16)]
CUSTOM = W("2025-12-20", "2026-01-10")


def _check_all(engine, kind: str, todays, checks) -> int:
    """Run compare for every today, unit and (family, filters, breakdown) and check it against pandas."""
    done = 0
    with engine.connect() as conn:
        frames = {f: frame_of(conn, f) for f in FAMILY_TABLE}
        for today in todays:
            windows = expected_windows(kind, today, CUSTOM)
            for unit in UNITS:
                for family, filters, breakdown in checks:
                    result = compare(conn, family, kind, today, BASELINE, unit, filters, breakdown,
                                     custom=CUSTOM if kind == "custom" else None)
                    want = expected_comparison(frames[family], windows, unit, filters, breakdown)
                    assert observed(result) == want, (kind, today, unit, family, filters, breakdown)
                    for c in result.values():
                        assert (c.kind, c.window, c.year_earlier_window, c.before_window, c.baseline_window) == (
                            kind, windows["now"], windows["year_earlier"], windows["before"], windows["baseline"])
                    done += 1
    return done


CHECKS = [
    ("incidents", None, None),
    ("incidents", None, "category"),
    ("incidents", {"category": "刑事"}, "subcategory"),
    ("incidents", None, "enterprise_related"),
    ("disputes", None, "status"),
    ("disputes", {"status": "已化解"}, "settled_level"),
    ("disputes", None, "with_enterprise"),
    ("hazards", None, "severity"),
    ("hazards", {"severity": ("较大", "重大")}, "status"),
]


class TestCompareAgainstPandas:
    @pytest.mark.parametrize("kind", ["week", "28d", "month", "quarter", "ytd", "custom"])
    def test_cmp001_every_unit_and_breakdown(self, town, kind):
        todays = TODAYS if kind != "custom" else TODAYS[:1]
        assert _check_all(town, kind, todays, CHECKS) == len(todays) * len(UNITS) * len(CHECKS)

    def test_cmp002_hand_written_windows_for_month(self, town):
        with town.connect() as conn:
            result = compare(conn, "incidents", "month", date(2026, 3, 17), BASELINE, Unit("station", 1))
        (only,) = result.values()
        assert list(result) == [()]
        assert only.window == W("2026-03-01", "2026-03-16")
        assert only.year_earlier_window == W("2025-03-01", "2025-03-16")
        assert only.before_window == W("2026-02-01", "2026-02-16")
        assert only.baseline_window == W("2024-03-01", "2024-03-16")
        assert only.counts == (only.now, only.year_earlier.before)
        assert only.now >= 16  # at least the daily heartbeat
        assert only.year_earlier.now == only.before.now == only.baseline.now == only.now

    def test_cmp003_ytd_has_no_period_before(self, town):
        with town.connect() as conn:
            result = compare(conn, "incidents", "ytd", date(2026, 3, 17), BASELINE, TOWN, breakdown="category")
        assert result and all(c.before is None and c.before_window is None for c in result.values())
        assert {c.year_earlier_window for c in result.values()} == {W("2025-01-01", "2025-03-16")}
        assert {c.baseline_window for c in result.values()} == {W("2024-01-01", "2024-03-16")}

    def test_cmp004_week_spanning_new_year(self, town):
        with town.connect() as conn:
            result = compare(conn, "incidents", "week", date(2026, 1, 2), BASELINE, Unit("park", 1))
            frame = frame_of(conn, "incidents")
        (only,) = result.values()
        assert (only.window, only.year_earlier_window, only.before_window, only.baseline_window) == (
            W("2025-12-29", "2026-01-01"), W("2024-12-29", "2025-01-01"), W("2025-12-22", "2025-12-25"),
            W("2023-12-29", "2024-01-01"))
        park = frame[frame["park_id"] == 1]

        def count(first, last):
            return int(((park["day"] >= date.fromisoformat(first)) & (park["day"] <= date.fromisoformat(last))).sum())

        assert observed(result) == {(): (count("2025-12-29", "2026-01-01"), count("2024-12-29", "2025-01-01"),
                                         count("2025-12-22", "2025-12-25"), count("2023-12-29", "2024-01-01"))}


class TestFestivalAligned:
    def test_cmp010_festival_aligned_uses_the_shifted_window(self, town):
        today = date(2026, 2, 21)  # the windows end the day before (the to-date rule)
        with town.connect() as conn:
            plain = compare(conn, "incidents", "month", today, BASELINE, TOWN, breakdown="category")
            aligned = compare(conn, "incidents", "month", today, BASELINE, TOWN, breakdown="category",
                              festival_aligned=True)
            frame = frame_of(conn, "incidents")
        # SF 2026-02-17 against SF 2025-01-29: 19 days earlier than plain 同比
        assert {c.year_earlier_window for c in plain.values()} == {W("2025-02-01", "2025-02-20")}
        assert {c.year_earlier_window for c in aligned.values()} == {W("2025-01-13", "2025-02-01")}
        assert {c.before_window for c in aligned.values()} == {W("2026-01-01", "2026-01-20")}
        assert {c.baseline_window for c in aligned.values()} == {W("2024-02-01", "2024-02-20")}
        want = expected_comparison(frame, expected_windows("month", today, aligned=True), TOWN, None, "category")
        assert observed(aligned) == want
        shifted = pandas_counts(frame, W("2025-01-13", "2025-02-01"), TOWN, None, "category")
        assert {k: c.year_earlier.before for k, c in aligned.items()} == {
            k: shifted.get(k, 0) for k in aligned}
        assert sum(c.year_earlier.before for c in aligned.values()) != sum(
            c.year_earlier.before for c in plain.values())
        assert [c.now for c in aligned.values()] == [c.now for c in plain.values()]

    def test_cmp011_outside_jan_feb_festival_aligned_is_plain(self, town):
        with town.connect() as conn:
            plain = compare(conn, "incidents", "month", date(2025, 7, 1), BASELINE, Unit("station", 2))
            aligned = compare(conn, "incidents", "month", date(2025, 7, 1), BASELINE, Unit("station", 2),
                              festival_aligned=True)
        assert observed(plain) == observed(aligned)
        assert aligned[()].year_earlier_window == W("2024-06-01", "2024-06-30")

    def test_cmp012_comparison_windows(self):
        assert comparison_windows("week", date(2026, 2, 19), 2024, festival_aligned=True) == {
            "now": W("2026-02-16", "2026-02-18"), "year_earlier": W("2025-01-28", "2025-01-30"),
            "before": W("2026-02-09", "2026-02-11"), "baseline": W("2024-02-16", "2024-02-18")}
        assert comparison_windows("custom", date(2026, 1, 1), 2023, custom=W("2024-02-29", "2024-03-01")) == {
            "now": W("2024-02-29", "2024-03-01"), "year_earlier": W("2023-02-28", "2023-03-01"),
            "before": W("2024-02-27", "2024-02-28"), "baseline": W("2023-02-28", "2023-03-01")}
        assert comparison_windows("ytd", date(2024, 3, 1), 2022)["before"] is None
        # a custom range that reaches today is cut at yesterday; one that has not begun is refused
        assert comparison_windows("custom", date(2026, 1, 5), 2024, custom=W("2026-01-01", "2026-01-31"))[
            "now"] == W("2026-01-01", "2026-01-04")
        with pytest.raises(periods.NoCompleteDay, match=r"^2026-01-05\.\.2026-01-31 has no complete day yet"):
            comparison_windows("custom", date(2026, 1, 5), 2024, custom=W("2026-01-05", "2026-01-31"))

    def test_cmp013_custom_needs_its_window(self):
        with pytest.raises(ValueError, match=r"^a custom period needs its window$"):
            comparison_windows("custom", date(2026, 1, 1), 2024)
        with pytest.raises(ValueError, match=r"unknown period kind 'day'"):
            comparison_windows("day", date(2026, 1, 1), 2024)


class TestZeroBasesAndBreakdownKeys:
    def test_cmp020_breakdown_keys_from_every_window(self, town):
        # today 2026-03-17, month (to yesterday): now 03-01..03-16, 同比 2025-03-01..03-16, 环比 02-01..02-16,
        # baseline 2024
        _station3(town, [
            (utc(2026, 2, 28, 16), "刑事"),  # 2026-03-01 00:00 Shanghai: now
            (utc(2026, 3, 16, 15, 59, 59, 999999), "刑事"),  # 2026-03-16 23:59:59.999999: now
            (utc(2026, 3, 16, 16), "刑事"),  # 2026-03-17: outside every window
            (utc(2025, 3, 16, 15, 59, 59, 999999), "火灾"),  # 同比 only
            (utc(2026, 2, 16, 15, 59, 59, 999999), "治安"),  # 2026-02-16: 环比 only
            (utc(2026, 2, 16, 16), "群众求助"),  # 2026-02-17: after 环比
            (utc(2024, 2, 29, 16), "其他"),  # 2024-03-01: baseline only
            (utc(2024, 2, 29, 15, 59, 59, 999999), "纠纷"),  # 2024-02-29: nowhere
        ])
        with town.connect() as conn:
            result = compare(conn, "incidents", "month", date(2026, 3, 17), BASELINE, Unit("station", 3),
                             breakdown="category")
        assert list(result) == sorted([("其他",), ("刑事",), ("治安",), ("火灾",)], key=str)
        assert observed(result) == {("刑事",): (2, 0, 0, 0), ("火灾",): (0, 1, 0, 0), ("治安",): (0, 0, 1, 0),
                                    ("其他",): (0, 0, 0, 1)}
        assert result[("刑事",)].year_earlier.pct is None
        assert result[("刑事",)].before.pct is None
        assert result[("刑事",)].year_earlier.diff == 2
        assert result[("火灾",)].year_earlier.pct == -100.0
        assert result[("火灾",)].before.pct is None  # 0 against 0
        assert result[("治安",)].before.pct == -100.0
        assert result[("其他",)].baseline.pct == -100.0

    def test_cmp021_zero_base_pct_is_none_with_a_breakdown(self, town):
        # 2025-03-20 lies after the 28-day 同比 window (2025-02-17..2025-03-16): in no window at all
        _station3(town, [(utc(2026, 3, 10, 4), "刑事"), (utc(2026, 3, 11, 4), "刑事"), (utc(2025, 3, 20, 4), "治安")])
        with town.connect() as conn:
            result = compare(conn, "incidents", "week", date(2026, 3, 17), BASELINE, Unit("station", 3),
                             breakdown="category")
            by_type = compare(conn, "incidents", "28d", date(2026, 3, 17), BASELINE, Unit("station", 3),
                              breakdown="category")
        assert result == {}  # the week 03-16..03-16 holds none of these and neither do its windows
        assert observed(by_type) == {("刑事",): (2, 0, 0, 0)}
        change = by_type[("刑事",)].year_earlier
        assert (change.now, change.before, change.pct, change.diff) == (2, 0, None, 2)
        assert by_type[("刑事",)].baseline.pct is None

    def test_cmp022_zero_base_pct_is_none_for_an_enterprise_total(self, town):
        # Enterprise units read the source table, so a total over empty windows is fine.
        with Session(town) as session:
            session.add(Enterprise(id=9, name="新企业", credit_code=credit_code("91330509MA2B3C4D5"), sector="电商直播",
                                   station_id=3, lat=30.8, lon=120.2, address="织里镇"))
            session.add(Incident(received_at=utc(2026, 3, 2, 4), category="刑事", priority=1, enterprise_related=True,
                                 enterprise_id=9, station_id=3, channel="110", created_at=T0))
            session.commit()
        with town.connect() as conn:
            result = compare(conn, "incidents", "month", date(2026, 3, 17), BASELINE, Unit("enterprise", 9))
            empty = compare(conn, "incidents", "month", date(2025, 3, 17), BASELINE, Unit("enterprise", 9))
        assert observed(result) == {(): (1, 0, 0, 0)}
        assert result[()].year_earlier.pct is None and result[()].baseline.pct is None
        assert observed(empty) == {(): (0, 0, 0, 0)}
        assert empty[()].year_earlier.pct is None

    def test_cmp023_zero_base_pct_is_none_for_a_station_total(self, town):
        _station3(town, [(utc(2026, 3, 10, 4), "刑事"), (utc(2026, 3, 11, 4), "刑事")])
        with town.connect() as conn:
            result = compare(conn, "incidents", "month", date(2026, 3, 17), BASELINE, Unit("station", 3))
        assert observed(result) == {(): (2, 0, 0, 0)}
        assert result[()].year_earlier.pct is None

    def test_cmp024_unit_counts_for_each_unit_kind(self, town):
        window = W("2025-02-15", "2025-04-10")
        with town.connect() as conn:
            frame = frame_of(conn, "incidents")
            for unit in UNITS + [Unit("park", 2), Unit("enterprise", 2)]:
                assert unit_counts(conn, "incidents", window, unit, None, ("category",)) == pandas_counts(
                    frame, window, unit, None, "category"), unit


class TestCoverage:
    def test_cmp025_a_window_before_the_first_record_has_no_data_not_zero(self, town):
        # the crafted data begin on 2023-12-01: a 同比 of 2024-02 compares with 2023-02, which is not covered
        with town.connect() as conn:
            result = compare(conn, "incidents", "month", date(2024, 3, 1), BASELINE, Unit("station", 1))
            early = compare(conn, "incidents", "custom", date(2026, 1, 1), BASELINE,
                            custom=W("2023-11-20", "2023-12-10"))
            assert compstat.covered_total(conn, "incidents", W("2023-11-30", "2023-12-31")) is None
            assert compstat.covered_total(conn, "incidents", W("2023-12-01", "2023-12-31")) > 0
        (only,) = result.values()
        assert only.now > 0 and only.year_earlier.before is None and only.year_earlier.missing
        assert (only.year_earlier.pct, only.year_earlier.z, only.year_earlier.diff) == (None, None, None)
        assert only.year_earlier.significance == "none"
        assert only.before.before is not None  # 2024-01 is covered
        # a custom range reaching before the first record: the period itself has no data
        (whole,) = early.values()
        assert whole.now is None and whole.year_earlier.significance == "none"

    def test_cmp026_an_empty_family_has_no_data_at_all(self, engine):
        with engine.connect() as conn:
            result = compare(conn, "hazards", "28d", date(2026, 3, 17), BASELINE, breakdown="severity",
                             keys=[("一般",)])
        assert list(result) == [("一般",)]
        assert result[("一般",)].now is None and result[("一般",)].baseline.missing


# --- the full-scale demo (read-only) -------------------------------------------------------------------

_DEMO_FRAMES: dict[str, pd.DataFrame] = {}


def _demo_frame(engine) -> pd.DataFrame:
    key = engine.url.render_as_string(hide_password=True)
    if key not in _DEMO_FRAMES:
        with engine.connect() as conn:
            _DEMO_FRAMES[key] = frame_of(conn, "incidents", "received_at, category, station_id")
    return _DEMO_FRAMES[key]


@pytest.mark.slow
class TestDemo:
    @pytest.mark.parametrize("kind", ["ytd", "week", "month"])
    def test_cmp040_demo_category_counts_equal_pandas(self, demo_engine, kind):
        settings = DemoSettings.load(demo_engine)
        today, baseline = settings.seed_day, periods.default_baseline_year(settings.programme_start)
        frame = _demo_frame(demo_engine)
        window = periods.period_window(kind, today)
        windows = {"now": window, "year_earlier": periods.year_earlier(window),
                   "before": None if kind == "ytd" else periods.period_before(kind, window),
                   "baseline": periods.baseline_window(window, baseline)}
        with demo_engine.connect() as conn:
            for unit in (TOWN, Unit("station", 2)):
                result = compare(conn, "incidents", kind, today, baseline, unit, breakdown="category")
                want = expected_comparison(frame, windows, unit, None, "category")
                assert observed(result) == want, unit
                # not vacuous, except for a week that began hours ago (a Monday just after midnight in Shanghai)
                assert sum(v[0] for v in want.values()) > 0 or (kind == "week" and today.weekday() == 0)
                total = compare(conn, "incidents", kind, today, baseline, unit)
                assert observed(total) == expected_comparison(frame, windows, unit)

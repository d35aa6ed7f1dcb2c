"""data.counts.measures: medians, shares, settlement, rectification, overdue hazards and criminal losses.

Every measure is checked twice on crafted rows: against hand-written values, and against an independent
recomputation in plain Python (statistics.median_low, Decimal sums) from the rows read back from the
database. The demo test recomputes the year-to-date dispute and hazard measures with pandas.
"""

from __future__ import annotations

import random
import statistics
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from data.core import vocab
from data.core.periods import Window, period_window
from data.core.schema import Dispute, Enterprise, Hazard, Incident, Park, Station
from data.core.scope import TOWN, Unit
from data.counts.measures import (
    CriminalCases,
    DisputeMeasures,
    HazardMeasures,
    OverdueHazard,
    dispute_measures,
    enterprise_criminal_cases,
    hazard_measures,
    lower_median,
    median_arrival_minutes,
    median_z,
    overdue_hazards,
    proportion_z,
    rectify_days,
    share,
)
from data.demo.generator import DemoSettings

UTC = UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2020, 1, 1, tzinfo=UTC)
D = date.fromisoformat


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def W(first: str, last: str) -> Window:
    return Window(date.fromisoformat(first), date.fromisoformat(last))


def credit_code(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


# --- pure helpers --------------------------------------------------------------------------------------

class TestLowerMedian:
    def test_msr001_empty_is_none(self):
        assert lower_median({}) is None
        assert lower_median({5: 0, 9: 0}) is None

    def test_msr002_odd_count_is_the_middle(self):
        assert lower_median({7: 1}) == 7
        assert lower_median({1: 1, 3: 1, 7: 1}) == 3
        assert lower_median({9: 1, 1: 1, 3: 1}) == 3  # key order does not matter
        assert lower_median({0: 2, 4: 1, 100: 2}) == 4

    def test_msr003_even_count_is_the_lower_middle(self):
        assert lower_median({1: 1, 3: 1, 7: 1, 9: 1}) == 3
        assert lower_median({2: 2, 10: 2}) == 2
        assert lower_median({5: 1, 6: 1}) == 5
        assert lower_median({-1: 0, 0: 3, 600: 3}) == 0

    def test_msr004_zero_counts_are_skipped(self):
        assert lower_median({1: 0, 5: 1}) == 5
        assert lower_median({1: 0, 5: 1, 8: 1, 20: 0}) == 5

    def test_msr005_matches_median_low_on_random_samples(self):
        rng = random.Random(20260316)
        for _ in range(300):
            sample = [rng.randint(0, 40) for _ in range(rng.randint(1, 30))]
            histogram: dict[int, int] = {}
            for value in sample:
                histogram[value] = histogram.get(value, 0) + 1
            assert lower_median(histogram) == statistics.median_low(sample), sample


class TestShare:
    def test_msr010_zero_base_is_none(self):
        assert share(0, 0) is None
        assert share(3, 0) is None

    def test_msr011_plain_fractions(self):
        assert share(0, 5) == 0.0
        assert share(1, 4) == 0.25
        assert share(3, 8) == 0.375
        assert share(2, 3) == pytest.approx(2 / 3, rel=1e-15)
        assert share(7, 7) == 1.0


# --- the crafted rows ----------------------------------------------------------------------------------

def _places(session: Session) -> None:
    session.add_all([Station(id=i, code=f"S{i}", name=f"派出所{i}", polygon_geojson="{}", centre_lat=30.8,
                             centre_lon=120.2) for i in (1, 2, 3)])
    session.flush()
    session.add_all([Park(id=1, name="园区1", station_id=1, lat=30.8, lon=120.2),
                     Park(id=2, name="园区2", station_id=2, lat=30.8, lon=120.2)])
    session.flush()
    session.add_all([
        Enterprise(id=1, name="企业1", credit_code=credit_code("91330501MA2B3C4D5"), sector="童装生产", park_id=1,
                   station_id=1, lat=30.8, lon=120.2, address="织里镇"),
        Enterprise(id=2, name="企业2", credit_code=credit_code("91330502MA2B3C4D5"), sector="物流仓储", park_id=2,
                   station_id=2, lat=30.8, lon=120.2, address="织里镇"),
    ])
    session.flush()


# id, received_at, arrived_at, category, enterprise_related, station, park, enterprise, loss, recovered
# (Shanghai day; whole minutes to arrival with each time truncated to the second)
INCIDENTS = [
    (1, utc(2025, 2, 28, 16), utc(2025, 2, 28, 16, 7, 59, 999999), "刑事", True, 1, 1, 1,
     Decimal("1000.00"), Decimal("200.00")),  # 03-01, 7
    (2, utc(2025, 3, 5, 2, 0, 0, 999999), utc(2025, 3, 5, 2, 3), "刑事", True, 1, 1, 1, Decimal("500.50"),
     None),  # 03-05, 3 (raw 2.98 min)
    (3, utc(2025, 3, 10, 6), utc(2025, 3, 10, 6, 13), "治安", False, 1, None, None, None, None),  # 03-10, 13
    (4, utc(2025, 3, 12, 6), None, "刑事", True, 2, 2, 2, None, None),  # 03-12, no arrival
    (5, utc(2025, 3, 20, 6), utc(2025, 3, 20, 5, 59), "交通事故", False, 2, 2, None, None, None),  # 03-20, 0
    (6, utc(2025, 3, 31, 15, 59, 59, 999999), utc(2025, 3, 31, 16, 20, 59, 500000), "刑事", True, 2, None, 2,
     Decimal("300.00"), Decimal("300.00")),  # 03-31, 21
    (7, utc(2025, 3, 31, 16), utc(2025, 3, 31, 16, 1), "刑事", True, 1, 1, 1, Decimal("9999.00"),
     Decimal("1.00")),  # 04-01, 1
    (8, utc(2025, 2, 28, 15, 59, 59, 999999), utc(2025, 2, 28, 16, 5), "刑事", True, 1, 1, 1,
     Decimal("7777.00"), None),  # 02-28, 5
    (9, utc(2025, 3, 15, 4), utc(2025, 3, 15, 16), "火灾", True, 1, 1, 1, None, None),  # 03-15, 720 -> 600
    (10, utc(2025, 3, 18, 4), utc(2025, 3, 18, 4, 12), "刑事", False, 3, None, None, Decimal("50.00"),
     None),  # 03-18, 12, not enterprise related
    (11, utc(2025, 3, 25, 10), utc(2025, 3, 25, 10, 30), "刑事", True, 1, 1, 1, Decimal("0.10"),
     Decimal("0.05")),  # 03-25, 30
    (12, utc(2025, 3, 26, 10), None, "刑事", True, 2, 2, 2, Decimal("0.20"), Decimal("0.10")),  # 03-26
]

# id, reported_at, status, settled_level, settled_at, station, park, enterprise (Shanghai day; whole days)
DISPUTES = [
    (1, utc(2025, 3, 31, 16), "已化解", "企业内", utc(2025, 4, 2, 21), 1, 1, 1),  # 04-01, 2
    (2, utc(2025, 4, 2, 2), "已化解", "园区", utc(2025, 4, 2, 22), 1, 1, 1),  # 04-02, 0
    (3, utc(2025, 4, 3, 2), "已化解", "派出所", utc(2025, 4, 9, 2), 2, None, None),  # 04-03, 6
    (4, utc(2025, 4, 5, 2), "未化解", None, None, 2, None, None),  # 04-05
    (5, utc(2025, 4, 6, 2), "未化解", "企业内", None, 1, 1, 1),  # 04-06: tried in house, not settled
    (6, utc(2025, 4, 7, 2), "调解中", None, None, 1, None, None),  # 04-07: open
    (7, utc(2025, 4, 8, 2), "已化解", "调解中心", utc(2025, 4, 24, 1, 59, 59, 900000), 3, None, None),  # 04-08, 15
    (8, utc(2025, 4, 30, 15, 59, 59, 999999), "已化解", "企业内", utc(2025, 5, 1, 15, 59, 59, 1), 2, 2, 2),  # 04-30, 1
    (9, utc(2025, 4, 30, 16), "已化解", "企业内", utc(2025, 5, 2, 16), 2, 2, 2),  # 05-01, 2
    (10, utc(2025, 4, 20, 2), "已化解", "诉讼", None, 1, None, None),  # 04-20: settled without a settle time
]

# id, found_at, status, rectified_at, deadline, station, park, enterprise, hazard_type, severity
HAZARDS = [
    (1, utc(2025, 5, 31, 16), "已整改", utc(2025, 6, 5), D("2025-06-10"), 1, 1, 1, "消防", "重大"),  # 06-01
    (2, utc(2025, 6, 3, 2), "待整改", None, D("2025-06-10"), 1, 1, 1, "用电", "一般"),
    (3, utc(2025, 6, 5, 2), "待整改", None, D("2025-06-20"), 2, None, 2, "危化品", "较大"),
    (4, utc(2025, 6, 30, 15, 59, 59, 999999), "已整改", utc(2025, 7, 1), D("2025-07-31"), 2, 2, None, "其他",
     "一般"),  # 06-30
    (5, utc(2025, 6, 30, 16), "待整改", None, D("2025-06-15"), 3, None, None, "生产安全", "重大"),  # 07-01
    (6, utc(2024, 12, 1, 2), "待整改", None, D("2024-12-31"), 2, 2, 2, "三合一住人", "较大"),
    (7, utc(2025, 6, 10, 2), "待整改", None, D("2025-06-19"), 1, None, 1, "特种设备", "一般"),
    (8, utc(2025, 6, 12, 2), "已整改", utc(2025, 6, 13), D("2025-06-01"), 1, 1, 1, "消防", "一般"),
    (9, utc(2025, 6, 2, 2), "待整改", None, D("2025-06-10"), 2, None, None, "用电", "重大"),
]


@pytest.fixture
def crafted(engine):
    with Session(engine) as session:
        _places(session)
        for (id_, received, arrived, category, related, station, park, enterprise, loss, recovered) in INCIDENTS:
            session.add(Incident(id=id_, received_at=received, arrived_at=arrived, category=category, priority=1,
                                 enterprise_related=related, station_id=station, park_id=park,
                                 enterprise_id=enterprise, loss_amount=loss, recovered_amount=recovered,
                                 channel="110", created_at=T0))
        for (id_, reported, status, level, settled, station, park, enterprise) in DISPUTES:
            session.add(Dispute(id=id_, reported_at=reported, dispute_type="劳资", status=status, settled_level=level,
                                settled_at=settled, station_id=station, park_id=park, enterprise_id=enterprise,
                                created_at=T0))
        for (id_, found, status, rectified, deadline, station, park, enterprise, htype, severity) in HAZARDS:
            session.add(Hazard(id=id_, found_at=found, status=status, rectified_at=rectified, deadline=deadline,
                               station_id=station, park_id=park, enterprise_id=enterprise, hazard_type=htype,
                               severity=severity, created_at=T0))
        session.commit()
    return engine


def _local_day(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def _in(unit: Unit, row) -> bool:
    return unit.kind == "town" or getattr(row, f"{unit.kind}_id") == unit.id


def _whole(start: datetime, end: datetime, unit_seconds: int, cap: int) -> int:
    seconds = (end.replace(microsecond=0) - start.replace(microsecond=0)).total_seconds()
    return int(min(cap, max(0, seconds // unit_seconds)))


def _rows(engine, model):
    with Session(engine) as session:
        return session.scalars(select(model).order_by(model.id)).all()


UNITS = [TOWN, Unit("station", 1), Unit("station", 2), Unit("station", 3), Unit("park", 1), Unit("park", 2),
         Unit("enterprise", 1), Unit("enterprise", 2)]
MARCH, APRIL, JUNE = W("2025-03-01", "2025-03-31"), W("2025-04-01", "2025-04-30"), W("2025-06-01", "2025-06-30")


# --- receive-to-arrival ---------------------------------------------------------------------------------

def independent_median_minutes(engine, window: Window, unit: Unit, category: str | None = None) -> int | None:
    minutes = [_whole(r.received_at, r.arrived_at, 60, 600) for r in _rows(engine, Incident)
               if r.arrived_at is not None and window.first <= _local_day(r.received_at) <= window.last
               and _in(unit, r) and (category is None or r.category == category)]
    return statistics.median_low(minutes) if minutes else None


class TestArrival:
    def test_msr020_hand_values(self, crafted):
        with crafted.connect() as conn:
            # March: 0, 3, 7, 12, 13, 21, 30, 600 -> the 4th smallest
            assert median_arrival_minutes(conn, MARCH) == 12
            assert median_arrival_minutes(conn, MARCH, Unit("station", 1)) == 13  # 3, 7, 13, 30, 600
            assert median_arrival_minutes(conn, MARCH, Unit("station", 2)) == 0  # 0, 21
            assert median_arrival_minutes(conn, MARCH, Unit("park", 1)) == 7  # 3, 7, 30, 600
            assert median_arrival_minutes(conn, MARCH, Unit("enterprise", 1)) == 7  # 7, 3, 600, 30
            assert median_arrival_minutes(conn, MARCH, Unit("enterprise", 2)) == 21
            assert median_arrival_minutes(conn, MARCH, filters={"category": "刑事"}) == 12  # 3, 7, 12, 21, 30
            assert median_arrival_minutes(conn, W("2025-03-31", "2025-03-31")) == 21
            assert median_arrival_minutes(conn, W("2025-04-01", "2025-04-01")) == 1
            assert median_arrival_minutes(conn, W("2025-02-28", "2025-02-28")) == 5

    def test_msr021_no_arrival_gives_none(self, crafted):
        with crafted.connect() as conn:
            assert median_arrival_minutes(conn, W("2025-06-01", "2025-06-30")) is None
            assert median_arrival_minutes(conn, W("2025-03-12", "2025-03-12")) is None  # received, not arrived
            assert median_arrival_minutes(conn, MARCH, Unit("park", 2)) == 0  # incident 4 has no arrival

    def test_msr022_equals_the_independent_median(self, crafted):
        with crafted.connect() as conn:
            for window in (MARCH, W("2025-02-28", "2025-04-01"), W("2025-03-05", "2025-03-20"), APRIL):
                for unit in UNITS:
                    assert median_arrival_minutes(conn, window, unit) == independent_median_minutes(
                        crafted, window, unit), (window, unit)
                assert median_arrival_minutes(conn, window, filters={"category": "刑事"}) == \
                    independent_median_minutes(crafted, window, TOWN, "刑事")


# --- disputes -----------------------------------------------------------------------------------------

def independent_disputes(engine, window: Window, unit: Unit) -> DisputeMeasures:
    rows = [r for r in _rows(engine, Dispute) if window.first <= _local_day(r.reported_at) <= window.last
            and _in(unit, r)]
    closed = [r for r in rows if r.status in ("已化解", "未化解")]
    settled = [r for r in rows if r.status == "已化解"]
    in_house = [r for r in settled if r.settled_level in ("企业内", "园区")]
    unknown = [r for r in settled if not r.settled_level]  # settled, level not recorded: cannot be placed
    base = len(closed) - len(unknown)
    days = [_whole(r.reported_at, r.settled_at, 86400, 400) for r in settled if r.settled_at is not None]
    return DisputeMeasures(
        reported=len(rows), closed=len(closed), settled_in_house=len(in_house),
        in_house_share=None if (unknown and len(unknown) == len(settled)) or not base else len(in_house) / base,
        median_days_to_settle=statistics.median_low(days) if days else None,
        by_level={level: sum(1 for r in settled if r.settled_level == level) for level in vocab.SETTLED_LEVELS},
        level_unknown=len(unknown))


class TestDisputes:
    def test_msr030_hand_values_for_the_town(self, crafted):
        with crafted.connect() as conn:
            result = dispute_measures(conn, APRIL)
        # reported: 1..8 and 10 (9 is 1 May in Shanghai); closed: 6 settled + 2 unsettled;
        # in house: 1 (企业内), 2 (园区), 8 (企业内); 5 was tried in house but not settled.
        assert result == DisputeMeasures(
            reported=9, closed=8, settled_in_house=3, in_house_share=0.375, median_days_to_settle=2,
            by_level={"企业内": 2, "园区": 1, "派出所": 1, "调解中心": 1, "诉讼": 1})  # days 0, 1, 2, 6, 15

    def test_msr031_hand_values_for_units(self, crafted):
        with crafted.connect() as conn:
            station1 = dispute_measures(conn, APRIL, Unit("station", 1))
            enterprise1 = dispute_measures(conn, APRIL, Unit("enterprise", 1))
            may = dispute_measures(conn, W("2025-05-01", "2025-05-31"), Unit("enterprise", 2))
        assert station1 == DisputeMeasures(5, 4, 2, 0.5, 0, {"企业内": 1, "园区": 1, "派出所": 0, "调解中心": 0,
                                                             "诉讼": 1})
        assert enterprise1.reported == 3 and enterprise1.closed == 3 and enterprise1.settled_in_house == 2
        assert enterprise1.in_house_share == pytest.approx(2 / 3, rel=1e-15)
        assert enterprise1.median_days_to_settle == 0  # 2 and 0 days: the lower median
        assert may == DisputeMeasures(1, 1, 1, 1.0, 2, {"企业内": 1, "园区": 0, "派出所": 0, "调解中心": 0, "诉讼": 0})

    def test_msr032_nothing_closed_gives_none(self, crafted):
        with crafted.connect() as conn:
            open_only = dispute_measures(conn, W("2025-04-07", "2025-04-07"))
            nothing = dispute_measures(conn, W("2025-08-01", "2025-08-31"))
        assert open_only == DisputeMeasures(1, 0, 0, None, None, dict.fromkeys(vocab.SETTLED_LEVELS, 0))
        assert nothing == DisputeMeasures(0, 0, 0, None, None, dict.fromkeys(vocab.SETTLED_LEVELS, 0))

    def test_msr033_equals_the_independent_computation(self, crafted):
        with crafted.connect() as conn:
            for window in (APRIL, W("2025-03-31", "2025-05-01"), W("2025-04-01", "2025-04-06"),
                           W("2025-04-30", "2025-04-30")):
                for unit in UNITS:
                    assert dispute_measures(conn, window, unit) == independent_disputes(crafted, window, unit), (
                        window, unit)


    def test_msr034_no_settlement_level_recorded_is_no_data_not_zero(self, crafted):
        """A real export with no 化解层级 column: the share is unknown (无数据), never 0.0%."""
        with crafted.begin() as conn:
            conn.execute(text("UPDATE disputes SET settled_level = NULL"))
        with crafted.connect() as conn:
            result = dispute_measures(conn, APRIL)
        assert result.closed == 8 and result.settled_in_house == 0 and result.level_unknown == 6
        assert result.in_house_share is None
        assert result == independent_disputes(crafted, APRIL, TOWN)

    def test_msr035_a_level_missing_on_some_is_left_out_of_the_base(self, crafted):
        with crafted.begin() as conn:
            conn.execute(text("UPDATE disputes SET settled_level = NULL WHERE id IN (3, 7)"))  # 派出所, 调解中心
        with crafted.connect() as conn:
            result = dispute_measures(conn, APRIL)
        # closed 8, of which 2 settled without a level: 3 in house of the 6 that can be placed
        assert (result.closed, result.level_unknown, result.settled_in_house) == (8, 2, 3)
        assert result.in_house_share == 0.5 == independent_disputes(crafted, APRIL, TOWN).in_house_share


# --- hazards --------------------------------------------------------------------------------------------

def independent_hazards(engine, window: Window, unit: Unit) -> HazardMeasures:
    rows = [r for r in _rows(engine, Hazard) if window.first <= _local_day(r.found_at) <= window.last and _in(unit, r)]
    rectified = sum(1 for r in rows if r.status == "已整改")

    def median(selected):
        days = [_whole(r.found_at, r.rectified_at, 86400, 400) for r in selected if r.rectified_at is not None]
        return statistics.median_low(days) if days else None

    return HazardMeasures(len(rows), rectified, rectified / len(rows) if rows else None, median(rows),
                          {sev: median([r for r in rows if r.severity == sev]) for sev in vocab.HAZARD_SEVERITIES})


def _rate(h: HazardMeasures) -> tuple:
    return h.found, h.rectified, h.rectification_rate


def independent_overdue(engine, today: date, unit: Unit) -> list[OverdueHazard]:
    rows = sorted((r for r in _rows(engine, Hazard) if r.status == "待整改" and r.deadline < today and _in(unit, r)),
                  key=lambda r: (r.deadline, r.id))
    return [OverdueHazard(r.id, r.enterprise_id, r.station_id, r.hazard_type, r.severity, r.deadline,
                          (today - r.deadline).days) for r in rows]


class TestHazards:
    def test_msr040_hand_values(self, crafted):
        with crafted.connect() as conn:
            # June in Shanghai: 1 (found 31 May UTC), 2, 3, 4 (30 Jun 23:59:59 Shanghai), 7, 8, 9; not 5 (1 Jul)
            assert _rate(hazard_measures(conn, JUNE)) == (7, 3, 3 / 7)
            assert _rate(hazard_measures(conn, JUNE, Unit("station", 1))) == (4, 2, 0.5)
            assert _rate(hazard_measures(conn, JUNE, Unit("park", 1))) == (3, 2, 2 / 3)
            assert _rate(hazard_measures(conn, JUNE, Unit("enterprise", 2))) == (1, 0, 0.0)
            assert _rate(hazard_measures(conn, W("2025-07-01", "2025-07-31"))) == (1, 0, 0.0)
            assert _rate(hazard_measures(conn, W("2025-08-01", "2025-08-31"))) == (0, 0, None)

    def test_msr040a_days_to_rectify_hand_values(self, crafted):
        # rectified in June: 1 (found 06-01 00:00, fixed 06-05 08:00 Shanghai: 4 days, 重大), 4 (found 06-30
        # 23:59:59.999999, fixed 07-01 08:00: 0 days, 一般), 8 (found 06-12 10:00, fixed 06-13 08:00: 0 days, 一般)
        with crafted.connect() as conn:
            june = hazard_measures(conn, JUNE)
            station1 = hazard_measures(conn, JUNE, Unit("station", 1))
            august = hazard_measures(conn, W("2025-08-01", "2025-08-31"))
        assert june.median_days_to_rectify == 0  # 0, 0, 4: the lower median
        assert june.median_days_by_severity == {"一般": 0, "较大": None, "重大": 4}
        assert station1.median_days_to_rectify == 0 and station1.median_days_by_severity["重大"] == 4
        assert august.median_days_to_rectify is None and set(august.median_days_by_severity.values()) == {None}

    def test_msr041_equals_the_independent_computation(self, crafted):
        with crafted.connect() as conn:
            for window in (JUNE, W("2024-12-01", "2025-07-31"), W("2025-05-31", "2025-06-01"),
                           W("2025-06-30", "2025-07-01")):
                for unit in UNITS:
                    assert hazard_measures(conn, window, unit) == independent_hazards(crafted, window, unit), (
                        window, unit)

    def test_msr042_overdue_hand_values(self, crafted):
        with crafted.connect() as conn:
            result = overdue_hazards(conn, D("2025-06-20"))
        # open with a deadline before today, most overdue first, ties by id; 3 is due today: not overdue
        assert [(h.id, h.deadline, h.days_overdue) for h in result] == [
            (6, D("2024-12-31"), 171), (2, D("2025-06-10"), 10), (9, D("2025-06-10"), 10),
            (5, D("2025-06-15"), 5), (7, D("2025-06-19"), 1)]
        assert result[0] == OverdueHazard(6, 2, 2, "三合一住人", "较大", D("2024-12-31"), 171)
        assert result[2] == OverdueHazard(9, None, 2, "用电", "重大", D("2025-06-10"), 10)

    def test_msr043_overdue_unit_filter_and_limit(self, crafted):
        today = D("2025-06-20")
        with crafted.connect() as conn:
            assert [h.id for h in overdue_hazards(conn, today, Unit("station", 2))] == [6, 9]
            assert [h.id for h in overdue_hazards(conn, today, Unit("station", 1))] == [2, 7]
            assert [h.id for h in overdue_hazards(conn, today, Unit("park", 2))] == [6]
            assert [h.id for h in overdue_hazards(conn, today, Unit("enterprise", 1))] == [2, 7]
            assert [h.id for h in overdue_hazards(conn, today, Unit("enterprise", 2))] == [6]
            assert [h.id for h in overdue_hazards(conn, today, limit=2)] == [6, 2]
            assert [(h.id, h.days_overdue) for h in overdue_hazards(conn, D("2025-06-10"))] == [(6, 161)]
            assert overdue_hazards(conn, D("2024-12-31")) == []

    def test_msr044_overdue_equals_the_independent_computation(self, crafted):
        with crafted.connect() as conn:
            for today in (D("2024-12-31"), D("2025-01-01"), D("2025-06-11"), D("2025-06-20"), D("2026-01-01")):
                for unit in UNITS:
                    assert overdue_hazards(conn, today, unit) == independent_overdue(crafted, today, unit), (
                        today, unit)

    def test_msr045_rectifying_drops_it_from_overdue(self, crafted):
        with Session(crafted) as session:
            hazard = session.get(Hazard, 2)
            hazard.status, hazard.rectified_at = "已整改", utc(2025, 6, 19, 8)
            session.commit()
        with crafted.connect() as conn:
            assert [h.id for h in overdue_hazards(conn, D("2025-06-20"))] == [6, 9, 5, 7]
            assert hazard_measures(conn, JUNE) == HazardMeasures(7, 4, 4 / 7, 0, {"一般": 0, "较大": None, "重大": 4})
            # found 06-03 10:00, rectified 06-19 16:00 Shanghai: 16 days, counted through the update trigger
            assert rectify_days(conn, JUNE) == {0: 2, 4: 1, 16: 1}
            assert rectify_days(conn, JUNE, severity="一般") == {0: 2, 16: 1}


# --- the year-earlier comparison of the measures --------------------------------------------------------

class TestMeasureChanges:
    def test_msr070_proportion_z_by_hand(self):
        # 30/100 against 20/100: pooled 0.25, se = sqrt(0.25 * 0.75 * 0.02) = 0.0612372; z = 0.1 / se
        assert proportion_z(30, 100, 20, 100) == pytest.approx(1.6329932, rel=1e-6)
        assert proportion_z(20, 100, 30, 100) == pytest.approx(-1.6329932, rel=1e-6)
        assert proportion_z(0, 0, 3, 10) is None and proportion_z(3, 10, 0, 0) is None
        assert proportion_z(5, 5, 7, 7) == 0.0  # both all: no variance, no change

    def test_msr071_median_z_is_moods_test(self):
        now, before = {1: 40, 10: 60}, {1: 70, 10: 30}  # pooled lower median 1: above it 60% against 30%
        assert median_z(now, before) == pytest.approx(proportion_z(60, 100, 30, 100), rel=1e-12)
        assert median_z(now, before) > 4
        assert median_z({}, before) is None and median_z(now, {}) is None

    def test_msr072_operational_measures_equal_the_independent_computation(self, crafted):
        from data.counts.measures import operational_measures  # noqa: PLC0415

        # the crafted rows lie in 2025 and are the base of June 2026, which holds one hazard (7 days, 重大)
        with Session(crafted) as session:
            session.add(Hazard(id=100, found_at=utc(2026, 6, 2, 2), status="已整改", rectified_at=utc(2026, 6, 9, 2),
                               deadline=D("2026-06-30"), station_id=1, park_id=1, enterprise_id=1,
                               hazard_type="消防", severity="重大", created_at=T0))
            session.commit()
        june_2026 = W("2026-06-01", "2026-06-30")
        with crafted.connect() as conn:
            for unit in UNITS:
                got = {m.key: m for m in operational_measures(conn, june_2026, JUNE, unit)}
                want = independent_hazards(crafted, JUNE, unit)
                now = independent_hazards(crafted, june_2026, unit)
                assert got["rectify_days"].before == want.median_days_to_rectify, unit
                assert got["rectify_days"].now == now.median_days_to_rectify, unit
                for sev in vocab.HAZARD_SEVERITIES:
                    assert got[f"rectify_days:{sev}"].before == want.median_days_by_severity[sev], (unit, sev)
                assert got["rectification_rate"].before == want.rectification_rate, unit
                assert got["rectification_rate"].n_before == want.found, unit
            town = {m.key: m for m in operational_measures(conn, APRIL, MARCH)}
        assert town["in_house_share"].now == 0.375 and town["in_house_share"].before is None  # no disputes in March
        assert town["in_house_share"].significance == "none" and town["in_house_share"].diff is None
        assert town["settle_days"].now == 2
        assert town["arrival_minutes"].before == independent_median_minutes(crafted, MARCH, TOWN)


# --- enterprise-related criminal cases ------------------------------------------------------------------

def independent_cases(engine, window: Window, unit: Unit) -> CriminalCases:
    rows = [r for r in _rows(engine, Incident) if window.first <= _local_day(r.received_at) <= window.last
            and r.category == "刑事" and r.enterprise_related and _in(unit, r)]
    return CriminalCases(len(rows), sum((r.loss_amount or Decimal(0) for r in rows), Decimal(0)),
                         sum((r.recovered_amount or Decimal(0) for r in rows), Decimal(0)))


class TestCriminalCases:
    def test_msr050_hand_values(self, crafted):
        with crafted.connect() as conn:
            # March: 1, 2, 4, 6, 11, 12 (10 is not enterprise related; 7 and 8 fall outside in Shanghai)
            assert enterprise_criminal_cases(conn, MARCH) == CriminalCases(6, Decimal("1800.80"), Decimal("500.15"))
            assert enterprise_criminal_cases(conn, MARCH, Unit("station", 1)) == CriminalCases(
                3, Decimal("1500.60"), Decimal("200.05"))
            assert enterprise_criminal_cases(conn, MARCH, Unit("enterprise", 2)) == CriminalCases(
                3, Decimal("300.20"), Decimal("300.10"))
            assert enterprise_criminal_cases(conn, MARCH, Unit("park", 2)) == CriminalCases(
                2, Decimal("0.20"), Decimal("0.10"))
            assert enterprise_criminal_cases(conn, APRIL) == CriminalCases(1, Decimal("9999.00"), Decimal("1.00"))
            assert enterprise_criminal_cases(conn, W("2025-02-28", "2025-02-28")) == CriminalCases(
                1, Decimal("7777.00"), Decimal("0"))

    def test_msr051_no_cases_is_zero(self, crafted):
        with crafted.connect() as conn:
            result = enterprise_criminal_cases(conn, W("2025-06-01", "2025-06-30"))
            none_related = enterprise_criminal_cases(conn, MARCH, Unit("station", 3))
        assert result == CriminalCases(0, Decimal(0), Decimal(0))
        assert isinstance(result.loss, Decimal) and isinstance(result.recovered, Decimal)
        assert none_related == CriminalCases(0, Decimal(0), Decimal(0))  # incident 10 is not enterprise related

    def test_msr052_equals_the_independent_computation(self, crafted):
        with crafted.connect() as conn:
            for window in (MARCH, APRIL, W("2025-02-28", "2025-04-01"), W("2025-03-26", "2025-03-31")):
                for unit in UNITS:
                    got = enterprise_criminal_cases(conn, window, unit)
                    assert got == independent_cases(crafted, window, unit), (window, unit)
                    assert all(isinstance(v, Decimal) for v in (got.loss, got.recovered))


# --- the full-scale demo (read-only) -------------------------------------------------------------------

def _demo_frame(conn, sql: str, time_cols: tuple[str, ...], main: str) -> pd.DataFrame:
    frame = pd.read_sql(text(sql), conn)
    for col in time_cols:
        frame[col] = pd.to_datetime(frame[col], utc=True, format="mixed")
    frame["day"] = frame[main].dt.tz_convert(SHANGHAI).dt.date
    return frame


@pytest.mark.slow
class TestDemo:
    def test_msr060_demo_ytd_dispute_and_hazard_measures_equal_pandas(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        window = period_window("ytd", today)
        with demo_engine.connect() as conn:
            dsp = _demo_frame(conn, "SELECT reported_at, status, settled_level, settled_at, station_id FROM disputes",
                              ("reported_at", "settled_at"), "reported_at")
            hzd = _demo_frame(conn, "SELECT found_at, status, station_id FROM hazards", ("found_at",), "found_at")
            for unit in (TOWN, Unit("station", 2)):
                d = dsp[(dsp["day"] >= window.first) & (dsp["day"] <= window.last)]
                h = hzd[(hzd["day"] >= window.first) & (hzd["day"] <= window.last)]
                if unit.kind == "station":
                    d, h = d[d["station_id"] == unit.id], h[h["station_id"] == unit.id]
                closed = d[d["status"].isin(["已化解", "未化解"])]
                settled = d[d["status"] == "已化解"]
                in_house = int(settled["settled_level"].isin(["企业内", "园区"]).sum())
                timed = settled[settled["settled_at"].notna()]
                seconds = (timed["settled_at"].dt.floor("s") - timed["reported_at"].dt.floor("s")).dt.total_seconds()
                days = sorted(int(v) for v in (seconds // 86400).clip(lower=0, upper=400))
                expected = DisputeMeasures(
                    reported=len(d), closed=len(closed), settled_in_house=in_house,
                    in_house_share=in_house / len(closed) if len(closed) else None,
                    median_days_to_settle=statistics.median_low(days) if days else None,
                    by_level={lv: int((settled["settled_level"] == lv).sum()) for lv in vocab.SETTLED_LEVELS})
                got = dispute_measures(conn, window, unit)
                assert got.reported > 0 and got.closed > 0 and got.median_days_to_settle is not None
                assert got == expected, unit
                rectified = int((h["status"] == "已整改").sum())
                assert _rate(hazard_measures(conn, window, unit)) == (
                    len(h), rectified, rectified / len(h) if len(h) else None), unit
                assert len(h) > 0

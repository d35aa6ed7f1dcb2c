"""The enterprise profile: identity, index history and receipt, masked events and counts, on both backends.

Crafted rows in the empty schema check every number against an independent count; the full demo
(read-only) checks the same on realistic data; the page functions are checked without a browser.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import plotly.utils
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from stdnum.cn import uscc

from data.core import db
from data.core.schema import Dispute, Enterprise, Hazard, Incident, Park, Station, Team
from data.demo.generator import DemoSettings
from data.index import safety_index as si
from data.screens import enterprise as ent
from figures.enterprise import index_figure
from layouts import ids

UTC = UTC
SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2020, 1, 1, tzinfo=UTC)
TODAY = date(2026, 6, 15)
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
SURNAMES = ("司马", "诸葛", "欧阳", "上官", "东方", "慕容", "皇甫")
GIVEN = ("建国", "明华", "秀英", "志强", "丽娟")


def credit_code(body17: str) -> str:
    return body17 + uscc.calc_check_digit(body17)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


BUSY, QUIET, OTHER = 1, 2, 3
BUSY_CODE = credit_code("91330502MA2B3C4D5")
QUIET_CODE = credit_code("91330502MA2B3C4E6")
CATEGORIES = ("刑事", "治安", "纠纷", "群众求助", "交通事故", "火灾", "电信网络诈骗", "其他")


def _busy_incidents() -> list[dict]:
    rows = []
    for k in range(60):  # one every 15 days from January 2024: more than the 50 the profile lists
        received = utc(2024, 1, 10, 2) + timedelta(days=15 * k, minutes=k)
        rows.append(dict(received_at=received, category=CATEGORIES[k % 8], caller_name=SURNAMES[k % 7] + GIVEN[k % 5],
                         caller_phone=f"138{k:08d}", address=f"织里镇大港路{k + 1}号{k % 4 + 1}幢",
                         closed_at=None if k % 7 == 0 else received + timedelta(hours=1)))
    # the edges of the year-to-date windows (Shanghai days): 2026-01-01 00:00 is this year, the second
    # before it is not; 2025-06-15 23:30 is in last year's window, 2025-06-16 00:10 is not
    for received in (utc(2025, 12, 31, 16), utc(2025, 12, 31, 15, 59, 59), utc(2025, 6, 15, 15, 30),
                     utc(2025, 6, 15, 16, 10)):
        rows.append(dict(received_at=received, category="治安", caller_name="令狐冲天",
                         caller_phone="+86 139-1234-5678",
                         address="织里镇珍贝路88号", closed_at=received + timedelta(minutes=30)))
    return rows


BUSY_DISPUTES = [
    (utc(2026, 5, 2, 3), "劳资", "张三丰等3人；湖州测试童装有限公司", 4, "已化解", "企业内", utc(2026, 5, 3)),
    (utc(2026, 3, 2, 3), "经济", "李四光；王五福", 2, "调解中", None, None),
    (utc(2025, 9, 9, 9), "劳资", "欧阳修文等12人；湖州测试童装有限公司", 13, "未化解", None, None),
    (utc(2025, 4, 1, 1), "邻里", None, 2, "已化解", "园区", utc(2025, 4, 2)),
]
BUSY_HAZARDS = [  # found, severity, deadline, status, rectified
    (utc(2026, 4, 1, 2), "较大", date(2026, 6, 1), "待整改", None),  # overdue
    (utc(2026, 6, 1, 2), "一般", date(2026, 6, 30), "待整改", None),  # open, in time
    (utc(2026, 6, 5, 2), "一般", TODAY, "待整改", None),  # due today: not yet overdue
    (utc(2025, 11, 1, 2), "重大", date(2025, 11, 20), "已整改", utc(2025, 11, 10)),
]


@pytest.fixture
def world(engine):
    """Two stations, a park, a busy enterprise, a quiet one (no events, no head count) and another."""
    with Session(engine) as s:
        s.add_all([Station(id=1, code="ZD", name="织东派出所", polygon_geojson="{}", centre_lat=30.84,
                           centre_lon=120.27),
                   Station(id=2, code="ZB", name="织北派出所", polygon_geojson="{}", centre_lat=30.86,
                           centre_lon=120.26)])
        s.flush()
        s.add(Park(id=1, name="大港路童装产业园", station_id=1, lat=30.845, lon=120.271))
        s.flush()
        s.add_all([
            Enterprise(id=BUSY, name="湖州测试童装有限公司", credit_code=BUSY_CODE, sector="童装生产", workers=20,
                       park_id=1, station_id=1, lat=30.845, lon=120.271, address="织里镇大港路12号3幢",
                       network_unit_class="快递物流", registered_on=date(2012, 3, 4)),
            Enterprise(id=QUIET, name="湖州安静物流有限公司", credit_code=QUIET_CODE, sector="物流仓储", workers=None,
                       park_id=None, station_id=2, lat=30.861, lon=120.262, address="织里镇中华路8号"),
            Enterprise(id=OTHER, name="湖州邻居面料有限公司", credit_code=credit_code("91330502MA2B3C4F7"),
                       sector="面辅料", workers=5, park_id=1, station_id=1, lat=30.846, lon=120.272,
                       address="织里镇大港路14号"),
        ])
        s.flush()
        s.add_all([Team(enterprise_id=BUSY, team_type="安全巡防队", established_on=date(2025, 3, 1), members=12),
                   Team(enterprise_id=BUSY, team_type="矛盾调处队", established_on=date(2026, 2, 10), members=5),
                   Team(enterprise_id=OTHER, team_type="宣传引导队", established_on=date(2025, 1, 1), members=3)])
        for k, row in enumerate(_busy_incidents()):
            s.add(Incident(priority=1 + k % 3, enterprise_related=True, enterprise_id=BUSY, station_id=1, park_id=1,
                           channel="110", created_at=T0, source="test", source_id=f"i{k}", **row))
        for k in range(5):
            s.add(Incident(received_at=utc(2026, 2, 1 + k, 3), category="刑事", priority=1, enterprise_related=True,
                           enterprise_id=OTHER, station_id=1, park_id=1, channel="110", caller_name="西门吹雪",
                           caller_phone="13700001111", created_at=T0, source="test", source_id=f"o{k}"))
        for k, (reported, dtype, parties, count, status, level, settled) in enumerate(BUSY_DISPUTES):
            s.add(Dispute(reported_at=reported, dispute_type=dtype, enterprise_id=BUSY, station_id=1, park_id=1,
                          parties=parties, party_count=count, amount=Decimal("1234.00"), settled_level=level,
                          mediator="企业调解员", status=status, settled_at=settled, created_at=T0, source="test",
                          source_id=f"d{k}"))
        s.add(Dispute(reported_at=utc(2026, 1, 5), dispute_type="经济", enterprise_id=OTHER, station_id=1,
                      parties="南宫问天；湖州邻居面料有限公司", status="调解中", created_at=T0, source="test",
                      source_id="od"))
        for k, (found, severity, deadline, status, rectified) in enumerate(BUSY_HAZARDS):
            s.add(Hazard(found_at=found, hazard_type="消防", severity=severity, enterprise_id=BUSY, station_id=1,
                         park_id=1, description="消防通道堵塞", deadline=deadline, status=status,
                         rectified_at=rectified, created_at=T0, source="test", source_id=f"h{k}"))
        s.add(Hazard(found_at=utc(2026, 1, 1), hazard_type="用电", severity="一般", enterprise_id=OTHER, station_id=1,
                     deadline=date(2026, 1, 10), status="待整改", created_at=T0, source="test", source_id="oh"))
        s.commit()
    return engine


# --- helpers: independent counts and a walk over every string ------------------------------------------

def _strings(value) -> list[str]:
    """Every string inside a profile (dataclasses, dicts, sequences), floats and dates left out."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [s for f in dataclasses.fields(value) for s in _strings(getattr(value, f.name))]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _as_utc(value) -> datetime:
    if isinstance(value, str):  # SQLite keeps naive UTC text
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _shanghai_days(engine, table: str, column: str, enterprise_id: int) -> list[date]:
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {column} FROM {table} WHERE enterprise_id = :e"), {"e": enterprise_id})
        return [_as_utc(r[0]).astimezone(SHANGHAI).date() for r in rows]


def _ytd_counts(days: list[date], today: date) -> tuple[int, int]:
    """The year to yesterday (the to-date rule) and the same days a year earlier."""
    end = today - timedelta(days=1)
    this_year = sum(1 for d in days if date(end.year, 1, 1) <= d <= end)
    leap_day = (end.month, end.day) == (2, 29)
    last_day = date(end.year - 1, 2, 28) if leap_day else end.replace(year=end.year - 1)
    last_year = sum(1 for d in days if date(end.year - 1, 1, 1) <= d <= last_day)
    return this_year, last_year


def _sql_counts(engine, enterprise_id: int, today: date) -> dict:
    """Totals, statuses and hazard states by plain SQL."""
    q = {
        "incidents": "SELECT COUNT(*) FROM incidents WHERE enterprise_id = :e",
        "incidents_open": "SELECT COUNT(*) FROM incidents WHERE enterprise_id = :e AND closed_at IS NULL",
        "disputes": "SELECT COUNT(*) FROM disputes WHERE enterprise_id = :e",
        "hazards": "SELECT COUNT(*) FROM hazards WHERE enterprise_id = :e",
        "hazards_open": "SELECT COUNT(*) FROM hazards WHERE enterprise_id = :e AND rectified_at IS NULL",
        "hazards_overdue": "SELECT COUNT(*) FROM hazards WHERE enterprise_id = :e AND rectified_at IS NULL "
                           "AND deadline < :today",
    }
    day = today if engine.dialect.name != "sqlite" else today.isoformat()
    with engine.connect() as conn:
        out = {k: conn.execute(text(v), {"e": enterprise_id, "today": day}).scalar_one() for k, v in q.items()}
        out["dispute_status"] = dict(conn.execute(text(
            "SELECT status, COUNT(*) FROM disputes WHERE enterprise_id = :e GROUP BY status"),
            {"e": enterprise_id}).all())
    return out


def _assert_counts_match(engine, p: ent.EnterpriseProfile, enterprise_id: int, today: date) -> None:
    sql = _sql_counts(engine, enterprise_id, today)
    assert p.incidents.total == sql["incidents"]
    assert p.incidents.by_status == {"处置中": sql["incidents_open"],
                                     "已办结": sql["incidents"] - sql["incidents_open"]}
    assert p.disputes.total == sql["disputes"]
    assert {k: v for k, v in p.disputes.by_status.items() if v} == sql["dispute_status"]
    assert p.hazards.total == sql["hazards"]
    assert p.summary.open_hazards == sql["hazards_open"]
    assert p.summary.overdue_hazards == sql["hazards_overdue"]
    assert p.hazards.by_status == {"已逾期": sql["hazards_overdue"],
                                   "待整改": sql["hazards_open"] - sql["hazards_overdue"],
                                   "已整改": sql["hazards"] - sql["hazards_open"]}
    assert len(p.incidents.items) == min(50, sql["incidents"])
    assert len(p.disputes.items) == min(50, sql["disputes"])
    assert len(p.hazards.items) == min(50, sql["hazards"])
    now, before = _ytd_counts(_shanghai_days(engine, "incidents", "received_at", enterprise_id), today)
    assert (p.summary.incidents_ytd.now, p.summary.incidents_ytd.before) == (now, before)
    now, before = _ytd_counts(_shanghai_days(engine, "disputes", "reported_at", enterprise_id), today)
    assert (p.summary.disputes_ytd.now, p.summary.disputes_ytd.before) == (now, before)


def _profile(engine, enterprise_id: int, today: date = TODAY):
    with engine.connect() as conn:
        return ent.profile(conn, enterprise_id, today)


def _serialised(component) -> str:
    return json.dumps(component.to_plotly_json(), cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


# --- crafted rows, both backends -----------------------------------------------------------------------

class TestCrafted:
    def test_ent001_identity_fields(self, world):
        p = _profile(world, BUSY)
        i = p.identity
        assert (i.id, i.name, i.credit_code, i.sector, i.workers) == (BUSY, "湖州测试童装有限公司", BUSY_CODE,
                                                                      "童装生产", 20)
        assert (i.park_id, i.park_name, i.station_id, i.station_name) == (1, "大港路童装产业园", 1, "织东派出所")
        assert i.network_unit_class == "快递物流" and i.registered_on == date(2012, 3, 4)
        assert i.address == "织里镇大港路"  # street level only
        assert [(t.team_type, t.established_on, t.members) for t in i.teams] == [
            ("安全巡防队", date(2025, 3, 1), 12), ("矛盾调处队", date(2026, 2, 10), 5)]

    def test_ent002_events_newest_first_limited_and_counted(self, world):
        p = _profile(world, BUSY)
        _assert_counts_match(world, p, BUSY, TODAY)
        assert p.incidents.total == 64 and len(p.incidents.items) == 50
        times = [i.received_at for i in p.incidents.items]
        assert times == sorted(times, reverse=True)
        assert all(t.utcoffset() == timedelta(hours=8) for t in times)  # shown in Shanghai time
        # the 50 listed are the newest 50: the 14 left out are all older than the last one listed
        with world.connect() as conn:
            all_times = sorted((_as_utc(r[0]) for r in conn.execute(text(
                "SELECT received_at FROM incidents WHERE enterprise_id = 1"))), reverse=True)
        assert [t.astimezone(UTC) for t in times] == all_times[:50]
        assert [d.dispute_type for d in p.disputes.items] == ["劳资", "经济", "劳资", "邻里"]
        assert p.disputes.by_status == {"调解中": 1, "已化解": 2, "未化解": 1}
        assert [h.status for h in p.hazards.items] == ["待整改", "待整改", "已逾期", "已整改"]
        assert p.hazards.by_status == {"已逾期": 1, "待整改": 2, "已整改": 1}
        assert p.incidents.by_status == {"处置中": 9, "已办结": 55}

    def test_ent003_personal_data_masked(self, world):
        p = _profile(world, BUSY)
        strings = _strings(p)
        assert strings and not [s for s in strings if PHONE.search(s.replace(" ", "").replace("-", ""))]
        full_names = {s + g for s in SURNAMES for g in GIVEN} | {"令狐冲天", "张三丰", "李四光", "王五福", "欧阳修文"}
        assert not [s for s in strings for n in full_names if n in s]
        first = p.incidents.items[-1]  # the oldest listed, k = 14
        assert first.caller_name == "司***"  # 司马丽娟: only the first character stays
        assert first.caller_phone == "138****0014"
        assert first.place == "织里镇大港路"
        edge = next(i for i in p.incidents.items if i.received_at == utc(2025, 12, 31, 16))
        assert edge.caller_phone == "139****5678" and edge.caller_name == "令***"
        assert [d.parties for d in p.disputes.items] == [
            "张**等3人；湖州测试童装有限公司", "李**；王**", "欧***等12人；湖州测试童装有限公司", None]

    def test_ent004_summary_year_to_date_and_hazards(self, world):
        p = _profile(world, BUSY)
        days = _shanghai_days(world, "incidents", "received_at", BUSY)
        assert (p.summary.incidents_ytd.now, p.summary.incidents_ytd.before) == _ytd_counts(days, TODAY)
        # by hand: 2026-01-01 .. 06-14 and 2025-01-01 .. 06-14 (Shanghai days, to yesterday), edges included
        this_year = [d for d in days if d.year == 2026 and d < TODAY]
        assert p.summary.incidents_ytd.now == len(this_year)
        assert date(2026, 1, 1) in this_year and date(2025, 6, 15) in days and date(2025, 6, 16) in days
        assert (p.summary.open_hazards, p.summary.overdue_hazards) == (3, 1)
        assert (p.summary.disputes_ytd.now, p.summary.disputes_ytd.before) == (2, 1)
        assert p.summary.ytd.first == date(2026, 1, 1) and p.summary.ytd.last == TODAY - timedelta(days=1)

    def test_ent005_quiet_enterprise_without_head_count_or_events(self, world):
        p = _profile(world, QUIET)
        assert p is not None and p.identity.workers is None and p.identity.park_name is None
        assert p.identity.teams == ()
        for events in (p.incidents, p.disputes, p.hazards):
            assert events.items == () and events.total == 0 and set(events.by_status.values()) == {0}
        assert (p.summary.incidents_ytd.now, p.summary.incidents_ytd.before) == (0, 0)
        assert (p.summary.open_hazards, p.summary.overdue_hazards) == (0, 0)
        assert p.history == () and p.receipt is None  # no programme start: the index cannot be computed
        _assert_counts_match(world, p, QUIET, TODAY)

    def test_ent006_unknown_id_is_none(self, world):
        with world.connect() as conn:
            assert ent.profile(conn, 999_999, TODAY) is None
            assert ent.profile(conn, 0, TODAY) is None
            assert ent.profile(conn, -1, TODAY) is None
            assert ent.profile(conn, OTHER, TODAY).identity.name == "湖州邻居面料有限公司"

    def test_ent007_index_history_and_receipt_add_up(self, world):
        months = [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
        with world.begin() as conn:
            db.set_meta(conn, "programme_start", "2025-06-01")
            si.refresh(conn, months, TODAY)
        for enterprise_id in (BUSY, QUIET):
            p = _profile(world, enterprise_id)
            assert [h.month for h in p.history] == months
            r = p.receipt
            assert r is not None and r.month == months[-1]
            assert sum(x["contribution"] for x in r.pillars) == pytest.approx(r.score)
            assert r.score == pytest.approx(p.history[-1].score)
            assert r.band == p.history[-1].band
            assert r.previous_score == pytest.approx(p.history[-2].score)
            assert r.change == pytest.approx(p.history[-1].score - p.history[-2].score)
            for pillar in si.PILLARS:
                assert next(x["score"] for x in r.pillars if x["name"] == pillar) == pytest.approx(
                    getattr(p.history[-1], pillar))
        assert _profile(world, QUIET).receipt.inputs["workers_imputed"] is True

    def test_ent014_the_month_in_progress_is_scored_to_date_and_marked(self, world):
        # The fact behind the mark: a month's indicators run to today while it lasts (the app refreshes it
        # every few minutes), so June's score on 15 June counts 1 July 2025 .. 15 June 2026 only.
        config = si.default_config()
        assert si.month_window(date(2026, 6, 1), config.window_months, TODAY).last == TODAY
        assert si.month_window(date(2026, 5, 1), config.window_months, TODAY).last == date(2026, 5, 31)
        with world.begin() as conn:
            db.set_meta(conn, "programme_start", "2025-06-01")
            si.refresh(conn, [date(2026, 5, 1), date(2026, 6, 1)], TODAY)
        history = _profile(world, BUSY).history
        assert [(h.month, h.through) for h in history] == [(date(2026, 5, 1), None), (date(2026, 6, 1), TODAY)]
        assert history[-1].partial and not history[0].partial
        # refreshed again once June is over, it is a whole month
        with world.begin() as conn:
            si.refresh(conn, [date(2026, 6, 1)], date(2026, 7, 2))
        assert [h.through for h in _profile(world, BUSY, date(2026, 7, 2)).history] == [None, None]


# --- pure functions ------------------------------------------------------------------------------------

class TestPure:
    @pytest.mark.parametrize("raw,masked", [
        ("王建国等3人；湖州某某有限公司", "王**等3人；湖州某某有限公司"),
        ("许英霞；刘刚峰", "许**；刘**"),
        ("王建国、李四等3人；湖州某厂", "王**、李*等3人；湖州某厂"),
        ("湖州甲有限公司；湖州乙有限公司", "湖州甲有限公司；湖州乙有限公司"),
        ("欧阳修", "欧**"),
        (None, None), ("", ""),
    ])
    def test_ent008_dispute_parties_masked_organisations_kept(self, raw, masked):
        assert ent.mask_parties(raw) == masked

    def test_ent009_hazard_status_and_id_parsing(self):
        from web.inputs import parse_id

        assert ent.hazard_status("待整改", date(2026, 6, 14), TODAY) == "已逾期"
        assert ent.hazard_status("待整改", TODAY, TODAY) == "待整改"
        assert ent.hazard_status("已整改", date(2020, 1, 1), TODAY) == "已整改"
        assert [parse_id(x) for x in ("12", "007", "123456789")] == [12, 7, 123456789]
        assert [parse_id(x) for x in ("abc", "", "12a", "-3", "0", "１２", "1234567890", " 12", None)] == [None] * 9


# --- the page, drawn without a browser ------------------------------------------------------------------

class TestLayout:
    def test_ent010_page_draws_profile_chart_receipt_and_empty_states(self, world):
        from layouts import enterprise as page

        with world.begin() as conn:
            db.set_meta(conn, "programme_start", "2025-06-01")
            si.refresh(conn, [date(2026, 5, 1), date(2026, 6, 1)], TODAY)
        busy, quiet = _profile(world, BUSY), _profile(world, QUIET)
        drawn = _serialised(page.page(busy, "zh", demo=False))
        assert "湖州测试童装有限公司" in drawn and BUSY_CODE in drawn
        assert f"{busy.receipt.score:.2f}" in drawn
        for pillar in busy.receipt.pillars:
            assert f"{pillar['contribution']:.2f}" in drawn
        assert "/review?station=1&park=1" in drawn and '"/review?station=1"' in drawn
        assert not PHONE.search(drawn) and "令狐冲天" not in drawn
        figure = index_figure(busy.history, "zh", si.default_config())
        assert len(figure.layout.shapes) == 4  # the four band backgrounds
        assert sorted((s.y0, s.y1) for s in figure.layout.shapes) == [(0, 50), (50, 65), (65, 80), (80, 100)]
        assert busy.history[-1].partial  # June, scored on 15 June: drawn apart (ent015)
        assert list(figure.data[0].y) == [round(h.score, 2) for h in busy.history[:-1]] + [None]
        quiet_zh = _serialised(page.page(quiet, "zh"))
        for empty in ("暂无警情记录", "暂无矛盾纠纷记录", "暂无安全隐患记录", "未登记", "尚未建立自治队伍"):
            assert empty in quiet_zh
        quiet_en = _serialised(page.page(quiet, "en"))
        assert "No incidents recorded" in quiet_en and "Not recorded" in quiet_en and "暂无警情记录" not in quiet_en

    def test_ent015_month_in_progress_drawn_hollow_on_a_dotted_segment(self, world):
        from layouts import enterprise as page

        with world.begin() as conn:
            db.set_meta(conn, "programme_start", "2025-06-01")
            si.refresh(conn, [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)], TODAY)
        busy = _profile(world, BUSY)
        for lang, note in (("zh", "截至6月15日"), ("en", "to 15 Jun")):
            figure = index_figure(busy.history, lang, si.default_config())
            main, partial = figure.data[0], figure.data[-1]
            assert list(main.y) == [round(h.score, 2) for h in busy.history[:2]] + [None]  # the line stops at May
            assert list(partial.x) == ["2026-05-01", "2026-06-01"]  # a segment from May to June
            assert list(partial.y) == [round(busy.history[1].score, 2), round(busy.history[2].score, 2)]
            assert partial.line.dash == "dot" and partial.marker.symbol[-1] == "circle-open"
            assert partial.text[-1] == note and note in partial.hovertemplate[-1]
            assert note not in partial.hovertemplate[0]  # May's point is a whole month
            assert partial.visible is None  # drawn (and kept by the chart download), not legend-only
            drawn = _serialised(page.kpi_strip(busy, lang))
            assert note in drawn  # the change against May is read as to date, too
        whole = dataclasses.replace(busy, history=tuple(dataclasses.replace(h, through=None) for h in busy.history))
        figure = index_figure(whole.history, "zh", si.default_config())
        assert len(figure.data) == 1 + len(si.PILLARS) and None not in figure.data[0].y

    def test_ent011_page_without_index_says_so(self, world):
        from layouts import enterprise as page

        drawn = _serialised(page.page(_profile(world, QUIET), "zh"))
        assert "暂无平安指数记录" in drawn and "本月平安指数暂无法计算" in drawn
        assert ids.ENT_INDEX_CHART not in drawn


class TestEnterprisePage:
    def _app(self, url):
        import app as app_module

        return app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False})

    def test_ent012_malformed_unknown_and_known_ids(self, tmp_path):
        from callbacks.enterprise import enterprise_page
        from data import service

        url = f"sqlite:///{tmp_path / 'one.db'}"
        server = self._app(url)
        with Session(db.engine_of(server)) as s:
            s.add(Station(id=1, code="ZD", name="织东派出所", polygon_geojson="{}", centre_lat=30.8, centre_lon=120.2))
            s.flush()
            s.add(Enterprise(id=5, name="湖州单独有限公司", credit_code=BUSY_CODE, sector="童装生产", station_id=1,
                             lat=30.8, lon=120.2, address="织里镇大港路1号"))
            s.commit()
        service.forget_version()
        with server.test_request_context("/"):
            for raw in ("abc", "", "12a", "１２", "99999999999999999999", "<script>alert(1)</script>"):
                drawn = _serialised(enterprise_page(raw, "zh"))
                assert ids.ENT_NOT_FOUND in drawn and "不是有效的企业编号" in drawn
            drawn = _serialised(enterprise_page("999999", "en"))
            assert ids.ENT_NOT_FOUND in drawn and "There is no enterprise number 999999" in drawn
            drawn = _serialised(enterprise_page("5", "zh"))
            assert "湖州单独有限公司" in drawn and ids.ENT_NOT_FOUND not in drawn and "暂无警情记录" in drawn

    def test_ent013_database_down_gives_a_friendly_message(self):
        from callbacks.enterprise import enterprise_page
        from data import service

        server = self._app("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
        service.forget_version()
        with server.test_request_context("/"):
            drawn = _serialised(enterprise_page("5", "zh"))
        assert ids.ENT_UNAVAILABLE in drawn and "数据库暂时无法连接" in drawn


# --- the full demo, read-only --------------------------------------------------------------------------

def _demo_ids(engine) -> dict:
    with engine.connect() as conn:
        busy = conn.execute(text(
            "SELECT enterprise_id FROM incidents WHERE enterprise_id IS NOT NULL "
            "GROUP BY enterprise_id ORDER BY COUNT(*) DESC, enterprise_id LIMIT 3")).scalars().all()
        quiet = conn.execute(text(
            "SELECT id FROM enterprises e WHERE NOT EXISTS (SELECT 1 FROM incidents i WHERE i.enterprise_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM disputes d WHERE d.enterprise_id = e.id) "
            "AND NOT EXISTS (SELECT 1 FROM hazards h WHERE h.enterprise_id = e.id) ORDER BY id LIMIT 1")).scalar()
        no_workers = conn.execute(text("SELECT id FROM enterprises WHERE workers IS NULL ORDER BY id LIMIT 1")).scalar()
        open_hazards = conn.execute(text(
            "SELECT enterprise_id FROM hazards WHERE enterprise_id IS NOT NULL AND status = '待整改' "
            "GROUP BY enterprise_id ORDER BY COUNT(*) DESC, enterprise_id LIMIT 1")).scalar()
        max_id = conn.execute(text("SELECT MAX(id) FROM enterprises")).scalar()
    return {"busy": busy, "quiet": quiet, "no_workers": no_workers, "open_hazards": open_hazards, "max": max_id}


class TestDemo:
    def test_ent020_identity_and_counts_equal_sql(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        ids = _demo_ids(demo_engine)
        for enterprise_id in [*ids["busy"][:2], ids["open_hazards"]]:
            p = _profile(demo_engine, enterprise_id, today)
            with demo_engine.connect() as conn:
                row = conn.execute(text(
                    "SELECT e.name, e.credit_code, e.sector, e.workers, p.name, s.name, e.network_unit_class "
                    "FROM enterprises e JOIN stations s ON s.id = e.station_id LEFT JOIN parks p ON p.id = e.park_id "
                    "WHERE e.id = :e"), {"e": enterprise_id}).one()
                teams = conn.execute(text("SELECT team_type, members FROM teams WHERE enterprise_id = :e"),
                                     {"e": enterprise_id}).all()
            i = p.identity
            assert (i.name, i.credit_code, i.sector, i.workers, i.park_name, i.station_name,
                    i.network_unit_class) == tuple(row)
            assert sorted((t.team_type, t.members) for t in i.teams) == sorted(map(tuple, teams))
            _assert_counts_match(demo_engine, p, enterprise_id, today)

    def test_ent021_no_phone_or_caller_name_in_busy_profiles(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        for enterprise_id in _demo_ids(demo_engine)["busy"]:
            p = _profile(demo_engine, enterprise_id, today)
            strings = _strings(p)
            assert not [s for s in strings if PHONE.search(s)]
            with demo_engine.connect() as conn:
                names = {r[0] for r in conn.execute(text(
                    "SELECT caller_name FROM incidents WHERE enterprise_id = :e"), {"e": enterprise_id}) if r[0]}
                phones = {r[0] for r in conn.execute(text(
                    "SELECT caller_phone FROM incidents WHERE enterprise_id = :e"), {"e": enterprise_id}) if r[0]}
            listed = {i.caller_name for i in p.incidents.items}
            assert listed and all(n.endswith("*") for n in listed)
            joined = "\n".join(strings)
            assert not [n for n in names if len(n) > 1 and n in joined]
            assert not [ph for ph in phones if ph in joined]
            assert all(i.place is None or "号" not in i.place for i in p.incidents.items)

    def test_ent022_quiet_and_unrecorded_head_count_give_valid_profiles(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        ids = _demo_ids(demo_engine)
        assert ids["quiet"] is not None and ids["no_workers"] is not None
        quiet = _profile(demo_engine, ids["quiet"], today)
        assert quiet.incidents.total == quiet.disputes.total == quiet.hazards.total == 0
        assert quiet.history and quiet.receipt is not None
        _assert_counts_match(demo_engine, quiet, ids["quiet"], today)
        unrecorded = _profile(demo_engine, ids["no_workers"], today)
        assert unrecorded.identity.workers is None
        assert unrecorded.receipt is not None and unrecorded.receipt.inputs["workers_imputed"] is True
        _assert_counts_match(demo_engine, unrecorded, ids["no_workers"], today)
        with demo_engine.connect() as conn:
            assert ent.profile(conn, ids["max"] + 1, today) is None

    def test_ent023_receipt_contributions_sum_to_the_stored_score(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        ids = _demo_ids(demo_engine)
        for enterprise_id in (ids["busy"][0], ids["quiet"], ids["no_workers"]):
            p = _profile(demo_engine, enterprise_id, today)
            r = p.receipt
            assert r.month == p.history[-1].month == si.month_start(today)
            assert sum(x["contribution"] for x in r.pillars) == pytest.approx(r.score)
            assert r.score == pytest.approx(p.history[-1].score)
            assert r.change == pytest.approx(r.score - p.history[-2].score)
            with demo_engine.connect() as conn:
                n = conn.execute(text("SELECT COUNT(*) FROM safety_index WHERE enterprise_id = :e"),
                                 {"e": enterprise_id}).scalar()
            assert len(p.history) == n
            assert [h.month for h in p.history] == sorted(h.month for h in p.history)

"""figures.wall_charts: the wall's chart figures against hand-built numbers (no database, so fast)."""

from __future__ import annotations

import ast
import json
import math
import os
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
import pytest

from data.core.periods import period_window, shift_year
from data.core.scope import Unit
from data.counts.metrics import Change
from data.screens.cockpit import CockpitNumbers
from figures import theme
from figures import wall_charts as wc
from figures.wall_charts import (
    CHART_BUILDERS,
    category_mix_figure,
    hazard_age_figure,
    hourly_figure,
    last30_figure,
    lowest_figure,
    settled_levels_figure,
)

TODAY = date(2026, 11, 29)
SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 29, 6, 9, tzinfo=UTC)  # 14:09 in Shanghai
CURRENT_HOUR = 14
MIN_FONT = 16
CJK = re.compile(r"[\u3400-\u9fff]")
URL = re.compile(r"(?:https?|ftp|file)://|www\.|//[a-z0-9-]+\.[a-z]", re.IGNORECASE)

# Known values, written out by hand (not computed from the module under test).
HOURS_TODAY = [2, 0, 1, 0, 0, 0, 1, 3, 5, 4, 6, 2, 3, 7, 1] + [0] * 9
HOURS_AVG = [0.5, 0.25, 0.125, 0.0, 0.0, 0.375, 1.0, 2.5, 4.0, 4.5, 5.25, 3.0,
             2.75, 3.5, 3.25, 3.0, 2.875, 3.125, 3.5, 2.0, 1.5, 1.25, 1.0, 0.75]
CATEGORIES_TODAY = {"群众求助": 6, "刑事": 1, "治安": 2}
CATEGORIES_WEEK = {"群众求助": 30, "其他": 5, "纠纷": 11, "刑事": 4, "治安": 9, "交通事故": 7, "电信网络诈骗": 2}
VOCAB_ORDER = ["刑事", "治安", "交通事故", "纠纷", "群众求助", "火灾", "电信网络诈骗", "其他"]
LEVELS_SHUFFLED = {"诉讼": 2, "派出所": 12, "企业内": 50, "调解中心": 6, "园区": 30}
LEVEL_ORDER = ["企业内", "园区", "派出所", "调解中心", "诉讼"]
HAZARDS = [
    {"from": 0, "to": 7, "open": 5, "overdue": 0},
    {"from": 8, "to": 15, "open": 3, "overdue": 1},
    {"from": 16, "to": 30, "open": 0, "overdue": 2},
    {"from": 31, "to": 60, "open": 1, "overdue": 4},
    {"from": 61, "to": None, "open": 0, "overdue": 9},
]
LAST30 = [(TODAY - timedelta(days=29 - i), 10 + i) for i in range(30)]
LAST30_BEFORE = [(date(2025, 10, 31) + timedelta(days=i), 100 + 2 * i) for i in range(30)]
TREND = [(date(2025, 11, 1), 73.5), (date(2025, 12, 1), 74.0), (date(2026, 1, 1), 72.25),
         (date(2026, 2, 1), 75.0), (date(2026, 11, 1), 80.125)]
PARKS = [
    {"id": 2, "name": "大港路童装产业园", "score": 55.5, "band": "橙"},
    {"id": 4, "name": "利济路电商园", "score": 61.0, "band": "黄"},
    {"id": 1, "name": "香圩墩园区", "score": 70.25, "band": "黄"},
    {"id": 9, "name": "吴兴大道产业园", "score": 83.0, "band": "蓝"},
    {"id": 5, "name": "晓河工业园", "score": 84.5, "band": "蓝"},
]
ENTERPRISES = [
    {"id": 619, "name": "湖州兔恒绣花有限公司", "score": 34.25, "band": "红"},
    {"id": 195, "name": "湖州甜熊商贸有限公司", "score": 39.5, "band": "红"},
    {"id": 197, "name": "湖州甜熊商贸有限公司", "score": 39.5, "band": "红"},  # same name, another enterprise
    {"id": 732, "name": "湖州爱小商贸有限公司", "score": 48.0, "band": "橙"},
    {"id": 862, "name": "湖州瑞熊贸易有限公司", "score": 52.75, "band": "橙"},
    {"id": 893, "name": "湖州甜亿商贸有限公司", "score": 60.0, "band": "黄"},
    {"id": 1208, "name": "湖州恒金商贸有限公司", "score": 61.5, "band": "黄"},
    {"id": 1055, "name": "湖州甜飞商贸有限公司", "score": 64.0, "band": "黄"},
    {"id": 27, "name": "湖州禾云数码印花有限公司", "score": 79.0, "band": "蓝"},
    {"id": 516, "name": "湖州织里镇锦鑫绣花服饰辅料有限责任公司", "score": 80.0, "band": "蓝"},  # 19 characters
]
BAND_HEX = {"蓝": "#2f80ed", "黄": "#f2c94c", "橙": "#f2994a", "红": "#eb5757"}  # restated, not imported
RED = "#ff5b5b"


def _numbers(**changes) -> CockpitNumbers:
    base = CockpitNumbers(
        today=TODAY, unit=Unit(), at=None, today_total=sum(HOURS_TODAY), today_enterprise=4,
        weekday_avg_total=sum(HOURS_AVG), weekday_avg_enterprise=3.5,
        ytd={k: Change(10, 8) for k in ("incidents", "enterprise_incidents", "traffic_accidents",
                                         "labour_disputes", "enterprise_economic_disputes")},
        ytd_window=period_window("ytd", TODAY), week_window=period_window("week", TODAY),
        in_house_share=0.8, disputes_by_level=dict(LEVELS_SHUFFLED), rectification_rate=0.9,
        overdue_hazards=16, hours_today=list(HOURS_TODAY), hours_weekday_avg=list(HOURS_AVG),
        categories_today=dict(CATEGORIES_TODAY), categories_week=dict(CATEGORIES_WEEK),
        last30=list(LAST30), last30_year_earlier=list(LAST30_BEFORE),
        open_hazards_by_age=[dict(b) for b in HAZARDS], index_trend=list(TREND),
        lowest_parks=[dict(p) for p in PARKS], lowest_enterprises=[dict(e) for e in ENTERPRISES],
    )
    return replace(base, **changes)


def _empty() -> CockpitNumbers:
    return _numbers(today_total=0, today_enterprise=0, weekday_avg_total=0.0, weekday_avg_enterprise=0.0,
                    in_house_share=None, disputes_by_level={}, rectification_rate=None, overdue_hazards=0,
                    hours_today=[], hours_weekday_avg=[], categories_today={}, categories_week={},
                    last30=[], last30_year_earlier=[], open_hazards_by_age=[], index_trend=[],
                    lowest_parks=[], lowest_enterprises=[])


def _zeros() -> CockpitNumbers:
    return _numbers(hours_today=[0] * 24, hours_weekday_avg=[0.0] * 24,
                    categories_today={c: 0 for c in VOCAB_ORDER}, categories_week={},
                    disputes_by_level={lv: 0 for lv in LEVEL_ORDER},
                    last30=[(d, 0) for d, _ in LAST30], last30_year_earlier=[(d, 0) for d, _ in LAST30_BEFORE],
                    open_hazards_by_age=[{**b, "open": 0, "overdue": 0} for b in HAZARDS],
                    index_trend=[(date(2026, 11, 1), 0.0)],
                    lowest_parks=[{**p, "score": 0.0} for p in PARKS])


def _build(name: str, numbers: CockpitNumbers, lang: str = "zh") -> go.Figure:
    if name == "hourly":
        return hourly_figure(numbers, lang, now=NOW)
    return CHART_BUILDERS[name](numbers, lang)


ALL = list(CHART_BUILDERS)
INPUTS = {"full": _numbers, "empty": _empty, "zeros": _zeros}
_BUILT: dict[tuple[str, str, str], go.Figure] = {}


def _figure(name: str, case: str, lang: str) -> go.Figure:
    """One build per (chart, input, language), shared by the read-only checks below."""
    key = (name, case, lang)
    if key not in _BUILT:
        _BUILT[key] = _build(name, INPUTS[case](), lang)
    return _BUILT[key]


def _trace(fig: go.Figure, name: str):
    matches = [tr for tr in fig.data if tr.name == name]
    assert len(matches) == 1, [tr.name for tr in fig.data]
    return matches[0]


def _numbers_in(obj):
    """Every number in a plotly JSON structure."""
    if isinstance(obj, bool):
        return
    if isinstance(obj, (int, float)):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _numbers_in(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _numbers_in(value)


def _strings_in(obj):
    """Every string (keys included) in a JSON structure."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield key
            yield from _strings_in(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from _strings_in(value)


def _strict_json(fig: go.Figure):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")
    return json.loads(fig.to_json(), parse_constant=refuse)


def _texts(fig: go.Figure, names_too: bool = True) -> list[str]:
    """What a reader sees written: trace names, categorical labels, bar texts, tick texts, annotations."""
    out = []
    for tr in fig.data:
        out.append(tr.name or "")
        for attr in ("x", "y", "text"):
            values = getattr(tr, attr, None)
            if values is not None and not isinstance(values, str):
                out.extend(v for v in values if isinstance(v, str))
    layout = fig.to_plotly_json()["layout"]
    for key, axis in layout.items():
        if re.fullmatch(r"[xy]axis\d*", key) and (names_too or not key.startswith("yaxis")):
            out.extend(str(v) for v in axis.get("ticktext") or [])
            out.extend(str(v) for v in axis.get("categoryarray") or [])
    out.extend(a.get("text", "") for a in layout.get("annotations", []))
    return out


class TestHourly:
    def test_wch001_bars_are_todays_counts_up_to_the_current_hour(self):
        fig = hourly_figure(_numbers(), "zh", now=NOW)
        bars = _trace(fig, "今日")
        assert bars.type == "bar"
        assert list(bars.x) == list(range(CURRENT_HOUR + 1))
        assert list(bars.y) == HOURS_TODAY[: CURRENT_HOUR + 1]

    def test_wch002_line_is_the_same_weekday_average_for_all_hours(self):
        fig = hourly_figure(_numbers(), "zh", now=NOW)
        line = _trace(fig, "近8周同日均值")
        assert line.type == "scatter" and line.mode == "lines"
        assert list(line.x) == list(range(24))
        assert list(line.y) == HOURS_AVG

    def test_wch003_a_past_day_has_a_bar_for_every_hour(self):
        hours = [h + 1 for h in range(24)]
        fig = hourly_figure(_numbers(hours_today=hours), "zh", now=NOW + timedelta(days=1))
        assert list(fig.data[0].y) == hours
        assert set(fig.data[0].marker.opacity) == {1.0}

    def test_wch004_the_hour_still_running_is_fainter_and_only_that_one(self):
        opacity = list(hourly_figure(_numbers(), "zh", now=NOW).data[0].marker.opacity)
        assert opacity[CURRENT_HOUR] < 1.0
        assert opacity[:CURRENT_HOUR] == [1.0] * CURRENT_HOUR

    def test_wch005_before_the_first_hour_of_a_later_day_there_are_no_bars(self):
        fig = hourly_figure(_numbers(hours_today=[0] * 24), "zh", now=NOW - timedelta(days=1))
        assert list(fig.data[0].y) == []

    def test_wch006_calls_in_an_hour_after_the_clock_are_not_hidden(self):
        hours = [0] * 24
        hours[16] = 3  # the database's clock is ahead of the web server's
        fig = hourly_figure(_numbers(hours_today=hours), "zh", now=NOW)
        assert list(fig.data[0].y) == hours[:17]

    def test_wch007_hour_ticks_are_written_per_language(self):
        zh = hourly_figure(_numbers(), "zh", now=NOW).layout.xaxis
        en = hourly_figure(_numbers(), "en", now=NOW).layout.xaxis
        assert list(zh.tickvals) == [0, 3, 6, 9, 12, 15, 18, 21]
        assert list(zh.ticktext)[:3] == ["0时", "3时", "6时"]
        assert list(en.ticktext)[:3] == ["00:00", "03:00", "06:00"]
        assert tuple(zh.range) == (-0.5, 23.5)  # the axis does not jump as the day fills

    def test_wch008_short_hour_lists_are_padded_not_misplaced(self):
        fig = hourly_figure(_numbers(hours_today=[4, 5], hours_weekday_avg=[1.5]), "zh", now=NOW)
        assert list(fig.data[0].y) == [4, 5] + [0] * (CURRENT_HOUR - 1)
        assert list(fig.data[1].y) == [1.5] + [0] * 23

    def test_wch009_a_non_finite_average_becomes_a_gap_not_nan(self):
        avg = list(HOURS_AVG)
        avg[3], avg[4] = float("nan"), float("inf")
        fig = hourly_figure(_numbers(hours_weekday_avg=avg), "zh", now=NOW)
        assert fig.data[1].y[3] is None and fig.data[1].y[4] is None
        assert fig.data[1].y[5] == HOURS_AVG[5]


class TestCategoryMix:
    def test_wch010_all_eight_categories_in_vocabulary_order_with_zeros(self):
        fig = category_mix_figure(_numbers(), "zh")
        today, week = _trace(fig, "今日"), _trace(fig, "本周至昨日")  # a Sunday: Monday to Saturday
        assert list(today.y) == VOCAB_ORDER and list(week.y) == VOCAB_ORDER
        assert list(today.x) == [CATEGORIES_TODAY.get(c, 0) for c in VOCAB_ORDER]
        assert list(week.x) == [CATEGORIES_WEEK.get(c, 0) for c in VOCAB_ORDER]
        assert list(today.text) == [str(CATEGORIES_TODAY.get(c, 0)) for c in VOCAB_ORDER]

    def test_wch011_the_first_category_is_drawn_at_the_top(self):
        fig = category_mix_figure(_numbers(), "zh")
        assert list(fig.layout.yaxis.categoryarray) == VOCAB_ORDER
        assert fig.layout.yaxis.autorange == "reversed"
        assert fig.data[0].orientation == "h"

    def test_wch012_today_and_week_have_their_own_scales(self):
        fig = category_mix_figure(_numbers(), "zh")
        assert fig.data[0].xaxis != fig.data[1].xaxis
        assert fig.data[0].yaxis == fig.data[1].yaxis or fig.layout.yaxis2.matches == "y"

    def test_wch013_english_labels(self):
        fig = category_mix_figure(_numbers(), "en")
        assert [tr.name for tr in fig.data] == ["Today", "This week to yesterday"]
        assert list(fig.data[0].y) == ["Criminal", "Public order", "Traffic accident", "Dispute", "Assistance",
                                       "Fire", "Telecom fraud", "Other"]

    def test_wch014a_on_a_monday_the_week_is_last_week(self):
        monday = date(2026, 11, 30)
        fig = category_mix_figure(_numbers(today=monday, week_window=period_window("week", monday)), "zh")
        assert [tr.name for tr in fig.data] == ["今日", "上周"]

    def test_wch014_an_unexpected_category_is_kept_after_the_vocabulary(self):
        fig = category_mix_figure(_numbers(categories_week={**CATEGORIES_WEEK, "走私": 3}), "zh")
        assert list(fig.data[1].y) == [*VOCAB_ORDER, "走私"]
        assert fig.data[1].x[-1] == 3 and fig.data[0].x[-1] == 0


class TestLast30:
    def test_wch015_both_lines_run_over_the_current_dates(self):
        fig = last30_figure(_numbers(), "zh")
        now, before = _trace(fig, "近30天"), _trace(fig, "去年同期")
        days = [d.isoformat() for d, _ in LAST30]
        assert list(now.x) == days[:-1] and list(before.x) == days  # today is drawn apart (wch018)
        assert list(now.y) == [n for _, n in LAST30][:-1]
        assert list(before.y) == [n for _, n in LAST30_BEFORE]
        assert fig.layout.xaxis.type == "date"

    def test_wch016_year_earlier_dates_are_kept_for_the_hover(self):
        fig = last30_figure(_numbers(), "zh")
        assert list(_trace(fig, "去年同期").customdata) == [d.isoformat() for d, _ in LAST30_BEFORE]

    def test_wch017_a_leap_day_in_last_years_window_does_not_shift_the_line(self):
        today = date(2029, 3, 29)  # last 30 days: 2029-02-28 .. 03-29; a year earlier holds 2028-02-29
        current = [(today - timedelta(days=29 - i), i) for i in range(30)]
        earlier = [(date(2028, 2, 28) + timedelta(days=i), 1000 + i) for i in range(31)]
        fig = last30_figure(_numbers(today=today, last30=current, last30_year_earlier=earlier), "zh")
        before = dict(earlier)
        expected = [before[shift_year(d, -1)] for d, _ in current]
        assert list(fig.data[0].y) == expected
        assert fig.data[0].y[1] == 1002  # 1 March against 1 March, not against 29 February

    def test_wch018_todays_point_is_drawn_apart_because_the_day_is_still_running(self):
        at = datetime(2026, 11, 29, 6, 30, tzinfo=SHANGHAI)
        fig = last30_figure(_numbers(at=at), "zh")
        whole, running = _trace(fig, "近30天"), _trace(fig, "截至06:30")
        assert whole.marker.symbol == "circle" and TODAY.isoformat() not in list(whole.x)
        assert list(running.x) == [d.isoformat() for d, _ in LAST30[-2:]]  # from yesterday's point to today's
        assert list(running.y) == [n for _, n in LAST30[-2:]]
        assert running.line.dash == "dot" and running.marker.symbol == "circle-open"
        assert list(running.text) == ["", "截至06:30"] and running.showlegend is False

    def test_wch018a_a_past_day_has_no_running_point(self):
        past = replace(_numbers(), today=TODAY + timedelta(days=1))  # the window ends yesterday
        assert [tr.name for tr in last30_figure(past, "zh").data] == ["去年同期", "近30天"]

    def test_wch019_english_labels_and_date_format(self):
        fig = last30_figure(_numbers(at=datetime(2026, 11, 29, 23, 59, 59, tzinfo=SHANGHAI)), "en")
        assert {tr.name for tr in fig.data} == {"Last 30 days", "Same days last year", "to 23:59"}
        assert "月" not in fig.layout.xaxis.tickformat

    def test_wch020_no_days_gives_a_note_not_an_error(self):
        fig = last30_figure(_empty(), "en")
        assert [a.text for a in fig.layout.annotations] == ["No data yet"]


class TestSettledLevels:
    def test_wch021_levels_are_in_the_fixed_order_whatever_the_input_order(self):
        fig = settled_levels_figure(_numbers(), "zh")
        assert list(fig.layout.yaxis.categoryarray) == LEVEL_ORDER
        assert fig.layout.yaxis.autorange == "reversed"  # 企业内 at the top
        drawn = [y for tr in fig.data for y in tr.y]
        assert sorted(drawn, key=LEVEL_ORDER.index) == LEVEL_ORDER

    def test_wch022_values_equal_the_input(self):
        fig = settled_levels_figure(_numbers(), "zh")
        drawn = {y: x for tr in fig.data for y, x in zip(tr.y, tr.x, strict=True)}
        assert drawn == LEVELS_SHUFFLED

    def test_wch023_in_house_levels_are_a_distinct_trace_and_colour(self):
        fig = settled_levels_figure(_numbers(), "zh")
        inside, outside = _trace(fig, "企业/园区内化解"), _trace(fig, "企业/园区外化解")
        assert list(inside.y) == ["企业内", "园区"]
        assert list(outside.y) == ["派出所", "调解中心", "诉讼"]
        assert inside.marker.color != outside.marker.color

    def test_wch024_bars_show_count_and_share(self):
        fig = settled_levels_figure(_numbers(), "zh")
        assert list(fig.data[0].text) == ["50 · 50%", "30 · 30%"]  # of 100 settled
        assert list(fig.data[1].text) == ["12 · 12%", "6 · 6%", "2 · 2%"]

    def test_wch025_english_labels(self):
        fig = settled_levels_figure(_numbers(), "en")
        assert list(fig.layout.yaxis.categoryarray) == ["In enterprise", "Park", "Police station",
                                                        "Mediation centre", "Court"]

    def test_wch026_no_disputes_still_draws_all_five_levels_at_zero(self):
        fig = settled_levels_figure(_empty(), "zh")
        drawn = {y: x for tr in fig.data for y, x in zip(tr.y, tr.x, strict=True)}
        assert drawn == {lv: 0 for lv in LEVEL_ORDER}
        assert [t for tr in fig.data for t in tr.text] == ["0"] * 5


class TestHazardAge:
    def test_wch027_overdue_is_red_and_equals_the_input(self):
        fig = hazard_age_figure(_numbers(), "zh")
        overdue = _trace(fig, "已逾期")
        assert list(overdue.y) == [b["overdue"] for b in HAZARDS]
        assert overdue.marker.color.lower() == RED == theme.UP.lower()

    def test_wch028_open_values_and_stacking(self):
        fig = hazard_age_figure(_numbers(), "zh")
        assert list(_trace(fig, "未逾期").y) == [b["open"] for b in HAZARDS]
        assert _trace(fig, "未逾期").marker.color.lower() != RED
        assert fig.layout.barmode == "stack"
        assert [tr.name for tr in fig.data] == ["未逾期", "已逾期"]  # overdue on top

    def test_wch029_bucket_labels_in_order(self):
        assert list(hazard_age_figure(_numbers(), "zh").data[0].x) == [
            "0–7天", "8–15天", "16–30天", "31–60天", "超过60天"]
        assert list(hazard_age_figure(_numbers(), "en").data[0].x) == [
            "0–7 days", "8–15 days", "16–30 days", "31–60 days", "Over 60 days"]

    def test_wch030_zero_segments_carry_no_label(self):
        assert list(_trace(hazard_age_figure(_numbers(), "zh"), "已逾期").text) == ["", "1", "2", "4", "9"]

    def test_wch056_only_the_open_ended_bucket_reads_as_over(self):
        buckets = [{"from": 0, "to": 60, "open": 2, "overdue": 0}, {"from": 61, "to": 90, "open": 1, "overdue": 0}]
        fig = hazard_age_figure(_numbers(open_hazards_by_age=buckets), "zh")
        assert list(fig.data[0].x) == ["0–60天", "61–90天"]

    def test_wch031_no_bucket_list_draws_the_standard_buckets_empty(self):
        fig = hazard_age_figure(_empty(), "zh")
        assert len(fig.data[0].x) == 5 and list(fig.data[0].y) == [0] * 5 and list(fig.data[1].y) == [0] * 5


class TestLowest:
    def test_wch032_names_on_the_axis_lowest_first(self):
        fig = lowest_figure(_numbers(), "zh")
        assert list(fig.layout.yaxis.ticktext) == [p["name"] for p in PARKS]
        assert list(fig.layout.yaxis.range) == [4.5, -0.5]  # position 0 (lowest) at the top
        assert list(fig.data[0].y) == list(range(5))

    def test_wch033_scores_and_band_colours(self):
        fig = lowest_figure(_numbers(), "zh")
        parks, enterprises = fig.data
        assert list(parks.x) == [p["score"] for p in PARKS]
        assert list(enterprises.x) == [e["score"] for e in ENTERPRISES]
        assert list(parks.marker.color) == [BAND_HEX[p["band"]] for p in PARKS]
        assert list(enterprises.marker.color) == [BAND_HEX[e["band"]] for e in ENTERPRISES]
        assert list(parks.text) == ["55.5", "61.0", "70.2", "83.0", "84.5"]

    def test_wch034_same_name_twice_still_gives_two_bars(self):
        fig = lowest_figure(_numbers(), "zh")
        assert len(fig.data[1].x) == 10 and list(fig.data[1].y) == list(range(10))
        assert list(fig.layout.yaxis2.ticktext)[1:3] == ["湖州甜熊商贸有限公司"] * 2

    def test_wch035_long_names_are_cut_on_the_axis_but_whole_on_hover(self):
        fig = lowest_figure(_numbers(), "zh")
        label = fig.layout.yaxis2.ticktext[-1]
        assert label.endswith("…") and len(label) <= 14 and ENTERPRISES[-1]["name"].startswith(label[:-1])
        assert fig.data[1].customdata[-1][0] == ENTERPRISES[-1]["name"]

    def test_wch036_unknown_band_is_muted_not_an_error(self):
        fig = lowest_figure(_numbers(lowest_parks=[{"id": 1, "name": "甲园", "score": 50.0, "band": None}]), "zh")
        assert list(fig.data[0].marker.color) == [theme.MUTED]

    def test_wch037_english_block_headings(self):
        fig = lowest_figure(_numbers(), "en")
        assert [a.text for a in fig.layout.annotations] == ["Parks", "Enterprises"]
        assert list(fig.layout.xaxis2.range) == [0, 112]

    def test_wch038_no_index_yet_gives_a_note(self):
        fig = lowest_figure(_empty(), "zh")
        assert "暂无数据" in [a.text for a in fig.layout.annotations]
        assert all(len(tr.x) == 0 for tr in fig.data)


class TestRegistry:
    def test_wch042_registry_maps_the_panel_chart_names(self):
        assert CHART_BUILDERS == {
            "hourly": hourly_figure, "category_mix": category_mix_figure, "last30": last30_figure,
            "settled_levels": settled_levels_figure, "hazard_age": hazard_age_figure, "lowest": lowest_figure,
        }

    def test_wch043_every_chart_the_wall_names_has_a_builder(self):
        wall = pytest.importorskip("layouts.wall")
        wanted = {p.chart for p in getattr(wall, "PANELS", ()) if getattr(p, "chart", None)}
        assert wanted, "the wall names no chart builders"
        assert wanted <= set(CHART_BUILDERS)

    @pytest.mark.parametrize("name", sorted(CHART_BUILDERS))
    def test_wch044_builders_take_numbers_and_language(self, name):
        fig = CHART_BUILDERS[name](_numbers(), "en")  # as the wall calls them (hourly reads the clock)
        assert isinstance(fig, go.Figure) and len(fig.data) >= 1


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("case", sorted(INPUTS))
@pytest.mark.parametrize("name", ALL)
class TestEveryFigure:
    def test_wch045_uses_the_wall_template(self, name, case, lang):
        fig = _figure(name, case, lang)
        assert fig.layout.template == pio.templates[theme.TEMPLATE_NAME]
        assert fig.layout.template.layout.paper_bgcolor == "rgba(0,0,0,0)"

    def test_wch046_serialises_to_strict_json_without_nan_or_inf(self, name, case, lang):
        fig = _figure(name, case, lang)
        data = _strict_json(fig)
        bad = [v for v in _numbers_in(data) if isinstance(v, float) and not math.isfinite(v)]
        assert not bad
        bad = [v for tr in fig.to_plotly_json()["data"] for v in _numbers_in(tr)
               if isinstance(v, float) and not math.isfinite(v)]
        assert not bad

    def test_wch047_contains_no_url(self, name, case, lang):
        # to_json writes "/" as \u002f, so search the decoded strings, not the raw text
        strings = list(_strings_in(_strict_json(_figure(name, case, lang))))
        assert strings
        assert not [s for s in strings if URL.search(s)]

    def test_wch048_fonts_readable_from_five_metres(self, name, case, lang):
        layout = _figure(name, case, lang).to_plotly_json()["layout"]
        axes = [v for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)]
        assert axes
        assert all(a["tickfont"]["size"] >= MIN_FONT for a in axes)
        assert layout["legend"]["font"]["size"] >= MIN_FONT
        assert all(a["font"]["size"] >= MIN_FONT for a in layout.get("annotations", []))
        fig = _figure(name, case, lang)
        assert all(tr.textfont.size >= MIN_FONT for tr in fig.data if getattr(tr, "text", None) is not None)

    def test_wch049_no_title_and_a_stable_uirevision(self, name, case, lang):
        fig = _figure(name, case, lang)
        assert not fig.layout.title.text
        assert fig.layout.uirevision
        assert fig.layout.uirevision == _figure(name, "full", "zh").layout.uirevision  # same across redraws

    def test_wch050_equal_input_gives_equal_output(self, name, case, lang):
        assert _build(name, INPUTS[case](), lang).to_json() == _build(name, INPUTS[case](), lang).to_json()

    def test_wch051_english_switch_leaves_no_chinese_labels(self, name, case, lang):
        fig = _figure(name, case, lang)
        texts = _texts(fig, names_too=name != "lowest")  # park and enterprise names are proper names
        chinese = [s for s in texts if CJK.search(s)]
        if lang == "en":
            assert not chinese
        elif case == "full":
            assert chinese  # the Chinese screen really is Chinese


class TestAcrossFigures:
    def test_wch052_each_chart_has_its_own_uirevision(self):
        revisions = [_build(name, _numbers()).layout.uirevision for name in ALL]
        assert len(set(revisions)) == len(revisions)

    def test_wch053_figures_change_when_the_data_changes(self):
        changed = _numbers(hours_today=[1] * 24, categories_today={"火灾": 9}, disputes_by_level={"诉讼": 1},
                           last30=[(d, 1) for d, _ in LAST30], open_hazards_by_age=[{**HAZARDS[0], "overdue": 7}],
                           lowest_parks=PARKS[:2], index_trend=TREND[:2])
        for name in ALL:
            assert _build(name, changed).to_json() != _build(name, _numbers()).to_json(), name

    def test_wch054_png_preview_of_every_figure(self, tmp_path):
        pytest.importorskip("kaleido")
        out = Path(os.environ.get("EQIAN_CHART_PREVIEW_DIR") or tmp_path)  # set it to keep the previews
        out.mkdir(parents=True, exist_ok=True)
        jobs = [(name, lang) for lang in ("zh", "en") for name in ALL]
        paths = [out / f"wall_{name}_{lang}.png" for name, lang in jobs]
        for path in paths:
            path.unlink(missing_ok=True)  # the batch call reports no error: a figure that fails leaves no file
        # one kaleido browser for all of them (plotly's batch call): write_image starts a browser per image
        pio.write_images([_build(name, _numbers(), lang) for name, lang in jobs], paths,
                         width=[960 for _name, _ in jobs],
                         height=[540 for _name, _ in jobs])
        for path in paths:
            assert path.is_file(), f"no image for {path.name}"
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path.name


def test_wch055_module_imports_no_database_or_dash():
    tree = ast.parse(open(wc.__file__, encoding="utf-8").read())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    assert not {m for m in imported if m.split(".")[0] in ("sqlalchemy", "dash", "flask", "redis")}
    assert "data.core.db" not in imported and "data.service" not in imported

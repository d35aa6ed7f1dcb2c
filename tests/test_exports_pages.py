"""Downloads of the review page's safety-index views, the enterprise profile and the wall (issue 6).

Every download is fetched through the real routes on the scale-1 demo (SQLite) and checked for status, content
type, Chinese file name, and values that equal an independent computation: plain SQL over the base tables
(incidents, disputes, hazards, safety_index, safety_index_units), or, for the funnel's control limits, exact
Poisson tail probabilities computed here with nothing but ``math``. Images: PNG at print size, SVG with its
Chinese as ``<text>``. The number of images rendered is kept small (kaleido costs about 0.3 s an image on a
running browser), and the six wall charts are rendered in one batch.
"""

from __future__ import annotations

import io
import json
import math
import re
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from export_support import client as export_client
from export_support import disposition_name, svg_texts
from sqlalchemy import text

from app import create_app
from data import service
from data.core import db
from data.core.periods import shift_year
from data.core.scope import Unit
from data.core.timeutil import local_today
from data.screens.cockpit import cockpit_numbers
from exports import images as figures_export
from exports import registry
from figures import wall_spec
from figures.strings import t
from layouts import wall as wall_layout

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_CHARTS = ("index-distribution", "index-funnel", "enterprise-index", "wall-hourly", "wall-categories",
              "wall-last30", "wall-levels", "wall-hazards", "wall-lowest")
NEW_TABLES = NEW_CHARTS + ("index-stations", "index-parks", "enterprise-incidents", "enterprise-disputes",
                           "enterprise-hazards", "wall-kpis")
CSV_TYPE, XLSX_TYPE = "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- helpers ------------------------------------------------------------------------------------------------

def _bound(day: date) -> str:
    """Shanghai midnight of ``day`` as the UTC text SQLite stores."""
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _local(stored) -> datetime:
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return moment.replace(tzinfo=UTC).astimezone(SHANGHAI)


def _get(site, url: str, mimetype: str):
    response = site.http.get(url)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    assert response.mimetype == mimetype and response.headers["Cache-Control"] == "no-store"
    return response


def _name(response) -> str:
    return unquote(disposition_name(response))


def _csv(response) -> tuple[pd.DataFrame, dict[str, str]]:
    """The data of a CSV download and its ``# 名称：值`` lines (the title line has no colon)."""
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel and WPS
    lines = {}
    for line in body.decode("utf-8-sig").splitlines():
        if not line.startswith("# "):
            break
        key, sep, value = line[2:].partition("：")
        if sep:
            lines.setdefault(key, value)
    return pd.read_csv(io.BytesIO(body), comment="#"), lines


def _xlsx(response) -> tuple[pd.DataFrame, dict[str, str]]:
    frame = pd.read_excel(io.BytesIO(response.data), sheet_name=0, engine="openpyxl")
    meta = pd.read_excel(io.BytesIO(response.data), sheet_name="筛选条件", engine="openpyxl")
    assert meta.columns.tolist() == ["项目", "值"]
    return frame, dict(zip(meta["项目"], meta["值"].astype(str), strict=True))


def _tail_at_least(y: int, mu: float) -> float:
    """P(Y >= y) for Y ~ Poisson(mu), summed from the pmf in log space."""
    if y <= 0:
        return 1.0
    below = sum(math.exp(k * math.log(mu) - mu - math.lgamma(k + 1)) for k in range(y)) if mu > 0 else 1.0
    return max(0.0, 1.0 - below)


def _tail_at_most(y: int, mu: float) -> float:
    """P(Y <= y) for Y ~ Poisson(mu)."""
    if y < 0:
        return 0.0
    if mu == 0:
        return 1.0
    return min(1.0, sum(math.exp(k * math.log(mu) - mu - math.lgamma(k + 1)) for k in range(y + 1)))


def _components(root):
    """Every Dash component under ``root`` (itself included)."""
    yield root
    yield from root._traverse()


@pytest.fixture(scope="module")
def site(demo_databases):
    """The app on the scale-1 demo with a logged-in client, and the ids the tests look at."""
    engine = demo_databases("sqlite")
    server = create_app({"EQIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                         "EQIAN_SIMULATE": False})
    service.forget_version()
    with engine.connect() as conn:
        station = conn.execute(text("SELECT id FROM stations WHERE name = '织南派出所'")).scalar_one()
        enterprise = conn.execute(text(
            "SELECT i.enterprise_id FROM incidents i WHERE i.enterprise_id IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM disputes d WHERE d.enterprise_id = i.enterprise_id) "
            "AND EXISTS (SELECT 1 FROM hazards h WHERE h.enterprise_id = i.enterprise_id) "
            "GROUP BY i.enterprise_id ORDER BY count(*) DESC, i.enterprise_id LIMIT 1")).scalar_one()
        month = conn.execute(text("SELECT max(month) FROM safety_index WHERE month <= :m"),
                             {"m": local_today().replace(day=1).isoformat()}).scalar_one()[:10]
    yield SimpleNamespace(http=export_client(server), engine=engine, server=server, station=station,
                          enterprise=enterprise, month=month)
    db.engine_of(server).dispose()


# --- the registry and the links (no database) ----------------------------------------------------------------

class TestRegistry:
    def test_xp001_every_new_download_is_one_entry(self):
        assert set(NEW_CHARTS) <= set(registry.CHARTS) and set(NEW_TABLES) <= set(registry.TABLES)
        for name, chart in registry.CHARTS.items():
            assert name in registry.TABLES, f"chart {name} has no data download"
            assert chart.source == registry.TABLES[name].source and chart.source in registry.SOURCES
            assert chart.size[0] == 1000  # 2000 px at the print scale
        for spec in registry.TABLES.values():
            assert spec.source in registry.SOURCES

    def test_xp002_one_link_component_for_every_page(self):
        from layouts.components import download_links

        carried = download_links("index-funnel", ("png", "csv"), "zh")
        links = [c for c in _components(carried) if getattr(c, "className", None) == "download"]
        assert carried.id == "review-download-index-funnel"
        assert [(a.href, getattr(a, "data-export")) for a in links] == [
            ("/export/chart/index-funnel.png", "/export/chart/index-funnel.png"),
            ("/export/table/index-funnel.csv", "/export/table/index-funnel.csv")]
        fixed = download_links("enterprise-index", ("svg", "xlsx"), "zh", query="enterprise=12")
        links = [c for c in _components(fixed) if getattr(c, "className", None) == "download"]
        assert [a.href for a in links] == ["/export/chart/enterprise-index.svg?enterprise=12",
                                           "/export/table/enterprise-index.xlsx?enterprise=12"]
        assert not any(hasattr(a, "data-export") and getattr(a, "data-export") for a in links)


# --- the safety-index views of the review page ---------------------------------------------------------------

def _index_scores(conn, month: str, station: int | None = None, sector: str | None = None):
    sql = ("SELECT e.id, si.score, si.band FROM safety_index si JOIN enterprises e ON e.id = si.enterprise_id "
           "WHERE si.month = :m")
    params = {"m": month}
    if station is not None:
        sql += " AND e.station_id = :s"
        params["s"] = station
    if sector is not None:
        sql += " AND e.sector = :sector"
        params["sector"] = sector
    return conn.execute(text(sql), params).all()


@pytest.mark.slow
class TestIndexDownloads:
    def test_xp010_distribution_csv_equals_sql(self, site):
        response = _get(site, f"/export/table/index-distribution.csv?period=28d&station={site.station}", CSV_TYPE)
        assert _name(response) == f"织南_企业平安指数分布_{local_today().isoformat()}.csv"
        frame, lines = _csv(response)
        assert frame.columns.tolist() == ["分数区间", "下限", "上限", "蓝色", "黄色", "橙色", "红色", "合计"]
        assert lines["单位"] == "织南派出所" and lines["筛选参数"] == f"station={site.station}"
        with site.engine.connect() as conn:
            rows = _index_scores(conn, site.month, site.station)
        expected = {(band, b): 0 for band in "蓝黄橙红" for b in range(20)}
        for _id, score, band in rows:
            expected[(band, min(int(score // 5), 19))] += 1
        for band in "蓝黄橙红":
            assert frame[f"{band}色"].tolist() == [expected[(band, b)] for b in range(20)]
        assert int(frame["合计"].sum()) == len(rows) == int(lines["企业数（有指数）"]) > 0
        assert frame["下限"].tolist() == [5.0 * b for b in range(20)]
        # a sector narrows the enterprises (the unit stays)
        with site.engine.connect() as conn:
            sector = conn.execute(text("SELECT sector FROM enterprises WHERE station_id = :s GROUP BY sector "
                                       "ORDER BY count(*) DESC LIMIT 1"), {"s": site.station}).scalar_one()
            narrowed = _index_scores(conn, site.month, site.station, sector)
        frame, lines = _xlsx(_get(site, f"/export/table/index-distribution.xlsx?station={site.station}"
                                        f"&sector={sector}", XLSX_TYPE))
        assert int(frame["合计"].sum()) == len(narrowed) and lines["行业"] == sector

    def test_xp011_funnel_points_counts_and_control_limits(self, site):
        response = _get(site, f"/export/table/index-funnel.xlsx?station={site.station}", XLSX_TYPE)
        assert _name(response) == f"织南_警情率漏斗图_{local_today().isoformat()}.xlsx"
        frame, lines = _xlsx(response)
        assert frame.columns.tolist() == registry.FUNNEL_COLUMNS
        first, last = re.match(r"(\d{4}-\d\d-\d\d) 至 (\d{4}-\d\d-\d\d)", lines["统计窗口"]).groups()
        with site.engine.connect() as conn:
            ids = set(conn.execute(text("SELECT id FROM enterprises WHERE station_id = :s"),
                                   {"s": site.station}).scalars())
            counts = dict(conn.execute(text(
                "SELECT i.enterprise_id, count(*) FROM incidents i JOIN enterprises e ON e.id = i.enterprise_id "
                "WHERE e.station_id = :s AND i.received_at >= :a AND i.received_at < :b GROUP BY i.enterprise_id"),
                {"s": site.station, "a": _bound(date.fromisoformat(first)),
                 "b": _bound(date.fromisoformat(last) + timedelta(days=1))}).all())
        assert set(frame["企业编号"]) == ids and frame["企业编号"].is_monotonic_increasing
        assert {i: int(n) for i, n in zip(frame["企业编号"], frame["警情数"], strict=True) if n} == counts
        # The centre line from the file's own columns: each exposure is rounded to 6 decimals there, so the
        # recomputed p0 may differ from the printed one by the rounding of every row (and the print's own).
        exposure = frame["暴露量（百人·年）"]
        p0 = frame["警情数"].sum() / exposure.sum()
        printed = float(lines["总体水平（中心线）"].split()[0])
        assert abs(printed - p0) <= p0 * len(exposure) * 5e-7 / exposure.sum() + 5e-7, (printed, p0)
        # each expected count is p0 × its exposure, within the rounding of p0, the exposure and itself (6 places)
        slack = 5e-7 * exposure + 5e-7 * printed + 5e-7 + 1e-9
        assert ((frame["期望警情数"] - printed * exposure).abs() <= slack).all()
        # Each flag is the exact Poisson tail; each limit brackets the count where that tail crosses its level.
        flags = {"高于99.8%控制限": 0, "高于95%控制限": 0}
        for row in frame.itertuples(index=False):
            y, mu = int(row[5]), float(row[7])
            above, below = _tail_at_least(y, mu), _tail_at_most(y, mu)
            flag = row[13]
            expected = ("高于99.8%控制限" if above <= 0.001 else "高于95%控制限" if above <= 0.025 else
                        "低于99.8%控制限" if below <= 0.001 else "低于95%控制限" if below <= 0.025 else "控制限以内")
            assert flag == expected, (row[0], y, mu, above, below)
            flags[flag] = flags.get(flag, 0) + 1
            exposure = float(row[6])
            for column, level in ((10, 0.025), (12, 0.001)):  # 95%上限, 99.8%上限 (rates)
                upper = float(row[column]) * exposure
                if abs(upper - round(upper)) < 1e-4:
                    continue  # on an integer: rounding could tip ceil() either way
                k = math.ceil(upper)  # the smallest count above the limit
                assert _tail_at_least(k, mu) <= level < _tail_at_least(k - 1, mu), (row[0], column, upper, mu)
        assert flags["高于95%控制限"] + flags["高于99.8%控制限"] > 0  # the demo plants unusual enterprises

    def test_xp012_rankings_equal_the_unit_index(self, site):
        frame, lines = _csv(_get(site, "/export/table/index-stations.csv?period=month", CSV_TYPE))
        assert lines["单位"] == "全镇"
        previous = (date.fromisoformat(site.month) - timedelta(days=1)).replace(day=1).isoformat()
        with site.engine.connect() as conn:
            now = dict(conn.execute(text("SELECT unit_id, score FROM safety_index_units WHERE unit_kind = 'station' "
                                         "AND month = :m"), {"m": site.month}).all())
            before = dict(conn.execute(text("SELECT unit_id, score FROM safety_index_units "
                                            "WHERE unit_kind = 'station' AND month = :m"), {"m": previous}).all())
            parks = dict(conn.execute(text(
                "SELECT u.unit_id, u.score FROM safety_index_units u JOIN parks p ON p.id = u.unit_id "
                "WHERE u.unit_kind = 'park' AND u.month = :m AND p.station_id = :s"),
                {"m": site.month, "s": site.station}).all())
        assert dict(zip(frame["编号"], frame["平安指数"], strict=True)) == {k: round(v, 2) for k, v in now.items()}
        assert dict(zip(frame["编号"], frame["上月指数"], strict=True)) == {k: round(before[k], 2) for k in now}
        assert frame["平安指数"].is_monotonic_decreasing and frame["名次"].tolist() == list(range(1, len(now) + 1))
        assert frame["名次变化"].tolist() == (frame["上月名次"] - frame["名次"]).tolist()
        park_frame, lines = _xlsx(_get(site, f"/export/table/index-parks.xlsx?station={site.station}", XLSX_TYPE))
        assert dict(zip(park_frame["编号"], park_frame["平安指数"], strict=True)) == {
            k: round(v, 2) for k, v in parks.items()}
        assert lines["园区范围"] == "织南派出所"

    def test_xp013_index_charts_print_png_and_svg_text(self, site):
        today = local_today().isoformat()
        png = _get(site, f"/export/chart/index-distribution.png?station={site.station}", "image/png")
        assert figures_export.png_size(png.data) == (2000, 840)  # 1000 × 420 CSS px at scale 2
        assert _name(png) == f"织南_企业平安指数分布_{today}.png"
        svg = _get(site, f"/export/chart/index-funnel.svg?station={site.station}&period=week", "image/svg+xml")
        assert _name(svg) == f"织南_警情率漏斗图_{today}.svg"
        texts = svg_texts(svg.data)
        assert any(s.startswith("织南派出所 · 警情率漏斗图") for s in texts)
        assert "99.8% 控制限" in texts and "从业人数（对数刻度）" in texts
        assert b"<image" not in svg.data  # the points are vector marks, not a WebGL bitmap

    def test_xp014_the_index_sections_carry_their_links(self, site):
        from data.index import index_views
        from data.screens.review import from_query
        from layouts.index_views import parts

        with site.engine.connect() as conn:
            views = index_views.index_views(conn, local_today(), from_query(f"station={site.station}"))
        drawn = parts(views, "zh")
        roots = [child for (_id, prop), value in drawn.items() if prop == "children" for child in value]
        found = {c.id: c for root in roots for c in _components(root)
                 if getattr(c, "id", None) and str(c.id).startswith("review-download-")}
        assert set(found) == {"review-download-index-distribution", "review-download-index-funnel",
                              "review-download-index-stations", "review-download-index-parks"}
        funnel = [getattr(a, "data-export") for a in _components(found["review-download-index-funnel"])
                  if getattr(a, "className", None) == "download"]
        assert funnel == [f"/export/{kind}/index-funnel.{fmt}" for kind, fmt in
                          (("chart", "png"), ("chart", "svg"), ("table", "csv"), ("table", "xlsx"))]


# --- the enterprise profile ------------------------------------------------------------------------------------

@pytest.mark.slow
class TestEnterpriseDownloads:
    def test_xp020_index_history_equals_sql(self, site):
        response = _get(site, f"/export/table/enterprise-index.csv?enterprise={site.enterprise}", CSV_TYPE)
        with site.engine.connect() as conn:
            name = conn.execute(text("SELECT name FROM enterprises WHERE id = :e"),
                                {"e": site.enterprise}).scalar_one()
            history = conn.execute(text("SELECT month, score, band, governance FROM safety_index "
                                        "WHERE enterprise_id = :e ORDER BY month"), {"e": site.enterprise}).all()
        assert _name(response) == f"{name}_平安指数走势_{local_today().isoformat()}.csv"
        frame, lines = _csv(response)
        assert frame.columns.tolist() == ["月份", "数据截至", "平安指数", "等级", "警情维度得分", "矛盾纠纷维度得分",
                                          "安全隐患维度得分", "自治能力维度得分"]
        assert frame["月份"].tolist() == [m[:7] for m, *_ in history]
        with site.engine.connect() as conn:  # a month scored while still in progress says to which day
            partial = json.loads(conn.execute(text("SELECT value FROM meta WHERE key = 'safety_index_partial'"))
                                 .scalar() or "{}")
        through = {m[:7]: d for m, d in partial.items()}
        assert [None if pd.isna(v) else v for v in frame["数据截至"]] == [through.get(m[:7]) for m, *_ in history]
        assert frame["平安指数"].tolist() == [round(s, 2) for _m, s, _b, _g in history]
        assert frame["等级"].tolist() == [b for _m, _s, b, _g in history]
        assert frame["自治能力维度得分"].tolist() == [round(g, 2) for *_x, g in history]
        assert lines["企业"] == name and lines["编号"] == str(site.enterprise)

    def test_xp021_event_lists_are_complete_and_masked(self, site):
        from data.screens.enterprise import mask_parties

        e = site.enterprise
        incidents_file = _get(site, f"/export/table/enterprise-incidents.csv?enterprise={e}", CSV_TYPE)
        incidents, inc_lines = _csv(incidents_file)
        disputes, dsp_lines = _xlsx(_get(site, f"/export/table/enterprise-disputes.xlsx?enterprise={e}",
                                         XLSX_TYPE))
        hazards, _lines = _csv(_get(site, f"/export/table/enterprise-hazards.csv?enterprise={e}", CSV_TYPE))
        today = local_today()
        with site.engine.connect() as conn:
            raw = conn.execute(text("SELECT id, caller_name, caller_phone, address FROM incidents "
                                    "WHERE enterprise_id = :e"), {"e": e}).all()
            parties = dict(conn.execute(text("SELECT id, parties FROM disputes WHERE enterprise_id = :e"),
                                        {"e": e}).all())
            hazard_ids = set(conn.execute(text("SELECT id FROM hazards WHERE enterprise_id = :e"),
                                          {"e": e}).scalars())
            overdue = conn.execute(text("SELECT count(*) FROM hazards WHERE enterprise_id = :e "
                                        "AND status = '待整改' AND deadline < :t"), {"e": e, "t": today}).scalar_one()
        assert sorted(incidents["编号"]) == sorted(r.id for r in raw) and len(raw) > 0
        assert inc_lines["记录数"].startswith(f"共 {len(raw)} 条")
        assert incidents["接警时间"].tolist() == sorted(incidents["接警时间"], reverse=True)
        phones = {r.caller_phone for r in raw if r.caller_phone}
        names = {r.caller_name for r in raw if r.caller_name and len(r.caller_name) > 1}
        addresses = {r.address for r in raw if r.address and r.address[-1] == "号"}
        assert phones and not any(p.encode() in incidents_file.data for p in phones)
        assert not set(incidents["报警人"].dropna()) & names
        assert all("*" in p for p in incidents["电话"].dropna())
        assert not set(incidents["地点"].dropna()) & addresses
        assert dict(zip(disputes["编号"], disputes["当事方"].where(disputes["当事方"].notna(), None), strict=True)) == {
            i: mask_parties(p) for i, p in parties.items()}
        assert dsp_lines["个人信息"].startswith("已脱敏")
        assert set(hazards["编号"]) == hazard_ids and int((hazards["状态"] == "已逾期").sum()) == overdue

    def test_xp022_index_chart_png_and_svg(self, site):
        png = _get(site, f"/export/chart/enterprise-index.png?enterprise={site.enterprise}", "image/png")
        assert figures_export.png_size(png.data) == (2000, 900)
        svg = _get(site, f"/export/chart/enterprise-index.svg?enterprise={site.enterprise}", "image/svg+xml")
        with site.engine.connect() as conn:
            name = conn.execute(text("SELECT name FROM enterprises WHERE id = :e"),
                                {"e": site.enterprise}).scalar_one()
        assert _name(svg) == f"{name}_平安指数走势_{local_today().isoformat()}.svg"
        assert f"{name} · 平安指数走势" in svg_texts(svg.data)

    def test_xp023_the_profile_page_links_its_downloads(self, site):
        from data.screens import enterprise
        from layouts.enterprise import page

        with site.engine.connect() as conn:
            profile = enterprise.profile(conn, site.enterprise, local_today())
        hrefs = {a.href for a in _components(page(profile, "zh")) if getattr(a, "className", None) == "download"}
        e = site.enterprise
        assert hrefs == ({f"/export/chart/enterprise-index.{f}?enterprise={e}" for f in ("png", "svg")}
                         | {f"/export/table/enterprise-{n}.{f}?enterprise={e}" for f in ("csv", "xlsx")
                            for n in ("index", "incidents", "disputes", "hazards")})


# --- the wall ----------------------------------------------------------------------------------------------------

def _incident_times(conn, first: date, last: date, station: int | None = None):
    sql = "SELECT received_at, category FROM incidents WHERE received_at >= :a AND received_at < :b"
    params = {"a": _bound(first), "b": _bound(last + timedelta(days=1))}
    if station is not None:
        sql += " AND station_id = :s"
        params["s"] = station
    return [(_local(at), category) for at, category in conn.execute(text(sql), params).all()]


@pytest.mark.slow
class TestWallDownloads:
    def test_xp030_categories_hours_and_hazards_equal_sql(self, site):
        today = local_today()
        yesterday = today - timedelta(days=1)  # the week runs to yesterday (on a Monday: last week)
        monday = yesterday - timedelta(days=yesterday.weekday())
        week_name = "上周" if today.weekday() == 0 else "本周至昨日"
        for query, unit, short, station in (("", "全镇", "织里", None),
                                            (f"?station={site.station}", "织南派出所", "织南", site.station)):
            response = _get(site, f"/export/table/wall-categories.csv{query}", CSV_TYPE)
            assert _name(response) == f"{short}_警情分类_{today.isoformat()}.csv"
            frame, lines = _csv(response)
            assert lines["单位"] == unit and lines["日期"] == today.isoformat()
            with site.engine.connect() as conn:
                week = _incident_times(conn, monday, today, station)
                hazards = conn.execute(text("SELECT found_at, deadline FROM hazards WHERE status = '待整改'"
                                            + (" AND station_id = :s" if station else "")), {"s": station}).all()
            by_category = frame.set_index("警情类别")
            (week_column,) = [c for c in by_category.columns if c.startswith(f"{week_name}（")]
            assert week_column.endswith(f"{monday.month}月{monday.day}日—{yesterday.month}月{yesterday.day}日）") \
                or monday == yesterday
            for category in by_category.index:
                assert by_category.loc[category, week_column] == sum(1 for t, c in week if c == category
                                                                     and t.date() <= yesterday)
                assert by_category.loc[category, "今日"] == sum(1 for t, c in week if c == category
                                                               and t.date() == today)
            hours, _lines = _csv(_get(site, f"/export/table/wall-hourly.csv{query}", CSV_TYPE))
            counted = hours["今日警情"].dropna()
            assert [int(n) for n in counted] == [sum(1 for t, _c in week if t.date() == today and t.hour == h)
                                                 for h in range(len(counted))]
            ages, _lines = _csv(_get(site, f"/export/table/wall-hazards.csv{query}", CSV_TYPE))
            buckets = [(0, 7), (8, 15), (16, 30), (31, 60), (61, 10**6)]
            for i, (lo, hi) in enumerate(buckets):
                mine = [d for f, d in hazards if lo <= max(0, (today - _local(f).date()).days) <= hi]
                overdue = sum(1 for d in mine if date.fromisoformat(str(d)[:10]) < today)
                assert (ages.loc[i, "未逾期"], ages.loc[i, "已逾期"]) == (len(mine) - overdue, overdue)

    def test_xp031_last30_levels_and_lowest_equal_sql(self, site):
        today = local_today()
        frame, lines = _xlsx(_get(site, "/export/table/wall-last30.xlsx", XLSX_TYPE))
        assert lines["内容"] == "近30天警情" and len(frame) == 30
        with site.engine.connect() as conn:
            days = _incident_times(conn, today - timedelta(days=29), today)
            earlier = _incident_times(conn, shift_year(today - timedelta(days=29), -1), shift_year(today, -1))
            settled = dict(conn.execute(text(
                "SELECT settled_level, count(*) FROM disputes WHERE status = '已化解' AND reported_at >= :a "
                "AND reported_at < :b GROUP BY settled_level"),
                # the year to yesterday (the to-date rule: on 1 January, the whole year before)
                {"a": _bound(date((today - timedelta(days=1)).year, 1, 1)), "b": _bound(today)}).all())
            latest = conn.execute(text("SELECT max(month) FROM safety_index_units WHERE unit_kind = 'town'")
                                  ).scalar_one()
            parks = conn.execute(text("SELECT unit_id, score FROM safety_index_units WHERE unit_kind = 'park' "
                                      "AND month = :m ORDER BY score, unit_id LIMIT 5"), {"m": latest}).all()
            firms = conn.execute(text("SELECT enterprise_id, score FROM safety_index WHERE month = :m "
                                      "ORDER BY score, enterprise_id LIMIT 10"), {"m": latest}).all()
        assert frame["日期"].tolist() == [(today - timedelta(days=29 - k)).isoformat() for k in range(30)]
        assert frame["完整日"].tolist()[:29] == ["是"] * 29 and frame["完整日"].iloc[29].startswith("否（截至")
        assert frame["警情数"].tolist() == [sum(1 for t, _c in days if t.date().isoformat() == d)
                                          for d in frame["日期"]]
        assert frame["去年同期警情数"].tolist() == [sum(1 for t, _c in earlier if t.date().isoformat() == d)
                                              for d in frame["去年同期日期"]]
        levels, _lines = _csv(_get(site, "/export/table/wall-levels.csv", CSV_TYPE))
        assert dict(zip(levels["化解层级"], levels["件数"], strict=True)) == {
            k: settled.get(k, 0) for k in levels["化解层级"]}
        assert abs(levels["占比%"].sum() - 100) < 0.5
        lowest, _lines = _csv(_get(site, "/export/table/wall-lowest.csv", CSV_TYPE))
        assert lowest[lowest["类别"] == "园区"]["编号"].tolist() == [p for p, _s in parks]
        assert lowest[lowest["类别"] == "企业"]["编号"].tolist() == [f for f, _s in firms]
        assert lowest[lowest["类别"] == "企业"]["平安指数"].tolist() == [round(s, 2) for _f, s in firms]

    def test_xp033_the_kpi_table_is_the_wall_row_in_words(self, site):
        # the wall's KPI row and its download come from one spec (figures/wall_spec.py KPI_TILES)
        today = local_today()
        response = _get(site, f"/export/table/wall-kpis.csv?station={site.station}", CSV_TYPE)
        assert _name(response) == f"织南_核心指标_{today.isoformat()}.csv"
        frame, lines = _csv(response)
        assert lines["内容"] == "核心指标" and lines["单位"] == "织南派出所"
        assert frame["指标"].tolist() == [t(f"kpi_{name}", "zh") for name in wall_spec.KPI_NAMES]
        with site.engine.connect() as conn:
            calls = _incident_times(conn, today, today, site.station)
            numbers = cockpit_numbers(conn, today, Unit("station", site.station))
        shown = dict(zip(frame["指标"], frame["数值"].astype(str), strict=True))
        assert shown[t("kpi_today_total", "zh")] == f"{len(calls):,}"  # against plain SQL
        words = {t(f"sig_{k}", "zh") for k in ("significant", "notable", "noise", "none")}
        assert set(frame["显著性"].fillna("")) <= words | {""}
        drawn = [tile.children[1].children[0].children for tile in wall_layout.kpi_tiles(numbers, "zh")]
        # the wall's own tiles, word for word (the CSV quotes a leading minus against formula injection)
        assert [v.removeprefix("'") for v in frame["数值"].astype(str)] == drawn

    def test_xp032_wall_charts_print_light_with_chinese_text(self, site):
        from data.core.scope import Unit
        from data.screens.cockpit import cockpit_numbers

        today = local_today()
        png = _get(site, "/export/chart/wall-categories.png", "image/png")
        assert _name(png) == f"织里_警情分类_{today.isoformat()}.png"  # the issue's own example
        assert figures_export.png_size(png.data) == (2000, 960)
        svg = _get(site, f"/export/chart/wall-lowest.svg?station={site.station}", "image/svg+xml")
        assert _name(svg) == f"织南_平安指数最低园区企业_{today.isoformat()}.svg"
        assert f"织南派出所 · 平安指数最低的园区与企业 · {today.isoformat()}" in svg_texts(svg.data)
        # All six in one batch: a white page, dark text, every title and label as <text>.
        with site.engine.connect() as conn:
            numbers = cockpit_numbers(conn, today, Unit())
        download = registry.Download("wall", numbers, "全镇", "织里", today)
        names = [n for n in registry.CHARTS if n.startswith("wall-")]
        figures = {n: registry.CHARTS[n].figure(download) for n in names}
        images = figures_export.render_images(figures, "svg", sizes={n: registry.CHARTS[n].size for n in names})
        titles = {"wall-hourly": "今日分时警情（对比同期均值）", "wall-categories": "警情类别构成（今日 / 本周）",
                  "wall-last30": "近30天警情（对比去年同期）", "wall-levels": "矛盾纠纷化解层级（本年）",
                  "wall-hazards": "未整改隐患账龄", "wall-lowest": "平安指数最低的园区与企业"}
        for name, body in images.items():
            texts = svg_texts(body)
            assert f"全镇 · {titles[name]} · {today.isoformat()}" in texts, name
            assert b"fill: rgb(255, 255, 255)" in body and b"rgb(216, 230, 255)" not in body, name  # no wall TEXT
        assert "刑事" in svg_texts(images["wall-categories"]) and "企业内" in svg_texts(images["wall-levels"])


# --- bad requests -------------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("url, status, message", [
    ("/export/table/index-funnel.csv?period=bad", 400, "period='bad'"),
    ("/export/chart/index-distribution.png?station=x", 400, "station='x' is not a number"),
    ("/export/table/enterprise-incidents.csv", 400, "enterprise=<id> is required"),
    ("/export/table/enterprise-incidents.csv?enterprise=abc", 400, "is not an id"),
    ("/export/chart/enterprise-index.png?enterprise=0", 400, "is not an id"),
    ("/export/table/enterprise-index.xlsx?enterprise=999999", 404, "无此企业"),
    ("/export/table/wall-hourly.csv?station=abc", 400, "is not an id"),
    ("/export/chart/wall-hourly.png?station=999", 404, "无此派出所"),
    ("/export/chart/wall-nope.png", 404, ""),
    ("/export/table/wall-nope.csv", 404, ""),
    ("/export/chart/index-stations.svg", 404, ""),  # a table has no chart
    ("/export/chart/wall-hourly.pdf", 404, ""),
])
def test_xp040_bad_requests_say_why(site, url, status, message):
    response = site.http.get(url)
    assert response.status_code == status and message in response.get_data(as_text=True)

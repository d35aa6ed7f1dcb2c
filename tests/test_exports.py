"""Exports: CSV / XLSX files with their filters, formula neutralising, file names, chart images, downloads.

Pure parts are checked on small frames; the download routes on the scale-1 demo (SQLite), with the
exported values compared to plain SQL over the base tables and the images checked for size and text.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import pytest
from sqlalchemy import text

from app import create_app
from data import db, exports, figures_export
from data.timeutil import local_today
from export_support import client as export_client
from export_support import disposition_name as _disposition_name

SHANGHAI = ZoneInfo("Asia/Shanghai")
FILTERS = [("单位", "织南派出所"), ("期间", "2026-10-01 至 2026-10-31"), ("警情类别", "全部")]


def sample() -> pd.DataFrame:
    return pd.DataFrame({"名称": ["湖州甲有限公司", "3#厂房, 东门", "=1+2", "-5", "@SUM(A1)", "+86"],
                         "本期": [12, 0, 3, 4, 5, 6], "同比%": [-11.2, None, 0.0, 3.5, -0.1, 100.0]})


class TestCsv:
    def test_exp001_reads_back_with_pandas_and_has_a_bom(self):
        body = exports.to_csv(sample(), FILTERS, "织南 · 测试")
        assert body.startswith(b"\xef\xbb\xbf")
        frame = pd.read_csv(io.BytesIO(body), comment="#")
        assert frame.columns.tolist() == ["名称", "本期", "同比%"]
        assert frame["本期"].tolist() == [12, 0, 3, 4, 5, 6]
        assert frame["同比%"].iloc[0] == -11.2 and pd.isna(frame["同比%"].iloc[1])
        assert frame["名称"].iloc[1] == "3#厂房, 东门"  # a '#' inside quoted data is no comment

    def test_exp002_skiprows_reads_it_too(self):
        body = exports.to_csv(sample(), FILTERS, "标题")
        skip = exports.csv_preamble_lines(FILTERS, "标题")
        frame = pd.read_csv(io.BytesIO(body), skiprows=skip)
        assert frame.columns.tolist() == ["名称", "本期", "同比%"] and len(frame) == 6

    def test_exp003_filters_are_written_in(self):
        lines = exports.to_csv(sample(), FILTERS + [("说明", 'a,b "c"\nd')]).decode("utf-8-sig").splitlines()
        assert lines[:3] == ["# 单位：织南派出所", "# 期间：2026-10-01 至 2026-10-31", "# 警情类别：全部"]
        assert lines[3] == "# 说明：a，b ”c” d"  # one unquoted line, whatever the value holds

    def test_exp004_formulas_are_neutralised(self):
        frame = pd.read_csv(io.BytesIO(exports.to_csv(sample(), [])), comment="#")
        assert frame["名称"].tolist()[2:] == ["'=1+2", "'-5", "'@SUM(A1)", "'+86"]
        assert exports.neutralise("\t=cmd") == "'\t=cmd" and exports.neutralise(-5) == -5


class TestXlsx:
    def test_exp010_first_sheet_has_the_data_with_a_clean_header(self):
        body = exports.to_xlsx(sample(), FILTERS, "标题")
        frame = pd.read_excel(io.BytesIO(body), sheet_name=0)
        assert frame.columns.tolist() == ["名称", "本期", "同比%"]
        assert frame["本期"].tolist() == [12, 0, 3, 4, 5, 6]
        assert frame["名称"].tolist()[2:] == ["=1+2", "-5", "@SUM(A1)", "+86"]  # text, not formulas

    def test_exp011_no_cell_is_a_formula(self):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(exports.to_xlsx(sample(), FILTERS)))
        types = {cell.data_type for row in book.worksheets[0].iter_rows() for cell in row if cell.value is not None}
        assert "f" not in types

    def test_exp012_filters_are_on_their_own_sheet(self):
        body = exports.to_xlsx(sample(), FILTERS, "标题")
        meta = pd.read_excel(io.BytesIO(body), sheet_name=exports.FILTER_SHEET)
        assert meta.columns.tolist() == ["项目", "值"]
        assert dict(zip(meta["项目"], meta["值"]))["单位"] == "织南派出所"
        assert dict(zip(meta["项目"], meta["值"]))["标题"] == "标题"


class TestFilename:
    def test_exp020_names_people_recognise(self):
        assert exports.filename("织里", "警情分类", date(2026, 11, 28), "png") == "织里_警情分类_2026-11-28.png"
        assert exports.filename("织南", "a/b:c*?", date(2026, 1, 2), ".XLSX") == "织南_abc_2026-01-02.xlsx"
        assert exports.filename("", "", date(2026, 1, 2), "csv") == "2026-01-02.csv"

    def test_exp021_names_cannot_disguise_or_overflow(self):
        day = date(2026, 11, 28)
        # a right-to-left override or a zero-width space would let "…gnp.exe" show as "…exe.png"
        assert exports.filename("织里\u202egnp.exe", "分类\u200b", day, "png") == "织里gnp.exe_分类_2026-11-28.png"
        assert exports.filename("../..", "..隐患..", day, "csv") == "隐患_2026-11-28.csv"
        long_name = exports.filename("湖州" * 100, "警情记录" * 30, day, "xlsx")
        assert len(long_name.encode("utf-8")) < 255 and long_name.endswith("_2026-11-28.xlsx")
        assert exports.filename("织里", "x", day, "p/n\x00g") == "织里_x_2026-11-28.png"


@pytest.fixture(scope="module")
def figure():
    fig = go.Figure(go.Bar(x=["刑事", "治安", "交通事故"], y=[3, 5, 2]))
    fig.update_layout(title="织里 警情分类")
    return fig


class TestImages:
    def test_exp030_png_is_print_resolution(self, figure):
        png = figures_export.to_png(figure)
        assert figures_export.png_size(png) == (2000, 900)  # 1000 × 450 CSS px at scale 2
        assert figures_export.png_size(figures_export.to_png(figure, 800, 300, scale=3)) == (2400, 900)

    def test_exp031_svg_keeps_chinese_as_text(self, figure):
        svg = figures_export.to_svg(figure).decode("utf-8")
        texts = re.findall(r"<text[^>]*>([^<]*)</text>", svg)
        assert "织里 警情分类" in texts and "交通事故" in texts
        assert "WenQuanYi Micro Hei" in svg

    def test_exp032_one_browser_serves_many_images(self, figure):
        server = figures_export.server()
        figures_export.to_png(figure)
        starts = server.starts
        images = figures_export.render_images({f"f{i}": figure for i in range(3)}, "png")
        assert len(images) == 3 and server.starts == starts

    def test_exp033_a_dead_browser_is_replaced(self, figure):
        server = figures_export.server()
        figures_export.to_png(figure)
        server._kaleido.subprocess.kill()
        server._kaleido.subprocess.wait(timeout=10)
        assert not server.running()
        assert figures_export.png_size(figures_export.to_png(figure)) == (2000, 900)
        assert server.running()

    def test_exp034_figures_get_a_cjk_font(self):
        plain = figures_export.print_ready(go.Figure())
        assert "WenQuanYi Micro Hei" in plain["layout"]["font"]["family"]
        named = figures_export.print_ready(go.Figure(layout={"font": {"family": "Noto Sans CJK SC"}}))
        assert named["layout"]["font"]["family"] == "Noto Sans CJK SC"


# --- the download routes (scale-1 demo on SQLite) ---------------------------------------------------

def _bound(day: date):
    return datetime.combine(day, time(0), SHANGHAI).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def client(demo_databases):
    engine = demo_databases("sqlite")
    server = create_app({"EQIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                         "EQIAN_SIMULATE": False})
    yield export_client(server), engine
    db.engine_of(server).dispose()


@pytest.mark.slow
class TestDownloads:
    def test_exp040_book_csv_values_equal_independent_counts(self, client):
        http, engine = client
        with engine.connect() as conn:
            station = conn.execute(text("SELECT id FROM stations WHERE name = '织南派出所'")).scalar_one()
        response = http.get(f"/export/table/book.csv?station={station}")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Cache-Control"] == "no-store"
        today = local_today()
        assert _disposition_name(response) == quote(f"织南_期间对比表_{today.isoformat()}.csv", safe="")
        preamble = response.data.decode("utf-8-sig").splitlines()
        assert "# 单位：织南派出所" in preamble and f"# 筛选参数：station={station}" in preamble
        frame = pd.read_csv(io.BytesIO(response.data), comment="#").set_index("项目")
        with engine.connect() as conn:
            ytd = conn.execute(text("SELECT count(*) FROM incidents WHERE received_at >= :a AND received_at < :b "
                                    "AND station_id = :s"),
                               {"a": _bound(date(today.year, 1, 1)), "b": _bound(today + timedelta(days=1)),
                                "s": station}).scalar_one()
            labour = conn.execute(text("SELECT count(*) FROM disputes WHERE reported_at >= :a AND reported_at < :b "
                                       "AND station_id = :s AND dispute_type = '劳资'"),
                                  {"a": _bound(date(today.year, 1, 1)), "b": _bound(today + timedelta(days=1)),
                                   "s": station}).scalar_one()
        assert frame.loc["警情合计", "本年·本期"] == ytd
        assert frame.loc["劳资", "本年·本期"] == labour
        assert {"板块", "本周·本期", "近28天·同比%", "本年·较基准年%"} <= set(frame.reset_index().columns)

    def test_exp041_book_xlsx_opens_with_the_right_columns(self, client):
        http, engine = client
        response = http.get("/export/table/book.xlsx?period=month&enterprise_only=1")
        assert response.status_code == 200
        frame = pd.read_excel(io.BytesIO(response.data), sheet_name=0)
        assert frame.columns[:3].tolist() == ["板块", "项目", "本周·本期"]
        assert frame["项目"].iloc[0] == "警情合计" and len(frame) == 25
        meta = pd.read_excel(io.BytesIO(response.data), sheet_name="筛选条件")
        values = dict(zip(meta["项目"], meta["值"]))
        assert values["仅涉企"] == "是" and values["单位"] == "全镇"

    def test_exp042_drill_and_trend_tables(self, client):
        http, engine = client
        drill = pd.read_csv(io.BytesIO(http.get("/export/table/drill.csv?period=28d").data), comment="#")
        assert drill.columns.tolist() == ["层级", "编号", "名称", "本期", "去年同期", "同比%", "同比显著性"]
        today = local_today()
        with engine.connect() as conn:
            by_station = dict(conn.execute(text(
                "SELECT s.name, count(i.id) FROM stations s LEFT JOIN incidents i ON i.station_id = s.id "
                "AND i.received_at >= :a AND i.received_at < :b GROUP BY s.name"),
                {"a": _bound(today - timedelta(days=27)), "b": _bound(today + timedelta(days=1))}).all())
        assert dict(zip(drill["名称"], drill["本期"])) == by_station
        trend = pd.read_excel(io.BytesIO(http.get("/export/table/trend.xlsx?row=incidents:刑事").data),
                              sheet_name=0)
        assert trend.columns.tolist() == ["月份", f"{today.year - 2}年", f"{today.year - 1}年", f"{today.year}年"]
        with engine.connect() as conn:
            january = conn.execute(text("SELECT count(*) FROM incidents WHERE received_at >= :a AND received_at < :b "
                                        "AND category = '刑事'"),
                                   {"a": _bound(date(today.year - 1, 1, 1)),
                                    "b": _bound(date(today.year - 1, 2, 1))}).scalar_one()
        assert trend.loc[0, f"{today.year - 1}年"] == january

    def test_exp043_overdue_table_is_masked(self, client):
        http, engine = client
        frame = pd.read_csv(io.BytesIO(http.get("/export/table/overdue.csv").data), comment="#")
        with engine.connect() as conn:
            expected = conn.execute(text("SELECT count(*) FROM hazards WHERE status = '待整改' AND deadline < :t"),
                                    {"t": local_today()}).scalar_one()
            addresses = set(conn.execute(text("SELECT address FROM enterprises")).scalars())
        assert len(frame) == expected and expected > 0
        assert not set(frame["地址"].dropna()) & addresses  # street level only
        assert frame["逾期天数"].is_monotonic_decreasing

    def test_exp044_chart_png_and_svg(self, client):
        http, _engine = client
        png = http.get("/export/chart/trend.png?row=incidents:刑事")
        assert png.status_code == 200 and png.mimetype == "image/png"
        assert figures_export.png_size(png.data) == (2000, 900)
        assert _disposition_name(png) == quote(f"织里_月度趋势_刑事_{local_today().isoformat()}.png", safe="")
        svg = http.get("/export/chart/drill.svg?period=month")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert "织南派出所" in re.findall(r"<text[^>]*>([^<]*)</text>", svg.data.decode("utf-8"))

    def test_exp045_report_downloads(self, client):
        http, _engine = client
        pdf = http.get("/export/report.pdf?period=ytd&unit=织南")
        assert pdf.status_code == 200 and pdf.data[:5] == b"%PDF-" and pdf.headers["Cache-Control"] == "no-store"
        assert _disposition_name(pdf).startswith(quote("织南_平安建设通报_", safe=""))
        docx = http.get("/export/report.docx?period=month&station=1")
        assert docx.status_code == 200 and docx.data[:2] == b"PK"

    @pytest.mark.parametrize("url, status, message", [
        ("/export/table/book.csv?period=bad", 400, "period='bad'"),
        ("/export/table/nope.csv", 404, ""),
        ("/export/chart/nope.png", 404, ""),
        ("/export/report.pdf?unit=织中", 400, "unknown unit"),
        ("/export/report.pdf?period=2026-13", 400, "month must be in 1..12"),
    ])
    def test_exp046_bad_requests_say_why(self, client, url, status, message):
        http, _engine = client
        response = http.get(url)
        assert response.status_code == status and message in response.get_data(as_text=True)

"""Exports: CSV / XLSX files with their filters, formula neutralising, file names, chart images, downloads.

Pure parts are checked on small frames; the download routes on the scale-1 demo (SQLite), with the
exported values compared to plain SQL over the base tables and the images checked for size and text.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pandas as pd
import plotly.graph_objects as go
import pytest
from export_support import client as export_client
from export_support import disposition_name as _disposition_name
from sqlalchemy import text

from app import create_app
from data.core import db
from data.core.timeutil import local_today
from exports import images as figures_export
from exports import tables as exports

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
        assert dict(zip(meta["项目"], meta["值"], strict=True))["单位"] == "织南派出所"
        assert dict(zip(meta["项目"], meta["值"], strict=True))["标题"] == "标题"


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


# --- what images need: Chromium and a Chinese font, or a message that says what to install -------------

@pytest.fixture
def unchecked(monkeypatch):
    """figures_export as on a fresh process: the requirements not yet found (an earlier image found them)."""
    import threading

    monkeypatch.setattr(figures_export, "_READY", threading.Event())
    return monkeypatch


class TestRequirements:
    def test_exp035_no_chromium_says_what_to_install(self, unchecked, figure, tmp_path):
        unchecked.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))
        starts = figures_export.server().starts
        with pytest.raises(figures_export.ExportError) as caught:
            figures_export.to_png(figure)
        message = str(caught.value)
        assert f"BROWSER_PATH='{tmp_path / 'no-chromium'}' is not a file" in message
        assert "apt-get install chromium" in message and "fonts-wqy-microhei" not in message
        assert figures_export.server().starts == starts  # refused before any browser was tried

    def test_exp036_no_chinese_font_says_what_to_install_rather_than_draw_boxes(self, unchecked, figure):
        unchecked.setattr(figures_export, "chinese_fonts", lambda: [])
        with pytest.raises(figures_export.ExportError, match=r"a Chinese font \(fc-list :lang=zh lists none, so "
                                                             r"Chinese text would be drawn as boxes\)"):
            figures_export.to_svg(figure)
        unchecked.setenv("BROWSER_PATH", "/nonexistent/chromium")
        with pytest.raises(figures_export.ExportError,
                           match=r"need Chromium .* and a Chinese font .*`sudo apt-get install chromium "
                                 r"fonts-wqy-microhei`"):
            figures_export.to_png(figure)

    def test_exp037_found_once_not_looked_for_again(self, unchecked, figure):
        looks = []
        real = figures_export.chinese_fonts
        unchecked.setattr(figures_export, "chinese_fonts", lambda: looks.append(1) or real())
        assert real() and figures_export.chromium_path()  # this machine has both (make test installs them)
        figures_export.to_svg(figure)
        figures_export.to_svg(figure)
        assert looks == [1]


@pytest.fixture
def small_app(small_demo_town):
    server = create_app({"EQIAN_DATABASE_URL": small_demo_town.copy("exports-requirements"),
                         "EQIAN_SIMULATE": False})
    yield server
    db.engine_of(server).dispose()


class TestContentType:
    def test_exp047_each_download_names_its_charset_once(self, small_app):
        http = export_client(small_app)
        csv = http.get("/export/table/overdue.csv")
        assert csv.status_code == 200 and csv.headers["Content-Type"] == "text/csv; charset=utf-8"
        xlsx = http.get("/export/table/overdue.xlsx")
        assert xlsx.headers["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        refused = http.get("/export/table/book.csv?period=fortnight")  # the plain-text answers too
        assert refused.status_code == 400 and refused.headers["Content-Type"] == "text/plain; charset=utf-8"
        anonymous = small_app.test_client().get("/export/table/overdue.csv")
        assert anonymous.status_code == 401 and anonymous.headers["Content-Type"] == "text/plain; charset=utf-8"


class TestRequirementsReachTheUser:
    def test_exp038_downloads_answer_503_with_the_reason(self, unchecked, small_app):
        unchecked.setattr(figures_export, "chinese_fonts", lambda: [])
        http = export_client(small_app)
        for url, what in (("/export/chart/trend.png?row=incidents:刑事", "图表导出失败"),
                          ("/export/chart/drill.svg?period=month", "图表导出失败"),
                          ("/export/report.pdf?period=month", "报告生成失败")):
            response = http.get(url)
            body = response.get_data(as_text=True)
            assert response.status_code == 503 and body.startswith(f"{what}：chart images need a Chinese font"), body
            assert "apt-get install fonts-wqy-microhei" in body

    def test_exp039_report_command_prints_the_reason_and_exits_1(self, unchecked, small_app, tmp_path):
        unchecked.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))
        out = tmp_path / "report.pdf"
        result = small_app.test_cli_runner().invoke(args=["report", "--period", "month", "--out", str(out)])
        assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
        assert "chart images need Chromium" in result.output and "apt-get install chromium" in result.output
        assert "Traceback" not in result.output and not out.exists()


# --- the download routes (scale-1 demo on SQLite) ---------------------------------------------------

def _bound(day: date):
    return datetime.combine(day, time(0), SHANGHAI).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


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
        # the to-date rule: every period ends yesterday (on 1 January the year is last year, on a Monday the
        # week is last week)
        yesterday = today - timedelta(days=1)
        year = "上年" if today.timetuple().tm_yday == 1 else "本年"
        week = "上周" if today.weekday() == 0 else "本周"
        with engine.connect() as conn:
            ytd = conn.execute(text("SELECT count(*) FROM incidents WHERE received_at >= :a AND received_at < :b "
                                    "AND station_id = :s"),
                               {"a": _bound(date(yesterday.year, 1, 1)), "b": _bound(today), "s": station}).scalar_one()
            labour = conn.execute(text("SELECT count(*) FROM disputes WHERE reported_at >= :a AND reported_at < :b "
                                       "AND station_id = :s AND dispute_type = '劳资'"),
                                  {"a": _bound(date(yesterday.year, 1, 1)), "b": _bound(today),
                                   "s": station}).scalar_one()
        assert frame.loc["警情合计", f"{year}·本期"] == ytd
        assert frame.loc["劳资", f"{year}·本期"] == labour
        assert {"板块", f"{week}·本期", "近28天·同比%", f"{year}·较基准年%"} <= set(frame.reset_index().columns)
        assert frame.reset_index().columns[2] == f"{year}·本期"  # the chosen period (the default, ytd) first
        assert f"# 统计口径：各期截至昨日24时（{yesterday.isoformat()}），只含完整日，同比为去年同日" in preamble

    def test_exp041_book_xlsx_opens_with_the_right_columns(self, client):
        http, engine = client
        response = http.get("/export/table/book.xlsx?period=month&enterprise_only=1")
        assert response.status_code == 200
        frame = pd.read_excel(io.BytesIO(response.data), sheet_name=0)
        month = "上月" if local_today().day == 1 else "本月"
        assert frame.columns[:3].tolist() == ["板块", "项目", f"{month}·本期"]  # the chosen period first
        assert len([c for c in frame.columns if c.endswith("·本期")]) == 4  # month, week, 28 days, year
        assert frame["项目"].iloc[0] == "警情合计" and len(frame) == 25
        meta = pd.read_excel(io.BytesIO(response.data), sheet_name="筛选条件")
        values = dict(zip(meta["项目"], meta["值"], strict=True))
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
                {"a": _bound(today - timedelta(days=28)), "b": _bound(today)}).all())  # 28 days to yesterday
        assert dict(zip(drill["名称"], drill["本期"], strict=True)) == by_station
        trend = pd.read_excel(io.BytesIO(http.get("/export/table/trend.xlsx?row=incidents:刑事").data),
                              sheet_name=0)
        year = (today - timedelta(days=1)).year  # the year holding the last complete day
        assert trend.columns.tolist() == ["月份", f"{year - 2}年", f"{year - 1}年", f"{year}年"]
        with engine.connect() as conn:
            january = conn.execute(text("SELECT count(*) FROM incidents WHERE received_at >= :a AND received_at < :b "
                                        "AND category = '刑事'"),
                                   {"a": _bound(date(year - 1, 1, 1)), "b": _bound(date(year - 1, 2, 1))}).scalar_one()
        assert trend.loc[0, f"{year - 1}年"] == january

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

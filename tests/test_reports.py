"""The report (通报): periods, phrases, numbers against independent SQL, and the PDF / DOCX read back.

The numbers are checked three ways on the scale-1 demo (both backends): against plain SQL over the
incidents, disputes and hazards tables written here (not the rollups the report reads); against the SQL
each fact of a sentence says it comes from, run as written; and in the text extracted from the generated
PDF (pypdf) and DOCX (python-docx). The PDF's first page is rendered (pypdfium2) to check it is not blank.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from app import create_app
from data.access.roles import ANALYST_SYSTEM
from data.core import db
from data.core.periods import Window
from data.counts.metrics import Change
from data.demo.generator import DemoSettings
from data.screens.report import (
    ReportError,
    build_report,
    change_phrase,
    parse_period,
    period_label,
    report_windows,
    resolve_unit,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
D = date.fromisoformat


# --- pure parts -------------------------------------------------------------------------------------

class TestPeriods:
    TODAY = D("2026-11-29")

    @pytest.mark.parametrize("spec, first, last, label, title", [
        ("2026-10", "2026-10-01", "2026-10-31", "10月", "2026年10月"),
        ("2026-01..2026-10", "2026-01-01", "2026-10-31", "1—10月", "2026年1—10月"),
        ("2026-01-01..2026-10-31", "2026-01-01", "2026-10-31", "1—10月", "2026年1—10月"),
        ("2026-Q3", "2026-07-01", "2026-09-30", "7—9月", "2026年7—9月"),
        ("2026-W44", "2026-10-26", "2026-11-01", "10月26日—11月1日", "2026年10月26日—11月1日"),
        ("2025", "2025-01-01", "2025-12-31", "2025年", "2025年"),
        ("2026-10-15", "2026-10-15", "2026-10-15", "10月15日", "2026年10月15日"),
        ("2025-12..2026-01", "2025-12-01", "2026-01-31", "2025年12月1日—2026年1月31日",
         "2025年12月1日—2026年1月31日"),
    ])
    def test_rep001_explicit_periods(self, spec, first, last, label, title):
        period = parse_period(spec, self.TODAY)
        assert period.window == Window(D(first), D(last))
        assert (period.label, period.title, period.cut) == (label, title, False)

    def test_rep002_a_running_period_stops_at_the_last_complete_day(self):
        period = parse_period("2026-11", self.TODAY)
        assert period.window == Window(D("2026-11-01"), D("2026-11-28")) and period.cut
        assert period.label == "11月1日—28日"
        year = parse_period("2026", self.TODAY)
        assert year.window.last == D("2026-11-28") and year.cut

    def test_rep003_presets_follow_the_review_page_to_yesterday(self):
        assert parse_period("ytd", self.TODAY).window == Window(D("2026-01-01"), D("2026-11-28"))
        assert parse_period("month", self.TODAY).window == Window(D("2026-11-01"), D("2026-11-28"))
        # on the 1st a preset month is the whole month before; on 1 January the year is the year before
        assert parse_period("month", D("2026-12-01")).window == Window(D("2026-11-01"), D("2026-11-30"))
        assert parse_period("ytd", D("2027-01-01")).window == Window(D("2026-01-01"), D("2026-12-31"))
        assert parse_period("ytd", D("2027-01-01")).label == "2026年"
        assert parse_period("week", D("2026-11-30")).window == Window(D("2026-11-23"), D("2026-11-29"))
        assert parse_period(None, self.TODAY).kind == "month"

    @pytest.mark.parametrize("spec, message", [
        ("2026-13", "month must be in 1..12"),
        ("2026-10-32", "day is out of range"),
        ("yesterday", "not understood"),
        ("2026-10..2026-01", "ends before it starts"),
        ("2027-01", "has not begun"),
        ("2020..2026", "longer than three years"),
        ("2026-W60", "period '2026-W60'"),
    ])
    def test_rep004_bad_periods_say_why(self, spec, message):
        with pytest.raises(ReportError, match=re.escape(message)):
            parse_period(spec, self.TODAY)

    def test_rep005_windows_compared(self):
        month = parse_period("2026-10", self.TODAY)
        windows = report_windows(month, 2024)
        assert windows["year_earlier"] == Window(D("2025-10-01"), D("2025-10-31"))
        assert windows["before"] == Window(D("2026-09-01"), D("2026-09-30"))
        assert windows["baseline"] == Window(D("2024-10-01"), D("2024-10-31"))
        assert report_windows(parse_period("2026-01..2026-10", self.TODAY), 2024)["before"] is None
        assert report_windows(parse_period("2025", self.TODAY), 2024)["before"] is None
        week = report_windows(parse_period("2026-W44", self.TODAY), 2024)
        assert week["before"] == Window(D("2026-10-19"), D("2026-10-25"))

    def test_rep006_labels_name_the_year_only_when_needed(self):
        today = D("2026-11-29")
        assert period_label(Window(D("2025-10-01"), D("2025-10-31")), today) == "2025年10月"
        assert period_label(Window(D("2026-03-01"), D("2026-03-31")), today) == "3月"
        assert period_label(Window(D("2026-03-05"), D("2026-04-02")), today) == "3月5日—4月2日"


class TestPhrases:
    def test_rep010_significant_changes_have_direction_and_size(self):
        assert change_phrase(Change(87_087, 98_068)) == "同比下降11.2%"
        assert change_phrase(Change(1_200, 1_000)) == "同比上升20.0%"

    def test_rep011_changes_within_noise_say_so(self):
        assert Change(103, 100).significance == "noise"
        assert change_phrase(Change(103, 100)) == "同比上升3.0%（变化不明显）"

    def test_rep012_zero_bases_have_no_percentage(self):
        assert change_phrase(Change(5, 0)) == "去年同期为0"
        assert change_phrase(Change(0, 0)) == "去年同期亦为0"
        assert "%" not in change_phrase(Change(5, 0)) + change_phrase(Change(0, 0))

    def test_rep013_no_change_is_level(self):
        assert change_phrase(Change(10_000, 10_000)) == "与去年同期持平"
        assert change_phrase(Change(20_001, 20_000)) == "与去年同期持平"  # 0.005% rounds to 0.0


# --- numbers against independent SQL (scale-1 demo, both backends) ----------------------------------

def _bound(day: date, dialect: str):
    moment = datetime.combine(day, time(0), SHANGHAI).astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S") if dialect == "sqlite" else moment


def raw_count(engine, table: str, column: str, window: Window, where: str = "1=1", params: dict | None = None) -> int:
    """count(*) over a base table for Shanghai days first..last, written independently of data/."""
    dialect = engine.dialect.name
    sql = f"SELECT count(*) FROM {table} WHERE {column} >= :start AND {column} < :end AND {where}"
    with engine.connect() as conn:
        return int(conn.execute(text(sql), {"start": _bound(window.first, dialect),
                                            "end": _bound(window.last + timedelta(days=1), dialect),
                                            **(params or {})}).scalar_one())


def last_month_spec(today: date) -> str:
    last = today.replace(day=1) - timedelta(days=1)
    return f"{last.year}-{last.month:02d}"


def runnable(query: str, dialect: str) -> str:
    """A fact's SQL as written, with its Shanghai-midnight literals made UTC text on SQLite."""
    if dialect != "sqlite":
        return query

    def utc(match):
        return "'" + _bound(D(match.group(1)), "sqlite") + "'"

    return re.sub(r"'(\d{4}-\d{2}-\d{2}) 00:00\+08'", utc, query)


@pytest.fixture
def month_report(demo_engine):
    today = DemoSettings.load(demo_engine).seed_day
    with demo_engine.connect() as conn:
        data = build_report(conn, parse_period(last_month_spec(today), today), resolve_unit(conn, "织南"), today)
    return demo_engine, today, data


@pytest.mark.slow
class TestNumbers:
    def test_rep020_headline_counts_equal_independent_sql(self, month_report):
        engine, _today, data = month_report
        w, y = data.windows["now"], data.windows["year_earlier"]
        with engine.connect() as conn:
            station = conn.execute(text("SELECT id FROM stations WHERE name = '织南派出所'")).scalar_one()
        s = {"s": station}
        expected = {
            "incidents.total.now": raw_count(engine, "incidents", "received_at", w, "station_id = :s", s),
            "incidents.total.year_earlier": raw_count(engine, "incidents", "received_at", y, "station_id = :s", s),
            "incidents.enterprise.now": raw_count(engine, "incidents", "received_at", w,
                                                  "station_id = :s AND enterprise_related", s),
            "incidents.刑事.now": raw_count(engine, "incidents", "received_at", w,
                                          "station_id = :s AND category = '刑事'", s),
            "incidents.交通事故.year_earlier": raw_count(engine, "incidents", "received_at", y,
                                                   "station_id = :s AND category = '交通事故'", s),
            "disputes.total.now": raw_count(engine, "disputes", "reported_at", w, "station_id = :s", s),
            "disputes.劳资.now": raw_count(engine, "disputes", "reported_at", w,
                                         "station_id = :s AND dispute_type = '劳资'", s),
            "disputes.enterprise_economic.now": raw_count(
                engine, "disputes", "reported_at", w,
                "station_id = :s AND dispute_type = '经济' AND enterprise_id IS NOT NULL", s),
            "hazards.total.now": raw_count(engine, "hazards", "found_at", w, "station_id = :s", s),
            "hazards.rectified": raw_count(engine, "hazards", "found_at", w,
                                           "station_id = :s AND status = '已整改'", s),
            "criminal.cases": raw_count(engine, "incidents", "received_at", w,
                                        "station_id = :s AND category = '刑事' AND enterprise_related", s),
        }
        with engine.connect() as conn:
            expected["hazards.overdue"] = int(conn.execute(text(
                "SELECT count(*) FROM hazards WHERE status = '待整改' AND deadline < :today AND station_id = :s"),
                {"today": data.today, "s": station}).scalar_one())
        facts = {f.key: f.value for f in data.facts}
        assert {k: facts[k] for k in expected} == expected
        assert expected["incidents.total.now"] > 500  # a real month, not an empty window

    def test_rep021_every_fact_runs_as_written(self, month_report):
        engine, _today, data = month_report
        checked = 0
        with engine.connect() as conn:
            for fact in data.facts:
                if not fact.query.startswith("SELECT"):
                    continue  # derived values (percentages, shares) name their inputs instead
                row = conn.execute(text(runnable(fact.query, engine.dialect.name))).first()
                if fact.key.startswith("index."):
                    assert round(float(row[0]), 1) == fact.value, fact
                elif fact.key in ("criminal.loss", "criminal.recovered"):
                    column = 1 if fact.key == "criminal.loss" else 2
                    assert float(row[column] or 0) == pytest.approx(float(fact.value)), fact
                else:
                    assert int(row[0]) == fact.value, fact
                checked += 1
        assert checked >= 25

    def test_rep022_sentences_carry_the_numbers_of_their_facts(self, month_report):
        _engine, _today, data = month_report
        first = data.sentences[0]
        total = next(f for f in first.facts if f.key == "incidents.total.now").value
        before = next(f for f in first.facts if f.key == "incidents.total.year_earlier").value
        assert first.text.startswith(f"{data.period.label}，织南派出所辖区共接报警情{total:,}起，")
        assert change_phrase(Change(total, before)) in first.text

    def test_rep023_town_range_report_uses_the_town(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        last = today.replace(day=1) - timedelta(days=1)
        with demo_engine.connect() as conn:
            data = build_report(conn, parse_period(f"{last.year}-01..{last.year}-{last.month:02d}", today),
                                resolve_unit(conn, "全镇"), today)
        window = data.windows["now"]
        total = raw_count(demo_engine, "incidents", "received_at", window)
        label = "全年" if last.month == 12 else (f"1—{last.month}月" if last.month > 1 else "1月")
        assert f"共接报警情{total:,}起" in data.sentences[0].text
        assert data.sentences[0].text.startswith(label if last.year == today.year else f"{last.year}年")

    def test_rep024_units_resolve_and_unknown_ones_are_refused(self, demo_engine):
        with demo_engine.connect() as conn:
            assert resolve_unit(conn, "织南").name == "织南派出所"
            assert resolve_unit(conn, "织南派出所").short == "织南"
            assert resolve_unit(conn, "香圩墩园区").unit.kind == "park"
            assert resolve_unit(conn, None).unit.kind == "town"
            with pytest.raises(ReportError, match="unknown unit '织中'; use one of: 全镇, 织东"):
                resolve_unit(conn, "织中")


# --- the documents ----------------------------------------------------------------------------------

def _squash(text_: str) -> str:
    return re.sub(r"\s+", "", text_)


def _pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)


def _docx_text(body: bytes) -> str:
    from docx import Document

    document = Document(io.BytesIO(body))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def _headline_numbers(flat: str) -> dict[str, int]:
    patterns = {
        "incidents": r"共接报警情([\d,]+)起",
        "enterprise": r"其中涉企警情([\d,]+)起",
        "criminal": r"刑事警情([\d,]+)起",
        "disputes": r"共受理矛盾纠纷([\d,]+)起",
        "labour": r"其中劳资纠纷([\d,]+)起",
        "hazards": r"排查发现安全隐患([\d,]+)处",
        "overdue": r"逾期未整改隐患([\d,]+)处",
    }
    found = {}
    for name, pattern in patterns.items():
        match = re.search(pattern, flat)
        assert match, f"{name} missing from the document"
        found[name] = int(match.group(1).replace(",", ""))
    return found


@pytest.fixture(scope="module")
def documents(demo_databases):
    """A month's report for 织南 as PDF and DOCX (SQLite demo), with its independent headline counts."""
    from exports import report as report_layout

    engine = demo_databases("sqlite")
    today = DemoSettings.load(engine).seed_day
    with engine.connect() as conn:
        data = build_report(conn, parse_period(last_month_spec(today), today), resolve_unit(conn, "织南"), today)
        station = conn.execute(text("SELECT id FROM stations WHERE name = '织南派出所'")).scalar_one()
        overdue = int(conn.execute(text("SELECT count(*) FROM hazards WHERE status = '待整改' AND deadline < :t "
                                        "AND station_id = :s"), {"t": today, "s": station}).scalar_one())
    w, s = data.windows["now"], {"s": station}
    expected = {
        "incidents": raw_count(engine, "incidents", "received_at", w, "station_id = :s", s),
        "enterprise": raw_count(engine, "incidents", "received_at", w, "station_id = :s AND enterprise_related", s),
        "criminal": raw_count(engine, "incidents", "received_at", w, "station_id = :s AND category = '刑事'", s),
        "disputes": raw_count(engine, "disputes", "reported_at", w, "station_id = :s", s),
        "labour": raw_count(engine, "disputes", "reported_at", w, "station_id = :s AND dispute_type = '劳资'", s),
        "hazards": raw_count(engine, "hazards", "found_at", w, "station_id = :s", s),
        "overdue": overdue,
    }
    return {"data": data, "expected": expected, "pdf": report_layout.render(data, "pdf"),
            "docx": report_layout.render(data, "docx"), "engine": engine}


@pytest.mark.slow
class TestDocuments:
    def test_rep030_pdf_headline_numbers_equal_independent_counts(self, documents):
        flat = _squash(_pdf_text(documents["pdf"]))
        assert _headline_numbers(flat) == documents["expected"]
        assert "织南派出所" in flat and "平安建设工作通报" in flat and "附：数据口径" in flat

    def test_rep031_docx_headline_numbers_equal_independent_counts(self, documents):
        flat = _squash(_docx_text(documents["docx"]))
        assert _headline_numbers(flat) == documents["expected"]
        assert "期间对比" in flat and "企业平安指数" in flat and "逾期未整改隐患" in flat

    def test_rep032_pdf_is_a4_and_its_first_page_is_not_blank(self, documents):
        import numpy as np
        import pypdfium2 as pdfium
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(documents["pdf"]))
        width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
        assert (round(width), round(height)) == (595, 842)  # A4 in points
        assert len(reader.pages) >= 4
        page = pdfium.PdfDocument(documents["pdf"])[0]
        pixels = np.asarray(page.render(scale=1).to_pil().convert("L"))
        inked = (pixels < 128).mean()
        assert 0.01 < inked < 0.5, inked  # text on a white page, neither blank nor black

    def test_rep033_pdf_embeds_a_cjk_font_and_keeps_text(self, documents):
        from pypdf import PdfReader

        fonts = set()
        for page in PdfReader(io.BytesIO(documents["pdf"])).pages:
            for font in (page["/Resources"].get("/Font") or {}).values():
                fonts.add(str(font.get_object()["/BaseFont"]))
        assert any("EqianCJK" in f or "WenQuanYi" in f for f in fonts), fonts
        assert "共接报警情" in _squash(_pdf_text(documents["pdf"]))

    def test_rep034_docx_has_the_key_charts(self, documents):
        from docx import Document

        document = Document(io.BytesIO(documents["docx"]))
        images = [r for r in document.part.rels.values() if "image" in r.reltype]
        assert len(images) >= 4

    def test_rep035_addresses_are_masked_unless_allowed(self, documents):
        from exports import report as report_layout

        data = documents["data"]
        assert data.overdue, "the demo has overdue hazards in 织南"
        engine, today = documents["engine"], data.today
        shown = data.overdue[0]
        with engine.connect() as conn:
            full = conn.execute(text("SELECT e.address FROM hazards h JOIN enterprises e ON e.id = h.enterprise_id "
                                     "WHERE h.id = :id"), {"id": shown.id}).scalar_one()
        assert shown.address != full and full.startswith(shown.address)
        assert full not in _docx_text(documents["docx"]) and full not in _squash(_pdf_text(documents["pdf"]))
        with engine.connect() as conn:
            open_data = build_report(conn, data.period, data.unit, today, viewer=ANALYST_SYSTEM)
        assert open_data.overdue[0].id == shown.id and open_data.overdue[0].address == full
        assert full in _docx_text(report_layout.render(open_data, "docx"))


# --- the command line -------------------------------------------------------------------------------

@pytest.fixture
def cli_app(demo_databases):
    engine = demo_databases("sqlite")
    server = create_app({"EQIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                         "EQIAN_SIMULATE": False})
    yield server
    db.engine_of(server).dispose()


@pytest.mark.slow
class TestCommand:
    def test_rep040_report_command_writes_the_pdf(self, cli_app, tmp_path):
        from data.core.timeutil import local_today

        out = tmp_path / "织南.pdf"
        period = last_month_spec(local_today())
        result = cli_app.test_cli_runner().invoke(
            args=["report", "--period", period, "--unit", "织南", "--format", "pdf", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert out.read_bytes()[:5] == b"%PDF-" and "平安建设工作通报" in result.output
        assert "共接报警情" in _squash(_pdf_text(out.read_bytes()))

    def test_rep041_report_command_writes_the_docx(self, cli_app, tmp_path):
        out = tmp_path / "town.docx"
        result = cli_app.test_cli_runner().invoke(args=["report", "--period", "ytd", "--format", "docx",
                                                        "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "全镇" in _docx_text(out.read_bytes())

    @pytest.mark.parametrize("args, message", [
        (["--unit", "织中"], "unknown unit '织中'"),
        (["--period", "2026-13"], "month must be in 1..12"),
        (["--format", "txt"], "Invalid value for '--format'"),
    ])
    def test_rep042_bad_arguments_fail_clearly(self, cli_app, tmp_path, args, message):
        result = cli_app.test_cli_runner().invoke(args=["report", "--out", str(tmp_path / "x.pdf"), *args])
        assert result.exit_code != 0 and message in result.output
        assert not (tmp_path / "x.pdf").exists()

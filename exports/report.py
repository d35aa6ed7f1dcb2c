"""The report laid out: its charts (Plotly), an A4 PDF (ReportLab) and a DOCX (python-docx).

``data.screens.report.build_report`` computes everything; this module only draws it. ``render`` makes the chart
images in one batch on the shared browser (exports/images.py) and lays the report out:

1. title block (unit, period, windows compared, generated at, masking, demo mark);
2. 一、总体情况: the headline sentences, each followed by the numbers of the facts it rests on;
3. 二、期间对比: the period book (本期, 去年同期, 同比, 上期, 环比, 基准年);
4. 三、重点图表: monthly trend, categories, units one level down, dispute settlement levels;
5. 四、企业平安指数: the unit's score and the rankings;
6. 五、逾期未整改隐患: the most overdue hazards;
7. 附：数据口径: every fact with the SQL that gives it.

The PDF embeds a CJK TrueType font (WenQuanYi Micro Hei from fonts-wqy-microhei, or EQIAN_REPORT_FONT),
so Chinese prints as text; the DOCX names 宋体 / 黑体, which Word and WPS have.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import plotly.graph_objects as go

from data.core.periods import last_complete_day
from data.core.timeutil import local_stamp
from data.counts.metrics import Change, format_change
from data.screens.report import BOOK_KEY, OVERDUE_SHOWN, ReportData
from data.screens.review import BookRow
from exports import images as figures_export
from figures.review import drill_figure, measure_change, measure_label, measure_value, trend_figure
from figures.strings import t
from figures.text import SIGNIFICANCE_MARKS, count_text
from figures.theme import BAND_COLOURS, LIGHT_TEMPLATE_NAME

# ReportLab (about 70-90 ms to import) and python-docx (about 30-40 ms), measured on top of what the app loads
# anyway, are imported inside the functions that lay out their format: a PDF does not wait for python-docx,
# nor a DOCX for ReportLab.

FORMATS = ("pdf", "docx")
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
FONT_NAME = "EqianCJK"
CHART_WIDTH, CHART_HEIGHT = 1000, 420  # CSS px; PNG at scale 2 is 2000 px: 300 dpi on a 17 cm column
INDEX_CHART = "平安指数排名"
DRILL_TITLES = {"station": "各派出所警情", "park": "各园区警情", "enterprise": "园区内企业警情"}


class ReportFontMissing(RuntimeError):
    """No CJK TrueType font to embed in the PDF."""


# --- charts -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Chart:
    name: str  # the file-name subject: 警情分类
    caption: str
    figure: go.Figure


def _light(fig: go.Figure, height: int = CHART_HEIGHT) -> go.Figure:
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, width=CHART_WIDTH, height=height)
    return fig


def category_figure(book: list[BookRow]) -> go.Figure:
    """Incidents by category, this period against a year earlier."""
    rows = [r for r in book if r.section == "incidents" and r.key not in ("total", "enterprise")]
    names = [r.key for r in rows]
    fig = go.Figure([
        go.Bar(x=names, y=[r.cells[BOOK_KEY].now for r in rows], name=t("col_now"),
               text=[count_text(r.cells[BOOK_KEY].now) for r in rows], textposition="outside"),
        go.Bar(x=names, y=[r.cells[BOOK_KEY].year_earlier.before for r in rows], name=t("col_year_earlier"),
               marker={"color": "#b0bec5"}),
    ])
    fig.update_layout(barmode="group", margin={"l": 60, "r": 20, "t": 30, "b": 50},
                      legend={"orientation": "h", "y": 1.1}, yaxis={"title": "起"})
    return _light(fig)


def dispute_level_figure(by_level: dict[str, int]) -> go.Figure:
    """Settled disputes by the level that settled them (企业内 and 园区 highlighted: 矛盾不出企业)."""
    levels = list(by_level)
    colours = ["#2ca02c" if lv in ("企业内", "园区") else "#7f8c8d" for lv in levels]
    fig = go.Figure(go.Bar(x=levels, y=[by_level[lv] for lv in levels], marker={"color": colours},
                           text=[f"{by_level[lv]:,}" for lv in levels], textposition="outside"))
    fig.update_layout(margin={"l": 60, "r": 20, "t": 30, "b": 50}, yaxis={"title": "已化解（起）"}, showlegend=False)
    return _light(fig, 360)


def index_figure(ranks) -> go.Figure:
    """A safety-index ranking as horizontal bars coloured by band (best at the top)."""
    ordered = list(reversed(ranks))
    fig = go.Figure(go.Bar(y=[r.name for r in ordered], x=[r.score for r in ordered], orientation="h",
                           marker={"color": [BAND_COLOURS.get(r.band, "#888") for r in ordered]},
                           text=[f"{r.score:.1f}" for r in ordered], textposition="outside"))
    low = min((r.score for r in ranks), default=0)
    fig.update_layout(margin={"l": 160, "r": 40, "t": 20, "b": 50},
                      xaxis={"range": [max(0, low - 10), 100], "title": "平安指数"}, showlegend=False)
    return _light(fig, max(260, 60 + 34 * len(ranks)))


def report_charts(data: ReportData) -> list[Chart]:
    """The key charts of a report, in the order printed."""
    charts = [
        Chart("警情月度趋势", f"图1 {data.unit.name}警情月度趋势（{data.period.window.last.year}年与前两年）",
              _light(trend_figure(data.trend, "zh", "警情（起）"))),
        Chart("警情分类", f"图2 {data.period.label}警情分类（本期与去年同期）", category_figure(data.book)),
    ]
    if data.drill:
        title = DRILL_TITLES.get(data.drill[0].kind, "下级单位警情")
        charts.append(Chart(title, f"图{len(charts) + 1} {title}（本期与去年同期）",
                            _light(drill_figure(data.drill, "zh"), 380)))
    if any(data.disputes.by_level.values()):
        charts.append(Chart("纠纷化解层级", f"图{len(charts) + 1} 已化解纠纷的化解层级",
                            dispute_level_figure(data.disputes.by_level)))
    units = [(title, ranks) for title, ranks in data.index.rankings if ranks and ranks[0].kind in ("station", "park")]
    if units:
        title, ranks = max(units, key=lambda item: len(item[1]))  # the parks where there are any
        charts.append(Chart(INDEX_CHART, f"图{len(charts) + 1} {data.index.month.month}月{title}企业平安指数",
                            index_figure(ranks)))
    return charts


CHART_STEPS = 1  # progress calls while rendering the charts (one batch)
LAYOUT_STEPS = 1


def render(data: ReportData, fmt: str, progress: Callable[[str], None] | None = None) -> bytes:
    """The report as PDF or DOCX bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use pdf or docx")
    step = progress or (lambda _label: None)
    charts = report_charts(data)
    images = figures_export.render_images({c.name: c.figure for c in charts}, "png")
    step("图表")
    body = render_pdf(data, charts, images) if fmt == "pdf" else render_docx(data, charts, images)
    step("排版")
    return body


# --- shared text ------------------------------------------------------------------------------------

def _day(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def _window(w) -> str:
    return "—" if w is None else f"{w.first.isoformat()} 至 {w.last.isoformat()}"


def title_lines(data: ReportData) -> list[tuple[str, str]]:
    """The title block's facts: (label, value)."""
    w = data.windows
    lines = [
        ("统计单位", data.unit.name),
        ("统计期间", f"{_window(w['now'])}（北京时间，含首尾，只含完整日"
                     + ("；截至昨日24时" if w["now"].last == last_complete_day(data.today) else "") + "）"),
        ("同比期间", _window(w["year_earlier"])),
        ("环比期间", _window(w["before"])),
        ("基准年", f"{data.baseline_year}年（{_window(w['baseline'])}）"),
        ("生成时间", local_stamp(data.generated_at)),
        ("个人信息", "未脱敏（经授权）" if data.unmasked else "已脱敏（地址仅到街道）"),
    ]
    if data.demo:
        lines.append(("数据来源", "演示数据（合成，非真实警情）"))
    return lines


def fact_numbers(data: ReportData) -> dict[int, int]:
    """Each fact's number in the appendix (F1, F2, …), keyed by id()."""
    return {id(f): i for i, f in enumerate(data.facts, start=1)}


def fact_refs(data: ReportData, sentence) -> str:
    numbers = sorted(fact_numbers(data)[id(f)] for f in sentence.facts)
    if not numbers:
        return ""
    return f"〔数据：F{numbers[0]}–F{numbers[-1]}〕" if len(numbers) > 1 else f"〔数据：F{numbers[0]}〕"


def _pct(change: Change | None) -> str:
    if change is None:
        return "—"
    return f"{format_change(change)} {SIGNIFICANCE_MARKS[change.significance]}".strip()


def book_label(row: BookRow) -> str:
    if row.key == "total":
        return t(f"book_total_{row.section}")
    if row.key == "enterprise":
        return t("book_enterprise")
    return f"　{row.key}"


BOOK_NOTE = ("各期只含完整日；同比为本期较去年同期，环比为本期较上期；▲▲ 显著，▲ 值得关注，≈ 属正常波动；"
             "基数为零时不计算百分比；数据未覆盖的期间记为无数据。")
BOOK_HEADER = ["项目", "本期", "去年同期", "同比", "上期", "环比", "基准年同期", "较基准年"]


def book_rows(book: list[BookRow]) -> list[list[str]]:
    """The period book as text rows under BOOK_HEADER (section rows have one cell)."""
    rows, section = [], None
    for row in book:
        if row.section != section:
            section = row.section
            rows.append([t(f"section_{section}")])
        c = row.cells[BOOK_KEY]
        rows.append([book_label(row), count_text(c.now), count_text(c.year_earlier.before), _pct(c.year_earlier),
                     "—" if c.before is None else count_text(c.before.before), _pct(c.before),
                     count_text(c.baseline.before), _pct(c.baseline)])
    return rows


MEASURE_HEADER = ["指标", "本期", "去年同期", "变化", "依据（本期 / 去年同期）"]
MEASURE_NOTE = ("中位数为下中位数；比率的变化用两比例检验、中位数的变化用 Mood 中位数检验判断显著性"
                "（▲▲ 显著，▲ 值得关注，≈ 属正常波动）；无数据表示没有可计算的记录。")


def measure_rows(data: ReportData) -> list[list[str]]:
    """The operational measures against a year earlier, as text rows under MEASURE_HEADER."""
    rows = []
    for m in data.measures:
        mark = SIGNIFICANCE_MARKS[m.significance]
        rows.append([measure_label(m.key, "zh"), measure_value(m.now, m.unit, "zh"),
                     measure_value(m.before, m.unit, "zh"), f"{measure_change(m, 'zh')} {mark}".strip(),
                     f"{m.n_now:,} / {m.n_before:,}"])
    return rows


INDEX_HEADER = ["排名", "名称", "平安指数", "档次", "较上月"]
OVERDUE_HEADER = ["序号", "企业", "地址", "派出所", "园区", "隐患类型", "等级", "整改期限", "逾期天数"]
FACT_HEADER = ["编号", "指标", "数值", "查询（与汇总表结果一致）"]


def index_rows(ranks) -> list[list[str]]:
    return [[str(i), r.name, f"{r.score:.1f}", r.band, "—" if r.change is None else f"{r.change:+.1f}"]
            for i, r in enumerate(ranks, start=1)]


def overdue_rows(data: ReportData) -> list[list[str]]:
    return [[str(i), o.enterprise, o.address, o.station.removesuffix("派出所"), o.park, o.hazard_type, o.severity,
             o.deadline.isoformat(), str(o.days_overdue)]
            for i, o in enumerate(data.overdue[:OVERDUE_SHOWN], start=1)]


def _value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,}" if not isinstance(value, float) else f"{value:,.1f}"


def fact_rows(data: ReportData) -> list[list[str]]:
    return [[f"F{i}", f.label, _value(f.value), f.query] for i, f in enumerate(data.facts, start=1)]


def index_intro(data: ReportData) -> str:
    idx = data.index
    if idx.score is None:
        return f"{idx.month.year}年{idx.month.month}月尚无平安指数数据。"
    text = f"{idx.month.year}年{idx.month.month}月，{data.unit.place}企业平安指数为{idx.score:.1f}（{idx.band}档）"
    if idx.previous is not None:
        text += f"，上月为{idx.previous:.1f}"
    return text + "。指数0—100，越高越安全；单位得分为辖内企业按从业人数加权的平均。"


def overdue_intro(data: ReportData) -> str:
    total = len(data.overdue)
    if total == 0:
        return f"截至{_day(data.today)}，无逾期未整改隐患。"
    shown = min(total, OVERDUE_SHOWN)
    text = f"截至{_day(data.today)}，{data.unit.place}逾期未整改隐患共{total:,}处"
    text += "，全部列出如下。" if shown == total else f"，下表列出逾期最久的{shown}处（完整清单可导出为表格）。"
    return text


# --- PDF --------------------------------------------------------------------------------------------

def font_path() -> Path:
    """The CJK TrueType font to embed: EQIAN_REPORT_FONT, else the first installed candidate."""
    chosen = os.environ.get("EQIAN_REPORT_FONT")
    for candidate in ([chosen] if chosen else []) + list(FONT_CANDIDATES):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ReportFontMissing("no CJK TrueType font found: install fonts-wqy-microhei or set EQIAN_REPORT_FONT")


@lru_cache(maxsize=1)
def _register_font() -> str:
    from reportlab.pdfbase import pdfmetrics  # noqa: PLC0415
    from reportlab.pdfbase.ttfonts import TTFont  # noqa: PLC0415
    from reportlab.platypus import paragraph  # noqa: PLC0415

    # ReportLab's CJK wrapping keeps 。、） off the start of a line but not the full-width ，；：？！ that
    # Chinese text uses most: add them (a module constant, read at each wrap).
    missing = "".join(ch for ch in "，；：？！」』" if ch not in paragraph.ALL_CANNOT_START)
    paragraph.ALL_CANNOT_START += missing
    path = font_path()
    options = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(path), **options))
    pdfmetrics.registerFontFamily(FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME,
                                  boldItalic=FONT_NAME)
    return FONT_NAME


def _styles():
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.lib.enums import TA_CENTER  # noqa: PLC0415
    from reportlab.lib.styles import ParagraphStyle  # noqa: PLC0415

    font = _register_font()
    base = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK", firstLineIndent=22)
    return {
        "body": base,
        "title": ParagraphStyle("title", parent=base, fontSize=20, leading=28, alignment=TA_CENTER, firstLineIndent=0,
                                spaceAfter=6),
        "org": ParagraphStyle("org", parent=base, fontSize=10, alignment=TA_CENTER, firstLineIndent=0,
                              textColor=colors.HexColor("#555555")),
        "h1": ParagraphStyle("h1", parent=base, fontSize=14, leading=22, firstLineIndent=0, spaceBefore=10,
                             spaceAfter=4),
        "note": ParagraphStyle("note", parent=base, fontSize=8.5, leading=12, firstLineIndent=0,
                               textColor=colors.HexColor("#666666")),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8.5, leading=11, firstLineIndent=0),
        "caption": ParagraphStyle("caption", parent=base, fontSize=9.5, leading=14, alignment=TA_CENTER,
                                  firstLineIndent=0, spaceAfter=8),
        "demo": ParagraphStyle("demo", parent=base, fontSize=10, alignment=TA_CENTER, firstLineIndent=0,
                               textColor=colors.HexColor("#c0392b")),
    }


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _pdf_table(header: list[str], rows: list[list[str]], widths, styles, wrap: tuple[int, ...] = (),
               section_rows: bool = False, centre: tuple[int, ...] = ()):
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.platypus import Paragraph, Table, TableStyle  # noqa: PLC0415

    cell = styles["cell"]
    body = []
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), FONT_NAME), ("FONTSIZE", (0, 0), (-1, -1), 8.5),
        ("LEADING", (0, 0), (-1, -1), 11), ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8edf2")), ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"), ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    for i, row in enumerate(rows, start=1):
        if section_rows and len(row) == 1:
            body.append(row + [""] * (len(header) - 1))
            commands += [("SPAN", (0, i), (-1, i)), ("BACKGROUND", (0, i), (-1, i), colors.HexColor("#f4f6f8")),
                         ("ALIGN", (0, i), (-1, i), "LEFT")]
            continue
        body.append([Paragraph(_esc(v), cell) if j in wrap else v for j, v in enumerate(row)])
    for j in wrap:
        commands.append(("ALIGN", (j, 1), (j, -1), "LEFT"))
    for j in centre:
        commands.append(("ALIGN", (j, 1), (j, -1), "CENTER"))
    table = Table([header] + body, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(commands))
    return table


def render_pdf(data: ReportData, charts: list[Chart], images: dict[str, bytes]) -> bytes:
    """The report as an A4 PDF."""
    from reportlab.lib import colors  # noqa: PLC0415
    from reportlab.lib.pagesizes import A4  # noqa: PLC0415
    from reportlab.lib.units import mm  # noqa: PLC0415
    from reportlab.platypus import (  # noqa: PLC0415
        CondPageBreak,
        Image,
        KeepTogether,
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = _styles()
    out = io.BytesIO()
    margin = 18 * mm
    width = A4[0] - 2 * margin
    footer = data.footer

    def decorate(canvas, doc):
        canvas.saveState()
        canvas.setFont(FONT_NAME, 8)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(margin, 10 * mm, footer)
        canvas.drawRightString(A4[0] - margin, 10 * mm, f"第 {doc.page} 页")
        canvas.setStrokeColor(colors.HexColor("#bbbbbb"))
        canvas.line(margin, A4[1] - 12 * mm, A4[0] - margin, A4[1] - 12 * mm)
        canvas.drawString(margin, A4[1] - 10.5 * mm, data.title)
        canvas.restoreState()

    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=18 * mm,
                            bottomMargin=18 * mm, title=data.title, author=data.author,
                            subject=f"{data.unit.name} {data.period.title}")
    story = [Paragraph(data.masthead, styles["org"]), Spacer(1, 4 * mm),
             Paragraph(_esc(data.title), styles["title"])]
    if data.demo:
        story.append(Paragraph("演示数据 · 非真实警情", styles["demo"]))
    block = Table([[k, v] for k, v in title_lines(data)], colWidths=[28 * mm, width - 28 * mm])
    block.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), FONT_NAME), ("FONTSIZE", (0, 0), (-1, -1), 9),
                               ("TEXTCOLOR", (0, 0), (0, -1), colors.HexColor("#555555")),
                               ("LINEABOVE", (0, 0), (-1, 0), 0.8, colors.HexColor("#333333")),
                               ("LINEBELOW", (0, -1), (-1, -1), 0.8, colors.HexColor("#333333")),
                               ("TOPPADDING", (0, 0), (-1, -1), 1.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5)]))
    story += [Spacer(1, 4 * mm), block, Spacer(1, 2 * mm)]

    story.append(Paragraph("一、总体情况", styles["h1"]))
    for sentence in data.sentences:
        story.append(Paragraph(_esc(sentence.text) + f' <font size="7.5" color="#888888">{fact_refs(data, sentence)}'
                               "</font>", styles["body"]))

    story += [CondPageBreak(120 * mm), Paragraph("二、期间对比", styles["h1"]),
              Paragraph(BOOK_NOTE, styles["note"]), Spacer(1, 2 * mm)]
    col = width / 100
    story.append(_pdf_table(BOOK_HEADER, book_rows(data.book),
                            [22 * col, 10 * col, 11 * col, 12 * col, 10 * col, 12 * col, 11 * col, 12 * col],
                            styles, section_rows=True))
    story += [Spacer(1, 3 * mm), Paragraph("运行指标", styles["caption"]), Paragraph(MEASURE_NOTE, styles["note"]),
              _pdf_table(MEASURE_HEADER, measure_rows(data), [34 * col, 15 * col, 15 * col, 16 * col, 20 * col],
                         styles, wrap=(0,))]

    story += [PageBreak(), Paragraph("三、重点图表", styles["h1"])]
    def figure(chart):
        png = images[chart.name]
        w_px, h_px = figures_export.png_size(png)
        image = Image(io.BytesIO(png), width=width, height=width * h_px / w_px)
        return KeepTogether([image, Paragraph(_esc(chart.caption), styles["caption"])])

    story += [figure(c) for c in charts if c.name != INDEX_CHART]
    story += [CondPageBreak(80 * mm), Paragraph("四、企业平安指数", styles["h1"]),
              Paragraph(_esc(index_intro(data)), styles["body"])]
    story += [figure(c) for c in charts if c.name == INDEX_CHART]
    for title, ranks in data.index.rankings:
        story += [Spacer(1, 2 * mm), Paragraph(_esc(title), styles["caption"]),
                  _pdf_table(INDEX_HEADER, index_rows(ranks), [12 * col, 48 * col, 14 * col, 12 * col, 14 * col],
                             styles, wrap=(1,), centre=(0, 3))]

    story += [CondPageBreak(60 * mm), Paragraph("五、逾期未整改隐患", styles["h1"]),
              Paragraph(_esc(overdue_intro(data)), styles["body"])]
    if data.overdue:
        story += [Spacer(1, 2 * mm),
                  _pdf_table(OVERDUE_HEADER, overdue_rows(data),
                             [5 * col, 23 * col, 15 * col, 7 * col, 12 * col, 11 * col, 6 * col, 12 * col, 9 * col],
                             styles, wrap=(1, 2, 4, 5), centre=(0, 3, 6))]

    story += [PageBreak(), Paragraph("附：数据口径", styles["h1"]),
              Paragraph("每个数字均取自触发器维护的汇总表（data/core/rollups.py），其值与下列对原始表的查询一致；"
                        "时间按北京时间（UTC+8）划分自然日，区间含首不含尾。", styles["note"]), Spacer(1, 2 * mm),
              _pdf_table(FACT_HEADER, fact_rows(data), [8 * col, 20 * col, 12 * col, 60 * col], styles,
                         wrap=(1, 3))]
    doc.build(story, onFirstPage=decorate, onLaterPages=decorate)
    return out.getvalue()


# --- DOCX -------------------------------------------------------------------------------------------

def _docx_font(run_or_style, east_asia: str, size_pt: float | None = None, bold: bool | None = None) -> None:
    from docx.oxml.ns import qn  # noqa: PLC0415
    from docx.shared import Pt  # noqa: PLC0415

    font = run_or_style.font
    font.name = "Times New Roman"
    if size_pt is not None:
        font.size = Pt(size_pt)
    if bold is not None:
        font.bold = bold
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.append(fonts)
    fonts.set(qn("w:eastAsia"), east_asia)


def _docx_table(document, header: list[str], rows: list[list[str]], size_pt: float = 8,
                section_rows: bool = False, widths_cm: list[float] | None = None):
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415
    from docx.shared import Cm, Pt  # noqa: PLC0415

    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Table Grid"
    for r, values in enumerate([header] + rows):
        cells = table.rows[r].cells
        if section_rows and len(values) == 1:
            merged = cells[0].merge(cells[-1])
            merged.text = values[0]
            continue
        for c, value in enumerate(values):
            cells[c].text = value
            paragraph = cells[c].paragraphs[0]
            if r > 0 and c > 0 and (value[:1].isdigit() or value[:1] in "+-—"):
                paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            for run in paragraph.runs:
                run.font.size = Pt(size_pt)
                run.font.bold = r == 0
    if widths_cm:
        for row in table.rows:
            for cell, w in zip(row.cells, widths_cm, strict=False):  # widths as the caller gives them
                cell.width = Cm(w)
    return table


def render_docx(data: ReportData, charts: list[Chart], images: dict[str, bytes]) -> bytes:
    """The report as a Word document (A4)."""
    from docx import Document  # noqa: PLC0415
    from docx.enum.section import WD_ORIENT  # noqa: PLC0415
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # noqa: PLC0415
    from docx.shared import Cm, Pt, RGBColor  # noqa: PLC0415

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    _docx_font(document.styles["Normal"], "宋体", 11)
    for name in ("Title", "Heading 1", "Heading 2"):
        _docx_font(document.styles[name], "黑体")
        document.styles[name].font.color.rgb = RGBColor(0x1F, 0x2D, 0x3D)
    section.footer.paragraphs[0].text = data.footer
    section.header.paragraphs[0].text = data.title

    org = document.add_paragraph(data.masthead)
    org.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title = document.add_heading(data.title, level=0)
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    if data.demo:
        demo = document.add_paragraph()
        demo.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = demo.add_run("演示数据 · 非真实警情")
        run.font.color.rgb = RGBColor(0xC0, 0x39, 0x2B)
    _docx_table(document, ["项目", "内容"], [[k, v] for k, v in title_lines(data)], 9, widths_cm=[3, 14])

    document.add_heading("一、总体情况", level=1)
    for sentence in data.sentences:
        paragraph = document.add_paragraph(sentence.text)
        paragraph.paragraph_format.first_line_indent = Pt(22)
        ref = paragraph.add_run(" " + fact_refs(data, sentence))
        ref.font.size = Pt(7.5)
        ref.font.color.rgb = RGBColor(0x88, 0x88, 0x88)

    document.add_heading("二、期间对比", level=1)
    document.add_paragraph(BOOK_NOTE)
    _docx_table(document, BOOK_HEADER, book_rows(data.book), 8, section_rows=True)
    document.add_heading("运行指标", level=2)
    document.add_paragraph(MEASURE_NOTE)
    _docx_table(document, MEASURE_HEADER, measure_rows(data), 8)

    document.add_page_break()
    document.add_heading("三、重点图表", level=1)
    def figure(chart):
        document.add_picture(io.BytesIO(images[chart.name]), width=Cm(17))
        caption = document.add_paragraph(chart.caption)
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER

    for chart in charts:
        if chart.name != INDEX_CHART:
            figure(chart)
    document.add_heading("四、企业平安指数", level=1)
    document.add_paragraph(index_intro(data))
    for chart in charts:
        if chart.name == INDEX_CHART:
            figure(chart)
    for heading, ranks in data.index.rankings:
        document.add_heading(heading, level=2)
        _docx_table(document, INDEX_HEADER, index_rows(ranks), 9, widths_cm=[1.5, 8, 2.5, 2, 2.5])

    document.add_heading("五、逾期未整改隐患", level=1)
    document.add_paragraph(overdue_intro(data))
    if data.overdue:
        _docx_table(document, OVERDUE_HEADER, overdue_rows(data), 7.5)

    document.add_page_break()
    document.add_heading("附：数据口径", level=1)
    document.add_paragraph("每个数字均取自触发器维护的汇总表（data/core/rollups.py），其值与下列对原始表的查询一致；"
                           "时间按北京时间（UTC+8）划分自然日，区间含首不含尾。")
    _docx_table(document, FACT_HEADER, fact_rows(data), 7, widths_cm=[1.2, 3.5, 2.3, 10])
    core = document.core_properties
    core.title, core.author, core.subject = data.title, data.author, data.period.title
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()

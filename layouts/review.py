"""The leadership review page (light theme): filters, the period book, trends and drill-down.

Pure functions: ``layout`` is the shell (filters bound to the URL), ``content`` draws one filter state. The
charts and the names of periods, rows and measures are figures/review.py's (the downloads draw them too).
"""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html

from data.core import vocab
from data.core.organisation import DEFAULT as DEFAULT_ORGANISATION
from data.core.organisation import Organisation
from data.counts.compstat import Comparison
from data.counts.metrics import Change, format_pct
from data.screens.review import BOOK_PERIODS, DEFAULT_ROW, PRESETS, BookRow, DrillItem, ReviewFilters, drill_filters
from figures.review import (
    book_row_label,
    drill_figure,
    festival_figure,
    measure_change,
    measure_label,
    measure_value,
    period_title,
    review_map_figure,
    row_label,
    trend_figure,
    window_words,
)
from figures.strings import bureau_label, t, tv
from figures.text import SIGNIFICANCE_MARKS, count_text, org_title
from figures.theme import GRAPH_CONFIG
from layouts import ids, index_views
from layouts.components import TABLE_AND_CHART, download_links
from layouts.markup import Node, block, el, link

REVIEW_GRAPH_CONFIG = {**GRAPH_CONFIG, "displayModeBar": "hover", "modeBarButtonsToRemove": ["sendDataToCloud"]}


def layout(lang: str, stations: list[dict], parks: list[dict], demo: bool,
           org: Organisation = DEFAULT_ORGANISATION, sectors: list[dict] = (),
           setup_gap: str | None = None) -> html.Div:
    """The review page shell: header, filter bar bound to the URL, and the content area; on a half-configured
    database, first what it lacks (data/screens/setup.py)."""
    other = "en" if lang == "zh" else "zh"
    return html.Div([
        dcc.Store(id=ids.REVIEW_LANG, data=lang),
        html.Header([
            html.H1(org_title("review_title", org, lang), className="review-title"),
            html.Span(t("demo_mark", lang), className="demo-mark") if demo else None,
            html.Nav(id=ids.REVIEW_BREADCRUMBS, className="review-breadcrumbs"),
            html.Div([html.A(t("switch_language", lang), href=f"/review?lang={other}", id=ids.REVIEW_LANG_LINK),
                      html.A(t("to_wall", lang), href="/")], className="review-links"),
        ], className="review-header"),
        html.P(t(f"setup_gap_{setup_gap}", lang), className="review-setup-gap") if setup_gap else None,
        filter_bar(lang, stations, parks, sectors),
        html.Main(skeleton(lang), id=ids.REVIEW_CONTENT, className="review-content"),
    ], className="review-root")


def filter_bar(lang: str, stations: list[dict], parks: list[dict], sectors: list[dict] = ()) -> html.Div:
    """The filters; their values come from the URL and go back into it."""
    return html.Div([
        dcc.RadioItems(id=ids.REVIEW_PERIOD, options=[{"label": t(f"period_{p}", lang), "value": p} for p in PRESETS],
                       value="ytd", inline=True, className="review-periods"),
        dcc.DatePickerRange(id=ids.REVIEW_RANGE, display_format="YYYY-MM-DD", className="review-range",
                            start_date_placeholder_text=t("range_first", lang),
                            end_date_placeholder_text=t("range_last", lang)),
        dcc.Dropdown(id=ids.REVIEW_STATION,
                     options=[{"label": tv(s["name"], lang), "value": s["id"]} for s in stations],
                     placeholder=t("filter_station", lang), className="review-dropdown"),
        dcc.Dropdown(id=ids.REVIEW_PARK, options=[{"label": p["name"], "value": p["id"]} for p in parks],
                     placeholder=t("filter_park", lang), className="review-dropdown"),
        dcc.Dropdown(id=ids.REVIEW_SECTOR, options=[{"label": bureau_label(s["name"], s["name_en"], lang),
                                                     "value": s["name"]} for s in sectors],
                     placeholder=t("filter_sector", lang), className="review-dropdown"),
        dcc.Dropdown(id=ids.REVIEW_CATEGORY,
                     options=[{"label": tv(c, lang), "value": c} for c in vocab.INCIDENT_CATEGORIES],
                     placeholder=t("filter_category", lang), className="review-dropdown"),
        dcc.Checklist(id=ids.REVIEW_ENTERPRISE_ONLY, options=[{"label": t("filter_enterprise_only", lang),
                                                                "value": "1"}], value=[], inline=True),
    ], className="review-filters")


def _pct_cell(change: Change | None, kind: str, lang: str = "zh") -> Node:
    if change is None:
        return el("td", "—", cls="num muted")
    if change.missing:
        return el("td", t("no_data", lang), cls="num muted", data_kind=kind)
    text = format_pct(change.pct, change.now)
    tone = "up" if (change.pct or 0) > 0 or (change.pct is None and change.now > 0) else (
        "down" if (change.pct or 0) < 0 else "flat")
    mark = SIGNIFICANCE_MARKS[change.significance]
    return el("td", text, el("sup", mark, cls=f"sig sig-{change.significance}"), cls=f"num tone-{tone}",
              data_kind=kind)


def review_href(filters: ReviewFilters, row: str | None, lang: str) -> str:
    """The address of a review state: the filters, the selected book row and the language."""
    extra = []
    if row and row != DEFAULT_ROW:
        extra.append(("row", row))
    if lang == "en":
        extra.append(("lang", "en"))
    joined = "&".join(p for p in (filters.to_query(), urlencode(extra)) if p)
    return "/review" + (f"?{joined}" if joined else "")


def unit_href(filters: ReviewFilters, kind: str, unit_id: int, row: str | None, lang: str) -> str:
    """Where a click on a unit one level down goes: the review of that unit, or an enterprise's profile."""
    if kind == "enterprise":
        return f"/enterprise/{unit_id}" + ("?lang=en" if lang == "en" else "")
    return review_href(drill_filters(filters, kind, unit_id), row, lang)


def book_table(rows: list[BookRow], lang: str, selected: str | None, filters: ReviewFilters | None = None):
    """The CompStat book: per period 本期, 去年同期, 同比 (with significance), 环比, and against the baseline.
    A row's name links to its monthly trend. One component (layouts/markup.py)."""
    filters = filters or ReviewFilters()
    kinds = list(rows[0].cells) if rows else list(BOOK_PERIODS)
    head_top = [el("th", "", rowspan=2)]
    for p in kinds:
        window = rows[0].cells[p].window if rows else None
        head_top.append(el("th", period_title(p, window, lang),
                           el("span", window_words(window, lang) if window else "", cls="period-dates"),
                           colspan=5, cls="period-head", data_period=p))
    head_sub = [el("th", t(k, lang)) for _p in kinds
                for k in ("col_now", "col_year_earlier", "col_yoy", "col_pop", "col_baseline")]
    body = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            body.append(el("tr", el("th", t(f"section_{section}", lang), colspan=1 + 5 * len(kinds)),
                           cls="book-section"))
        key = f"{row.section}:{row.key}"
        cells = [el("td", link(book_row_label(row, lang), review_href(filters, key, lang), cls="book-row-link",
                               data_row=key), cls="label")]
        for p in kinds:
            c: Comparison = row.cells[p]
            cells += [el("td", count_text(c.now, lang), cls="num"),
                      el("td", count_text(c.year_earlier.before, lang), cls="num"),
                      _pct_cell(c.year_earlier, "yoy", lang), _pct_cell(c.before, "pop", lang),
                      _pct_cell(c.baseline, "baseline", lang)]
        classes = "book-row" + (" selected" if key == selected else "") + (" total" if row.key == "total" else "")
        body.append(el("tr", cells, cls=classes, id=f"book-{row.section}-{row.key}"))
    table = el("table", el("thead", el("tr", head_top), el("tr", head_sub)), el("tbody", body),
               id=ids.REVIEW_BOOK, cls="book-table")
    return block(None, table, "markup-block")


def breadcrumb_links(crumbs: list[tuple[str, ReviewFilters]], lang: str,
                     org: Organisation = DEFAULT_ORGANISATION) -> list:
    """The whole jurisdiction › station › park › enterprise, each a link to its view."""
    out = []
    for i, (name, filters) in enumerate(crumbs):
        label = org.whole_word(lang) if name == "town" else tv(name, lang)
        query = filters.to_query()
        if lang == "en":
            query = (query + "&" if query else "") + "lang=en"
        out.append(dcc.Link(label, href=f"/review?{query}" if query else "/review", className="crumb"))
        if i < len(crumbs) - 1:
            out.append(html.Span(" › ", className="crumb-sep"))
    return out


def skeleton(lang: str) -> list:
    """The sections of the page, drawn once; each refresh fills them in place, so graphs stay mounted
    (Plotly redraws them incrementally) and only what changed is sent."""
    def graph(graph_id, height):
        return dcc.Graph(id=graph_id, config=REVIEW_GRAPH_CONFIG, style={"height": f"{height}px"},
                         figure={"data": [], "layout": {"height": height}})

    return [
        html.Div(id=ids.REVIEW_MESSAGE),
        html.Section([download_links("report", ("pdf", "docx"), lang, kind="report"),
                      html.H2(t("book_title", lang)), html.P(t("book_note", lang), className="note"),
                      download_links("book", ("csv", "xlsx"), lang), html.Div(id=ids.REVIEW_BOOK_HOLDER)],
                     className="review-section"),
        html.Section([html.H2(t("measures_title", lang)), html.P(t("measures_note", lang), className="note"),
                      download_links("measures", ("csv", "xlsx"), lang), html.Div(id=ids.REVIEW_MEASURES_HOLDER)],
                     className="review-section"),
        html.Section([html.H2(id=ids.REVIEW_TREND_TITLE), download_links("trend", TABLE_AND_CHART, lang),
                      graph(ids.REVIEW_TREND, 360),
                      html.H3(t("festival_title", lang)), download_links("festival", TABLE_AND_CHART, lang),
                      graph(ids.REVIEW_FESTIVAL, 300)], className="review-section"),
        html.Section([html.H2(id=ids.REVIEW_DRILL_TITLE), download_links("drill", TABLE_AND_CHART, lang),
                      html.Div([html.Div(graph(ids.REVIEW_DRILL, 320), className="drill-chart"),
                                html.Div(graph(ids.REVIEW_MAP, 320), className="drill-map")],
                               className="drill-row"),
                      html.Div(id=ids.REVIEW_DRILL_HOLDER)], className="review-section", id=ids.REVIEW_DRILL_SECTION),
        dcc.Store(id=ids.REVIEW_DRAWN), dcc.Store(id=ids.REVIEW_INDEX_SCOPE), dcc.Store(id=ids.REVIEW_PART_DIGESTS),
        index_views.skeleton(),
    ]


def parts(bundle, lang: str) -> dict:
    """What a refresh puts into the skeleton, by component id."""
    label = row_label(bundle.row, lang)
    drill = bundle.drill
    return {
        ids.REVIEW_BOOK_HOLDER: book_table(bundle.book, lang, bundle.row, bundle.filters),
        ids.REVIEW_TREND_TITLE: t("trend_title", lang, row=label),
        ids.REVIEW_TREND: trend_figure(bundle.trend, lang, label),
        ids.REVIEW_FESTIVAL: festival_figure(bundle.festival, lang),
        ids.REVIEW_DRILL_TITLE: t(f"drill_{drill[0].kind}", lang) if drill else "",
        ids.REVIEW_DRILL: drill_figure(drill, lang),
        ids.REVIEW_MAP: review_map_figure(bundle.areas, bundle.parks, bundle.filters, lang),
        ids.REVIEW_DRILL_HOLDER: (drill_table(drill, lang, bundle.filters, bundle.row) if drill
                                  else html.P(t("drill_none", lang))),
        ids.REVIEW_MEASURES_HOLDER: measures_table(bundle.measures, lang),
    }


def measures_table(measures: list, lang: str):
    """The operational measures of the chosen period against a year earlier. One component (markup)."""
    rows = []
    for m in measures:
        sig = m.significance
        mark = el("sup", SIGNIFICANCE_MARKS[sig], cls=f"sig sig-{sig}") if sig != "none" else None
        rows.append(el("tr", [
            el("td", measure_label(m.key, lang), cls="label"),
            el("td", measure_value(m.now, m.unit, lang), cls="num"),
            el("td", measure_value(m.before, m.unit, lang), cls="num"),
            el("td", measure_change(m, lang), mark, cls="num" + (" muted" if m.diff is None else "")),
            el("td", f"{t('basis_events', lang, n=f'{m.n_now:,}')} / {t('basis_events', lang, n=f'{m.n_before:,}')}",
               cls="num muted"),
        ], data_measure=m.key))
    head = el("tr", [el("th", t(k, lang)) for k in ("col_measure", "col_now", "col_year_earlier", "col_change",
                                                     "col_basis")])
    table = el("table", el("thead", head), el("tbody", rows), cls="drill-table measures-table", id=ids.REVIEW_MEASURES)
    return block(None, table, "markup-block")


def drill_table(items: list[DrillItem], lang: str, filters: ReviewFilters | None = None, row: str | None = None):
    """The same units as a table; a unit's name goes one level down. One component (layouts/markup.py)."""
    filters = filters or ReviewFilters()
    rows = []
    for item in items:
        rows.append(el("tr", [
            el("td", link(tv(item.name, lang), unit_href(filters, item.kind, item.id, row, lang), cls="drill-link",
                          data_kind=item.kind, data_id=item.id)),
            el("td", count_text(item.now, lang), cls="num"), el("td", count_text(item.before, lang), cls="num"),
            _pct_cell(item.change, "yoy", lang),
        ]))
    head = el("tr", [el("th", t(k, lang)) for k in ("col_unit", "col_now", "col_year_earlier", "col_yoy")])
    table = el("table", el("thead", head), el("tbody", rows), cls="drill-table", id=ids.REVIEW_DRILL_TABLE)
    return block(None, table, "markup-block")

"""The leadership review page (light theme): filters, the period book, trends and drill-down.

Pure functions: ``layout`` is the shell (filters bound to the URL), ``content`` draws one filter state.
"""

from __future__ import annotations

from dash import dcc, html

from data import vocab
from data.compstat import Comparison
from data.metrics import Change, format_pct
from data.review import BOOK_PERIODS, PRESETS, BookRow, DrillItem, FestivalView, ReviewFilters, Trend
from layouts import ids
from layouts.components import SIGNIFICANCE_MARKS
from layouts.strings import t, tv
from layouts.theme import GRAPH_CONFIG

REVIEW_GRAPH_CONFIG = {**GRAPH_CONFIG, "displayModeBar": "hover", "modeBarButtonsToRemove": ["sendDataToCloud"]}


def layout(lang: str, stations: list[dict], parks: list[dict], demo: bool) -> html.Div:
    """The review page shell: header, filter bar bound to the URL, and the content area."""
    other = "en" if lang == "zh" else "zh"
    return html.Div([
        dcc.Store(id=ids.REVIEW_LANG, data=lang),
        html.Header([
            html.H1(t("review_title", lang), className="review-title"),
            html.Span(t("demo_mark", lang), className="demo-mark") if demo else None,
            html.Nav(id=ids.REVIEW_BREADCRUMBS, className="review-breadcrumbs"),
            html.Div([html.A(t("switch_language", lang), href=f"/review?lang={other}", id=ids.REVIEW_LANG_LINK),
                      html.A(t("to_wall", lang), href="/")], className="review-links"),
        ], className="review-header"),
        filter_bar(lang, stations, parks),
        html.Main(skeleton(lang), id=ids.REVIEW_CONTENT, className="review-content"),
    ], className="review-root")


def filter_bar(lang: str, stations: list[dict], parks: list[dict]) -> html.Div:
    """The filters; their values come from the URL and go back into it."""
    return html.Div([
        dcc.RadioItems(id=ids.REVIEW_PERIOD, options=[{"label": t(f"period_{p}", lang), "value": p} for p in PRESETS],
                       value="ytd", inline=True, className="review-periods"),
        dcc.DatePickerRange(id=ids.REVIEW_RANGE, display_format="YYYY-MM-DD", className="review-range",
                            start_date_placeholder_text=t("range_first", lang),
                            end_date_placeholder_text=t("range_last", lang)),
        dcc.Dropdown(id=ids.REVIEW_STATION, options=[{"label": tv(s["name"], lang), "value": s["id"]} for s in stations],
                     placeholder=t("filter_station", lang), className="review-dropdown"),
        dcc.Dropdown(id=ids.REVIEW_PARK, options=[{"label": p["name"], "value": p["id"]} for p in parks],
                     placeholder=t("filter_park", lang), className="review-dropdown"),
        dcc.Dropdown(id=ids.REVIEW_SECTOR, options=[{"label": s, "value": s} for s in vocab.SECTORS],
                     placeholder=t("filter_sector", lang), className="review-dropdown"),
        dcc.Dropdown(id=ids.REVIEW_CATEGORY,
                     options=[{"label": tv(c, lang), "value": c} for c in vocab.INCIDENT_CATEGORIES],
                     placeholder=t("filter_category", lang), className="review-dropdown"),
        dcc.Checklist(id=ids.REVIEW_ENTERPRISE_ONLY, options=[{"label": t("filter_enterprise_only", lang),
                                                                "value": "1"}], value=[], inline=True),
    ], className="review-filters")


def _pct_cell(change: Change | None, kind: str) -> html.Td:
    if change is None:
        return html.Td("—", className="num muted")
    text = format_pct(change.pct, change.now)
    tone = "up" if (change.pct or 0) > 0 or (change.pct is None and change.now > 0) else (
        "down" if (change.pct or 0) < 0 else "flat")
    mark = SIGNIFICANCE_MARKS[change.significance]
    return html.Td([text, html.Sup(mark, className=f"sig sig-{change.significance}")],
                   className=f"num tone-{tone}", **{"data-kind": kind})


def book_row_label(row: BookRow, lang: str) -> str:
    if row.key == "total":
        return t(f"book_total_{row.section}", lang)
    if row.key == "enterprise":
        return t("book_enterprise", lang)
    return tv(row.key, lang)


def book_table(rows: list[BookRow], lang: str, selected: str | None) -> html.Table:
    """The CompStat book: per period 本期, 去年同期, 同比 (with significance), 环比, and against the baseline."""
    head_top = [html.Th("", rowSpan=2)] + [html.Th(t(f"period_{p}", lang), colSpan=5, className="period-head")
                                           for p in BOOK_PERIODS]
    head_sub = []
    for _p in BOOK_PERIODS:
        head_sub += [html.Th(t(k, lang)) for k in ("col_now", "col_year_earlier", "col_yoy", "col_pop", "col_baseline")]
    body = []
    section = None
    for row in rows:
        if row.section != section:
            section = row.section
            body.append(html.Tr(html.Th(t(f"section_{section}", lang), colSpan=1 + 5 * len(BOOK_PERIODS)),
                                className="book-section"))
        key = f"{row.section}:{row.key}"
        cells = [html.Td(html.Button(book_row_label(row, lang), id={"type": ids.REVIEW_ROW_TYPE, "row": key},
                                     className="book-row-button", n_clicks=0), className="label")]
        for p in BOOK_PERIODS:
            c: Comparison = row.cells[p]
            cells += [html.Td(f"{c.now:,}", className="num"), html.Td(f"{c.year_earlier.before:,}", className="num"),
                      _pct_cell(c.year_earlier, "yoy"), _pct_cell(c.before, "pop"), _pct_cell(c.baseline, "baseline")]
        classes = "book-row" + (" selected" if key == selected else "") + (" total" if row.key == "total" else "")
        body.append(html.Tr(cells, className=classes, id=f"book-{row.section}-{row.key}"))
    return html.Table([html.Thead([html.Tr(head_top), html.Tr(head_sub)]), html.Tbody(body)],
                      id=ids.REVIEW_BOOK, className="book-table")


def trend_figure(trend: Trend, lang: str, label: str):
    """Monthly counts of a row, this year against the last two, with the programme start marked."""
    import plotly.graph_objects as go

    from layouts.theme import LIGHT_TEMPLATE_NAME

    fig = go.Figure()
    months = list(range(1, 13))
    styles = {0: {"width": 3}, 1: {"width": 2, "dash": "dash"}, 2: {"width": 2, "dash": "dot"}}
    for i, year in enumerate(sorted(trend.years, reverse=True)):
        fig.add_trace(go.Scatter(x=months, y=trend.years[year], mode="lines+markers", name=str(year),
                                 line=styles.get(i, {}), connectgaps=False))
    if trend.programme_start is not None and trend.programme_start.year in trend.years:
        x = trend.programme_start.month + (trend.programme_start.day - 1) / 31
        fig.add_vline(x=x, line={"color": "#d9534f", "dash": "dash"})
        note = t("programme_start_note", lang, date=trend.programme_start.isoformat())
        if trend.change is not None:
            note += " · " + t("programme_change", lang, months=trend.after_months,
                              pct=format_pct(trend.change.pct, trend.change.now),
                              sig=t(f"sig_{trend.change.significance}", lang))
        fig.add_annotation(x=x, y=1.08, yref="paper", text=note, showarrow=False, font={"color": "#d9534f"})
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=360, margin={"l": 50, "r": 20, "t": 50, "b": 40},
                      xaxis={"tickmode": "array", "tickvals": months,
                             "ticktext": [t("month_label", lang, m=m) for m in months]},
                      yaxis={"title": label, "rangemode": "tozero"}, legend={"orientation": "h", "y": -0.15})
    return fig


def festival_figure(view: FestivalView, lang: str):
    """Daily counts around the Spring Festival, this year against last, aligned on the festival day."""
    import plotly.graph_objects as go

    from layouts.theme import LIGHT_TEMPLATE_NAME

    fig = go.Figure()
    fig.add_trace(go.Scatter(x=view.offsets, y=view.now, name=str(view.this_year), mode="lines"))
    fig.add_trace(go.Scatter(x=view.offsets, y=view.before, name=str(view.this_year - 1), mode="lines",
                             line={"dash": "dash"}))
    fig.add_vline(x=0, line={"color": "#888", "dash": "dot"})
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=300, margin={"l": 50, "r": 20, "t": 30, "b": 40},
                      xaxis={"title": t("days_from_festival", lang)}, legend={"orientation": "h", "y": -0.25})
    return fig


def drill_figure(items: list[DrillItem], lang: str):
    """Incidents by unit one level down, this period against a year earlier; click a bar to go down."""
    import plotly.graph_objects as go

    from layouts.theme import LIGHT_TEMPLATE_NAME

    names = [tv(i.name, lang) for i in items]
    custom = [[i.kind, i.id] for i in items]
    fig = go.Figure([
        go.Bar(x=names, y=[i.now for i in items], name=t("col_now", lang), customdata=custom),
        go.Bar(x=names, y=[i.before for i in items], name=t("col_year_earlier", lang), customdata=custom,
               marker={"color": "#b0bec5"}),
    ])
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, barmode="group", height=320,
                      margin={"l": 50, "r": 20, "t": 20, "b": 80}, legend={"orientation": "h", "y": 1.1})
    return fig


def breadcrumb_links(crumbs: list[tuple[str, ReviewFilters]], lang: str) -> list:
    """Town › station › park › enterprise, each a link to its view."""
    out = []
    for i, (name, filters) in enumerate(crumbs):
        label = t("view_town", lang) if name == "town" else tv(name, lang)
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
        html.Section([html.H2(t("book_title", lang)), html.P(t("book_note", lang), className="note"),
                      html.Div(id=ids.REVIEW_BOOK_HOLDER)], className="review-section"),
        html.Section([html.H2(id=ids.REVIEW_TREND_TITLE), graph(ids.REVIEW_TREND, 360),
                      html.H3(t("festival_title", lang)), graph(ids.REVIEW_FESTIVAL, 300)], className="review-section"),
        html.Section([html.H2(id=ids.REVIEW_DRILL_TITLE), graph(ids.REVIEW_DRILL, 320),
                      html.Div(id=ids.REVIEW_DRILL_HOLDER)], className="review-section", id=ids.REVIEW_DRILL_SECTION),
        html.Div(id=ids.REVIEW_INDEX_HOLDER),
    ]


def row_label(selected: str, lang: str) -> str:
    """The name of a book row ("incidents:刑事") as the page writes it."""
    section, key = selected.split(":", 1)
    if key == "total":
        return t(f"book_total_{section}", lang)
    return t("book_enterprise", lang) if key == "enterprise" else tv(key, lang)


def parts(bundle, lang: str) -> dict:
    """What a refresh puts into the skeleton, by component id."""
    label = row_label(bundle.row, lang)
    drill = bundle.drill
    return {
        ids.REVIEW_BOOK_HOLDER: book_table(bundle.book, lang, bundle.row),
        ids.REVIEW_TREND_TITLE: t("trend_title", lang, row=label),
        ids.REVIEW_TREND: trend_figure(bundle.trend, lang, label),
        ids.REVIEW_FESTIVAL: festival_figure(bundle.festival, lang),
        ids.REVIEW_DRILL_TITLE: t(f"drill_{drill[0].kind}", lang) if drill else "",
        ids.REVIEW_DRILL: drill_figure(drill, lang),
        ids.REVIEW_DRILL_HOLDER: drill_table(drill, lang) if drill else html.P(t("drill_none", lang)),
        ids.REVIEW_INDEX_HOLDER: index_sections(bundle, lang),
    }


def drill_table(items: list[DrillItem], lang: str) -> html.Table:
    """The same units as a table; a click on a row drills down."""
    rows = []
    for item in items:
        change = item.change
        rows.append(html.Tr([
            html.Td(html.Button(tv(item.name, lang), id={"type": ids.REVIEW_DRILL_TYPE, "kind": item.kind,
                                                           "id": item.id}, n_clicks=0, className="drill-button")),
            html.Td(f"{item.now:,}", className="num"), html.Td(f"{item.before:,}", className="num"),
            _pct_cell(change, "yoy"),
        ]))
    head = html.Tr([html.Th(t("col_unit", lang)), html.Th(t("col_now", lang)), html.Th(t("col_year_earlier", lang)),
                    html.Th(t("col_yoy", lang))])
    return html.Table([html.Thead(head), html.Tbody(rows)], className="drill-table", id=ids.REVIEW_DRILL_TABLE)


def index_sections(bundle, lang: str) -> list:
    """The safety-index views of the review page (distribution, funnel plot, rankings)."""
    if getattr(bundle, "index", None) is None:
        return []
    from layouts import index_views  # noqa: PLC0415 - optional until the index views are in

    return index_views.sections(bundle.index, lang)


def validation_parts() -> html.Div:
    """Components that only appear inside the drawn content, for Dash's callback validation."""
    return html.Div([html.Button(id={"type": ids.REVIEW_ROW_TYPE, "row": "incidents:total"}),
                     html.Button(id={"type": ids.REVIEW_DRILL_TYPE, "kind": "station", "id": 1})])

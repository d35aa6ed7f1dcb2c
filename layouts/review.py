"""The leadership review page (light theme): filters, the period book, trends and drill-down.

Pure functions: ``layout`` is the shell (filters bound to the URL), ``content`` draws one filter state.
"""

from __future__ import annotations

from urllib.parse import urlencode

from dash import dcc, html

from data.core import periods, vocab
from data.core.periods import Window
from data.counts.compstat import Comparison
from data.counts.metrics import Change, format_change, format_pct
from data.screens.review import (
    BOOK_PERIODS,
    DEFAULT_ROW,
    PRESETS,
    BookRow,
    DrillItem,
    FestivalView,
    ReviewFilters,
    Trend,
    drill_filters,
)
from figures.strings import t, tv
from figures.theme import GRAPH_CONFIG
from layouts import ids
from layouts.components import SIGNIFICANCE_MARKS, count_text
from layouts.markup import Node, block, el, link

TABLE_AND_CHART = ("png", "svg", "csv", "xlsx")
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


def book_row_label(row: BookRow, lang: str) -> str:
    if row.key == "total":
        return t(f"book_total_{row.section}", lang)
    if row.key == "enterprise":
        return t("book_enterprise", lang)
    return tv(row.key, lang)


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


def period_title(kind: str, window: Window | None, lang: str) -> str:
    """A period's name on screen and in files: 本周, or 上周 when its window is the whole previous week."""
    return t(f"period_{periods.period_name(kind, window) if window else kind}", lang)


def window_words(window: Window, lang: str) -> str:
    """A window's days, as a person reads them: 12月1日—12月6日 (2025年12月1日—2026年1月6日 across a year)."""
    def words(day, year):
        return t("date_with_year" if year else "date_short", lang, day=day)
    across = window.first.year != window.last.year
    if window.first == window.last:
        return words(window.first, across)
    return f"{words(window.first, across)}—{words(window.last, across)}"


def partial_trace(trend: Trend, lang: str):
    """The month in progress: a hollow marker on a dotted line from the month before, labelled 截至12月6日."""
    import plotly.graph_objects as go

    from figures.theme import LIGHT_SERIES

    month = trend.partial_month
    values = trend.years[month.year]
    x, y = [month.month], [values[month.month - 1]]
    if month.month > 1 and values[month.month - 2] is not None:
        x, y = [month.month - 1] + x, [values[month.month - 2]] + y
    note = t("partial_through", lang, date=t("date_short", lang, day=trend.through))
    return go.Scatter(x=x, y=y, mode="lines+markers", name=f"{month.year}（{note}）" if lang == "zh"
                      else f"{month.year} ({note})", legendgroup=str(month.year), showlegend=False,
                      line={"width": 2, "dash": "dot", "color": LIGHT_SERIES[0]},
                      marker={"symbol": "circle-open", "size": 10, "line": {"width": 2}},
                      hovertemplate="%{y:,}" + f" · {note}<extra></extra>")


def trend_figure(trend: Trend, lang: str, label: str):
    """Monthly counts of a row, this year against the last two, with the programme start marked."""
    import plotly.graph_objects as go

    from figures.theme import LIGHT_TEMPLATE_NAME

    fig = go.Figure()
    months = list(range(1, 13))
    styles = {0: {"width": 3}, 1: {"width": 2, "dash": "dash"}, 2: {"width": 2, "dash": "dot"}}
    partial = trend.partial_month
    for i, year in enumerate(sorted(trend.years, reverse=True)):
        values = list(trend.years[year])
        if partial is not None and year == partial.year:
            values[partial.month - 1] = None  # drawn apart below, so nobody reads a month in progress as a fall
        fig.add_trace(go.Scatter(x=months, y=values, mode="lines+markers", name=str(year),
                                 line=styles.get(i, {}), connectgaps=False, legendgroup=str(year)))
    if partial is not None:
        fig.add_trace(partial_trace(trend, lang))
    if trend.programme_start is not None and trend.programme_start.year in trend.years:
        x = trend.programme_start.month + (trend.programme_start.day - 1) / 31
        fig.add_vline(x=x, line={"color": "#d9534f", "dash": "dash"})
        note = t("programme_start_note", lang, date=trend.programme_start.isoformat())
        if trend.change is not None:
            note += " · " + t("programme_change", lang, months=trend.after_months,
                              pct=format_change(trend.change),
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

    from figures.theme import LIGHT_TEMPLATE_NAME

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

    from figures.theme import LIGHT_TEMPLATE_NAME

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


def review_map_figure(areas: dict, parks: list[dict], filters: ReviewFilters, lang: str):
    """The station areas and parks on a light, offline map: a click on an area or a park drills down."""
    import plotly.graph_objects as go

    from figures import wall_map
    from figures.theme import LIGHT_TEMPLATE_NAME

    fig = go.Figure()
    features = areas.get("features", []) if areas else []
    if features:
        ids_ = [f["properties"]["id"] for f in features]
        fig.add_trace(go.Choroplethmap(
            geojson=areas, featureidkey="properties.id", locations=ids_,
            z=[1 if i == filters.station else 0 for i in ids_], zmin=0, zmax=1, showscale=False,
            colorscale=[[0, "#dbe7f3"], [1, "#f5c16c"]], marker={"opacity": 0.6, "line": {"color": "#5b7a99", "width": 2}},
            customdata=[["station", i] for i in ids_], hovertext=[tv(f["properties"]["name"], lang) for f in features],
            hoverinfo="text", name=t("map_station_areas", lang)))
    if parks:
        fig.add_trace(go.Scattermap(
            lat=[p["lat"] for p in parks], lon=[p["lon"] for p in parks], mode="markers",
            marker={"size": [16 if p["id"] == filters.park else 11 for p in parks],
                    "color": ["#c0392b" if p["id"] == filters.park else "#1f6fb2" for p in parks]},
            customdata=[["park", p["id"]] for p in parks], hovertext=[p["name"] for p in parks], hoverinfo="text",
            name=t("filter_park", lang)))
    style = {**wall_map.map_style(), "layers": [{"id": "background", "type": "background",
                                                  "paint": {"background-color": "#f5f7fa"}}]}
    map_layout = {"style": style}
    if features:
        centre, zoom = wall_map.fit_view(wall_map.area_bounds(areas), size=(560, 320))
        map_layout.update(center=centre, zoom=zoom)
    fig.update_layout(template=LIGHT_TEMPLATE_NAME, height=320, margin={"l": 0, "r": 0, "t": 0, "b": 0},
                      map=map_layout, showlegend=False, uirevision="review-map")
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


def download_links(name: str, formats: tuple[str, ...], lang: str, kind: str = "table",
                   query: str | None = None) -> html.Div:
    """Download links of a table, a chart or the report, on any page: ``/export/chart/<name>.png|svg``,
    ``/export/table/<name>.csv|xlsx`` or ``/export/report.pdf|docx`` (``kind="report"``); the names are the
    registry's (exports/registry.py). Without ``query`` a link carries the page's current filters: assets/nav.js
    adds the address's query when it is clicked (the review page). With ``query`` (``enterprise=12``) the link
    is fixed and carries nothing else (the enterprise profile)."""
    links = []
    for fmt in formats:
        chart = fmt in ("png", "svg")
        base = (f"/export/report.{fmt}" if kind == "report" else
                f"/export/{'chart' if chart else 'table'}/{name}.{fmt}")
        extra = {"href": f"{base}?{query}"} if query else {"href": base, "data-export": base}
        title = t("download_fixed" if query else "download_as", lang, fmt=fmt.upper())
        links.append(html.A(fmt.upper(), className="download", title=title, **extra))
    return html.Div([html.Span(t("download", lang), className="download-label")] + links,
                    className="download-bar", id=ids.download_bar(name))


def skeleton(lang: str) -> list:
    """The sections of the page, drawn once; each refresh fills them in place, so graphs stay mounted
    (Plotly redraws them incrementally) and only what changed is sent."""
    from layouts import index_views  # noqa: PLC0415 - it imports this module's download links

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


def measure_label(key: str, lang: str) -> str:
    """A measure's name: 隐患整改用时中位数, or 　其中重大隐患 for one severity."""
    name, _, severity = key.partition(":")
    if severity:
        return t("measure_rectify_days_severity", lang, severity=tv(severity, lang))
    return t(f"measure_{name}", lang)


def measure_value(value: float | None, unit: str, lang: str) -> str:
    """A measure's value as the page writes it: 12分钟, 4天, 71.0%; 无数据 without inputs."""
    if value is None:
        return t("no_data", lang)
    if unit == "share":
        return f"{100 * value:.1f}%"
    return t(f"unit_{unit}", lang, n=f"{value:,.0f}")


def measure_change(m, lang: str) -> str:
    """The change of a measure: +2天, −3.1个百分点 (a share's change is in percentage points)."""
    if m.diff is None:
        return t("no_data", lang)
    if m.unit == "share":
        return f"{100 * m.diff:+.1f}" + ("个百分点" if lang == "zh" else " pp")
    return t(f"unit_{m.unit}", lang, n=f"{m.diff:+,.0f}")


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

"""The review page's callbacks: the URL is the single source of the filter state.

Controls write the URL (a history entry per change, so the back button steps back); the URL sets the
controls and draws the content; clicks on a bar, a book row or a table row change the URL too.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from urllib.parse import parse_qs, urlencode

from dash import ALL, Input, Output, State, ctx, html, no_update
from sqlalchemy.exc import SQLAlchemyError

from data import service
from data.review import FilterError, ReviewFilters, from_query
from data.timeutil import local_today
from layouts import ids, review
from layouts.strings import t

log = logging.getLogger(__name__)
DEFAULT_ROW = "incidents:total"


def _params(search: str | None) -> dict:
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}


def _search(filters: ReviewFilters, row: str | None, lang: str) -> str:
    query = filters.to_query()
    extra = []
    if row and row != DEFAULT_ROW:
        extra.append(("row", row))
    if lang == "en":
        extra.append(("lang", "en"))
    joined = "&".join(p for p in (query, urlencode(extra)) if p)
    return f"?{joined}" if joined else ""


PART_IDS = (ids.REVIEW_BOOK_HOLDER, ids.REVIEW_TREND_TITLE, ids.REVIEW_TREND, ids.REVIEW_FESTIVAL,
            ids.REVIEW_DRILL_TITLE, ids.REVIEW_DRILL, ids.REVIEW_DRILL_HOLDER, ids.REVIEW_INDEX_HOLDER)
PART_PROPS = {ids.REVIEW_TREND: "figure", ids.REVIEW_FESTIVAL: "figure", ids.REVIEW_DRILL: "figure"}


def render(search, pathname, lang):
    """Fill the page's sections for the filters in the URL (message, parts in PART_IDS order, crumbs)."""
    keep = [no_update] * (len(PART_IDS) + 2)
    if pathname != "/review":
        return keep
    lang = lang or "zh"
    row = _params(search).get("row", DEFAULT_ROW)
    try:
        filters = from_query(search)
        bundle = service.review(filters.to_query(), row, local_today().isoformat())
    except FilterError as exc:
        return [html.P(t("review_error", lang, error=str(exc)), className="review-error")] + keep[1:]
    except SQLAlchemyError as exc:
        log.warning("review failed: %s", exc.__class__.__name__)
        return [html.P(t("review_db_down", lang), className="review-error")] + keep[1:]
    parts = review.parts(bundle, lang)
    return [None] + [parts[i] for i in PART_IDS] + [review.breadcrumb_links(bundle.crumbs, lang)]


def sync_controls(search, pathname):
    """Set the filter controls from the URL (on load and when the back button changes it)."""
    if pathname != "/review":
        return [no_update] * 8
    try:
        f = from_query(search)
    except FilterError:
        return [no_update] * 8
    return [f.period, f.first.isoformat() if f.first else None, f.last.isoformat() if f.last else None,
            f.station, f.park, f.sector, f.category, ["1"] if f.enterprise_only else []]


def write_url(period, first, last, station, park, sector, category, enterprise_only, search, lang):
    """Put the controls' state into the URL (a new history entry) unless it is already there."""
    params = _params(search)
    try:
        current = from_query(search)
    except FilterError:
        current = ReviewFilters()
    if period == "custom" and not (first and last):
        return no_update  # wait until both dates are chosen
    custom = period == "custom"
    filters = ReviewFilters(
        period=period or "ytd",
        first=date.fromisoformat(first[:10]) if custom else None,
        last=date.fromisoformat(last[:10]) if custom else None,
        station=station, park=park, enterprise=current.enterprise, sector=sector, category=category,
        enterprise_only=bool(enterprise_only))
    new = _search(filters, params.get("row"), lang or "zh")
    return no_update if new == (search or "") else new


def drill(click, _clicks, search, lang):
    """Go one level down: from a bar of the drill chart or a row of the drill table."""
    trigger = ctx.triggered_id
    if trigger is None:
        return no_update
    if trigger == ids.REVIEW_DRILL:
        if not click or not click.get("points"):
            return no_update
        kind, unit_id = click["points"][0]["customdata"]
    else:
        if not ctx.triggered[0]["value"]:  # a table being drawn, not a click
            return no_update
        kind, unit_id = trigger["kind"], trigger["id"]
    params = _params(search)
    try:
        current = from_query(search)
    except FilterError:
        current = ReviewFilters()
    if kind == "enterprise":
        return f"/enterprise/{unit_id}" + ("?lang=en" if lang == "en" else "")
    if kind == "station":
        filters = replace(current, station=int(unit_id), park=None, enterprise=None)
    else:
        filters = replace(current, park=int(unit_id), enterprise=None)
    return "/review" + _search(filters, params.get("row"), lang or "zh")


def pick_row(_clicks, search, lang):
    """Show the trend of the book row that was clicked."""
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered[0]["value"]:
        return no_update
    try:
        filters = from_query(search)
    except FilterError:
        return no_update
    return _search(filters, trigger["row"], lang or "zh")


def register_callbacks(app) -> None:
    loc = ids.ROUTER_LOCATION
    app.callback(Output(ids.REVIEW_MESSAGE, "children"),
                 *[Output(i, PART_PROPS.get(i, "children")) for i in PART_IDS],
                 Output(ids.REVIEW_BREADCRUMBS, "children"),
                 Input(loc, "search"), Input(loc, "pathname"), State(ids.REVIEW_LANG, "data"))(render)
    app.callback(Output(ids.REVIEW_PERIOD, "value"), Output(ids.REVIEW_RANGE, "start_date"),
                 Output(ids.REVIEW_RANGE, "end_date"), Output(ids.REVIEW_STATION, "value"),
                 Output(ids.REVIEW_PARK, "value"), Output(ids.REVIEW_SECTOR, "value"),
                 Output(ids.REVIEW_CATEGORY, "value"), Output(ids.REVIEW_ENTERPRISE_ONLY, "value"),
                 Input(loc, "search"), Input(loc, "pathname"))(sync_controls)
    app.callback(Output(loc, "search", allow_duplicate=True),
                 Input(ids.REVIEW_PERIOD, "value"), Input(ids.REVIEW_RANGE, "start_date"),
                 Input(ids.REVIEW_RANGE, "end_date"), Input(ids.REVIEW_STATION, "value"),
                 Input(ids.REVIEW_PARK, "value"), Input(ids.REVIEW_SECTOR, "value"),
                 Input(ids.REVIEW_CATEGORY, "value"), Input(ids.REVIEW_ENTERPRISE_ONLY, "value"),
                 State(loc, "search"), State(ids.REVIEW_LANG, "data"), prevent_initial_call=True)(write_url)
    app.callback(Output(loc, "href", allow_duplicate=True),
                 Input(ids.REVIEW_DRILL, "clickData"),
                 Input({"type": ids.REVIEW_DRILL_TYPE, "kind": ALL, "id": ALL}, "n_clicks"),
                 State(loc, "search"), State(ids.REVIEW_LANG, "data"), prevent_initial_call=True)(drill)
    app.callback(Output(loc, "search", allow_duplicate=True),
                 Input({"type": ids.REVIEW_ROW_TYPE, "row": ALL}, "n_clicks"),
                 State(loc, "search"), State(ids.REVIEW_LANG, "data"), prevent_initial_call=True)(pick_row)

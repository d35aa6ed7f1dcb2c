"""The review page's callbacks: the URL is the single source of the filter state.

Controls write the URL (a history entry per change, so the back button steps back); the URL sets the
controls and draws the content; clicks on a bar, a book row or a table row change the URL too. Writing the
URL and opening an enterprise clicked in the funnel plot are string work done in the browser
(assets/review.js): no round trip before the page's own request.

What the page draws is cached per data version as plain JSON (``service.derived``), and the index views of
a state are started on the server as soon as the main request comes (``service.prefetch``), while the
browser is still drawing the book that has to come first.
"""

from __future__ import annotations

import hashlib
import json
import logging
from urllib.parse import parse_qs

from dash import ClientsideFunction, Input, Output, State, ctx, html, no_update
from plotly.io.json import to_json_plotly
from plotly.utils import PlotlyJSONEncoder
from sqlalchemy.exc import SQLAlchemyError

from data import service
from data.core.timeutil import local_today
from data.screens.review import DEFAULT_ROW, FilterError, ReviewFilters, from_query
from figures.strings import t
from layouts import ids, index_views, review
from web import inputs

log = logging.getLogger(__name__)


def _params(search: str | None) -> dict:
    return {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}


PART_IDS = (ids.REVIEW_BOOK_HOLDER, ids.REVIEW_TREND_TITLE, ids.REVIEW_TREND, ids.REVIEW_FESTIVAL,
            ids.REVIEW_DRILL_TITLE, ids.REVIEW_DRILL, ids.REVIEW_MAP, ids.REVIEW_DRILL_HOLDER,
            ids.REVIEW_MEASURES_HOLDER)
PART_PROPS = {ids.REVIEW_TREND: "figure", ids.REVIEW_FESTIVAL: "figure", ids.REVIEW_DRILL: "figure",
              ids.REVIEW_MAP: "figure"}


def digest(part) -> str:
    """A short fingerprint of a part as it goes to the browser (figures and components alike)."""
    return hashlib.sha1(json.dumps(part, cls=PlotlyJSONEncoder, sort_keys=True).encode()).hexdigest()[:16]


def render(search, pathname, lang, drawn_digests=None):
    """Fill the page's sections for the filters in the URL (message, parts in PART_IDS order, crumbs, the
    drawn query, the parts' digests); parts the page already shows are left alone."""
    search, pathname, lang = inputs.url_part(search, "search"), inputs.url_part(pathname, "pathname"), inputs.lang(lang)
    drawn_digests = inputs.mapping(drawn_digests, "part digests")
    keep = [no_update] * (len(PART_IDS) + 4)
    if pathname != "/review":
        return keep
    row = _params(search).get("row", DEFAULT_ROW)
    today = local_today().isoformat()
    try:
        filters = from_query(search)
        parts, digests, crumbs = service.derived("review.page_parts", (filters.to_query(), row, lang, today),
                                                 _page_parts)
        # the index views are asked for once the book is drawn: start them now
        service.prefetch("review.index_parts", (filters.scope().to_query(), lang, today), _index_parts)
    except FilterError as exc:
        return [html.P(t("review_error", lang, error=str(exc)), className="review-error")] + keep[1:-2] + [search, no_update]
    except SQLAlchemyError as exc:
        log.warning("review failed: %s", exc.__class__.__name__)
        return [html.P(t("review_db_down", lang), className="review-error")] + keep[1:-2] + [search, no_update]
    send = [no_update if drawn_digests.get(part_id) == digests[part_id] else part
            for part_id, part in zip(PART_IDS, parts)]
    return [None] + send + [crumbs, search, digests]


def plain(value):
    """Components and figures as the browser receives them (plain JSON): quick to keep in the cache, to take
    out again and to send, where plotly figures would be checked anew on the way out of it."""
    return json.loads(to_json_plotly(value))


def _page_parts(query: str, row: str, lang: str, today_iso: str) -> tuple[list, dict, list]:
    """The parts of a review state in PART_IDS order, their digests and the breadcrumbs (all plain)."""
    bundle = service.review(query, row, today_iso)
    built = review.parts(bundle, lang)
    parts = [plain(built[part_id]) for part_id in PART_IDS]
    return parts, {part_id: digest(part) for part_id, part in zip(PART_IDS, parts)}, plain(
        review.breadcrumb_links(bundle.crumbs, lang))


INDEX_KEEP = [no_update] * (len(index_views.PART_KEYS) + 1)


def render_index(_drawn, search, pathname, drawn_scope, lang):
    """Draw the safety-index views when the unit or sector changed (they ignore period and category);
    after the main content, so that the period book is never kept waiting for the larger charts. Answers
    the parts in index_views.PART_KEYS order, then the scope drawn."""
    search, pathname, lang = inputs.url_part(search, "search"), inputs.url_part(pathname, "pathname"), inputs.lang(lang)
    drawn_scope = inputs.text(drawn_scope, "index scope", max_len=inputs.MAX_URL)  # None until first drawn
    if pathname != "/review":
        return INDEX_KEEP
    try:
        scope = from_query(search).scope().to_query()
    except FilterError:
        return INDEX_KEEP
    if scope == drawn_scope:
        return INDEX_KEEP
    try:
        parts = service.derived("review.index_parts", (scope, lang, local_today().isoformat()), _index_parts)
    except SQLAlchemyError as exc:
        log.warning("index views failed: %s", exc.__class__.__name__)
        return INDEX_KEEP
    return [*parts, scope]


def _index_parts(scope: str, lang: str, today_iso: str) -> list:
    """The index views of a scope as drawn (plain), in index_views.PART_KEYS order."""
    parts = index_views.parts(service.index_views(scope, today_iso), lang)
    return [plain(parts[key]) for key in index_views.PART_KEYS]


def sync_controls(search, pathname, *shown):
    """Set the filter controls from the URL (on load and when the back button changes it). A control that
    already shows its value is left alone: after a change made with the controls nothing is sent back, so
    the URL callback is not started a second time."""
    search, pathname = inputs.url_part(search, "search"), inputs.url_part(pathname, "pathname")
    if pathname != "/review":
        return [no_update] * 8
    try:
        f = from_query(search)
    except FilterError:
        return [no_update] * 8
    wanted = [f.period, f.first.isoformat() if f.first else None, f.last.isoformat() if f.last else None,
              f.station, f.park, f.sector, f.category, ["1"] if f.enterprise_only else []]
    shown = list(shown) + [object()] * (8 - len(shown))  # called without the controls' values: set them all
    return [no_update if _same(value, current) else value for value, current in zip(wanted, shown)]


def _same(wanted, shown) -> bool:
    """Whether a control already shows the wanted value (an empty checklist and None are the same)."""
    if isinstance(wanted, list):
        return isinstance(shown, list) and sorted(map(str, shown)) == sorted(wanted)
    if isinstance(wanted, int) and not isinstance(shown, bool) and isinstance(shown, (int, str)):
        return str(shown) == str(wanted)
    return shown == wanted


def drill(bar_click, map_click, search, lang):
    """Go one level down from a bar of the drill chart or an area or park of the map (the tables' links
    do it without a callback)."""
    bar = _unit_clicked(bar_click, "drill clickData")
    area = _unit_clicked(map_click, "map clickData")
    search, lang = inputs.url_part(search, "search"), inputs.lang(lang)
    clicked = area if ctx.triggered_id == ids.REVIEW_MAP else bar
    if clicked is None:
        return no_update, no_update
    kind, unit_id = clicked
    params = _params(search)
    try:
        current = from_query(search)
    except FilterError:
        current = ReviewFilters()
    href = review.unit_href(current, kind, unit_id, params.get("row"), lang)
    path, _, query = href.partition("?")
    return path, f"?{query}" if query else ""


UNIT_KINDS = ("station", "park", "enterprise")


def _unit_clicked(click, name: str) -> tuple[str, int] | None:
    """The (kind, id) a click on the drill chart or the map names (customdata [kind, id]), or None."""
    custom = inputs.clicked(click, name)
    if not custom:
        return None
    where = f"{name}.points[0].customdata"
    if len(custom) != 2:
        raise inputs.BadInput(where, "[kind, id]", custom)
    kind = inputs.choice(custom[0], f"{where}[0]", UNIT_KINDS)
    unit_id = inputs.unit_id(custom[1], f"{where}[1]")
    if kind is None or unit_id is None:
        raise inputs.BadInput(where, "[kind, id]", custom)
    return kind, unit_id


def register_callbacks(app) -> None:
    loc = ids.ROUTER_LOCATION
    app.callback(Output(ids.REVIEW_MESSAGE, "children"),
                 *[Output(i, PART_PROPS.get(i, "children")) for i in PART_IDS],
                 Output(ids.REVIEW_BREADCRUMBS, "children"), Output(ids.REVIEW_DRAWN, "data"),
                 Output(ids.REVIEW_PART_DIGESTS, "data"),
                 Input(loc, "search"), Input(loc, "pathname"), State(ids.REVIEW_LANG, "data"),
                 State(ids.REVIEW_PART_DIGESTS, "data"))(render)
    app.callback(*[Output(part_id, prop) for part_id, prop in index_views.PART_KEYS],
                 Output(ids.REVIEW_INDEX_SCOPE, "data"),
                 Input(ids.REVIEW_DRAWN, "data"), State(loc, "search"), State(loc, "pathname"),
                 State(ids.REVIEW_INDEX_SCOPE, "data"),
                 State(ids.REVIEW_LANG, "data"))(render_index)
    app.callback(Output(ids.REVIEW_PERIOD, "value"), Output(ids.REVIEW_RANGE, "start_date"),
                 Output(ids.REVIEW_RANGE, "end_date"), Output(ids.REVIEW_STATION, "value"),
                 Output(ids.REVIEW_PARK, "value"), Output(ids.REVIEW_SECTOR, "value"),
                 Output(ids.REVIEW_CATEGORY, "value"), Output(ids.REVIEW_ENTERPRISE_ONLY, "value"),
                 Input(loc, "search"), Input(loc, "pathname"),
                 State(ids.REVIEW_PERIOD, "value"), State(ids.REVIEW_RANGE, "start_date"),
                 State(ids.REVIEW_RANGE, "end_date"), State(ids.REVIEW_STATION, "value"),
                 State(ids.REVIEW_PARK, "value"), State(ids.REVIEW_SECTOR, "value"),
                 State(ids.REVIEW_CATEGORY, "value"), State(ids.REVIEW_ENTERPRISE_ONLY, "value"))(sync_controls)
    # Writing the URL is string work done in the browser (assets/review.js), saving a round trip per change.
    app.clientside_callback(ClientsideFunction(namespace="review", function_name="writeUrl"),
                            Output(loc, "search", allow_duplicate=True),
                            Input(ids.REVIEW_PERIOD, "value"), Input(ids.REVIEW_RANGE, "start_date"),
                            Input(ids.REVIEW_RANGE, "end_date"), Input(ids.REVIEW_STATION, "value"),
                            Input(ids.REVIEW_PARK, "value"), Input(ids.REVIEW_SECTOR, "value"),
                            Input(ids.REVIEW_CATEGORY, "value"), Input(ids.REVIEW_ENTERPRISE_ONLY, "value"),
                            State(loc, "search"), State(ids.REVIEW_LANG, "data"), prevent_initial_call=True)
    app.callback(Output(loc, "pathname", allow_duplicate=True), Output(loc, "search", allow_duplicate=True),
                 Input(ids.REVIEW_DRILL, "clickData"), Input(ids.REVIEW_MAP, "clickData"),
                 State(loc, "search"), State(ids.REVIEW_LANG, "data"), prevent_initial_call=True)(drill)
    app.clientside_callback(ClientsideFunction(namespace="review", function_name="openEnterprise"),
                            Output(loc, "pathname", allow_duplicate=True), Output(loc, "search", allow_duplicate=True),
                            Input(ids.REVIEW_INDEX_FUNNEL, "clickData"), State(ids.REVIEW_LANG, "data"),
                            prevent_initial_call=True)

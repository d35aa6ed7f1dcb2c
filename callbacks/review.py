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


def _render_kept() -> dict:
    """An answer of ``render`` that changes nothing."""
    return {"message": no_update, "parts": dict.fromkeys(PART_IDS, no_update), "crumbs": no_update,
            "drawn": no_update, "digests": no_update}


def render(search, pathname, lang, drawn_digests=None):
    """Fill the page's sections for the filters in the URL: the message, the parts (by component id), the
    crumbs, the query drawn and the parts' digests; parts the page already shows are left alone."""
    search, pathname, lang = inputs.url_part(search, "search"), inputs.url_part(pathname, "pathname"), inputs.lang(lang)
    drawn_digests = inputs.mapping(drawn_digests, "part digests")
    answer = _render_kept()
    if pathname != "/review":
        return answer
    row = _params(search).get("row", DEFAULT_ROW)
    today = local_today().isoformat()
    try:
        filters = from_query(search)
        parts, digests, crumbs = service.derived("review.page_parts", (filters.to_query(), row, lang, today),
                                                 _page_parts)
        # the index views are asked for once the book is drawn: start them now
        service.prefetch("review.index_parts", (filters.scope().to_query(), lang, today), _index_parts)
    except FilterError as exc:  # the message; the parts and crumbs stay as drawn
        return {**answer, "message": html.P(t("review_error", lang, error=str(exc)), className="review-error"),
                "drawn": search}
    except SQLAlchemyError as exc:
        log.warning("review failed: %s", exc.__class__.__name__)
        return {**answer, "message": html.P(t("review_db_down", lang), className="review-error"), "drawn": search}
    sent = {part_id: no_update if drawn_digests.get(part_id) == digests[part_id] else part
            for part_id, part in zip(PART_IDS, parts, strict=True)}
    return {"message": None, "parts": sent, "crumbs": crumbs, "drawn": search, "digests": digests}


def plain(value):
    """Components and figures as the browser receives them (plain JSON): quick to keep in the cache, to take
    out again and to send, where plotly figures would be checked anew on the way out of it."""
    return json.loads(to_json_plotly(value))


def _page_parts(query: str, row: str, lang: str, today_iso: str) -> tuple[list, dict, list]:
    """The parts of a review state in PART_IDS order, their digests and the breadcrumbs (all plain; a list, as
    the cache keeps it)."""
    bundle = service.review(query, row, today_iso)
    built = review.parts(bundle, lang)
    parts = [plain(built[part_id]) for part_id in PART_IDS]
    return parts, {part_id: digest(part) for part_id, part in zip(PART_IDS, parts, strict=True)}, plain(
        review.breadcrumb_links(bundle.crumbs, lang, service.organisation()))


def index_part_name(part_id: str, prop: str) -> str:
    """The name of an index part in ``render_index``'s answer: its component id and property, "id.prop"."""
    return f"{part_id}.{prop}"


INDEX_PART_NAMES = tuple(index_part_name(part_id, prop) for part_id, prop in index_views.PART_KEYS)


def _index_kept() -> dict:
    """An answer of ``render_index`` that changes nothing."""
    return {"parts": dict.fromkeys(INDEX_PART_NAMES, no_update), "scope": no_update}


def render_index(drawn, search, pathname, drawn_scope, lang):
    """Draw the safety-index views when the unit or sector changed (they ignore period and category);
    after the main content (``drawn``, the query it was drawn for, only starts this), so that the period book
    is never kept waiting for the larger charts. Answers the parts by INDEX_PART_NAMES and the scope drawn."""
    search, pathname, lang = inputs.url_part(search, "search"), inputs.url_part(pathname, "pathname"), inputs.lang(lang)
    drawn_scope = inputs.text(drawn_scope, "index scope", max_len=inputs.MAX_URL)  # None until first drawn
    if pathname != "/review":
        return _index_kept()
    try:
        scope = from_query(search).scope().to_query()
    except FilterError:
        return _index_kept()
    if scope == drawn_scope:
        return _index_kept()
    try:
        parts = service.derived("review.index_parts", (scope, lang, local_today().isoformat()), _index_parts)
    except SQLAlchemyError as exc:
        log.warning("index views failed: %s", exc.__class__.__name__)
        return _index_kept()
    return {"parts": dict(zip(INDEX_PART_NAMES, parts, strict=True)), "scope": scope}


def _index_parts(scope: str, lang: str, today_iso: str) -> list:
    """The index views of a scope as drawn (plain), in index_views.PART_KEYS order (a list, as the cache keeps
    it)."""
    parts = index_views.parts(service.index_views(scope, today_iso), lang, service.organisation())
    return [plain(parts[key]) for key in index_views.PART_KEYS]


# The filter controls by name: (component id, property). ``sync_controls`` answers them by these names and
# is given what they show under the same names; assets/review.js writeUrl takes them in this order.
CONTROLS = {
    "period": (ids.REVIEW_PERIOD, "value"), "first": (ids.REVIEW_RANGE, "start_date"),
    "last": (ids.REVIEW_RANGE, "end_date"), "station": (ids.REVIEW_STATION, "value"),
    "park": (ids.REVIEW_PARK, "value"), "sector": (ids.REVIEW_SECTOR, "value"),
    "category": (ids.REVIEW_CATEGORY, "value"), "enterprise_only": (ids.REVIEW_ENTERPRISE_ONLY, "value"),
}
_NOT_SHOWN = object()


def sync_controls(search, pathname, **shown):
    """Set the filter controls from the URL (on load and when the back button changes it); ``shown``: what
    the controls show, by CONTROLS name. A control that already shows its value is left alone: after a change
    made with the controls nothing is sent back, so the URL callback is not started a second time."""
    unknown = set(shown) - set(CONTROLS)
    if unknown:
        raise TypeError(f"sync_controls got unknown controls {sorted(unknown)}")
    search, pathname = inputs.url_part(search, "search"), inputs.url_part(pathname, "pathname")
    keep = dict.fromkeys(CONTROLS, no_update)
    if pathname != "/review":
        return keep
    try:
        f = from_query(search)
    except FilterError:
        return keep
    wanted = {"period": f.period, "first": f.first.isoformat() if f.first else None,
              "last": f.last.isoformat() if f.last else None, "station": f.station, "park": f.park,
              "sector": f.sector, "category": f.category, "enterprise_only": ["1"] if f.enterprise_only else []}
    # a control whose value was not given (called without them) is set
    return {name: no_update if _same(value, shown.get(name, _NOT_SHOWN)) else value for name, value in wanted.items()}


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
        return {"pathname": no_update, "search": no_update}
    kind, unit_id = clicked
    params = _params(search)
    try:
        current = from_query(search)
    except FilterError:
        current = ReviewFilters()
    href = review.unit_href(current, kind, unit_id, params.get("row"), lang)
    path, _, query = href.partition("?")
    return {"pathname": path, "search": f"?{query}" if query else ""}


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
    app.callback(
        output={"message": Output(ids.REVIEW_MESSAGE, "children"),
                "parts": {i: Output(i, PART_PROPS.get(i, "children")) for i in PART_IDS},
                "crumbs": Output(ids.REVIEW_BREADCRUMBS, "children"), "drawn": Output(ids.REVIEW_DRAWN, "data"),
                "digests": Output(ids.REVIEW_PART_DIGESTS, "data")},
        inputs={"search": Input(loc, "search"), "pathname": Input(loc, "pathname")},
        state={"lang": State(ids.REVIEW_LANG, "data"), "drawn_digests": State(ids.REVIEW_PART_DIGESTS, "data")},
    )(render)
    app.callback(
        output={"parts": {index_part_name(i, prop): Output(i, prop) for i, prop in index_views.PART_KEYS},
                "scope": Output(ids.REVIEW_INDEX_SCOPE, "data")},
        inputs={"drawn": Input(ids.REVIEW_DRAWN, "data")},
        state={"search": State(loc, "search"), "pathname": State(loc, "pathname"),
               "drawn_scope": State(ids.REVIEW_INDEX_SCOPE, "data"), "lang": State(ids.REVIEW_LANG, "data")},
    )(render_index)
    app.callback(
        output={name: Output(i, prop) for name, (i, prop) in CONTROLS.items()},
        inputs={"search": Input(loc, "search"), "pathname": Input(loc, "pathname")},
        state={name: State(i, prop) for name, (i, prop) in CONTROLS.items()},
    )(sync_controls)
    # Writing the URL is string work done in the browser (assets/review.js), saving a round trip per change.
    app.clientside_callback(ClientsideFunction(namespace="review", function_name="writeUrl"),
                            Output(loc, "search", allow_duplicate=True),
                            *[Input(i, prop) for i, prop in CONTROLS.values()],
                            State(loc, "search"), State(ids.REVIEW_LANG, "data"), prevent_initial_call=True)
    app.callback(
        output={"pathname": Output(loc, "pathname", allow_duplicate=True),
                "search": Output(loc, "search", allow_duplicate=True)},
        inputs={"bar_click": Input(ids.REVIEW_DRILL, "clickData"), "map_click": Input(ids.REVIEW_MAP, "clickData")},
        state={"search": State(loc, "search"), "lang": State(ids.REVIEW_LANG, "data")},
        prevent_initial_call=True,
    )(drill)
    app.clientside_callback(ClientsideFunction(namespace="review", function_name="openEnterprise"),
                            Output(loc, "pathname", allow_duplicate=True), Output(loc, "search", allow_duplicate=True),
                            Input(ids.REVIEW_INDEX_FUNNEL, "clickData"), State(ids.REVIEW_LANG, "data"),
                            prevent_initial_call=True)

"""Fuzzing every server-side callback over HTTP with malformed input (issue 8).

Hypothesis builds callback requests the way the browser would, then fills them with values of the wrong
type and shape (None, huge numbers, NaN, Chinese, SQL and spreadsheet formulas, long text, nested objects),
with odd URLs for the router and the review page, and breaks the request around them (no output, unknown
output, missing or miscounted inputs, a body that is not JSON, the wrong content type). Whatever comes in:

- never a 5xx and never a traceback;
- 200 with a Dash answer (a page, perhaps with an error message), 204 (nothing to update), or a 4xx with a
  short JSON {"error": ...};
- no table changes (the audit log aside: the gate records refused requests there).

The app runs on a copy of the session's small SQLite demo (scale 0.1), logged in as a role each callback allows.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from auth_support import callback_body, ensure_accounts, login_client, named_outputs, server_callbacks
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, text

import app as app_module
from data.core import db, vocab
from data.demo.world import SECTOR_NAMES
from data.screens.review import PRESETS
from web import errors

CALLBACK_PATH = "/_dash-update-component"
FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])

# Every server-side callback, by module.function, with the role that calls it (the gate's permission:
# the wall's callbacks need "wall", the review's "review", the router only a login).
ROLE_OF = {
    "router.render": "admin",
    "wall.frame": "wall",
    "wall.feed": "wall",
    "review.render": "leader",
    "review.render_index": "leader",
    "review.sync_controls": "leader",
    "review.drill": "leader",
}
# run in the browser only: the wall's scheduleFrame, scheduleFeed and tick, the review's writeUrl and openEnterprise
# (tests/test_review_js.py runs those two in node)
CLIENTSIDE = 5


# --- the app ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(small_demo_town):
    url = small_demo_town.copy("callback-fuzz")  # a copy of its own: ensure_accounts writes to it
    app = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False})
    if errors.check_callback_request not in app.before_request_funcs.get(None, []):
        errors.register(app)  # until app.py registers it itself
    ensure_accounts(app)
    yield app
    db.engine_of(app).dispose()


@pytest.fixture(scope="module")
def clients(server):
    logged_in = {}
    for role in set(ROLE_OF.values()):
        client = server.test_client()
        login_client(client, role)
        logged_in[role] = client
    return logged_in


def _post(client, body, content_type="application/json"):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(CALLBACK_PATH, data=data, content_type=content_type)


def _row_counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        tables = [name for name in inspect(conn).get_table_names() if name != "audit_log"]
        return {name: conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() for name in tables}


def assert_clean(response) -> dict | None:
    """The property: no 5xx, no traceback; a Dash answer, nothing to update, or a short JSON error."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{response.status_code}: {body[:800]}"
    assert "Traceback" not in body and 'File "' not in body, body[:800]
    if response.status_code == 200:
        payload = json.loads(body)
        assert payload.get("multi") is True and isinstance(payload.get("response"), dict), body[:300]
        return payload
    if response.status_code == 204:
        assert body == ""
        return None
    assert 400 <= response.status_code < 500
    assert response.mimetype == "application/json", body[:300]
    payload = response.get_json()
    assert set(payload) == {"error"} and 0 < len(payload["error"]) <= 300, payload
    return payload


# --- what goes in -------------------------------------------------------------------------------------------

NASTY_TEXT = ["", " ", "中文", "织北派出所", "'; DROP TABLE incidents; --", "1 OR 1=1",
              '=HYPERLINK("http://evil.example","点我")',
              "+cmd|' /C calc'!A0", "<script>alert(1)</script>", "\x00", "\ud800", "%FF", "../../etc/passwd", "NaN",
              "null", "1e309", "-0"]
long_text = st.sampled_from([("9", 30), ("x", 10_000), ("中", 3000)]).map(lambda pair: pair[0] * pair[1])
NUMBERS = [0, -1, 1, 2, 2**31 - 1, 2**31, 2**63, 10**20, -(10**20), 1.5, 1e308]
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.sampled_from(NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=30), st.sampled_from(NASTY_TEXT), long_text,
)
KEYS = ["points", "customdata", "kind", "id", "lang", "last_id", "view", "ok", "key", "stamp", "at", "poll_ms"]
anything = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4)), max_leaves=12)
garbage = anything.filter(lambda value: value is not None)  # None is a fine value for most inputs

PATHS = ["/", "/wall", "/review", "/first", "/enterprise/1", "/enterprise/-1", "/enterprise/0",
         "/enterprise/99999999999999999999", "/enterprise/abc", "/enterprise/%FF", "/enterprise/", "/enterprise/1/x",
         "/enterprise/99999", "/admin/users", "/nowhere", "//evil.example", "/review/../admin", ""]
FILTER_KEYS = ["period", "first", "last", "station", "park", "enterprise", "sector", "category", "enterprise_only",
               "row", "lang", "kiosk"]
FILTER_VALUES = [*PRESETS, "2026-01-01", "2025-12-31", "0001-01-01", "9999-12-31", "2026-02-30", "20260101", "1", "2",
                 "-1", "0", "99999999999999999999", "abc", "%FF", "%E4%B8", "en", "xx", "true", "incidents:total",
                 "disputes:enterprise", "hazards:xyz", "incidents:", ":::", *SECTOR_NAMES[:2],
                 *vocab.INCIDENT_CATEGORIES[:2]]


def _quote(value: str) -> str:
    return quote(value, errors="surrogatepass")  # lone surrogates too, as their UTF-8 bytes


@st.composite
def queries(draw) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(FILTER_KEYS), st.one_of(
        st.sampled_from(FILTER_VALUES), st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=12)).map(_quote),
        st.sampled_from(["%FF", "%00", "%", "%zz"]))), max_size=5))
    query = "&".join(f"{k}={v}" for k, v in pairs)
    return draw(st.sampled_from(["?", "", "??", "?&"])) + query


paths = st.one_of(st.sampled_from(PATHS), st.text(max_size=20).map(lambda s: "/" + s), long_text.map(lambda s: "/" + s),
                  st.integers().map(lambda n: f"/enterprise/{n}"))
searches = st.one_of(queries(), st.sampled_from(["?period=%FF&station=abc", "?lang=xx", "?lang=en", "?kiosk=1"]),
                     long_text.map(lambda s: "?sector=" + s))
unit_ids = st.one_of(st.sampled_from([1, 2, 3, None]), scalars)
clicks = st.fixed_dictionaries({"points": st.one_of(
    st.lists(st.fixed_dictionaries({}, optional={"customdata": st.one_of(
        st.tuples(st.sampled_from(["station", "park", "enterprise", "town", None, 5]), unit_ids).map(list),
        st.lists(unit_ids, max_size=6), anything)}), max_size=2),
    anything)})
views = st.fixed_dictionaries({}, optional={"kind": st.one_of(st.sampled_from(["station", "town"]), scalars),
                                            "id": unit_ids})
settings_ = st.fixed_dictionaries({}, optional={"lang": st.one_of(st.sampled_from(["zh", "en"]), scalars),
                                                "poll_ms": scalars,
                                                "canvas": st.one_of(st.sampled_from(["standard", "wide"]), scalars)})
frames = st.fixed_dictionaries({}, optional={"ok": st.one_of(st.booleans(), scalars), "key": anything,
                                             "stamp": st.one_of(st.just("09:15:02"), scalars), "at": scalars})
feed_states = st.fixed_dictionaries({}, optional={"last_id": st.one_of(st.sampled_from([None, 0, 1, 10**6]), scalars),
                                                  "view": st.one_of(st.just(["town", None]), anything)})
dates = st.one_of(st.sampled_from(["2026-01-01", "2025-06-30T00:00:00", "2026-13-01", "0001-01-01", "9999-12-31"]),
                  st.dates().map(str))

# The values that property of that component is fuzzed with (besides ``anything``).
SHAPED = {
    ("page-location", "pathname"): paths, ("page-location", "search"): searches, ("fs-location", "search"): searches,
    ("review-lang", "data"): st.sampled_from(["zh", "en", "xx"]),
    ("review-period", "value"): st.sampled_from(PRESETS),
    ("review-range", "start_date"): dates, ("review-range", "end_date"): dates,
    ("review-station", "value"): unit_ids, ("review-park", "value"): unit_ids,
    ("review-sector", "value"): st.sampled_from(SECTOR_NAMES), ("review-category", "value"): st.sampled_from(
        vocab.INCIDENT_CATEGORIES), ("review-enterprise-only", "value"): st.sampled_from([[], ["1"], ["1", "x"]]),
    ("review-drill", "clickData"): clicks, ("review-map", "clickData"): clicks,
    ("review-index-funnel", "clickData"): clicks,
    ("wall-view", "data"): views, ("wall-settings", "data"): settings_, ("wall-frame", "data"): frames,
    ("wall-feed-state", "data"): feed_states,
    ("page-rendered", "data"): st.sampled_from([None, "/review|zh", "/|zh", "/enterprise/1|en", "None|zh"]),
    ("review-drawn", "data"): searches, ("review-index-scope", "data"): st.sampled_from([None, "", "station=1"]),
    ("fs-last-ok", "data"): st.sampled_from([None, "12:00:01"]),
    ("wall-poll", "data"): st.integers(min_value=0), ("wall-feed-poll", "data"): st.integers(min_value=0),
    ("fs-interval", "n_intervals"): st.integers(min_value=0),
}


def _values_for(dep: dict):
    """Mostly values of the right shape (so that a request with several inputs gets past the checks and into
    the callback's work), else anything at all."""
    shaped = SHAPED.get((dep["id"], dep["property"]), anything)
    if dep["property"] == "pathname":  # the review's callbacks do their work only on /review
        shaped = st.one_of(st.just("/review"), paths)
    # (hypothesis favours the bounds of a range: 3 and 7 keep None and garbage to a tenth each)
    return st.integers(min_value=0, max_value=9).flatmap(
        lambda n: garbage if n == 7 else st.none() if n == 3 else shaped)


# --- the tests ----------------------------------------------------------------------------------------------

def test_fuz001_every_server_side_callback_is_fuzzed(server):
    found = server_callbacks(server)
    assert set(found) == set(ROLE_OF), "a new callback needs a role here (and so gets fuzzed)"
    everything = app_module.dash_app_of(server).callback_map
    assert len(everything) - len(found) == CLIENTSIDE


@pytest.mark.parametrize("name", sorted(ROLE_OF))
def test_fuz002_malformed_values_get_a_clean_answer_and_write_nothing(server, clients, name):
    key, spec = server_callbacks(server)[name]
    client = clients[ROLE_OF[name]]
    engine = db.engine_of(server)
    before = _row_counts(engine)
    input_ids = [f"{i['id']}.{i['property']}" for i in spec["inputs"]]

    @FUZZ
    @given(values=st.tuples(*[_values_for(d) for d in spec["inputs"] + spec["state"]]),
           changed=st.lists(st.sampled_from(input_ids), unique=True, max_size=len(input_ids)))
    def check(values, changed):
        assert_clean(_post(client, callback_body(key, spec, values, changed)))
        assert _row_counts(engine) == before

    check()


def _mutate(body: dict, how: str, junk, other_key: str):
    """A broken envelope of a valid request: (data, content type)."""
    body = json.loads(json.dumps(body))
    if how == "no output":
        del body["output"]
    elif how == "unknown output":
        body["output"] = "nothing.children"
    elif how == "junk output":
        body["output"] = junk
    elif how == "clientside output":
        body["output"] = other_key
    elif how == "no outputs":
        del body["outputs"]
    elif how == "junk outputs":
        body["outputs"] = junk
    elif how == "no inputs":
        del body["inputs"]
    elif how == "junk inputs":
        body["inputs"] = junk
    elif how == "extra input":
        body["inputs"].append({"id": "x", "property": "y", "value": junk})
    elif how == "missing input":
        body["inputs"].pop()
    elif how == "junk input item":
        body["inputs"][0] = junk
    elif how == "wrong input id":
        body["inputs"][0]["id"] = "nothing"
    elif how == "input without value":  # what the browser sends for an undefined property: must work
        del body["inputs"][0]["value"]
    elif how == "junk state":
        body["state"] = junk
    elif how == "extra state":
        body.setdefault("state", []).append({"id": "x", "property": "y", "value": None})
    elif how == "junk changed":
        body["changedPropIds"] = junk
    elif how == "unknown changed":
        body["changedPropIds"] = ["{not json.value", "nothing.children"]
    elif how == "json not an object":
        return json.dumps(junk), "application/json"
    elif how == "not json":
        return b"\xff\xfe{output: ]", "application/json"
    elif how == "empty body":
        return b"", "application/json"
    elif how == "too deep":
        return '{"output": ' + "[" * 50_000 + "]" * 50_000 + "}", "application/json"
    elif how == "text/plain":
        return json.dumps(body), "text/plain"
    elif how == "form":
        return "output=" + quote(body["output"]), "application/x-www-form-urlencoded"
    return json.dumps(body), "application/json"


MUTATIONS = ["no output", "unknown output", "junk output", "clientside output", "no outputs", "junk outputs",
             "no inputs", "junk inputs", "extra input", "missing input", "junk input item", "wrong input id",
             "input without value", "junk state", "extra state", "junk changed", "unknown changed",
             "json not an object", "not json", "empty body", "too deep", "text/plain", "form"]


@pytest.mark.parametrize("how", MUTATIONS)
def test_fuz003_malformed_envelopes_get_a_clean_4xx(server, clients, how):
    callbacks = server_callbacks(server)
    clientside = next(k for k, s in app_module.dash_app_of(server).callback_map.items() if "callback" not in s)
    engine = db.engine_of(server)
    before = _row_counts(engine)

    @settings(FUZZ, max_examples=10)
    @given(name=st.sampled_from(sorted(ROLE_OF)), junk=anything)
    def check(name, junk):
        key, spec = callbacks[name]
        valid = callback_body(key, spec, [None] * (len(spec["inputs"]) + len(spec["state"])))
        payload, content_type = _mutate(valid, how, junk, clientside)
        response = _post(clients[ROLE_OF[name]], payload, content_type)
        answer = assert_clean(response)
        if how != "input without value" and not _same_request(payload, valid):  # junk may be the valid value
            assert 400 <= response.status_code < 500, (response.status_code, answer)
        assert _row_counts(engine) == before

    check()


def _same_request(payload, valid: dict) -> bool:
    def normal(body):
        return json.dumps({"state": [], "changedPropIds": [], **body}, sort_keys=True)
    try:
        mutated = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, or nested too deeply to read
        return False
    return isinstance(mutated, dict) and normal(mutated) == normal(valid)


# The cases the issue names, with the answer each must get: the callback's inputs by name, and where to look,
# one of its outputs by name, or "error".
NAMED = [
    ("router.render", {"pathname": "/enterprise/-1", "search": ""}, 200, "page", "未找到该企业"),
    ("router.render", {"pathname": "/enterprise/99999999999999999999", "search": "?lang=en"}, 200, "page",
     "Enterprise not found"),
    ("router.render", {"pathname": "/review", "search": "?period=%FF&station=abc"}, 200, "page", "review-root"),
    ("router.render", {"pathname": "/", "search": "?lang=xx"}, 200, "page", "wall"),
    ("router.render", {"pathname": 5, "search": ""}, 400, "error", "pathname: expected text"),
    ("review.render", {"search": "?period=%FF&station=abc", "pathname": "/review", "lang": "zh"}, 200, "message",
     "period="),
    ("review.render", {"search": "?period=custom&first=2026-03-01&last=2026-01-01", "pathname": "/review",
                       "lang": "en"}, 200, "message", "lies before"),
    ("review.render", {"search": "?station=99999999999999999999", "pathname": "/review", "lang": "zh"}, 200,
     "message", "station="),
    ("review.render", {"search": "?period=custom&first=0001-01-01&last=0001-12-31", "pathname": "/review",
                       "lang": "zh"}, 200, "message", "1900-01-01"),
    ("review.render", {"search": "?row=disputes:enterprise", "pathname": "/review", "lang": "zh"}, 200, "message",
     "null"),
    ("review.render", {"search": ["?x"], "pathname": "/review", "lang": "zh"}, 400, "error", "search: expected text"),
    ("review.render", {"search": "?period=ytd", "pathname": "/review", "lang": "zh",
                       "drawn_digests": ["not", "digests"]}, 400, "error", "part digests"),
    ("review.drill", {"bar_click": {"points": [{"customdata": ["station", "x"]}]}, "search": "", "lang": "zh"}, 400,
     "error", "customdata[1]"),
    ("wall.frame", {"poll": 1, "view": {"kind": "station", "id": 2**70}, "settings": {"lang": "zh"}}, 400, "error",
     "view.id"),
    ("wall.feed", {"poll": 1, "state": {"last_id": "x"}}, 400, "error", "last_id"),
    # and well-formed input still works
    ("review.drill", {"bar_click": {"points": [{"curveNumber": 0, "customdata": ["station", 2]}]},
                      "search": "?period=month", "lang": "zh"}, 200, "search", "?period=month&station=2"),
    ("wall.frame", {"poll": 1, "view": {"kind": "station", "id": 2}, "settings": {"lang": "zh"}}, 200, "view_name",
     "派出所"),
    ("wall.feed", {"poll": 1, "state": {"last_id": None}, "view": {"kind": "town", "id": None},
                   "settings": {"lang": "zh"}}, 200, "state", "last_id"),
]


@pytest.mark.parametrize("name, values, status, where, expected", NAMED,
                         ids=[f"{n}-{i}" for i, (n, *_rest) in enumerate(NAMED)])
def test_fuz004_named_cases_get_the_expected_answer(server, clients, name, values, status, where, expected):
    key, spec = server_callbacks(server)[name]
    engine = db.engine_of(server)
    before = _row_counts(engine)
    changed = [f"{spec['inputs'][0]['id']}.{spec['inputs'][0]['property']}"]
    response = _post(clients[ROLE_OF[name]], callback_body(key, spec, values, changed))
    payload = assert_clean(response)
    assert response.status_code == status
    if status == 200:
        part = json.dumps(named_outputs(key, spec, payload["response"])[where], ensure_ascii=False)
        assert expected in part, part[:500]
    else:
        assert expected in payload["error"]
    assert _row_counts(engine) == before

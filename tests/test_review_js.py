"""The review page's client side (assets/review.js): the URL it writes must equal the server's, and a click
in the funnel plot opens the enterprise's profile.

assets/review.js runs in node (Debian's nodejs, installed by `make system-deps`) on a few thousand
filter states, and each answer is compared with what the Python writes for the same state:
``review_href(ReviewFilters(...), row, lang)``, keeping the enterprise and book row of the current URL.
The browser tests (test_browser_review) drive the real controls through the same function.
"""

from __future__ import annotations

import random
from urllib.parse import parse_qs, urlencode

import js_support
from js_support import NO_UPDATE

from data.core import vocab
from data.demo.world import SECTOR_NAMES
from data.screens.review import DEFAULT_ROW, PRESETS, FilterError, ReviewFilters, from_query
from layouts.review import review_href


def run_js(cases: list[list]) -> list:
    return js_support.run_js("review", "writeUrl", cases)


def python_url(period, first, last, station, park, sector, category, enterprise_only, search, lang):
    """What the server writes for the same state, from the Python's own parts (the server callback this replaced
    did the same, except that it dropped the enterprise when any other parameter of the URL was malformed)."""
    if period == "custom" and not (first and last):
        return NO_UPDATE
    params = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    try:  # a well-formed enterprise is kept even when another parameter of the URL is malformed
        enterprise = from_query(urlencode({"enterprise": params.get("enterprise", "")})).enterprise
    except FilterError:
        enterprise = None
    custom = period == "custom"
    filters = ReviewFilters(period=period or "ytd", first=first[:10] if custom else None,
                            last=last[:10] if custom else None, station=station, park=park, enterprise=enterprise,
                            sector=sector, category=category, enterprise_only=bool(enterprise_only))
    new = review_href(filters, params.get("row"), lang).removeprefix("/review")
    return NO_UPDATE if new == search else new


ROWS = (None, DEFAULT_ROW, "incidents:刑事", "disputes:劳资纠纷", "hazards:消防", "odd row ~*!'()+&=")


def _current_search(rng: random.Random) -> str:
    """A URL the page may hold before the change: some filters, maybe an enterprise, a row, the language."""
    filters = ReviewFilters(period=rng.choice(PRESETS[:-1]), station=rng.choice([None, 1, 2]),
                            enterprise=rng.choice([None, None, 42, 12_999]),
                            category=rng.choice([None, *vocab.INCIDENT_CATEGORIES]))
    return review_href(filters, rng.choice(ROWS), rng.choice(["zh", "en"])).removeprefix("/review")


def _case(rng: random.Random) -> list:
    period = rng.choice([*PRESETS, None])
    first = rng.choice([None, "2026-01-05", "2026-03-01T00:00:00"])
    last = rng.choice([None, "2026-02-28", "2026-11-29T00:00:00"])
    return [period, first, last, rng.choice([None, 1, 2, 3]), rng.choice([None, 7, 31]),
            rng.choice([None, *SECTOR_NAMES]), rng.choice([None, *vocab.INCIDENT_CATEGORIES]),
            rng.choice([[], ["1"]]), _current_search(rng), rng.choice(["zh", "en"])]


def test_rjs001_js_writes_the_servers_query_for_many_states():
    rng = random.Random(5)
    cases = [_case(rng) for _ in range(3_000)]
    # the state already in the URL (nothing to write), and URLs the page did not write itself
    cases += [["month", None, None, 2, None, None, "刑事", ["1"], "?period=month&station=2&category=%E5%88%91%E4%BA%8B"
               "&enterprise_only=1", "zh"],
              ["ytd", None, None, None, None, None, None, [], "", "zh"],
              ["ytd", None, None, None, None, None, None, [], "?row=&lang=en&station=", "en"],
              ["week", None, None, None, None, None, None, [], "?enterprise=abc&row=a+b%2Bc", "zh"],
              ["week", None, None, None, None, None, None, [], "?enterprise=5&enterprise=6&period=bogus", "en"],
              *[["month", None, None, None, None, None, None, [], f"?enterprise={e}", "zh"]
                for e in ("007", "0", "2147483647", "2147483648", "12345678901", "٣", "-4", "4.0", "")]]
    got = run_js(cases)
    wanted = [python_url(*case) for case in cases]
    mismatches = [(case, js, py) for case, js, py in zip(cases, got, wanted, strict=True) if js != py]
    assert not mismatches, mismatches[:5]
    assert got.count(NO_UPDATE) >= 3  # the control cases: a custom period without dates, and the state in the URL
    assert sum(1 for g in got if g != NO_UPDATE and "lang=en" in g) > 500


def test_rjs002_the_harness_sees_a_difference():
    """Control: a case where the JS and a wrongly built expectation differ is reported as a mismatch."""
    case = ["month", None, None, 2, None, None, None, [], "", "zh"]
    assert run_js([case]) == ["?period=month&station=2"]
    assert python_url(*case) == "?period=month&station=2"
    assert run_js([[*case[:-1], "en"]]) != ["?period=month&station=2"]


def test_rjs003_a_funnel_click_opens_the_enterprise_it_names_and_nothing_else():
    point = lambda custom: {"points": [{"customdata": custom, "x": 12, "y": 3.5}]}  # noqa: E731
    cases = [[point([12, 3, 1.5, 55.2, 0.3]), "zh"], [point([12, 3, 1.5, 55.2, 0.3]), "en"],
             [point([2147483647, 0, 0.1, None, 0]), "zh"],
             # a place several enterprises share (no id), a Graph drawn anew (no click), and what is not an id
             [point([None, 3, 1.5, 0.3, 4]), "zh"], [None, "zh"], [{"points": []}, "zh"], [{}, "zh"],
             [point(["park", 3]), "zh"], [point([12.5, 1]), "zh"], [point([0, 1]), "zh"], [point([-3]), "zh"],
             [point([2147483648]), "zh"], [point("12"), "zh"], [point(["12"]), "zh"], [point([]), "zh"]]
    got = js_support.run_js("review", "openEnterprise", cases)
    keep = [NO_UPDATE, NO_UPDATE]
    assert got == [["/enterprise/12", ""], ["/enterprise/12", "?lang=en"], ["/enterprise/2147483647", ""],
                   *[keep] * (len(cases) - 3)]


def test_rjs004_malformed_input_never_throws():
    """What a tampered page could hand the functions: they answer (at worst a URL the server then refuses with
    its own message), never throw."""
    junk = [None, 0, -1, 2**70, 1.5, "", "?", "x" * 3000, [], ["1", 2], {}, {"points": None}, True, "%FF"]
    rng = random.Random(11)
    cases = [[rng.choice(junk) for _ in range(10)] for _ in range(500)]
    for answer in js_support.run_js("review", "writeUrl", cases):
        assert answer == NO_UPDATE or isinstance(answer, str)
    clicks = [[rng.choice(junk + [{"points": [rng.choice(junk)]}, {"points": [{"customdata": rng.choice(junk)}]}]),
               rng.choice(junk)] for _ in range(300)]
    for answer in js_support.run_js("review", "openEnterprise", clicks):
        assert answer == [NO_UPDATE, NO_UPDATE] or answer[0].startswith("/enterprise/")

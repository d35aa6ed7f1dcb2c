"""The review page's main callback, called directly: only the parts that changed go to the browser."""

from __future__ import annotations

import time

import pytest
from dash import no_update

import app as app_module
from callbacks import review as review_callbacks
from data import service
from data.core import db
from layouts import ids


@pytest.fixture(scope="module")
def town(small_demo_town):
    """A copy of the session's small demo town (scale 0.1)."""
    return small_demo_town.copy("review-callbacks")


@pytest.fixture
def server(town):
    server = app_module.create_app({"EQIAN_DATABASE_URL": town, "EQIAN_SIMULATE": False})
    with server.app_context():
        service.forget_version()
        yield server
    db.engine_of(server).dispose()


def _render(search: str, digests=None) -> dict:
    """The review page's main callback, called as Dash calls it (by argument name), on /review in Chinese."""
    return review_callbacks.render(search=search, pathname="/review", lang="zh", drawn_digests=digests)


def _parts(out) -> dict:
    """The parts of a render() answer by component id."""
    assert set(out["parts"]) == set(review_callbacks.PART_IDS)
    return out["parts"]


def _sent(out) -> set:
    return {part_id for part_id, value in _parts(out).items() if value is not no_update}


class TestChangedOnly:
    def test_rvc001_first_draw_sends_every_part_and_their_digests(self, server):
        out = _render("?period=ytd")
        assert _sent(out) == set(review_callbacks.PART_IDS)
        assert out["drawn"] == "?period=ytd" and out["message"] is None
        assert set(out["digests"]) == set(review_callbacks.PART_IDS)
        assert all(len(d) == 16 for d in out["digests"].values())

    def test_rvc002_the_same_view_again_sends_nothing_but_the_crumbs(self, server):
        first = _render("?period=ytd")
        again = _render("?period=ytd", first["digests"])
        assert _sent(again) == set() and again["digests"] == first["digests"]
        assert again["crumbs"] == first["crumbs"] and again["crumbs"] is not no_update

    def test_rvc003_a_period_change_leaves_the_monthly_charts_alone_and_redraws_the_rest(self, server):
        """The trend and the Spring-Festival view are monthly series: they do not depend on the period."""
        first = _render("?period=ytd")
        week = _render("?period=week", first["digests"])
        assert ids.REVIEW_TREND not in _sent(week) and ids.REVIEW_FESTIVAL not in _sent(week)
        assert ids.REVIEW_BOOK_HOLDER in _sent(week) and ids.REVIEW_DRILL in _sent(week)
        # what is sent equals a fresh draw of the same view, part for part
        fresh = _parts(_render("?period=week"))
        for part_id in _sent(week):
            assert review_callbacks.digest(_parts(week)[part_id]) == review_callbacks.digest(fresh[part_id])

    def test_rvc004_a_station_change_redraws_the_unit_dependent_charts(self, server):
        first = _render("?period=ytd")
        station = _render("?period=ytd&station=2", first["digests"])
        assert {ids.REVIEW_BOOK_HOLDER, ids.REVIEW_TREND, ids.REVIEW_DRILL} <= _sent(station)

    def test_rvc005_digests_lost_with_the_page_mean_a_full_draw(self, server):
        first = _render("?period=ytd")
        assert _sent(_render("?period=ytd", {})) == set(review_callbacks.PART_IDS)
        stale = dict(first["digests"], **{ids.REVIEW_TREND: "0" * 16})
        assert _sent(_render("?period=ytd", stale)) == {ids.REVIEW_TREND}

    def test_rvc006_a_bad_query_says_so_and_leaves_every_part_and_the_crumbs_alone(self, server):
        first = _render("?period=ytd")
        bad = _render("?period=%FF", first["digests"])
        assert bad["message"].className == "review-error" and _sent(bad) == set()
        assert bad["crumbs"] is no_update and bad["digests"] is no_update and bad["drawn"] == "?period=%FF"
        elsewhere = review_callbacks.render(search="?period=ytd", pathname="/", lang="zh")
        assert _sent(elsewhere) == set()
        assert all(elsewhere[name] is no_update for name in ("message", "crumbs", "drawn", "digests"))


class TestSyncControls:
    SEARCH = "?period=28d&station=2&category=刑事&enterprise_only=1"

    SHOWN = {"period": "28d", "first": None, "last": None, "station": 2, "park": None, "sector": None,
             "category": "刑事", "enterprise_only": ["1"]}
    NOTHING = dict.fromkeys(review_callbacks.CONTROLS, no_update)

    def test_rvc010_controls_already_showing_the_url_get_nothing(self):
        assert review_callbacks.sync_controls(self.SEARCH, "/review", **self.SHOWN) == self.NOTHING

    def test_rvc011_only_controls_that_differ_are_set(self):
        """The back button: the URL says station 2 and 28 days, the controls still show the town's year."""
        shown = dict(self.SHOWN, period="ytd", station=None)
        out = review_callbacks.sync_controls(self.SEARCH, "/review", **shown)
        assert out == dict(self.NOTHING, period="28d", station=2)

    def test_rvc012_without_the_controls_values_every_control_is_set(self):
        out = review_callbacks.sync_controls(self.SEARCH, "/review")
        assert out == self.SHOWN
        week = {"period": "week", "first": None, "last": None, "station": None, "park": None, "sector": None,
                "category": None, "enterprise_only": []}
        assert review_callbacks.sync_controls("?period=week", "/review", **week) == self.NOTHING
        with pytest.raises(TypeError, match="unknown controls"):
            review_callbacks.sync_controls("?period=week", "/review", periods="week")


class TestPrefetch:
    def test_rvc020_the_main_request_starts_the_index_views_it_will_be_asked_for(self, server):
        from data.core.timeutil import local_today

        today = local_today().isoformat()
        key = service._key("review.index_parts", service.data_version(), ("station=3", "en", today))
        assert not service.cache.has(key)
        review_callbacks.render(search="?period=month&station=3&lang=en", pathname="/review", lang="en")
        deadline = time.monotonic() + 30
        while not service.cache.has(key) and time.monotonic() < deadline:  # computed in the background
            time.sleep(0.05)
        assert service.cache.has(key)
        # the index callback answers from it, the same as a fresh computation
        out = review_callbacks.render_index(drawn="?period=month&station=3&lang=en",
                                            search="?period=month&station=3&lang=en", pathname="/review",
                                            drawn_scope=None, lang="en")
        assert out["scope"] == "station=3"
        assert out["parts"] == dict(zip(review_callbacks.INDEX_PART_NAMES,
                                        review_callbacks._index_parts("station=3", "en", today), strict=True))

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


def _parts(out) -> dict:
    """The parts of a render() answer by component id."""
    return dict(zip(review_callbacks.PART_IDS, out[1:1 + len(review_callbacks.PART_IDS)]))


def _sent(out) -> set:
    return {part_id for part_id, value in _parts(out).items() if value is not no_update}


class TestChangedOnly:
    def test_rvc001_first_draw_sends_every_part_and_their_digests(self, server):
        out = review_callbacks.render("?period=ytd", "/review", "zh", None)
        assert _sent(out) == set(review_callbacks.PART_IDS)
        assert out[-2] == "?period=ytd"
        assert set(out[-1]) == set(review_callbacks.PART_IDS) and all(len(d) == 16 for d in out[-1].values())

    def test_rvc002_the_same_view_again_sends_nothing_but_the_crumbs(self, server):
        first = review_callbacks.render("?period=ytd", "/review", "zh", None)
        again = review_callbacks.render("?period=ytd", "/review", "zh", first[-1])
        assert _sent(again) == set() and again[-1] == first[-1]

    def test_rvc003_a_period_change_leaves_the_monthly_charts_alone_and_redraws_the_rest(self, server):
        """The trend and the Spring-Festival view are monthly series: they do not depend on the period."""
        first = review_callbacks.render("?period=ytd", "/review", "zh", None)
        week = review_callbacks.render("?period=week", "/review", "zh", first[-1])
        assert ids.REVIEW_TREND not in _sent(week) and ids.REVIEW_FESTIVAL not in _sent(week)
        assert ids.REVIEW_BOOK_HOLDER in _sent(week) and ids.REVIEW_DRILL in _sent(week)
        # what is sent equals a fresh draw of the same view, part for part
        fresh = _parts(review_callbacks.render("?period=week", "/review", "zh", None))
        for part_id in _sent(week):
            assert review_callbacks.digest(_parts(week)[part_id]) == review_callbacks.digest(fresh[part_id])

    def test_rvc004_a_station_change_redraws_the_unit_dependent_charts(self, server):
        first = review_callbacks.render("?period=ytd", "/review", "zh", None)
        station = review_callbacks.render("?period=ytd&station=2", "/review", "zh", first[-1])
        assert {ids.REVIEW_BOOK_HOLDER, ids.REVIEW_TREND, ids.REVIEW_DRILL} <= _sent(station)

    def test_rvc005_digests_lost_with_the_page_mean_a_full_draw(self, server):
        first = review_callbacks.render("?period=ytd", "/review", "zh", None)
        assert _sent(review_callbacks.render("?period=ytd", "/review", "zh", {})) == set(review_callbacks.PART_IDS)
        stale = dict(first[-1], **{ids.REVIEW_TREND: "0" * 16})
        assert _sent(review_callbacks.render("?period=ytd", "/review", "zh", stale)) == {ids.REVIEW_TREND}


class TestSyncControls:
    SEARCH = "?period=28d&station=2&category=刑事&enterprise_only=1"

    def test_rvc010_controls_already_showing_the_url_get_nothing(self):
        shown = ["28d", None, None, 2, None, None, "刑事", ["1"]]
        assert review_callbacks.sync_controls(self.SEARCH, "/review", *shown) == [no_update] * 8

    def test_rvc011_only_controls_that_differ_are_set(self):
        """The back button: the URL says station 2 and 28 days, the controls still show the town's year."""
        shown = ["ytd", None, None, None, None, None, "刑事", ["1"]]
        out = review_callbacks.sync_controls(self.SEARCH, "/review", *shown)
        assert out[0] == "28d" and out[3] == 2
        assert [i for i, value in enumerate(out) if value is not no_update] == [0, 3]

    def test_rvc012_without_the_controls_values_every_control_is_set(self):
        out = review_callbacks.sync_controls(self.SEARCH, "/review")
        assert out == ["28d", None, None, 2, None, None, "刑事", ["1"]]
        assert review_callbacks.sync_controls("?period=week", "/review", "week", None, None, None, None, None,
                                              None, []) == [no_update] * 8


class TestPrefetch:
    def test_rvc020_the_main_request_starts_the_index_views_it_will_be_asked_for(self, server):
        from data.core.timeutil import local_today

        today = local_today().isoformat()
        key = service._key("review.index_parts", service.data_version(), ("station=3", "en", today))
        assert not service.cache.has(key)
        review_callbacks.render("?period=month&station=3&lang=en", "/review", "en", None)
        deadline = time.monotonic() + 30
        while not service.cache.has(key) and time.monotonic() < deadline:  # computed in the background
            time.sleep(0.05)
        assert service.cache.has(key)
        # the index callback answers from it, the same as a fresh computation
        out = review_callbacks.render_index("?period=month&station=3&lang=en", "?period=month&station=3&lang=en",
                                            "/review", None, "en")
        assert out[-1] == "station=3"
        assert out[:-1] == review_callbacks._index_parts("station=3", "en", today)

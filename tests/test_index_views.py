"""The safety-index views of the review page: Poisson quantiles and funnel limits against independent
computations, the flags, bins and rank movements, and the views on the demo town against plain SQL and pandas
over the base tables (SQLite and PostgreSQL)."""

from __future__ import annotations

import base64
import json
import math
from datetime import date

import js_support
import numpy as np
import pandas as pd
import pytest
from js_support import NO_UPDATE
from sqlalchemy import text

from data.demo.generator import DemoSettings
from data.index import index_views as iv
from data.index import safety_index as si
from data.screens.review import ReviewFilters
from figures import index_views as fv
from layouts import index_views as lv

# --- an independent Poisson: math.lgamma and math.fsum, one term at a time ------------------------------


def brute_cdf(k: int, mu: float) -> float:
    if k < 0:
        return 0.0
    if mu == 0:
        return 1.0
    return min(1.0, math.fsum(math.exp(j * math.log(mu) - mu - math.lgamma(j + 1)) for j in range(k + 1)))


def brute_pmf(k: int, mu: float) -> float:
    if mu == 0:
        return 1.0 if k == 0 else 0.0
    return math.exp(k * math.log(mu) - mu - math.lgamma(k + 1))


def brute_quantile(p: float, mu: float) -> int:
    k, total = 0, brute_pmf(0, mu)
    while total < p:
        k += 1
        total += brute_pmf(k, mu)
    return k


def brute_upper_tail(y: int, mu: float) -> float:
    """P(Y >= y)."""
    return 1.0 - brute_cdf(y - 1, mu)


MEANS = (0.004, 0.0435, 0.3, 0.4, 1.0, 2.5, 3.7, 7.7, 10.0, 33.3, 150.0, 1000.0, 4321.0)
PS = (0.001, 0.025, 0.5, 0.975, 0.999)


class TestPoisson:
    def test_idx001_known_quantiles(self):
        assert iv.poisson_quantile(0.975, 10.0) == 17
        assert iv.poisson_quantile(0.025, 10.0) == 4
        assert iv.poisson_quantile(0.975, 1.0) == 3
        assert iv.poisson_quantile(0.999, 1.0) == 5
        assert iv.poisson_quantile(0.5, 0.0) == 0
        # P(Y <= 16 | 10) = 0.9730, P(Y <= 3 | 10) = 0.0103 (printed tables)
        assert iv.poisson_cdf(16, 10.0) == pytest.approx(0.97296, abs=1e-5)
        assert iv.poisson_cdf(3, 10.0) == pytest.approx(0.010336, abs=1e-6)

    def test_idx002_quantiles_equal_a_term_by_term_sum(self):
        for p in PS:
            vector = iv.poisson_quantile(p, np.array(MEANS))
            for mu, got in zip(MEANS, vector, strict=True):
                assert got == brute_quantile(p, mu), (p, mu)
                assert iv.poisson_quantile(p, mu) == got

    def test_idx003_cdf_equals_a_term_by_term_sum(self):
        for mu in MEANS:
            for k in {0, 1, int(mu), int(mu + 3 * math.sqrt(mu)) + 1}:
                assert iv.poisson_cdf(k, mu) == pytest.approx(brute_cdf(k, mu), abs=1e-12), (k, mu)
        assert iv.poisson_cdf(-1, 3.0) == 0.0

    def test_idx004_bad_arguments(self):
        with pytest.raises(ValueError):
            iv.poisson_quantile(1.0, 3.0)
        with pytest.raises(ValueError):
            iv.poisson_quantile(0.5, -1.0)


class TestLimits:
    def test_idx010_limits_are_interpolated_exact_quantiles(self):
        for level in (0.95, 0.998):
            tail = (1 - level) / 2
            lower, upper = iv.limit_counts(np.array(MEANS), level)
            for mu, lo, hi in zip(MEANS, lower, upper, strict=True):
                r = brute_quantile(tail, mu)
                alpha = (brute_cdf(r, mu) - tail) / brute_pmf(r, mu)
                assert lo == pytest.approx(max(0.0, r - alpha), abs=1e-9), (level, mu)
                r = brute_quantile(1 - tail, mu)
                alpha = (brute_cdf(r, mu) - (1 - tail)) / brute_pmf(r, mu)
                assert hi == pytest.approx(r + 1 - alpha, abs=1e-9), (level, mu)
                assert lo <= mu <= hi

    def test_idx011_limits_are_continuous_in_the_expected_count(self):
        grid = np.arange(0.05, 25.0, 0.001)
        for level in (0.95, 0.998):
            lower, upper = iv.limit_counts(grid, level)
            # The exact quantiles jump by whole counts; the interpolated limits move a little per step.
            assert np.abs(np.diff(upper)).max() < 0.05
            assert np.abs(np.diff(lower)).max() < 0.05
            assert np.all(np.diff(upper) > -1e-9)  # and never fall as E grows

    def test_idx012_a_point_is_flagged_exactly_when_its_tail_is_beyond_the_level(self):
        rng = np.random.default_rng(5)
        expected = np.concatenate([rng.uniform(0.01, 3, 300), rng.uniform(3, 60, 300)])
        observed = rng.poisson(expected * rng.choice([0.3, 1, 2, 4], len(expected)))
        flags = iv.classify(observed, expected)
        for y, mu, flag in zip(observed, expected, flags, strict=True):
            above, below = brute_upper_tail(int(y), mu), brute_cdf(int(y), mu)
            want = ("above_998" if above <= 0.001 else "above_95" if above <= 0.025 else
                    "below_998" if below <= 0.001 else "below_95" if below <= 0.025 else "within")
            assert flag == want, (y, mu, above, below)
        assert {"above_998", "above_95", "within", "below_95"} <= set(flags)

    def test_idx013_flags_agree_with_the_drawn_lines(self):
        rng = np.random.default_rng(7)
        expected = rng.uniform(0.02, 40, 2000)
        observed = rng.poisson(expected * rng.choice([0.5, 1, 2.5], len(expected)))
        flags = iv.classify(observed, expected)
        for level, above, below in ((0.998, {"above_998"}, {"below_998"}),
                                    (0.95, {"above_998", "above_95"}, {"below_998", "below_95"})):
            lower, upper = iv.limit_counts(expected, level)
            np.testing.assert_array_equal(observed > upper, np.isin(flags, list(above)))
            np.testing.assert_array_equal(observed < lower, np.isin(flags, list(below)))

    def test_idx014_small_enterprises_are_not_unusual_for_being_small(self):
        p0 = 4.35  # incidents per 100 workers a year
        one_worker = p0 * 0.01  # E for one worker over a year
        assert iv.classify([1], [one_worker])[0] == "within"  # raw rate 100, P(Y >= 1) = 4.3%
        assert iv.classify([2], [one_worker])[0] == "above_998"  # P(Y >= 2) = 0.09%
        # A 10-worker shop with 3 calls at 4 a year per 100 workers: P = 0.8%, beyond 95% but not 99.8%; the
        # plain r - alpha line of Spiegelhalter (2005) would have put it above the 99.8% limit.
        e = 4.0 * 0.1
        assert brute_upper_tail(3, e) == pytest.approx(0.0079, abs=1e-4)
        assert iv.classify([3], [e])[0] == "above_95"
        r = brute_quantile(0.999, e)
        assert 3 > r - (brute_cdf(r, e) - 0.999) / brute_pmf(r, e)
        assert 3 < iv.limit_counts(np.array([e]), 0.998)[1][0]

    def test_idx015_rate_limits_narrow_around_the_centre(self):
        p0 = 4.0
        exposures = np.array([0.01, 0.1, 1.0, 10.0, 100.0])
        limits = iv.funnel_limits(p0, exposures)
        assert set(limits) == set(iv.LIMIT_NAMES)
        lower, upper = iv.limit_counts(p0 * exposures, 0.998)
        np.testing.assert_allclose(limits["upper_998"], upper / exposures)
        np.testing.assert_allclose(limits["lower_998"], lower / exposures)
        assert np.all(np.diff(limits["upper_998"]) < 0) and np.all(np.diff(limits["lower_998"]) >= 0)
        assert np.all(limits["upper_998"] >= limits["upper_95"]) and np.all(limits["upper_95"] > p0)
        assert np.all(limits["lower_998"] <= limits["lower_95"]) and np.all(limits["lower_95"] < p0)
        assert limits["upper_95"][-1] == pytest.approx(p0 + 1.96 * math.sqrt(p0 / 100), rel=0.02)


class TestBinsAndRanks:
    def test_idx020_score_bins(self):
        scores = [0.0, 4.99, 5.0, 49.9, 50.0, 64.9, 65.0, 80.0, 99.9, 100.0]
        bands = ["红", "红", "红", "红", "橙", "橙", "黄", "蓝", "蓝", "蓝"]
        counts = iv.score_bins(scores, bands, ("蓝", "黄", "橙", "红"))
        assert counts["红"][0] == 2 and counts["红"][1] == 1 and counts["红"][9] == 1 and sum(counts["红"]) == 4
        assert counts["橙"][10] == 1 and counts["橙"][12] == 1
        assert counts["黄"][13] == 1
        assert counts["蓝"][16] == 1 and counts["蓝"][19] == 2
        assert sum(sum(v) for v in counts.values()) == len(scores)
        assert all(len(v) == 20 for v in counts.values())

    def test_idx021_competition_ranks_and_movement(self):
        assert iv.competition_ranks({1: 80.0, 2: 85.0, 3: 80.0, 4: 70.0}) == {2: 1, 1: 2, 3: 2, 4: 4}
        moves = iv.rank_movement({1: 80.0, 2: 85.0, 3: 80.0, 4: 70.0}, {1: 90.0, 2: 85.0, 4: 60.0, 9: 99.0})
        # last month, among the units ranked now: 1 first, 2 second, 4 third (9 is not ranked now)
        assert moves == {1: (2, 1, -1), 2: (1, 2, 1), 3: (2, None, None), 4: (4, 3, -1)}

    def test_idx022_ranking_rows(self):
        rows = iv.ranking("park", {1: "甲园", 2: "乙园", 3: "丙园"}, {1: (70.0, "黄", 10), 2: (81.0, "蓝", 5)},
                          {1: (72.0, "黄", 10), 2: (69.0, "黄", 5), 3: (50.0, "橙", 3)}, highlight=1)
        assert [(r.id, r.rank, r.previous_rank, r.movement, r.highlighted) for r in rows] == [
            (2, 1, 2, 1, False), (1, 2, 1, -1, True)]
        assert rows[0].change == pytest.approx(12.0) and rows[1].change == pytest.approx(-2.0)

    def test_idx023_movement_text(self):
        assert lv.movement_text(2, "zh")[0] == "↑2"
        assert lv.movement_text(-1, "zh")[0] == "↓1"
        assert lv.movement_text(0, "zh")[0] == "—"
        assert lv.movement_text(None, "zh")[0] == "新" and lv.movement_text(None, "en")[0] == "new"

    def test_idx024_empty_state_is_a_sentence(self):
        parts = lv.parts(None, "zh")
        assert set(parts) == set(lv.PART_KEYS)
        (section,) = parts[(lv.REVIEW_INDEX_RANKINGS, "children")]
        texts = [c for c in section.children if getattr(c, "id", None) == lv.REVIEW_INDEX_EMPTY]
        assert len(texts) == 1 and "平安指数" in texts[0].children
        assert "index" in lv.parts(None, "en")[(lv.REVIEW_INDEX_RANKINGS, "children")][0].children[1].children
        # nothing else shows: both chart sections hidden, the charts empty
        assert parts[(lv.REVIEW_INDEX_DISTRIBUTION_SECTION, "style")] \
            == parts[(lv.REVIEW_INDEX_FUNNEL_SECTION, "style")] == {"display": "none"}
        assert parts[(lv.REVIEW_INDEX_FUNNEL, "figure")]["data"] \
            == parts[(lv.REVIEW_INDEX_DISTRIBUTION, "figure")]["data"] == []
        _assert_ids_unique_in_the_page(parts)


# --- the demo town, on both backends ---------------------------------------------------------------------


def _month_param(engine, month: date):
    return month if engine.dialect.name != "sqlite" else month.isoformat()


def _raw_incidents(conn) -> pd.DataFrame:
    raw = pd.read_sql(text("SELECT enterprise_id, category, received_at FROM incidents "
                           "WHERE enterprise_id IS NOT NULL"), conn)
    raw["day"] = pd.to_datetime(raw["received_at"], utc=True, format="mixed").dt.tz_convert("Asia/Shanghai").dt.date
    return raw


def _raw_enterprises(conn, engine, month: date) -> pd.DataFrame:
    frame = pd.read_sql(text("SELECT e.id AS enterprise_id, e.sector, e.workers, e.park_id, e.station_id, s.score, "
                             "s.band FROM enterprises e LEFT JOIN safety_index s ON s.enterprise_id = e.id "
                             "AND s.month = :m"), conn, params={"m": _month_param(engine, month)})
    workers = frame["workers"].astype(float)
    frame["used"] = workers.fillna(frame.groupby("sector")["workers"].transform("median")).clip(lower=1)
    return frame


def _raw_units(conn, engine, kind: str, month: date) -> dict[int, float]:
    rows = conn.execute(text("SELECT unit_id, score FROM safety_index_units WHERE unit_kind = :k AND month = :m"),
                        {"k": kind, "m": _month_param(engine, month)}).all()
    return {int(u): float(s) for u, s in rows}


def _expected_ranking(now: dict[int, float], before: dict[int, float]) -> list[tuple]:
    """(id, rank, previous rank, movement), best first, by plain sorting."""
    order = sorted(now, key=lambda u: (-now[u], u))
    ranked_before = sorted((u for u in before if u in now), key=lambda u: (-before[u], u))
    previous = {u: i + 1 for i, u in enumerate(ranked_before)}
    return [(u, i + 1, previous.get(u), None if u not in previous else previous[u] - (i + 1))
            for i, u in enumerate(order)]


class TestDemoTown:
    def test_idx030_town_views_equal_plain_sql_and_pandas(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        with demo_engine.connect() as conn:
            views = iv.index_views(conn, today, ReviewFilters())
            latest = conn.execute(text("SELECT MAX(month) FROM safety_index")).scalar()
            raw = _raw_incidents(conn)
            month = views.month
            enterprises = _raw_enterprises(conn, demo_engine, month)
            stations_now = _raw_units(conn, demo_engine, "station", month)
            stations_before = _raw_units(conn, demo_engine, "station", si.add_months(month, -1))
            parks_now = _raw_units(conn, demo_engine, "park", month)
            parks_before = _raw_units(conn, demo_engine, "park", si.add_months(month, -1))
            town = _raw_units(conn, demo_engine, "town", month)[0]
        assert month == date.fromisoformat(str(latest)[:10]) == today.replace(day=1)
        assert views.previous_month == si.add_months(month, -1)

        # funnel counts: plain counts of each enterprise's incidents over the index window
        window = views.funnel.window
        assert window.last == today and window.first == si.add_months(month, -11)
        in_window = raw[(raw["day"] >= window.first) & (raw["day"] <= window.last)]
        counts = in_window.groupby("enterprise_id").size()
        points = views.funnel.points.set_index("enterprise_id")
        assert len(points) == len(enterprises) == 14_000
        assert (points["incidents"].reindex(counts.index) == counts).all()
        assert points["incidents"].sum() == len(in_window) == views.funnel.incidents
        assert (points["incidents"].drop(counts.index) == 0).all()
        # exposure and the centre rate
        used = enterprises.set_index("enterprise_id")["used"]
        np.testing.assert_allclose(points["workers_used"], used.reindex(points.index))
        exposure = (used / 100 * window.days / 365).sum()
        assert views.funnel.p0 == pytest.approx(len(in_window) / exposure, rel=1e-12)
        np.testing.assert_allclose(points["expected"], views.funnel.p0 * used.reindex(points.index) / 100
                                   * window.days / 365, rtol=1e-12)
        # the flags against term-by-term Poisson tails (all the flagged points and a sample of the rest)
        flagged = points[points["flag"] != "within"]
        assert 0 < len(flagged) < 0.1 * len(points)
        assert sum(views.funnel.flag_counts.values()) == len(points)
        for y, mu, flag in zip(flagged["incidents"], flagged["expected"], flagged["flag"], strict=True):
            tail = brute_upper_tail(int(y), mu) if flag.startswith("above") else brute_cdf(int(y), mu)
            assert tail <= (0.001 if flag.endswith("998") else 0.025), (y, mu, flag)
        for y, mu in zip(points["incidents"].iloc[::97], points["expected"].iloc[::97], strict=True):
            flag = iv.classify([y], [mu])[0]
            if flag == "within":
                assert brute_upper_tail(int(y), mu) > 0.025 and brute_cdf(int(y), mu) > 0.025

        # distribution: every enterprise once, bands and median as plain SQL gives them
        dist = views.distribution
        assert dist.total == sum(dist.band_counts.values()) == sum(sum(c) for c in dist.counts.values()) == 14_000
        assert dist.band_counts == {b: int((enterprises["band"] == b).sum()) for b in ("蓝", "黄", "橙", "红")}
        assert dist.median == pytest.approx(enterprises["score"].median())
        assert dist.mean == pytest.approx(enterprises["score"].mean())
        bins = np.minimum((enterprises["score"] // 5).astype(int), 19)
        assert [sum(dist.counts[b][i] for b in dist.bands) for i in range(20)] == [
            int((bins == i).sum()) for i in range(20)]
        assert dist.unit_score == pytest.approx(town)

        # rankings: plain sorting of the stored unit scores
        assert [(r.id, r.rank, r.previous_rank, r.movement) for r in views.stations] == _expected_ranking(
            stations_now, stations_before)
        assert [(r.id, r.rank, r.previous_rank, r.movement) for r in views.parks] == _expected_ranking(
            parks_now, parks_before)
        assert all(r.change == pytest.approx(stations_now[r.id] - stations_before[r.id]) for r in views.stations)
        assert len(views.parks) == 12 and views.parks_station is None

    def test_idx031_station_sector_and_category_filters(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        f = ReviewFilters(station=2, sector="童装生产", category="纠纷")
        with demo_engine.connect() as conn:
            views = iv.index_views(conn, today, f)
            raw = _raw_incidents(conn)
            enterprises = _raw_enterprises(conn, demo_engine, views.month)
            parks = dict(conn.execute(text("SELECT id, station_id FROM parks")).all())
        scope = enterprises[(enterprises["station_id"] == 2) & (enterprises["sector"] == "童装生产")]
        points = views.funnel.points.set_index("enterprise_id")
        assert set(points.index) == set(scope["enterprise_id"]) and len(points) > 100
        window = views.funnel.window
        mine = raw[(raw["day"] >= window.first) & (raw["day"] <= window.last) & (raw["category"] == "纠纷")
                   & raw["enterprise_id"].isin(scope["enterprise_id"])]
        counts = mine.groupby("enterprise_id").size()
        assert (points["incidents"].reindex(counts.index) == counts).all()
        assert points["incidents"].sum() == len(mine) > 0
        # the head counts are imputed with the medians of the whole town's sector, as the index does
        used = scope.set_index("enterprise_id")["used"]
        np.testing.assert_allclose(points["workers_used"], used.reindex(points.index))
        assert views.distribution.total == int(scope["score"].notna().sum())
        assert views.distribution.unit_score is None  # the station's index covers every sector
        assert views.rankings_ignore_sector
        assert [r.id for r in views.parks] and all(parks[r.id] == r.station == 2 for r in views.parks)
        assert views.parks_station == 2 and [r.id for r in views.stations if r.highlighted] == [2]

    def test_idx032_an_enterprise_is_seen_in_its_park(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        with demo_engine.connect() as conn:
            row = conn.execute(text("SELECT id, park_id, station_id FROM enterprises WHERE park_id IS NOT NULL "
                                    "ORDER BY id LIMIT 1")).one()
            views = iv.index_views(conn, today, ReviewFilters(enterprise=row.id))
            own = conn.execute(text("SELECT score FROM safety_index WHERE enterprise_id = :e AND month = :m"),
                               {"e": row.id, "m": _month_param(demo_engine, views.month)}).scalar_one()
            park_members = conn.execute(text("SELECT COUNT(*) FROM enterprises WHERE park_id = :p"),
                                        {"p": row.park_id}).scalar_one()
            park_score = _raw_units(conn, demo_engine, "park", views.month)[row.park_id]
        assert views.scope.park == row.park_id and views.scope.station == row.station_id
        assert len(views.funnel.points) == views.distribution.total == park_members
        assert views.distribution.highlight_score == pytest.approx(own)
        assert views.distribution.unit_score == pytest.approx(park_score)
        assert [r.id for r in views.parks if r.highlighted] == [row.park_id]

    def test_idx035_views_cut_from_the_town_base_equal_views_read_for_the_scope(self, demo_engine):
        """The app cuts each unit's views from one town-wide read (data.service.index_base); they must equal
        the views read for the scope alone, for every kind of scope."""
        today = DemoSettings.load(demo_engine).seed_day
        with demo_engine.connect() as conn:
            base = iv.town_base(conn, today)
            parks = [r[0] for r in conn.execute(text("SELECT id FROM parks ORDER BY id LIMIT 3"))]
            enterprise = conn.execute(text("SELECT MIN(id) FROM enterprises WHERE park_id IS NOT NULL")).scalar_one()
            scopes = [ReviewFilters(), *[ReviewFilters(station=s) for s in (1, 2, 3)],
                      *[ReviewFilters(park=p) for p in parks], ReviewFilters(sector="电商直播"),
                      ReviewFilters(station=2, sector="童装生产"), ReviewFilters(enterprise=enterprise),
                      ReviewFilters(station=1, category="纠纷")]
            assert len(base.frame) == 14_000 and sum(base.counts.values()) > 10_000
            for f in scopes:
                cut, read = iv.index_views(conn, today, f, base), iv.index_views(conn, today, f)
                pd.testing.assert_frame_equal(cut.funnel.points, read.funnel.points)
                assert (cut.funnel.p0, cut.funnel.incidents, cut.funnel.flag_counts) == (
                    read.funnel.p0, read.funnel.incidents, read.funnel.flag_counts)
                for name in iv.LIMIT_NAMES:
                    np.testing.assert_array_equal(cut.funnel.limits[name], read.funnel.limits[name])
                assert cut.distribution == read.distribution
                assert (cut.stations, cut.parks, cut.scope, cut.month) == (read.stations, read.parks, read.scope,
                                                                           read.month)
                assert len(cut.funnel.points) > 0

    def test_idx033_the_page_sections_draw(self, demo_engine):
        today = DemoSettings.load(demo_engine).seed_day
        with demo_engine.connect() as conn:
            views = iv.index_views(conn, today, ReviewFilters(station=1))
        dist = views.distribution
        for lang in ("zh", "en"):
            parts = lv.parts(views, lang)
            assert set(parts) == set(lv.PART_KEYS)
            # every section shows, both charts drawn, the funnel's points WebGL (the page keeps it mounted)
            assert parts[(lv.REVIEW_INDEX_DISTRIBUTION_SECTION, "style")] == {}
            assert parts[(lv.REVIEW_INDEX_FUNNEL_SECTION, "style")] == {}
            assert parts[(lv.REVIEW_INDEX_DISTRIBUTION, "style")] == {"height": "320px"}
            assert {tr.type for tr in parts[(lv.REVIEW_INDEX_FUNNEL, "figure")].data if tr.mode == "markers"} == {
                "scattergl"}
            ranking = parts[(lv.REVIEW_INDEX_RANKINGS, "children")][0]
            assert lv.REVIEW_INDEX_STATIONS in json.dumps(ranking.to_plotly_json(), default=str)
            _assert_ids_unique_in_the_page(parts)
            # the distribution as sent: typed counts that add up, each bin's limits as numbers for the hover
            sent = _sent(fv.distribution_figure(views, lang))
            assert sum(int(_decoded(tr["y"]).sum()) for tr in sent) == dist.total
            assert [[int(c) for c in _decoded(tr["y"])] for tr in sent] == [list(dist.counts[b]) for b in dist.bands]
            for tr in sent:
                assert isinstance(tr["customdata"], dict) and "%{customdata[0]}–%{customdata[1]}" in tr["hovertemplate"]
                np.testing.assert_array_equal(_decoded(tr["customdata"]),
                                              [[lo, hi] for lo, hi in zip(dist.edges[:-1], dist.edges[1:],
                                                                          strict=True)])

    @pytest.mark.parametrize("marks", ["scatter", "scattergl"])
    def test_idx034_the_funnel_sends_numbers_for_the_enterprises_within_the_limits(self, demo_engine, marks):
        """The page draws WebGL points, prints SVG ones: the same content either way."""
        today = DemoSettings.load(demo_engine).seed_day
        with demo_engine.connect() as conn:
            views = iv.index_views(conn, today, ReviewFilters(station=1))
        points = views.funnel.points
        floor = fv.rate_axis(views)[0]
        # independently, in plain Python: the places of the enterprises within the limits and who is at each
        places = {}
        for r in points[points["flag"] == "within"].itertuples():
            places.setdefault((round(r.workers_used, 2), int(r.incidents), bool(r.imputed)), []).append(r)
        alone = {rs[0].enterprise_id for rs in places.values() if len(rs) == 1}
        shared = {key: len(rs) for key, rs in places.items() if len(rs) > 1}
        assert len(alone) > 20 and len(shared) > 20
        by_id = points.set_index("enterprise_id")
        group_head = {"zh": "%{customdata[4]:,} 家企业重合于此", "en": "%{customdata[4]:,} enterprises at this point"}
        clicks = []  # (a click on a point as the browser reports it, what the page's click handler must answer)
        for lang in ("zh", "en"):
            note = lv.t("idx_hover_imputed", lang)
            sent = _sent(fv.funnel_figure(views, lang, webgl=marks == "scattergl"))
            assert {tr["type"] for tr in sent if tr.get("mode") == "markers"} == {marks}
            within = [tr for tr in sent if tr.get("legendgroup") == "within"]
            assert [tr["showlegend"] for tr in within] == [True] + [False] * (len(within) - 1)
            seen_alone, seen_shared = set(), {}
            for tr in within:
                assert "text" not in tr  # no names for the enterprises within the limits
                x, y = _decoded(tr["x"]), _decoded(tr["y"])  # typed arrays
                imputed = tr["marker"]["symbol"] == "circle-open"
                assert (note in tr["hovertemplate"]) == imputed
                if isinstance(tr["customdata"], list):
                    # an enterprise alone at its place, clickable: plain JSON numbers (a typed array would reach
                    # the click handler as nothing, see test_rev008); its id and figures in the hover
                    assert tr["hovertemplate"].startswith(f"{lv.t('idx_hover_id', lang)} %{{customdata[0]}}")
                    for row, xi, yi in zip(tr["customdata"], x, y, strict=True):
                        assert all(v is None or type(v) in (int, float) for v in row), row
                        e = by_id.loc[row[0]]
                        assert row == [row[0], int(e.incidents), round(e.expected, 2),
                                       None if np.isnan(e.score) else round(e.score, 1), round(e.rate, 2)]
                        assert xi == round(e.workers_used, 2) and bool(e.imputed) == imputed
                        assert yi == pytest.approx(e.rate if e.rate > 0 else floor, abs=1e-3)
                        seen_alone.add(row[0])
                        clicks.append(([{"points": [{"customdata": row}]}, lang], [f"/enterprise/{row[0]}", ""
                                                                                    if lang == "zh" else "?lang=en"]))
                else:
                    # one point per shared place, its hover says how many enterprises are there
                    assert tr["hovertemplate"].startswith(group_head[lang])
                    data = _decoded(tr["customdata"])
                    assert data.shape == (len(x), 5)
                    for xi, yi, (first, count, expected, rate, n) in zip(x, y, data, strict=True):
                        rs = places[(float(xi), int(count), imputed)]
                        assert n == len(rs) > 1 and expected == pytest.approx(rs[0].expected, rel=1e-6)
                        assert rate == pytest.approx(rs[0].rate, rel=1e-6, abs=1e-6)
                        assert yi == pytest.approx(rs[0].rate if rs[0].rate > 0 else floor, abs=1e-3)
                        seen_shared[(float(xi), int(count), imputed)] = int(n)
                        # and opens nothing, even were its customdata read: no id
                        click = {"points": [{"customdata": [None if np.isnan(v) else float(v) for v in
                                                            (first, count, expected, rate, n)]}]}
                        clicks.append(([click, lang], [NO_UPDATE, NO_UPDATE]))
            assert seen_alone == alone and seen_shared == shared
            assert len(seen_alone) + sum(seen_shared.values()) == int((points["flag"] == "within").sum())
            # the flagged enterprises: each its own point, with its name
            for flag in ("above_998", "above_95", "below_95", "below_998"):
                rows = points[points["flag"] == flag]
                traces = [tr for tr in sent if tr.get("legendgroup") == flag]
                if rows.empty:
                    assert traces == []
                    continue
                (tr,) = traces
                assert [row[0] for row in tr["customdata"]] == rows["enterprise_id"].tolist()
                assert tr["text"] == [f"{n}{note}" if imp else n
                                      for n, imp in zip(rows["name"], rows["imputed"], strict=True)]
                assert tr["hovertemplate"].startswith("%{text}")
        # the page's own click handler (assets/review.js, in node): a lone point opens its enterprise, a shared
        # one nothing, even were its customdata read
        asked, wanted = zip(*clicks, strict=True)
        assert js_support.run_js("review", "openEnterprise", list(asked)) == list(wanted)


def _ids(component) -> list[str]:
    """The ids of a component and of every component under it."""
    found = [component.id] if getattr(component, "id", None) else []
    return found + [c.id for c in component._traverse() if getattr(c, "id", None)]


def _assert_ids_unique_in_the_page(parts: dict) -> None:
    """What the index views put into the skeleton repeats no id, neither its own nor the skeleton's."""
    ids = _ids(lv.skeleton())
    for (_id, prop), value in parts.items():
        if prop == "children":
            ids += [i for child in value for i in _ids(child)]
    assert len(ids) == len(set(ids)), sorted(i for i in set(ids) if ids.count(i) > 1)


def _sent(fig) -> list[dict]:
    """The traces of a figure as the page receives them (plotly's JSON, typed arrays as {dtype, bdata})."""
    from plotly.io.json import to_json_plotly

    return json.loads(to_json_plotly(fig))["data"]


def _decoded(value):
    """A typed array as sent ({dtype, bdata, shape}) as a numpy array, the way plotly.js decodes it."""
    assert isinstance(value, dict) and set(value) <= {"dtype", "bdata", "shape"}, value
    array = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype("<" + value["dtype"]))
    return array.reshape([int(n) for n in value["shape"].split(",")]) if "shape" in value else array


class TestEmpty:
    def test_idx040_no_index_yet(self, engine):
        with engine.connect() as conn:
            assert iv.index_views(conn, date(2026, 11, 29), ReviewFilters()) is None

"""The wall's callbacks, called directly: frames, the no-change shortcut, the outage path and the feed."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from dash import no_update
from sqlalchemy import text

import app as app_module
from callbacks import router
from callbacks import wall as wall_callbacks
from data import service
from data.core import db
from data.core.schema import Incident
from data.core.scope import Unit
from data.core.timeutil import frozen_clock
from data.screens import wall as data_wall
from figures import wall_spec
from layouts import ids
from layouts import wall as wall_layout

PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _json(value) -> str:
    return json.dumps(value, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


@pytest.fixture(scope="module")
def small_demo(small_demo_town):
    """A copy of the session's small demo town (scale 0.1) this module may write to."""
    return small_demo_town.copy("wall")


@pytest.fixture
def server(small_demo):
    server = app_module.create_app({"EQIAN_DATABASE_URL": small_demo, "EQIAN_SIMULATE": False})
    with server.app_context():
        service.forget_version()
        yield server
    db.engine_of(server).dispose()


SETTINGS = {"lang": "zh", "poll_ms": 2000, "feed_ms": 1000}
TOWN = {"kind": "town", "id": None}
PANELS = ("charts", "kpis", "lowest", "map", "view_name", "data_age")  # what a frame draws


def _frame(poll, view, last, settings=SETTINGS) -> dict:
    """The wall's frame callback, called as Dash calls it (by argument name)."""
    return wall_callbacks.frame(poll=poll, view=view, settings=settings, last=last)


def _feed(poll, state, view=TOWN, settings=SETTINGS) -> dict:
    """The wall's feed callback, called as Dash calls it (by argument name)."""
    return wall_callbacks.feed(poll=poll, state=state, view=view, settings=settings)


def _kept(out) -> bool:
    """Whether a frame leaves every panel as drawn."""
    charts = out["charts"]
    if set(charts) != set(wall_callbacks.CHART_IDS) or any(value is not no_update for value in charts.values()):
        return False
    return all(out[name] is no_update for name in PANELS if name != "charts")


class TestFrame:
    def test_wal001_first_frame_draws_every_panel(self, server):
        out = _frame(1, TOWN, None)
        charts = out["charts"]
        assert list(charts) == [spec.id for spec in wall_layout.CHART_PANELS]
        assert all(fig.data for fig in charts.values())
        assert len(out["kpis"]) == len(wall_spec.KPI_NAMES) and out["map"].data
        assert _json(out["lowest"]).count("wall-list-row") == 15
        assert out["view_name"] == "全镇" and out["status"].startswith("数据更新")
        assert out["status_class"].endswith("status-ok")
        assert out["frame"]["ok"] and out["frame"]["key"][1:3] == ["town", None]

    def test_wal002_unchanged_data_redraws_nothing(self, server):
        first = _frame(1, TOWN, None)
        again = _frame(2, TOWN, first["frame"])
        assert _kept(again)
        assert again["frame"]["ok"] and again["status"].startswith("数据更新")

    def test_wal003_station_view_counts_only_that_station(self, server, small_demo):
        town = _frame(1, TOWN, None)
        station = _frame(1, {"kind": "station", "id": 2}, None)
        assert station["view_name"] == "织北派出所"
        hourly = wall_layout.CHART_PANELS[0].id
        town_today = sum(town["charts"][hourly].data[0].y)
        station_today = sum(station["charts"][hourly].data[0].y)
        assert 0 <= station_today <= town_today

    def test_wal004_database_outage_keeps_the_last_frame(self, tmp_path):
        broken = app_module.create_app({"EQIAN_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                                        "EQIAN_SIMULATE": False})
        with broken.app_context():
            service.forget_version()
            out = _frame(3, None, {"ok": True, "stamp": "09:15:02", "key": [1]})
        assert _kept(out)
        assert out["status"] == "连接中断 · 最后更新 09:15:02" and out["status_class"].endswith("status-stale")
        assert out["frame"]["ok"] is False


class TestDataAge:
    """The header says how old the newest record is when a gap that long is unusual (a stalled feed)."""

    PROFILE = [2.0] * 24  # two calls an hour, every hour

    def test_wal005_expected_calls_over_a_gap(self):
        start = datetime(2026, 12, 6, 22, 30, tzinfo=UTC)  # 06:30 Shanghai
        profile = [float(h) for h in range(24)]  # h calls in hour h
        assert data_wall.expected_calls(profile, start, start + timedelta(minutes=30)) == pytest.approx(3.0)
        assert data_wall.expected_calls(profile, start, start + timedelta(hours=2)) == pytest.approx(
            0.5 * 6 + 7 + 0.5 * 8)
        assert data_wall.expected_calls(profile, start, start) == 0.0
        assert data_wall.expected_calls([], start, start + timedelta(hours=1)) == 0.0
        midnight = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)  # 23:00 Shanghai, across midnight
        assert data_wall.expected_calls(profile, midnight, midnight + timedelta(hours=2)) == pytest.approx(23 + 0)

    def test_wal006_a_usual_gap_is_not_shown_and_an_unusual_one_is(self, server, small_demo):
        with db.make_engine(small_demo).connect() as conn:
            newest = conn.execute(text("SELECT MAX(received_at) FROM incidents")).scalar()
            newest = datetime.fromisoformat(str(newest)).replace(tzinfo=UTC)
            fresh = data_wall.data_age(conn, newest + timedelta(minutes=20), Unit(), self.PROFILE)
            late = data_wall.data_age(conn, newest + timedelta(hours=3, minutes=5), Unit(), self.PROFILE)
            quiet = data_wall.data_age(conn, newest + timedelta(hours=3), Unit(), [0.0] * 24)
            years = data_wall.data_age(conn, newest + timedelta(days=800), Unit(), [0.0] * 24)
        assert fresh.newest == newest and round(fresh.minutes) == 20 and not fresh.stale  # 0.67 expected: usual
        assert late.stale and late.expected_calls == pytest.approx(6 + 1 / 6)
        assert not quiet.stale  # no calls usual at these hours: three quiet hours say nothing
        assert years.stale and years.expected_calls == float("inf")  # a day or more without a call
        assert _json(wall_layout.data_age_badge(late, "zh")).count("最新警情 3小时前") == 1
        assert "2年前" in _json(wall_layout.data_age_badge(years, "zh"))
        assert wall_layout.data_age_badge(fresh, "zh") == ""

    def test_wal007_no_incident_at_all_says_so(self, engine):
        with engine.connect() as conn:
            age = data_wall.data_age(conn, datetime.now(UTC), Unit(), self.PROFILE)
        assert age.newest is None and age.stale
        assert "尚无警情数据" in _json(wall_layout.data_age_badge(age, "zh"))

    def test_wal008_the_frame_carries_the_badge_for_a_stalled_feed(self, server, small_demo):
        with db.make_engine(small_demo).connect() as conn:
            newest = datetime.fromisoformat(str(conn.execute(text("SELECT MAX(received_at) FROM incidents")).scalar()))
        with frozen_clock(newest.replace(tzinfo=UTC) + timedelta(days=3)):
            out = _frame(1, TOWN, None)
        assert "最新警情 3天前" in _json(out["data_age"])

    def test_wal009_age_words(self):
        assert [wall_layout.age_words(m, "zh") for m in (0, 59.9, 60, 47 * 60 + 59, 48 * 60, 59 * 1440,
                                                          61 * 1440, 800 * 1440)] == [
            "0分钟前", "59分钟前", "1小时前", "47小时前", "2天前", "59天前", "2个月前", "2年前"]


class TestFeed:
    def test_wal010_first_feed_is_the_newest_calls_masked(self, server, small_demo):
        out = _feed(0, {"last_id": None})
        rows, state = out["rows"], out["state"]
        assert len(rows) == wall_layout.FEED_ROWS
        text_ = _json(rows)
        assert not PHONE.search(text_)
        with db.make_engine(small_demo).connect() as conn:
            newest = conn.execute(text("SELECT MAX(id) FROM incidents")).scalar()
        assert state["last_id"] == newest

    def test_wal011_new_calls_are_prepended_and_the_tail_trimmed(self, server, small_demo):
        state = _feed(0, {"last_id": None})["state"]
        engine = db.make_engine(small_demo)
        now = datetime.now(UTC)
        with engine.begin() as conn:
            for k, priority in enumerate((3, 1)):
                conn.execute(Incident.__table__.insert().values(
                    received_at=now - timedelta(seconds=2 - k), created_at=now, category="治安", priority=priority,
                    enterprise_related=False, station_id=1, channel="110", source="test",
                    source_id=f"feed-{now.timestamp()}-{k}", caller_name="欧阳建国", caller_phone="13912345678",
                    address="织里镇利济路88号2幢301室"))
        service.forget_version()  # as half a second later: the process re-reads the data version
        out = _feed(1, state)
        new_state = out["state"]
        ops = out["rows"].to_plotly_json()["operations"]
        assert [op["operation"] for op in ops] == ["Prepend", "Prepend", "Delete", "Delete"]
        payload = _json(ops)
        assert "欧**" in payload and "139****5678" in payload and "织里镇利济路" in payload
        assert "13912345678" not in payload and "欧阳建国" not in payload and "88号" not in payload
        assert "feed-flash" in payload  # the priority-1 call flashes
        assert new_state["last_id"] > state["last_id"]
        nothing = _feed(2, new_state)
        assert nothing["rows"] is no_update and nothing["state"]["last_id"] == new_state["last_id"]


    def test_wal012_feed_increments_equal_calls_after_for_every_starting_point(self, server, small_demo):
        """The shared window answers what the database would, including a wall behind by more than it."""
        from data.screens.incidents import calls_after

        engine = db.make_engine(small_demo)
        with engine.connect() as conn:
            top = conn.execute(text("SELECT MAX(id) FROM incidents")).scalar()
            station_top = conn.execute(text("SELECT MAX(id) FROM incidents WHERE station_id = 2")).scalar()
            for station, newest in ((None, top), (2, station_top)):
                for behind in (0, 1, 3, 9, 10, 11, 49, 50, 51, 200):
                    expected = calls_after(conn, newest - behind, limit=wall_layout.FEED_ROWS, station_id=station)
                    got = service.calls_since(newest - behind, wall_layout.FEED_ROWS, station)
                    assert [c.id for c in got] == [c.id for c in expected], (station, behind)
                    assert got == expected

    def test_wal013_between_writes_feed_polls_cost_the_database_nothing(self, server, small_demo):
        from sqlalchemy import event

        statements = []
        event.listen(db.engine_of(server), "before_cursor_execute",
                     lambda *args, **_kw: statements.append(args[2]))
        first = _feed(0, {"last_id": None})["state"]
        states = [dict(first, last_id=first["last_id"] - k) for k in (0, 1, 2, 5)]
        service.forget_version()
        statements.clear()
        for poll in range(40):  # forty walls' polls within the same data version
            _feed(poll, states[poll % len(states)])
        assert len(statements) == 2, statements  # the version, then the window once
        assert "incidents" in statements[-1]


class TestSingleFlight:
    def test_wal014_simultaneous_misses_compute_once_and_all_get_the_result(self, server):
        import threading
        import time

        calls = []

        def slow():
            calls.append(1)
            time.sleep(0.3)
            return {"frame": len(calls)}

        results = []
        key = f"test:single-flight:{time.time()}"
        threads = [threading.Thread(target=lambda: results.append(service.single_flight(key, slow, 60)))
                   for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(calls) == 1 and results == [{"frame": 1}] * 8

    def test_wal015_a_failed_computation_lets_a_waiter_take_over(self, server):
        import threading
        import time

        key = f"test:single-flight-fail:{time.time()}"
        attempts = []

        def failing_then_ok():
            attempts.append(1)
            if len(attempts) == 1:
                time.sleep(0.2)
                raise RuntimeError("database went away")
            return None  # a None result is cached too

        outcome = {}

        def first():
            try:
                service.single_flight(key, failing_then_ok, 60)
            except RuntimeError as exc:
                outcome["first"] = str(exc)

        starter = threading.Thread(target=first)
        starter.start()
        time.sleep(0.05)
        outcome["second"] = service.single_flight(key, failing_then_ok, 60)
        starter.join()
        assert outcome == {"first": "database went away", "second": None} and len(attempts) == 2
        assert service.single_flight(key, failing_then_ok, 60) is None and len(attempts) == 2


    def test_wal016_a_lock_left_behind_expires_and_a_waiter_computes(self, server, monkeypatch):
        """A computing worker whose cache writes failed (Redis timed out) leaves its lock and no result."""
        import time

        from data.core.cache import cache

        monkeypatch.setattr(service, "WAIT_SECONDS", 10)
        key = f"test:orphan-lock:{time.time()}"
        cache.add(f"{key}:lock", 1, timeout=2)  # the orphan: expires in 1–2 s (whole seconds of the clock)
        started = time.monotonic()
        assert service.single_flight(key, lambda: "computed here", 60) == "computed here"
        assert 0.9 < time.monotonic() - started < 5


class TestRouter:
    @pytest.fixture(autouse=True)
    def _as_a_wall_screen(self, server):
        """The router draws pages for the logged-in principal: here a wall screen."""
        from flask_login import login_user

        from data.access.roles import Principal
        from web.gate import SessionUser

        with server.test_request_context("/"):
            login_user(SessionUser(Principal("device", 1, "测试大屏", "wall")))
            yield

    def test_wal020_pages(self, server):
        page = router.page_for("/", "")
        assert ids.WALL_CANVAS in _json(page)
        assert "wall-controls" in _json(page)
        kiosk = router.page_for("/wall", "?kiosk=1")
        assert "wall-root kiosk" in _json(kiosk) and "wall-controls" not in _json(kiosk)
        playlist = json.loads(_json(page))
        assert "织东派出所" in _json(page)
        assert "页面不存在" in _json(router.page_for("/nowhere", ""))
        assert "页面不存在" in _json(router.page_for("/first", ""))  # the old first screen is gone
        assert "无权访问" in _json(router.page_for("/review", ""))  # a wall screen may not open the review
        assert router.render(pathname="/review", search="?period=week", rendered="/review|zh") == {
            "page": no_update, "rendered": no_update}
        drawn = router.render(pathname="/", search="", rendered="/review|zh")
        assert drawn["rendered"] == "/|zh" and ids.WALL_CANVAS in _json(drawn["page"])
        assert playlist

"""The app factory, configuration, CLI commands and the first screen's callback."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from dash import no_update
from sqlalchemy import func, select

import app as app_module
from auth_support import ensure_accounts, login_client
from callbacks import first_screen as first_screen_callbacks
from data import db
from data.config import DEFAULT_DATABASE_URL, ConfigError, load_config
from data.demo.generator import DemoSettings
from data.programme import FIGURE_ORDER
from data.schema import SCHEMA_VERSION
from data.schema import Incident


def _text_of(component) -> str:
    """All text inside a Dash component tree."""
    payload = json.dumps(component, default=lambda c: c.to_plotly_json(), ensure_ascii=False)
    return payload


class TestConfig:
    def test_app001_defaults(self):
        config = load_config(environ={})
        assert config["EQIAN_DATABASE_URL"] == DEFAULT_DATABASE_URL
        assert config["EQIAN_DEMO"] is True and config["EQIAN_SIMULATE"] is True
        assert config["EQIAN_CACHE_URL"] == "simple"

    def test_app002_demo_off_for_another_database(self):
        config = load_config(environ={"EQIAN_DATABASE_URL": "postgresql://x@y/z"})
        assert config["EQIAN_DEMO"] is False

    def test_app003_production_requires_a_secret(self):
        with pytest.raises(ConfigError, match="EQIAN_SECRET_KEY must be set"):
            load_config(environ={"EQIAN_ENV": "production"})

    def test_app004_bad_values_name_the_setting(self):
        with pytest.raises(ConfigError, match="EQIAN_DEMO_SCALE='big' is not a number"):
            load_config(environ={"EQIAN_DEMO_SCALE": "big"})
        with pytest.raises(ConfigError, match="EQIAN_DEMO='maybe' is not a boolean"):
            load_config(environ={"EQIAN_DEMO": "maybe"})


class TestFactory:
    def test_app010_two_apps_each_have_their_callbacks(self, tmp_path):
        first = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})
        second = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'b.db'}"})
        counts = [len(app_module.dash_app_of(server).callback_map) for server in (first, second)]
        assert counts[0] == counts[1] >= 5  # router, wall frame and feed, first screen, clientside
        assert db.engine_of(first) is not db.engine_of(second)

    def test_app011_schema_created_on_first_run(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}"})
        assert db.get_meta(db.engine_of(server), "schema_version") is not None

    def test_app012_page_and_layout_are_served(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}"})
        client = server.test_client()
        assert client.get("/").status_code == 302  # to the login
        ensure_accounts(server)
        login_client(client, "wall")
        page = client.get("/")
        assert page.status_code == 200 and "数字驾驶舱" in page.get_data(as_text=True)
        layout = client.get("/_dash-layout").get_json()
        assert "page-location" in json.dumps(layout)


    def test_app013_an_old_demo_database_is_rebuilt_real_data_is_refused(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'old.db'}"
        engine = db.make_engine(url)
        db.create_schema(engine)
        db.set_meta(engine, "schema_version", "0")
        with pytest.raises(db.SchemaMismatch, match="schema version 0 differs"):
            app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": True})
        db.set_meta(engine, "demo_settings", "{}")
        app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": True})
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION
        assert db.get_meta(engine, "demo_settings") is None


class TestCli:
    def test_app020_init_seed_simulate(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"})
        runner = server.test_cli_runner()
        result = runner.invoke(args=["init-db", "--programme-start", "2025-08-29"])
        assert result.exit_code == 0, result.output
        assert db.get_meta(db.engine_of(server), "programme_start") == "2025-08-29"
        result = runner.invoke(args=["seed-demo", "--scale", "0.02", "--seed", "3", "--now", "2026-11-29T12:00:00+08:00"])
        assert result.exit_code == 0, result.output
        assert "incidents" in result.output
        settings = DemoSettings.load(db.engine_of(server))
        assert (settings.seed, settings.scale) == (3, 0.02)
        again = runner.invoke(args=["seed-demo", "--scale", "0.02"])
        assert again.exit_code != 0 and "already holds data" in again.output
        result = runner.invoke(args=["simulate", "--once"])
        assert result.exit_code == 0 and result.output.startswith("wrote ")

    def test_app021_seed_demo_wants_an_aware_now(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli2.db'}"})
        result = server.test_cli_runner().invoke(args=["seed-demo", "--now", "2026-11-29T12:00:00"])
        assert result.exit_code != 0 and "must carry a zone" in result.output

    def test_app022_simulate_refuses_a_database_without_demo(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli3.db'}"})
        result = server.test_cli_runner().invoke(args=["simulate", "--once"])
        assert result.exit_code != 0 and "run seed-demo first" in result.output


@pytest.fixture
def demo_server(demo_engine):
    """An app on the session's demo database (both backends)."""
    server = app_module.create_app({"EQIAN_DATABASE_URL": demo_engine.url.render_as_string(hide_password=False),
                                    "EQIAN_SIMULATE": False})
    yield server
    db.engine_of(server).dispose()


class TestFirstScreenCallback:
    def test_app030_refresh_shows_figures_count_and_masked_calls(self, demo_server, demo_engine):
        with demo_server.app_context():
            body, status, status_class, stamp = first_screen_callbacks.refresh(1, "", None)
        text = _text_of(body)
        for expected in ("-11.2%", "-25.2%", "-13.5%", "-9.5%", "-6.6%", "演示数据"):
            assert expected in text
        with demo_engine.connect() as conn:
            newest_phone = conn.execute(select(Incident.caller_phone).order_by(Incident.received_at.desc())
                                        .limit(1)).scalar_one()
        assert newest_phone not in text
        assert f"{newest_phone[:3]}****{newest_phone[-4:]}" in text
        assert status_class == "status-badge status-ok" and stamp in status

    def test_app031_english_switch(self, demo_server):
        with demo_server.app_context():
            body, status, _cls, _stamp = first_screen_callbacks.refresh(1, "?lang=en", None)
        text = _text_of(body)
        assert "Enterprise-related incidents" in text and "Updated" in status

    def test_app032_database_down_keeps_last_frame(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
                                        "EQIAN_SIMULATE": False})
        with server.app_context():
            body, status, status_class, stamp = first_screen_callbacks.refresh(5, "", "12:00:01")
        assert body is no_update and stamp is no_update
        assert status == "连接中断 · 最后更新 12:00:01" and "stale" in status_class

    def test_app033_today_count_is_an_independent_count(self, demo_server, demo_engine):
        from zoneinfo import ZoneInfo

        now = datetime.now(timezone.utc)
        midnight = now.astimezone(ZoneInfo("Asia/Shanghai")).replace(hour=0, minute=0, second=0, microsecond=0)
        with demo_engine.connect() as conn:
            expected = conn.execute(select(func.count()).select_from(Incident).where(
                Incident.received_at >= midnight, Incident.received_at <= now)).scalar_one()
        with demo_server.app_context():
            body, *_ = first_screen_callbacks.refresh(1, "", None)
        assert f'"children": "{expected:,}"' in _text_of(body) or f'"{expected:,}"' in _text_of(body)
        assert FIGURE_ORDER[0] == "incidents"

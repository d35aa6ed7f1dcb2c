"""The app factory, configuration and CLI commands."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from auth_support import ensure_accounts, login_client

import app as app_module
from data.core import db, migrate, vocab
from data.core.config import DEFAULT_DATABASE_URL, ConfigError, load_config
from data.core.schema import SCHEMA_VERSION
from data.demo.generator import DemoSettings
from data.index import safety_index
from figures.strings import LabelError, check_labels


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
        with engine.begin() as conn:  # a database of version 0 of the versioning from before the migrations
            conn.exec_driver_sql(f"DROP TABLE {migrate.VERSION_TABLE}")
            db.set_meta(conn, "schema_version", "0")
        with pytest.raises(db.SchemaMismatch, match="schema version 0 differs"):
            app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": True})
        db.set_meta(engine, "demo_settings", "{}")
        app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": True})
        assert db.get_meta(engine, "schema_version") == SCHEMA_VERSION == migrate.current_revision(engine)
        assert db.get_meta(engine, "demo_settings") is None


class TestCli:
    def test_app020_init_seed_simulate(self, tmp_path):
        server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"})
        runner = server.test_cli_runner()
        result = runner.invoke(args=["init-db", "--programme-start", "2025-08-29"])
        assert result.exit_code == 0, result.output
        assert db.get_meta(db.engine_of(server), "programme_start") == "2025-08-29"
        result = runner.invoke(args=["seed-demo", "--scale", "0.02", "--seed", "3",
                                     "--now", "2026-11-29T12:00:00+08:00"])
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

    def test_app023_refresh_index_without_programme_start_names_the_fix(self, engine):
        server = app_module.create_app({"EQIAN_DATABASE_URL": engine.url.render_as_string(hide_password=False),
                                        "EQIAN_SIMULATE": False})
        try:
            for args in (["refresh-index"], ["refresh-index", "--all"]):
                result = server.test_cli_runner().invoke(args=args)
                assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.exception
                assert "Traceback" not in result.output
                assert "needs a programme start" in result.output
                assert "flask --app app init-db --programme-start YYYY-MM-DD" in result.output
                assert "numeric base_year" in result.output and "data/index/safety_index.toml" in result.output
            db.set_meta(db.engine_of(server), "programme_start", "2025-08-29")
            result = server.test_cli_runner().invoke(args=["refresh-index"])
            assert result.exit_code == 0 and "index refreshed" in result.output, result.output
        finally:
            db.engine_of(server).dispose()

    def test_app024_index_refresher_warns_once_without_programme_start(self, engine, caplog):
        import threading

        from data.index import jobs

        task, runs, stop = jobs.index_refresher(engine), [], threading.Event()

        def counted():
            runs.append(task())
            if len(runs) == 12:
                stop.set()

        with caplog.at_level("WARNING", logger="data.index.jobs"):
            jobs.run_every(counted, 0, stop, "index refresher")  # as the app runs it, twelve times over
        warnings = [r for r in caplog.records if r.name == "data.index.jobs"]
        assert len(warnings) == 1 and warnings[0].exc_info is None
        assert "needs a programme start" in warnings[0].getMessage()
        assert "init-db --programme-start" in warnings[0].getMessage()
        db.set_meta(engine, "programme_start", "2025-08-29")
        caplog.clear()
        with caplog.at_level("WARNING", logger="data.index.jobs"):
            task()
        assert db.get_meta(engine, "safety_index_refreshed") is not None
        assert [r.getMessage() for r in caplog.records] == ["index refresher: configuration fixed, index refreshed"]


class TestMake:
    """``make run`` installs what the running app needs (Chromium, a Chinese font) when missing: run against stub
    commands on a PATH of their own, with SUDO a stub that records what would be run as root."""

    ROOT = Path(__file__).resolve().parent.parent
    MAKE = shutil.which("make") or "make"  # the stubs' PATH has no make of its own

    def _run_deps(self, tmp_path, chromium: bool, zh_font: bool) -> list[str]:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        for tool in ("grep", "sh", "cat", "sha1sum", "cut"):  # and what the Makefile's own $(shell …) uses
            (bin_dir / tool).symlink_to(shutil.which(tool))
        stubs = {"fc-list": "echo 'WenQuanYi Micro Hei'" if zh_font else "exit 0",
                 "sudo": f'echo "$*" >> {tmp_path / "root.log"}'}
        if chromium:
            stubs["chromium"] = "exit 0"
        for name, body in stubs.items():
            (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
            (bin_dir / name).chmod(0o755)
        result = subprocess.run([self.MAKE, "--no-print-directory", "-C", str(self.ROOT), "run-deps",
                                 f"SUDO={bin_dir / 'sudo'}"], env={"PATH": str(bin_dir)},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        log = tmp_path / "root.log"
        return log.read_text().splitlines() if log.exists() else []

    @pytest.mark.parametrize("chromium, zh_font", [(False, True), (True, False), (False, False)])
    def test_app040_run_installs_chromium_and_a_chinese_font_when_missing(self, tmp_path, chromium, zh_font):
        assert self._run_deps(tmp_path, chromium, zh_font) == [
            "apt-get update -qq",
            "env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei fontconfig"]

    def test_app041_run_installs_nothing_when_both_are_there(self, tmp_path):
        assert self._run_deps(tmp_path, chromium=True, zh_font=True) == []

    def test_app042_run_checks_them_before_the_app_starts_and_test_keeps_its_list(self):
        dry = subprocess.run([self.MAKE, "--no-print-directory", "-n", "-C", str(self.ROOT), "run", "SUDO=sudo"],
                             capture_output=True, text=True, timeout=60, check=True).stdout
        assert dry.index("fonts-wqy-microhei") < dry.index("app.py")
        listed = subprocess.run([self.MAKE, "--no-print-directory", "-n", "-C", str(self.ROOT), "system-deps",
                                 "SUDO=sudo"], capture_output=True, text=True, timeout=60, check=True).stdout
        assert "install -y -qq chromium chromium-driver fonts-wqy-microhei redis-server postgresql nodejs" in listed


class TestVocabularyAtStartUp:
    """A vocabulary value the app cannot show or weigh stops it at start-up, naming what is missing."""

    def test_app050_a_new_incident_category_without_a_harm_weight_stops_the_app(self, monkeypatch, tmp_path):
        monkeypatch.setattr(vocab, "INCIDENT_CATEGORIES", (*vocab.INCIDENT_CATEGORIES, "走私"))
        with pytest.raises(safety_index.IndexConfigError, match=r"\[harm_weights\] has no entry for the incident "
                                                                 r"category 走私"):
            app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "EQIAN_DEMO": False})

    def test_app051_a_harm_weight_for_no_category_or_a_missing_level_is_refused(self, tmp_path):
        shipped = safety_index.CONFIG_PATH.read_text(encoding="utf-8")
        for change, message in ((('"火灾" = 5.0', '"火警" = 5.0'), "incident category 火灾"),
                                (('"调解中心" = 3', ''), "settlement level 调解中心")):
            path = tmp_path / "index.toml"
            path.write_text(shipped.replace(*change), encoding="utf-8")
            with pytest.raises(safety_index.IndexConfigError, match=message):
                safety_index.load_config(path)
        path.write_text(shipped.replace('"其他" = 0.5', '"其他" = 0.5\n"走私" = 1.0', 1), encoding="utf-8")
        with pytest.raises(safety_index.IndexConfigError, match="names 走私, which is no incident category"):
            safety_index.load_config(path)

    def test_app052_a_displayed_value_without_an_english_label_stops_the_app(self, monkeypatch, tmp_path):
        app_module.check_vocabulary()  # the shipped vocabulary is complete
        monkeypatch.setattr(vocab, "HAZARD_TYPES", (*vocab.HAZARD_TYPES, "粉尘"))
        with pytest.raises(LabelError, match="HAZARD_TYPES: 粉尘"):
            app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "EQIAN_DEMO": False})
        with pytest.raises(LabelError, match="index band: 紫"):
            check_labels(("蓝", "紫"))

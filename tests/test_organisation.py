"""The organisation's words (data/core/organisation.py): stored in the database, set on /admin/organisation and by
``flask set-organisation``, read by every title, report and file; and nothing outside data/demo names the demo town.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from auth_support import csrf_token, ensure_accounts, login_client
from click.testing import CliRunner

import app as app_module
from data.access import audit
from data.core import db, organisation, rollups
from data.screens import report as reports
from data.screens.review import ReviewFilters
from exports import registry
from figures.text import org_title
from layouts import enterprise as enterprise_layout
from layouts import review as review_layout
from layouts import wall as wall_layout

ROOT = Path(__file__).resolve().parent.parent
BUREAU = {"name": "某某县公安局", "short_name": "某某公安", "short_name_en": "Mou Police", "whole": "全县",
          "whole_en": "Whole county", "place": "某某", "network": "平安某某联防",
          "name_prefixes": "某某市某某镇, 某某市"}


class TestStored:
    def test_org001_an_empty_database_has_the_neutral_defaults(self, engine):
        with engine.connect() as conn:
            org = organisation.load(conn)
        assert org == organisation.DEFAULT
        assert org_title("app_title", org) == "e企安365 数字驾驶舱"
        assert org_title("login_title", org, "en") == "Log in · e-Qi'an 365"
        assert org.file_place == "全镇" and org.network_word("en") == "Network unit"

    def test_org002_saved_words_come_back_trimmed_and_bump_the_data_version(self, engine):
        with engine.begin() as conn:
            before = rollups.current_version(conn)
            org, changed = organisation.save(conn, {**BUREAU, "short_name": "  某某 公安 "})
            assert rollups.current_version(conn) == before + 1
        assert changed["short_name"] == ("", "某某 公安") and changed["name"] == ("", BUREAU["name"])
        with engine.connect() as conn:
            assert organisation.load(conn) == org
        assert org_title("wall_title", org) == "某某 公安 e企安365 数字驾驶舱"
        assert org_title("wall_title", org, "en") == "Mou Police e-Qi'an 365 Cockpit"
        assert org.short("en") == "Mou Police" and org.network_word("en") == "平安某某联防"  # no English: the Chinese
        assert org.prefixes == ("某某市某某镇", "某某市") and org.file_place == "某某"
        with engine.begin() as conn:  # the same words again change nothing and leave the version alone
            version = rollups.current_version(conn)
            assert organisation.save(conn, {"short_name": "某某 公安"})[1] == {}
            assert rollups.current_version(conn) == version

    @pytest.mark.parametrize(("changes", "message"), [
        ({"nickname": "x"}, r"nickname: no such setting"),
        ({"short_name": "长" * 33}, r"short_name \(机构简称\): 33 characters, at most 32"),
        ({"network": "  "}, r"network \(网格单位名称\): must not be empty"),
        ({"whole": ""}, r"whole \(辖区总称（全镇、全区、全县）\): must not be empty"),
    ])
    def test_org003_a_refused_setting_is_named_and_nothing_is_stored(self, engine, changes, message):
        with engine.begin() as conn, pytest.raises(organisation.OrganisationError, match=message):
            organisation.save(conn, {"name": "某某市公安局", **changes})
        with engine.connect() as conn:
            assert organisation.load(conn) == organisation.DEFAULT


class TestWhereTheyShow:
    def test_org010_titles_tables_reports_and_lists_use_the_organisation(self, engine):
        with engine.begin() as conn:
            org, _ = organisation.save(conn, BUREAU)
        header = wall_layout.header("zh", False, org)
        assert header.children[0].children[0].children == "某某公安 e企安365 数字驾驶舱"
        assert wall_layout._short_name("某某市某某镇童趣服饰有限公司", org.prefixes) == "童趣服饰"
        assert wall_layout._short_name("某某市童趣服饰有限公司", org.prefixes) == "童趣服饰"
        download = registry.Download("wall", None, *registry.wall_unit_names(None, org), date(2026, 11, 30), org=org)
        assert (download.unit, download.short) == ("全县", "某某")
        assert registry.title_of(download, "关键指标") == "某某公安 e企安365 · 全县 · 关键指标"
        bare = registry.Download("wall", None, *registry.wall_unit_names(None), date(2026, 11, 30))
        assert registry.title_of(bare, "关键指标") == "e企安365 · 全镇 · 关键指标" and bare.short == "全镇"
        with engine.connect() as conn:
            unit = reports.resolve_unit(conn, "某某")  # the place name means the whole jurisdiction
            assert unit.short == "某某" and unit.unit.is_town and unit.name == "全县" and unit.place == "全县"
            assert reports.resolve_unit(conn, "全县") == unit == reports.resolve_unit(conn, "全镇")
            assert reports.unit_by_ids(conn).short == "某某"
            with pytest.raises(reports.ReportError, match="use one of: 全县"):
                reports.resolve_unit(conn, "无此单位")
        # what the whole jurisdiction is called, on the wall, in the crumbs of the review and the profile
        assert header.children[0].children[1].children == "全县"
        assert wall_layout.header("en", False, org).children[0].children[1].children == "Whole county"
        crumbs = review_layout.breadcrumb_links([("town", ReviewFilters())], "zh", org)
        assert crumbs[0].children == "全县"
        assert enterprise_layout.breadcrumbs(None, "en", org)[0].children == "Whole county"
        assert organisation.DEFAULT.whole_word("en") == "Whole town"

    def test_org011_the_admin_page_changes_them_audited_and_the_login_page_shows_them(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'bureau.db'}"
        server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": False, "EQIAN_SIMULATE": False})
        ensure_accounts(server)
        anonymous = server.test_client()
        assert "<title>登录 · e企安365</title>" in anonymous.get("/login").get_data(as_text=True)
        leader = server.test_client()
        login_client(leader, "leader")
        assert leader.get("/admin/organisation").status_code == 403
        admin = server.test_client()
        login_client(admin, "admin")
        page = admin.get("/admin/organisation").get_data(as_text=True)
        assert 'id="admin-organisation"' in page and "机构简称" in page
        form = {"csrf_token": csrf_token(admin, "/admin/organisation"),
                **{f: getattr(organisation.DEFAULT, f) for f in organisation.FIELDS}, **BUREAU}
        assert admin.post("/admin/organisation", data={**form, "csrf_token": "forged"}).status_code == 400
        refused = admin.post("/admin/organisation", data={**form, "network": ""})
        assert refused.status_code == 400 and "must not be empty" in refused.get_data(as_text=True)
        done = admin.post("/admin/organisation", data=form)
        assert done.status_code == 302 and "done=" in done.headers["Location"]
        with db.engine_of(server).connect() as conn:
            assert organisation.load(conn).short_name == "某某公安"
            entries = audit.entries(conn, action="settings_changed")
        assert {e.target for e in entries} >= {"organisation.short_name", "organisation.name"}
        assert all(e.actor == "admin" or e.actor.startswith("admin") for e in entries)
        assert "'' -> '某某公安'" in {e.detail for e in entries if e.target == "organisation.short_name"}
        # the data version moved, so the login page (and every cached frame) shows the new name at once
        assert "<title>登录 · 某某公安 e企安365</title>" in anonymous.get("/login").get_data(as_text=True)
        assert "某某公安 e企安365 数字驾驶舱 · 管理" in admin.get("/admin/organisation").get_data(as_text=True)
        db.engine_of(server).dispose()

    def test_org012_the_cli_sets_and_shows_them(self, tmp_path):
        url = f"sqlite:///{tmp_path / 'cli.db'}"
        server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": False, "EQIAN_SIMULATE": False})
        runner = CliRunner()
        with server.app_context():
            done = runner.invoke(server.cli.get_command(None, "set-organisation"),
                                 ["--short-name", "某某公安", "--place", "某某", "--user", "it-officer"])
            assert done.exit_code == 0, done.output
            assert "short_name: '' -> '某某公安'" in done.output
            bad = runner.invoke(server.cli.get_command(None, "set-organisation"), ["--network", " "])
            assert bad.exit_code != 0 and "must not be empty" in bad.output
            shown = runner.invoke(server.cli.get_command(None, "set-organisation"), [])
        assert "short_name (机构简称): '某某公安'" in shown.output
        assert "network (网格单位名称): '网格单位'" in shown.output
        with db.engine_of(server).connect() as conn:
            assert [e.actor for e in audit.entries(conn, action="settings_changed")] == ["cli:it-officer"] * 2
        db.engine_of(server).dispose()

    def test_org013_the_demo_sets_its_names_through_the_same_path(self, small_demo_town):
        engine = db.make_engine(small_demo_town.copy("organisation"))
        with engine.connect() as conn:
            org = organisation.load(conn)
        engine.dispose()
        assert org_title("app_title", org) == "织里公安 e企安365 数字驾驶舱" and org.file_place == "织里"


# --- nothing outside data/demo names the demo town ---------------------------------------------------------------

DEMO_NAMES = re.compile(r"织里|zhili", re.IGNORECASE)
PRODUCT = ("app.py", "commands.py", "data", "figures", "layouts", "exports", "web", "callbacks", "assets", "deploy")
TEXT_SUFFIXES = {".py", ".html", ".css", ".js", ".toml", ".yaml", ".yml", ".conf", ".example", ".json", ".txt"}


def demo_names_outside_the_demo(root: Path = ROOT) -> list[str]:
    """Every line of the product (code, templates, styles, configuration) outside data/demo naming the demo town."""
    found = []
    for top in PRODUCT:
        path = root / top
        for file in ([path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())):
            if file.suffix not in TEXT_SUFFIXES or (root / "data" / "demo") in file.parents:
                continue
            for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
                if DEMO_NAMES.search(line):
                    found.append(f"{file.relative_to(root)}:{number}: {line.strip()[:80]}")
    return found


def test_org020_nothing_outside_data_demo_names_the_demo_town():
    assert demo_names_outside_the_demo() == []


def test_org021_the_check_finds_a_name(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "page.html").write_text("<h1>x</h1>\n<h1>织里公安</h1>\n", encoding="utf-8")
    (tmp_path / "data" / "demo").mkdir(parents=True)
    (tmp_path / "data" / "demo" / "world.py").write_text("NAME = '织里'\n", encoding="utf-8")
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "eqian.env.example").write_text("# Zhili\n", encoding="utf-8")
    assert demo_names_outside_the_demo(tmp_path) == ["web/page.html:2: <h1>织里公安</h1>",
                                                     "deploy/eqian.env.example:1: # Zhili"]

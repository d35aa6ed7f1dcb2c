"""The leak test: no output of the app shows a masked role any personal value, however it was typed.

A copy of the session's small demo town gets hostile rows at one enterprise of 织北 (station 2): a caller, a
summary, an address, dispute parties and a hazard description full of names joined with 与/和/spaces/
brackets/line breaks, mobile and landline numbers, a 身份证号, a bank card, a licence plate, Markdown and HTML;
the enterprise's own address carries a door number and a person; a file with a bad row puts the same text in
the quarantine, and the admin uploads it again through the import page under a file name naming a person and
a phone (its run page is a route like any other). Then, from the registries, so that a new output is covered by itself:

- every page the router draws and every GET route of the server (a route not covered must be listed in
  UNCOVERED_ROUTES with the reason, or the test fails);
- every server-side callback (each needs an entry in CALLBACK_CALLS, or the test fails);
- every download of exports/registry.py's TABLES and CHARTS (PNG excepted: it holds no text to read; its SVG
  twin is read), and the report as PDF and DOCX;

are fetched as each masked role (wall, leader, admin), and none of them contains any planted value. The
analyst sees the values on the profile, its downloads and the feed, and each such view is in the audit log.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile
from datetime import timedelta
from urllib.parse import quote

import pytest
from auth_support import callback_body, csrf_token, ensure_accounts, login_client, server_callbacks
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import app as app_module
from data import intake
from data.access.masking import id_check_digit, luhn_valid
from data.core import db
from data.core.schema import Dispute, Enterprise, Hazard, Incident
from data.core.timeutil import now_utc
from data.intake.templates import kinds as template_kinds
from exports import registry as export_layout

PERSON, PERSON2 = "欧阳建国", "司马秀英"
PHONE, LANDLINE = "13912345678", "0572-3021234"
ID = "33050219850101123" + id_check_digit("33050219850101123")
CARD = next(c for c in (f"622202987654321012{d}" for d in "0123456789") if luhn_valid(c))
PLATE = "浙E9K123"
DOOR = "大港路88号3幢"
PLANTED = (PERSON, PERSON2, PHONE, LANDLINE, ID, CARD, PLATE, DOOR, "0572 3021234", "139 1234 5678")
SUMMARY = (f"报警人{PERSON}称与{PERSON2}（{LANDLINE}）因货款纠纷发生争执，电话139 1234 5678，身份证{ID}，"
           f"卡号{CARD}，车牌{PLATE}\n\n[点我](http://evil.example) ![x](http://evil.example/x.png) <b>粗</b>")
PARTIES = f"{PERSON}与湖州某某服装厂\n{PERSON2} {PHONE}（{ID}）"
DESCRIPTION = f"三楼住人，负责人{PERSON}（{PHONE}）称{DOOR}已整改；身份证{ID}"
ROLES_MASKED = ("wall", "leader", "admin")

# GET routes of the server that hold no data of the town, with the reason; every other route is fetched.
UNCOVERED_ROUTES = {
    "/static/<path:filename>": "Flask's static files: none",
    "/assets/<path:filename>": "the app's CSS and JavaScript",
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": "Dash's JavaScript bundles",
    "/_dash-dependencies": "the callback graph (ids only)",
    "/_reload-hash": "Dash's hot-reload hash",
    "/_favicon.ico": "an icon",
    "/<path:path>": "the Dash shell for any path: fetched as the pages below",
    "/logout": "a form",
    "/login": "a form",
    "/device": "a form",
    "/export/report.<any(pdf, docx):fmt>": "fetched as the report below",
    "/export/table/<name>.<any(csv, xlsx):fmt>": "fetched from the TABLES registry below",
    "/export/chart/<name>.<any(png, svg):fmt>": "fetched from the CHARTS registry below",
    "/export/<path:_rest>": "not found for any path",
}
HOOK = '''
from data import intake


def on_the_demo(*args, **kw):
    """The importer, let onto the demo copy (it refuses the synthetic demo otherwise)."""
    return intake.import_file(*args, **dict(kw, allow_demo=True))
'''
UPLOAD_NAME = f"{PERSON}{PHONE}报警记录.csv"


# --- the hostile town -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def town(small_demo_town, tmp_path_factory):
    url = small_demo_town.copy("leaks")
    engine = db.make_engine(url)
    now = now_utc()
    with Session(engine) as session:
        enterprise = session.scalars(select(Enterprise).where(Enterprise.station_id == 2,
                                                              Enterprise.park_id.is_not(None))
                                     .order_by(Enterprise.id)).first()
        enterprise.address = f"织里镇{DOOR}（负责人{PERSON} {PHONE}）"
        common = {"enterprise_id": enterprise.id, "station_id": 2, "park_id": enterprise.park_id}
        session.add_all([
            Incident(received_at=now - timedelta(minutes=k), category="纠纷", priority=2, enterprise_related=True,
                     channel="110", created_at=now, lat=30.87, lon=120.26, caller_name=name, caller_phone=phone,
                     address=f"织里镇{DOOR} {name}家", summary=SUMMARY, source="test", source_id=f"leak-{k}",
                     **common)
            for k, (name, phone) in enumerate(((PERSON, PHONE), (PERSON2, LANDLINE)), start=1)])
        session.add(Dispute(reported_at=now - timedelta(days=3), dispute_type="经济", parties=PARTIES, party_count=2,
                            status="调解中", created_at=now, source="test", source_id="leak-d", **common))
        session.add(Hazard(found_at=now - timedelta(days=40), hazard_type="三合一住人", severity="重大",
                           description=DESCRIPTION, deadline=(now - timedelta(days=10)).date(), status="待整改",
                           created_at=now, source="test", source_id="leak-h", **common))
        session.commit()
        ids = {"enterprise": enterprise.id, "park": enterprise.park_id}
    bad = ("source_id,channel,received_at,category,priority,station,caller_name,caller_phone,address,summary\n"
           f"leak-q1,110,2026-01-01 10:00:00,没有这个类别,2,织北派出所,{PERSON},{PHONE},\"织里镇{DOOR}\","
           f"\"{SUMMARY.replace(chr(34), '')}\"\n")
    report = intake.import_file(engine, "incidents", bad.encode("utf-8"), None, filename="leaks.csv", user="test",
                                allow_demo=True)
    assert report.ok and report.rejected == 1, report.lines()
    engine.dispose()
    ids["bad_file"] = bad.encode("utf-8")
    return url, ids


@pytest.fixture(scope="module")
def server(town, tmp_path_factory):
    url, ids = town
    folder = tmp_path_factory.mktemp("leak-hooks")
    (folder / "eqian_leak_hooks.py").write_text(HOOK, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYTHONPATH", str(folder))  # the import child finds the hook
        app = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_SIMULATE": False,
                                     "EQIAN_IMPORT_DIR": str(folder / "runs"),
                                     "EQIAN_IMPORT_ENTRY": "eqian_leak_hooks:on_the_demo"})
        ensure_accounts(app)
        ids["run"] = _upload_as_admin(app, ids["bad_file"])
    yield app
    db.engine_of(app).dispose()


def _upload_as_admin(app, data: bytes) -> str:
    """The admin uploads ``data`` on the import page under UPLOAD_NAME; the run's id once the run has ended."""
    client = app.test_client()
    login_client(client, "admin")
    form = {"csrf_token": csrf_token(client, "/admin/imports"), "kind": "incidents", "previous": "",
            "file": (io.BytesIO(data), UPLOAD_NAME)}
    answer = client.post("/admin/imports", data=form, content_type="multipart/form-data")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    run = answer.headers["Location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 60
    while 'data-status="queued"' in (page := client.get(f"/admin/imports/{run}").get_data(as_text=True)) \
            or 'data-status="running"' in page:
        assert time.monotonic() < deadline, "the upload did not finish"
        time.sleep(0.1)
    assert 'data-status="done"' in page and "没有这个类别" in page, page[-2000:]
    return run


@pytest.fixture(scope="module")
def clients(server):
    out = {}
    for role in (*ROLES_MASKED, "analyst"):
        client = server.test_client()
        login_client(client, role)
        out[role] = client
    return out


# --- reading what goes out --------------------------------------------------------------------------------

def readable(response) -> str:
    """Every text a person could read in a response: the body, an XLSX's cells, a PDF's or DOCX's text."""
    body = response.data
    kind = response.mimetype
    if kind == "application/pdf":
        from pypdf import PdfReader  # noqa: PLC0415

        return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages)
    if body[:2] == b"PK":  # XLSX and DOCX: every XML member, as text
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
                             if n.endswith(".xml"))
    return body.decode("utf-8", "replace")


def unescape_json(value: str) -> str:
    """Text as a person reads it: a JSON answer's string escapes (\\u6b27…) and HTML entities undone."""
    import html  # noqa: PLC0415

    try:
        value = json.dumps(json.loads(value), ensure_ascii=False)
    except ValueError:
        pass
    return html.unescape(value)


def leaked(text_: str) -> list[str]:
    """The planted values in a text (also with its spaces taken out, for a number typed with spaces)."""
    plain = unescape_json(text_)
    compact = re.sub(r"[\s\u3000]", "", plain)
    return [v for v in PLANTED if v in plain or v.replace(" ", "") in compact and len(v) > 4]


# --- the registries -------------------------------------------------------------------------------------

def _calls(ids) -> dict[str, list[dict]]:
    """Input and state values (by the callback's argument names) for each server-side callback, as the page
    sends them, that draw the planted enterprise, its park and its station."""
    enterprise, park = ids["enterprise"], ids["park"]
    wall = {"lang": "zh", "poll_ms": 2000, "feed_ms": 1000}
    views = ({"kind": "town", "id": None}, {"kind": "station", "id": 2})
    return {
        "router.render": [{"pathname": path, "search": ""} for path in ("/", "/review", f"/enterprise/{enterprise}")],
        "wall.frame": [{"poll": 1, "view": view, "settings": wall} for view in views],
        "wall.feed": [{"poll": 1, "state": {"last_id": None}, "view": view, "settings": wall} for view in views],
        "review.render": [{"search": search, "pathname": "/review", "lang": "zh"} for search in
                          (f"?station=2&park={park}", f"?enterprise={enterprise}", "?station=2&period=28d")],
        "review.render_index": [{"drawn": f"?station=2&park={park}", "search": f"?station=2&park={park}",
                                 "pathname": "/review", "lang": "zh"}],
        "review.sync_controls": [{"search": f"?park={park}", "pathname": "/review"}],
        "review.drill": [{"bar_click": {"points": [{"customdata": ["enterprise", enterprise]}]},
                          "search": f"?park={park}", "lang": "zh"}],
    }


def _download_query(source: str, ids) -> str:
    return {"review": f"station=2&park={ids['park']}", "overdue": "station=2", "index": "station=2",
            "enterprise": f"enterprise={ids['enterprise']}", "wall": "station=2"}[source]


def _downloads(ids) -> list[str]:
    urls = [f"/export/table/{name}.{fmt}?{_download_query(spec.source, ids)}"
            for name, spec in export_layout.TABLES.items() for fmt in ("csv", "xlsx")]
    urls += [f"/export/chart/{name}.svg?{_download_query(spec.source, ids)}"
             for name, spec in export_layout.CHARTS.items()]
    urls += [f"/export/report.{fmt}?period=month&unit={quote('织北')}" for fmt in ("pdf", "docx")]
    urls += [f"/export/report.{fmt}?period=28d&station=2" for fmt in ("pdf", "docx")]
    return urls


def _pages(server, town_ids, engine) -> list[str]:
    """Every GET route of the server not in UNCOVERED_ROUTES, with its arguments filled, and the router's pages."""
    with engine.connect() as conn:
        entries = conn.execute(text("SELECT id FROM import_quarantine ORDER BY id")).scalars().all()
    fills = {"entry_id": [str(e) for e in entries], "run_id": [town_ids["run"]],
             "kind": list(template_kinds()), "fmt": ["csv", "xlsx", "yaml"]}  # /admin/setup's templates
    out = []
    for rule in server.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule in UNCOVERED_ROUTES:
            continue
        holes = re.findall(r"<(?:[^>:]+:)?([^>]+)>", rule.rule)
        assert all(h in fills for h in holes), f"route {rule.rule} is neither fetched nor in UNCOVERED_ROUTES"
        paths = [rule.rule]
        for hole in holes:
            pattern = re.compile(r"<(?:[^>:]+:)?" + re.escape(hole) + ">")
            paths = [pattern.sub(value, p) for p in paths for value in fills[hole]]
        out += paths
    return out + ["/", "/review", f"/enterprise/{town_ids['enterprise']}"]


class TestNothingLeaks:
    def test_lek001_the_registries_are_covered(self, server, town):
        _url, ids = town
        assert set(_calls(ids)) == set(server_callbacks(server)), "a callback without an entry in CALLBACK_CALLS"
        assert len(_downloads(ids)) >= 40

    @pytest.mark.parametrize("role", ROLES_MASKED)
    def test_lek002_no_page_or_route_shows_a_planted_value(self, server, town, clients, role):
        url, ids = town
        seen = 0
        for path in _pages(server, ids, db.engine_of(server)):
            response = clients[role].get(path)
            assert response.status_code < 500, (path, response.status_code)
            if response.status_code == 200:
                seen += 1
                assert leaked(readable(response)) == [], (role, path)
        assert seen >= (2 if role == "wall" else 4)

    @pytest.mark.parametrize("role", ROLES_MASKED)
    def test_lek003_no_callback_shows_a_planted_value(self, server, town, clients, role):
        _url, ids = town
        callbacks, answered, masked_forms = server_callbacks(server), 0, 0
        for name, calls in _calls(ids).items():
            key, spec = callbacks[name]
            for values in calls:
                body = callback_body(key, spec, values)
                response = clients[role].post("/_dash-update-component", data=json.dumps(body),
                                              content_type="application/json")
                assert response.status_code < 500, (name, values, response.status_code)
                if response.status_code == 200:
                    answered += 1
                    answer = response.get_data(as_text=True)
                    assert leaked(answer) == [], (role, name, values)
                    masked_forms += unescape_json(answer).count("欧***")
        assert answered >= (4 if role == "wall" else 12)
        assert masked_forms > 0  # the planted rows were drawn, masked (the feed, and the profile for leaders)

    @pytest.mark.parametrize("role", ("leader", "admin"))
    def test_lek004_no_download_or_report_shows_a_planted_value(self, server, town, clients, role):
        _url, ids = town
        fetched = 0
        for url in _downloads(ids):
            response = clients[role].get(url)
            assert response.status_code == 200, (url, response.status_code, response.data[:200])
            fetched += 1
            assert leaked(readable(response)) == [], (role, url)
        assert fetched == len(_downloads(ids))


class TestTheAnalystSees:
    def test_lek010_the_analyst_sees_the_values_and_each_view_is_audited(self, server, town, clients):
        _url, ids = town
        engine = db.engine_of(server)

        def audits() -> int:
            with engine.connect() as conn:
                return conn.execute(text("SELECT count(*) FROM audit_log WHERE action = 'unmasked_view'")).scalar_one()

        before = audits()
        key, spec = server_callbacks(server)["router.render"]
        page = clients["analyst"].post("/_dash-update-component", data=json.dumps(
            callback_body(key, spec, {"pathname": f"/enterprise/{ids['enterprise']}", "search": ""})),
            content_type="application/json").get_data(as_text=True)
        enterprise = f"enterprise={ids['enterprise']}"
        table = readable(clients["analyst"].get(f"/export/table/enterprise-incidents.csv?{enterprise}"))
        hazards = readable(clients["analyst"].get(f"/export/table/enterprise-hazards.xlsx?{enterprise}"))
        assert PERSON in unescape_json(page)
        assert PHONE in table and PERSON in table
        assert ID in unescape_json(hazards)
        assert "未脱敏" in table
        assert audits() >= before + 3

    def test_lek011_the_feed_is_masked_for_every_viewer_the_analyst_included(self, server, town, clients):
        """A wall is a public screen: its feed is masked whoever is logged in (README, access control)."""
        key, spec = server_callbacks(server)["wall.feed"]
        body = callback_body(key, spec, {"poll": 1, "state": {"last_id": None}, "view": {"kind": "station", "id": 2},
                                         "settings": {"lang": "zh"}})
        answer = clients["analyst"].post("/_dash-update-component", data=json.dumps(body),
                                         content_type="application/json").get_data(as_text=True)
        assert "欧***" in unescape_json(answer) and leaked(answer) == []

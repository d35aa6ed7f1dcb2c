"""The upload and quarantine pages for admins (issue 8, web/admin_intake.py) over the Flask test client.

Each test gets its own app on a fresh SQLite file with the small town of tests/intake_support.py (stations, a
park, three enterprises) and the demo accounts; one test runs the same flow on PostgreSQL. Imports run in a
child process (data/intake/runner.py); tests that need a slow, failing or greedy import point the app's
``EQIAN_IMPORT_ENTRY`` at a stand-in written to a module of their own (``hooks``).
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import textwrap
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from auth_support import csrf_token, ensure_accounts, login_client
from hypothesis import given, settings
from hypothesis import strategies as st
from intake_support import (
    BAD_CODE,
    CODES,
    HEADER,
    INSIDE,
    MAPPING,
    UNKNOWN_CODE,
    credit_code,
    csv_bytes,
    make_town,
    row,
    snapshot,
)
from sqlalchemy import func, insert, select

import app as app_module
from data import intake
from data.access import audit
from data.core import db
from data.core.schema import Enterprise, ImportRun, Incident, QuarantineRow
from data.screens import intake_views
from web import admin_intake

ROOT = Path(__file__).resolve().parent.parent


def _make_app(url: str, tmp_path, **config):
    server = app_module.create_app({"EQIAN_DATABASE_URL": url, "EQIAN_DEMO": False, "EQIAN_SIMULATE": False,
                                    "EQIAN_IMPORT_DIR": str(tmp_path / "runs"), **config})
    if "admin_intake" not in server.blueprints:  # until app.py registers the pages itself
        admin_intake.register(server)
    make_town(db.engine_of(server))
    ensure_accounts(server)
    return server


def _wait_for_children(server) -> None:
    """Let this app's import children end before the test's folder goes (a failed test may leave one running)."""
    for child in list(server.extensions[admin_intake.STORE_KEY].children.values()):
        try:
            child.wait(timeout=60)
        except Exception:  # noqa: BLE001
            child.kill()


@pytest.fixture
def site(tmp_path):
    server = _make_app(f"sqlite:///{tmp_path / 'intake.db'}", tmp_path)
    yield server
    _wait_for_children(server)
    db.engine_of(server).dispose()


HOOKS = '''
    """Stand-ins for data.intake.import_file, run by the import child (EQIAN_IMPORT_ENTRY=eqian_test_hooks:...)."""
    import os
    import re
    import time
    from pathlib import Path

    from data import intake

    RELEASE = Path(__file__).with_name("release")


    def held(*args, progress=None, **kw):
        """A quarter done, then wait for the test to create the release file."""
        progress(500_000, 2_000_000)
        deadline = time.monotonic() + 30
        while not RELEASE.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return intake.import_file(*args, progress=progress, **kw)


    def broken(*_args, **_kw):
        raise RuntimeError("boom")


    def greedy(*_args, **_kw):
        """Ask for memory until there is none."""
        blocks = []
        while True:
            blocks.append(bytearray(64 << 20))


    def vanishing(*_args, **_kw):
        os._exit(3)


    def backtracking(*args, progress=None, **kw):
        """Seconds of stdlib re backtracking, which holds the interpreter (as the old mapping regexes did)."""
        progress(1, 2)
        re.search(r"(a|aa)+$", "a" * 33 + "!")
        return intake.import_file(*args, progress=progress, **kw)
'''


@pytest.fixture
def hooks(tmp_path, monkeypatch):
    """A module of import stand-ins the child can import; its folder (where ``release`` goes)."""
    folder = tmp_path / "hooks"
    folder.mkdir()
    (folder / "eqian_test_hooks.py").write_text(textwrap.dedent(HOOKS), encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(folder))
    return folder


def _hooked_site(tmp_path, entry: str, **config):
    """An app whose import child runs ``eqian_test_hooks.<entry>`` instead of the importer."""
    return _make_app(f"sqlite:///{tmp_path / 'hooked.db'}", tmp_path, EQIAN_IMPORT_ENTRY=f"eqian_test_hooks:{entry}",
                     **config)


@pytest.fixture
def admin(site):
    client = site.test_client()
    login_client(client, "admin")
    return client


def _engine(server):
    return db.engine_of(server)


def _upload(client, data: bytes, filename: str = "county.csv", kind: str = "incidents", mapping=MAPPING,
            dry_run: bool = False, previous: str = "", token: str | None = None):
    form = {"csrf_token": csrf_token(client, "/admin/imports") if token is None else token, "kind": kind,
            "previous": previous, "file": (io.BytesIO(data), filename)}
    if mapping is not None:
        form["mapping_file"] = (io.BytesIO(json.dumps(mapping, ensure_ascii=False).encode()), "county.json")
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/admin/imports", data=form, content_type="multipart/form-data")


def _status(page: str) -> str:
    return re.search(r'id="import-run" data-status="([a-z]+)"', page).group(1)


def _finish(client, response, timeout: float = 60) -> str:
    """Follow an upload to its run page and wait for the run to end; the final page."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert re.fullmatch(r"/admin/imports/[0-9a-f]{32}", location)
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(location)
        page = answer.get_data(as_text=True)
        if _status(page) not in ("queued", "running"):
            assert "Refresh" not in answer.headers
            return page
        assert answer.headers["Refresh"] == "2"
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.05)


def _count(page: str, name: str) -> int:
    return int(re.search(rf'id="run-{name}">([\d,]+)', page).group(1).replace(",", ""))


def _counts(page: str) -> dict:
    return {n: _count(page, n) for n in ("rows", "accepted", "duplicates", "rejected", "quarantined", "flagged")}


def _incidents(engine) -> dict:
    with engine.connect() as conn:
        return {r.source_id: r for r in conn.execute(select(Incident.__table__))}


def _audit(engine) -> list:
    with engine.connect() as conn:
        return audit.entries(conn, limit=1000, action="import")


def _open_entries(engine) -> list:
    return intake.list_quarantine(engine, kind="incidents")


# --- uploads -------------------------------------------------------------------------------------------------

def test_aint001_good_csv_is_imported_and_reported(site, admin, tmp_path):
    engine = _engine(site)
    page = admin.get("/admin/imports").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'href="/admin/quarantine"' in page
    data = csv_bytes([row("A1", code=CODES[0]), row("A2", category="车祸"), row("A3", category="求助")])
    page = _finish(admin, _upload(admin, data, filename="县局警情.csv"))
    assert _status(page) == "done"
    assert _counts(page) == {"rows": 3, "accepted": 3, "duplicates": 0, "rejected": 0, "quarantined": 0,
                             "flagged": 0}
    rows = _incidents(engine)
    assert sorted(rows) == ["A1", "A2", "A3"] and rows["A1"].enterprise_id == 1 and rows["A2"].category == "交通事故"
    with engine.connect() as conn:
        run = conn.execute(select(ImportRun.__table__)).one()
    assert (run.filename, run.imported_by, run.accepted, run.source) == ("县局警情.csv", "admin", 3, "county-110")
    listing = admin.get("/admin/imports").get_data(as_text=True)
    assert f'data-import="{run.id}"' in listing and "县局警情.csv" in listing and 'data-status="done"' in listing
    (entry,) = _audit(engine)
    assert entry.actor == "admin" and entry.role == "admin"
    assert entry.target.startswith("县局警情.csv · run ") and entry.target.endswith(f"import #{run.id}")
    assert entry.detail.startswith("imported 3 of 3 rows into incidents from county-110")
    assert [p.suffix for p in (tmp_path / "runs").iterdir()] == [".json"]  # the upload is gone once imported


def test_aint002_bad_rows_are_named_by_line_and_reason_and_the_good_ones_kept(site, admin):
    engine = _engine(site)
    data = csv_bytes([row("B1"), row("B2", when="2025-02-30 10:00:00"), row("B3", category="走私"), row("B4"),
                      row("B5", code=BAD_CODE)])
    page = _finish(admin, _upload(admin, data))
    assert _counts(page) == {"rows": 5, "accepted": 2, "duplicates": 0, "rejected": 3, "quarantined": 3,
                             "flagged": 0}
    lines = dict(re.findall(r'<tr data-line="(\d+)">.*?<ul class="import-reasons">(.*?)</ul>', page, re.S))
    assert sorted(lines, key=int) == ["3", "4", "6"]
    assert "received_at: &#39;2025-02-30 10:00:00&#39; is not a real date" in lines["3"]
    assert "category: &#39;走私&#39; is not in the mapping" in lines["4"]
    assert "check digit does not match" in lines["6"]
    assert sorted(_incidents(engine)) == ["B1", "B4"]  # the good rows of the file are stored
    assert [e.line for e in _open_entries(engine)] == [3, 4, 6]
    assert 'id="run-quarantine-link"' in page


def test_aint003_gbk_files(site, admin):
    engine = _engine(site)
    gbk = csv_bytes([row("G1", address="织里镇栋梁路８号", summary="童装厂盗窃，损失约三千元")], encoding="gbk")
    page = _finish(admin, _upload(admin, gbk))
    assert _count(page, "accepted") == 1 and "gb18030" in page  # detected, not garbled
    assert _incidents(engine)["G1"].summary == "童装厂盗窃，损失约三千元"
    # Declared as UTF-8, the same kind of file fails as a whole, naming the line; nothing of it is stored.
    before = snapshot(engine)
    declared = dict(MAPPING, encoding="utf-8")
    page = _finish(admin, _upload(admin, csv_bytes([row("G2"), row("G3")], encoding="gbk"), mapping=declared))
    assert _status(page) == "failed"
    error = re.search(r'id="import-error">(.*?)</p>', page, re.S).group(1)
    assert "未保存任何数据：第 1 行：" in error and "declare encoding: gb18030" in error
    assert snapshot(engine) == before
    assert "import failed, nothing stored" in _audit(engine)[0].detail


def test_aint004_the_same_file_again_changes_nothing(site, admin):
    engine = _engine(site)
    data = csv_bytes([row("R1"), row("R2"), row("R3", category="走私")])
    _finish(admin, _upload(admin, data))
    before = snapshot(engine)
    page = _finish(admin, _upload(admin, data))
    assert _counts(page) == {"rows": 3, "accepted": 0, "duplicates": 2, "rejected": 1, "quarantined": 0,
                             "flagged": 0}
    assert 'id="run-unchanged"' in page and "已在待修正数据中" in page
    assert snapshot(engine) == before
    assert len(_audit(engine)) == 2  # both uploads are in the audit log


def test_aint005_dry_run_stores_nothing(site, admin):
    engine = _engine(site)
    before = snapshot(engine)
    page = _finish(admin, _upload(admin, csv_bytes([row("Y1"), row("Y2", category="?")]), dry_run=True))
    assert _count(page, "accepted") == 1 and _count(page, "rejected") == 1 and 'id="run-dry"' in page
    assert "试运行" in page and "would import 1 of 2 rows" in page
    assert snapshot(engine) == before
    assert _audit(engine)[0].detail.startswith("would import 1 of 2 rows")


def test_aint005b_xlsx_with_a_date_cell_through_the_quarantine(site, admin):
    openpyxl = pytest.importorskip("openpyxl")
    engine = _engine(site)
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["X1", datetime(2025, 3, 1, 10, 0), "走私", 2, "电话", "织东派出所", None, None, "大港路", "x",
                        None])
    book.active.append(["X2", datetime(2025, 3, 2, 10, 0), "斗殴", 1, "电话", "ZD", None, None, "利济路", "y", None])
    data = io.BytesIO()
    book.save(data)
    page = _finish(admin, _upload(admin, data.getvalue(), filename="county.xlsx"))
    assert _counts(page)["accepted"] == 1 and _counts(page)["rejected"] == 1 and "xlsx" in page
    (entry,) = _open_entries(engine)
    raw = list(entry.raw)
    page = admin.get(f"/admin/quarantine/{entry.id}").get_data(as_text=True)
    assert f'name="cell-{raw.index("接警时间")}" value="2025-03-01 10:00:00"' in page
    form = {"csrf_token": csrf_token(admin, f"/admin/quarantine/{entry.id}"), "action": "resubmit",
            **{f"cell-{i}": value for i, value in re.findall(r'name="cell-(\d+)" value="([^"]*)"', page)}}
    form[f"cell-{raw.index('类别')}"] = "盗窃"
    assert 'data-ok="yes"' in admin.post(f"/admin/quarantine/{entry.id}", data=form).get_data(as_text=True)
    assert intake.get_quarantine_row(engine, entry.id).raw["接警时间"] == datetime(2025, 3, 1, 10, 0)  # kept typed
    assert _incidents(engine)["X1"].received_at == datetime(2025, 3, 1, 2, 0, tzinfo=UTC)


def test_aint006_mapping_of_an_earlier_import_and_mapping_errors(site, admin):
    engine = _engine(site)
    _finish(admin, _upload(admin, csv_bytes([row("M1")])))
    with engine.connect() as conn:
        first = conn.execute(select(ImportRun.id)).scalar_one()
    page = admin.get("/admin/imports").get_data(as_text=True)
    assert f'<option value="{first}">警情 · county-110' in page
    page = _finish(admin, _upload(admin, csv_bytes([row("M2")]), mapping=None, previous=str(first)))
    assert _count(page, "accepted") == 1 and "M2" in _incidents(engine)
    # A mapping that does not parse or fit is refused on the form (no run); one whose values are not ours
    # fails the run before any row is read. Nothing is stored either way.
    before = snapshot(engine)
    broken = _upload(admin, csv_bytes([row("M3")]), mapping={"kind": "incidents", "source": "x", "feilds": {}})
    assert broken.status_code == 400 and "mapping: feilds: unknown key(s)" in broken.get_data(as_text=True)
    bad = dict(MAPPING, fields={**MAPPING["fields"], "category": {"column": "类别", "map": {"盗窃": "盗窃"}}})
    page = _finish(admin, _upload(admin, csv_bytes([row("M3")]), mapping=bad))
    assert _status(page) == "failed"
    assert "mapping: fields.category.map[&#39;盗窃&#39;]: &#39;盗窃&#39; is not one of ours" in page
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(ImportRun.id))).scalar_one()  # the choice is the latest per source
    assert latest > first and f'<option value="{first}">' not in admin.get("/admin/imports").get_data(as_text=True)
    wrong_kind = _upload(admin, csv_bytes([row("M3")]), kind="hazards", mapping=None, previous=str(latest))
    assert wrong_kind.status_code == 400 and "but hazards are being imported" in wrong_kind.get_data(as_text=True)
    both = _upload(admin, csv_bytes([row("M3")]), previous=str(latest))
    assert both.status_code == 400 and "二选一" in both.get_data(as_text=True)
    not_csv = _upload(admin, b"x", filename="county.xls")
    assert not_csv.status_code == 400 and "只接受 CSV 或 XLSX 文件" in not_csv.get_data(as_text=True)
    assert snapshot(engine) == before


def test_aint007_progress_page_refreshes_and_one_import_runs_at_a_time(tmp_path, hooks):
    server = _hooked_site(tmp_path, "held")
    engine = _engine(server)
    admin = server.test_client()
    login_client(admin, "admin")
    try:
        answer = _upload(admin, csv_bytes([row("P1"), row("P2")]))
        location = answer.headers["Location"]
        deadline = time.monotonic() + 30
        while "已处理 500,000 / 2,000,000 行" not in (page := admin.get(location).get_data(as_text=True)):
            assert time.monotonic() < deadline, "the child never reported its progress"
            time.sleep(0.1)
        running = admin.get(location)
        assert running.headers["Refresh"] == "2" and _status(page) == "running"
        assert 'id="import-progress" max="100" value="25"' in page
        second = _upload(admin, csv_bytes([row("P3")]))
        assert second.status_code == 409 and "另一个导入正在进行" in second.get_data(as_text=True)
        (hooks / "release").touch()
        page = _finish(admin, answer)
        assert _count(page, "accepted") == 2 and sorted(_incidents(engine)) == ["P1", "P2"]
        assert len(_audit(engine)) == 1  # written by the child
    finally:
        (hooks / "release").touch()
        _wait_for_children(server)
        engine.dispose()


def test_aint007b_a_bug_in_the_importer_is_shown_and_audited(tmp_path, hooks):
    server = _hooked_site(tmp_path, "broken")
    admin = server.test_client()
    login_client(admin, "admin")
    page = _finish(admin, _upload(admin, csv_bytes([row("X1")])))
    assert _status(page) == "error" and "internal error, nothing stored: RuntimeError: boom" in page
    assert _audit(_engine(server))[0].detail == "internal error, nothing stored: RuntimeError: boom"
    _wait_for_children(server)
    assert [p.suffix for p in (tmp_path / "runs").iterdir()] == [".json"]
    _engine(server).dispose()


def test_aint008_a_run_whose_worker_died_shows_as_interrupted(site, admin):
    store = site.extensions[admin_intake.STORE_KEY]
    state = {"run": "a" * 32, "status": "running", "kind": "incidents", "filename": "lost.csv", "size": 100,
             "dry_run": False, "user": "admin", "mapping": "county-110", "started": time.time() - 600,
             "done": 10, "total": 100, "rows": 0}
    store.save(state)
    path = store.folder / f"{'a' * 32}.json"
    state["updated"] = time.time() - admin_intake.STALE_SECONDS - 5
    path.write_text(json.dumps(state), encoding="utf-8")
    answer = admin.get(f"/admin/imports/{'a' * 32}")
    page = answer.get_data(as_text=True)
    assert _status(page) == "interrupted" and "Refresh" not in answer.headers and "导入中断" in page
    assert admin.get("/admin/imports/" + "b" * 32).status_code == 404
    assert admin.get("/admin/imports/not-a-run").status_code == 404
    # An interrupted run does not block the next upload.
    assert _count(_finish(admin, _upload(admin, csv_bytes([row("I1")]))), "accepted") == 1


def test_aint009_an_upload_over_the_limit_gets_a_clear_page(tmp_path):
    server = _make_app(f"sqlite:///{tmp_path / 'small.db'}", tmp_path, MAX_CONTENT_LENGTH=4096)
    client = server.test_client()
    login_client(client, "admin")
    before = snapshot(db.engine_of(server))
    answer = _upload(client, csv_bytes([row(f"L{i}", summary="x" * 100) for i in range(60)]))
    page = answer.get_data(as_text=True)
    assert answer.status_code == 413 and "文件过大：上传上限为 4 KB，本次约" in page
    assert snapshot(db.engine_of(server)) == before
    db.engine_of(server).dispose()


def test_aint010_default_upload_limit_is_512_mb(site):
    assert site.config["MAX_CONTENT_LENGTH"] == 512 * 1024 * 1024


# --- imports run in a child process (issue 17, finding 7) ---------------------------------------------------------

def test_aint011_the_app_answers_at_once_while_an_import_child_holds_its_interpreter(tmp_path, hooks):
    server = _hooked_site(tmp_path, "backtracking")  # seconds of stdlib re backtracking in the import
    admin = server.test_client()
    login_client(admin, "admin")
    started = time.monotonic()
    answer = _upload(admin, csv_bytes([row("H1")]))
    location = answer.headers["Location"]
    latencies = []
    while True:
        before = time.monotonic()
        page = admin.get(location).get_data(as_text=True)
        latencies.append(time.monotonic() - before)
        if _status(page) not in ("queued", "running"):
            break
        assert time.monotonic() - started < 60, "the import did not finish"
        time.sleep(0.05)
    assert _count(page, "accepted") == 1 and time.monotonic() - started > 1.5  # it did take a while
    assert len(latencies) >= 5 and max(latencies) < 1.0, latencies
    print(f"\naint011: {len(latencies)} requests during the import, slowest {max(latencies) * 1000:.0f} ms")
    _wait_for_children(server)
    _engine(server).dispose()


def test_aint012_an_import_past_its_memory_limit_fails_alone_and_says_so(tmp_path, hooks):
    server = _hooked_site(tmp_path, "greedy", EQIAN_IMPORT_MEMORY_MB=768)
    admin = server.test_client()
    login_client(admin, "admin")
    page = _finish(admin, _upload(admin, csv_bytes([row("G1")])))
    message = "the import ran out of memory (its limit is 768 MB); split the file by period or save it as CSV"
    assert _status(page) == "error" and message in page
    assert _audit(_engine(server))[0].detail == f"internal error, nothing stored: {message}"
    assert admin.get("/admin/imports").status_code == 200  # this process is untouched
    _wait_for_children(server)
    _engine(server).dispose()


def test_aint013_a_child_that_dies_without_its_report_is_reported_by_the_worker(tmp_path, hooks):
    server = _hooked_site(tmp_path, "vanishing")
    admin = server.test_client()
    login_client(admin, "admin")
    page = _finish(admin, _upload(admin, csv_bytes([row("V1")])))
    assert _status(page) == "error"
    assert "import failed, nothing stored: the import process ended with exit code 3 before writing its report" in page
    (entry,) = _audit(_engine(server))
    assert entry.detail.startswith("import failed, nothing stored: the import process ended with exit code 3")
    assert entry.actor == "admin" and " · run " in entry.target
    _wait_for_children(server)
    assert [p.suffix for p in (tmp_path / "runs").iterdir()] == [".json"]  # the upload is gone all the same
    _engine(server).dispose()


def test_aint014_a_zip_bomb_workbook_is_refused_on_the_run_page(site, admin, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    plain = io.BytesIO()
    book.save(plain)
    bomb = io.BytesIO()
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "[Content_Types].xml":  # declared: openpyxl would read it whole
                body = body.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            out.writestr(info, body)
        out.writestr("xl/sharedStrings.xml", b"<sst><si><t>" + b"A" * (32 << 20) + b"</t></si></sst>")
    assert len(bomb.getvalue()) < 200_000
    page = _finish(admin, _upload(admin, bomb.getvalue(), filename="county.xlsx"))
    assert _status(page) == "failed" and "the XLSX file&#39;s xl/sharedStrings.xml would expand" in page
    assert snapshot(_engine(site))["incidents"] == 0


# --- numbers that name nothing and mappings nested too deep (issue 17, finding 10) ----------------------------

@pytest.mark.parametrize("number", [2**63, 2**64, -1])
def test_aint022_ids_and_pages_out_of_range_get_4xx_not_500(site, admin, number):
    _finish(admin, _upload(admin, csv_bytes([row("O1", category="走私")])))
    token = _quarantine_token(admin)
    assert admin.get(f"/admin/quarantine/{number}").status_code == 404
    assert admin.post(f"/admin/quarantine/{number}", data={"csrf_token": token}).status_code == 404
    assert admin.post(f"/admin/quarantine/{number}/discard", data={"csrf_token": token}).status_code == 404
    assert admin.get(f"/admin/imports/{number}").status_code == 404
    for query in (f"import={number}", f"page={number}", f"kind=incidents&import={number}&page=2"):
        answer = admin.get(f"/admin/quarantine?{query}")
        assert answer.status_code == 400, query
        assert "须为 1 到 9223372036854775807 之间的整数" in answer.get_data(as_text=True)
    for form in ({"ids": str(number)}, {"scope": "page", "page_ids": str(number)}, {"ids": "1", "import": str(number)}):
        answer = admin.post("/admin/quarantine/resubmit", data={"csrf_token": token, **form})
        assert answer.status_code == 400, form
    (entry,) = _open_entries(_engine(site))
    assert entry.status == "open"  # nothing was resubmitted by a form with a bad number in it
    previous = _upload(admin, csv_bytes([row("O2")]), mapping=None, previous=str(number))
    assert previous.status_code == 400


def _upload_mapping_text(client, text: str, name: str):
    form = {"csrf_token": csrf_token(client, "/admin/imports"), "kind": "incidents", "previous": "",
            "file": (io.BytesIO(csv_bytes([row("N1")])), "county.csv"),
            "mapping_file": (io.BytesIO(text.encode()), name)}
    return client.post("/admin/imports", data=form, content_type="multipart/form-data")


@pytest.mark.parametrize("name", ["deep.json", "deep.yaml"])
def test_aint023_a_mapping_nested_10000_deep_is_refused_on_the_form(site, admin, name):
    text = json.dumps(MAPPING, ensure_ascii=False)[:-1] + ', "description": ' + "[" * 10_000 + "]" * 10_000 + "}"
    answer = _upload_mapping_text(admin, text, name)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and f"mapping: {name} is nested more than 16 levels deep (the limit is 16)" in page
    assert 'data-status="' not in admin.get("/admin/imports").get_data(as_text=True)  # no run was started


# --- who may -------------------------------------------------------------------------------------------------

def test_aint020_a_leader_gets_403_everywhere(site, admin):
    engine = _engine(site)
    _finish(admin, _upload(admin, csv_bytes([row("F1", category="走私")])))
    (entry,) = _open_entries(engine)
    run = re.search(r'href="/admin/imports/([0-9a-f]{32})"', admin.get("/admin/imports").get_data(as_text=True))
    leader = site.test_client()
    login_client(leader, "leader")
    before = snapshot(engine)
    gets = ["/admin/imports", f"/admin/imports/{run.group(1)}", "/admin/quarantine", "/admin/quarantine?kind=incidents",
            f"/admin/quarantine/{entry.id}"]
    for path in gets:
        assert leader.get(path).status_code == 403, path
    token = csrf_token(leader, "/logout")
    posts = {"/admin/imports": {"csrf_token": token, "kind": "incidents",
                                "file": (io.BytesIO(csv_bytes([row("F2")])), "x.csv")},
             "/admin/quarantine/resubmit": {"csrf_token": token, "ids": str(entry.id)},
             f"/admin/quarantine/{entry.id}": {"csrf_token": token, "cell-2": "盗窃", "action": "resubmit"},
             f"/admin/quarantine/{entry.id}/discard": {"csrf_token": token}}
    for path, form in posts.items():
        assert leader.post(path, data=form, content_type="multipart/form-data").status_code == 403, path
    assert snapshot(engine) == before
    anonymous = site.test_client()
    assert anonymous.get("/admin/imports").status_code == 302
    assert anonymous.post("/admin/quarantine/resubmit").status_code == 401


def test_aint021_posts_without_a_csrf_token_are_refused(site, admin):
    engine = _engine(site)
    before = snapshot(engine)
    answer = _upload(admin, csv_bytes([row("C1")]), token="")
    assert answer.status_code == 400 and "表单已过期" in answer.get_data(as_text=True)
    time.sleep(0.3)
    assert snapshot(engine) == before and 'data-status="' not in admin.get("/admin/imports").get_data(as_text=True)
    _finish(admin, _upload(admin, csv_bytes([row("C2", category="走私")])))
    (entry,) = _open_entries(engine)
    before = snapshot(engine)
    assert admin.post(f"/admin/quarantine/{entry.id}", data={"cell-2": "盗窃"}).status_code == 400
    assert admin.post("/admin/quarantine/resubmit", data={"ids": str(entry.id)}).status_code == 400
    assert admin.post(f"/admin/quarantine/{entry.id}/discard", data={}).status_code == 400
    assert snapshot(engine) == before


# --- the quarantine ------------------------------------------------------------------------------------------

def _quarantine_token(client) -> str:
    return csrf_token(client, "/admin/quarantine")


def test_aint030_correct_and_resubmit_moves_the_row_into_incidents(site, admin):
    engine = _engine(site)
    _finish(admin, _upload(admin, csv_bytes([row("Q1", when="2025-02-30 10:00:00"), row("Q2")])))
    (entry,) = _open_entries(engine)
    page = admin.get(f"/admin/quarantine/{entry.id}").get_data(as_text=True)
    index = list(entry.raw).index("接警时间")
    assert f'name="cell-{index}" value="2025-02-30 10:00:00"' in page and "is not a real date" in page
    # A correction that is still wrong: saved, reasons shown, the entry stays open.
    form = {"csrf_token": csrf_token(admin, f"/admin/quarantine/{entry.id}"), f"cell-{index}": "2025-02-31 10:00:00",
            "action": "resubmit"}
    page = admin.post(f"/admin/quarantine/{entry.id}", data=form).get_data(as_text=True)
    assert 'data-ok="no"' in page and "2025-02-31 10:00:00" in page and "Q1" not in _incidents(engine)
    form[f"cell-{index}"] = "2025-02-28 10:00:00"
    answer = admin.post(f"/admin/quarantine/{entry.id}", data=form)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'data-ok="yes"' in page and 'data-status="resolved"' in page
    stored = _incidents(engine)["Q1"]
    assert stored.import_id == entry.import_id and stored.received_at.isoformat().startswith("2025-02-28T02:00")
    done = intake.get_quarantine_row(engine, entry.id)
    assert (done.status, done.row_id, done.updated_by) == ("resolved", stored.id, "admin")
    again = admin.post(f"/admin/quarantine/{entry.id}", data=form)
    assert again.status_code == 409
    details = [e.detail for e in _audit(engine) if e.target == f"quarantine #{entry.id}"]
    assert details == [f"corrected 接警时间; resubmitted: stored as incidents #{stored.id}",
                       "corrected 接警时间; resubmitted: still rejected: received_at: '2025-02-31 10:00:00' is not a "
                       "real date and time (day is out of range for month)"]


def test_aint031_save_only_and_discard(site, admin):
    engine = _engine(site)
    _finish(admin, _upload(admin, csv_bytes([row("D1", category="走私"), row("D2", category="偷渡")])))
    first, second = _open_entries(engine)
    index = list(first.raw).index("类别")
    token = csrf_token(admin, f"/admin/quarantine/{first.id}")
    page = admin.post(f"/admin/quarantine/{first.id}", data={"csrf_token": token, f"cell-{index}": "斗殴",
                                                              "action": "save"}).get_data(as_text=True)
    assert "已保存修改" in page
    saved = intake.get_quarantine_row(engine, first.id)
    assert saved.status == "open" and saved.raw["类别"] == "斗殴" and "D1" not in _incidents(engine)
    answer = admin.post(f"/admin/quarantine/{second.id}/discard", data={"csrf_token": token})
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/admin/quarantine?done=")
    assert intake.get_quarantine_row(engine, second.id).status == "discarded"
    listing = admin.get("/admin/quarantine").get_data(as_text=True)
    assert f'data-entry="{first.id}"' in listing and f'data-entry="{second.id}"' not in listing
    assert admin.post(f"/admin/quarantine/{second.id}/discard", data={"csrf_token": token}).status_code == 409
    entries = {e.target: e.detail for e in _audit(engine) if e.target.startswith("quarantine")}
    assert entries == {f"quarantine #{first.id}": "corrected 类别", f"quarantine #{second.id}": "discarded"}


def test_aint032_bulk_resubmit_after_the_missing_enterprise_was_added(site, admin):
    engine = _engine(site)
    data = csv_bytes([row("E1", code=UNKNOWN_CODE), row("E2", code=UNKNOWN_CODE), row("E3", category="走私"),
                      row("E4", code=UNKNOWN_CODE)])
    _finish(admin, _upload(admin, data))
    e1, e2, e3, e4 = _open_entries(engine)
    listing = admin.get("/admin/quarantine?kind=incidents").get_data(as_text=True)
    assert "is valid but no enterprise of ours has it" in listing and "共 4 行待修正" in listing
    with engine.begin() as conn:
        conn.execute(insert(Enterprise.__table__).values(
            id=9, name="新登记企业", credit_code=UNKNOWN_CODE, sector="童装生产", workers=5, station_id=4,
            lat=30.85, lon=120.27, address="织里镇"))
    token = _quarantine_token(admin)
    chosen = {"csrf_token": token, "scope": "selected", "kind": "incidents",
              "ids": [str(e1.id), str(e2.id), str(e3.id)]}
    answer = admin.post("/admin/quarantine/resubmit", data=chosen)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "重新提交 3 行：2 行已入库，1 行仍被拒绝" in page
    results = dict(re.findall(r'<tr data-entry="(\d+)" data-ok="(yes|no)">', page))
    assert results == {str(e1.id): "yes", str(e2.id): "yes", str(e3.id): "no"}
    assert "category: &#39;走私&#39; is not in the mapping" in page
    rows = _incidents(engine)
    assert rows["E1"].enterprise_id == 9 and rows["E2"].enterprise_id == 9 and "E4" not in rows
    assert [e.id for e in _open_entries(engine)] == [e3.id, e4.id]
    # "this page, all of it" sends every row listed
    page = admin.post("/admin/quarantine/resubmit", data={"csrf_token": token, "scope": "page",
                                                          "page_ids": [str(e3.id), str(e4.id)]}).get_data(as_text=True)
    assert "重新提交 2 行：1 行已入库，1 行仍被拒绝" in page and "E4" in _incidents(engine)
    assert admin.post("/admin/quarantine/resubmit", data={"csrf_token": token}).status_code == 400  # none chosen
    targets = sorted(e.target for e in _audit(engine) if e.target.startswith("quarantine"))
    assert targets == sorted(f"quarantine #{i}" for i in (e1.id, e2.id, e3.id, e3.id, e4.id))


def test_aint033_personal_cells_are_masked_and_can_still_be_replaced(site, admin):
    engine = _engine(site)
    mapping = {**MAPPING, "fields": {**MAPPING["fields"], "caller_phone": "电话"}}
    header = [*HEADER, "电话", "身份证"]
    bad = [*row("N1", category="走私", address="织里镇大港路12号3幢"), "13812345678", "330502199001011234"]
    _finish(admin, _upload(admin, csv_bytes([bad], header=header), mapping=mapping))
    (entry,) = _open_entries(engine)
    for path in ("/admin/quarantine", f"/admin/quarantine/{entry.id}"):
        page = admin.get(path).get_data(as_text=True)
        assert "13812345678" not in page and "138****5678" in page
        assert "大港路12号" not in page and "织里镇大港路" in page
        assert "330502199001011234" not in page and "身份证" in page  # a column the mapping does not read
    raw = list(entry.raw)
    form = {"csrf_token": csrf_token(admin, f"/admin/quarantine/{entry.id}"), "action": "resubmit",
            f"cell-{raw.index('类别')}": "盗窃", f"cell-{raw.index('电话')}": "",
            f"cell-{raw.index('地址')}": "织里镇吴兴大道1号"}
    page = admin.post(f"/admin/quarantine/{entry.id}", data=form).get_data(as_text=True)
    assert 'data-ok="yes"' in page
    stored = _incidents(engine)["N1"]
    assert (stored.caller_phone, stored.address, stored.category) == ("13812345678", "织里镇吴兴大道1号", "刑事")


def test_aint035_a_value_with_an_apostrophe_is_masked_in_reasons(site, admin):
    # repr() quotes O'Brien's value with ", which the old mask (looking for '...') let through whole
    engine = _engine(site)
    mapping = {**MAPPING, "fields": {**MAPPING["fields"], "caller_name": {"column": "报警人", "pattern": "^([^0-9]+)$"},
                                     "caller_phone": "电话"}}
    header = [*HEADER, "报警人", "电话"]
    bad = [*row("AP1"), "O'Brien 13812345678", "=O'Brien 13912345678"]
    page = _finish(admin, _upload(admin, csv_bytes([bad], header=header), mapping=dict(mapping, formulas="reject")))
    assert _count(page, "rejected") == 1
    (entry,) = _open_entries(engine)
    assert any("O'Brien 13812345678" in r for r in entry.reasons)  # stored as read, for the analyst and the CLI
    for path in ("/admin/quarantine", f"/admin/quarantine/{entry.id}", page):
        shown = page if path is page else admin.get(path).get_data(as_text=True)
        assert "Brien" not in shown and "13812345678" not in shown and "13912345678" not in shown, path
        assert "caller_name: &#39;***&#39; does not match the pattern" in shown
        assert "caller_phone: &#39;***&#39; starts with" in shown


def test_aint036_parties_with_a_line_break_do_not_break_the_quarantine(site, admin):
    engine = _engine(site)
    header = ["案件号", "登记时间", "纠纷类型", "当事人", "信用代码"]
    mapping = {"kind": "disputes", "source": "mediation", "fields": {
        "source_id": "案件号", "reported_at": {"column": "登记时间", "format": "%Y-%m-%d %H:%M"},
        "dispute_type": {"column": "纠纷类型", "map": {"欠薪": "劳资"}}, "parties": "当事人", "enterprise": "信用代码"}}
    data = csv_bytes([["LB1", "2025-01-05 09:00", "走私", "王建国\n李秀英", CODES[0]],
                      ["LB2", "2025-01-05 10:00", "走私", "张伟\r\n湖州某某服装厂（店主赵强）", CODES[0]]],
                     header=header)
    _finish(admin, _upload(admin, data, kind="disputes", mapping=mapping))
    first, second = intake.list_quarantine(engine, kind="disputes")
    paths = ("/admin/quarantine", "/admin/quarantine?kind=disputes", f"/admin/quarantine/{first.id}",
             f"/admin/quarantine/{second.id}")
    for path in paths:
        answer = admin.get(path)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200, path
        for name in ("建国", "秀英", "张伟", "赵强"):
            assert name not in page, (path, name)
    assert "王**；李**" in admin.get(f"/admin/quarantine/{first.id}").get_data(as_text=True)
    assert "湖州某某服装厂" in admin.get(f"/admin/quarantine/{second.id}").get_data(as_text=True)


def test_aint037_free_text_cells_and_reasons_are_scrubbed(site, admin):
    engine = _engine(site)
    id_number = "330502199001011236"  # a valid 身份证号 (GB 11643 check digit 6), not anyone's
    summary = f"王建国报警称其手机13812345678被盗，身份证{id_number}，车牌浙E12345"
    mapping = {**MAPPING, "fields": {**MAPPING["fields"], "caller_name": "报警人"}}
    bad = [*row("FT1", category="13912345678", summary=summary), "王建国"]
    _finish(admin, _upload(admin, csv_bytes([bad], header=[*HEADER, "报警人"]), mapping=mapping))
    (entry,) = _open_entries(engine)
    for path in ("/admin/quarantine", f"/admin/quarantine/{entry.id}"):
        page = admin.get(path).get_data(as_text=True)
        for value in ("王建国", "13812345678", id_number, "浙E12345", "13912345678"):
            assert value not in page, (path, value)
        assert "王**报警称其手机138****5678被盗" in page
        assert "category: &#39;139****5678&#39; is not in the mapping" in page
    raw = list(entry.raw)
    page = admin.get(f"/admin/quarantine/{entry.id}").get_data(as_text=True)
    assert f'name="cell-{raw.index("摘要")}" value=""' in page  # a scrubbed cell is typed over, never posted back
    form = {"csrf_token": csrf_token(admin, f"/admin/quarantine/{entry.id}"), "action": "resubmit",
            **{f"cell-{i}": v for i, v in re.findall(r'name="cell-(\d+)" value="([^"]*)"', page)},
            f"cell-{raw.index('类别')}": "盗窃"}
    assert 'data-ok="yes"' in admin.post(f"/admin/quarantine/{entry.id}", data=form).get_data(as_text=True)
    stored = _incidents(engine)["FT1"]
    assert (stored.summary, stored.caller_name) == (summary, "王建国")  # kept as imported, masked only when shown


@given(value=st.text(alphabet="王建国李0123456789'\"\\… ab", min_size=1, max_size=90),
       field_name=st.sampled_from(sorted(intake_views.PERSONAL)),
       tail=st.sampled_from([" does not match the pattern '^x$'",
                             " is not in the mapping (no map entry, rule or default)",
                             " starts with '=': a spreadsheet would run it as a formula (formulas: reject)"]))
@settings(max_examples=300, deadline=None)
def test_aint038_mask_reason_never_shows_a_personal_value_whatever_its_quotes(value, field_name, tail):
    from data.intake.values import clip

    masked = intake_views.mask_reason(f"{field_name}: {clip(value)}{tail}")
    assert not set(masked) & (set(value) & set("王建国李0123456789")), masked
    assert masked.startswith(f"{field_name}: '***'")


def test_aint034_quarantine_paging_and_filters(site, admin):
    engine = _engine(site)
    data = csv_bytes([row(f"S{i:03d}", category="走私") for i in range(admin_intake.PAGE_SIZE + 5)])
    _finish(admin, _upload(admin, data))
    page = admin.get("/admin/quarantine").get_data(as_text=True)
    assert page.count('<tr data-entry="') == admin_intake.PAGE_SIZE and 'id="quarantine-next"' in page
    second = admin.get("/admin/quarantine?page=2").get_data(as_text=True)
    assert second.count('<tr data-entry="') == 5
    assert admin.get("/admin/quarantine?kind=hazards").get_data(as_text=True).count('<tr data-entry="') == 0
    with engine.connect() as conn:
        import_id = conn.execute(select(QuarantineRow.import_id)).first()[0]
    assert f'href="/admin/quarantine?import={import_id}"' in admin.get("/admin/imports").get_data(as_text=True)
    assert admin.get(f"/admin/quarantine?import={import_id + 1}").get_data(as_text=True).count('<tr data-entry="') == 0
    assert admin.get("/admin/quarantine/999999").status_code == 404


# --- PostgreSQL ----------------------------------------------------------------------------------------------

def test_aint040_upload_and_quarantine_on_postgresql(pg_database_url, tmp_path):
    stale = db.make_engine(pg_database_url)
    db.drop_schema(stale)  # whatever another test of this session left there
    stale.dispose()
    server = _make_app(pg_database_url, tmp_path)
    engine = db.engine_of(server)
    try:
        client = server.test_client()
        login_client(client, "admin")
        data = csv_bytes([row("PG1", code=CODES[1]), row("PG2", when="2025-02-30 10:00:00"),
                          row("PG3", category="车祸"), row("PG4", code=credit_code("91330502MA2B3C4D8"))])
        page = _finish(client, _upload(client, data))
        assert _counts(page) == {"rows": 4, "accepted": 2, "duplicates": 0, "rejected": 2, "quarantined": 2,
                                 "flagged": 0}
        assert sorted(_incidents(engine)) == ["PG1", "PG3"]
        before = snapshot(engine)
        again = _finish(client, _upload(client, data))
        assert _count(again, "duplicates") == 2 and snapshot(engine) == before
        entry = _open_entries(engine)[0]
        index = list(entry.raw).index("接警时间")
        form = {"csrf_token": csrf_token(client, f"/admin/quarantine/{entry.id}"), "action": "resubmit",
                f"cell-{index}": "2025-02-28 10:00:00"}
        assert 'data-ok="yes"' in client.post(f"/admin/quarantine/{entry.id}", data=form).get_data(as_text=True)
        assert "PG2" in _incidents(engine)
        assert len(_audit(engine)) == 3
    finally:
        db.drop_schema(engine)
        engine.dispose()


def test_aint090_the_pages_load_the_importer_only_when_used():
    # the importer costs every worker 150-250 ms and 12 MB at start-up: the pages and the CLI load it on first use
    assert admin_intake.KINDS == intake.KINDS
    probe = ("import sys, app; app.create_app({'EQIAN_DATABASE_URL': 'sqlite://'}); "
             "print(sorted(m for m in sys.modules if m.startswith('data.intake')))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True).stdout.strip().splitlines()[-1]
    assert out == "[]"
    assert admin_intake._intake() is intake and intake.runner.spawn  # and it is there when wanted


def test_aint050_reference_data_through_the_upload_page(site, admin):
    # the sector table and the registry go through the same upload, child process and run page as events
    sectors = "name,name_en,industry_codes\n服装制造,Garments,C18\n批发零售,Trade,F\n".encode()
    page = _finish(admin, _upload(admin, sectors, "sectors.csv", kind="sectors", mapping=None))
    assert _status(page) == "done" and 'data-reference="1"' in page, page
    assert (_count(page, "rows"), _count(page, "inserted"), _count(page, "rejected")) == (2, 2, 0)
    again = _finish(admin, _upload(admin, sectors, "sectors.csv", kind="sectors", mapping=None))
    assert (_count(again, "inserted"), _count(again, "unchanged-rows")) == (0, 2)
    assert 'id="run-unchanged"' in again  # 没有新数据：数据库未改动
    lat, lon = INSIDE
    body = ("credit_code,name,sector,workers,address,lat,lon\n" + f"{CODES[0]},企业1,C1811,12,示例路1号,{lat},{lon}\n"
            + f"12345,坏代码,C1811,1,示例路2号,{lat},{lon}\n")
    registry = _finish(admin, _upload(admin, body.encode(), "registry.csv", kind="enterprises", mapping=None))
    assert (_count(registry, "updated"), _count(registry, "rejected")) == (1, 1), registry  # make_town has CODES[0]
    assert "名录数据被拒绝的行不进入待修正数据" in registry and "safety index" in registry
    assert intake.count_quarantine(_engine(site)) == 0

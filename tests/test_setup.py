"""``/admin/setup`` (data/screens/setup.py) and the import templates (data/intake/templates.py).

The template tests are generated from ``templates.TEMPLATES``: every import kind's template, read through its own
example mapping, imports on a jurisdiction built from the earlier kinds' templates, so a kind added without a
working template fails here by itself.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import openpyxl
import pytest
import yaml
from auth_support import ensure_accounts, login_client
from intake_support import credit_code
from sqlalchemy import func, select

import app as app_module
from data import intake
from data.core import db
from data.core.schema import Enterprise
from data.core.scope import Unit
from data.intake import boundaries, templates
from data.intake.mapping import TARGETS
from data.screens import setup
from data.screens.wall import wall_frame
from layouts import review as review_layout
from layouts import wall as wall_layout

NOW = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
ORDER = ("sectors", "network_classes", "parks", "enterprises", "teams", "incidents", "disputes", "hazards")


def _station(engine, tmp_path) -> None:
    square = [[[120.20, 30.80], [120.25, 30.80], [120.25, 30.85], [120.20, 30.85], [120.20, 30.80]]]
    feature = {"type": "Feature", "properties": {"code": templates.EXAMPLE_STATION, "name": "示例派出所"},
               "geometry": {"type": "Polygon", "coordinates": square}}
    collection = {"type": "FeatureCollection", "features": [feature]}
    path = tmp_path / "station.geojson"
    path.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    with engine.begin() as conn:
        assert boundaries.import_boundaries(conn, path, "code", "name").stored


def _import_template(engine, kind: str, fmt: str):
    body = templates.template_csv(kind) if fmt == "csv" else templates.template_xlsx(kind)
    mapping = yaml.safe_load(templates.example_mapping_yaml(kind))
    return intake.import_any(engine, kind, body, mapping, filename=f"t.{fmt}", now=NOW)


def test_set001_every_field_of_every_kind_has_a_template_column():
    assert set(templates.kinds()) == set(TARGETS) == set(ORDER)
    for kind in ORDER:
        assert [c.field for c in templates.TEMPLATES[kind]] == list(dict.fromkeys(
            c.field for c in templates.TEMPLATES[kind]))  # each once
        assert {c.field for c in templates.TEMPLATES[kind]} == set(TARGETS[kind]), kind


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("kind", ORDER)
def test_set002_each_template_imports_with_its_example_mapping(engine, tmp_path, kind, fmt):
    _station(engine, tmp_path)
    for earlier in ORDER[:ORDER.index(kind)]:
        report = _import_template(engine, earlier, "csv")
        assert report.ok and report.rejected == 0, report.lines()
    report = _import_template(engine, kind, fmt)
    assert report.ok and report.rejected == 0 and report.accepted == 1, report.lines()
    assert not report.flagged or kind == "enterprises" and report.flags == {}, report.lines()


def test_set003_the_templates_keep_chinese_headers_and_text_cells():
    raw = templates.template_csv("enterprises")
    assert raw.startswith(b"\xef\xbb\xbf") and "统一社会信用代码".encode() in raw
    sheet = openpyxl.load_workbook(io.BytesIO(templates.template_xlsx("enterprises"))).active
    assert sheet.cell(1, 1).value == "统一社会信用代码" and sheet.cell(2, 1).value == templates.EXAMPLE_CREDIT_CODE
    assert sheet.cell(2, 1).number_format == "@"


def test_set004_a_template_is_the_same_bytes_whatever_the_clock_says(monkeypatch):
    import datetime as real  # noqa: PLC0415

    import openpyxl.writer.excel as writer  # noqa: PLC0415 - its clock stamps the saved workbook

    def saved_at(moment):
        fake = type("clock", (), {"datetime": type("dt", (), {"now": staticmethod(lambda tz=None: moment)}),
                                  "timezone": real.timezone})
        monkeypatch.setattr(writer, "datetime", fake)
        return templates.template_xlsx("enterprises")

    assert saved_at(real.datetime(2026, 1, 1, 8, 0, 1)) == saved_at(real.datetime(2027, 6, 30, 23, 59, 58))


def test_set010_an_empty_database_says_what_is_missing_and_where_it_is_fixed(engine):
    with engine.connect() as conn:
        checks = {c.key: c for c in setup.checks(conn, date(2026, 11, 30))}
        assert setup.missing_reference(conn) == "stations"
    assert checks["stations"].state == "missing" and checks["stations"].detail == "尚未导入派出所辖区"
    assert checks["stations"].fix == "/admin/stations"
    assert {k for k, c in checks.items() if c.state == "missing"} == {
        "organisation", "stations", "sectors", "enterprises", "programme", "events", "index"}


def test_set011_a_half_configured_database_counts_what_is_there_and_what_is_not(engine, tmp_path):
    _station(engine, tmp_path)
    for kind in ORDER[:ORDER.index("enterprises") + 1]:
        _import_template(engine, kind, "csv")
    body = ("统一社会信用代码,企业名称,行业代码,地址,派出所\n"
            f"{credit_code('91330502MA2B3C4D6')},无人数企业,C1811,示例路2号,S01\n").encode()
    mapping = {"source": "bureau-enterprises", "fields": {"credit_code": "统一社会信用代码", "name": "企业名称",
                                                          "sector": "行业代码", "address": "地址", "station": "派出所"}}
    assert intake.import_registry(engine, "enterprises", body, mapping, now=NOW).inserted == 1
    with engine.connect() as conn:
        checks = {c.key: c for c in setup.checks(conn, date(2026, 11, 30))}
        assert conn.execute(select(func.count()).select_from(Enterprise)).scalar_one() == 2
        assert setup.missing_reference(conn) is None
    assert checks["stations"].state == "ok" and checks["stations"].count == "1 个派出所"
    assert checks["enterprises"].state == "partial" and checks["enterprises"].count == "2 家企业"
    assert checks["enterprises"].detail == ("1 家没有从业人数（平安指数用同行业中位数）；"
                                            "1 家没有坐标（用园区或派出所的位置）")
    assert checks["events"].state == "missing"


def test_set020_the_page_and_its_downloads_are_for_admins(tmp_path):
    server = app_module.create_app({"EQIAN_DATABASE_URL": f"sqlite:///{tmp_path / 'setup.db'}", "EQIAN_DEMO": False,
                                    "EQIAN_SIMULATE": False})
    ensure_accounts(server)
    leader, admin = server.test_client(), server.test_client()
    login_client(leader, "leader")
    login_client(admin, "admin")
    assert leader.get("/admin/setup").status_code == 403
    assert leader.get("/admin/setup/template/enterprises.csv").status_code == 403
    page = admin.get("/admin/setup").get_data(as_text=True)
    assert 'data-check="stations" data-state="missing"' in page and "尚未导入派出所辖区" in page
    assert 'href="/admin/stations"' in page and "开通向导" in page
    for kind in ORDER:
        for fmt in ("csv", "xlsx", "yaml"):
            assert f'href="/admin/setup/template/{kind}.{fmt}"' in page
            response = admin.get(f"/admin/setup/template/{kind}.{fmt}")
            assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
            assert response.data == {"csv": templates.template_csv, "xlsx": templates.template_xlsx,
                                     "yaml": templates.example_mapping_yaml}[fmt](kind)
    assert admin.get("/admin/setup/template/nothing.csv").status_code == 404
    assert admin.get("/admin/setup/template/sectors.exe").status_code == 404
    db.engine_of(server).dispose()


def test_set012_the_wall_and_the_review_say_what_is_missing_instead_of_empty_panels(engine, tmp_path):
    with engine.connect() as conn:
        empty = wall_frame(conn, NOW, Unit("town"))
    assert empty.setup_gap == "stations"
    badge = wall_layout.data_age_badge(empty.data_age, "zh", empty.setup_gap)
    assert "尚未导入派出所辖区" in badge.children and "wall-setup-gap" in badge.className
    assert "No station boundaries" in wall_layout.data_age_badge(None, "en", "stations").children
    assert "尚未导入派出所辖区" in str(review_layout.layout("zh", [], [], False, setup_gap="stations"))
    _station(engine, tmp_path)
    with engine.connect() as conn:
        assert wall_frame(conn, NOW, Unit("town")).setup_gap == "enterprises"
    assert "尚未导入" not in str(review_layout.layout("zh", [], [], False, setup_gap=None))

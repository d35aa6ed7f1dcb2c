"""The reference-data pages for admins: ``/admin/setup`` and ``/admin/stations``.

``/admin/setup`` (开通向导) is what a bureau has set up and what is missing, step by step, with counts and the link
that fixes each (data/screens/setup.py), and the import templates of every kind with Chinese headers, as CSV,
XLSX and an example mapping that reads them (data/intake/templates.py), at
``/admin/setup/template/<kind>.<csv|xlsx|yaml>``.

``/admin/stations``: the stations and their boundaries.

Upload a GeoJSON, KML or zipped shapefile, name the fields that hold each station's code and name, say the
coordinate system when the file names none and whether its longitudes and latitudes are GCJ-02, and import it
(data/intake/boundaries.py: all or nothing, a dry run first if you like). The report names every rejected row
by line and reason, every repair and merge, and the overlaps and gaps between stations with their area. A
boundary file is small (654 London wards read in 0.2 s), so it is imported in the request; the upload is capped
at ``UPLOAD_LIMIT``. Every import, dry runs and refusals too, is written to the audit log (action ``import``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from data.core import db
from data.core.timeutil import local_today
from data.screens import setup
from web.admin import _form_error, _local
from web.admin_intake import SelectChoice
from web.gate import client_ip, current_principal, request_lang, role_label

bp = Blueprint("admin_reference", __name__, url_prefix="/admin")
UPLOAD_LIMIT = 64 * 1024 * 1024  # a province's 2,000 station polygons fit in a few MB
SUFFIXES = ("zip", "kml", "geojson", "json")
COORDS = (SelectChoice("wgs84", "WGS-84 / 经纬度"), SelectChoice("cgcs2000", "CGCS2000"),
          SelectChoice("gcj02", "GCJ-02（高德、腾讯等地图）"))


class StationsForm(FlaskForm):
    file = FileField(validators=[FileRequired("请选择辖区文件"),
                                 FileAllowed(list(SUFFIXES), "只接受 GeoJSON、KML 或压缩的 Shapefile（.zip）")])
    code_field = StringField(validators=[DataRequired(), Length(max=64)])
    name_field = StringField(validators=[DataRequired(), Length(max=64)])
    crs = StringField(validators=[Optional(), Length(max=64)])
    coords = SelectField(choices=list(COORDS), default="wgs84")
    dry_run = BooleanField(default=True)


def _boundaries():
    """The boundary importer, loaded on first use: GDAL and pyproj cost the app's start-up 0.4 s otherwise."""
    from data.intake import boundaries  # noqa: PLC0415

    return boundaries


@bp.route("/stations", methods=["GET", "POST"])
def stations_page():
    form, report, message, status = StationsForm(), None, "", 200
    if request.method == "POST":
        if form.validate_on_submit():
            report, message, status = _import(form)
        else:
            message, status = _form_error(form), 400
    with db.current_engine().connect() as conn:
        stations = _boundaries().stored_stations(conn)
    return render_template("admin_stations.html", lang=request_lang(), role_label=role_label, local=_local,
                           form=form, report=report, message=message, stations=stations,
                           limit_mb=UPLOAD_LIMIT // (1024 * 1024)), status


def _import(form: StationsForm):
    """Import the uploaded file; (report lines or None, message, status)."""
    boundaries = _boundaries()
    upload = form.file.data
    name = Path(upload.filename or "upload").name[:120]
    suffix = Path(name).suffix.lower()
    body = upload.read(UPLOAD_LIMIT + 1)
    if len(body) > UPLOAD_LIMIT:
        return None, f"文件过大（上限 {UPLOAD_LIMIT // (1024 * 1024)} MB）。", 413
    with tempfile.TemporaryDirectory(prefix="eqian-stations-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(body)
        try:
            with db.current_engine().begin() as conn:
                report = boundaries.import_boundaries(conn, path, form.code_field.data.strip(),
                                                      form.name_field.data.strip(), form.crs.data or None,
                                                      form.coords.data, bool(form.dry_run.data))
                report.file = name
                boundaries.record_audit(conn, report, current_principal(), ip=client_ip())
        except boundaries.BoundaryError as exc:
            return None, str(exc).replace(path.name, name), 400
    return report.lines(), "", 200 if report.ok else 400


TEMPLATE_FORMATS = {"csv": "text/csv; charset=utf-8", "yaml": "application/yaml; charset=utf-8",
                    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _templates():
    """The import templates, loaded on first use (they load the importer's mapping module)."""
    from data.intake import templates  # noqa: PLC0415

    return templates


@bp.route("/setup")
def setup_page():
    templates = _templates()
    with db.current_engine().connect() as conn:
        checks = setup.checks(conn, local_today())
    return render_template("admin_setup.html", lang=request_lang(), role_label=role_label, local=_local,
                           checks=checks, kinds=templates.kinds(), kind_names=templates.KIND_NAMES,
                           filename=templates.filename)


@bp.route("/setup/template/<kind>.<fmt>")
def setup_template(kind: str, fmt: str):
    templates = _templates()
    if kind not in templates.TEMPLATES or fmt not in TEMPLATE_FORMATS:
        abort(404)
    body = {"csv": templates.template_csv, "xlsx": templates.template_xlsx,
            "yaml": templates.example_mapping_yaml}[fmt](kind)
    name = templates.filename(kind, fmt)
    return Response(body, mimetype=TEMPLATE_FORMATS[fmt], headers={
        "Content-Disposition": f"attachment; filename=template.{fmt}; filename*=UTF-8''{_quote(name)}"})


def _quote(name: str) -> str:
    from urllib.parse import quote  # noqa: PLC0415

    return quote(name)


def register(server) -> None:
    server.register_blueprint(bp)

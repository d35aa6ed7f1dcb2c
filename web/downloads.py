"""File downloads over HTTP (a Flask blueprint): the report, and every table and chart of the review page, the
enterprise profile and the wall.

Thin: read the query string, load the page data the entry needs (data/ through data.service's caches), let
exports/registry.py make the DataFrame or figure, and send the bytes with a Chinese file name
(``Content-Disposition: attachment; filename*=UTF-8''…``, RFC 6266 / 5987) and ``Cache-Control: no-store``.

- ``/export/report.pdf|docx?period=2026-10&unit=织南`` (or the review page's own query: ``period=ytd&station=4``)
- ``/export/table/<name>.csv|xlsx`` and ``/export/chart/<name>.png|svg``, ``<name>`` from the registry
  (exports/registry.py TABLES and CHARTS), the query as the entry's source reads it:
  review and index entries the review filters (``period=28d&station=2[&row=incidents:刑事]``), enterprise
  entries ``enterprise=<id>``, wall entries nothing (the town) or ``station=<id>``.

A malformed query answers 400 with the reason, an unknown name 404 (so does an unknown enterprise or station,
or index views before any index is stored), a database outage 503, and so does a chart or report that cannot be
drawn, its body saying why (a missing Chromium or Chinese font names the command that installs it). Personal
data is masked in every download unless the logged-in user's role may see it (data/access/roles.py: the analyst),
and then the view is in the audit log; reports likewise.
"""

from __future__ import annotations

import io
import logging
from datetime import date
from urllib.parse import parse_qs, quote

from flask import Blueprint, Response, abort, request, send_file
from sqlalchemy.exc import SQLAlchemyError

from data import service
from data.access.roles import MASKED
from data.core import db, units
from data.core.scope import TOWN, Unit
from data.core.timeutil import local_today, now_utc
from data.screens import enterprise
from data.screens.report import ReportError, build_report, overdue_list, request_from_query
from data.screens.review import FilterError, baseline_year_of, from_query
from exports import images as figures_export
from exports import registry as export_layout
from exports import report as report_layout
from exports import tables as exports
from web.gate import current_principal
from web.inputs import parse_id

log = logging.getLogger(__name__)
bp = Blueprint("downloads", __name__, url_prefix="/export")

MIMETYPES = {  # werkzeug adds "; charset=utf-8" to text types itself (naming it here sent it twice)
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "png": "image/png",
    "svg": "image/svg+xml",
}
DEFAULT_ROW = "incidents:total"


def content_disposition(name: str, fallback: str) -> str:
    """``attachment`` with an ASCII ``filename`` for old clients and the real one in ``filename*`` (RFC 5987)."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _send(body: bytes, name: str, fmt: str, fallback: str) -> Response:
    response = send_file(io.BytesIO(body), mimetype=MIMETYPES[fmt], conditional=False, etag=False, max_age=0)
    fallback_name = f"{fallback}_{local_today().isoformat()}.{fmt}"
    response.headers["Content-Disposition"] = content_disposition(name, fallback_name)
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _bad_request(message: str) -> Response:
    return Response(message + "\n", status=400, mimetype="text/plain")


def _unavailable(exc: Exception) -> Response:
    log.warning("download failed: %s", exc.__class__.__name__)
    return Response("数据库暂时无法连接，请稍后再试。\n", status=503, mimetype="text/plain")


def _export_failed(what: str, exc: Exception) -> Response:
    """503 with the reason (a missing Chromium or Chinese font says what to install), not only "try again"."""
    log.warning("%s: %s", what, exc)
    return Response(f"{what}：{exc}\n", status=503, mimetype="text/plain")


class NotFound(LookupError):
    """What the query names does not exist (an enterprise, a station, an index not yet computed): 404."""


def _params() -> dict[str, str]:
    """The query string's parameters, the last value of each."""
    return {k: v[-1] for k, v in parse_qs(request.query_string.decode()).items()}


def _row() -> str:
    return _params().get("row", DEFAULT_ROW)


def _bundle():
    """The review state the query string asks for (the same cached computation the page draws)."""
    filters = from_query(request.query_string.decode())
    return service.review(filters.to_query(), _row(), local_today().isoformat())


def _positive_id(params: dict[str, str], key: str) -> int | None:
    """An id parameter (None when absent); not a positive number: FilterError (400)."""
    if key not in params:
        return None
    value = parse_id(params[key])
    if value is None:
        raise FilterError(f"{key}={params[key][:40]!r} is not an id (a positive number)")
    return value


# --- the sources of the registry (exports/registry.py): the page data behind each download ------------------

def _review_source(today: date):
    bundle = _bundle()
    with db.current_engine().connect() as conn:
        baseline = baseline_year_of(conn, today)
    org = service.organisation()
    unit, short = export_layout.unit_names(bundle, org)
    return export_layout.Download("review", bundle, unit, short, today, baseline=baseline, org=org)


def _overdue_source(today: date):
    bundle = _bundle()
    with db.current_engine().connect() as conn:
        viewer = _viewer()
        rows = overdue_list(conn, today, bundle.filters.unit(), viewer)
    org = service.organisation()
    unit, short = export_layout.unit_names(bundle, org)
    return export_layout.Download("overdue", rows, unit, short, today, unmasked=bool(rows) and viewer.may("unmasked"),
                                  org=org)


def _index_source(today: date):
    """The review page's safety-index views for the filters' unit and sector (as the page draws them)."""
    scope = from_query(request.query_string.decode()).scope().to_query()
    views = service.index_views(scope, today.isoformat())
    if views is None:
        raise NotFound("尚无平安指数（指数按月计算，请先运行指数计算）。")
    org = service.organisation()
    unit, short = export_layout.index_unit_names(views, org)
    return export_layout.Download("index", views, unit, short, today, org=org)


def _enterprise_source(today: date):
    """One enterprise's profile and every event of it; personal data as the user's role may see it."""
    enterprise_id = _positive_id(_params(), "enterprise")
    if enterprise_id is None:
        raise FilterError("enterprise=<id> is required")
    with db.current_engine().connect() as conn:
        profile = enterprise.profile(conn, enterprise_id, today, viewer=_viewer())
        if profile is None:
            raise NotFound(f"无此企业：enterprise={enterprise_id}")
        plain = profile.unmasked  # the profile asked access.reveal, which audited the view
        data = export_layout.EnterpriseData(
            profile, enterprise.incidents(conn, enterprise_id, limit=None, unmasked=plain),
            enterprise.disputes(conn, enterprise_id, limit=None, unmasked=plain),
            enterprise.hazards(conn, enterprise_id, today, limit=None, unmasked=plain))
    name = profile.identity.name
    return export_layout.Download("enterprise", data, name, name, today, org=service.organisation())


def _wall_source(_today: date):
    """The wall's numbers for the town or ``station=<id>``: the frame the wall itself draws this minute."""
    station = _positive_id(_params(), "station")
    name, unit = None, TOWN if station is None else Unit("station", station)
    if station is not None:
        with db.current_engine().connect() as conn:
            name = units.station_name(conn, station)
        if name is None:
            raise NotFound(f"无此派出所：station={station}")
    minute = now_utc().replace(second=0, microsecond=0).isoformat()
    numbers = service.wall(minute, *unit.cache_key).numbers
    org = service.organisation()
    unit, short = export_layout.wall_unit_names(name, org)
    return export_layout.Download("wall", numbers, unit, short, numbers.today, org=org)


def _viewer():
    """The logged-in user (the gate has refused everyone else), for the data layer's masking."""
    return current_principal() or MASKED


SOURCES = {"review": _review_source, "overdue": _overdue_source, "index": _index_source,
           "enterprise": _enterprise_source, "wall": _wall_source}


def _load(source: str):
    """(the Download, None) or (None, the error response) for an entry's source and this request."""
    try:
        return SOURCES[source](local_today()), None
    except FilterError as exc:
        return None, _bad_request(str(exc))
    except NotFound as exc:
        return None, Response(f"{exc}\n", status=404, mimetype="text/plain")
    except SQLAlchemyError as exc:
        return None, _unavailable(exc)


@bp.get("/report.<any(pdf, docx):fmt>")
def report(fmt: str):
    """The report of a period and unit, as PDF or DOCX."""
    today = local_today()
    try:
        with db.current_engine().connect() as conn:
            period, unit = request_from_query(conn, request.query_string.decode(), today)
            data = build_report(conn, period, unit, today, viewer=_viewer())
    except ReportError as exc:
        return _bad_request(str(exc))
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    try:
        body = report_layout.render(data, fmt)
    except (figures_export.ExportError, report_layout.ReportFontMissing) as exc:
        return _export_failed("报告生成失败", exc)
    return _send(body, exports.filename(unit.short, f"平安建设通报_{period.title}", today, fmt), fmt, "eqian_report")


@bp.get("/table/<name>.<any(csv, xlsx):fmt>")
def table(name: str, fmt: str):
    """A table of the registry, with its filters written in."""
    spec = export_layout.TABLES.get(name)
    if spec is None:
        abort(404)
    download, error = _load(spec.source)
    if error is not None:
        return error
    subject = export_layout.subject_of(spec, download)
    frame = spec.frame(download)
    lines = export_layout.lines_of(spec, download, subject)
    title = export_layout.title_of(download, subject)
    body = exports.to_csv(frame, lines, title) if fmt == "csv" else exports.to_xlsx(frame, lines, title)
    return _send(body, exports.filename(download.short, subject, download.today, fmt), fmt, f"eqian_{name}")


@bp.get("/chart/<name>.<any(png, svg):fmt>")
def chart(name: str, fmt: str):
    """A chart of the registry as a print-resolution PNG or an SVG (text kept as text)."""
    spec = export_layout.CHARTS.get(name)
    if spec is None:
        abort(404)
    download, error = _load(spec.source)
    if error is not None:
        return error
    figure = spec.figure(download)
    try:
        images = figures_export.render_images({name: figure}, fmt, sizes={name: spec.size})
    except figures_export.ExportError as exc:
        return _export_failed("图表导出失败", exc)
    subject = export_layout.subject_of(spec, download)
    return _send(images[name], exports.filename(download.short, subject, download.today, fmt), fmt, f"eqian_{name}")


@bp.get("/<path:_rest>")
def unknown(_rest: str):
    """Any other address under /export (an unknown format, a mistyped path) is not found, not the app's page."""
    abort(404)


def register(server) -> None:
    """Mount the download routes on the Flask server."""
    server.register_blueprint(bp)

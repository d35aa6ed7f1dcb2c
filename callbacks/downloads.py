"""File downloads over HTTP (a Flask blueprint): the report, the review page's tables and its charts.

Thin: read the query string, call data/ and layouts/, send the bytes with a Chinese file name
(``Content-Disposition: attachment; filename*=UTF-8''…``, RFC 6266 / 5987) and ``Cache-Control: no-store``.

- ``/export/report.pdf|docx?period=2026-10&unit=织南`` (or the review page's own query: ``period=ytd&station=4``)
- ``/export/table/<book|drill|trend|festival|overdue>.csv|xlsx?<review filter query>[&row=incidents:刑事]``
- ``/export/chart/<trend|festival|drill>.png|svg?<review filter query>[&row=…]``

A malformed filter answers 400 with the reason, an unknown name 404, a database outage 503. Personal data
is masked in every download: the HTTP side has no roles yet, so it never asks for unmasked data.
"""

from __future__ import annotations

import io
import logging
from urllib.parse import parse_qs, quote

from flask import Blueprint, Response, abort, request, send_file
from sqlalchemy.exc import SQLAlchemyError

from data import db, exports, figures_export, service
from data.report import ReportError, build_report, overdue_list, request_from_query
from data.review import FilterError, baseline_year_of, from_query
from data.timeutil import local_today

log = logging.getLogger(__name__)
bp = Blueprint("downloads", __name__, url_prefix="/export")

MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "csv": "text/csv; charset=utf-8",
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
    return Response(message + "\n", status=400, mimetype="text/plain; charset=utf-8")


def _unavailable(exc: Exception) -> Response:
    log.warning("download failed: %s", exc.__class__.__name__)
    return Response("数据库暂时无法连接，请稍后再试。\n", status=503, mimetype="text/plain; charset=utf-8")


def _row() -> str:
    return {k: v[-1] for k, v in parse_qs(request.query_string.decode()).items()}.get("row", DEFAULT_ROW)


def _bundle():
    """The review state the query string asks for (the same cached computation the page draws)."""
    filters = from_query(request.query_string.decode())
    return service.review(filters.to_query(), _row(), local_today().isoformat())


@bp.get("/report.<any(pdf, docx):fmt>")
def report(fmt: str):
    """The report of a period and unit, as PDF or DOCX."""
    from layouts import report as report_layout  # noqa: PLC0415 - reportlab and python-docx load on demand

    today = local_today()
    try:
        with db.current_engine().connect() as conn:
            period, unit = request_from_query(conn, request.query_string.decode(), today)
            data = build_report(conn, period, unit, today)
    except ReportError as exc:
        return _bad_request(str(exc))
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    try:
        body = report_layout.render(data, fmt)
    except figures_export.ExportError as exc:
        log.warning("report charts failed: %s", exc)
        return Response("报告图表生成失败，请稍后再试。\n", status=503, mimetype="text/plain; charset=utf-8")
    return _send(body, exports.filename(unit.short, f"平安建设通报_{period.title}", today, fmt), fmt, "eqian_report")


@bp.get("/table/<name>.<any(csv, xlsx):fmt>")
def table(name: str, fmt: str):
    """A table of the review page (or the overdue hazards of its unit) with the filters written in."""
    from layouts import exports as export_layout  # noqa: PLC0415

    if name not in export_layout.TABLES and name != "overdue":
        abort(404)
    today = local_today()
    try:
        bundle = _bundle()
        with db.current_engine().connect() as conn:
            baseline = baseline_year_of(conn, today)
            rows = overdue_list(conn, today, bundle.filters.unit()) if name == "overdue" else None
    except FilterError as exc:
        return _bad_request(str(exc))
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    _unit, short = export_layout.unit_names(bundle)
    if name == "overdue":
        subject, frame = export_layout.OVERDUE_SUBJECT, export_layout.overdue_frame(rows)
        lines = [("内容", subject), ("单位", _unit), ("截至", today.isoformat()),
                 ("个人信息", "已脱敏（地址仅到街道）")]
    else:
        spec = export_layout.TABLES[name]
        subject, frame = export_layout.table_subject(name, bundle), spec.frame(bundle)
        lines = export_layout.filter_lines(bundle, today, baseline, subject, spec.periods)
    title = f"织里公安 e企安365 · {_unit} · {subject}"
    body = exports.to_csv(frame, lines, title) if fmt == "csv" else exports.to_xlsx(frame, lines, title)
    return _send(body, exports.filename(short, subject, today, fmt), fmt, f"eqian_{name}")


@bp.get("/chart/<name>.<any(png, svg):fmt>")
def chart(name: str, fmt: str):
    """A chart of the review page as a print-resolution PNG or an SVG."""
    from layouts import exports as export_layout  # noqa: PLC0415

    if name not in export_layout.CHARTS:
        abort(404)
    try:
        bundle = _bundle()
    except FilterError as exc:
        return _bad_request(str(exc))
    except SQLAlchemyError as exc:
        return _unavailable(exc)
    spec = export_layout.CHARTS[name]
    figure = spec.figure(bundle)
    try:
        images = figures_export.render_images({name: figure}, fmt, sizes={name: spec.size})
    except figures_export.ExportError as exc:
        log.warning("chart export failed: %s", exc)
        return Response("图表导出失败，请稍后再试。\n", status=503, mimetype="text/plain; charset=utf-8")
    _unit, short = export_layout.unit_names(bundle)
    return _send(images[name], exports.filename(short, export_layout.chart_subject(name, bundle), local_today(), fmt),
                 fmt, f"eqian_{name}")


def register(server) -> None:
    """Mount the download routes on the Flask server."""
    server.register_blueprint(bp)

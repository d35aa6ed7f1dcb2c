"""The data intake pages for admins (issue 8): upload a file to import, follow it, and work the quarantine.

- ``/admin/imports``: the upload form (a CSV/XLSX file; its kind; a mapping: an uploaded YAML/JSON file, the
  mapping of an earlier import, or none for our own layout; dry run), the recent runs and the ``imports`` table.
- ``/admin/imports/<run>``: the run's progress, reloading itself every 2 s (a ``Refresh`` header: no script),
  then its report: counts, rejected rows with line and reasons (the first 200), or the file-level error.
- ``/admin/quarantine``: the open quarantined rows, paged, by kind or import; re-submit the selected rows.
- ``/admin/quarantine/<id>``: correct a row's cells and re-submit it; discard it.

A million rows take 65-95 s to import, past gunicorn's 60 s and nginx's proxy timeout, so the upload is saved
to disk and imported by a child process of its own (data/intake/runner.py: ``python -m data.intake.runner``,
with a memory limit), never in the web worker: CPU- or memory-bound work of an import cannot stall the walls
(issue 17). The request answers at once with a redirect to the run page. The child writes the run's state
(phase, bytes or rows done, the report when done) every ``HEARTBEAT_SECONDS`` to a JSON file in the run folder
(every worker of this host reads it) and to the shared cache (every host, when the cache is Redis), and the
audit entry at the end. A run whose state stops being written (its child was killed) shows as interrupted:
an import is one transaction, so nothing of it was stored, and it can simply be run again. One run at a time
per database.

Every import (dry runs and failures too), correction, re-submission and discard is written to the audit log
as action ``import``. The admin role has no ``unmasked`` permission (data/access/roles.py), so runs and
quarantined rows are shown masked and scrubbed (data/screens/intake_views.py); a masked cell can still be
replaced by typing a new value.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField

try:
    from wtforms import SelectChoice
except ImportError:  # WTForms before 3.3 takes (value, label) pairs
    def SelectChoice(value, label):  # noqa: N802
        return value, label

from data.access import audit
from data.access.roles import reveal
from data.core import db, vocab
from data.core.cache import cache
from data.screens import import_runs as intake_runs
from data.screens import intake_views
from web.admin import _form_error, _local
from web.gate import ConfirmForm, client_ip, current_principal, request_lang, role_label

log = logging.getLogger(__name__)
bp = Blueprint("admin_intake", __name__, url_prefix="/admin")

UPLOAD_LIMIT = 512 * 1024 * 1024  # MAX_CONTENT_LENGTH unless the app sets its own
MAPPING_LIMIT = 1024 * 1024
# = data.intake.KINDS (tested), without loading the importer: events, then reference data
KINDS = ("incidents", "disputes", "hazards", "sectors", "network_classes", "parks", "enterprises", "teams")
EVENT_KINDS = KINDS[:3]  # the quarantine's (reference rows that are refused are listed, not kept)
KIND_LABELS = vocab.IMPORT_KIND_NAMES
REPORT_LINES = 200  # rejected and flagged rows a run keeps and shows
PAGE_SIZE = 50
HEARTBEAT_SECONDS = 1.0  # how often the import child writes the run's state
MEMORY_MB = 3072  # the import child's address space (RLIMIT_AS) unless the app sets EQIAN_IMPORT_MEMORY_MB
MAX_ID = 2**63 - 1  # ids are BIGINT: larger numbers name nothing (and the drivers refuse them)
STALE_SECONDS = 60  # a running state not written for this long: its import process is gone
KEEP_SECONDS = 7 * 24 * 3600  # run states
KEEP_UPLOAD_SECONDS = 24 * 3600  # uploads an interrupted run left behind
RECENT_RUNS = 20
MAX_CELL = 10_000
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
RUNNING = ("queued", "running")
STORE_KEY = "eqian_admin_intake_store"


def _intake():
    """The importer package, loaded on first use: at start-up it would add 150-250 ms and 12 MB to every
    worker (shapely, re2, yaml, psycopg; measured with and without on 2026-12-07)."""
    from data import intake  # noqa: PLC0415
    from data.intake import runner  # noqa: PLC0415, F401 - sets intake.runner

    return intake



# -- where runs keep their state ------------------------------------------------------------------------------

class RunStore:
    """A run's state as a JSON file in ``folder`` (this host's workers) and in the cache (every host)."""

    def __init__(self, folder: Path, prefix: str):
        self.folder, self.prefix = folder, prefix  # made at the first upload
        self.children: dict[str, subprocess.Popen] = {}  # this worker's import children, by run

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _key(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    def upload_path(self, run_id: str, suffix: str = ".csv") -> Path:
        """Where an upload waits for its run; an XLSX must end in .xlsx (openpyxl goes by the name)."""
        self._ensure_folder()
        return self.folder / f"{run_id}{suffix}"

    def save(self, state: dict) -> None:
        """Write a state as the import child does (data.intake.runner.write_state); list a new run."""
        runner = _intake().runner
        runner.write_state(self.folder, self.prefix, state, cache)
        if state["status"] == "queued":
            try:
                ids = [state["run"], *[i for i in (cache.get(f"{self.prefix}:runs") or []) if i != state["run"]]]
                cache.set(f"{self.prefix}:runs", ids[:50], timeout=KEEP_SECONDS)
            except Exception as exc:  # noqa: BLE001 - the file is enough on this host
                log.warning("import run %s: not listed in the cache: %s", state["run"], exc)

    def load(self, run_id: str) -> dict | None:
        try:
            return json.loads((self.folder / f"{run_id}.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cache.get(self._key(run_id))

    def recent(self, limit: int = RECENT_RUNS) -> list[dict]:
        ids = {p.stem for p in self.folder.glob("*.json")}
        ids.update(cache.get(f"{self.prefix}:runs") or [])
        states = [s for s in (self.load(i) for i in ids if RUN_ID.match(i)) if s]
        return sorted(states, key=lambda s: s.get("started", 0), reverse=True)[:limit]

    def busy(self) -> dict | None:
        """A run of this database still going, if any."""
        return next((s for s in self.recent(50) if status_of(s) in RUNNING), None)

    def prune(self) -> None:
        now = time.time()
        for path in self.folder.glob("*"):
            keep = KEEP_SECONDS if path.suffix == ".json" else KEEP_UPLOAD_SECONDS
            try:
                if now - path.stat().st_mtime > keep:
                    path.unlink()
            except OSError:
                pass


def status_of(state: dict) -> str:
    """queued, running, done, failed (the file as a whole), error (a bug, a crash) or interrupted (no news)."""
    status = state.get("status", "error")
    if status in RUNNING and time.time() - state.get("updated", 0) > STALE_SECONDS:
        return "interrupted"
    return status


def _store() -> RunStore:
    return current_app.extensions[STORE_KEY]


def _default_folder(server) -> Path:
    """One folder per database (the temporary directory; systemd's PrivateTmp is shared by the workers)."""
    digest = hashlib.sha1(server.config["EQIAN_DATABASE_URL"].encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"eqian-imports-{digest}"


# -- running an import ----------------------------------------------------------------------------------------

def start_run(server, store: RunStore, state: dict, upload: Path, mapping, who) -> subprocess.Popen:
    """Import ``upload`` in a child process (data.intake.runner); a thread here waits for it to end."""
    runner = _intake().runner
    memory_mb = int(server.config.get("EQIAN_IMPORT_MEMORY_MB", MEMORY_MB) or 0)
    job = {"database_url": server.config["EQIAN_DATABASE_URL"], "cache_url": server.config.get("EQIAN_CACHE_URL"),
           "cache_timeout": server.config.get("EQIAN_CACHE_TIMEOUT"), "folder": str(store.folder),
           "prefix": store.prefix, "state": state, "upload": str(upload), "who": asdict(who),
           "user": who.audit_name, "mapping": None if mapping is None else json.loads(mapping.to_json()),
           "memory_mb": memory_mb, "heartbeat": HEARTBEAT_SECONDS, "report_lines": REPORT_LINES,
           "entry": server.config.get("EQIAN_IMPORT_ENTRY") or runner.DEFAULT_ENTRY}
    child = runner.spawn(job)
    store.children[state["run"]] = child
    threading.Thread(target=_watch, args=(server, store, job, child), name=f"import {state['run'][:8]} watch",
                     daemon=True).start()
    return child


def _watch(server, store: RunStore, job: dict, child: subprocess.Popen) -> None:
    """Wait for an import child; if it ended without its report (killed, crashed), write the error and audit it."""
    runner = _intake().runner
    code = child.wait()
    run_id = job["state"]["run"]
    Path(job["upload"]).unlink(missing_ok=True)
    final = runner.read_state(store.folder, run_id) or dict(job["state"])
    if final.get("status") not in RUNNING:
        store.children.pop(run_id, None)
        return
    final.update(status="error", finished=time.time(),
                 summary=f"import failed, nothing stored: {runner.exit_reason(code, job['memory_mb'])}")
    with server.app_context():
        runner.record_audit(db.engine_of(server), job["who"], final, None)
        try:
            store.save(final)
        except OSError as exc:
            log.warning("import run %s: state not written: %s", run_id, exc)
    store.children.pop(run_id, None)


# -- forms ----------------------------------------------------------------------------------------------------

class UploadForm(FlaskForm):
    file = FileField(validators=[FileRequired("请选择要导入的文件"),
                                 FileAllowed(["csv", "xlsx"], "只接受 CSV 或 XLSX 文件")])
    kind = SelectField(choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS])
    mapping_file = FileField(validators=[FileAllowed(["yaml", "yml", "json"], "映射文件须为 YAML 或 JSON")])
    previous = SelectField(choices=[SelectChoice("", "")])
    dry_run = BooleanField()


def _render(template: str, status: int = 200, lang: str | None = None, **values):
    return render_template(template, lang=lang or request_lang(), role_label=role_label, local=_local, when=_when,
                           kind_label=lambda k: KIND_LABELS.get(k, k), **values), status


def _when(epoch: float | None) -> str:
    return _local(datetime.fromtimestamp(epoch, UTC)) if epoch else "—"


def _message(status: int, message: str, back: str = "/admin/imports", lang: str | None = None):
    return _render("message.html", status, lang, title=str(status), message=message, back=back, back_label="←")


def _clean_name(name: str | None) -> str:
    """An uploaded file's own name, without any path or control characters."""
    base = re.split(r"[\\/]", name or "")[-1]
    return "".join(c for c in base if c.isprintable()).strip()[:200] or "upload"


# -- the upload page ------------------------------------------------------------------------------------------

@bp.route("/imports", methods=["GET", "POST"])
def imports_page():
    form = UploadForm()
    with db.current_engine().connect() as conn:
        previous = intake_runs.previous_mappings(conn)
        imports = intake_runs.recent_imports(conn)
    form.previous.choices = [SelectChoice("", "无（上传映射文件，或文件列名与本系统字段一致）")] + [
        SelectChoice(str(p["id"]), f"{KIND_LABELS.get(p['kind'], p['kind'])} · {p['source']}"
                                   f"（第 {p['id']} 次导入所用）") for p in previous]
    message, status = "", 200
    if request.method == "POST":
        if form.validate_on_submit():
            started, message, status = _start_from_form(form, previous)
            if started:
                return redirect(url_for("admin_intake.run_page", run_id=started))
        else:
            message, status = _form_error(form), 400
    store = _store()
    runs = [intake_views.scrubbed(r, "summary", "filename") for r in store.recent()]  # an error may quote a cell
    busy = store.busy()
    return _render("admin_imports.html", status, form=form, message=message, runs=runs,
                   imports=[intake_views.scrubbed(i, "filename", "source") for i in imports], status_of=status_of,
                   busy=busy and intake_views.scrubbed(busy, "filename"),
                   limit_mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024))


def _start_from_form(form: UploadForm, previous: list[dict]) -> tuple[str | None, str, int]:
    """Save the upload and start its run; (run id, "", 302) or (None, the reason, status)."""
    intake = _intake()
    store = _store()
    running = store.busy()
    if running is not None:
        return None, f"另一个导入正在进行（{running['filename']}），请等它完成后再上传。", 409
    kind = form.kind.data
    run_id = uuid.uuid4().hex
    mapping_upload = form.mapping_file.data
    try:
        if mapping_upload and form.previous.data:
            return None, "映射：上传映射文件或选择以前的映射，二选一。", 400
        if mapping_upload:
            name = _clean_name(mapping_upload.filename)
            body = mapping_upload.read(MAPPING_LIMIT + 1)
            if len(body) > MAPPING_LIMIT:
                return None, "映射文件过大（上限 1 MB）。", 400
            suffix = ".json" if name.lower().endswith(".json") else ".yaml"
            path = store.upload_path(run_id, f".mapping{suffix}")
            path.write_bytes(body)
            try:
                mapping = intake.load_mapping(path, kind)
            except intake.MappingError as exc:
                return None, str(exc).replace(str(path), name), 400
            finally:
                path.unlink(missing_ok=True)
        elif form.previous.data:
            chosen = next(p for p in previous if str(p["id"]) == form.previous.data)
            mapping = intake.load_mapping(json.loads(chosen["mapping_json"]), kind)
        else:
            mapping = None
    except intake.MappingError as exc:
        return None, str(exc), 400
    who = current_principal()
    filename = _clean_name(form.file.data.filename)
    upload = store.upload_path(run_id, ".xlsx" if filename.lower().endswith(".xlsx") else ".csv")
    form.file.data.save(str(upload))
    os.chmod(upload, 0o600)
    store.prune()
    state = {"run": run_id, "status": "queued", "kind": kind, "filename": filename,
             "size": upload.stat().st_size, "dry_run": bool(form.dry_run.data), "user": who.audit_name,
             "mapping": mapping.source if mapping is not None else "（本系统字段）", "started": time.time(),
             "ip": client_ip(), "done": 0, "total": 0, "rows": 0}
    store.save(state)
    start_run(current_app._get_current_object(), store, state, upload, mapping, who)
    return run_id, "", 302


@bp.get("/imports/<run_id>")
def run_page(run_id: str):
    state = _store().load(run_id) if RUN_ID.match(run_id) else None
    if state is None:
        return _message(404, "没有这次导入的记录（运行记录保留 7 天）。")
    status = status_of(state)
    state, report = intake_views.masked_run(state)
    body, code = _render("admin_import_run.html", state=state, run_status=status, report=report,
                         percent=_percent(state), progress_text=_progress_text(state))
    response = current_app.make_response((body, code))
    if status in RUNNING:
        response.headers["Refresh"] = "2"
    return response


def _percent(state: dict) -> int:
    total = state.get("total") or 0
    return min(100, int(100 * (state.get("done") or 0) / total)) if total else 0


def _progress_text(state: dict) -> str:
    done, total = state.get("done") or 0, state.get("total") or 0
    if not total:
        return "正在检查文件（编码、校验和）并读取第一批记录…"
    if total == state.get("size"):  # CSV: bytes
        text = f"已读取 {done / 1048576:,.1f} / {total / 1048576:,.1f} MB"
    else:  # XLSX: rows
        text = f"已处理 {done:,} / {total:,} 行"
    if state.get("rows"):
        text += f"，约 {state['rows']:,} 条记录"
    return text


def _too_large(error):
    """An upload over MAX_CONTENT_LENGTH: a page that says so (elsewhere, the plain 413)."""
    if not request.path.startswith("/admin/imports"):
        return error
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return _message(413, f"文件过大：上传上限为 {_size(limit)}，本次约 {_size(request.content_length or 0)}。"
                         "请按时间拆分成几个文件分别导入（已导入的记录会被自动跳过）。",
                    lang="en" if request.args.get("lang") == "en" else "zh")  # the form is unreadable


def _size(n: int) -> str:
    return f"{n / 1048576:,.0f} MB" if n >= 1048576 else f"{n / 1024:,.0f} KB"


# -- the quarantine -------------------------------------------------------------------------------------------

def _plain(conn, what: str, target: str) -> bool:
    """Whether the current user sees quarantined cells unmasked (only the ``unmasked`` permission; audited)."""
    who = current_principal()
    return who is not None and who.may("unmasked") and reveal(conn, who, what, target)


class BadNumber(ValueError):
    """A number in a query or form that names nothing: not a whole number from 1 to ``MAX_ID``."""


def _positive_id(text: str | None, what: str) -> int:
    """``text`` as a positive id that fits the database's BIGINT, or ``BadNumber`` naming ``what``."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise BadNumber(f"{what}须为正整数，收到 {str(text)[:20]!r}。") from None
    if not 1 <= value <= MAX_ID:
        raise BadNumber(f"{what}须为 1 到 {MAX_ID} 之间的整数，收到 {str(text)[:25]}。")
    return value


def _quarantine_args() -> tuple[str | None, int | None, int]:
    """The list's kind, import and page from the query (or the form of a POST); ``BadNumber`` if malformed."""
    source = request.form if request.method == "POST" else request.args
    kind = source.get("kind") if source.get("kind") in EVENT_KINDS else None
    import_id = _positive_id(source["import"], "导入编号") if source.get("import") else None
    page = _positive_id(source["page"], "页码") if source.get("page") else 1
    return kind, import_id, page


@bp.get("/quarantine")
def quarantine_page():
    return _quarantine_list()


def _quarantine_list(status: int = 200, message: str = "", results: list | None = None):
    intake = _intake()
    try:
        kind, import_id, page = _quarantine_args()
    except BadNumber as exc:
        (kind, import_id, page), status, message = (None, None, 1), 400, str(exc)
    with db.current_engine().connect() as conn:
        total = intake.count_quarantine(conn, kind=kind, import_id=import_id)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(page, pages)  # past the last page: the last page
        items = intake.list_quarantine(conn, kind=kind, import_id=import_id, limit=PAGE_SIZE,
                                       offset=(page - 1) * PAGE_SIZE)
        readers = intake_views.readers(conn, items)
        counts = {k: intake.count_quarantine(conn, kind=k) for k in EVENT_KINDS}
        plain = bool(items) and _plain(conn, "quarantine rows", f"quarantine page {page}")
    rows = [intake_views.row_view(i, readers, plain) for i in items]
    return _render("admin_quarantine.html", status, rows=rows, total=total,
                   kind=kind or "", import_id=import_id, page=page, pages=pages, counts=counts, message=message,
                   results=results or [], form=ConfirmForm(), done=request.args.get("done", ""))


@bp.post("/quarantine/resubmit")
def resubmit_selected():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _message(400, _form_error(form), back="/admin/quarantine")
    field_name = "page_ids" if request.form.get("scope") == "page" else "ids"
    try:
        _quarantine_args()  # the list shown afterwards: a bad number there refuses the whole form, before any work
        ids = [_positive_id(i, "待修正数据编号") for i in request.form.getlist(field_name)][:PAGE_SIZE * 4]
    except BadNumber as exc:
        return _quarantine_list(400, str(exc))
    if not ids:
        return _quarantine_list(400, "未选择任何行。")
    who = current_principal()
    results = []
    with db.current_engine().begin() as conn:
        for entry_id in ids:
            results.append(_resubmit_one(conn, entry_id, who))
    stored = sum(1 for r in results if r.ok)
    return _quarantine_list(200, f"重新提交 {len(results)} 行：{stored} 行已入库，{len(results) - stored} 行仍被拒绝。",
                            results)


@dataclass
class Outcome:
    id: int
    ok: bool
    reasons: list[str]
    row_id: int | None = None
    kind: str = ""


def _resubmit_one(conn, entry_id: int, who, changed: list[str] | None = None) -> Outcome:
    """Re-submit one entry on ``conn`` and audit it (the caller commits both)."""
    intake = _intake()
    try:
        item = intake.get_quarantine_row(conn, entry_id)
        (result,) = intake.resubmit(conn, [entry_id], user=who.audit_name[:64])
    except intake.QuarantineError as exc:
        return Outcome(entry_id, False, [str(exc)])
    reader = intake_views.readers(conn, [item]).get(item.import_id, intake_views.Reader(None))
    names = [intake_views.cell_text(item.raw.get(c)) for c in reader.names]
    reasons = [intake_views.mask_reason(r, names) for r in result.reasons]
    outcome = Outcome(entry_id, result.ok, reasons, result.row_id, item.kind)
    detail = f"corrected {', '.join(changed)}; " if changed else ""
    detail += (f"resubmitted: stored as {item.kind} #{result.row_id}" if result.ok
               else "resubmitted: still rejected: " + "; ".join(outcome.reasons))
    audit.record(conn, who, "import", target=f"quarantine #{entry_id}", detail=detail, ip=client_ip())
    return outcome


ENTRY = f"<int(signed=True, min=1, max={MAX_ID}):entry_id>"  # -1 or past BIGINT: 404, not a driver's overflow


@bp.route(f"/quarantine/{ENTRY}", methods=["GET", "POST"])
def quarantine_row(entry_id: int):
    intake = _intake()
    engine = db.current_engine()
    try:
        with engine.connect() as conn:
            item = intake.get_quarantine_row(conn, entry_id)
            readers = intake_views.readers(conn, [item])
            plain = _plain(conn, "quarantine row", f"quarantine #{entry_id}")
    except intake.QuarantineError:
        return _message(404, f"没有待修正数据 #{entry_id}。", back="/admin/quarantine")
    view = intake_views.row_view(item, readers, plain)
    form, message, status, outcome = ConfirmForm(), "", 200, None
    if request.method == "POST":
        if not form.validate_on_submit():
            message, status = _form_error(form), 400
        elif item.status != "open":
            message, status = f"此行已处理（{item.status}），不能再修改。", 409
        else:
            changes, problem = _changes(view)
            if problem:
                message, status = problem, 400
            else:
                outcome, message, status = _save(engine, entry_id, changes, request.form.get("action"))
        item = intake.get_quarantine_row(engine, entry_id)
        view = intake_views.row_view(item, readers, plain)
    return _render("admin_quarantine.html", status, row=view, form=form, message=message, outcome=outcome,
                   discard_form=ConfirmForm())


def _changes(view: intake_views.RowView) -> tuple[dict[str, str], str]:
    """The cells the form changed: a visible cell whose text differs, a masked one that was typed in."""
    changes = {}
    for index, column, shown, masked in view.cells:
        posted = request.form.get(f"cell-{index}")
        if posted is None or (masked and posted == ""):
            continue
        if len(posted) > MAX_CELL:
            return {}, f"{column}：内容过长（上限 {MAX_CELL} 字符）。"
        if masked or posted != shown:
            changes[column] = posted
    return changes, ""


def _save(engine, entry_id: int, changes: dict[str, str], action: str | None):
    intake = _intake()
    who = current_principal()
    try:
        with engine.begin() as conn:
            if changes:
                intake.update_quarantine_row(conn, entry_id, changes, user=who.audit_name[:64])
            if action == "save":
                audit.record(conn, who, "import", target=f"quarantine #{entry_id}",
                             detail=f"corrected {', '.join(changes) or 'nothing'}", ip=client_ip())
                return None, "已保存修改（未重新提交）。", 200
            outcome = _resubmit_one(conn, entry_id, who, list(changes))
    except intake.QuarantineError as exc:
        return None, str(exc), 409
    if outcome.ok:
        return outcome, f"已入库：{KIND_LABELS.get(outcome.kind, outcome.kind)} #{outcome.row_id}。", 200
    return outcome, "重新提交后仍被拒绝，原因见下。修改已保存。", 200


@bp.post(f"/quarantine/{ENTRY}/discard")
def discard_row(entry_id: int):
    intake = _intake()
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _message(400, _form_error(form), back=f"/admin/quarantine/{entry_id}")
    who = current_principal()
    try:
        with db.current_engine().begin() as conn:
            intake.discard_quarantine_row(conn, entry_id, user=who.audit_name[:64])
            audit.record(conn, who, "import", target=f"quarantine #{entry_id}", detail="discarded",
                         ip=client_ip())
    except intake.QuarantineError as exc:
        return _message(409, str(exc), back=f"/admin/quarantine/{entry_id}")
    return redirect(url_for("admin_intake.quarantine_page", done=f"已作废 #{entry_id}"))


def register(server) -> None:
    """The upload and quarantine pages; uploads up to ``UPLOAD_LIMIT`` unless MAX_CONTENT_LENGTH is set."""
    if server.config.get("MAX_CONTENT_LENGTH") is None:
        server.config["MAX_CONTENT_LENGTH"] = UPLOAD_LIMIT
    folder = Path(server.config.get("EQIAN_IMPORT_DIR") or _default_folder(server))
    digest = hashlib.sha1(server.config["EQIAN_DATABASE_URL"].encode()).hexdigest()[:10]
    server.extensions[STORE_KEY] = RunStore(folder, f"admin_import:{digest}")
    server.register_error_handler(413, _too_large)
    server.register_blueprint(bp)

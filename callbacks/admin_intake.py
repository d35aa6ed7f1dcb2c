"""The data intake pages for admins (issue 8): upload a file to import, follow it, and work the quarantine.

- ``/admin/imports``: the upload form (a CSV/XLSX file; its kind; a mapping: an uploaded YAML/JSON file, the
  mapping of an earlier import, or none for our own layout; dry run), the recent runs and the ``imports`` table.
- ``/admin/imports/<run>``: the run's progress, reloading itself every 2 s (a ``Refresh`` header: no script),
  then its report: counts, rejected rows with line and reasons (the first 200), or the file-level error.
- ``/admin/quarantine``: the open quarantined rows, paged, by kind or import; re-submit the selected rows.
- ``/admin/quarantine/<id>``: correct a row's cells and re-submit it; discard it.

A million rows take 65-95 s to import, past gunicorn's 60 s and nginx's proxy timeout, so the upload is saved
to disk and imported by a daemon thread of the worker that took it; the request answers at once with a
redirect to the run page. The run's state (phase, bytes or rows done, the report when done) is written every
``HEARTBEAT_SECONDS`` to a JSON file in the run folder (every worker of this host reads it) and to the shared
cache (every host, when the cache is Redis). A run whose state stops being written (its worker was restarted
or killed) shows as interrupted: an import is one transaction, so nothing of it was stored, and it can simply
be run again. One run at a time per database.

Every import (dry runs and failures too), correction, re-submission and discard is written to the audit log
as action ``import``. Quarantined cells that feed personal fields (caller name and phone, address, dispute
parties) are shown masked, since the admin role has no ``unmasked`` permission (data/access.py); a new value
for such a cell can still be typed in. Columns the mapping does not read are named but not shown.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
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

from callbacks.admin import _form_error, _local
from callbacks.auth import ConfirmForm, request_lang, client_ip, current_principal, role_label
from data import audit, db
from data import import_runs as intake_runs
from data.cache import cache
from data.enterprise import mask_parties
from data.masking import mask_address, mask_name, mask_phone
from data.timeutil import to_local

log = logging.getLogger(__name__)
bp = Blueprint("admin_intake", __name__, url_prefix="/admin")

UPLOAD_LIMIT = 512 * 1024 * 1024  # MAX_CONTENT_LENGTH unless the app sets its own
MAPPING_LIMIT = 1024 * 1024
KINDS = ("incidents", "disputes", "hazards")  # = data.intake.KINDS, without importing the importer at start-up
KIND_LABELS = {"incidents": "警情", "disputes": "矛盾纠纷", "hazards": "安全隐患"}
REPORT_LINES = 200  # rejected and flagged rows a run keeps and shows
PAGE_SIZE = 50
HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 60  # a running state not written for this long: its worker is gone
KEEP_SECONDS = 7 * 24 * 3600  # run states
KEEP_UPLOAD_SECONDS = 24 * 3600  # uploads an interrupted run left behind
RECENT_RUNS = 20
MAX_CELL = 10_000
RUN_ID = re.compile(r"^[0-9a-f]{32}$")
RUNNING = ("queued", "running")
PERSONAL = {"caller_name": mask_name, "caller_phone": mask_phone, "address": mask_address, "parties": mask_parties}
STORE_KEY = "eqian_admin_intake_store"


def _intake():
    from data import intake  # noqa: PLC0415 - shapely and openpyxl load when an admin uses these pages

    return intake


# -- where runs keep their state ------------------------------------------------------------------------------

class RunStore:
    """A run's state as a JSON file in ``folder`` (this host's workers) and in the cache (every host)."""

    def __init__(self, folder: Path, prefix: str):
        self.folder, self.prefix = folder, prefix  # made at the first upload

    def _ensure_folder(self) -> None:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _key(self, run_id: str) -> str:
        return f"{self.prefix}:run:{run_id}"

    def upload_path(self, run_id: str, suffix: str = ".csv") -> Path:
        """Where an upload waits for its run; an XLSX must end in .xlsx (openpyxl goes by the name)."""
        self._ensure_folder()
        return self.folder / f"{run_id}{suffix}"

    def save(self, state: dict) -> None:
        state["updated"] = time.time()
        self._ensure_folder()
        path = self.folder / f"{state['run']}.json"
        part = path.with_suffix(".part")
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, ensure_ascii=False)
        os.replace(part, path)
        try:
            cache.set(self._key(state["run"]), state, timeout=KEEP_SECONDS)
            if state["status"] == "queued":
                ids = [state["run"], *[i for i in (cache.get(f"{self.prefix}:runs") or []) if i != state["run"]]]
                cache.set(f"{self.prefix}:runs", ids[:50], timeout=KEEP_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the file is enough on this host
            log.warning("import run %s: state not cached: %s", state["run"], exc)

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
    """queued, running, done, failed (the file as a whole), error (a bug) or interrupted (its worker is gone)."""
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

def start_run(server, store: RunStore, state: dict, upload: Path, mapping, who) -> threading.Thread:
    """Import ``upload`` in a daemon thread; its state goes to ``store`` every second until it is done."""
    thread = threading.Thread(target=_run, args=(server, store, state, upload, mapping, who),
                              name=f"import {state['run'][:8]}", daemon=True)
    thread.start()
    return thread


def _run(server, store: RunStore, state: dict, upload: Path, mapping, who) -> None:
    intake = _intake()
    lock = threading.Lock()
    batch = intake.importer.BATCH_SIZE
    outcome: dict = {}

    def progress(done: int, total: int) -> None:
        with lock:
            state.update(status="running", done=done, total=total)
            if done < total:
                state["rows"] = state.get("rows", 0) + batch  # every call but the last follows a full batch

    def work() -> None:
        try:
            outcome["report"] = intake.import_file(
                db.engine_of(server), state["kind"], upload, mapping, filename=state["filename"],
                progress=progress, user=who.audit_name[:64], dry_run=state["dry_run"], batch_size=batch,
                max_details=REPORT_LINES)
        except Exception as exc:  # noqa: BLE001 - a bug in the importer: the page says so, the log has it
            log.exception("import run %s failed", state["run"])
            outcome["error"] = f"{type(exc).__name__}: {exc}"

    with server.app_context():
        try:
            _follow(store, state, lock, work, outcome, who)
        finally:
            upload.unlink(missing_ok=True)


def _save_quietly(store: RunStore, state: dict) -> None:
    try:
        store.save(state)
    except OSError as exc:  # a full disk must not stop the import; the page then shows the last state written
        log.warning("import run %s: state not written: %s", state["run"], exc)


def _follow(store: RunStore, state: dict, lock: threading.Lock, work: Callable[[], None], outcome: dict,
            who) -> None:
    """Run ``work`` in its own thread, write the state every second meanwhile, then the report and the audit."""
    worker = threading.Thread(target=work, name=f"import {state['run'][:8]} work", daemon=True)
    with lock:
        state["status"] = "running"
    worker.start()
    while worker.is_alive():
        worker.join(HEARTBEAT_SECONDS)
        with lock:
            snapshot = dict(state)
        _save_quietly(store, snapshot)
    report = outcome.get("report")
    with lock:
        if report is not None:
            state.update(status="done" if report.ok else "failed", report=report.to_dict(),
                         summary=report.summary())
        else:
            state.update(status="error", summary=f"internal error, nothing stored: {outcome.get('error')}")
        state["finished"] = time.time()
    try:
        with db.current_engine().begin() as conn:
            target = f"{state['filename']} · run {state['run']}"
            if report is not None and report.import_id:
                target += f" · import #{report.import_id}"
            audit.record(conn, who, "import", target=target, detail=state["summary"], ip=state.get("ip", ""))
    except Exception:  # noqa: BLE001 - the run's own result must still be shown
        log.exception("import run %s: audit entry not written", state["run"])
    _save_quietly(store, state)


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
    return _render("admin_imports.html", status, form=form, message=message, runs=store.recent(),
                   imports=imports, status_of=status_of, busy=store.busy(),
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
    report = state.get("report") or {}
    for item in report.get("rejections", []):
        item["reasons"] = [mask_reason(r) for r in item["reasons"]]
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

@dataclass
class RowView:
    """A quarantined row as the pages show it: the cells the mapping reads (personal ones masked)."""

    item: object
    cells: list[tuple[int, str, str, bool]] = field(default_factory=list)  # (index, column, shown text, masked)
    unused: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # as a person reads it: local time (a stored row is UTC)
        return to_local(value).strftime("%Y-%m-%d %H:%M:%S") if value.tzinfo else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def mask_reason(reason: str) -> str:
    """A reason about a personal field without the value it quotes."""
    name = reason.split(":", 1)[0]
    return re.sub(r"'[^']*'", "'***'", reason) if name in PERSONAL else reason


def _readers(conn, items) -> dict[int, tuple[set[str] | None, dict[str, Callable]]]:
    """Per import: the columns its mapping reads (None: unknown) and the personal ones with their masks."""
    intake = _intake()
    found = intake_runs.mappings_of(conn, (i.import_id for i in items))
    out: dict[int, tuple[set[str] | None, dict[str, Callable]]] = {}
    for r in found:
        try:
            mapping = intake.load_mapping(json.loads(r["mapping_json"]), r["kind"])
        except (intake.MappingError, ValueError):
            out[r["id"]] = (None, {})
            continue
        if mapping.identity:
            used = set(intake.TARGETS[r["kind"]])
            personal = {name: mask for name, mask in PERSONAL.items()}
        else:
            used = mapping.referenced_columns()
            personal = {c: mask for name, mask in PERSONAL.items() if name in mapping.fields
                        for c in mapping.fields[name].columns}
        out[r["id"]] = (used, personal)
    return out


def _view(item, readers) -> RowView:
    used, personal = readers.get(item.import_id, (None, {}))
    view = RowView(item, reasons=[mask_reason(r) for r in item.reasons])
    for index, (column, value) in enumerate(item.raw.items()):
        if used is None:  # the mapping cannot be read: show nothing of the row
            view.unused.append(column)
        elif column in personal:
            view.cells.append((index, column, personal[column](cell_text(value)) or "", True))
        elif column in used:
            view.cells.append((index, column, cell_text(value), False))
        else:
            view.unused.append(column)
    return view


def _quarantine_args() -> tuple[str | None, int | None, int]:
    source = request.form if request.method == "POST" else request.args
    kind = source.get("kind") if source.get("kind") in KINDS else None
    import_id = source.get("import", type=int)
    page = max(1, source.get("page", default=1, type=int) or 1)
    return kind, import_id, page


@bp.get("/quarantine")
def quarantine_page():
    return _quarantine_list()


def _quarantine_list(status: int = 200, message: str = "", results: list | None = None):
    intake = _intake()
    kind, import_id, page = _quarantine_args()
    with db.current_engine().connect() as conn:
        total = intake.count_quarantine(conn, kind=kind, import_id=import_id)
        items = intake.list_quarantine(conn, kind=kind, import_id=import_id, limit=PAGE_SIZE,
                                       offset=(page - 1) * PAGE_SIZE)
        readers = _readers(conn, items)
        counts = {k: intake.count_quarantine(conn, kind=k) for k in KINDS}
    pages = max(1, -(-total // PAGE_SIZE))
    return _render("admin_quarantine.html", status, rows=[_view(i, readers) for i in items], total=total,
                   kind=kind or "", import_id=import_id, page=page, pages=pages, counts=counts, message=message,
                   results=results or [], form=ConfirmForm(), done=request.args.get("done", ""))


@bp.post("/quarantine/resubmit")
def resubmit_selected():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _message(400, _form_error(form), back="/admin/quarantine")
    field_name = "page_ids" if request.form.get("scope") == "page" else "ids"
    ids = [i for i in request.form.getlist(field_name, type=int)][:PAGE_SIZE * 4]
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
        kind = intake.get_quarantine_row(conn, entry_id).kind
        (result,) = intake.resubmit(conn, [entry_id], user=who.audit_name[:64])
    except intake.QuarantineError as exc:
        return Outcome(entry_id, False, [str(exc)])
    outcome = Outcome(entry_id, result.ok, [mask_reason(r) for r in result.reasons], result.row_id, kind)
    detail = f"corrected {', '.join(changed)}; " if changed else ""
    detail += (f"resubmitted: stored as {kind} #{result.row_id}" if result.ok
               else "resubmitted: still rejected: " + "; ".join(outcome.reasons))
    audit.record(conn, who, "import", target=f"quarantine #{entry_id}", detail=detail, ip=client_ip())
    return outcome


@bp.route("/quarantine/<int:entry_id>", methods=["GET", "POST"])
def quarantine_row(entry_id: int):
    intake = _intake()
    engine = db.current_engine()
    try:
        with engine.connect() as conn:
            item = intake.get_quarantine_row(conn, entry_id)
            readers = _readers(conn, [item])
    except intake.QuarantineError:
        return _message(404, f"没有待修正数据 #{entry_id}。", back="/admin/quarantine")
    view = _view(item, readers)
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
        view = _view(item, readers)
    return _render("admin_quarantine.html", status, row=view, form=form, message=message, outcome=outcome,
                   discard_form=ConfirmForm())


def _changes(view: RowView) -> tuple[dict[str, str], str]:
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


@bp.post("/quarantine/<int:entry_id>/discard")
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

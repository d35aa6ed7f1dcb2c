"""One upload's import, run in a process of its own: ``python -m data.intake.runner`` reads its job on stdin.

The admin upload page (web/admin_intake.py) used to import in a thread of the web worker that took the
upload, so CPU-bound or memory-bound work there (a backtracking regex, a workbook that expands a thousandfold)
froze every screen that worker served, walls included (issue 17, finding 7). Here the import has its own
interpreter: the web workers only start it (``spawn``) and read the state it writes.

The child sets its own memory limit (``RLIMIT_AS``, ``memory_mb`` of the job; 0 for none), imports, and writes
the run's state every ``HEARTBEAT_SECONDS`` (``write_state``: a JSON file in the run folder, which every worker
of this host reads, and the shared cache, which every host reads when it is Redis), then the report and the
``import`` audit entry, and deletes the upload. It does not depend on the worker that started it: a worker
restarted during an import leaves the import running to its end. A child that dies (killed, out of memory)
stops writing; the worker that started it writes the error if it is still there, else the page says
*interrupted* a minute later. Nothing of an import that did not finish is stored: it is one transaction.

The job is one JSON object: ``database_url``, ``cache_url``, ``cache_timeout``, ``folder``, ``prefix``,
``state`` (the run's state as the page shows it), ``upload`` (the file's path), ``mapping`` (a checked mapping's
plain form, or null for our own layout), ``who`` (the admin: kind, id, name, role) and ``user`` (the name the
``imports`` record keeps), ``memory_mb``, ``heartbeat`` (seconds), ``report_lines`` and ``entry``
(``module:function`` doing the import, ``data.intake:import_file``; tests point it at a slow or failing
stand-in). It travels on stdin, so the database URL appears in no process listing.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from data.access import audit
from data.access.roles import Principal
from data.core import cache as caching
from data.core import db
from data.intake import importer

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
DEFAULT_ENTRY = "data.intake:import_any"  # events or reference data, by kind
PROJECT_ROOT = Path(__file__).resolve().parents[2]


# -- the state file, shared by the web workers and the child ------------------------------------------------

def state_path(folder: Path, run_id: str) -> Path:
    """Where a run's state file is."""
    return Path(folder) / f"{run_id}.json"


def write_state(folder: Path, prefix: str, state: dict, cache=None) -> None:
    """Write a run's state (stamped ``updated``) to its file, atomically, and to ``cache`` when one is given."""
    state["updated"] = time.time()
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = state_path(folder, state["run"])
    part = path.with_suffix(".part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f, ensure_ascii=False)
    os.replace(part, path)
    if cache is None:
        return
    try:
        cache.set(f"{prefix}:run:{state['run']}", state, timeout=7 * 24 * 3600)
    except Exception as exc:  # noqa: BLE001 - the file is enough on this host
        log.warning("import run %s: state not cached: %s", state["run"], exc)


def read_state(folder: Path, run_id: str) -> dict | None:
    """A run's state from its file, or None if there is none (or it cannot be read)."""
    try:
        return json.loads(state_path(folder, run_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- starting the child (in the web worker) -------------------------------------------------------------------

def spawn(job: dict) -> subprocess.Popen:
    """Start ``python -m data.intake.runner`` with ``job`` on its stdin; it runs on after this returns."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen([sys.executable or "python3", "-m", "data.intake.runner"], stdin=subprocess.PIPE,
                             env=env, close_fds=True)
    try:
        child.stdin.write(json.dumps(job, ensure_ascii=False, default=str).encode("utf-8"))
        child.stdin.close()
    except OSError:  # the child died at once; its exit code tells the caller
        pass
    return child


def exit_reason(code: int | None, memory_mb: int) -> str:
    """Why a child ended without writing its report, in words for the run page."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (the system may have run out of memory)" if -code == signal.SIGKILL else ""
        return f"the import process was stopped by {name}{hint}"
    limit = f"; its memory limit is {memory_mb:,} MB" if memory_mb else ""
    return f"the import process ended with exit code {code} before writing its report{limit}"


# -- the child ------------------------------------------------------------------------------------------------

def limit_memory(memory_mb: int) -> None:
    """Cap this process's address space at ``memory_mb`` (0: no cap), so a runaway import fails alone."""
    if not memory_mb:
        return
    limit = memory_mb * 1024 * 1024
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _entry(name: str) -> Callable:
    """The import function a job names as ``module:function``."""
    module, _, function = (name or DEFAULT_ENTRY).partition(":")
    return getattr(importlib.import_module(module), function or "import_file")


class _Run:
    """The child's side of a run: the import in a thread, the state written every second meanwhile."""

    def __init__(self, job: dict, engine, cache):
        self.job, self.engine, self.cache = job, engine, cache
        self.state = job["state"]
        self.lock = threading.Lock()
        self.outcome: dict = {}

    def save(self) -> None:
        """Write the state as it is now (file and cache)."""
        with self.lock:
            snapshot = dict(self.state)
        try:
            write_state(self.job["folder"], self.job["prefix"], snapshot, self.cache)
        except OSError as exc:  # a full disk must not stop the import; the page shows the last state written
            log.warning("import run %s: state not written: %s", self.state["run"], exc)

    def progress(self, done: int, total: int) -> None:
        """The importer's progress callback: bytes (CSV) or rows (XLSX) done of total."""
        with self.lock:
            self.state.update(status="running", done=done, total=total)
            if done < total:  # every call but the last follows a full batch
                self.state["rows"] = self.state.get("rows", 0) + importer.BATCH_SIZE

    def work(self) -> None:
        """The import itself (in its own thread); its report or the error goes to ``outcome``."""
        job = self.job
        user = (job.get("user") or job["who"]["name"])[:64]
        try:
            self.outcome["report"] = _entry(job.get("entry"))(
                self.engine, self.state["kind"], Path(job["upload"]), job.get("mapping"),
                filename=self.state["filename"], progress=self.progress, user=user,
                dry_run=self.state["dry_run"], batch_size=importer.BATCH_SIZE, max_details=job.get("report_lines", 200))
        except MemoryError:
            limit = f" (its limit is {job['memory_mb']:,} MB)" if job.get("memory_mb") else ""
            self.outcome["error"] = f"the import ran out of memory{limit}; split the file by period or save it as CSV"
        except Exception as exc:  # noqa: BLE001 - a bug in the importer: the page says so, the log has it
            log.exception("import run %s failed", self.state["run"])
            self.outcome["error"] = f"{type(exc).__name__}: {exc}"

    def run(self) -> None:
        """Import while writing the state every heartbeat, then finish."""
        worker = threading.Thread(target=self.work, name=f"import {self.state['run'][:8]}", daemon=True)
        with self.lock:
            self.state["status"] = "running"
        worker.start()
        while worker.is_alive():
            worker.join(float(self.job.get("heartbeat") or HEARTBEAT_SECONDS))
            self.save()
        self.finish()

    def finish(self) -> None:
        """The final state with the report (or the error), the audit entry; the upload is deleted."""
        report = self.outcome.get("report")
        with self.lock:
            if report is not None:
                self.state.update(status="done" if report.ok else "failed", report=report.to_dict(),
                                  summary=report.summary())
            else:
                self.state.update(status="error",
                                  summary=f"internal error, nothing stored: {self.outcome.get('error')}")
            self.state["finished"] = time.time()
        record_audit(self.engine, self.job["who"], self.state, report.import_id if report is not None else None)
        Path(self.job["upload"]).unlink(missing_ok=True)  # before the last state: a page that says done has no upload
        self.save()


def record_audit(engine, who: dict, state: dict, import_id: int | None) -> None:
    """The run's ``import`` audit entry: target the file, run and import; detail the summary line."""
    target = f"{state['filename']} · run {state['run']}"
    if import_id:
        target += f" · import #{import_id}"
    try:
        with engine.begin() as conn:
            audit.record(conn, Principal(**who), "import", target=target, detail=state.get("summary", ""),
                         ip=state.get("ip", ""))
    except Exception:  # noqa: BLE001 - the run's own result must still be shown
        log.exception("import run %s: audit entry not written", state["run"])


def _cache_app(job: dict):
    """A bare Flask app holding the shared cache (the state goes there too), or None if it cannot be had."""
    try:
        app = Flask("eqian-import")
        app.config.update(EQIAN_CACHE_URL=job.get("cache_url") or "null",
                          EQIAN_CACHE_TIMEOUT=int(job.get("cache_timeout") or 300))
        caching.init_app(app)
        return app, caching.cache
    except Exception as exc:  # noqa: BLE001 - the state file alone still serves this host
        log.warning("import run: no shared cache (%s)", exc)
        return None, None


def main(stdin=None) -> int:
    """The child's entry point: read the job, cap memory, import, report; the exit code is 0 once reported."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    job = json.loads((stdin or sys.stdin.buffer).read().decode("utf-8"))
    limit_memory(int(job.get("memory_mb") or 0))
    engine = db.make_engine(job["database_url"])
    app, cache = _cache_app(job)
    upload = Path(job["upload"])
    try:
        if app is None:
            _Run(job, engine, None).run()
        else:
            with app.app_context():
                _Run(job, engine, cache).run()
    finally:
        upload.unlink(missing_ok=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())

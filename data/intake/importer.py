"""Importing one file into incidents, disputes or hazards, all or nothing, with a report.

The whole file is one transaction: accepted rows, the quarantine of rejected rows and the ``imports``
record are committed together at the end, and any failure on the way (a wrong encoding, a truncated
file, a database error) rolls everything back, so what was stored before is untouched and the import can
simply be run again. Rows are read and validated in batches (``BATCH_SIZE``) and written as they come:

- PostgreSQL: one ``COPY`` statement for the whole file (``_PgCopy``), fed batch by batch, so the
  statement-level rollup triggers run once per import with every new row in their transition table.
- SQLite: ``data.core.bulk.insert_columns`` per batch, with the table's per-row rollup triggers suspended
  inside the import's own write transaction and the same deltas applied by one GROUP BY per rollup at
  the end (``_SqliteRollups``); no other writer can observe the gap (SQLite has a single writer), and the
  suspension rolls back with everything else.

Rows are recognised by (source, source id): a row already stored is skipped and counted, so importing
the same file again changes nothing (no rows, no quarantine entries, no ``imports`` record).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import psycopg
from sqlalchemy import ARRAY, Connection, Engine, Text, cast, func, insert, literal_column, select, update
from sqlalchemy.exc import SQLAlchemyError

from data.core import bulk, rollups
from data.core.schema import Dispute, Hazard, ImportRun, Incident, Meta, QuarantineRow
from data.core.timeutil import now_utc
from data.intake.mapping import Mapping, MappingError, load_mapping
from data.intake.reader import FileError, Input, open_table, resolve_input
from data.intake.validate import Lookups, RowResult, RowValidator, row_hash

TABLES = {"incidents": Incident.__table__, "disputes": Dispute.__table__, "hazards": Hazard.__table__}
BATCH_SIZE = 10_000
IN_CHUNK = 5_000  # ids per IN (...) query
SQLITE_SUSPEND_TRIGGERS = True  # see _SqliteRollups; False keeps SQLite's per-row triggers (benchmark comparison)


class ImportRefused(Exception):
    """The import may not run here (e.g. into the synthetic demo)."""


@dataclass
class Rejection:
    """A rejected row: where it was, why, and whether this import put it in quarantine."""

    line: int
    reasons: list[str]
    source_id: str | None = None
    quarantined: bool = True  # False: the same row was already in quarantine

    def text(self) -> str:
        return f"line {self.line}: " + "; ".join(self.reasons)


@dataclass
class ImportReport:
    """What an import did; ``ok`` is False when the file failed as a whole (then nothing was stored)."""

    kind: str
    source: str | None = None
    filename: str | None = None
    sha256: str | None = None
    format: str | None = None
    encoding: str | None = None
    ok: bool = True
    error: str | None = None
    error_line: int | None = None
    dry_run: bool = False
    import_id: int | None = None
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0  # already stored: same source and source id
    rejected: int = 0
    quarantined: int = 0  # rejected rows newly put in quarantine
    flagged: int = 0
    flags: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)  # rejections by field
    rejections: list[Rejection] = field(default_factory=list)  # the first ``max_details``
    flagged_lines: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    duplicate_lines: list[int] = field(default_factory=list)
    seconds: float = 0.0
    QUARANTINES = True  # rejected rows are kept in the quarantine (reference imports: only listed)

    @property
    def changed(self) -> bool:
        """Whether the import stored anything (rows or quarantine entries)."""
        return bool(self.accepted or self.quarantined)

    def fail(self, exc: BaseException | str, line: int | None = None) -> ImportReport:
        self.ok = False
        self.error = exc.message if isinstance(exc, FileError) else str(exc)
        self.error_line = exc.line if isinstance(exc, FileError) else line
        self.accepted = self.quarantined = 0
        self.import_id = None
        return self

    def failure(self) -> str:
        """The summary of an import that failed as a whole."""
        where = f"line {self.error_line}: " if self.error_line else ""
        return f"import failed, nothing stored: {where}{self.error}"

    def count_rejected(self, r, max_details: int, quarantined: bool = True) -> None:
        """Count a rejected row (``RowResult``) and its reasons by field; keep the first ``max_details``."""
        self.rejected += 1
        for reason in r.errors:
            self.reasons[reason.split(":", 1)[0]] += 1
        if len(self.rejections) < max_details:
            self.rejections.append(Rejection(r.line, list(r.errors), r.source_id, quarantined))

    def count_flagged(self, r, max_details: int) -> None:
        """Count a stored row that carries flags; keep the first ``max_details`` lines."""
        self.flagged += 1
        self.flags.update(r.flags)
        if len(self.flagged_lines) < max_details:
            self.flagged_lines.append((r.line, tuple(sorted(r.flags))))

    def summary(self) -> str:
        if not self.ok:
            return self.failure()
        verb = "would import" if self.dry_run else "imported"
        text = (f"{verb} {self.accepted:,} of {self.rows_read:,} rows into {self.kind} from {self.source}; "
                f"{self.duplicates:,} already stored, {self.rejected:,} rejected "
                f"({self.quarantined:,} newly quarantined), {self.flagged:,} flagged")
        if self.flags:
            text += " (" + ", ".join(f"{k}: {v:,}" for k, v in sorted(self.flags.items())) + ")"
        if not self.changed and not self.dry_run:
            text += "; nothing new: the database is unchanged"
        return text + f"; {self.seconds:.1f} s"

    def lines(self, limit: int | None = 200) -> list[str]:
        """The report as text lines: the summary, then each rejected row (and flagged rows) by line."""
        out = [self.summary()]
        if not self.ok:
            return out
        if self.encoding or self.format:
            out.append(f"file: {self.filename or '(upload)'}, {self.format}"
                       + (f", {self.encoding}" if self.encoding else "") + f", sha256 {self.sha256}")
        shown = self.rejections if limit is None else self.rejections[:limit]
        for r in shown:
            out.append("rejected " + r.text() + ("" if r.quarantined or not self.QUARANTINES
                                                 else " (already in quarantine)"))
        more = self.rejected - len(shown)
        if more > 0:
            out.append(f"… and {more:,} more rejected rows" + (" (see the quarantine)" if self.QUARANTINES else ""))
        flagged = self.flagged_lines if limit is None else self.flagged_lines[:limit]
        for line, flags in flagged:
            out.append(f"flagged line {line}: {', '.join(flags)}")
        if self.flagged > len(flagged):
            out.append(f"… and {self.flagged - len(flagged):,} more flagged rows")
        if self.reasons:
            out.append("rejections by field: " + ", ".join(f"{k} {v:,}" for k, v in self.reasons.most_common()))
        return out

    def to_dict(self) -> dict:
        """A JSON-ready form (for the upload page)."""
        return {
            "kind": self.kind, "source": self.source, "filename": self.filename, "sha256": self.sha256,
            "format": self.format, "encoding": self.encoding, "ok": self.ok, "error": self.error,
            "error_line": self.error_line, "dry_run": self.dry_run, "import_id": self.import_id,
            "rows_read": self.rows_read, "accepted": self.accepted, "duplicates": self.duplicates,
            "rejected": self.rejected, "quarantined": self.quarantined, "flagged": self.flagged,
            "flags": dict(self.flags), "reasons": dict(self.reasons), "seconds": round(self.seconds, 3),
            "rejections": [{"line": r.line, "reasons": r.reasons, "source_id": r.source_id,
                            "quarantined": r.quarantined} for r in self.rejections],
            "flagged_lines": [{"line": line, "flags": list(flags)} for line, flags in self.flagged_lines],
        }


@contextmanager
def transaction(target: Engine | Connection) -> Iterator[tuple[Connection, Any]]:
    """A connection and a transaction we own: a new one on an engine, a savepoint inside a caller's."""
    if isinstance(target, Engine):
        with target.connect() as conn:
            tx = conn.begin()
            try:
                yield conn, tx
            finally:
                if tx.is_active:
                    tx.rollback()
        return
    tx = savepoint(target) if target.in_transaction() else target.begin()
    try:
        yield target, tx
    finally:
        if tx.is_active:
            tx.rollback()


def savepoint(conn: Connection):
    """A SAVEPOINT inside the connection's transaction (``begin_nested``), safe on SQLite too."""
    if conn.dialect.name == "sqlite" and not conn.connection.dbapi_connection.in_transaction:
        # pysqlite begins a transaction only at the first write; a SAVEPOINT outside one would commit on
        # release, so begin it now.
        conn.exec_driver_sql("BEGIN")
    return conn.begin_nested()


def encode_raw(raw: dict[str, Any]) -> str:
    """Raw cells as JSON text (XLSX dates keep their type as {"$datetime": ...})."""
    def plain(value):
        if isinstance(value, datetime):
            return {"$datetime": value.isoformat()}
        if isinstance(value, date):
            return {"$date": value.isoformat()}
        if value is None or isinstance(value, (str, int, float, bool)):
            return value
        return str(value)

    return json.dumps({k: plain(v) for k, v in raw.items()}, ensure_ascii=False)


def decode_raw(text: str) -> dict[str, Any]:
    def typed(value):
        if isinstance(value, dict) and len(value) == 1:
            (key, inner), = value.items()
            if key == "$datetime":
                return datetime.fromisoformat(inner)
            if key == "$date":
                return date.fromisoformat(inner)
        return value

    return {k: typed(v) for k, v in json.loads(text).items()}


def _chunks(items: list, size: int = IN_CHUNK):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _in_list(conn: Connection, column, values: list[str]):
    """``column IN values`` as one bound parameter (an array on PostgreSQL, JSON on SQLite): fast for
    thousands of values, where an expanded IN list costs more to compile and bind than to run."""
    if conn.dialect.name == "postgresql":
        return column == func.any(cast(values, ARRAY(Text)))
    return column.in_(select(literal_column("value"))
                      .select_from(func.json_each(json.dumps(values, ensure_ascii=False))))


def stored_ids(conn: Connection, kind: str, source: str, ids: list[str]) -> set[str]:
    """Which of these source ids are already stored for this source."""
    table = TABLES[kind]
    found: set[str] = set()
    for part in _chunks(sorted(set(ids)), 50_000):
        found.update(conn.execute(select(table.c.source_id).where(
            table.c.source == source, _in_list(conn, table.c.source_id, part))).scalars())
    return found


def _quarantined(conn: Connection, kind: str, source: str, fingerprints: list[str]) -> set[str]:
    q = QuarantineRow.__table__
    found: set[str] = set()
    for part in _chunks(sorted(set(fingerprints)), 50_000):
        found.update(conn.execute(select(q.c.fingerprint).where(
            q.c.kind == kind, q.c.source == source, _in_list(conn, q.c.fingerprint, part))).scalars())
    return found


def _has_source(conn: Connection, kind: str, source: str) -> bool:
    table = TABLES[kind]
    return conn.execute(select(table.c.id).where(table.c.source == source).limit(1)).first() is not None


def event_columns(kind: str) -> list[str]:
    return [c.name for c in TABLES[kind].columns if c.name != "id"]


def insert_rows(conn: Connection, kind: str, mapping: Mapping, results: list[RowResult], import_id: int,
                now: datetime) -> int:
    """Store validated rows (one bulk insert); returns how many."""
    if not results:
        return 0
    fixed = {"source": mapping.source, "created_at": now, "import_id": import_id}
    filled = set().union(*(r.values.keys() for r in results))
    names = [n for n in event_columns(kind) if n in fixed or n == "import_flags" or n in filled]
    columns: dict[str, list] = {name: [] for name in names}
    for r in results:
        values = r.values
        for name in names:
            if name in fixed:
                columns[name].append(fixed[name])
            elif name == "import_flags":
                columns[name].append(",".join(sorted(r.flags)) or None)
            else:
                columns[name].append(values.get(name))
    return bulk.insert_columns(conn, TABLES[kind], columns)


def _resolve_superseded(conn: Connection, kind: str, source: str, source_ids: list[str], now: datetime) -> None:
    """Open quarantine entries of ids that have now been stored (a corrected file) are resolved."""
    q = QuarantineRow.__table__
    table = TABLES[kind]
    for sid in sorted(set(source_ids)):
        row_id = conn.execute(select(table.c.id).where(table.c.source == source,
                                                       table.c.source_id == sid)).scalar_one_or_none()
        conn.execute(update(q).where(q.c.kind == kind, q.c.source == source, q.c.source_id == sid,
                                     q.c.status == "open")
                     .values(status="resolved", resolved_at=now, row_id=row_id))


class _SqliteRollups:
    """On SQLite: suspend one table's per-row rollup triggers inside our write transaction, then apply the
    rows' rollup deltas with one GROUP BY per rollup and put the triggers back (see the module docstring)."""

    CACHE_KIB = 256 * 1024  # page cache while importing: the indexes of a large table stay in memory

    def __init__(self, conn: Connection, kind: str):
        self.conn = conn
        self.table = TABLES[kind]
        self.first_id = int(conn.execute(select(func.coalesce(func.max(self.table.c.id), 0))).scalar_one())
        self.cache_size = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
        conn.exec_driver_sql(f"PRAGMA cache_size = -{self.CACHE_KIB}")
        for suffix in ("ai", "ad", "au", "av"):
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS ru_{self.table.name}_{suffix}")

    def finish(self) -> None:
        name = self.table.name
        for rollup in rollups.ROLLUPS:
            if rollup.source is not self.table:
                continue
            keys = rollup.key_names()
            exprs = rollup.key_exprs("sqlite", f"{name}.")
            self.conn.exec_driver_sql(
                f"INSERT INTO {rollup.name} ({', '.join(keys)}, n) "
                f"SELECT {', '.join(exprs)}, COUNT(*) FROM {name} "
                f"WHERE {name}.id > ? AND {rollup.where_sql('sqlite', f'{name}.')} "
                f"GROUP BY {', '.join(exprs)} "
                f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET n = n + excluded.n",
                (self.first_id,),
            )
        self.conn.execute(update(rollups.data_version).where(rollups.data_version.c.source == name)
                          .values(version=rollups.data_version.c.version + 1))
        rollups.install_triggers(self.conn)
        self.restore()

    def restore(self) -> None:
        self.conn.exec_driver_sql(f"PRAGMA cache_size = {int(self.cache_size)}")


def _escape(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


class _PgCopy:
    """One COPY statement for the whole import, fed batch by batch.

    PostgreSQL's rollup triggers are statement-level: a COPY per batch makes them upsert the rollup key of
    nearly every row when a file spans years (few rows share a day, station, category and hour within a
    batch). One COPY for the file fires them once, with every row in the transition table, so each
    rollup gets one grouped upsert per import. Rows are converted to COPY text with ``data.core.bulk``'s
    column conversions (the same values ``bulk.insert_columns`` writes) and joined column-wise.
    """

    def __init__(self, conn: Connection, kind: str):
        self.table = TABLES[kind]
        self.names = event_columns(kind)
        self._cursor = conn.connection.dbapi_connection.cursor()
        self._context = None
        self._copy = None

    @property
    def open(self) -> bool:
        return self._copy is not None

    def write(self, columns: dict[str, list]) -> None:
        if self._copy is None:
            self._context = self._cursor.copy(f"COPY {self.table.name} ({', '.join(self.names)}) FROM STDIN")
            self._copy = self._context.__enter__()
        parts = []
        for name in self.names:
            converted = bulk._convert(self.table.c[name], columns[name], "postgresql")  # noqa: SLF001
            parts.append(["\\N" if v is None else (_escape(v) if isinstance(v, str) else str(v)) for v in converted])
        self._copy.write("\n".join(map("\t".join, zip(*parts, strict=True))) + "\n")

    def close(self, exc: BaseException | None = None) -> None:
        """End the statement (its triggers run now); with ``exc``, abort it."""
        if self._context is None:
            return
        context, self._context, self._copy = self._context, None, None
        if exc is None:
            context.__exit__(None, None, None)
        else:
            try:
                context.__exit__(type(exc), exc, exc.__traceback__)
            except Exception:  # noqa: BLE001 - the transaction is rolled back anyway
                pass


class _Writer:
    """Sorts validated rows into stored, already stored and rejected, and writes them.

    On PostgreSQL accepted rows stream into one COPY (``_PgCopy``) and nothing else may run on the
    connection meanwhile, so the ids already stored for this source are read once before the first row,
    and rejected rows wait in memory for the next flush (every ``QUARANTINE_FLUSH`` rejections, which ends
    the COPY, or at the end). On SQLite each batch is written at once (``bulk.insert_columns``).
    """

    QUARANTINE_FLUSH = 20_000

    def __init__(self, conn: Connection, mapping: Mapping, import_id: int, now: datetime, report: ImportReport,
                 max_details: int):
        self.conn, self.mapping, self.kind, self.source = conn, mapping, mapping.kind, mapping.source
        self.import_id, self.now, self.report, self.max_details = import_id, now, report, max_details
        table, q = TABLES[self.kind], QuarantineRow.__table__
        self.stored: set[str] = set()
        if _has_source(conn, self.kind, self.source):
            result = conn.execute(select(table.c.source_id).where(table.c.source == self.source)
                                  .execution_options(stream_results=True, yield_per=50_000))
            self.stored = {sid for (sid,) in result}
        self.open_ids = set(conn.execute(select(q.c.source_id).where(
            q.c.kind == self.kind, q.c.source == self.source, q.c.status == "open",
            q.c.source_id.is_not(None))).scalars())
        self.superseded: list[str] = []
        self.pending: list[tuple[RowResult, str]] = []
        self.pg = _PgCopy(conn, self.kind) if conn.dialect.name == "postgresql" else None
        self.sqlite = (_SqliteRollups(conn, self.kind) if conn.dialect.name == "sqlite" and SQLITE_SUSPEND_TRIGGERS
                       else None)

    def add(self, results: list[RowResult]) -> None:
        report = self.report
        accepted = []
        for r in results:
            if r.duplicate_of is None and r.source_id in self.stored:
                report.duplicates += 1
                if len(report.duplicate_lines) < self.max_details:
                    report.duplicate_lines.append(r.line)
            elif r.ok:
                accepted.append(r)
            else:
                self.pending.append((r, row_hash(r.cells)))
        if accepted:
            columns = self._columns(accepted)
            if self.pg is not None:
                self.pg.write(columns)
            else:
                bulk.insert_columns(self.conn, TABLES[self.kind], columns)
            report.accepted += len(accepted)
            for r in accepted:
                if r.flags:
                    report.count_flagged(r, self.max_details)
                if r.source_id in self.open_ids:
                    self.superseded.append(r.source_id)
        if self.pg is None or len(self.pending) >= self.QUARANTINE_FLUSH:
            self.flush()

    def _columns(self, results: list[RowResult]) -> dict[str, list]:
        fixed = {"source": self.source, "created_at": self.now, "import_id": self.import_id}
        columns: dict[str, list] = {}
        for name in event_columns(self.kind):
            if name in fixed:
                columns[name] = [fixed[name]] * len(results)
            elif name == "import_flags":
                columns[name] = [",".join(sorted(r.flags)) or None for r in results]
            else:
                columns[name] = [r.values.get(name) for r in results]
        if self.pg is None:  # executemany: leave out what no row fills (fewer bound values)
            columns = {k: v for k, v in columns.items() if k in fixed or any(x is not None for x in v)}
        return columns

    def flush(self) -> None:
        if self.pg is not None:
            self.pg.close()
        if self.pending:
            self._quarantine(self.pending)
            self.pending = []
        if self.superseded:
            _resolve_superseded(self.conn, self.kind, self.source, self.superseded, self.now)
            self.open_ids.difference_update(self.superseded)
            self.superseded = []

    def finish(self) -> None:
        self.flush()
        if self.sqlite is not None:
            self.sqlite.finish()

    def abort(self, exc: BaseException) -> None:
        if self.pg is not None:
            self.pg.close(exc)
        if self.sqlite is not None:
            try:
                self.sqlite.restore()
            except Exception:  # noqa: BLE001 - the connection may be unusable; the pool replaces it
                pass

    def _quarantine(self, rejected: list[tuple[RowResult, str]]) -> None:
        report = self.report
        known = _quarantined(self.conn, self.kind, self.source, [f for _r, f in rejected])
        new: dict[str, list] = {c: [] for c in ("import_id", "kind", "source", "source_id", "line", "fingerprint",
                                                "raw_json", "reasons_json", "status", "created_at")}
        for r, fingerprint in rejected:
            fresh = fingerprint not in known
            report.count_rejected(r, self.max_details, fresh)
            if fresh:
                known.add(fingerprint)  # the same raw row twice in one file is quarantined once
                report.quarantined += 1
                sid = r.source_id if r.source_id and len(r.source_id) <= 64 else None
                for key, value in (("import_id", self.import_id), ("kind", self.kind), ("source", self.source),
                                   ("source_id", sid), ("line", r.line), ("fingerprint", fingerprint),
                                   ("raw_json", encode_raw(r.raw)),
                                   ("reasons_json", json.dumps(r.errors, ensure_ascii=False)), ("status", "open"),
                                   ("created_at", self.now)):
                    new[key].append(value)
        bulk.insert_columns(self.conn, QuarantineRow.__table__, new)


def import_file(target: Engine | Connection, kind: str, data, mapping=None, *, filename: str | None = None,
                source: str | None = None, now: datetime | None = None,
                progress: Callable[[int, int], None] | None = None, batch_size: int = BATCH_SIZE,
                dry_run: bool = False, allow_demo: bool = False, user: str | None = None,
                max_details: int = 10_000) -> ImportReport:
    """Import one CSV/XLSX file of ``kind`` (incidents, disputes, hazards) through a mapping.

    ``data`` is a path, the file's bytes or a binary file object; ``mapping`` a path to a YAML/JSON
    mapping, a dict, a ``Mapping``, or None for our own layout (columns named as our fields). On an
    engine the import commits its own transaction; on a connection it works inside a savepoint (or a
    transaction it begins) and the caller commits. ``progress(done, total)`` is called after each batch
    (bytes for CSV, rows for XLSX). ``dry_run`` validates everything and rolls back. Never raises for bad
    input: a file-level failure is ``report.ok == False`` with ``report.error``, and nothing is stored.
    """
    started = time.monotonic()
    report = ImportReport(kind=kind, dry_run=dry_run, filename=filename)
    try:
        if kind not in TABLES:
            raise MappingError(f"{kind} are reference data: import them with data.intake.registry.import_registry")
        the_mapping = load_mapping(mapping, kind, source)
        report.source = the_mapping.source
        the_input = resolve_input(data, filename)
        report.filename, report.sha256 = the_input.name, the_input.sha256
    except (MappingError, FileError) as exc:
        report.seconds = time.monotonic() - started
        return report.fail(exc)
    run_all_or_nothing(target, report, dry_run, lambda conn: _run(
        conn, the_mapping, the_input, report, now or now_utc(), progress, batch_size, allow_demo, user, max_details))
    report.seconds = time.monotonic() - started
    return report


def run_all_or_nothing(target: Engine | Connection, report: ImportReport, dry_run: bool,
                       work: Callable[[Connection], None]) -> None:
    """``work`` in one transaction: committed when it changed something and this is no dry run, else rolled
    back; a refusal (bad mapping or file, ``ImportRefused``) or a database error fails the report, with nothing
    stored. Any other exception is a bug and propagates (rolled back too)."""
    try:
        with transaction(target) as (conn, tx):
            try:
                work(conn)
            except (MappingError, FileError, ImportRefused) as exc:
                tx.rollback()
                report.fail(exc)
            else:
                if dry_run or not report.changed:
                    tx.rollback()
                    report.import_id = None
                else:
                    tx.commit()
    except Exception as exc:  # noqa: BLE001 - only database errors are reported; anything else is a bug
        if not _is_database_error(exc):
            raise
        cause = getattr(exc, "orig", None) or exc
        report.fail(f"the database refused the import ({type(cause).__name__}: "
                    f"{(str(cause).splitlines() or [''])[0][:300]})")


def refuse_demo(conn: Connection, allow_demo: bool) -> None:
    """``ImportRefused`` for the synthetic demo's database, unless ``allow_demo``."""
    if not allow_demo and conn.execute(select(Meta.value).where(Meta.key == "demo_settings")).first() is not None:
        raise ImportRefused("this database holds the synthetic demo, which is wiped when it is rebuilt; import "
                            "real records into a real database (or pass allow_demo to try the importer on it)")


def _is_database_error(exc: BaseException) -> bool:
    """SQLAlchemy's errors, and the drivers' own (a COPY fed through the raw psycopg cursor raises those)."""
    return isinstance(exc, (SQLAlchemyError, sqlite3.Error, psycopg.Error))


def _run(conn: Connection, mapping: Mapping, the_input: Input, report: ImportReport, now: datetime,
         progress, batch_size: int, allow_demo: bool, user: str | None, max_details: int) -> None:
    kind = mapping.kind
    refuse_demo(conn, allow_demo)
    table = open_table(the_input, mapping)
    writer = None
    try:
        report.format, report.encoding = table.format, table.encoding
        validator = RowValidator(mapping, table.header, Lookups.load(conn, now))
        import_id = conn.execute(insert(ImportRun.__table__).values(
            kind=kind, source=mapping.source, filename=(the_input.name or None) and the_input.name[:200],
            sha256=the_input.sha256, mapping_json=mapping.to_json(), encoding=table.encoding or table.format,
            imported_by=user, started_at=now)).inserted_primary_key[0]
        report.import_id = import_id
        writer = _Writer(conn, mapping, import_id, now, report, max_details)
        batch: list[tuple[int, tuple]] = []
        for item in table.rows():
            batch.append(item)
            if len(batch) >= batch_size:
                report.rows_read += len(batch)
                writer.add(validator.validate(batch))
                batch = []
                if progress:
                    progress(table.position(), table.total)
        if batch:
            report.rows_read += len(batch)
            writer.add(validator.validate(batch))
        writer.finish()
        if progress:
            progress(table.total, table.total)
        conn.execute(update(ImportRun.__table__).where(ImportRun.id == import_id).values(
            finished_at=now_utc(), rows_read=report.rows_read, accepted=report.accepted,
            duplicates=report.duplicates, rejected=report.rejected, flagged=report.flagged))
    except BaseException as exc:
        if writer is not None:
            writer.abort(exc)
        raise
    finally:
        table.close()

"""The quarantine: rejected import rows an admin can correct and submit again.

Each entry keeps the row's cells as read (``raw``), the reasons of its last validation and the import it
came from (whose mapping is used again). ``update_row`` changes cells; ``resubmit`` validates the row
again against the current database and, when it passes, stores it in the real table (with the original
import's id) and marks the entry resolved; otherwise the entry stays open with the new reasons.
``discard`` closes an entry without storing it. Every function takes an engine (and commits) or a
connection (and leaves the commit to the caller).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from data.core.schema import ImportRun, QuarantineRow
from data.core.timeutil import now_utc
from data.intake.importer import (
    TABLES,
    _is_database_error,
    decode_raw,
    encode_raw,
    insert_rows,
    savepoint,
    stored_ids,
    transaction,
)
from data.intake.mapping import MappingError, load_mapping
from data.intake.validate import Lookups, RowValidator

Q = QuarantineRow.__table__


class QuarantineError(ValueError):
    """The entry does not exist, or is not open, or the change names a column the row does not have."""


@dataclass(frozen=True)
class QuarantineItem:
    """One quarantine entry as the admin page shows it."""

    id: int
    import_id: int
    kind: str
    source: str
    source_id: str | None
    line: int
    raw: dict[str, Any]
    reasons: list[str]
    status: str
    row_id: int | None
    created_at: datetime
    updated_at: datetime | None
    updated_by: str | None
    resolved_at: datetime | None
    filename: str | None = None


@dataclass(frozen=True)
class ResubmitResult:
    """The outcome of one resubmission: stored (with the new row's id) or still open with reasons."""

    id: int
    ok: bool
    reasons: list[str]
    row_id: int | None = None


def _run(target, fn):
    if isinstance(target, Engine):
        with target.begin() as conn:
            return fn(conn)
    return fn(target)


def _query(kind, status, source, import_id):
    runs = ImportRun.__table__
    stmt = select(Q, runs.c.filename).join(runs, runs.c.id == Q.c.import_id)
    if kind is not None:
        stmt = stmt.where(Q.c.kind == kind)
    if status is not None:
        stmt = stmt.where(Q.c.status == status)
    if source is not None:
        stmt = stmt.where(Q.c.source == source)
    if import_id is not None:
        stmt = stmt.where(Q.c.import_id == import_id)
    return stmt


def list_rows(target: Engine | Connection, kind: str | None = None, status: str | None = "open",
              source: str | None = None, import_id: int | None = None, limit: int = 100,
              offset: int = 0) -> list[QuarantineItem]:
    """Quarantine entries, oldest import first, then by line (``status=None`` for every status)."""
    stmt = (_query(kind, status, source, import_id)
            .order_by(Q.c.import_id, Q.c.line, Q.c.id).limit(limit).offset(offset))
    return _run(target, lambda conn: [_item_from(q) for q in conn.execute(stmt)])


def count_rows(target: Engine | Connection, kind: str | None = None, status: str | None = "open",
               source: str | None = None, import_id: int | None = None) -> int:
    """How many entries ``list_rows`` would give without a limit."""
    inner = _query(kind, status, source, import_id).subquery()
    return _run(target, lambda conn: int(conn.execute(select(func.count()).select_from(inner)).scalar_one()))


def _item_from(q) -> QuarantineItem:
    return QuarantineItem(id=q.id, import_id=q.import_id, kind=q.kind, source=q.source, source_id=q.source_id,
                          line=q.line, raw=decode_raw(q.raw_json), reasons=json.loads(q.reasons_json),
                          status=q.status, row_id=q.row_id, created_at=q.created_at, updated_at=q.updated_at,
                          updated_by=q.updated_by, resolved_at=q.resolved_at, filename=q.filename)


def get_row(target: Engine | Connection, entry_id: int) -> QuarantineItem:
    """One entry; ``QuarantineError`` if there is none."""
    def read(conn):
        found = conn.execute(_query(None, None, None, None).where(Q.c.id == entry_id)).first()
        if found is None:
            raise QuarantineError(f"no quarantine entry {entry_id}")
        return _item_from(found)

    return _run(target, read)


def _open_row(conn: Connection, entry_id: int):
    row = conn.execute(select(Q).where(Q.c.id == entry_id)).first()
    if row is None:
        raise QuarantineError(f"no quarantine entry {entry_id}")
    if row.status != "open":
        raise QuarantineError(f"quarantine entry {entry_id} is {row.status}, not open")
    return row


def update_row(target: Engine | Connection, entry_id: int, changes: dict[str, Any], user: str | None = None,
               now: datetime | None = None) -> QuarantineItem:
    """Change some of an open entry's cells (column name -> new text, or None to empty it)."""
    def write(conn):
        row = _open_row(conn, entry_id)
        raw = decode_raw(row.raw_json)
        unknown = sorted(set(changes) - set(raw))
        if unknown:
            raise QuarantineError(f"the row has no column(s) {', '.join(map(repr, unknown))}; "
                                  f"it has {', '.join(map(repr, raw))}")
        for key, value in changes.items():
            if value is not None and not isinstance(value, (str, int, float, bool)):
                raise QuarantineError(f"{key}: give text (or None), got {type(value).__name__}")
            raw[key] = value
        conn.execute(update(Q).where(Q.c.id == entry_id).values(raw_json=encode_raw(raw), updated_at=now or now_utc(),
                                                                updated_by=user))
        return get_row(conn, entry_id)

    return _run(target, write)


def discard(target: Engine | Connection, entry_id: int, user: str | None = None,
            now: datetime | None = None) -> QuarantineItem:
    """Close an open entry without storing it (the row is wrong at the source, or not wanted)."""
    def write(conn):
        _open_row(conn, entry_id)
        moment = now or now_utc()
        conn.execute(update(Q).where(Q.c.id == entry_id).values(status="discarded", resolved_at=moment,
                                                                updated_at=moment, updated_by=user))
        return get_row(conn, entry_id)

    return _run(target, write)


def resubmit(target: Engine | Connection, entry_ids: int | list[int], user: str | None = None,
             now: datetime | None = None) -> list[ResubmitResult]:
    """Validate entries again and store those that pass (each on its own: one failing does not stop the rest)."""
    ids = [entry_ids] if isinstance(entry_ids, int) else list(entry_ids)

    def work(conn):
        return [_resubmit_one(conn, entry_id, user, now or now_utc()) for entry_id in ids]

    if isinstance(target, Engine):
        with transaction(target) as (conn, tx):
            out = work(conn)
            tx.commit()
            return out
    return work(target)


def _resubmit_one(conn: Connection, entry_id: int, user: str | None, now: datetime) -> ResubmitResult:
    row = _open_row(conn, entry_id)
    run = conn.execute(select(ImportRun.mapping_json).where(ImportRun.id == row.import_id)).scalar_one()
    raw = decode_raw(row.raw_json)
    header = tuple(k for k in raw if not k.startswith("#"))
    cells = tuple(raw.values())
    try:
        mapping = load_mapping(json.loads(run), row.kind)
        validator = RowValidator(mapping, header, Lookups.load(conn, now))
    except MappingError as exc:
        return _still_open(conn, entry_id, [f"mapping: {exc}"], user, now)
    pinned = {row.line: row.source_id} if mapping.fields.get("source_id") and mapping.fields["source_id"].hash_id \
        else None
    (result,) = validator.validate([(row.line, cells)], source_ids=pinned)
    if not result.ok:
        return _still_open(conn, entry_id, result.errors, user, now)
    if stored_ids(conn, row.kind, mapping.source, [result.source_id]):
        return _still_open(conn, entry_id, [f"source_id: {result.source_id} is already stored for {mapping.source} "
                                            "(discard this entry, or change its id)"], user, now)
    nested = savepoint(conn)
    try:
        insert_rows(conn, row.kind, mapping, [result], row.import_id, now)
    except Exception as exc:  # noqa: BLE001 - a database refusal is this entry's reason, the others go on
        nested.rollback()
        if not _is_database_error(exc):
            raise
        cause = getattr(exc, "orig", None) or exc
        return _still_open(conn, entry_id, [f"database: {type(cause).__name__}: "
                                            f"{(str(cause).splitlines() or [''])[0][:200]}"], user, now)
    nested.commit()
    table = TABLES[row.kind]
    row_id = conn.execute(select(table.c.id).where(table.c.source == mapping.source,
                                                   table.c.source_id == result.source_id)).scalar_one()
    conn.execute(update(Q).where(Q.c.id == entry_id).values(
        status="resolved", row_id=row_id, resolved_at=now, updated_at=now, updated_by=user,
        source_id=result.source_id, reasons_json="[]"))
    return ResubmitResult(entry_id, True, [], row_id)


def _still_open(conn: Connection, entry_id: int, reasons: list[str], user, now) -> ResubmitResult:
    conn.execute(update(Q).where(Q.c.id == entry_id).values(
        reasons_json=json.dumps(reasons, ensure_ascii=False), updated_at=now, updated_by=user))
    return ResubmitResult(entry_id, False, reasons)

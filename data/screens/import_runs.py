"""Reads of the imports table for the admin pages: earlier mappings, recent runs, mappings by import."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from data.core.schema import ImportRun, QuarantineRow


def previous_mappings(conn: Connection) -> list[dict]:
    """The latest import of each (kind, source): its mapping can be used again."""
    runs = ImportRun.__table__
    latest = select(func.max(runs.c.id)).group_by(runs.c.kind, runs.c.source)
    rows = conn.execute(select(runs.c.id, runs.c.kind, runs.c.source, runs.c.mapping_json)
                        .where(runs.c.id.in_(latest)).order_by(runs.c.kind, runs.c.source))
    return [dict(r._mapping) for r in rows]


def recent_imports(conn: Connection, limit: int = 30) -> list[dict]:
    """The latest rows of the imports table, with how many of their quarantined rows are still open."""
    runs, q = ImportRun.__table__, QuarantineRow.__table__
    open_rows = (select(q.c.import_id, func.count().label("n")).where(q.c.status == "open")
                 .group_by(q.c.import_id).subquery())
    rows = conn.execute(select(runs.c.id, runs.c.kind, runs.c.source, runs.c.filename, runs.c.imported_by,
                               runs.c.started_at, runs.c.finished_at, runs.c.rows_read, runs.c.accepted,
                               runs.c.duplicates, runs.c.rejected, runs.c.flagged,
                               func.coalesce(open_rows.c.n, 0).label("open"))
                        .outerjoin(open_rows, open_rows.c.import_id == runs.c.id)
                        .order_by(runs.c.id.desc()).limit(limit))
    return [dict(r._mapping) for r in rows]


def mappings_of(conn: Connection, import_ids) -> list[dict]:
    """The kind and stored mapping (JSON text) of each of these imports."""
    ids = sorted(set(import_ids))
    if not ids:
        return []
    runs = ImportRun.__table__
    found = conn.execute(select(runs.c.id, runs.c.kind, runs.c.mapping_json).where(runs.c.id.in_(ids)))
    return [dict(r._mapping) for r in found]

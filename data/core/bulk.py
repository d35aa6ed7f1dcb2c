"""Fast bulk insert of column arrays: COPY on PostgreSQL, executemany on SQLite.

The ORM path costs tens of microseconds a row; the demo seeder and the importer write hundreds of
thousands of rows, so they go through here. Values are converted to exactly what SQLAlchemy's own
types would store (UTC text timestamps on SQLite, ``timestamptz`` on PostgreSQL).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date
from decimal import Decimal

import numpy as np
from sqlalchemy import Connection, Table, text

from data.core.schema import UTCDateTime


def _py(value):
    """A numpy scalar as the plain Python value drivers understand."""
    return value.item() if isinstance(value, np.generic) else value


def _times(values, dialect: str) -> list:
    arr = np.asarray(values)
    if arr.dtype.kind != "M":  # datetimes as Python objects
        out = []
        for v in arr:
            if v is None:
                out.append(None)
            else:
                if v.tzinfo is None:
                    raise ValueError(f"naive datetime {v!r}: times must carry a zone")
                out.append(v.astimezone(UTC).replace(tzinfo=None))
        arr = np.array([np.datetime64(v, "us") if v is not None else np.datetime64("NaT") for v in out],
                       dtype="datetime64[us]")
    text_values = np.datetime_as_string(arr.astype("datetime64[us]"), unit="us")
    suffix = "+00" if dialect == "postgresql" else ""
    return [None if t == "NaT" else t.replace("T", " ") + suffix for t in text_values]


def _convert(column, values, dialect: str) -> list:
    """One column's values in the form the driver (or COPY) takes."""
    if isinstance(column.type, UTCDateTime):
        return _times(values, dialect)
    values = [_py(v) for v in (values.tolist() if isinstance(values, np.ndarray) else values)]
    python_type = column.type.python_type if hasattr(column.type, "python_type") else None
    if python_type is Decimal:
        return [None if v is None else (float(v) if dialect == "sqlite" else str(v)) for v in values]
    if python_type is date:
        return [None if v is None else v.isoformat() for v in values]
    if python_type is bool and dialect == "sqlite":
        return [None if v is None else int(bool(v)) for v in values]
    if python_type is bool:
        return [None if v is None else ("t" if v else "f") for v in values]
    return values


def _copy_field(value) -> str:
    if value is None:
        return "\\N"
    s = str(value)
    if any(c in s for c in "\\\t\n\r"):
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


def insert_columns(conn: Connection, table: Table, columns: Mapping[str, Sequence]) -> int:
    """Insert rows given as equal-length column arrays; returns the number of rows."""
    names = [name for name in columns if not name.startswith("_")]
    if not names:
        return 0
    lengths = {len(columns[name]) for name in names}
    if len(lengths) != 1:
        raise ValueError(f"columns of unequal length for {table.name}: {sorted(lengths)}")
    n = lengths.pop()
    if n == 0:
        return 0
    dialect = conn.dialect.name
    converted = [_convert(table.c[name], columns[name], dialect) for name in names]
    rows = list(zip(*converted, strict=True))  # checked equal above
    if dialect == "postgresql":
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_field(v) for v in row))
            buffer.write("\n")
        raw = conn.connection.dbapi_connection
        with raw.cursor() as cursor:
            with cursor.copy(f'COPY {table.name} ({", ".join(names)}) FROM STDIN') as copy:
                copy.write(buffer.getvalue())
    else:
        placeholders = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f'INSERT INTO {table.name} ({", ".join(names)}) VALUES ({placeholders})', rows)
    return n


def sync_id_sequence(conn: Connection, table: Table) -> None:
    """After inserting explicit ids on PostgreSQL, move the id sequence past them."""
    if conn.dialect.name != "postgresql":
        return
    conn.execute(
        text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
             f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)")
    )

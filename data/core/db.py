"""The database engine: built once per app from ``EQIAN_DATABASE_URL``, bound with ``init_app``.

A leaf module: it imports nothing of the app, so data functions, CLI commands and tests can use it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from sqlalchemy import Engine, MetaData, create_engine, event, inspect, select, text
from sqlalchemy.engine import make_url

from data.core import rollups
from data.core.schema import ADDITIVE_UPGRADES, RETIRED_INDEXES, SCHEMA_VERSION, Base, Meta

log = logging.getLogger(__name__)
EXTENSION_KEY = "eqian_engine"


class SchemaMismatch(RuntimeError):
    """The database was built by another schema version."""


def make_engine(url: str) -> Engine:
    """An engine with the settings this app needs on each backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the driver we ship
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_pragmas(dbapi_conn, _record):
    # WAL lets the live simulator write while the screens read; foreign keys are off by default there.
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def init_app(app) -> Engine:
    """Create the engine for a Flask app from its config and keep it on the app."""
    engine = make_engine(app.config["EQIAN_DATABASE_URL"])
    app.extensions[EXTENSION_KEY] = engine
    return engine


def engine_of(app) -> Engine:
    """The engine bound to ``app`` by ``init_app``."""
    return app.extensions[EXTENSION_KEY]


def current_engine() -> Engine:
    """The engine of the Flask app handling the current request or CLI command."""
    return engine_of(current_app)


def create_schema(engine: Engine, reset_demo: bool = False) -> None:
    """Create missing tables and record the schema version; refuse a database of another version.

    With ``reset_demo``, a database that holds only the synthetic demo and was built by another schema
    version is wiped instead (the app then seeds it again); real data is never dropped. A version listed in
    ``ADDITIVE_UPGRADES`` differs only by tables and indexes this version adds (or indexes it retired),
    so it is upgraded in place: new indexes on a large table take a while (about a minute per index at
    10^7 incidents), which is why production runs ``init-db`` once before restarting the hosts.
    """
    existing = set(inspect(engine).get_table_names())
    version = None
    if "meta" in existing:
        version = get_meta(engine, "schema_version")
        if version not in (None, SCHEMA_VERSION) and version not in ADDITIVE_UPGRADES:
            if reset_demo and get_meta(engine, "demo_settings") is not None:
                _drop_everything(engine)
            else:
                raise SchemaMismatch(
                    f"database schema version {version} differs from this code's {SCHEMA_VERSION}; "
                    "migrate it, or for a demo database delete it and let the app rebuild it"
                )
    upgrading = "meta" in existing and version not in (None, SCHEMA_VERSION)
    Base.metadata.create_all(engine)
    if upgrading:
        _upgrade_indexes(engine)
    with engine.begin() as conn:
        if upgrading:  # a rollup this version adds starts empty: count its source's rows into it
            new = [r for r in rollups.ROLLUPS if r.name not in existing]
            if new:
                log.warning("schema upgrade: filling new rollups %s", ", ".join(r.name for r in new))
                rollups.rebuild(conn, new)
        rollups.install_triggers(conn)
        set_meta(conn, "schema_version", SCHEMA_VERSION)


def _upgrade_indexes(engine: Engine) -> None:
    """Give the existing tables of an earlier version this version's indexes and drop the retired ones."""
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        present = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                log.warning("schema upgrade: creating index %s on %s", index.name, table.name)
                index.create(engine)
        for name in RETIRED_INDEXES.get(table.name, ()):
            if name in present:
                log.warning("schema upgrade: dropping index %s (replaced)", name)
                with engine.begin() as conn:
                    conn.execute(text(f"DROP INDEX IF EXISTS {engine.dialect.identifier_preparer.quote(name)}"))


def _drop_everything(engine: Engine) -> None:
    """Drop every table in the database, including ones this code version no longer knows."""
    with engine.begin() as conn:
        rollups.drop_triggers(conn)
    reflected = MetaData()
    reflected.reflect(engine)
    reflected.drop_all(engine)


def drop_schema(engine: Engine) -> None:
    """Drop every table of this app (tests and ``init-db --drop`` only)."""
    with engine.begin() as conn:
        rollups.drop_triggers(conn)
    Base.metadata.drop_all(engine)


def get_meta(engine_or_conn, key: str) -> str | None:
    """One value from the meta table, or None."""
    stmt = select(Meta.value).where(Meta.key == key)
    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.connect() as conn:
            return conn.execute(stmt).scalar_one_or_none()
    return engine_or_conn.execute(stmt).scalar_one_or_none()


def set_meta(engine_or_conn, key: str, value: str) -> None:
    """Insert or replace one value in the meta table."""
    def _write(conn):
        table = Meta.__table__
        updated = conn.execute(table.update().where(table.c.key == key).values(value=value)).rowcount
        if not updated:
            conn.execute(table.insert().values(key=key, value=value))

    if isinstance(engine_or_conn, Engine):
        with engine_or_conn.begin() as conn:
            _write(conn)
    else:
        _write(engine_or_conn)

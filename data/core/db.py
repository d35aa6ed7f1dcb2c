"""The database engine: built once per app from ``EQIAN_DATABASE_URL``, bound with ``init_app``.

A leaf module: it imports nothing of the app above data.core (nor Flask, but in ``current_engine``), so data
functions, CLI commands, tests and the migrations can use it. ``create_schema`` is the front door of
data/core/migrate.py, which builds on this module.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import make_url

from data.core import rollups
from data.core.schema import Base, Meta

EXTENSION_KEY = "eqian_engine"
UPGRADE_KEY = "eqian_schema_upgrade"  # app.extensions: what the start-up's create_schema did, (before, after)


class SchemaMismatch(RuntimeError):
    """The database has a schema version this code cannot upgrade (data/core/migrate.py)."""


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
    from flask import current_app  # here: the migrations (alembic's command line too) use this module without Flask

    return engine_of(current_app)


def create_schema(engine: Engine, reset_demo: bool = False) -> tuple[str, str]:
    """Bring the database to this code's schema, or refuse one it cannot upgrade (``SchemaMismatch``).

    ``data.core.migrate.upgrade``: the migrations (data/core/migrations) up to the head revision, then the rollup
    triggers. With ``reset_demo``, a database that holds only the synthetic demo and cannot be upgraded is wiped
    instead (the app then seeds it again); real data is never dropped. A revision that builds an index on a large
    table takes a while (about a minute per index at 10^7 incidents), which is why production runs
    ``flask --app app db-upgrade`` once before restarting the hosts. Returns what the database was and the head.
    """
    from data.core import migrate  # here: migrate builds on this module

    return migrate.upgrade(engine, reset_demo=reset_demo)


def drop_schema(engine: Engine) -> None:
    """Drop every table of this app and its migration record (tests and ``init-db --drop`` only)."""
    from data.core.migrate import VERSION_TABLE  # here: migrate builds on this module

    with engine.begin() as conn:
        rollups.drop_triggers(conn)
        Base.metadata.drop_all(conn)
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {VERSION_TABLE}")


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

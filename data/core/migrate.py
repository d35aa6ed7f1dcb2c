"""Schema migrations: bring a database to this code's head revision (Alembic, data/core/migrations), or refuse it.

Alembic's ``upgrade head`` is the middle of it. Around it, what this app's databases need as well:

* a database this code cannot upgrade is refused before anything is written (``db.SchemaMismatch``, naming its
  version and this code's): one whose Alembic revision this code does not have (newer code migrated it), or one
  from before the migrations (no ``alembic_version``) whose ``meta.schema_version`` is not one of the versions
  6 to 10 that the baseline revision brings up to date in place. One that holds only the synthetic demo is
  wiped instead when the caller asks (``reset_demo``: the app seeds it again); real data is never dropped;
* the rollup triggers (SQL that data/core/rollups.py generates, in no revision) are dropped before the revisions
  run, so that the tables they read may change, and the current code's are installed after, every time;
* ``meta.schema_version`` records the head revision, as it recorded the version number before the migrations.

All of it on one connection, in one transaction, one upgrader at a time: hosts started together wait for the
first and then find the database at the head. PostgreSQL's DDL is transactional, so a revision that fails leaves
the database as it was; an advisory lock orders the upgraders. SQLite's DDL is transactional too, but Python's
sqlite3 module keeps DDL out of the transactions it opens, so here the transaction is opened by hand
(``BEGIN IMMEDIATE``, which takes the write lock), with foreign keys off for its length, as SQLite prescribes for
changing a table's definition: batch mode (on in migrations/env.py) copies a table to a new one and drops the
old, which with foreign keys on fails on the rows referring to it. They are checked (``PRAGMA
foreign_key_check``) before the commit when a revision ran.

No Flask here: the app's start-up (``db.create_schema``), ``init-db`` and ``db-upgrade`` call ``upgrade``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

from data.core import db, rollups

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"  # Alembic's default name, which migrations/env.py keeps
# meta.schema_version of the hand-made versioning before the migrations that the baseline upgrades in place
LEGACY_VERSIONS = ("6", "7", "8", "9", "10")
UPGRADE_LOCK = 0x65716961_6E333635  # PostgreSQL advisory lock key of the upgraders ("eqian365")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for the app's script directory, handing ``connection`` to migrations/env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


SCRIPT = ScriptDirectory.from_config(alembic_config())
HEAD: str = SCRIPT.get_current_head()  # one head: a branch in the revisions fails here, at import
KNOWN_REVISIONS = frozenset(script.revision for script in SCRIPT.walk_revisions())


@dataclass(frozen=True)
class State:
    """What a database says of its schema, read before an upgrade."""

    revision: str | None  # its Alembic revision (None: empty, or from before the migrations)
    legacy: str | None  # without a revision, meta.schema_version of the hand-made versioning (None: not recorded)
    tables: bool  # whether it has any table
    demo: bool  # whether it holds the synthetic demo only (meta demo_settings)

    def label(self) -> str:
        if self.revision is not None:
            return self.revision
        if self.legacy is not None:
            return f"schema version {self.legacy} (before the migrations)"
        return "an unversioned schema" if self.tables else "an empty database"

    def refusal(self) -> str | None:
        """Why this code cannot upgrade the database, or None."""
        if self.revision is not None:
            if self.revision in KNOWN_REVISIONS:
                return None
            return (f"database schema version {self.revision} differs from this code's {HEAD}: newer code migrated "
                    "it (a revision data/core/migrations does not have); run that code, or restore the dump taken "
                    "before its upgrade")
        if self.legacy is None or self.legacy in LEGACY_VERSIONS:
            return None
        return (f"database schema version {self.legacy} differs from this code's {HEAD}, which upgrades the "
                f"versions {LEGACY_VERSIONS[0]} to {LEGACY_VERSIONS[-1]} from before the migrations; migrate it, "
                "or for a demo database delete it and let the app rebuild it")


def read_state(conn: Connection) -> State:
    names = set(inspect(conn).get_table_names())
    revision = MigrationContext.configure(conn).get_current_revision() if VERSION_TABLE in names else None
    legacy = db.get_meta(conn, "schema_version") if revision is None and "meta" in names else None
    demo = "meta" in names and db.get_meta(conn, "demo_settings") is not None
    return State(revision, legacy, bool(names), demo)


def current_revision(engine: Engine) -> str | None:
    """The database's Alembic revision (None: empty, or not upgraded since before the migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, reset_demo: bool = False) -> tuple[str, str]:
    """Bring the database to ``HEAD`` and install the rollup triggers; (what it was, ``HEAD``).

    Refuses (``db.SchemaMismatch``, nothing written) a database this code cannot upgrade, unless it holds only
    the demo and ``reset_demo`` is set: then it is wiped and built afresh.
    """
    with transaction(engine) as conn:
        before = read_state(conn)
        problem = before.refusal()
        if problem is not None:
            if not (reset_demo and before.demo):
                raise db.SchemaMismatch(problem)
            log.warning("%s; it holds only the demo: wiped, to be seeded again", problem)
            _drop_everything(conn)
        rollups.drop_triggers(conn)
        if before.revision != HEAD:
            log.info("schema upgrade: %s -> %s", before.label(), HEAD)
            command.upgrade(alembic_config(conn), "head")
            _check_foreign_keys(conn)
        rollups.install_triggers(conn)
        db.set_meta(conn, "schema_version", HEAD)
    return before.label(), HEAD


def _drop_everything(conn: Connection) -> None:
    """Drop every table in the database, including ones this code version does not know."""
    rollups.drop_triggers(conn)
    reflected = MetaData()
    reflected.reflect(conn)
    reflected.drop_all(conn)


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction that holds DDL too, one at a time (PostgreSQL: an advisory lock; SQLite: the
    write lock, foreign keys off meanwhile), committed when the block ends without an error: ``upgrade``'s, and a
    test's that runs a migration operation by hand."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            with _sqlite_transaction(conn):
                yield conn
        else:
            with conn.begin():
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK})
                yield conn


@contextmanager
def _sqlite_transaction(conn: Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT by hand (the sqlite3 module's own transactions off), foreign keys off meanwhile."""
    conn.execution_options(isolation_level="AUTOCOMMIT")  # back to the engine's default when the connection closes
    conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # a no-op inside a transaction: set before BEGIN
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if conn.connection.dbapi_connection.in_transaction:  # SQLite may have rolled back itself
                conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")
    finally:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")  # as db.make_engine sets it on every connection


def _check_foreign_keys(conn: Connection) -> None:
    """On SQLite, refuse to commit revisions that left a row referring to a missing one (foreign keys were off)."""
    if conn.dialect.name != "sqlite":
        return
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migration left {len(broken)} rows referring to missing rows, e.g. "
                           f"{[tuple(row) for row in broken[:3]]}; nothing was changed")

"""Databases as the hand-made versioning before the migrations left them, for the upgrade tests."""

from __future__ import annotations

from alembic import command

from data.core import db, migrate, rollups
from data.core.schema import Meta


def before_the_migrations(engine, version: str | None) -> None:
    """Make a database at the head one the hand-made versioning left at ``version`` (no Alembic revision; meta
    schema_version, or none): the later revisions undone down to the baseline (schema version 10), then its
    revision dropped; tests/test_migrations.py builds such databases table by table."""
    with migrate.transaction(engine) as conn:
        rollups.drop_triggers(conn)
        command.downgrade(migrate.alembic_config(conn), "0010_baseline")
        rollups.install_triggers(conn)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP TABLE {migrate.VERSION_TABLE}")
        if version is None:
            conn.execute(Meta.__table__.delete())
        else:
            db.set_meta(conn, "schema_version", version)

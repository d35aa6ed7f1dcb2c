"""Shared fixtures: empty and demo-seeded databases on SQLite and PostgreSQL, and a live server.

PostgreSQL comes from EQIAN_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test); each test
session makes its own database there and drops it at the end. Under CI (CI set) an unreachable
PostgreSQL fails the tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import threading
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Importing the app must never touch the developer's own database.
_SCRATCH = Path(tempfile.mkdtemp(prefix="eqian-tests-"))
os.environ.setdefault("EQIAN_DATABASE_URL", f"sqlite:///{_SCRATCH / 'import-guard.db'}")

from seed_support import SeedError, SeedJob  # noqa: E402

from data.core import db, timeutil  # noqa: E402
from data.demo.generator import seed_demo  # noqa: E402

# Property tests draw the same examples on every run (and keep no example database between runs): a failure
# one run finds, every run finds; a new property is explored afresh by changing its examples, not by luck.
hypothesis_settings.register_profile("eqian", derandomize=True, database=None)
hypothesis_settings.load_profile("eqian")

PG_URL = os.environ.get("EQIAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _test_now() -> datetime | None:
    """EQIAN_TEST_NOW (an ISO instant with its zone): the session runs as if that were the time.

    The product's clock (data.core.timeutil) starts at that instant and runs on, and the demo towns end there, so the
    calendar-sensitive tests can be run at an awkward hour or day (a Monday at 00:05, 1 January, 29 February,
    the Spring Festival eve) whatever the real date: ``make test`` does one such run (see the Makefile).
    """
    raw = os.environ.get("EQIAN_TEST_NOW", "").strip()
    if not raw:
        return None
    moment = datetime.fromisoformat(raw)
    if moment.tzinfo is None:
        raise pytest.UsageError(f"EQIAN_TEST_NOW={raw!r} needs a zone, e.g. 2027-03-01T00:05:00+08:00")
    return moment.astimezone(UTC)


TEST_NOW = _test_now()
if TEST_NOW is not None:
    timeutil.shift_clock(TEST_NOW)


def session_now() -> datetime:
    """The current instant as the session sees it (the product's clock, shifted by EQIAN_TEST_NOW)."""
    return timeutil.now_utc().replace(microsecond=0)
BACKENDS = ("sqlite", "postgresql")


def _pg_admin_engine():
    url = make_url(PG_URL)
    if url.drivername in ("postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT"), url


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session."""
    try:
        admin, url, name = create_pg_database("eqian_test")
    except Exception as exc:  # noqa: BLE001
        pg_unreachable(exc, f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)}")
    yield url
    drop_pg_database(admin, name)
    admin.dispose()


def create_pg_database(prefix: str):
    """A new empty PostgreSQL database named ``<prefix>_<random>``: (AUTOCOMMIT admin engine, its URL, its name).
    Raises when PostgreSQL cannot be reached (callers skip or fail through ``pg_unreachable``); drop it with
    ``drop_pg_database(admin, name)``."""
    admin, base = _pg_admin_engine()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:
        admin.dispose()
        raise
    return admin, base.set(database=name).render_as_string(hide_password=False), name


def pg_unreachable(exc: Exception, what: str = "PostgreSQL"):
    """A PostgreSQL the tests need cannot be reached: the test fails under CI (CI set), else it skips."""
    message = f"{what} unreachable: {exc}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def drop_pg_database(admin, name: str) -> None:
    """End every session on database ``name`` (but the admin's own) and drop it; ``admin`` is an AUTOCOMMIT
    engine on another database."""
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))


def _backend_url(backend: str, request, tmp_dir: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / f'{name}.db'}"
    return request.getfixturevalue("pg_database_url")


# Everything in the public schema that a test could change apart from rows: relations, columns, indexes,
# constraints, triggers (and whether they are enabled), functions, views, types and sequence settings.
_PG_SCHEMA_FINGERPRINT = text("""
SELECT md5(coalesce(string_agg(x, '|' ORDER BY x), '')) FROM (
  SELECT 'r:' || c.relname || ':' || c.relkind::text || ':' || c.relpersistence::text || ':'
         || coalesce(array_to_string(c.reloptions, ','), '') || ':' || c.relrowsecurity::text
    FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL
  SELECT 'a:' || c.relname || ':' || a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':'
         || a.attnotnull::text || ':' || coalesce(pg_get_expr(d.adbin, d.adrelid), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT 'i:' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL
  SELECT 'c:' || conrelid::regclass::text || ':' || conname || ':' || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL
  SELECT 't:' || pg_get_triggerdef(t.oid) || ':' || t.tgenabled::text
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
  UNION ALL
  SELECT 'f:' || p.oid::regprocedure::text || ':' || md5(pg_get_functiondef(p.oid))
    FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.prokind IN ('f', 'p')
  UNION ALL
  SELECT 'v:' || viewname || ':' || md5(definition) FROM pg_views WHERE schemaname = 'public'
  UNION ALL
  SELECT 'y:' || typname || ':' || typtype::text FROM pg_type
    WHERE typnamespace = 'public'::regnamespace AND typrelid = 0 AND typelem = 0
  UNION ALL
  SELECT 's:' || sequencename || ':' || start_value || ':' || increment_by || ':' || min_value || ':'
         || max_value || ':' || cycle::text FROM pg_sequences WHERE schemaname = 'public'
) parts(x)
""")
# The empty schema as create_schema leaves it on the session's PostgreSQL database: its fingerprint, the rows
# create_schema writes (schema version, data versions) and the state of every sequence.
_PG_EMPTY: dict = {}


def _pg_state(conn) -> dict:
    fingerprint = conn.execute(_PG_SCHEMA_FINGERPRINT).scalar_one()
    tables = sorted(conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    rows = {}  # in the order a sequential scan returns them, which for a fresh table is the order of insertion
    for table in tables:
        found = [dict(r._mapping) for r in conn.execute(text(f'SELECT * FROM "{table}"'))]
        if found:
            rows[table] = found
    sequences = dict(conn.execute(text(
        "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")).all())
    return {"fingerprint": fingerprint, "rows": rows, "sequences": sequences}


def _empty_pg_schema(eng) -> None:
    """Leave the session's PostgreSQL database holding the app's empty schema, as drop_schema + create_schema do.

    Those two take about 0.6 s on PostgreSQL, once per test of some 200 tests. When the schema itself is exactly
    the one a fresh create_schema made earlier in this session (same fingerprint), emptying the tables that hold
    rows and putting back create_schema's own rows and sequence states gives the same database in a fraction
    of the time; any other schema (a test changed it, or the first test of the session) is dropped and created
    again.
    """
    if _PG_EMPTY:
        with eng.begin() as conn:
            if conn.execute(_PG_SCHEMA_FINGERPRINT).scalar_one() == _PG_EMPTY["fingerprint"]:
                _restore_empty_pg(conn)
                return
    db.drop_schema(eng)
    db.create_schema(eng)
    if not _PG_EMPTY:
        with eng.connect() as conn:
            _PG_EMPTY.update(_pg_state(conn))


def _restore_empty_pg(conn) -> None:
    """Empty every table that was written to and restore the rows and sequence states of a fresh create_schema."""
    # A table that never held a row has no pages; TRUNCATE gives any other one a new, empty file, so even the
    # physical order of later inserts is that of a fresh table. create_schema's own rows are written again.
    written = conn.execute(text("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                                "AND relkind IN ('r', 'p') AND pg_relation_size(oid) > 0")).scalars().all()
    if written:
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t}"' for t in sorted(written)) + " RESTART IDENTITY CASCADE")
    for table, rows in _PG_EMPTY["rows"].items():
        names = ", ".join(f'"{c}"' for c in rows[0])
        values = ", ".join(f":{c}" for c in rows[0])
        conn.execute(text(f'INSERT INTO "{table}" ({names}) VALUES ({values})'), rows)
    for sequence, last_value in conn.execute(text(
            "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'")).all():
        wanted = _PG_EMPTY["sequences"][sequence]
        if last_value == wanted:
            continue
        if wanted is None:
            conn.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" RESTART')
        else:
            conn.execute(text("SELECT setval(CAST(:s AS regclass), :v, true)"), {"s": f'"{sequence}"', "v": wanted})


_SQLITE_EMPTY = _SCRATCH / "empty-schema.db"


def copy_sqlite(source, target) -> None:
    """Copy a SQLite database file with the backup API (consistent whatever sits in the source's WAL)."""
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def _empty_sqlite_schema(path: Path) -> None:
    """A new SQLite file holding the app's empty schema: a copy (backup API) of one create_schema per session."""
    if not _SQLITE_EMPTY.exists():
        template = db.make_engine(f"sqlite:///{_SQLITE_EMPTY}")
        db.create_schema(template)
        template.dispose()
    copy_sqlite(_SQLITE_EMPTY, path)


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """An empty schema on each backend."""
    url = _backend_url(request.param, request, tmp_path, "empty")
    if request.param == "postgresql":
        eng = db.make_engine(url)
        _empty_pg_schema(eng)
    else:
        _empty_sqlite_schema(tmp_path / "empty.db")
        eng = db.make_engine(url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def demo_now():
    """The instant every session-scoped demo ends at: the current time (EQIAN_TEST_NOW's), so the screens agree."""
    return session_now()


DEMO_SEED, DEMO_SCALE = 20_151_101, 1.0
# The backends this session's selected tests want the full-scale demo on (pytest_collection_finish).
DEMO_BACKENDS_WANTED: set[str] = set()


def pytest_collection_finish(session):
    """Note the backends the selected tests want the full-scale demo on, so demo_databases can seed both at once."""
    DEMO_BACKENDS_WANTED.clear()
    for item in session.items:
        names = getattr(item, "fixturenames", ())
        callspec = getattr(item, "callspec", None)
        if "demo_engine" in names and callspec is not None and "demo_engine" in callspec.params:
            DEMO_BACKENDS_WANTED.add(callspec.params["demo_engine"])
        if "demo_sqlite" in names:
            DEMO_BACKENDS_WANTED.add("sqlite")


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory, demo_now):
    """Full-scale (scale 1) demo towns, seeded on first use, once per backend per session.

    A seeding takes one to two minutes. When the selected tests want the demo on both backends, the first
    request seeds its backend here and the other one at the same time in a child process (the same
    ``seed_demo`` call, on a second core, tests/seed_support.py) and waits for both before it returns.
    """
    engines, cleanups, background = {}, [], {}

    def new_database(backend: str) -> str:
        """An empty database for the demo; raises if PostgreSQL is unreachable."""
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
        admin, url, name = create_pg_database("eqian_demo")
        cleanups.append((admin, name))
        return url

    def start_in_background(backend: str) -> None:
        try:
            url = new_database(backend)
        except Exception:  # noqa: BLE001 - its own request skips or fails with the reason
            return
        background[backend] = SeedJob(url, seed=DEMO_SEED, scale=DEMO_SCALE, now=demo_now,
                                      log_dir=tmp_path_factory.mktemp(f"demo-{backend}"))

    def finish_background(backend: str) -> None:
        job = background.pop(backend)
        try:
            summary = job.wait()
        except SeedError:
            return  # its own request seeds it again here, and fails there if it must
        engines[backend] = db.make_engine(job.url)
        engines[backend].summary = summary

    def get(backend: str):
        if backend in engines:
            return engines[backend]
        try:
            url = new_database(backend)
        except Exception as exc:  # noqa: BLE001
            pg_unreachable(exc)
        for other in sorted(DEMO_BACKENDS_WANTED - set(engines) - set(background) - {backend}):
            start_in_background(other)
        eng = db.make_engine(url)
        db.create_schema(eng)
        eng.summary = seed_demo(eng, seed=DEMO_SEED, scale=DEMO_SCALE, now=demo_now)
        engines[backend] = eng
        for other in list(background):  # done before any test runs, so that none runs beside a seeding
            finish_background(other)
        return eng

    yield get
    for job in background.values():  # never asked for (a failure stopped the session early)
        job.kill()
    for eng in engines.values():
        eng.dispose()
    for admin, name in cleanups:
        drop_pg_database(admin, name)
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def demo_engine(request, demo_databases):
    """The full-scale demo on each backend."""
    return demo_databases(request.param)


@pytest.fixture
def demo_sqlite(demo_databases):
    """The full-scale demo on SQLite only (browser tests: the data layer is tested on both)."""
    return demo_databases("sqlite")


SMALL_SEED, SMALL_SCALE = DEMO_SEED, 0.1


class SmallDemo:
    """One small demo town (scale 0.1, SQLite) per session, seeded on first use and handed out as private copies.

    Some ten modules each seeded a small town of their own (15-40 s apiece, most of it a fixed cost that hardly
    depends on the scale). Seeding is deterministic, so a copy of one seeding is the database a seeding of its own
    would give at the same ``now``. Every module gets its own copy (backup API: consistent whatever sits in the
    template's WAL), so writes never leak from one module to another.

    ``now`` is the instant the town ends at: the moment of first use, possibly many minutes before a later module
    runs. The towns' last calls are then that much older; tests that need "the last minutes" to hold calls add
    their own at the real time, and tests that need the seeding's own day take it from ``now`` (or from the
    database's demo settings), not from the clock.
    """

    def __init__(self, tmp_dir: Path):
        self.tmp_dir = tmp_dir
        self.template = tmp_dir / "small-demo-template.db"
        self.now: datetime | None = None
        self.summary: dict | None = None

    def _seed(self) -> None:
        if self.now is not None:
            return
        for leftover in (self.template, *(self.template.with_name(self.template.name + x) for x in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)  # a seeding that failed earlier in the session
        now = session_now()
        engine = db.make_engine(f"sqlite:///{self.template}")
        try:
            self.summary = seed_demo(engine, seed=SMALL_SEED, scale=SMALL_SCALE, now=now)
        finally:
            engine.dispose()
        self.now = now

    def copy(self, name: str) -> str:
        """The URL of a new SQLite file holding the small demo, for the caller alone."""
        self._seed()
        path = self.tmp_dir / f"{name}-{uuid.uuid4().hex[:8]}.db"
        copy_sqlite(self.template, path)
        return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def small_demo_town(tmp_path_factory):
    """The session's small demo town (SmallDemo): ``small_demo_town.copy(name)`` gives a private SQLite copy."""
    return SmallDemo(tmp_path_factory.mktemp("small-demo"))


class LiveServer:
    """A real HTTP server running the app in a thread."""

    def __init__(self, app):
        from werkzeug.serving import make_server

        self.app = app
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=5)

    def login(self, page, role: str = "leader"):
        """Log ``page`` in as the demo account of ``role`` (tests/auth_support.py); returns self."""
        from auth_support import ensure_accounts, login_page

        ensure_accounts(self.app)
        login_page(page, self.url, role)
        return self


@pytest.fixture
def live_server_factory():
    """Start app servers for a test and stop them afterwards."""
    servers = []

    def start(app):
        server = LiveServer(app).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, with the flags that keep it from calling out on a closed network."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("EQIAN_CHROMIUM", "/usr/bin/chromium"),
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }

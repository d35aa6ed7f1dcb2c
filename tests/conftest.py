"""Shared fixtures: empty and demo-seeded databases on SQLite and PostgreSQL, and a live server.

PostgreSQL comes from EQIAN_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/test); each test
session makes its own database there and drops it at the end. Under CI (CI set) an unreachable
PostgreSQL fails the tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Importing the app must never touch the developer's own database.
_SCRATCH = Path(tempfile.mkdtemp(prefix="eqian-tests-"))
os.environ.setdefault("EQIAN_DATABASE_URL", f"sqlite:///{_SCRATCH / 'import-guard.db'}")

from data import db  # noqa: E402
from data.demo.generator import seed_demo  # noqa: E402

PG_URL = os.environ.get("EQIAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgresql")


def _pg_admin_engine():
    url = make_url(PG_URL)
    if url.drivername in ("postgresql", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+psycopg")
    return create_engine(url, isolation_level="AUTOCOMMIT"), url


@pytest.fixture(scope="session")
def pg_database_url():
    """A fresh PostgreSQL database for this test session."""
    admin, url = _pg_admin_engine()
    name = f"eqian_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001
        message = f"PostgreSQL at {url.render_as_string(hide_password=True)} unreachable: {exc}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _backend_url(backend: str, request, tmp_dir: Path, name: str) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / f'{name}.db'}"
    return request.getfixturevalue("pg_database_url")


@pytest.fixture(params=BACKENDS)
def engine(request, tmp_path):
    """An empty schema on each backend."""
    url = _backend_url(request.param, request, tmp_path, "empty")
    eng = db.make_engine(url)
    db.drop_schema(eng)
    db.create_schema(eng)
    yield eng
    if request.param == "postgresql":
        db.drop_schema(eng)
    eng.dispose()


@pytest.fixture(scope="session")
def demo_now():
    """The instant every session-scoped demo ends at: the real current time, so the screens agree."""
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory, demo_now):
    """Full-scale (scale 1) demo towns, seeded on first use, once per backend per session."""
    engines, cleanups = {}, []

    def get(backend: str):
        if backend in engines:
            return engines[backend]
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
        else:
            admin, base = _pg_admin_engine()
            name = f"eqian_demo_{uuid.uuid4().hex[:10]}"
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            except Exception as exc:  # noqa: BLE001
                if os.environ.get("CI"):
                    pytest.fail(f"PostgreSQL unreachable: {exc}")
                pytest.skip(f"PostgreSQL unreachable: {exc}")
            url = base.set(database=name).render_as_string(hide_password=False)
            cleanups.append((admin, name))
        eng = db.make_engine(url)
        db.create_schema(eng)
        eng.summary = seed_demo(eng, seed=20_151_101, scale=1.0, now=demo_now)
        engines[backend] = eng
        return eng

    yield get
    for eng in engines.values():
        eng.dispose()
    for admin, name in cleanups:
        with admin.connect() as conn:
            conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def demo_engine(request, demo_databases):
    """The full-scale demo on each backend."""
    return demo_databases(request.param)


@pytest.fixture
def demo_sqlite(demo_databases):
    """The full-scale demo on SQLite only (browser tests: the data layer is tested on both)."""
    return demo_databases("sqlite")


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

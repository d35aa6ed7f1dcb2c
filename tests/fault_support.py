"""Fault-test infrastructure: private PostgreSQL and Redis servers, and the app under real gunicorn.

Everything here starts its own processes on free ports in its own temporary directories, so a test may
stop, kill and restart them at will; the shared PostgreSQL (5432) and Redis (6379) that other test runs
use are never touched. Fixtures (import them into a test module: ``from fault_support import …``):

- ``private_postgres`` (module): a throwaway cluster (initdb/pg_ctl from /usr/lib/postgresql/*/bin, run
  as the ``postgres`` OS user when we are root; trust auth), with ``stop(mode)``, ``start()``,
  ``create_database(name)`` and ``url(name)``;
- ``private_redis`` (function): ``redis-server --save '' --appendonly no`` with ``stop()``, ``start()``
  (same port, empty again) and ``client()``;
- ``gunicorn_factory`` (function): ``start(env, workers=2)`` runs ``gunicorn -c deploy/gunicorn.conf.py
  app:server`` on a free port and returns a ``Gunicorn`` with ``get(path)``, ``worker_pids()``,
  ``kill_worker()`` and ``wait_for_workers(n, replacing=...)``.

A missing binary skips the tests that need it, with the reason (under CI it fails them instead).

Wall screens over HTTP (tests/test_faults_http.py): ``WallClient`` is one logged-in wall posting the frame
and feed callbacks as its browser does (and retrying as its browser does), ``WallScreens`` runs several of
them at the wall's cadence in threads.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from auth_support import callback_outputs

REPO = Path(__file__).resolve().parent.parent
GUNICORN_CONF = REPO / "deploy" / "gunicorn.conf.py"


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# -- PostgreSQL ---------------------------------------------------------------------------------------------

def postgres_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin with initdb and pg_ctl, or None."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [b for b in found if (b / "pg_ctl").exists()]
    return max(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0) if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own in a temporary directory, on a free port, trust auth."""

    def __init__(self, bin_dir: Path, port: int | None = None):
        self.bin = bin_dir
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="eqian-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                _unavailable("running as root and there is no 'postgres' OS user to run a private cluster")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, *args], cwd=self.root, capture_output=True, text=True,
                              timeout=timeout, check=True)

    def init(self) -> PrivatePostgres:
        # --no-sync: a throwaway cluster need not survive a power cut of this machine; a crash of PostgreSQL
        # itself (stop -m immediate) it survives like any other, through the WAL.
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")
        return self

    @property
    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists() and _port_open(self.port)

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
                   "-c shared_buffers=32MB -c max_connections=60 -c logging_collector=off")
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start", timeout=90)

    def stop(self, mode: str = "fast") -> None:
        """``fast``: disconnect everyone and shut down cleanly; ``immediate``: like a crash (WAL recovery)."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def ensure_running(self) -> None:
        if not self.running:
            self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        from sqlalchemy import create_engine, text

        admin = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        return self.url(name)

    def dump(self, name: str, path: Path) -> None:
        """Write database ``name`` to ``path`` (pg_dump's custom format)."""
        with open(path, "wb") as out:
            subprocess.run([*self.as_user, str(self.bin / "pg_dump"), "-Fc", "-h", "127.0.0.1", "-p", str(self.port),
                            "-U", "postgres", name], cwd=self.root, stdout=out, stderr=subprocess.PIPE,
                           timeout=120, check=True)

    def restore(self, path: Path, name: str) -> None:
        """Load a dump made by ``dump`` into the empty database ``name``, in one transaction."""
        with open(path, "rb") as dump:
            subprocess.run([*self.as_user, str(self.bin / "pg_restore"), "--single-transaction", "--exit-on-error",
                            "--no-owner", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", name],
                           cwd=self.root, stdin=dump, capture_output=True,
                           timeout=300, check=True)

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            try:
                self.stop("immediate")
            except subprocess.SubprocessError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres():
    """A private PostgreSQL cluster for this test module (stopped and removed after it)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        _unavailable("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    pg = PrivatePostgres(bin_dir)
    try:
        pg.init()
        pg.start()
    except subprocess.CalledProcessError as exc:
        pg.destroy()
        _unavailable(f"private PostgreSQL did not start: {exc.stderr or exc.stdout}")
    yield pg
    pg.destroy()


# -- Redis --------------------------------------------------------------------------------------------------

class PrivateRedis:
    """A redis-server of our own on a free port: no persistence, so a restart comes back empty."""

    def __init__(self, binary: str, port: int | None = None):
        self.binary = binary
        self.port = port or free_port()
        self.root = Path(tempfile.mkdtemp(prefix="eqian-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = open(self.root / "redis.log", "ab")  # noqa: SIM115 - the server process owns it
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.root), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root)
        log.close()
        wait_until(self._pings, 10, 0.05, f"redis-server on port {self.port}")

    def _pings(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(f"redis-server exited: {(self.root / 'redis.log').read_text()[-2000:]}")
        try:
            return bool(self.client().ping())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def stop(self) -> None:
        """Stop the server (SIGTERM; nothing is saved)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
        wait_until(lambda: not _port_open(self.port), 5, 0.05, "redis port to close")

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, db=0, socket_timeout=2, socket_connect_timeout=2)

    def destroy(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


# Towns seeded in this session, by their ``now``: a pg_dump of each. Every fault module seeds the same town (scale
# 0.02) at a ``now`` it takes at import, so they agree unless a minute turned between their imports; a later module
# restores the first one's dump into its own cluster (about 2 s) instead of seeding again (10-20 s). Seeding is
# deterministic, so the restored town is the one its own seeding would give: the same rows, sequences and triggers
# (checked); only the text of the IN-list CHECK constraints comes back in PostgreSQL's re-parsed spelling.
_TOWN_DUMPS: dict = {}
_DUMP_DIR: list[Path] = []


def _dump_dir() -> Path:
    if not _DUMP_DIR:
        directory = Path(tempfile.mkdtemp(prefix="eqian-town-dumps-"))
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        _DUMP_DIR.append(directory)
    return _DUMP_DIR[0]


def seed_town(cluster, name: str, now) -> str:
    """A small demo town (scale 0.02, demo accounts included) in a new database of the private cluster."""
    from sqlalchemy import text  # noqa: PLC0415

    from data.core import db  # noqa: PLC0415 - the fixtures above need nothing of the app
    from data.demo.generator import seed_demo  # noqa: PLC0415

    url = cluster.create_database(name)
    dump = _TOWN_DUMPS.get(now)
    if dump is not None:
        cluster.restore(dump, name)
        engine = db.make_engine(url)
        with engine.connect() as conn:  # pg_restore leaves the planner without statistics
            conn.execute(text("ANALYZE"))
            conn.commit()
        engine.dispose()
        return url
    engine = db.make_engine(url)
    db.create_schema(engine)
    seed_demo(engine, scale=0.02, now=now)
    engine.dispose()
    dump = _dump_dir() / f"town-{len(_TOWN_DUMPS)}.dump"
    cluster.dump(name, dump)
    _TOWN_DUMPS[now] = dump
    return url


@pytest.fixture
def pg(private_postgres):
    """The private cluster, running at the start and at the end of each test whatever the test did."""
    private_postgres.ensure_running()
    yield private_postgres
    private_postgres.ensure_running()


@pytest.fixture
def private_redis():
    """A private, empty Redis for one test."""
    binary = shutil.which("redis-server")
    if binary is None:
        _unavailable("redis-server is not installed (Debian package redis-server)")
    server = PrivateRedis(binary)
    server.start()
    yield server
    server.destroy()


# -- gunicorn -----------------------------------------------------------------------------------------------

class Gunicorn:
    """``gunicorn -c deploy/gunicorn.conf.py app:server`` on a free port, in its own process group."""

    def __init__(self, env: dict[str, str], workers: int, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        self.log_path = log_path
        full_env = {**os.environ, "WEB_CONCURRENCY": str(workers), **env}
        full_env.pop("GUNICORN_CMD_ARGS", None)
        full_env.pop("RUNTIME_DIRECTORY", None)  # no control socket: it would be shared between test servers
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = open(log_path, "ab")  # noqa: SIM115 - the server process owns it
        self.process = subprocess.Popen(
            [str(gunicorn), "-c", str(GUNICORN_CONF), "-b", f"127.0.0.1:{self.port}", "app:server"],
            cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    @property
    def master_pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str, timeout: float = 10) -> tuple[int, bytes]:
        """(status, body) of a GET, following no redirect; (0, b"") when the connection fails."""
        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(self.url + path, timeout=timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return 0, b""

    def worker_pids(self) -> set[int]:
        """The master's live child processes (its workers)."""
        children = set()
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                text = Path(stat).read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, …
            if int(fields[1]) == self.master_pid and fields[0] != "Z":
                children.add(int(stat.split("/")[2]))
        return children

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        def ready():
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            return len(self.worker_pids()) >= self.workers and self.get(path, timeout=2)[0] == 200

        wait_until(ready, timeout, 0.2, f"gunicorn to serve {path} with {self.workers} workers")

    def kill_worker(self, pid: int | None = None) -> int:
        """SIGKILL one worker (the lowest pid unless given); returns its pid."""
        pid = pid or min(self.worker_pids())
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_for_workers(self, count: int, replacing: set[int] = frozenset(), timeout: float = 30) -> set[int]:
        """Wait until ``count`` workers run and none of them is in ``replacing``; returns their pids."""
        def settled():
            pids = self.worker_pids()
            return pids if len(pids) == count and not pids & set(replacing) else None

        return wait_until(settled, timeout, 0.1, f"{count} workers (replacing {sorted(replacing)})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # graceful: the master stops its workers
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.master_pid, signal.SIGKILL)  # our own process group, started above
                self.process.wait(timeout=10)


@pytest.fixture
def gunicorn_factory(tmp_path):
    """Start the app under gunicorn with the production config: ``start(env, workers=2)``."""
    if not Path(sys.executable).with_name("gunicorn").exists():
        _unavailable("gunicorn is not installed in this environment")
    servers: list[Gunicorn] = []

    def start(env: dict[str, str], workers: int = 2, ready_path: str = "/assets/style.css") -> Gunicorn:
        server = Gunicorn(env, workers, tmp_path / f"gunicorn-{len(servers)}.log")
        servers.append(server)
        server.wait_ready(ready_path)
        return server

    yield start
    for server in servers:
        server.stop()


# -- wall screens over HTTP -----------------------------------------------------------------------------------

CSRF_INPUT = r'name="csrf_token" type="hidden" value="([^"]+)"'
POLL_SECONDS, FEED_SECONDS = 2.0, 1.0  # EQIAN_REFRESH_SECONDS / EQIAN_FEED_SECONDS: the wall's cadence
WATCHDOG_SECONDS, RETRY_SECONDS = 8.0, 5.0  # assets/wall.js: re-ask after poll + 8 s without answer, then every 5 s


class WallClient:
    """One wall screen as its browser talks to the server: a session logged in with the device token, and the
    frame and feed callbacks posted with the bodies the Dash renderer builds from /_dash-dependencies, carrying
    back what the last answer stored (the frame's ``wall-frame`` state, the feed's ``last_id``).

    What the browser does when a request fails, and so what this does: a request whose connection dies before
    any answer arrived (the worker was killed, or a kept-alive socket was closed) is sent once more at once on a
    new connection, as Chromium's network stack resends a request whose reused connection broke before the
    response headers; anything else (an HTTP error, an answer cut off half-way, a second failure) leaves the
    panels as they were, and the page's watchdog (assets/wall.js) asks again after the poll interval + 8 s,
    then every 5 s. Every request is recorded in
    ``log`` as (monotonic time sent, time answered, kind, HTTP status or "connection", resent, answer)."""

    def __init__(self, base_url: str, number: int = 0):
        import requests

        self.base = base_url
        self.number = number
        self.session = requests.Session()
        self.session.headers["Origin"] = base_url
        self.view = {"kind": "town", "id": None}  # the town throughout: the feed shows every station's calls
        self.settings = {"lang": "zh", "kiosk": True, "poll_ms": int(POLL_SECONDS * 1000),
                         "feed_ms": int(FEED_SECONDS * 1000)}
        self.frame_state: dict | None = None
        self.feed_state: dict = {"last_id": None}
        self.feed_ids: list[int] = []  # the calls the feed delivered, in the order they arrived
        self.log: list[tuple] = []
        self.lock = threading.Lock()
        self.bodies: dict[str, dict] = {}

    # -- logging in and learning the callbacks
    def login(self, token: str | None = None) -> None:
        import re

        from data.access import accounts as auth

        page = self.session.get(self.base + "/device", timeout=10)
        csrf = re.search(CSRF_INPUT, page.text).group(1)
        answer = self.session.post(self.base + "/device", allow_redirects=False, timeout=10,
                                   data={"csrf_token": csrf, "token": token or auth.DEMO_WALL_TOKEN[1],
                                         "next": "/?kiosk=1"})
        assert answer.status_code == 302, f"device login: {answer.status_code} {answer.text[:300]}"
        dependencies = self.session.get(self.base + "/_dash-dependencies", timeout=10)
        assert dependencies.status_code == 200, dependencies.text[:300]
        for dep in dependencies.json():
            kind = ("frame" if "wall-frame.data" in dep["output"] else
                    "feed" if "wall-feed-state.data" in dep["output"] else None)
            if kind and not dep.get("clientside_function"):
                self.bodies[kind] = {"output": dep["output"], "outputs": callback_outputs(dep["output"]),
                                     "inputs": [dict(i) for i in dep["inputs"]],
                                     "state": [dict(s) for s in dep["state"]]}
        assert set(self.bodies) == {"frame", "feed"}, f"wall callbacks not found: {sorted(self.bodies)}"

    def _body(self, kind: str, values: dict[str, object], changed: list[str]) -> dict:
        body = {**self.bodies[kind], "changedPropIds": changed}
        for part in ("inputs", "state"):
            body[part] = [{**item, "value": values.get(f"{item['id']}.{item['property']}")}
                          for item in self.bodies[kind][part]]
        return body

    def post(self, kind: str, body: dict) -> tuple[int | str, dict | None]:
        """POST a callback; (status, the answer's ``response``). ``status`` is the HTTP status, or "connection"
        when the connection broke before any answer twice (the second time on a new connection), or "broken
        answer" when it broke in the middle of an answer (the browser does not resend that one)."""
        import requests

        sent = time.monotonic()
        resent = False
        status, response = "connection", None
        for attempt in (1, 2):
            try:
                answer = self.session.post(self.base + "/_dash-update-component", json=body, timeout=20)
            except requests.ConnectionError:
                if attempt == 1:
                    resent = True
                    continue
                break
            except requests.Timeout:
                status = "timeout"
                break
            except requests.RequestException:  # e.g. ChunkedEncodingError: the answer was cut off
                status = "broken answer"
                break
            status = answer.status_code
            if status == 200:
                try:
                    response = answer.json()["response"]
                except (ValueError, KeyError, TypeError):
                    status = "not a Dash answer"
            break
        with self.lock:
            self.log.append((sent, time.monotonic(), kind, status, resent, response))
        return status, response

    # -- the two polls
    def frame(self, poll: int | None = None, last: dict | None | bool = False) -> tuple[int | str, dict | None]:
        """Ask for a frame; ``last=None`` asks for a full one (as a freshly loaded page does)."""
        state = self.frame_state if last is False else last
        poll = int(time.time() * 1000) if poll is None else poll
        body = self._body("frame", {"wall-poll.data": poll, "wall-view.data": self.view,
                                    "wall-settings.data": self.settings, "wall-frame.data": state},
                          ["wall-poll.data"] if poll else [])
        status, response = self.post("frame", body)
        if status == 200 and response and "wall-frame" in response:
            self.frame_state = response["wall-frame"]["data"]
        return status, response

    def feed(self) -> tuple[int | str, dict | None]:
        first = self.feed_state.get("last_id") is None
        body = self._body("feed", {"wall-feed-poll.data": 0 if first else int(time.time() * 1000),
                                   "wall-feed-state.data": self.feed_state, "wall-view.data": self.view,
                                   "wall-settings.data": self.settings}, [] if first else ["wall-feed-poll.data"])
        status, response = self.post("feed", body)
        if status == 200 and response and "wall-feed-state" in response:
            rows = (response.get("wall-feed") or {}).get("children")
            if isinstance(rows, dict):  # a Patch: the new calls, prepended oldest first
                new = [int(op["params"]["value"]["props"]["key"]) for op in rows.get("operations", [])
                       if op.get("operation") == "Prepend"]
                with self.lock:
                    self.feed_ids.extend(new)
            self.feed_state = response["wall-feed-state"]["data"]
        return status, response

    def answers(self, kind: str | None = None, since: float = 0.0) -> list[tuple]:
        with self.lock:
            return [entry for entry in self.log if (kind is None or entry[2] == kind) and entry[0] >= since]


class WallScreens:
    """``count`` wall screens polling a server as their pages do: a frame 2 s after the last frame arrived,
    the feed 1 s after the last feed answer, the watchdog's re-ask when none arrived (see ``WallClient``)."""

    def __init__(self, base_url: str, count: int):
        self.walls = [WallClient(base_url, n) for n in range(count)]
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> WallScreens:
        for wall in self.walls:
            wall.login()
        for wall in self.walls:
            for loop, every in ((self._frames, POLL_SECONDS), (self._feeds, FEED_SECONDS)):
                thread = threading.Thread(target=loop, args=(wall, every), daemon=True)
                thread.start()
                self.threads.append(thread)
        return self

    def _loop(self, ask, every: float) -> None:
        last_ok = time.monotonic()
        poll = 0
        while not self.stop_event.is_set():
            status, _ = ask(poll)
            now = time.monotonic()
            if status == 200:
                last_ok, wait = now, every
            else:
                wait = max(last_ok + every + WATCHDOG_SECONDS - now, RETRY_SECONDS)
            poll = 1
            self.stop_event.wait(wait)

    def _frames(self, wall: WallClient, every: float) -> None:
        self._loop(lambda poll: wall.frame(None if poll else 0, None if not poll else False), every)

    def _feeds(self, wall: WallClient, every: float) -> None:
        self._loop(lambda _poll: wall.feed(), every)

    def ok_counts(self, kind: str, since: float = 0.0) -> list[int]:
        return [sum(1 for e in w.answers(kind, since) if e[3] == 200) for w in self.walls]

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(30)


def connections_by_worker(server: Gunicorn) -> dict[int, int]:
    """How many established client connections each of the server's workers holds (from /proc/net/tcp*)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == server.port and fields[3] == "01":  # 01: ESTABLISHED
                inodes.add(fields[9])
    counts = {}
    for pid in server.worker_pids():
        held = 0
        for fd in glob.glob(f"/proc/{pid}/fd/*"):
            try:
                link = os.readlink(fd)
            except OSError:
                continue
            if link.startswith("socket:[") and link[8:-1] in inodes:
                held += 1
        counts[pid] = held
    return counts

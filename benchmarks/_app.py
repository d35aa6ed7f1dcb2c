"""What the browser benchmarks share: Chromium's flags for this closed network, and the app started on a
free port in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(database_url: str, env: dict, tries: int = 200) -> tuple[subprocess.Popen, str]:
    """Run ``app.py`` on ``database_url`` (demo seeding off) with extra ``env``; wait until it answers
    (``tries`` × 0.3 s at most). Returns the process and its base URL."""
    port = free_port()
    full_env = {**os.environ, "EQIAN_DATABASE_URL": database_url, "EQIAN_PORT": str(port), "EQIAN_DEMO": "0",
                **env}
    server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(tries):
        try:
            urllib.request.urlopen(base + "/_dash-layout", timeout=1)
            break
        except OSError:
            time.sleep(0.3)
    return server, base


# -- the production setup: gunicorn with deploy/gunicorn.conf.py, a private PostgreSQL cluster -------------

def demo_database(url: str | None, name: str, scale: float = 1.0) -> str:
    """``url`` when given, else a freshly seeded demo (``scale``) in a temporary SQLite file named ``name``."""
    if url is not None:
        return url
    from data.core import db  # noqa: PLC0415
    from data.demo.generator import seed_demo  # noqa: PLC0415

    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix=f'eqian-{name}-')) / f'{name}.db'}"
    print(f"seeding a demo at scale {scale} …", flush=True)
    started = time.monotonic()
    seed_demo(db.make_engine(url), scale=scale, now=datetime.now(UTC))
    print(f"  seeded in {time.monotonic() - started:.1f}s", flush=True)
    return url


def login(page, base: str, role: str = "leader", database_url: str | None = None) -> None:
    """Log the browser page in as the demo account of ``role`` ("wall" uses the demo device token), creating
    the demo accounts on ``database_url`` first when given (a benchmark database may predate them)."""
    from data.access import accounts as auth  # noqa: PLC0415
    from data.core import db

    if database_url:
        engine = db.make_engine(database_url)
        with engine.begin() as conn:
            auth.ensure_demo_accounts(conn)
        engine.dispose()
    if role == "wall":
        page.goto(f"{base}/device#token={auth.DEMO_WALL_TOKEN[1]}&next=/session")
    else:
        username, (_display, _role, password) = next((u, v) for u, v in auth.DEMO_PASSWORDS.items() if v[1] == role)
        page.goto(f"{base}/login?next=/session")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("#login-submit")
    page.wait_for_url("**/session", timeout=60_000)


def chromium_path() -> str:
    """Debian's Chromium (or ``EQIAN_CHROMIUM``), as the browser benchmarks launch it."""
    return os.environ.get("EQIAN_CHROMIUM", "/usr/bin/chromium")


def start_gunicorn(env: dict, workers: int | None = None, log_path: Path | None = None,
                   ready_path: str = "/assets/style.css", timeout: float = 120) -> tuple[subprocess.Popen, str]:
    """Run ``gunicorn -c deploy/gunicorn.conf.py app:server`` on a free port, in its own process group, with
    ``env`` on top of this environment (``workers``: ``WEB_CONCURRENCY``; None keeps the config's default).
    Waits until ``ready_path`` answers 200. Returns the master process and the base URL."""
    port = free_port()
    full_env = {**os.environ, **env}
    full_env.pop("GUNICORN_CMD_ARGS", None)
    full_env.pop("RUNTIME_DIRECTORY", None)
    if workers is not None:
        full_env["WEB_CONCURRENCY"] = str(workers)
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - the server owns it
    gunicorn = Path(sys.executable).with_name("gunicorn")
    master = subprocess.Popen([str(gunicorn), "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                               "-b", f"127.0.0.1:{port}", "app:server"],
                              cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    if log_path:
        out.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        if master.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {master.returncode}" + (f"; see {log_path}" if log_path else ""))
        try:
            with urllib.request.urlopen(base + ready_path, timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_gunicorn(master)
            raise RuntimeError(f"gunicorn did not answer {ready_path} within {timeout:.0f} s")
        time.sleep(0.3)
    return master, base


def stop_gunicorn(master: subprocess.Popen, timeout: float = 40) -> None:
    """Stop gunicorn gracefully (SIGTERM to the master); kill its process group if it does not stop."""
    import signal

    if master.poll() is None:
        master.terminate()
        try:
            master.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(master.pid, signal.SIGKILL)  # the group start_gunicorn made for it
            master.wait(timeout=10)


def child_pids(parent: int) -> list[int]:
    """The live child processes of ``parent`` (gunicorn's workers of a master)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == parent and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return sorted(found)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_private_postgres(settings: dict[str, str] | None = None) -> tuple[str, callable]:
    """A throwaway PostgreSQL cluster (initdb/pg_ctl of the newest /usr/lib/postgresql/*/bin, trust auth, run as
    the ``postgres`` OS user when we are root) on a free port with extra server ``settings`` (e.g.
    ``shared_preload_libraries``). Returns its admin URL (database ``postgres``) and a function that stops
    and removes it."""
    import glob
    import shutil
    import tempfile

    bins = sorted((Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")),
                  key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0)
    if not bins:
        raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
    bin_dir, port = bins[-1], free_port()
    root = Path(tempfile.mkdtemp(prefix="eqian-bench-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        import pwd

        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = root / "data"
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                    "--no-sync", "--no-instructions"], cwd=root, check=True, capture_output=True, timeout=120)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={root} -c max_connections=100"
    for key, value in (settings or {}).items():
        options += f" -c {key}={value}"
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "postgres.log"), "-w",
                    "-t", "60", "-o", options, "start"], cwd=root, check=True, capture_output=True, timeout=90)

    def stop() -> None:
        subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
                       cwd=root, capture_output=True, timeout=90)
        shutil.rmtree(root, ignore_errors=True)

    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", stop

"""gunicorn settings for the cockpit (gunicorn 27, pinned in requirements.txt).

    gunicorn -c deploy/gunicorn.conf.py app:server

The EQIAN_* settings come from the environment as always (systemd: EnvironmentFile=/etc/eqian/eqian.env).
Anything here can be overridden per host without editing the file: the command line wins over this file,
and ``GUNICORN_CMD_ARGS`` (e.g. ``"--threads 8 --bind 127.0.0.1:8051"``) wins over it too. The worker
count defaults from the CPUs; ``WEB_CONCURRENCY`` sets it. See docs/production.md.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (cgroups, taskset)
    except AttributeError:
        return os.cpu_count() or 1


# --- where -------------------------------------------------------------------------------------------
# Only the reverse proxy on this host talks to gunicorn (deploy/nginx.conf); never bind 0.0.0.0.
bind = ["127.0.0.1:8050"]
chdir = str(Path(__file__).resolve().parent.parent)  # the checkout, so ``app:server`` imports from anywhere
proc_name = "eqian"

# --- how many ----------------------------------------------------------------------------------------
# Dash callbacks spend most of their time waiting for PostgreSQL and Redis, so each process runs threads
# (gthread): 2 x CPUs + 1 processes of 4 threads is 20 requests at once on 2 cores, for 20 wall screens
# each polling a frame every 2 s and the feed every 1 s plus the review desks. Processes, not more
# threads, carry the CPU-bound parts (figure building, JSON, report rendering) past the GIL.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * _cpus() + 1, 12))
worker_class = "gthread"
threads = 4
worker_connections = 1000  # idle keep-alive connections from nginx wait in the poller, not in a thread

# --- how long ----------------------------------------------------------------------------------------
# gthread's heartbeat comes from the worker's main loop, not from a request, so ``timeout`` catches a
# hung process, not a slow request; it still sits well above the slowest request (a report: 20 s budget).
timeout = 60
# On reload/stop a worker finishes what it is doing (a report being generated) before it is killed.
graceful_timeout = 30
# Longer than nginx's upstream keepalive_timeout (60 s in deploy/nginx.conf), so gunicorn never closes a
# connection nginx is about to reuse.
keepalive = 75

# --- memory ------------------------------------------------------------------------------------------
# The 30-minute wall run grew a worker from 168 to 203 MB (README, Measured). Restarting each worker after
# 20,000 requests (about an hour at 20 screens on 5 workers) bounds that; the jitter keeps the workers from
# restarting together. With preload (below) a restart is a fork: no import, no schema check.
max_requests = 20_000
max_requests_jitter = 2_000

# --- preload: on -------------------------------------------------------------------------------------
# create_app() runs once, in the master: the schema check (create_schema replaces the rollup triggers,
# which takes a short exclusive lock on the event tables) runs once per start instead of once per worker
# and per max_requests restart, several workers never race each other through it, and the imported
# libraries (pandas, plotly, Dash: ~100 MB) are shared copy-on-write. The price: new code needs a restart
# (``systemctl restart eqian``), not a HUP; and the master's database connections must not be inherited by
# the workers, which the hooks below see to. Nothing else is started at import (no threads, no Chromium).
preload_app = True

# --- behind the proxy --------------------------------------------------------------------------------
forwarded_allow_ips = "127.0.0.1,::1"  # trust X-Forwarded-Proto only from nginx on this host
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}  # the one header nginx sets (the others are ignored)
# The heartbeat file on tmpfs: a worker's fchmod on a disk-backed /tmp can block it (gunicorn's FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# gunicornc's control socket: in systemd's RuntimeDirectory (/run/eqian) when there is one, else none
# (its default, $HOME/.gunicorn/gunicorn.ctl, would be shared by every gunicorn of the same user).
if os.environ.get("RUNTIME_DIRECTORY"):
    control_socket = os.path.join(os.environ["RUNTIME_DIRECTORY"].split(":")[0], "gunicorn.ctl")
    control_socket_mode = 0o600
else:
    control_socket_disable = True

# --- logs: stdout/stderr, i.e. the journal under systemd ------------------------------------------------
accesslog = "-"
# client (as nginx saw it), time, request, status, bytes, duration, worker pid; the proxy's address is %(h)s.
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" via=%(h)s %(p)s'
errorlog = "-"
loglevel = "info"
# The app's own warnings (database or Redis unreachable, background jobs) go to stderr in gunicorn's
# format with the logger's name; gunicorn's loggers do not propagate to the root, so nothing is doubled.
logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                    format="%(asctime)s [%(process)d] [%(levelname)s] %(name)s: %(message)s",
                    datefmt="[%Y-%m-%d %H:%M:%S %z]")


# --- hooks -------------------------------------------------------------------------------------------
def _engine(server):
    """The SQLAlchemy engine of the preloaded app, or None (not preloaded, or not our app)."""
    app = getattr(server.app, "callable", None)
    return (getattr(app, "extensions", None) or {}).get("eqian_engine")


def pre_fork(server, worker):
    # In the master: close the connections create_app() opened, so a worker starts with an empty pool.
    engine = _engine(server)
    if engine is not None:
        engine.dispose()


def post_fork(server, worker):
    # In the new worker: forget any pooled connection that is still the master's (without closing it).
    engine = _engine(server)
    if engine is not None:
        engine.dispose(close=False)

"""What the browser benchmarks share: Chromium's flags for this closed network, and the app started on a
free port in its own process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
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

"""Seeding a demo town in a child process, so that two seedings the tests need at once use both cores.

``SeedJob(url, seed=..., scale=..., now=..., log_dir=...)`` starts ``seed_demo`` on the database at ``url`` in a
new Python process (the same call the tests make in-process: create_schema, then seed_demo) and returns at once;
``wait()`` blocks until it is done and returns seed_demo's summary (as JSON), or raises ``SeedError`` with the end
of the child's log. Callers wait before any test runs, so no test ever runs beside a seeding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
# The URL goes through the environment, not the command line, which any process may read.
_SCRIPT = """
import json, os, sys
from datetime import datetime
from data.core import db
from data.demo.generator import seed_demo
engine = db.make_engine(os.environ["EQIAN_SEED_URL"])
db.create_schema(engine)
summary = seed_demo(engine, seed=int(sys.argv[1]), scale=float(sys.argv[2]), now=datetime.fromisoformat(sys.argv[3]))
engine.dispose()
print(json.dumps(summary, default=str))
"""


class SeedError(RuntimeError):
    """The child process did not seed the town; the message carries the end of its log."""


class SeedJob:
    """``seed_demo`` running in a child process."""

    def __init__(self, url: str, *, seed: int, scale: float, now: datetime, log_dir: Path):
        self.url = url
        self._name = make_url(url).render_as_string(hide_password=True)
        self._out, self._log = log_dir / "summary.json", log_dir / "seed.log"
        env = {**os.environ, "EQIAN_SEED_URL": url,
               "PYTHONPATH": os.pathsep.join(filter(None, (str(ROOT), os.environ.get("PYTHONPATH"))))}
        with open(self._out, "wb") as out, open(self._log, "wb") as log:
            self.process = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(seed), str(scale), now.isoformat()],
                                            cwd=ROOT, env=env, stdout=out, stderr=log)

    def wait(self, timeout: float = 3600) -> dict:
        """Block until the seeding is done and return its summary; SeedError if it failed."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise SeedError(f"seeding {self._name} in a child process took over {timeout:.0f} s") from None
        if code != 0:
            raise SeedError(f"seeding {self._name} in a child process failed ({code}):\n"
                            f"{self._log.read_text(errors='replace')[-4000:]}")
        return json.loads(self._out.read_text())

    def kill(self) -> None:
        """Stop the child if it still runs (a session that ends early)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

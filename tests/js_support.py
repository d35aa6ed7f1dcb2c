"""Running the page's own client-side functions (assets/*.js) in node, as the browser would call them.

``run_js("review", "writeUrl", cases)`` loads assets/review.js into a context with a ``window`` (whose
``dash_clientside.no_update`` is ``NO_UPDATE``) and returns the function's answer for each argument list.
node is Debian's nodejs, which `make system-deps` installs; without it the test fails rather than skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NO_UPDATE = "<no_update>"

_HARNESS = """
const fs = require("fs"), vm = require("vm");
const [asset, namespace, name, noUpdate] = process.argv.slice(1);
const context = {window: {dash_clientside: {no_update: noUpdate}}, URLSearchParams, encodeURIComponent};
vm.createContext(context);
vm.runInContext(fs.readFileSync(asset, "utf8"), context);
const fn = context.window.dash_clientside[namespace][name];
const cases = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(cases.map(args => fn(...args))));
"""


def run_js(namespace: str, function: str, cases: list[list], asset: str | None = None) -> list:
    """``window.dash_clientside[namespace][function](*case)`` for each case, from assets/<namespace>.js."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (make system-deps installs Debian's nodejs)")
    path = ROOT / "assets" / (asset or f"{namespace}.js")
    done = subprocess.run([node, "-e", _HARNESS, str(path), namespace, function, NO_UPDATE],
                          input=json.dumps(cases), capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

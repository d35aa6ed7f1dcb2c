"""The direction of flow: data/ knows nothing of Dash, the callbacks or the layouts.

Every module under data/ is imported in a fresh interpreter, which then must not have loaded dash, callbacks/,
layouts/ or the composition roots app.py and commands.py (layouts/ may use data/, never the other way round);
and no import statement in data/, lazy ones included, names them.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {"dash", "callbacks", "layouts", "app", "commands"}

PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps(loaded))
"""


def _data_modules() -> list[str]:
    return ["data"] + [m.name for m in pkgutil.walk_packages([str(ROOT / "data")], prefix="data.")]


def test_arc001_data_imports_no_dash_callbacks_or_layouts():
    modules = _data_modules()
    assert "data.service" in modules and "data.intake.importer" in modules and len(modules) > 30
    out = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    loaded = set(json.loads(out))
    assert "data" in loaded and "sqlalchemy" in loaded
    assert not loaded & FORBIDDEN, sorted(loaded & FORBIDDEN)


def test_arc002_the_probe_sees_a_forbidden_import():
    # the same probe on a module that does load Dash reports it, so the check above can fail
    out = subprocess.run([sys.executable, "-c", PROBE, "layouts.ids"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    assert "layouts" in json.loads(out)


def _imported_names(path: Path) -> set[str]:
    """Top-level package of every import statement in a file, at any depth (lazy imports inside functions too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_arc003_no_import_statement_in_data_names_dash_callbacks_or_layouts():
    files = sorted((ROOT / "data").rglob("*.py"))
    assert len(files) > 30
    offenders = {str(f.relative_to(ROOT)): sorted(_imported_names(f) & FORBIDDEN) for f in files}
    assert not {f: names for f, names in offenders.items() if names}
    # the same check reads a lazy import inside a function
    assert "layouts" in _imported_names(ROOT / "commands.py")

"""The layer order, as the README draws it: each package may import its own layer and the layers below it, never
one above; dash stays out of the layers that render or compute.

``LAYERS`` lists the layers lowest first. Every import statement in the project's code (lazy ones inside
functions too) is read with ``ast`` and checked against it, and every module of the dash-free layers is
imported in a fresh interpreter, which then must not have loaded dash or any layer above.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

LAYERS = (  # lowest first
    ("data.core",),  # settings, engine, schema and its rollups, vocabulary, time, cache
    ("data.access",),  # roles and the principal, accounts, audit, masking
    ("data.counts",),  # metrics, CompStat windows, operational measures, the programme's headline figures
    ("data.index",),  # the safety index: computed, stored, read, viewed; the background jobs
    ("data.intake",),  # the event importer and its quarantine
    ("data.screens",),  # what each screen shows: cockpit, wall, review, enterprise, report, geo, feed
    ("data.service",),  # the cached front door the web layer calls
    ("data.demo", "data"),  # the synthetic town (seeded through everything above)
    ("figures",),  # words, colours and plotly figures (no dash)
    ("exports",),  # files: images, CSV/XLSX, PDF/DOCX and the downloads registry (no dash)
    ("layouts",),  # Dash components, pure functions
    ("web",),  # Flask: the gate, admin pages, downloads, request checks
    ("callbacks",),  # Dash callbacks, thin
    ("app", "commands"),  # the composition roots
)
NO_DASH = ("data", "figures", "exports")  # packages that must never load dash
PROJECT_TOPS = {name.split(".")[0] for layer in LAYERS for name in layer}


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the longest package prefix of ``module`` (None: not the project's)."""
    best, best_len = None, -1
    for index, layer in enumerate(LAYERS):
        for name in layer:
            if (module == name or module.startswith(name + ".")) and len(name) > best_len:
                best, best_len = index, len(name)
    return best


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement in ``path`` names, at any depth (lazy imports inside functions too);
    ``from pkg import name`` counts as ``pkg.name`` (a sub-module or a name of pkg: the longer prefix decides)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def project_files() -> list[Path]:
    files = [ROOT / "app.py", ROOT / "commands.py"]
    for top in sorted(PROJECT_TOPS - {"app", "commands"}):
        files += sorted((ROOT / top).rglob("*.py"))
    return files


def violations(path: Path, imports: set[str]) -> list[str]:
    own = layer_of(module_name(path))
    found = []
    for name in sorted(imports):
        top = name.split(".")[0]
        if top == "dash" and module_name(path).split(".")[0] in NO_DASH:
            found.append(f"{name} (dash in a dash-free layer)")
        target = layer_of(name) if top in PROJECT_TOPS else None
        if target is not None and own is not None and target > own:
            found.append(f"{name} (layer {LAYERS[target][0]} is above {LAYERS[own][0]})")
    return found


def test_arc001_every_file_belongs_to_a_layer():
    files = project_files()
    assert len(files) > 80
    assert [str(f.relative_to(ROOT)) for f in files if layer_of(module_name(f)) is None] == []
    # the table really orders the packages it names: the data layers, then rendering, then the web
    assert layer_of("data.core.db") < layer_of("data.counts.metrics") < layer_of("data.screens.review")
    assert layer_of("data.screens.review") < layer_of("exports.tables") < layer_of("callbacks.review")


def test_arc002_no_import_reaches_above_its_layer():
    offenders = {str(f.relative_to(ROOT)): found for f in project_files()
                 if (found := violations(f, imported_modules(f)))}
    assert offenders == {}


def test_arc003_the_check_sees_an_upward_and_a_lazy_import(tmp_path, monkeypatch):
    # the same rule on files that break it reports them, so the check above can fail
    fake = ROOT / "data" / "core" / "upward_probe.py"
    source = "def later():\n    from data.screens import review\n    import dash\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    found = violations(fake, imported_modules(fake))
    assert found == ["dash (dash in a dash-free layer)", "data.screens.review (layer data.screens is above data.core)"]
    relative = ROOT / "data" / "counts" / "probe.py"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: "from ..index import safety_index\n")
    assert imported_modules(relative) == {"data.index.safety_index"}
    assert violations(relative, imported_modules(relative)) == [
        "data.index.safety_index (layer data.index is above data.counts)"]


PROBE = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps(sorted(sys.modules)))
"""


def _probe(modules: list[str]) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *modules], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=True).stdout
    return set(json.loads(out))


MIGRATIONS = ROOT / "data" / "core" / "migrations"
# Files Alembic runs itself (env.py on each upgrade, the revisions it loads), not modules to import on their own:
# arc004 leaves them to arc008, which runs them. arc002 reads their imports like any other file's.
ALEMBIC_SCRIPTS = {module_name(f) for f in MIGRATIONS.rglob("*.py") if f.name != "__init__.py"}


@pytest.mark.parametrize("package", NO_DASH)
def test_arc004_dash_free_layers_load_no_dash_nor_a_layer_above(package):
    modules = [module_name(f) for f in project_files()
               if module_name(f).split(".")[0] == package and module_name(f) not in ALEMBIC_SCRIPTS]
    if not (ROOT / package).is_dir():
        pytest.fail(f"{package}/ is missing")
    loaded = _probe(modules)
    assert "sqlalchemy" in loaded or package != "data"
    tops = {m.split(".")[0] for m in loaded}
    highest = max(layer_of(m) for m in modules)
    above = sorted(m for m in loaded if m.split(".")[0] in PROJECT_TOPS and (layer_of(m) or 0) > highest)
    assert "dash" not in tops and above == [], (package, above)


def test_arc005_the_probe_sees_a_forbidden_import():
    # the same probe on a module that does load Dash reports it, so the check above can fail
    assert "dash" in {m.split(".")[0] for m in _probe(["layouts.review"])}


# --- no SQL above data/: the layers that draw, serve and wire ask data/ for answers ------------------------------
ABOVE_DATA = ("figures", "exports", "layouts", "web", "callbacks", "app", "commands")


def sql_imports(imports: set[str]) -> list[str]:
    """The imports of ``imports`` that would let a module write SQL: anything of sqlalchemy but its exceptions,
    and the schema's tables and models (its constants, written in capitals, are vocabulary)."""
    found = []
    for name in sorted(imports):
        if name.split(".")[0] == "sqlalchemy" and not name.startswith("sqlalchemy.exc"):
            found.append(name)
        elif name.startswith("data.core.schema.") and not name.rpartition(".")[2].isupper():
            found.append(name)
        elif name == "data.core.schema":
            found.append(name)
    return found


def test_arc006_no_sql_above_data():
    offenders = {str(f.relative_to(ROOT)): found for f in project_files()
                 if module_name(f).split(".")[0] in ABOVE_DATA and (found := sql_imports(imported_modules(f)))}
    assert offenders == {}


def test_arc007_the_sql_check_sees_a_query(monkeypatch):
    fake = ROOT / "callbacks" / "probe.py"
    source = ("from sqlalchemy import select\nfrom sqlalchemy.exc import SQLAlchemyError\n"
              "from data.core.schema import Incident, IMPORT_KINDS\n")
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: source)
    assert sql_imports(imported_modules(fake)) == ["data.core.schema.Incident", "sqlalchemy.select"]


# --- the migrations: data.core, run by Alembic, with neither Dash nor Flask ----------------------------------------
UPGRADE = """
import json, sys
from data.core import db, migrate
migrate.upgrade(db.make_engine(sys.argv[1]))
print(json.dumps(sorted(sys.modules)))
"""


def test_arc008_the_migrations_are_data_core_and_an_upgrade_loads_neither_dash_nor_flask(tmp_path):
    files = [ROOT / "data" / "core" / "migrate.py", *sorted(MIGRATIONS.rglob("*.py"))]
    assert len(files) >= 4 and {str(f.relative_to(MIGRATIONS)) for f in files[1:]} >= {"env.py", "__init__.py"}
    assert {LAYERS[layer_of(module_name(f))] for f in files} == {("data.core",)}
    direct = {str(f.relative_to(ROOT)): found for f in files
              if (found := sorted(n for n in imported_modules(f) if n.split(".")[0] in ("dash", "flask")))}
    assert direct == {}
    # an upgrade of a new database runs env.py and every revision: what that loads
    out = subprocess.run([sys.executable, "-c", UPGRADE, f"sqlite:///{tmp_path / 'up.db'}"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120, check=True).stdout
    loaded = set(json.loads(out))
    assert "alembic.runtime.migration" in loaded and "data.core.migrate" in loaded
    assert {m.split(".")[0] for m in loaded} & {"dash", "flask"} == set()
    above = sorted(m for m in loaded if m.split(".")[0] in PROJECT_TOPS and m != "data"  # the package, docstring only
                   and (layer_of(m) or 0) > layer_of("data.core"))
    assert above == []

"""Mapping files: how a foreign CSV/XLSX layout maps onto our incidents, disputes and hazards.

A mapping (YAML or JSON, or a dict) names the file's format and encoding, the time zone of its clocks,
its coordinate system and jurisdiction rule, and for each of our fields where the value comes from: a
column (or several joined), a constant, a regex to cut a part out, a table of foreign values onto ours,
ordered regex rules and a default. The format is documented with examples in docs/import.md.

``load_mapping`` checks the whole mapping before any row is read and raises ``MappingError`` naming the
key at fault, so a bad mapping never leaves half an import behind. Its regular expressions run on RE2
(``patterns``: linear time, whatever the pattern), and a mapping nested deeper than ``MAX_DEPTH`` levels or
holding more than ``MAX_VALUES`` values (YAML aliases expanded) is refused before it is used.
"""

from __future__ import annotations

import codecs
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from data.core import vocab
from data.core.schema import EVENT_KINDS, IMPORT_KINDS, REFERENCE_KINDS  # noqa: F401 - the kinds, for data.intake
from data.intake.patterns import PatternError, SafePattern, compile_pattern

KINDS = IMPORT_KINDS  # events (data.intake.importer) and reference data (data.intake.registry)
RESERVED_SOURCES = (vocab.SOURCES_LOCAL, "demo")
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_EARLIEST = date(2000, 1, 1)
# Year-first layouts only: day-first and month-first dates are ambiguous and must be declared.
DEFAULT_TIME_FORMATS = ("iso", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d",
                        "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y%m%d%H%M%S")
DEFAULT_DATE_FORMATS = ("iso", "%Y/%m/%d", "%Y-%m-%d", "%Y年%m月%d日", "%Y%m%d")
TRUE_WORDS = ("1", "true", "t", "yes", "y", "是", "涉企", "√")
FALSE_WORDS = ("0", "false", "f", "no", "n", "否", "非涉企", "×")
MAX_DEPTH = 16  # levels of tables and lists; a real mapping has 6 (fields > category > rules > [i] > pattern)
MAX_VALUES = 100_000  # keys, values and list items, YAML aliases counted each time they are used


class MappingError(ValueError):
    """The mapping itself is wrong (a key, a value, a column the file lacks); no row was imported."""


@dataclass(frozen=True)
class Target:
    """One of our fields an import can fill: its type and rules."""

    type: str  # id time date text int decimal float bool vocab station park enterprise credit_code sector geometry
    #            network_class
    required: bool = False
    choices: tuple = ()
    max_len: int | None = None
    derived: bool = False  # required, but derivable when the mapping leaves it out


def _incident_subcategories() -> tuple[str, ...]:
    return tuple(s for subs in vocab.INCIDENT_SUBCATEGORIES.values() for s in subs)


_COMMON = {
    "source_id": Target("id", required=True, max_len=64),
    "enterprise": Target("enterprise"),
    "station": Target("station", required=True, derived=True),
    "park": Target("park"),
    "lat": Target("float"),
    "lon": Target("float"),
}
TARGETS: dict[str, dict[str, Target]] = {
    "incidents": {
        **_COMMON,
        "received_at": Target("time", required=True),
        "category": Target("vocab", required=True, choices=vocab.INCIDENT_CATEGORIES),
        "subcategory": Target("vocab", choices=_incident_subcategories()),
        "priority": Target("int", required=True, choices=vocab.PRIORITIES),
        "enterprise_related": Target("bool", required=True, derived=True),
        "address": Target("text", max_len=200),
        "caller_name": Target("text", max_len=64),
        "caller_phone": Target("text", max_len=32),
        "summary": Target("text", max_len=4000),
        "channel": Target("vocab", required=True, choices=vocab.CHANNELS),
        "disposition": Target("vocab", choices=vocab.DISPOSITIONS),
        "dispatched_at": Target("time"),
        "arrived_at": Target("time"),
        "closed_at": Target("time"),
        "loss_amount": Target("decimal"),
        "recovered_amount": Target("decimal"),
    },
    "disputes": {
        **_COMMON,
        "reported_at": Target("time", required=True),
        "dispute_type": Target("vocab", required=True, choices=vocab.DISPUTE_TYPES),
        "parties": Target("text", max_len=200),
        "party_count": Target("int", required=True, derived=True),
        "amount": Target("decimal"),
        "settled_level": Target("vocab", choices=vocab.SETTLED_LEVELS),
        "mediator": Target("vocab", choices=vocab.MEDIATORS),
        "status": Target("vocab", required=True, derived=True, choices=vocab.DISPUTE_STATUSES),
        "settled_at": Target("time"),
    },
    "hazards": {
        **_COMMON,
        "found_at": Target("time", required=True),
        "hazard_type": Target("vocab", required=True, choices=vocab.HAZARD_TYPES),
        "severity": Target("vocab", required=True, choices=vocab.HAZARD_SEVERITIES),
        "description": Target("text", max_len=200),
        "deadline": Target("date", required=True, derived=True),
        "rectified_at": Target("time"),
        "status": Target("vocab", required=True, derived=True, choices=vocab.HAZARD_STATUSES),
    },
    # Reference data (data/intake/registry.py): matched on their key, updated in place, never deleted.
    "network_classes": {
        "name": Target("text", required=True, max_len=16),
        "name_en": Target("text", max_len=40),
        "position": Target("int"),
    },
    "teams": {
        "enterprise": Target("enterprise", required=True),  # a credit code, or a registry's own id (registry:)
        "team_type": Target("vocab", required=True, choices=vocab.TEAM_TYPES),
        "established_on": Target("date", required=True),
        "dissolved_on": Target("date"),
        "members": Target("int"),
    },
    "sectors": {
        "name": Target("text", required=True, max_len=16),
        "name_en": Target("text", max_len=40),
        "industry_codes": Target("text", max_len=400),  # GB/T 4754 codes the sector covers: C18, C1820, ...
        "position": Target("int"),
    },
    "parks": {
        "code": Target("id", required=True, max_len=32),
        "name": Target("text", required=True, max_len=64),
        "station": Target("station", required=True, derived=True),  # else the station whose area holds it
        "lat": Target("float"),
        "lon": Target("float"),
        "polygon": Target("geometry"),  # GeoJSON or WKT text; its centre is the point when none is given
    },
    "enterprises": {
        "credit_code": Target("credit_code"),  # 统一社会信用代码; this or source_id is the row's key
        "source_id": Target("id", max_len=64),  # the registry's own id
        "name": Target("text", required=True, max_len=100),
        "sector": Target("sector", required=True),  # a sector's name, or an industry code it covers
        "workers": Target("int"),
        "address": Target("text", max_len=120),
        "park": Target("park"),
        "station": Target("station", required=True, derived=True),
        "lat": Target("float"),
        "lon": Target("float"),
        "network_unit_class": Target("network_class"),  # one of the bureau's network_classes
        "registered_on": Target("date"),
        "deregistered_on": Target("date"),
    },
}
TIME_FIELD = {"incidents": "received_at", "disputes": "reported_at", "hazards": "found_at"}

_TOP_KEYS = {"kind", "source", "description", "format", "encoding", "delimiter", "quotechar", "header", "columns",
             "skip_rows", "sheet", "timezone", "earliest", "formulas", "coordinates", "deadline_days", "fields",
             "snapshot", "max_close"}
_FIELD_KEYS = {"column", "columns", "value", "join", "pattern", "map", "rules", "ignore_case", "default", "format",
               "timezone", "true", "false", "unknown", "hash", "registry"}
_NO_DEFAULT = object()


@dataclass(frozen=True)
class FieldSpec:
    """Where one of our fields comes from."""

    name: str
    columns: tuple[str, ...] = ()
    value: Any = None  # the constant, when columns is empty and has_value
    has_value: bool = False
    hash_id: bool = False  # source_id only: a hash of the whole raw row
    join: str = " "
    pattern: SafePattern | None = None
    map: dict | None = None
    rules: tuple[tuple[SafePattern, Any], ...] = ()
    ignore_case: bool = False
    default: Any = _NO_DEFAULT
    formats: tuple[str, ...] = ()
    timezone: ZoneInfo | None = None
    true_words: frozenset = frozenset()
    false_words: frozenset = frozenset()
    unknown: str = "reject"  # enterprise: a valid credit code not in our table -> reject the row or leave it empty
    registry: str | None = None  # enterprise: the value is this registry's own id (source_id), not a credit code

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class Coordinates:
    """The coordinate system of the file's points, and what to do with points outside the jurisdiction."""

    system: str = "wgs84"  # or gcj02
    jurisdiction: str = "stations"  # stations | none | bbox
    bbox: tuple[float, float, float, float] | None = None
    outside: str = "flag"  # flag | reject


@dataclass(frozen=True)
class Mapping:
    """A checked mapping; ``to_json`` gives back a plain form that ``load_mapping`` reads again."""

    kind: str
    source: str
    fields: dict[str, FieldSpec]
    format: str = "auto"  # auto | csv | xlsx
    encoding: str = "auto"
    delimiter: str = ","
    quotechar: str = '"'
    header: bool = True
    columns: tuple[str, ...] = ()  # names for a headerless file's columns
    skip_rows: int = 0
    sheet: str | int | None = None
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo(DEFAULT_TIMEZONE))
    earliest: date = DEFAULT_EARLIEST
    formulas: str = "neutralise"  # neutralise | reject
    coordinates: Coordinates = Coordinates()
    deadline_days: int | None = None
    identity: bool = False  # the default mapping: columns named as our fields
    snapshot: str = "changes"  # reference data: changes (rows given are added or updated) | full (the whole
    #                            registry: what it no longer holds is closed)
    max_close: float = 0.1  # full snapshot: the largest share of the stored registry it may close
    raw: dict = field(default_factory=dict, compare=False)

    def to_json(self) -> str:
        return json.dumps(self.raw, ensure_ascii=False, default=str)

    def referenced_columns(self) -> set[str]:
        return {c for spec in self.fields.values() for c in spec.columns}


def _fail(where: str, message: str) -> MappingError:
    return MappingError(f"mapping: {where}: {message}")


def _zone(value, where: str) -> ZoneInfo:
    if not isinstance(value, str) or not value:
        raise _fail(where, f"time zone must be an IANA name such as Asia/Shanghai, got {value!r}")
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise _fail(where, f"unknown time zone {value!r}") from exc


def _regex(value, where: str, ignore_case: bool = False, max_groups: int | None = None) -> SafePattern:
    """A mapping's regular expression compiled by RE2, or a ``MappingError`` naming ``where`` and the reason."""
    try:
        return compile_pattern(value, ignore_case=ignore_case, max_groups=max_groups)
    except PatternError as exc:
        raise _fail(where, str(exc)) from None


def _check_format(fmt, where: str) -> str:
    from data.intake.values import compile_time_format  # noqa: PLC0415 (values imports this module)

    if not isinstance(fmt, str) or not fmt:
        raise _fail(where, f"a time format must be text, got {fmt!r}")
    try:
        compile_time_format(fmt)
    except ValueError as exc:
        raise _fail(where, str(exc)) from exc
    return fmt


def _scalar_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _field_spec(kind: str, name: str, spec, mapping_zone: ZoneInfo) -> FieldSpec:
    where = f"fields.{name}"
    targets = TARGETS[kind]
    if name not in targets:
        raise _fail(where, f"{kind} have no field {name!r}; known: {', '.join(sorted(targets))}")
    target = targets[name]
    if isinstance(spec, str):
        spec = {"column": spec}
    if not isinstance(spec, dict):
        raise _fail(where, f"give a column name or a table of options, got {spec!r}")
    # YAML reads the option names true: and false: as booleans
    spec = {("true" if k is True else "false" if k is False else k): v for k, v in spec.items()}
    unknown = set(spec) - _FIELD_KEYS
    if unknown:
        raise _fail(where, f"unknown option(s) {', '.join(sorted(map(str, unknown)))}")
    sources = [k for k in ("column", "columns", "value", "hash") if k in spec]
    if len(sources) != 1:
        raise _fail(where, "give exactly one of column, columns, value" + (" or hash" if name == "source_id" else ""))
    kw: dict[str, Any] = {"name": name}
    if "column" in spec:
        if not isinstance(spec["column"], (str, int)) or isinstance(spec["column"], bool) or spec["column"] == "":
            raise _fail(where, f"column must be a column name, got {spec['column']!r}")
        kw["columns"] = (str(spec["column"]),)
    elif "columns" in spec:
        cols = spec["columns"]
        if (not isinstance(cols, list) or not cols
                or not all(isinstance(c, (str, int)) and not isinstance(c, bool) and c != "" for c in cols)):
            raise _fail(where, f"columns must be a non-empty list of column names, got {cols!r}")
        kw["columns"] = tuple(str(c) for c in cols)
    elif "value" in spec:
        if isinstance(spec["value"], (dict, list)):
            raise _fail(where, f"value must be a single value, got {spec['value']!r}")
        kw["value"], kw["has_value"] = spec["value"], True
    else:
        if name != "source_id" or spec["hash"] is not True:
            raise _fail(where, "hash: true is for source_id only (an id made from the whole row)")
        kw["hash_id"] = True
    if "join" in spec:
        if not isinstance(spec["join"], str):
            raise _fail(where, f"join must be text, got {spec['join']!r}")
        kw["join"] = spec["join"]
    if "pattern" in spec:
        kw["pattern"] = _regex(spec["pattern"], f"{where}.pattern", max_groups=1)
    ignore_case = spec.get("ignore_case", False)
    if not isinstance(ignore_case, bool):
        raise _fail(where, f"ignore_case must be true or false, got {ignore_case!r}")
    kw["ignore_case"] = ignore_case
    if "map" in spec:
        table = spec["map"]
        if not isinstance(table, dict):
            raise _fail(f"{where}.map", f"must be a table of foreign value: our value, got {table!r}")
        for key, value in table.items():
            if isinstance(value, (dict, list)):
                raise _fail(f"{where}.map", f"{key!r} maps to {value!r}; give a single value")
        norm = (lambda s: s.casefold()) if ignore_case else (lambda s: s)
        kw["map"] = {norm(_scalar_text(k).strip()): v for k, v in table.items()}
    if "rules" in spec:
        rules = spec["rules"]
        if not isinstance(rules, list):
            raise _fail(f"{where}.rules", "must be a list of {pattern: ..., value: ...}")
        compiled = []
        for i, rule in enumerate(rules):
            if not isinstance(rule, dict) or set(rule) != {"pattern", "value"}:
                raise _fail(f"{where}.rules[{i}]", "each rule is {pattern: <regex>, value: <our value>}")
            compiled.append((_regex(rule["pattern"], f"{where}.rules[{i}].pattern", ignore_case), rule["value"]))
        kw["rules"] = tuple(compiled)
    if "default" in spec:
        if isinstance(spec["default"], (dict, list)):
            raise _fail(where, f"default must be a single value, got {spec['default']!r}")
        kw["default"] = spec["default"]
    if "format" in spec:
        if target.type not in ("time", "date"):
            raise _fail(where, f"format is for times and dates; {name} is a {target.type}")
        formats = spec["format"] if isinstance(spec["format"], list) else [spec["format"]]
        if not formats:
            raise _fail(where, "format: give at least one")
        kw["formats"] = tuple(_check_format(f, f"{where}.format") for f in formats)
    elif target.type == "time":
        kw["formats"] = DEFAULT_TIME_FORMATS
    elif target.type == "date":
        kw["formats"] = DEFAULT_DATE_FORMATS
    if "timezone" in spec:
        if target.type not in ("time", "date"):
            raise _fail(where, f"timezone is for times; {name} is a {target.type}")
        kw["timezone"] = _zone(spec["timezone"], f"{where}.timezone")
    elif target.type in ("time", "date"):
        kw["timezone"] = mapping_zone
    if "true" in spec or "false" in spec:
        if target.type != "bool":
            raise _fail(where, f"true/false word lists are for yes/no fields; {name} is a {target.type}")
    if target.type == "bool":
        words = {}
        for key, fallback in (("true", TRUE_WORDS), ("false", FALSE_WORDS)):
            given = spec.get(key, list(fallback))
            if not isinstance(given, list):
                given = [given]
            words[key] = frozenset(_scalar_text(w).strip().casefold() for w in given)
        if words["true"] & words["false"]:
            raise _fail(where, f"{sorted(words['true'] & words['false'])} listed as both true and false")
        kw["true_words"], kw["false_words"] = words["true"], words["false"]
    if "unknown" in spec:
        if target.type != "enterprise" or spec["unknown"] not in ("reject", "empty"):
            raise _fail(where, "unknown: reject|empty is for the enterprise field only")
        kw["unknown"] = spec["unknown"]
    if "registry" in spec:
        registry = spec["registry"]
        if target.type != "enterprise" or not isinstance(registry, str) or not 0 < len(registry.strip()) <= 32:
            raise _fail(where, "registry: <source> is for the enterprise field only: the name (1 to 32 characters) "
                               "of the registry import whose own ids the column holds")
        kw["registry"] = registry.strip()
    return FieldSpec(**kw)


def _coordinates(value) -> Coordinates:
    if value is None:
        return Coordinates()
    if not isinstance(value, dict):
        raise _fail("coordinates", f"must be a table (system, jurisdiction, outside), got {value!r}")
    unknown = set(value) - {"system", "jurisdiction", "outside"}
    if unknown:
        raise _fail("coordinates", f"unknown option(s) {', '.join(sorted(map(str, unknown)))}")
    system = str(value.get("system", "wgs84")).lower().replace("-", "")
    if system not in ("wgs84", "gcj02"):
        raise _fail("coordinates.system", f"wgs84 or gcj02, got {value.get('system')!r}")
    outside = value.get("outside", "flag")
    if outside not in ("flag", "reject"):
        raise _fail("coordinates.outside", f"flag or reject, got {outside!r}")
    jurisdiction = value.get("jurisdiction", "stations")
    bbox = None
    if isinstance(jurisdiction, dict):
        if set(jurisdiction) != {"bbox"}:
            raise _fail("coordinates.jurisdiction", "stations, none, or {bbox: [min_lon, min_lat, max_lon, max_lat]}")
        raw = jurisdiction["bbox"]
        try:
            bbox = tuple(float(v) for v in raw)
        except (TypeError, ValueError):
            bbox = ()
        if (len(bbox) != 4 or not (-180 <= bbox[0] < bbox[2] <= 180) or not (-90 <= bbox[1] < bbox[3] <= 90)):
            raise _fail("coordinates.jurisdiction.bbox",
                        f"[min_lon, min_lat, max_lon, max_lat] in degrees, min below max, got {raw!r}")
        jurisdiction = "bbox"
    elif jurisdiction is None or jurisdiction is False:
        jurisdiction = "none"
    elif jurisdiction not in ("stations", "none"):
        raise _fail("coordinates.jurisdiction", f"stations, none or {{bbox: [...]}}, got {jurisdiction!r}")
    return Coordinates(system=system, jurisdiction=jurisdiction, bbox=bbox, outside=outside)


class _YamlLoader(yaml.SafeLoader):
    """YAML as 1.2 reads booleans: only true/false, so foreign values such as ON, OFF, Y, N, yes and no in a
    ``map`` stay text (YAML 1.1, PyYAML's default, would turn them into true/false)."""


_BOOL = "tag:yaml.org,2002:bool"
_YamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_YamlLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


class TooDeep(ValueError):
    """A mapping file nested deeper than ``MAX_DEPTH`` levels."""


def _compose_bounded(self, parent, index):
    """PyYAML's composer recurses once per level: stop at ``MAX_DEPTH`` instead of at Python's recursion limit."""
    self.eqian_depth = getattr(self, "eqian_depth", 0) + 1
    try:
        if self.eqian_depth > MAX_DEPTH:
            raise TooDeep(f"nested more than {MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})")
        return yaml.SafeLoader.compose_node(self, parent, index)
    finally:
        self.eqian_depth -= 1


_YamlLoader.compose_node = _compose_bounded
_JSON_TOKEN = re.compile(r'\\.|["\[\]{}]', re.S)  # one character or an escape: no backtracking


def _json_depth(text: str) -> int:
    """How deep a JSON text's arrays and objects nest, read without parsing (json.loads recurses)."""
    depth = deepest = 0
    in_string = False
    for token in _JSON_TOKEN.findall(text):
        if token == '"':
            in_string = not in_string
        elif not in_string and len(token) == 1:
            depth += 1 if token in "[{" else -1
            deepest = max(deepest, depth)
    return deepest


def check_shape(data, where: str = "mapping") -> None:
    """Refuse a parsed mapping nested deeper than ``MAX_DEPTH`` or holding more than ``MAX_VALUES`` values."""
    stack = [(data, 1)]
    seen = 0
    while stack:
        value, depth = stack.pop()
        seen += 1
        if seen > MAX_VALUES:
            raise MappingError(f"{where}: holds more than {MAX_VALUES:,} keys and values (aliases expanded); "
                               f"the limit is {MAX_VALUES:,}")
        if isinstance(value, (dict, list)):
            if depth > MAX_DEPTH:
                raise MappingError(f"{where}: nested more than {MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})")
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _read_file(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise MappingError(f"mapping: cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise MappingError(f"mapping: {path} is not UTF-8 text") from exc
    try:
        if path.suffix.lower() == ".json":
            if _json_depth(text) > MAX_DEPTH:
                raise TooDeep(f"nested more than {MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})")
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_YamlLoader)  # noqa: S506 - a SafeLoader subclass
    except TooDeep as exc:
        raise MappingError(f"mapping: {path} is {exc}") from None
    except RecursionError:  # a structure deeper than the checks above foresaw
        raise MappingError(f"mapping: {path} is nested too deep (the limit is {MAX_DEPTH} levels)") from None
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise MappingError(f"mapping: {path} does not parse: {exc}") from exc
    if not isinstance(data, dict):
        raise MappingError(f"mapping: {path} must hold a table of options at the top")
    check_shape(data, f"mapping: {path}")
    return data


def load_mapping(spec, kind: str, source: str | None = None) -> Mapping:
    """A checked ``Mapping`` from a path (YAML/JSON), a dict, a ``Mapping`` or None (our own layout).

    ``kind`` is what is being imported; ``source`` overrides the mapping's ``source``.
    """
    if kind not in KINDS:
        raise MappingError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    if isinstance(spec, Mapping):
        if spec.kind != kind:
            raise MappingError(f"mapping: kind is {spec.kind}, but {kind} are being imported")
        return spec if source is None else load_mapping(dict(spec.raw, source=source), kind)
    if spec is None:
        data: dict = {"source": source or "import"}
        identity = True
    elif isinstance(spec, (str, Path)):
        data = _read_file(Path(spec))
        identity = False
    elif isinstance(spec, dict):
        check_shape(spec)
        data = dict(spec)
        identity = bool(data.pop("_identity", False))
    else:
        raise MappingError(f"mapping: give a file path or a table, got {type(spec).__name__}")
    if source is not None:
        data["source"] = source
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _fail(", ".join(sorted(map(str, unknown))), f"unknown key(s); known: {', '.join(sorted(_TOP_KEYS))}")
    if "kind" in data and data["kind"] != kind:
        raise _fail("kind", f"this mapping is for {data['kind']}, but {kind} are being imported")
    src = data.get("source")
    if not isinstance(src, str) or not src.strip() or len(src.strip()) > 32:
        raise _fail("source", f"name the system the file comes from (1 to 32 characters), got {src!r}")
    src = src.strip()
    if src in RESERVED_SOURCES:
        raise _fail("source", f"{src!r} is reserved for rows this system writes itself")
    fmt = data.get("format", "auto")
    if fmt not in ("auto", "csv", "xlsx"):
        raise _fail("format", f"auto, csv or xlsx, got {fmt!r}")
    encoding = data.get("encoding", "auto")
    if not isinstance(encoding, str):
        raise _fail("encoding", f"an encoding name such as utf-8 or gbk, got {encoding!r}")
    if encoding != "auto":
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError as exc:
            raise _fail("encoding", f"unknown encoding {encoding!r}") from exc
    delimiter = data.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\r\n\"":
        raise _fail("delimiter", f"one character such as , ; or a tab, got {delimiter!r}")
    quotechar = data.get("quotechar", '"')
    if not isinstance(quotechar, str) or len(quotechar) != 1 or quotechar == delimiter or quotechar in "\r\n":
        raise _fail("quotechar", f"one character other than the delimiter, got {quotechar!r}")
    header = data.get("header", True)
    if not isinstance(header, bool):
        raise _fail("header", f"true or false, got {header!r}")
    columns = data.get("columns", [])
    if not isinstance(columns, list) or not all(isinstance(c, (str, int)) and not isinstance(c, bool)
                                                for c in columns):
        raise _fail("columns", f"a list of column names, got {columns!r}")
    columns = tuple(str(c) for c in columns)
    if len(set(columns)) != len(columns):
        raise _fail("columns", "names must be unique")
    if not header and not columns:
        raise _fail("columns", "a file without a header line needs its column names listed here")
    skip_rows = data.get("skip_rows", 0)
    if not isinstance(skip_rows, int) or isinstance(skip_rows, bool) or not 0 <= skip_rows <= 1000:
        raise _fail("skip_rows", f"a count of lines to skip before the header (0-1000), got {skip_rows!r}")
    sheet = data.get("sheet")
    if sheet is not None and (isinstance(sheet, bool) or not isinstance(sheet, (str, int))):
        raise _fail("sheet", f"a sheet name or number, got {sheet!r}")
    zone = _zone(data.get("timezone", DEFAULT_TIMEZONE), "timezone")
    earliest = data.get("earliest", DEFAULT_EARLIEST)
    if isinstance(earliest, str):
        try:
            earliest = date.fromisoformat(earliest)
        except ValueError:
            earliest = None
    if not isinstance(earliest, date):
        raise _fail("earliest", f"a date YYYY-MM-DD before which times are refused, got {data.get('earliest')!r}")
    formulas = data.get("formulas", "neutralise")
    formulas = {"neutralize": "neutralise"}.get(formulas, formulas)
    if formulas not in ("neutralise", "reject"):
        raise _fail("formulas", f"neutralise or reject, got {formulas!r}")
    deadline_days = data.get("deadline_days")
    if deadline_days is not None:
        if kind != "hazards":
            raise _fail("deadline_days", "is for hazards only")
        if not isinstance(deadline_days, int) or isinstance(deadline_days, bool) or not 0 <= deadline_days <= 3650:
            raise _fail("deadline_days", f"a number of days (0-3650), got {deadline_days!r}")

    snapshot, max_close = _snapshot(kind, data)

    raw_fields = data.get("fields")
    if identity:
        if raw_fields is not None:
            raise _fail("fields", "the default mapping takes no fields")
        raw_fields = {}
    if not isinstance(raw_fields, dict):
        raise _fail("fields", "a table of our field: where its value comes from")
    fields = {str(name): _field_spec(kind, str(name), spec, zone) for name, spec in raw_fields.items()}
    if not identity:
        _check_required(kind, fields, deadline_days)
    coordinates = _coordinates(data.get("coordinates"))
    if ("lat" in fields) != ("lon" in fields):
        raise _fail("fields", "give both lat and lon, or neither")
    return Mapping(kind=kind, source=src, fields=fields, format=fmt, encoding=encoding, delimiter=delimiter,
                   quotechar=quotechar, header=header, columns=columns, skip_rows=skip_rows, sheet=sheet,
                   timezone=zone, earliest=earliest, formulas=formulas, coordinates=coordinates,
                   deadline_days=deadline_days, identity=identity, snapshot=snapshot, max_close=max_close,
                   raw={**data, "kind": kind, "source": src, **({"_identity": True} if identity else {})})


def _snapshot(kind: str, data: dict) -> tuple[str, float]:
    """A reference import's snapshot mode and how much of the stored registry a full snapshot may close."""
    snapshot = data.get("snapshot", "changes")
    max_close = data.get("max_close", 0.1)
    if ("snapshot" in data or "max_close" in data) and kind != "enterprises":
        raise _fail("snapshot", f"is for the enterprise registry, not {kind} (which are only added and updated)")
    if snapshot not in ("changes", "full"):
        raise _fail("snapshot", f"changes (add and update what the file holds) or full (the whole registry: what "
                                f"it no longer holds is closed), got {snapshot!r}")
    if isinstance(max_close, bool) or not isinstance(max_close, (int, float)) or not 0 <= max_close <= 1:
        raise _fail("max_close", f"a share between 0 and 1 (0.1: at most a tenth of the registry), got {max_close!r}")
    return snapshot, float(max_close)


def _check_required(kind: str, fields: dict[str, FieldSpec], deadline_days: int | None) -> None:
    missing = [name for name, target in TARGETS[kind].items()
               if target.required and not target.derived and name not in fields]
    if kind == "hazards" and "deadline" not in fields and deadline_days is None:
        missing.append("deadline (or deadline_days)")
    if kind == "enterprises" and "credit_code" not in fields and "source_id" not in fields:
        missing.append("credit_code or source_id (the registry's own id): the key an enterprise is matched on")
    if kind == "parks" and "station" not in fields and "lat" not in fields and "polygon" not in fields:
        missing.append("station, lat/lon or polygon (the station is found from the park's place)")
    if missing:
        raise _fail("fields", f"{kind} need {', '.join(missing)}; map a column or give a value")


def identity_fields(kind: str, header: tuple[str, ...]) -> dict[str, FieldSpec]:
    """The default mapping's fields for a file whose columns are named as ours."""
    zone = ZoneInfo(DEFAULT_TIMEZONE)
    fields = {name: _field_spec(kind, name, {"column": name}, zone) for name in TARGETS[kind] if name in header}
    _check_required(kind, fields, None)
    return fields

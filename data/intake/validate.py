"""Row validation: raw cells in, our column values or per-row reasons out, never an exception.

``RowValidator`` binds a mapping to a file's header and to the database's reference data (``Lookups``:
stations, parks, enterprises by credit code, the jurisdiction). ``validate`` takes a batch of
(line, cells) and returns one ``RowResult`` per row: the values to store, or the reasons it is refused.
Per-row work is plain Python with everything looked up in dicts; the coordinate work (GCJ-02 conversion,
the jurisdiction test, finding the station whose area holds a point) runs once per batch, vectorised.

Duplicates inside the file are recognised here by the source's own id; duplicates of stored rows are
the importer's job (it asks the database once per batch).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, select

from data.core.schema import Enterprise, InvalidCreditCode, NetworkClass, Park, Sector, Station, validate_credit_code
from data.core.timeutil import LOCAL_TZ, now_utc
from data.core.vocab import INCIDENT_SUBCATEGORIES
from data.intake import coords
from data.intake.industry import SectorTable
from data.intake.mapping import TARGETS, TIME_FIELD, FieldSpec, Mapping, MappingError, identity_fields
from data.intake.values import (
    FieldError,
    cell_text,
    check_text,
    clip,
    is_formula,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_float,
    parse_int,
    parse_time,
)

POINT_KINDS = ("incidents", "parks", "enterprises")  # kinds that store the row's point
FUTURE_SLACK = timedelta(minutes=5)  # clocks of other systems run a little ahead
_LATER_THAN = {  # time field -> the time it may not precede
    "dispatched_at": "received_at", "arrived_at": "received_at", "closed_at": "received_at",
    "settled_at": "reported_at", "rectified_at": "found_at",
}


@dataclass
class Lookups:
    """The database's reference data an import resolves names and codes against."""

    stations: dict[str, int]  # code and name, case-folded -> id
    parks: dict[str, tuple[int, int]]  # code and name, case-folded -> (id, station_id)
    enterprises: dict[str, tuple[int, int, int | None]]  # credit code -> (id, station_id, park_id)
    station_areas: coords.StationAreas
    now: datetime
    # (registry source, its own id) -> (id, station_id, park_id): events linked by a registry's id
    registry_ids: dict[tuple[str, str], tuple[int, int, int | None]] = field(default_factory=dict)
    park_points: dict[int, tuple[float, float]] = field(default_factory=dict)  # id -> (lon, lat)
    station_centres: dict[int, tuple[float, float]] = field(default_factory=dict)  # id -> (lon, lat)
    sectors: SectorTable = field(default_factory=lambda: SectorTable(frozenset(), {}))
    network_classes: frozenset[str] = frozenset()

    @classmethod
    def load(cls, conn: Connection, now: datetime | None = None) -> Lookups:
        stations, centres = {}, {}
        for row in conn.execute(select(Station.id, Station.code, Station.name, Station.centre_lon,
                                       Station.centre_lat)):
            stations[row.code.casefold()] = int(row.id)
            stations[row.name.casefold()] = int(row.id)
            centres[int(row.id)] = (row.centre_lon, row.centre_lat)
        parks, points = {}, {}
        for r in conn.execute(select(Park.id, Park.code, Park.name, Park.station_id, Park.lon, Park.lat)):
            parks[r.name.casefold()] = (int(r.id), int(r.station_id))
            if r.code:
                parks[r.code.casefold()] = (int(r.id), int(r.station_id))
            points[int(r.id)] = (r.lon, r.lat)
        enterprises, registry_ids = {}, {}
        for r in conn.execute(select(Enterprise.id, Enterprise.credit_code, Enterprise.source, Enterprise.source_id,
                                     Enterprise.station_id, Enterprise.park_id)):
            found = (int(r.id), int(r.station_id), None if r.park_id is None else int(r.park_id))
            if r.credit_code:
                enterprises[r.credit_code] = found
            if r.source_id is not None:
                registry_ids[(r.source, r.source_id)] = found
        sectors = SectorTable.from_rows(conn.execute(select(Sector.name, Sector.industry_codes)))
        classes = frozenset(conn.execute(select(NetworkClass.name)).scalars())
        return cls(stations, parks, enterprises, coords.station_areas(conn), now or now_utc(), registry_ids,
                   points, centres, sectors, classes)


@dataclass
class RowResult:
    """One row after validation: ``values`` to store (column -> value) or ``errors``; never both."""

    line: int
    cells: tuple  # as read
    header: tuple[str, ...]
    values: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    source_id: str | None = None
    duplicate_of: int | None = None  # line of the first row with the same source id in this file
    point: tuple[float, float] | None = None  # (lon, lat) as read, for the batch step
    needs_station: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def raw(self) -> dict[str, Any]:
        """Column name -> cell as read; cells past the header's width are named #n."""
        header, cells = self.header, self.cells
        raw = {name: (cells[i] if i < len(cells) else None) for i, name in enumerate(header)}
        for i in range(len(header), len(cells)):
            raw[f"#{i + 1}"] = cells[i]
        return raw


def row_hash(raw_cells: Iterable) -> str:
    """A stable digest of a row's cells (for source ids of files that have none, and fingerprints)."""
    digest = hashlib.sha1()
    for cell in raw_cells:
        digest.update((cell_text(cell) or "").encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
    return digest.hexdigest()


class RowValidator:
    """A mapping bound to one file's header and to the database's reference data."""

    def __init__(self, mapping: Mapping, header: tuple[str, ...], lookups: Lookups):
        self.mapping = mapping
        self.kind = mapping.kind
        self.header = tuple(header)
        self.lookups = lookups
        self.targets = TARGETS[self.kind]
        fields = identity_fields(self.kind, self.header) if mapping.identity else mapping.fields
        used = {c for spec in fields.values() for c in spec.columns}
        dupes = sorted({h for h in self.header if h in used and self.header.count(h) > 1})
        if dupes:
            raise MappingError(f"the file's header names column(s) {', '.join(map(repr, dupes))} more than once")
        missing = sorted(used - set(self.header))
        if missing:
            raise MappingError(f"the file has no column(s) {', '.join(map(repr, missing))}; "
                               f"its columns are {', '.join(map(repr, self.header))}")
        self.fields = fields
        self.index = {}
        for i, name in enumerate(self.header):
            self.index.setdefault(name, i)
        self.earliest = datetime.combine(mapping.earliest, datetime.min.time(), LOCAL_TZ)
        self.latest = lookups.now + FUTURE_SLACK
        self._parsers = [(name, self._compile(spec)) for name, spec in fields.items() if not spec.hash_id]
        self._hash_ids = "source_id" in fields and fields["source_id"].hash_id
        self._required_names = [n for n, t in self.targets.items() if t.required and not t.derived and n in fields
                                and not fields[n].hash_id]
        self.jurisdiction = self._jurisdiction()
        self._seen_ids: dict[str, int] = {}
        self._hash_counts: dict[str, int] = {}

    # --- compiling the field specs --------------------------------------------------------------------

    def _jurisdiction(self) -> coords.Area:
        c = self.mapping.coordinates
        if c.jurisdiction == "none":
            return coords.ANYWHERE
        if c.jurisdiction == "bbox":
            return coords.bbox_area(c.bbox)
        union = self.lookups.station_areas.union()
        if union is None:
            if "lat" in self.fields:
                raise MappingError("mapping: coordinates.jurisdiction: the database holds no station polygons to "
                                   "check points against; declare jurisdiction: none or a bbox")
            return coords.ANYWHERE
        return union

    def _compile(self, spec: FieldSpec) -> Callable[[tuple, set], Any]:
        """A function (cells, flags) -> our value or None, raising FieldError."""
        target = self.targets[spec.name]
        convert = self._converter(spec, target)
        if spec.has_value:
            try:
                constant = convert(spec.value, set()) if spec.value is not None else None
            except FieldError as exc:
                raise MappingError(f"mapping: fields.{spec.name}.value: {exc}") from None
            return lambda _cells, _flags: constant
        self._check_mapped_values(spec, convert)
        pick = self._picker(spec)
        translate = self._translator(spec)
        if translate is None:  # the common case, one call less per cell
            def direct(cells, flags):
                raw = pick(cells)
                return None if raw is None else convert(raw, flags)

            return direct

        def field_value(cells, flags):
            raw = translate(pick(cells))
            return None if raw is None else convert(raw, flags)

        return field_value

    def _check_mapped_values(self, spec: FieldSpec, convert) -> None:
        """Every value a map, rule or default can produce must be one of ours: a mapping typo fails early."""
        if self.targets[spec.name].type in ("time", "date", "text", "id", "float", "decimal"):
            return
        produced = []
        if spec.map:
            produced += [(f"map[{k!r}]", v) for k, v in spec.map.items()]
        produced += [(f"rules[{i}]", v) for i, (_p, v) in enumerate(spec.rules)]
        if spec.has_default:
            produced.append(("default", spec.default))
        for where, value in produced:
            if value is None:
                continue
            try:
                convert(value, set())
            except FieldError as exc:
                raise MappingError(f"mapping: fields.{spec.name}.{where}: {exc}") from None

    def _picker(self, spec: FieldSpec):
        idx = [self.index[c] for c in spec.columns]
        if len(idx) == 1:
            (i,) = idx

            def one(cells):
                value = cells[i]
                if isinstance(value, str):
                    value = value.strip()
                    return value or None
                return value

            return one
        join = spec.join

        def joined(cells):
            parts = [cell_text(cells[i]) for i in idx]
            parts = [p for p in parts if p]
            return join.join(parts) if parts else None

        return joined

    def _translator(self, spec: FieldSpec):
        pattern, table, rules, fold = spec.pattern, spec.map, spec.rules, spec.ignore_case
        has_default, default = spec.has_default, spec.default
        if pattern is None and table is None and not rules and not has_default:
            return None
        empty = table.get("", None) if table else None

        def translate(raw):
            if raw is None:
                if empty is not None:
                    return empty
                return default if has_default else None
            if pattern is not None:
                text = cell_text(raw) or ""
                m = pattern.search(text)
                if m is None:
                    if has_default and table is None and not rules:
                        return default
                    raise FieldError(f"{clip(text)} does not match the pattern {pattern.pattern!r}")
                raw = (m.group(1) if pattern.groups else m.group(0)).strip()
                if not raw:
                    return default if has_default else None
            if table is None and not rules:
                return raw
            text = cell_text(raw) or ""
            key = text.casefold() if fold else text
            if table is not None and key in table:
                return table[key]
            for rule, value in rules:
                if rule.search(text):
                    return value
            if has_default:
                return default
            raise FieldError(f"{clip(text)} is not in the mapping (no map entry, rule or default)")

        return translate

    def _converter(self, spec: FieldSpec, target):
        kind = target.type
        formulas = self.mapping.formulas
        lookups = self.lookups
        if kind == "time":
            formats, zone = spec.formats, spec.timezone
            earliest, latest = self.earliest, self.latest

            def as_time(raw, _flags):
                value = parse_time(raw, formats, zone)
                if value > latest:
                    raise FieldError(f"{clip(cell_text(raw))} is in the future")
                if value < earliest:
                    raise FieldError(f"{clip(cell_text(raw))} is before {self.mapping.earliest.isoformat()}")
                return value

            return as_time
        if kind == "date":
            formats, zone = spec.formats, spec.timezone
            return lambda raw, _flags: parse_date(raw, formats, zone)
        if kind in ("text", "id"):
            max_len = target.max_len

            def as_text(raw, flags):
                text = check_text(cell_text(raw) or "")
                if is_formula(text):
                    if formulas == "reject":
                        raise FieldError(f"{clip(text)} starts with {text[0]!r}: a spreadsheet would run it as a "
                                         "formula (formulas: reject)")
                    text = "'" + text
                    flags.add("formula")
                if max_len is not None and len(text) > max_len:
                    raise FieldError(f"{len(text)} characters, at most {max_len}")
                return text

            return as_text
        if kind == "int":
            choices = target.choices

            def as_int(raw, _flags):
                value = parse_int(raw)
                if choices and value not in choices:
                    raise FieldError(f"{clip(raw)} is not one of {', '.join(map(str, choices))}")
                if spec.name == "party_count" and not 1 <= value <= 100000:
                    raise FieldError(f"{clip(raw)} is not a count of parties")
                return value

            return as_int
        if kind == "float":
            return lambda raw, _flags: parse_float(raw)
        if kind == "decimal":
            return lambda raw, _flags: parse_decimal(raw)
        if kind == "bool":
            t, f = spec.true_words, spec.false_words
            return lambda raw, _flags: parse_bool(raw, t, f)
        if kind == "vocab":
            choices = frozenset(target.choices)

            def as_vocab(raw, _flags):
                text = cell_text(raw) or ""
                if text not in choices:
                    raise FieldError(f"{clip(text)} is not one of ours ({', '.join(target.choices)})")
                return text

            return as_vocab
        if kind == "station":
            def as_station(raw, _flags):
                text = (cell_text(raw) or "").casefold()
                if text not in lookups.stations:
                    raise FieldError(f"{clip(cell_text(raw))} is not a station code or name of ours")
                return lookups.stations[text]

            return as_station
        if kind == "park":
            def as_park(raw, _flags):
                text = (cell_text(raw) or "").casefold()
                if text not in lookups.parks:
                    raise FieldError(f"{clip(cell_text(raw))} is not a park of ours")
                return lookups.parks[text]

            return as_park
        if kind == "enterprise" and spec.registry is not None:
            registry, unknown = spec.registry, spec.unknown

            def by_registry_id(raw, _flags):
                text = check_text(cell_text(raw) or "")
                found = lookups.registry_ids.get((registry, text))
                if found is None:
                    if unknown == "empty":
                        return None
                    raise FieldError(f"{clip(text)} is not the id of an enterprise of registry {registry}")
                return found

            return by_registry_id
        if kind == "enterprise":
            unknown = spec.unknown

            def as_enterprise(raw, _flags):
                text = check_text(cell_text(raw) or "")
                found = lookups.enterprises.get(text.upper().replace(" ", ""))
                if found is not None:  # a stored code, check digit or not (registries hold some that fail)
                    return found
                try:
                    code = validate_credit_code(text)
                except InvalidCreditCode as exc:
                    raise FieldError(str(exc)) from None
                except Exception as exc:  # noqa: BLE001 - python-stdnum on odd input; never let a row crash
                    raise FieldError(f"credit code {clip(text)} is not valid ({type(exc).__name__})") from None
                found = lookups.enterprises.get(code)
                if found is None:
                    if unknown == "empty":
                        return None
                    raise FieldError(f"credit code {code} is valid but no enterprise of ours has it")
                return found

            return as_enterprise
        return self._reference_converter(spec, target)

    def _reference_converter(self, spec: FieldSpec, target):
        """Field types of reference data only (data.intake.registry's validator)."""
        raise AssertionError(f"unhandled field type {target.type}")  # pragma: no cover

    # --- validating ---------------------------------------------------------------------------------------

    def validate(self, batch: list[tuple[int, tuple]], source_ids: dict[int, str] | None = None) -> list[RowResult]:
        """Validate (line, cells) rows; ``source_ids`` pins the id of given lines (quarantine resubmission)."""
        results = []
        for line, cells in batch:
            try:
                results.append(self._row(line, cells, (source_ids or {}).get(line)))
            except Exception as exc:  # noqa: BLE001 - a bug must not take the whole import down with one row
                result = RowResult(line, tuple(cells), self.header)
                result.errors.append(f"row: could not be read ({type(exc).__name__}: {clip(str(exc), 120)})")
                results.append(result)
        try:
            self._locate(results)
        except Exception as exc:  # noqa: BLE001
            for r in results:
                if r.ok and (r.point is not None or r.needs_station):
                    r.errors.append(f"lat/lon: could not be checked ({type(exc).__name__})")
        for r in results:
            if r.ok:
                self._first_seen(r)
            if not r.ok:
                r.values = None
        return results

    def _row(self, line: int, cells: tuple, pinned_id: str | None) -> RowResult:
        result = RowResult(line, tuple(cells), self.header)
        if len(cells) != len(self.header):
            result.errors.append(f"row: {len(cells)} fields, the header has {len(self.header)}")
            return result
        values: dict[str, Any] = {}
        errors = result.errors
        flags = result.flags
        for name, parse in self._parsers:
            try:
                values[name] = parse(cells, flags)
            except FieldError as exc:
                errors.append(f"{name}: {exc}")
        if self._hash_ids:
            values["source_id"] = pinned_id or self._hashed_id(cells)
        elif pinned_id is not None and values.get("source_id") is None:
            values["source_id"] = pinned_id
        result.source_id = values.get("source_id")
        self._required(values, errors)
        if errors:
            return result
        self._cross_checks(result, values)
        if not errors:
            result.values = values
        return result

    def _hashed_id(self, cells) -> str:
        digest = row_hash(cells)[:32]
        n = self._hash_counts.get(digest, 0) + 1
        self._hash_counts[digest] = n
        return f"h{digest}" if n == 1 else f"h{digest}-{n}"

    def _required(self, values: dict, errors: list[str]) -> None:
        for name in self._required_names:
            if values.get(name) is None:
                if not any(e.startswith(f"{name}:") for e in errors):
                    errors.append(f"{name}: missing")

    @staticmethod
    def _point(result: RowResult, values: dict) -> None:
        """The row's lat/lon, checked, kept as ``result.point`` for the batch's coordinate work."""
        lat, lon = values.pop("lat", None), values.pop("lon", None)
        if (lat is None) != (lon is None):
            result.errors.append("lat/lon: give both or neither")
        elif lat is not None and not (lat == 0 and lon == 0):
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                result.errors.append(f"lat/lon: {lat}, {lon} are not coordinates")
            else:
                result.point = (lon, lat)

    def _cross_checks(self, result: RowResult, values: dict) -> None:
        errors = result.errors
        kind = self.kind
        time_field = TIME_FIELD[kind]
        zone = self.mapping.timezone  # the clock the file is written in, so the message reads as the file does
        for name, before in _LATER_THAN.items():
            if values.get(name) is not None and values.get(before) is not None and values[name] < values[before]:
                errors.append(f"{name}: {values[name].astimezone(zone):%Y-%m-%d %H:%M} is before {before} "
                              f"{values[before].astimezone(zone):%Y-%m-%d %H:%M}")
        self._point(result, values)
        enterprise = values.pop("enterprise", None)
        values["enterprise_id"] = enterprise[0] if enterprise else None
        park = values.pop("park", None)
        values["park_id"] = park[0] if park else (enterprise[2] if enterprise else None)
        station = values.pop("station", None)
        if station is None and enterprise:
            station = enterprise[1]
        if station is None and park:
            station = park[1]
        values["station_id"] = station
        result.needs_station = station is None
        if kind == "incidents":
            sub = values.get("subcategory")
            if sub is not None and values.get("category") is not None:
                if sub not in INCIDENT_SUBCATEGORIES[values["category"]]:
                    errors.append(f"subcategory: {sub} is not a subcategory of {values['category']}")
            if values.get("enterprise_related") is None:
                values["enterprise_related"] = enterprise is not None
        elif kind == "disputes":
            if values.get("party_count") is None:
                values["party_count"] = 2
            if values.get("status") is None:
                values["status"] = "已化解" if values.get("settled_at") else "调解中"
        elif kind == "hazards":
            rectified = values.get("rectified_at")
            status = values.get("status")
            if status is None:
                values["status"] = "已整改" if rectified else "待整改"
            elif (status == "已整改") != (rectified is not None):
                errors.append(f"status: {status} " + ("needs rectified_at" if rectified is None
                                                     else "but rectified_at is set"))
            found_day = values[time_field].astimezone(LOCAL_TZ).date() if values.get(time_field) else None
            if values.get("deadline") is None:
                if self.mapping.deadline_days is not None and found_day is not None:
                    values["deadline"] = found_day + timedelta(days=self.mapping.deadline_days)
                else:
                    errors.append("deadline: missing")
            elif found_day is not None and values["deadline"] < found_day:
                errors.append(f"deadline: {values['deadline']} is before the day it was found, {found_day}")
        if values.get("source_id") is None:
            errors.append("source_id: missing (duplicates are recognised by it)")

    def _locate(self, results: list[RowResult]) -> None:
        """The batch's coordinate work: datum, jurisdiction, and the station whose area holds the point."""
        located = [r for r in results if r.ok and r.point is not None]
        if located:
            lon = np.array([r.point[0] for r in located], dtype=float)
            lat = np.array([r.point[1] for r in located], dtype=float)
            if self.mapping.coordinates.system == "gcj02":
                lon, lat = coords.gcj02_to_wgs84(lon, lat)
            inside = self.jurisdiction.contains(lon, lat)
            outside_rule = self.mapping.coordinates.outside
            station_of = (self.lookups.station_areas.locate(lon, lat)
                          if any(r.needs_station for r in located) else None)
            for i, r in enumerate(located):
                r.values["lat"], r.values["lon"] = round(float(lat[i]), 7), round(float(lon[i]), 7)
                if not inside[i]:
                    if outside_rule == "reject":
                        r.errors.append(f"lat/lon: {lat[i]:.6f}, {lon[i]:.6f} lies outside {self.jurisdiction.label}")
                        continue
                    r.flags.add("out_of_area")
                if r.needs_station and station_of is not None and station_of[i]:
                    r.values["station_id"] = int(station_of[i])
                    r.needs_station = False
        for r in results:
            if r.ok:
                if r.values is not None and "lat" not in r.values and self.kind == "incidents":
                    r.values["lat"] = r.values["lon"] = None
                if r.needs_station:
                    r.errors.append("station: none given, and neither an enterprise, a park nor a point inside a "
                                    "station's area tells it")
            if r.ok and self.kind not in POINT_KINDS:
                r.values.pop("lat", None)
                r.values.pop("lon", None)

    def _first_seen(self, result: RowResult) -> None:
        sid = result.source_id
        first = self._seen_ids.get(sid)
        if first is None:
            self._seen_ids[sid] = result.line
            return
        result.duplicate_of = first
        result.errors.append(f"source_id: {clip(sid)} already on line {first} of this file")


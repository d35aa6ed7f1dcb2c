"""Reference data import: the sector table, parks and enterprises (the registry), through a mapping.

The same machinery and guarantees as the event importer (``data.intake.importer``): a mapping file, CSV or
XLSX in any encoding the reader knows (GBK included), a dry run, one transaction for the whole file, every
refused row named by line and reason, an ``imports`` record and an audit entry, and a second import of the same
file changes nothing. What differs is what a row *is*: an event happens once and is only ever added, a
reference row describes something that lasts and changes, so it is matched on its key and updated in place:

- ``sectors`` on their name; ``parks`` on their code (a stored park without one is matched on its name and
  given the code); ``enterprises`` on their 统一社会信用代码, else on the registry's own id (``source_id``
  within the mapping's ``source``).
- A stored row whose values differ is updated, and only in the columns the mapping fills: a snapshot without a
  head-count column leaves head counts alone. An enterprise whose head count, sector, park or station changes
  keeps the values it had, with the dates they held, in ``enterprise_history``.
- ``snapshot: full`` says the file is the whole registry: an enterprise of this registry it no longer holds is
  closed (``closed_on``, the snapshot's date), never deleted, and one that comes back is reopened. A full
  snapshot that would close more than ``max_close`` of the registry (a tenth, unless the mapping says
  otherwise) is refused, dry run included, so an export cut short never empties the registry by mistake.

Refused rows are not quarantined, unlike events: the next export of the registry replaces them, so the fix
belongs at the source. Ids never change, so events keep their enterprise whatever the registry does.

Credit codes are read as text. A code Excel has mangled (a number cell, scientific notation, 15 digits, an
18-digit number rounded to 000) is refused with that reason; a code whose check digit fails is stored and
flagged (``credit_code_check_digit``), since real registries hold some. An enterprise without a point takes its
park's point, else its station's centre, and is flagged (``point_from_park``, ``point_from_station``).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from shapely import wkt
from shapely.geometry import mapping as geojson_of
from shapely.geometry import shape
from sqlalchemy import Connection, Engine, bindparam, insert, select, update
from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from data.core import bulk, rollups
from data.core.schema import Enterprise, EnterpriseHistory, ImportRun, NetworkClass, Park, Sector, Team
from data.core.timeutil import local_today, now_utc
from data.intake import coords
from data.intake.importer import BATCH_SIZE, ImportRefused, ImportReport, refuse_demo, run_all_or_nothing
from data.intake.industry import check_codes
from data.intake.mapping import REFERENCE_KINDS, FieldSpec, Mapping, MappingError, load_mapping
from data.intake.reader import FileError, Input, open_table, resolve_input
from data.intake.validate import Lookups, RowResult, RowValidator
from data.intake.values import FieldError, cell_text, check_text, clip

TABLES = {"sectors": Sector.__table__, "network_classes": NetworkClass.__table__, "parks": Park.__table__,
          "enterprises": Enterprise.__table__, "teams": Team.__table__}
# The columns a row of each kind may set (what is compared with the stored row), by the field that fills them.
FIELD_COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    "sectors": {"name": ("name",), "name_en": ("name_en",), "industry_codes": ("industry_codes",),
                "position": ("position",)},
    "network_classes": {"name": ("name",), "name_en": ("name_en",), "position": ("position",)},
    "teams": {"enterprise": ("enterprise_id",), "team_type": ("team_type",), "established_on": ("established_on",),
              "dissolved_on": ("dissolved_on",), "members": ("members",)},
    "parks": {"code": ("code",), "name": ("name",), "station": ("station_id",), "lat": ("lat", "lon"),
              "polygon": ("polygon_geojson", "lat", "lon")},
    "enterprises": {"credit_code": ("credit_code",), "source_id": ("source_id",), "name": ("name",),
                    "sector": ("sector", "industry_code"), "workers": ("workers",), "address": ("address",),
                    "park": ("park_id",), "station": ("station_id",), "lat": ("lat", "lon"),
                    "network_unit_class": ("network_unit_class",), "registered_on": ("registered_on",),
                    "deregistered_on": ("deregistered_on",)},
}
ALWAYS = {"parks": ("station_id", "lat", "lon"), "enterprises": ("station_id", "lat", "lon", "park_id")}
HISTORY_COLUMNS = ("workers", "sector", "park_id", "station_id")  # kept with the dates they held
_SCIENTIFIC = re.compile(r"[+-]?\d+(\.\d*)?E[+-]?\d+")
_FALLBACK_FLAGS = ("point_from_park", "point_from_station")


@dataclass
class RegistryReport(ImportReport):
    """What a reference import did: new, updated, unchanged and (full snapshot) closed rows."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    reopened: int = 0
    history: int = 0
    stored_before: int = 0  # rows of this kind (enterprises: of this registry, open) before the import
    changed_fields: Counter = field(default_factory=Counter)
    snapshot: str = "changes"
    as_of: date | None = None
    follow_up: list[str] = field(default_factory=list)  # what ran after the import (the index refresh)
    QUARANTINES = False  # refused rows are listed, not kept: the registry's next export replaces them

    def lines(self, limit: int | None = 200) -> list[str]:
        return [*super().lines(limit), *self.follow_up]

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated or self.closed)

    def summary(self) -> str:
        if not self.ok:
            return self.failure()
        verb = "would import" if self.dry_run else "imported"
        text = (f"{verb} {self.kind} from {self.source}: {self.rows_read:,} rows read, {self.inserted:,} new, "
                f"{self.updated:,} updated, {self.unchanged:,} unchanged, {self.rejected:,} rejected, "
                f"{self.flagged:,} flagged")
        if self.changed_fields:
            text += " (changed: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.changed_fields.items())) + ")"
        if self.flags:
            text += " (flags: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.flags.items())) + ")"
        if self.snapshot == "full":
            share = self.closed / self.stored_before if self.stored_before else 0.0
            text += (f"; full snapshot of {self.as_of}: {self.closed:,} of the {self.stored_before:,} stored "
                     f"{'would be ' if self.dry_run else ''}closed ({share:.1%}), {self.reopened:,} reopened")
        if not self.changed and not self.dry_run:
            text += "; nothing new: the database is unchanged"
        return text + f"; {self.seconds:.1f} s"

    def to_dict(self) -> dict:
        out = super().to_dict()
        out.update(inserted=self.inserted, updated=self.updated, unchanged=self.unchanged, closed=self.closed,
                   reopened=self.reopened, history=self.history, stored_before=self.stored_before,
                   changed_fields=dict(self.changed_fields), snapshot=self.snapshot,
                   as_of=self.as_of.isoformat() if self.as_of else None, follow_up=list(self.follow_up))
        return out


# --- validating rows ----------------------------------------------------------------------------------------


def credit_code(raw, flags: set) -> str:
    """A 统一社会信用代码 read as text, or FieldError saying how it was mangled."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raise FieldError(f"{raw!r} is a number cell: Excel keeps 15 significant digits of a number, so the code's "
                         "own digits are lost; format the column as text (文本) and export it again")
    text = check_text(cell_text(raw) or "").upper().replace(" ", "")
    if _SCIENTIFIC.fullmatch(text):
        raise FieldError(f"{clip(text)} is a number in scientific notation (how Excel shows a long number): the "
                         "code's digits are lost; format the column as text and export it again")
    if text.isdigit() and len(text) == 15:
        raise FieldError(f"{text} has 15 digits: an old 工商注册号, or a code cut to Excel's 15 significant "
                         "digits; give the 18-character 统一社会信用代码")
    try:
        return uscc.validate(text)
    except InvalidChecksum:
        if text.isdigit() and text.endswith("000"):
            raise FieldError(f"{text} ends in 000 and fails its check digit: a number Excel rounded to 15 "
                             "significant digits; format the column as text and export it again") from None
        flags.add("credit_code_check_digit")
        return text
    except ValidationError as exc:
        raise FieldError(f"{clip(text)} is not a 统一社会信用代码: {exc.message}") from None


def polygon(raw, system: str) -> Any:
    """A park's outline from GeoJSON or WKT text, valid, in WGS-84."""
    text = cell_text(raw) or ""
    try:
        geometry = shape(json.loads(text)) if text.lstrip().startswith("{") else wkt.loads(text)
    except Exception as exc:  # noqa: BLE001 - shapely and json raise many kinds on bad text
        raise FieldError(f"{clip(text)} is neither GeoJSON nor WKT ({type(exc).__name__})") from None
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise FieldError(f"a {geometry.geom_type}, not a polygon")
    if system == "gcj02":
        geometry = shapely.transform(geometry, lambda xy: np.column_stack(coords.gcj02_to_wgs84(xy[:, 0], xy[:, 1])))
    if not geometry.is_valid:
        reason = shapely.is_valid_reason(geometry)
        repaired = shapely.make_valid(geometry)
        if repaired.geom_type not in ("Polygon", "MultiPolygon") or abs(repaired.area - geometry.area) > \
                0.01 * max(repaired.area, 1e-12):
            raise FieldError(f"the polygon is not valid ({reason}) and cannot be repaired without changing it")
        geometry = repaired
    return geometry


class ReferenceValidator(RowValidator):
    """``RowValidator`` for reference rows: their own field types and cross-checks, and a point for every row."""

    def _jurisdiction(self) -> coords.Area:
        if self.mapping.coordinates.jurisdiction == "stations" and self.lookups.station_areas.union() is None:
            return coords.ANYWHERE  # stations without polygons yet: a place is checked once they have them
        return super()._jurisdiction()

    def _reference_converter(self, spec: FieldSpec, target):
        sectors = self.lookups.sectors
        if target.type == "credit_code":
            return credit_code
        if target.type == "sector":
            def as_sector(raw, _flags):
                text = cell_text(raw) or ""
                found = sectors.sector_of(text)
                if found is None:
                    raise FieldError(f"{clip(text)} is neither a sector of ours ({', '.join(sorted(sectors.names))}) "
                                     "nor an industry code one of them covers")
                return found

            return as_sector
        if target.type == "network_class":
            classes = self.lookups.network_classes

            def as_class(raw, _flags):
                text = cell_text(raw) or ""
                if text not in classes:
                    raise FieldError(f"{clip(text)} is not one of the network's classes ("
                                     f"{', '.join(sorted(classes)) or 'none imported yet'})")
                return text

            return as_class
        if target.type == "geometry":
            system = self.mapping.coordinates.system
            return lambda raw, _flags: polygon(raw, system)
        return super()._reference_converter(spec, target)

    def _cross_checks(self, result: RowResult, values: dict) -> None:
        getattr(self, f"_check_{self.kind}")(result, values)

    def _check_network_classes(self, result: RowResult, values: dict) -> None:
        result.source_id = values["name"]

    def _check_teams(self, result: RowResult, values: dict) -> None:
        enterprise = values.pop("enterprise")
        values["enterprise_id"] = enterprise[0]
        born, gone = values.get("established_on"), values.get("dissolved_on")
        if born and gone and gone < born:
            result.errors.append(f"dissolved_on: {gone} is before established_on {born}")
        if values.get("members") is not None and values["members"] < 0:
            result.errors.append(f"members: {values['members']} is not a number of members")
        result.source_id = f"{enterprise[0]}:{values['team_type']}"

    def _check_sectors(self, result: RowResult, values: dict) -> None:
        bad = check_codes(values.get("industry_codes") or "")
        if bad:
            result.errors.append(f"industry_codes: {', '.join(map(clip, bad))} are not GB/T 4754 codes")
        result.source_id = values["name"]

    def _check_parks(self, result: RowResult, values: dict) -> None:
        self._point(result, values)
        outline = values.pop("polygon", None)
        if outline is not None:
            values["polygon_geojson"] = json.dumps(geojson_of(outline), separators=(",", ":"))
            if result.point is None:  # the outline's own point, given back in the file's datum for _locate
                inner = outline.representative_point()
                lon, lat = inner.x, inner.y
                if self.mapping.coordinates.system == "gcj02":
                    lon, lat = (float(v) for v in coords.wgs84_to_gcj02(lon, lat))
                result.point = (lon, lat)
        self._station(result, values, values.pop("station", None))
        result.source_id = values["code"]

    def _check_enterprises(self, result: RowResult, values: dict) -> None:
        self._point(result, values)
        park = values.pop("park", None)
        values["park_id"] = park[0] if park else None
        self._station(result, values, values.pop("station", None) or (park[1] if park else None))
        found = values.pop("sector", None)
        if found is not None:
            values["sector"], code = found
            if code is not None:
                values["industry_code"] = code
        if values.get("workers") is not None and values["workers"] < 0:
            result.errors.append(f"workers: {values['workers']} is not a head count")
        born, gone = values.get("registered_on"), values.get("deregistered_on")
        if born and gone and gone < born:
            result.errors.append(f"deregistered_on: {gone} is before registered_on {born}")
        if "address" in values and values["address"] is None:
            values["address"] = ""  # the column holds none: stored, and compared, as empty
        key = values.get("credit_code") or values.get("source_id")
        if key is None:
            result.errors.append("credit_code: missing, and no source_id (the registry's own id) either: nothing "
                                 "to match the enterprise on")
        result.source_id = key

    @staticmethod
    def _station(result: RowResult, values: dict, station: int | None) -> None:
        values["station_id"] = station
        result.needs_station = station is None

    def _locate(self, results: list[RowResult]) -> None:
        super()._locate(results)
        if self.kind not in ("parks", "enterprises"):
            return
        for r in results:
            if r.ok and r.values.get("lat") is None:
                self._fallback_point(r)

    def _fallback_point(self, r: RowResult) -> None:
        """A row without a point takes its park's, else its station's centre, and says so."""
        park_point = self.lookups.park_points.get(r.values.get("park_id"))
        if park_point is not None and park_point[0] is not None:
            (r.values["lon"], r.values["lat"]), flag = park_point, "point_from_park"
        else:
            (r.values["lon"], r.values["lat"]), flag = self.lookups.station_centres[r.values["station_id"]], \
                "point_from_station"
        r.flags.add(flag)


# --- writing ------------------------------------------------------------------------------------------------


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 5e-8
    return a == b


class _Stored:
    """The stored rows of one kind, by every key a file's row can be matched on."""

    def __init__(self, conn: Connection, kind: str, source: str):
        table = TABLES[kind]
        self.kind, self.source = kind, source
        self.rows: dict[int, dict] = {}
        self.keys: dict[Any, int] = {}
        for row in conn.execute(select(table)).mappings():
            row = dict(row)
            self.rows[row["id"]] = row
            for key in self._keys_of(row):
                self.keys.setdefault(key, row["id"])

    def _keys_of(self, row: dict) -> list:
        if self.kind in ("sectors", "network_classes"):
            return [("name", row["name"])]
        if self.kind == "teams":
            return [("team", row["enterprise_id"], row["team_type"])]
        if self.kind == "parks":
            return [("code", row["code"])] if row["code"] else [("name", row["name"])]
        keys = []
        if row["credit_code"]:
            keys.append(("cc", row["credit_code"]))
        if row["source_id"] is not None:
            keys.append(("id", row["source"], row["source_id"]))
        return keys

    def match(self, values: dict) -> tuple[int | None, str | None]:
        """The stored row's id (or None) and a reason when the row's keys name two different rows."""
        if self.kind in ("sectors", "network_classes"):
            return self.keys.get(("name", values["name"])), None
        if self.kind == "teams":
            return self.keys.get(("team", values["enterprise_id"], values["team_type"])), None
        if self.kind == "parks":
            return self.keys.get(("code", values["code"])) or self.keys.get(("name", values["name"])), None
        by_code = self.keys.get(("cc", values["credit_code"])) if values.get("credit_code") else None
        by_id = self.keys.get(("id", self.source, values["source_id"])) if values.get("source_id") else None
        if by_code and by_id and by_code != by_id:
            return None, (f"credit_code: {values['credit_code']} is enterprise #{by_code}, but source_id "
                          f"{values['source_id']} is enterprise #{by_id}")
        return by_code or by_id, None

    def open_of_source(self) -> set[int]:
        return {i for i, r in self.rows.items() if r["source"] == self.source and r["closed_on"] is None}


class _Plan:
    """What the file does to the stored rows: inserts, updates (id -> changed columns), closes, history."""

    def __init__(self):
        self.inserts: list[dict] = []
        self.updates: dict[int, dict] = {}
        self.history: list[dict] = []
        self.seen: set[int] = set()
        self.closes: list[int] = []
        self.as_of: date | None = None


def _provided(kind: str, mapping: Mapping, fields: dict[str, FieldSpec]) -> tuple[str, ...]:
    columns = [c for name in fields for c in FIELD_COLUMNS[kind].get(name, ())]
    return tuple(dict.fromkeys([*columns, *ALWAYS.get(kind, ())]))


def _plan_row(r: RowResult, stored: _Stored, plan: _Plan, provided: tuple[str, ...], report: RegistryReport,
              mapping: Mapping, as_of: date, now: datetime, keys_seen: dict) -> str | None:
    """Decide what one valid row does; a reason when it must be refused after all."""
    values = dict(r.values)
    kind = stored.kind
    if kind == "enterprises":
        values["source"] = mapping.source
        for key in (("cc", values.get("credit_code")), ("id", values.get("source_id"))):
            if key[1] is not None:
                first = keys_seen.setdefault(key, r.line)
                if first != r.line:
                    return f"{'credit_code' if key[0] == 'cc' else 'source_id'}: {key[1]} already on line {first}"
    stored_id, conflict = stored.match(values)
    if conflict:
        return conflict
    if stored_id is None:
        values.update(_new_row_extras(kind, r, as_of, now, report))
        plan.inserts.append(values)
        return None
    if stored_id in plan.seen:
        return "the row matches the same stored row as an earlier line of this file"
    plan.seen.add(stored_id)
    old = stored.rows[stored_id]
    changes = {c: values.get(c) for c in provided if c in values and not _same(old.get(c), values.get(c))}
    if kind == "enterprises":
        _keep_stored_point(old, changes, r)
        if old["source"] is None and values.get("source_id") is not None:
            changes["source"] = mapping.source
        if old["closed_on"] is not None:
            changes["closed_on"] = None
            report.reopened += 1
        if r.flags != set((old["import_flags"] or "").split(",")) - {""}:
            changes["import_flags"] = ",".join(sorted(r.flags)) or None
    if not changes:
        report.unchanged += 1
        return None
    report.changed_fields.update(_reported(changes))
    if kind == "enterprises":
        if any(c in changes for c in HISTORY_COLUMNS):
            plan.history.append({"enterprise_id": stored_id, "valid_from": old["values_since"], "valid_to": as_of,
                                 **{c: old[c] for c in HISTORY_COLUMNS}, "import_id": report.import_id})
            changes["values_since"] = as_of
        changes["updated_at"] = now
        changes["import_id"] = report.import_id
    plan.updates[stored_id] = changes
    report.updated += 1
    return None


def _reported(changes: dict) -> list[str]:
    """The changed columns as the report counts them: a point once (lat), a sector with its industry code once."""
    quiet = {"import_flags", "source", "closed_on", "lon"} | ({"industry_code"} if "sector" in changes else set())
    return [c for c in changes if c not in quiet]


def _keep_stored_point(old: dict, changes: dict, r: RowResult) -> None:
    """A fallback point (the park's, the station's) never replaces a point the registry gave before."""
    fell_back = bool(r.flags & set(_FALLBACK_FLAGS))
    old_flags = set((old["import_flags"] or "").split(","))
    if fell_back and not (old_flags & set(_FALLBACK_FLAGS)) and old["lat"] is not None:
        changes.pop("lat", None)
        changes.pop("lon", None)
        r.flags.difference_update(_FALLBACK_FLAGS)


def _new_row_extras(kind: str, r: RowResult, as_of: date, now: datetime, report: RegistryReport) -> dict:
    report.inserted += 1
    if kind == "teams":
        return {"import_id": report.import_id, "members": r.values.get("members") or 0}
    if kind != "enterprises":
        return {}
    return {"created_at": now, "updated_at": now, "values_since": as_of, "import_id": report.import_id,
            "import_flags": ",".join(sorted(r.flags)) or None, "address": r.values.get("address") or ""}


def _write(conn: Connection, kind: str, plan: _Plan, import_id: int, now: datetime) -> None:
    table = TABLES[kind]
    if plan.inserts:
        names = list(dict.fromkeys(c for row in plan.inserts for c in row))
        bulk.insert_columns(conn, table, {c: [row.get(c) for row in plan.inserts] for c in names})
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row_id, changes in plan.updates.items():
        groups[tuple(sorted(changes))].append({"b_id": row_id, **{f"v_{c}": v for c, v in changes.items()}})
    for columns, rows in groups.items():
        stmt = update(table).where(table.c.id == bindparam("b_id")).values({c: bindparam(f"v_{c}") for c in columns})
        conn.execute(stmt, rows)
    if plan.history:
        conn.execute(insert(EnterpriseHistory.__table__), plan.history)
    if plan.closes:
        for part in range(0, len(plan.closes), 5_000):
            conn.execute(update(table).where(table.c.id.in_(plan.closes[part:part + 5_000])).values(
                closed_on=plan.as_of, import_id=import_id, updated_at=now))


def _close_missing(stored: _Stored, plan: _Plan, report: RegistryReport, mapping: Mapping, allow_mass_close: bool,
                   as_of: date) -> None:
    """Full snapshot: the registry's open enterprises the file does not hold are closed, within ``max_close``."""
    open_ids = stored.open_of_source()
    report.stored_before = len(open_ids)
    if mapping.snapshot != "full":
        return
    plan.closes = sorted(open_ids - plan.seen)
    plan.as_of = as_of
    report.closed = len(plan.closes)
    share = report.closed / report.stored_before if report.stored_before else 0.0
    if share > mapping.max_close and not allow_mass_close:
        raise ImportRefused(
            f"this full snapshot would close {report.closed:,} of the {report.stored_before:,} open enterprises of "
            f"registry {mapping.source} ({share:.0%}), more than max_close ({mapping.max_close:.0%}): is the file "
            f"the whole registry? Nothing was stored. Import it with snapshot: changes, or, if the registry really "
            f"lost them, raise max_close or allow it (--allow-mass-close)")


# --- the import ---------------------------------------------------------------------------------------------


def import_registry(target: Engine | Connection, kind: str, data, mapping=None, *, filename: str | None = None,
                    source: str | None = None, now: datetime | None = None, as_of: date | None = None,
                    progress: Callable[[int, int], None] | None = None, batch_size: int = BATCH_SIZE,
                    dry_run: bool = False, allow_demo: bool = False, allow_mass_close: bool = False,
                    user: str | None = None, max_details: int = 10_000) -> RegistryReport:
    """Import one CSV/XLSX file of reference data (``sectors``, ``parks``, ``enterprises``) through a mapping.

    Arguments as ``data.intake.import_file``; ``as_of`` is the snapshot's date (default today, local): the day
    changed values start to hold and missing enterprises of a full snapshot are closed. Never raises for bad
    input: a file-level failure is ``report.ok == False`` with ``report.error``, and nothing is stored.
    """
    started = time.monotonic()
    report = RegistryReport(kind=kind, dry_run=dry_run, filename=filename)
    try:
        if kind not in REFERENCE_KINDS:
            raise MappingError(f"{kind} are events: import them with data.intake.import_file")
        the_mapping = load_mapping(mapping, kind, source)
        report.source, report.snapshot = the_mapping.source, the_mapping.snapshot
        the_input = resolve_input(data, filename)
        report.filename, report.sha256 = the_input.name, the_input.sha256
    except (MappingError, FileError) as exc:
        report.seconds = time.monotonic() - started
        return report.fail(exc)
    now = now or now_utc()
    report.as_of = as_of or local_today(now)
    run_all_or_nothing(target, report, dry_run, lambda conn: _run(
        conn, the_mapping, the_input, report, now, progress, batch_size, allow_demo, allow_mass_close, user,
        max_details))
    report.seconds = time.monotonic() - started
    return report


def _run(conn: Connection, mapping: Mapping, the_input: Input, report: RegistryReport, now: datetime, progress,
         batch_size: int, allow_demo: bool, allow_mass_close: bool, user: str | None, max_details: int) -> None:
    kind = mapping.kind
    refuse_demo(conn, allow_demo)
    table = open_table(the_input, mapping)
    try:
        report.format, report.encoding = table.format, table.encoding
        lookups = Lookups.load(conn, now)
        validator = ReferenceValidator(mapping, table.header, lookups)
        if "sector" in validator.fields and not lookups.sectors.names:
            raise MappingError("no sectors are defined yet: import the sector table first (flask --app app "
                               "import-registry sectors FILE; the template is on /admin/setup)")
        report.import_id = conn.execute(insert(ImportRun.__table__).values(
            kind=kind, source=mapping.source, filename=(the_input.name or None) and the_input.name[:200],
            sha256=the_input.sha256, mapping_json=mapping.to_json(), encoding=table.encoding or table.format,
            imported_by=user, started_at=now)).inserted_primary_key[0]
        stored = _Stored(conn, kind, mapping.source)
        plan, keys_seen = _Plan(), {}
        provided = _provided(kind, mapping, validator.fields)
        batch: list[tuple[int, tuple]] = []

        def take(rows):
            report.rows_read += len(rows)
            for r in validator.validate(rows):
                reason = None if not r.ok else _plan_row(r, stored, plan, provided, report, mapping,
                                                         report.as_of, now, keys_seen)
                if reason is not None:
                    r.errors.append(reason)
                if r.errors:
                    report.count_rejected(r, max_details, quarantined=False)
                elif r.flags:
                    report.count_flagged(r, max_details)

        for item in table.rows():
            batch.append(item)
            if len(batch) >= batch_size:
                take(batch)
                batch = []
                if progress:
                    progress(table.position(), table.total)
        if batch:
            take(batch)
        if kind == "enterprises":
            _close_missing(stored, plan, report, mapping, allow_mass_close, report.as_of)
        else:
            report.stored_before = len(stored.rows)
        _write(conn, kind, plan, report.import_id, now)
        report.history = len(plan.history)
        report.accepted = report.inserted + report.updated + report.closed  # the rows this import changed
        report.duplicates = report.unchanged
        if progress:
            progress(table.total, table.total)
        rollups.bump_version(conn, "registry")
        conn.execute(update(ImportRun.__table__).where(ImportRun.id == report.import_id).values(
            finished_at=now_utc(), rows_read=report.rows_read, accepted=report.accepted,
            duplicates=report.duplicates, rejected=report.rejected, flagged=report.flagged))
    finally:
        table.close()


def refresh_index_after(engine: Engine) -> str:
    """After a registry import: this month's safety index recomputed on the new registry (peer groups follow
    sectors and head counts), so the wall and the review do not wait for the app's next scheduled refresh."""
    from data.index import jobs, safety_index  # noqa: PLC0415 - the index is not needed to import

    try:
        written = jobs.refresh_current_index(engine)
    except safety_index.IndexConfigError as exc:
        return f"safety index not refreshed: {exc}"
    return f"safety index refreshed for this month: {written:,} rows"

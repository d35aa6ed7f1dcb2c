"""Station boundaries from a bureau's own files: GeoJSON, KML or a zipped ESRI Shapefile, into ``stations``.

Read with pyogrio (GDAL: every format by one reader, the ``.prj`` of a shapefile honoured) and reprojected to
WGS-84 longitude/latitude with pyproj; GCJ-02 ("Mars") coordinates from a Chinese map service are converted with
``coords.gcj02_to_wgs84``. CGCS2000 (EPSG:4490) differs from WGS-84 by centimetres and is taken as it is.

Each row is checked and, when it cannot be stored, named with its line (the file's record number) and reason:
no code or name, too long, not a polygon, empty, invalid rings that cannot be repaired without changing the area
by more than ``REPAIR_TOLERANCE`` (GEOS's make_valid and buffer(0) must agree on the area within it: a bow-tie,
where they do not, is refused; other repairs are made and listed), coordinates that are not longitude and
latitude after reading (a projected file without its ``.prj``), or one code with two names. Rows sharing a code and
name are one station in several parts (a KML district drawn as three placemarks) and are merged, and listed.
Overlaps between stations and gaps enclosed by them are reported with their area in square metres (geodesic).

All or nothing: one rejected row stores nothing; a dry run checks and reports and stores nothing. Stations are
matched on their code: a new code is created, a changed name or boundary is updated (its id never changes, so
events keep their station), a station missing from the file is kept (and counted). The import bumps the data
version, so the map, the jurisdiction test of the next event import and every cache follow at once.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyogrio
import shapely
from pyogrio import raw as ogr
from pyproj import CRS, Geod, Transformer
from pyproj.exceptions import CRSError
from shapely.strtree import STRtree
from sqlalchemy import Connection, select

from data.access import audit
from data.core import rollups
from data.core.schema import Station
from data.intake.coords import gcj02_to_wgs84

COORDINATE_SYSTEMS = ("wgs84", "cgcs2000", "gcj02")  # what the longitudes and latitudes are, once read
REPAIR_TOLERANCE = 0.01  # a repair may change a polygon's area by at most 1%
REPORT_M2 = 100.0  # overlaps and gaps smaller than this (digitising slivers) are not reported
MAX_CODE, MAX_NAME = 16, 32  # the stations table's columns
VERSION_SOURCE = "stations"
_GEOD = Geod(ellps="WGS84")
_WGS84 = CRS.from_epsg(4326)


class BoundaryError(ValueError):
    """A file that cannot be read at all (no layer, no coordinate system, a field that is not there)."""


@dataclass(frozen=True)
class Boundary:
    """One station as the file gives it (its rows merged), in WGS-84 longitude/latitude."""

    code: str
    name: str
    geometry: object  # a valid shapely Polygon or MultiPolygon
    lines: tuple[int, ...]

    @property
    def area_m2(self) -> float:
        return geodesic_area(self.geometry)


@dataclass
class BoundaryReport:
    """What an import of boundaries found and did."""

    file: str
    rows: int = 0
    crs: str = ""
    boundaries: list[Boundary] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, reason)
    repaired: list[tuple[int, str, str]] = field(default_factory=list)  # (line, code, what was done)
    merged: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)  # (code, lines)
    overlaps: list[tuple[str, str, float]] = field(default_factory=list)  # (code, code, m²)
    gaps: list[tuple[float, float, float]] = field(default_factory=list)  # (m², lon, lat of a point inside)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    kept: int = 0  # stations in the database that the file does not name (never deleted)
    dry_run: bool = False
    stored: bool = False

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        head = (f"{self.file}: {self.rows} rows, {len(self.boundaries)} stations ({self.crs}); "
                f"{len(self.rejected)} rejected, {len(self.repaired)} repaired, {len(self.merged)} merged, "
                f"{len(self.overlaps)} overlaps, {len(self.gaps)} gaps")
        if self.stored:
            return head + f"; stored: {self.created} new, {self.updated} updated, {self.unchanged} unchanged, " \
                          f"{self.kept} kept"
        return head + ("; dry run, nothing stored" if self.dry_run else "; nothing stored")

    def lines(self, limit: int = 200) -> list[str]:
        """The report as lines for a terminal or a page: every rejection first, then what was changed."""
        out = [self.summary()]
        out += [f"line {line}: {code or '—'}: {reason}" for line, code, reason in sorted(self.rejected)[:limit]]
        out += [f"line {line}: {code}: repaired ({what})" for line, code, what in self.repaired[:limit]]
        out += [f"{code}: lines {', '.join(map(str, lines))} merged into one station" for code, lines in self.merged]
        out += [f"overlap {a} / {b}: {m2:,.0f} m²" for a, b, m2 in self.overlaps[:limit]]
        out += [f"gap of {m2:,.0f} m² near {lon:.5f}, {lat:.5f}" for m2, lon, lat in self.gaps[:limit]]
        return out


def geodesic_area(geometry) -> float:
    """The area of a lon/lat geometry in square metres, on the WGS-84 ellipsoid."""
    return abs(_GEOD.geometry_area_perimeter(geometry)[0])


# --- reading -----------------------------------------------------------------------------------------------

def _source(path: Path) -> str:
    """What GDAL opens: a zipped shapefile through /vsizip/, anything else as it is."""
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            shp = [n for n in archive.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
        if len(shp) != 1:
            raise BoundaryError(f"{path.name}: a zipped shapefile holds exactly one .shp, this one {len(shp)}")
        return f"/vsizip/{path}/{shp[0]}"
    return str(path)


def _crs_of(meta: dict, given: str | None, path: Path) -> CRS:
    if given:
        try:
            return CRS.from_user_input(given)
        except CRSError as exc:
            raise BoundaryError(f"--crs {given!r} is not a coordinate system: {exc}") from None
    if not meta.get("crs"):
        raise BoundaryError(f"{path.name} says no coordinate system (a shapefile without its .prj?): "
                            "give it, for example EPSG:4326 or EPSG:4547")
    return CRS.from_user_input(meta["crs"])


def _to_lonlat(crs: CRS, coords: str) -> Callable:
    """A function over an (n, 2) array of the file's x, y: WGS-84 longitude, latitude."""
    project = None if crs.equals(_WGS84, ignore_axis_order=True) else Transformer.from_crs(crs, _WGS84, always_xy=True)

    def convert(xy: np.ndarray) -> np.ndarray:
        lon, lat = (xy[:, 0], xy[:, 1]) if project is None else project.transform(xy[:, 0], xy[:, 1])
        if coords == "gcj02":
            lon, lat = gcj02_to_wgs84(lon, lat)
        return np.column_stack([lon, lat])

    return convert


def _checked(geometry, line: int, code: str, report: BoundaryReport):
    """The row's geometry made valid and polygonal, or None (and the reason in the report)."""
    if geometry is None or geometry.is_empty:
        report.rejected.append((line, code, "no geometry"))
        return None
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        polygons = [g for g in getattr(geometry, "geoms", ()) if g.geom_type in ("Polygon", "MultiPolygon")]
        if not polygons:
            report.rejected.append((line, code, f"a {geometry.geom_type}, not a polygon"))
            return None
        geometry = shapely.union_all(polygons)
    minx, miny, maxx, maxy = geometry.bounds
    if not (-180 <= minx and maxx <= 180 and -90 <= miny and maxy <= 90):
        report.rejected.append((line, code, f"coordinates {minx:.0f}..{maxx:.0f}, {miny:.0f}..{maxy:.0f} are not "
                                            "longitude and latitude: is the coordinate system right?"))
        return None
    if geometry.is_valid:
        return geometry
    why = shapely.is_valid_reason(geometry)
    fixed = shapely.make_valid(geometry)
    if fixed.geom_type == "GeometryCollection":
        fixed = shapely.union_all([g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    before, after = geodesic_area(shapely.buffer(geometry, 0)), geodesic_area(fixed) if not fixed.is_empty else 0
    if fixed.is_empty or fixed.geom_type not in ("Polygon", "MultiPolygon") or before == 0 \
            or abs(after - before) / before > REPAIR_TOLERANCE:
        report.rejected.append((line, code, f"invalid rings ({why}): the two usual repairs disagree on its area "
                                            f"({before:,.0f} or {after:,.0f} m²); correct it in the source"))
        return None
    report.repaired.append((line, code, why))
    return fixed


def read_boundaries(path: str | Path, code_field: str, name_field: str, crs: str | None = None,
                    coords: str = "wgs84") -> BoundaryReport:
    """Read and check every row of a boundary file (nothing is stored): the report holds the stations."""
    path = Path(path)
    if coords not in COORDINATE_SYSTEMS:
        raise BoundaryError(f"coords {coords!r}: use one of {', '.join(COORDINATE_SYSTEMS)}")
    try:
        meta, _fids, wkb, values = ogr.read(_source(path))
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, zipfile.BadZipFile) as exc:
        raise BoundaryError(f"{path.name} cannot be read as GeoJSON, KML or a zipped shapefile: {exc}") from None
    fields = list(meta["fields"])
    for wanted in (code_field, name_field):
        if wanted not in fields:
            raise BoundaryError(f"{path.name} has no field {wanted!r}; it has {', '.join(fields)}")
    file_crs = _crs_of(meta, crs, path)
    convert = _to_lonlat(file_crs, coords)
    report = BoundaryReport(path.name, rows=len(wkb), crs=file_crs.name + (", GCJ-02" if coords == "gcj02" else ""))
    codes, names = values[fields.index(code_field)], values[fields.index(name_field)]
    by_code: dict[str, list] = {}
    for index, blob in enumerate(wkb):
        line = index + 1
        code, name = _text(codes[index]), _text(names[index])
        if not code or not name:
            report.rejected.append((line, code, "no code" if not code else "no name"))
            continue
        if len(code) > MAX_CODE or len(name) > MAX_NAME:
            long, most = ("code", MAX_CODE) if len(code) > MAX_CODE else ("name", MAX_NAME)
            report.rejected.append((line, code, f"{long} {(code if long == 'code' else name)!r} is longer than "
                                                f"{most} characters"))
            continue
        geometry = None if blob is None else shapely.transform(shapely.from_wkb(blob), convert)
        geometry = _checked(geometry, line, code, report)
        if geometry is not None:
            by_code.setdefault(code, []).append((line, name, geometry))
    _merge(by_code, report)
    if report.ok:
        _overlaps_and_gaps(report)
    return report


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    text = str(value).strip()
    return text[:-2] if text.endswith(".0") and text[:-2].isdigit() else text  # a number field read as float


def _merge(by_code: dict[str, list], report: BoundaryReport) -> None:
    seen_names: dict[str, str] = {}
    for code, parts in by_code.items():
        names = {name for _line, name, _g in parts}
        lines = tuple(line for line, _name, _g in parts)
        if len(names) > 1:
            report.rejected.append((lines[1], code, f"code {code} has two names: {', '.join(sorted(names))}"))
            continue
        name = names.pop()
        if name in seen_names:
            report.rejected.append((lines[0], code, f"name {name} is also code {seen_names[name]}'s"))
            continue
        seen_names[name] = code
        geometry = parts[0][2] if len(parts) == 1 else shapely.union_all([g for _l, _n, g in parts])
        if len(parts) > 1:
            report.merged.append((code, lines))
        report.boundaries.append(Boundary(code, name, geometry, lines))


def _overlaps_and_gaps(report: BoundaryReport) -> None:
    geometries = [b.geometry for b in report.boundaries]
    tree = STRtree(geometries)
    left, right = tree.query(geometries, predicate="intersects")
    for i, j in zip(left, right, strict=True):
        if i < j:
            m2 = geodesic_area(shapely.intersection(geometries[i], geometries[j]))
            if m2 >= REPORT_M2:
                report.overlaps.append((report.boundaries[i].code, report.boundaries[j].code, m2))
    union = shapely.union_all(geometries) if geometries else None
    for polygon in getattr(union, "geoms", [union] if union is not None else []):
        for ring in getattr(polygon, "interiors", ()):
            hole = shapely.Polygon(ring)
            m2 = geodesic_area(hole)
            if m2 >= REPORT_M2:
                point = hole.representative_point()
                report.gaps.append((m2, point.x, point.y))


# --- storing -----------------------------------------------------------------------------------------------

def _geojson(geometry) -> str:
    return shapely.to_geojson(geometry)


def store(conn: Connection, report: BoundaryReport) -> BoundaryReport:
    """Create or update the report's stations by code in the caller's transaction; refuses a report with
    rejections (all or nothing)."""
    if not report.ok:
        raise BoundaryError(f"{len(report.rejected)} rows rejected: nothing stored")
    stored = {r.code: r for r in conn.execute(select(Station.id, Station.code, Station.name,
                                                     Station.polygon_geojson))}
    table = Station.__table__
    for boundary in report.boundaries:
        point = boundary.geometry.representative_point()
        values = {"name": boundary.name, "polygon_geojson": _geojson(boundary.geometry),
                  "centre_lat": float(point.y), "centre_lon": float(point.x)}
        old = stored.get(boundary.code)
        if old is None:
            conn.execute(table.insert().values(code=boundary.code, **values))
            report.created += 1
        elif old.name == boundary.name and _same_shape(old.polygon_geojson, boundary.geometry):
            report.unchanged += 1
        else:
            conn.execute(table.update().where(table.c.id == old.id).values(**values))
            report.updated += 1
    report.kept = len(set(stored) - {b.code for b in report.boundaries})
    if report.created or report.updated:
        rollups.bump_version(conn, VERSION_SOURCE)
    report.stored = True
    return report


def _stored_shape(stored_geojson: str):
    """A stored station's boundary as a shapely geometry (None: not readable)."""
    try:
        return shapely.from_geojson(stored_geojson)
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None


def _same_shape(stored_geojson: str, geometry) -> bool:
    old = _stored_shape(stored_geojson)
    return old is not None and bool(shapely.equals_exact(shapely.normalize(old), shapely.normalize(geometry),
                                                          tolerance=1e-9))


def import_boundaries(conn: Connection, path: str | Path, code_field: str, name_field: str, crs: str | None = None,
                      coords: str = "wgs84", dry_run: bool = False) -> BoundaryReport:
    """Read, check and (unless a dry run or a row is rejected) store a boundary file's stations."""
    report = read_boundaries(path, code_field, name_field, crs, coords)
    report.dry_run = dry_run
    if report.ok and not dry_run:
        store(conn, report)
    return report


def record_audit(conn: Connection, report: BoundaryReport, who, ip: str = "", role: str = "") -> None:
    """Write the import to the audit log (dry runs and refusals too), as the CLI and the admin page both do:
    action ``import``, target ``<file> · stations``, the counts as one JSON line."""
    audit.record(conn, who, "import", target=f"{report.file} · stations", detail=_counts(report), ip=ip, role=role)


def _counts(report: BoundaryReport) -> str:
    return json.dumps({"rows": report.rows, "stations": len(report.boundaries), "rejected": len(report.rejected),
                       "created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                       "dry_run": report.dry_run}, ensure_ascii=False)


@dataclass(frozen=True)
class StoredStation:
    id: int
    code: str
    name: str
    area_km2: float | None  # None: no usable boundary
    lon: float
    lat: float


def stored_stations(conn: Connection) -> list[StoredStation]:
    """The stations as stored, with the area of their boundary (the admin page's list)."""
    out = []
    for r in conn.execute(select(Station.id, Station.code, Station.name, Station.polygon_geojson, Station.centre_lon,
                                 Station.centre_lat).order_by(Station.id)):
        shape = _stored_shape(r.polygon_geojson)
        area = None if shape is None else geodesic_area(shape) / 1e6
        out.append(StoredStation(int(r.id), r.code, r.name, area, float(r.centre_lon), float(r.centre_lat)))
    return out

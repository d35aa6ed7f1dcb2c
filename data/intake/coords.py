"""Coordinates for the importer: GCJ-02 → WGS-84, and the jurisdiction an imported point must fall in.

GCJ-02 ("Mars coordinates") is the datum Chinese map services (AMap/高德, Tencent, Google China) publish
in: WGS-84 shifted by a published-by-leak polynomial of a few hundred metres. The forward transform is
the well-known one (Krasovsky ellipsoid, as in googollee/eviltransform and wandergis/coordtransform); its
inverse has no closed form, so ``gcj02_to_wgs84`` solves ``wgs84_to_gcj02(w) = g`` by fixed-point
iteration, to 1e-9 degrees (about 0.1 mm). Outside China's bounding box GCJ-02 equals WGS-84.

The jurisdiction is the union of the stations' GeoJSON polygons stored in the database, or a bounding box
a mapping declares (for foreign test data), tested with shapely's vectorised ``contains_xy``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import box, shape
from sqlalchemy import Connection, select

from data.core.schema import Station

_A = 6378245.0  # Krasovsky 1940 semi-major axis, the one GCJ-02 uses
_EE = 0.00669342162296594323  # its first eccentricity squared


def _out_of_china(lon, lat):
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at a WGS-84 point."""
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * np.sin(6.0 * x * math.pi) + 20.0 * np.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(y * math.pi) + 40.0 * np.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * np.sin(y / 12.0 * math.pi) + 320.0 * np.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x)) + common
            + (20.0 * np.sin(x * math.pi) + 40.0 * np.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * np.sin(x / 12.0 * math.pi) + 300.0 * np.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * math.pi)
    outside = _out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon, lat):
    """WGS-84 → GCJ-02, element-wise over arrays (or scalars); returns (lon, lat)."""
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon, lat, tolerance: float = 1e-9, max_iterations: int = 20):
    """GCJ-02 → WGS-84, element-wise; the WGS-84 point whose GCJ-02 image is the given one."""
    g_lon, g_lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    w_lon, w_lat = g_lon.copy(), g_lat.copy()
    for _ in range(max_iterations):
        dlon, dlat = _delta(w_lon, w_lat)
        new_lon, new_lat = g_lon - dlon, g_lat - dlat
        done = np.all(np.abs(new_lon - w_lon) < tolerance) and np.all(np.abs(new_lat - w_lat) < tolerance)
        w_lon, w_lat = new_lon, new_lat
        if done:
            break
    return w_lon, w_lat


@dataclass(frozen=True)
class Area:
    """Where imported points may lie: a shapely geometry (None: anywhere) and what it is called."""

    geometry: object | None
    label: str

    def contains(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """A boolean array: which points lie inside (or on the edge of) the area."""
        if self.geometry is None:
            return np.ones(len(lon), dtype=bool)
        return shapely.intersects_xy(self.geometry, lon, lat)


ANYWHERE = Area(None, "anywhere")


def bbox_area(bounds) -> Area:
    """An area from [min_lon, min_lat, max_lon, max_lat]."""
    min_lon, min_lat, max_lon, max_lat = (float(v) for v in bounds)
    geometry = box(min_lon, min_lat, max_lon, max_lat)
    shapely.prepare(geometry)
    return Area(geometry, f"bbox {min_lon},{min_lat},{max_lon},{max_lat}")


@dataclass(frozen=True)
class StationAreas:
    """The stations' polygons, to find the station whose area holds a point."""

    ids: tuple[int, ...]
    geometries: tuple[object, ...]

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """The id of the station whose polygon holds each point, or 0 where none does."""
        out = np.zeros(len(lon), dtype=np.int64)
        for station_id, geometry in zip(self.ids, self.geometries, strict=True):
            hit = (out == 0) & shapely.intersects_xy(geometry, lon, lat)
            out[hit] = station_id
        return out

    def union(self) -> Area | None:
        if not self.geometries:
            return None
        geometry = shapely.union_all(list(self.geometries))
        shapely.prepare(geometry)
        return Area(geometry, "the stations' areas")


def station_areas(conn: Connection) -> StationAreas:
    """The stations' GeoJSON polygons from the database (stations without a usable polygon are left out)."""
    ids, geometries = [], []
    for row in conn.execute(select(Station.id, Station.polygon_geojson).order_by(Station.id)):
        try:
            geometry = shape(json.loads(row.polygon_geojson))
        except (ValueError, TypeError, KeyError, AttributeError, shapely.errors.GEOSException):
            continue
        if geometry.is_empty or geometry.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        shapely.prepare(geometry)
        ids.append(int(row.id))
        geometries.append(geometry)
    return StationAreas(tuple(ids), tuple(geometries))

"""Synthetic geography of the demo town: an irregular town outline split into station wedges.

No public township polygon of Zhili exists (see ../shared/datasets/huzhou-boundaries/README.md), so the
demo draws its own around the town centre and labels it as demo data. Coordinates are [lon, lat].
"""

from __future__ import annotations

import json
import math

import numpy as np

CENTRE_LAT = 30.845
CENTRE_LON = 120.262
KM_PER_DEG_LAT = 111.0
KM_PER_DEG_LON = 111.0 * math.cos(math.radians(CENTRE_LAT))

# Station name, code, wedge start and end angle (degrees counter-clockwise from east), population weight.
STATIONS = (
    ("织东派出所", "ZD", -45.0, 45.0, 0.30),
    ("织北派出所", "ZB", 45.0, 135.0, 0.20),
    ("织西派出所", "ZX", 135.0, 225.0, 0.20),
    ("织南派出所", "ZN", 225.0, 315.0, 0.30),
)

STREETS = (
    "大港路", "利济路", "中华路", "栋梁路", "吴兴大道", "珍贝路", "康泰路", "富民路", "织里北路", "阿祥路",
    "凯旋路", "晓河路", "长安路", "香圩墩路", "太湖路", "湖织大道", "棋盘路", "东盛路", "南太湖路", "秦家港路",
)


def town_radius_km(theta_deg):
    """Distance from the centre to the town edge in a direction (vectorised)."""
    theta = np.radians(theta_deg)
    return 6.3 * (1 + 0.12 * np.sin(3 * theta + 0.5) + 0.08 * np.cos(5 * theta + 1.2))


def km_to_lonlat(x_km, y_km):
    """Offsets east/north of the centre, in km, to longitude and latitude."""
    return CENTRE_LON + np.asarray(x_km) / KM_PER_DEG_LON, CENTRE_LAT + np.asarray(y_km) / KM_PER_DEG_LAT


def polar_to_lonlat(theta_deg, r_km):
    """A direction and distance from the centre to longitude and latitude."""
    theta = np.radians(theta_deg)
    return km_to_lonlat(r_km * np.cos(theta), r_km * np.sin(theta))


def wedge_polygon(start_deg: float, end_deg: float, step_deg: float = 3.0) -> dict:
    """A GeoJSON Polygon for one station wedge, counter-clockwise as RFC 7946 asks."""
    angles = np.arange(start_deg, end_deg + 1e-9, step_deg)
    if angles[-1] < end_deg:
        angles = np.append(angles, end_deg)
    lon, lat = polar_to_lonlat(angles, town_radius_km(angles))
    ring = [[CENTRE_LON, CENTRE_LAT]] + [[round(a, 6), round(b, 6)] for a, b in zip(lon, lat, strict=True)]
    ring.append(ring[0])
    return {"type": "Polygon", "coordinates": [ring]}


def station_rows() -> list[dict]:
    """The demo stations with their polygons and centres."""
    rows = []
    for index, (name, code, start, end, _weight) in enumerate(STATIONS, start=1):
        mid = (start + end) / 2
        lon, lat = polar_to_lonlat(mid, float(town_radius_km(mid)) * 0.5)
        rows.append(
            {
                "id": index,
                "code": code,
                "name": name,
                "polygon_geojson": json.dumps(wedge_polygon(start, end), ensure_ascii=False),
                "centre_lat": round(float(lat), 6),
                "centre_lon": round(float(lon), 6),
            }
        )
    return rows


def sample_in_wedges(rng: np.random.Generator, station_index: np.ndarray, inner: float = 0.05, outer: float = 0.95):
    """Random points inside the given stations' wedges (0-based station index per point)."""
    starts = np.array([s[2] for s in STATIONS])[station_index]
    ends = np.array([s[3] for s in STATIONS])[station_index]
    theta = starts + (ends - starts) * rng.uniform(0.03, 0.97, size=len(station_index))
    frac = np.sqrt(rng.uniform(inner**2, outer**2, size=len(station_index)))
    return polar_to_lonlat(theta, town_radius_km(theta) * frac)


def jitter(rng: np.random.Generator, lon, lat, sigma_km: float):
    """Points scattered around given points with a Gaussian spread in km."""
    n = len(lon)
    return (
        np.asarray(lon) + rng.normal(0, sigma_km, n) / KM_PER_DEG_LON,
        np.asarray(lat) + rng.normal(0, sigma_km, n) / KM_PER_DEG_LAT,
    )

"""GCJ-02 <-> WGS-84 (data/intake/coords.py) against published pairs.

The pairs (WGS-84 lat, lon -> GCJ-02 lat, lon in Shanghai, Shenzhen and Beijing) are the test vectors of
the widely used googollee/eviltransform implementations of the same algorithm.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from data.intake import gcj02_to_wgs84, wgs84_to_gcj02

PAIRS = [  # wgs lat, wgs lon, gcj lat, gcj lon
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


def _metres(lat1, lon1, lat2, lon2) -> float:
    dy = (lat2 - lat1) * 111_320
    dx = (lon2 - lon1) * 111_320 * math.cos(math.radians(lat1))
    return math.hypot(dx, dy)


class TestGcj02:
    @pytest.mark.parametrize("wlat, wlon, glat, glon", PAIRS)
    def test_gcj001_forward_matches_the_published_pair(self, wlat, wlon, glat, glon):
        lon, lat = wgs84_to_gcj02(wlon, wlat)
        assert float(lat) == pytest.approx(glat, abs=1e-9) and float(lon) == pytest.approx(glon, abs=1e-9)

    @pytest.mark.parametrize("wlat, wlon, glat, glon", PAIRS)
    def test_gcj002_inverse_recovers_wgs84_to_a_millimetre(self, wlat, wlon, glat, glon):
        lon, lat = gcj02_to_wgs84(glon, glat)
        assert _metres(float(lat), float(lon), wlat, wlon) < 0.001
        assert _metres(glat, glon, wlat, wlon) > 300  # the offset being removed is a real few hundred metres

    def test_gcj003_vectorised_and_round_trip_over_zhili(self):
        rng = np.random.default_rng(3)
        lon = 120.262 + rng.uniform(-0.08, 0.08, 1000)
        lat = 30.845 + rng.uniform(-0.06, 0.06, 1000)
        back_lon, back_lat = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
        assert np.max(np.abs(back_lon - lon)) < 1e-8 and np.max(np.abs(back_lat - lat)) < 1e-8

    def test_gcj004_outside_china_nothing_moves(self):
        lon, lat = gcj02_to_wgs84(np.array([-78.48, 2.35]), np.array([38.03, 48.86]))
        assert list(lon) == [-78.48, 2.35] and list(lat) == [38.03, 48.86]

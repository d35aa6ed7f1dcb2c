"""data.counts.metrics: percent change with an honest zero base, Poisson z, significance and the screen's percent text.

Expected values are hand computations or exact rational arithmetic (fractions), never a second call of the
function under test.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import pytest

from data.counts.metrics import NOTABLE_Z, SIGNIFICANT_Z, Change, format_pct, percent_change, poisson_z, significance


def _half_up_text(now: int, before: int) -> str:
    """The one-decimal percent text of now against before, rounded half away from zero, from exact fractions."""
    exact = Fraction(100 * (now - before), before)
    tenths = math.floor(abs(exact) * 10 + Fraction(1, 2))  # half-up on the magnitude
    if tenths == 0:
        return "0.0%"
    sign = "-" if exact < 0 else "+"
    return f"{sign}{tenths // 10}.{tenths % 10}%"


class TestPercentChange:
    def test_met001_zero_base_gives_none(self):
        assert percent_change(0, 0) is None
        assert percent_change(7, 0) is None

    def test_met002_hand_values(self):
        assert percent_change(110, 100) == 10.0
        assert percent_change(89, 100) == -11.0
        assert percent_change(0, 5) == -100.0
        assert percent_change(3, 3) == 0.0
        assert percent_change(1, 3) == pytest.approx(-200.0 / 3, rel=1e-15)
        assert percent_change(4, 3) == pytest.approx(100.0 / 3, rel=1e-15)

    def test_met003_matches_exact_fraction_on_a_grid(self):
        for before in range(1, 40):
            for now in range(0, 80):
                expected = float(Fraction(100 * (now - before), before))
                assert percent_change(now, before) == pytest.approx(expected, rel=1e-12, abs=1e-12), (now, before)


class TestPoissonZ:
    def test_met010_hand_value_z_5_3(self):
        # 2 * (sqrt 5 - sqrt 3) = 2 * (2.2360680 - 1.7320508) = 1.0080344
        assert poisson_z(5, 3) == pytest.approx(1.0080344, abs=1e-7)

    def test_met011_perfect_squares_are_exact(self):
        assert poisson_z(16, 9) == 2.0
        assert poisson_z(9, 16) == -2.0
        assert poisson_z(49, 25) == 4.0
        assert poisson_z(0, 9) == -6.0
        assert poisson_z(0, 0) == 0.0

    def test_met012_negative_counts_are_refused(self):
        with pytest.raises(ValueError, match=r"counts must not be negative: now=-1, before=3"):
            poisson_z(-1, 3)
        with pytest.raises(ValueError, match=r"counts must not be negative: now=3, before=-2"):
            poisson_z(3, -2)


class TestSignificance:
    def test_met020_thresholds_are_the_documented_constants(self):
        assert NOTABLE_Z == 2.0
        assert SIGNIFICANT_Z == 3.0

    @pytest.mark.parametrize(
        "z, expected",
        [
            (0.0, "noise"),
            (1.999999, "noise"),
            (2.0, "notable"),
            (2.999999, "notable"),
            (3.0, "significant"),
            (12.5, "significant"),
            (-1.999999, "noise"),
            (-2.0, "notable"),
            (-2.999999, "notable"),
            (-3.0, "significant"),
            (-7.0, "significant"),
        ],
    )
    def test_met021_levels_at_and_around_the_thresholds(self, z, expected):
        assert significance(z) == expected


class TestFormatPct:
    def test_met030_half_up_at_one_decimal(self):
        # -11.25 is exact in binary; Python's own formatting rounds half to even ("-11.2").
        assert f"{-11.25:.1f}" == "-11.2"
        assert format_pct(-11.25) == "-11.3%"
        assert format_pct(11.25) == "+11.3%"
        assert format_pct(-11.24) == "-11.2%"
        assert format_pct(0.25) == "+0.3%"

    def test_met031_decimal_of_repr_not_of_the_binary_value(self):
        # 0.15 is 0.1499999... in binary; the documented half-up applies to the written decimal.
        assert f"{0.15:.1f}" == "0.1"
        assert format_pct(0.15) == "+0.2%"
        assert format_pct(-2.675) == "-2.7%"
        assert format_pct(1.05) == "+1.1%"

    def test_met032_published_figures_print_as_published(self):
        assert format_pct(-11.2) == "-11.2%"
        assert format_pct(-25.2) == "-25.2%"
        assert format_pct(-13.5) == "-13.5%"
        assert format_pct(-9.5) == "-9.5%"
        assert format_pct(-6.6) == "-6.6%"
        assert format_pct(3.4) == "+3.4%"
        assert format_pct(150.0) == "+150.0%"

    def test_met033_zero_base_texts(self):
        assert format_pct(None, now=5) == "新增"
        assert format_pct(None, now=1) == "新增"
        assert format_pct(None, now=0) == "—"
        assert format_pct(None) == "—"

    def test_met034_never_minus_zero(self):
        assert format_pct(-0.04) == "0.0%"
        assert format_pct(-0.0) == "0.0%"
        assert format_pct(0.0) == "0.0%"
        assert format_pct(0.04) == "0.0%"
        assert format_pct(-0.05) == "-0.1%"
        assert format_pct(0.05) == "+0.1%"

    def test_met035_counts_grid_matches_exact_half_up(self):
        for before in range(1, 81):
            for now in range(0, 121):
                assert format_pct(percent_change(now, before), now) == _half_up_text(now, before), (now, before)

    def test_met036_counts_on_exact_half_boundaries(self):
        # 100 * (n - b) / b lands exactly on a .x5 for these pairs.
        cases = {(401, 400): "+0.3%", (399, 400): "-0.3%", (8875, 10000): "-11.3%", (9995, 10000): "-0.1%",
                 (10005, 10000): "+0.1%", (7, 8): "-12.5%", (2001, 2000): "+0.1%"}
        for (now, before), expected in cases.items():
            assert _half_up_text(now, before) == expected
            assert format_pct(percent_change(now, before), now) == expected


class TestChange:
    def test_met040_properties_for_a_decline(self):
        change = Change(now=89, before=100)
        assert change.diff == -11
        assert change.pct == -11.0
        assert change.z == pytest.approx(2 * (math.sqrt(89) - 10), abs=1e-12)
        assert change.z == pytest.approx(-1.1320, abs=1e-4)
        assert change.significance == "noise"

    def test_met041_significance_through_change(self):
        assert Change(16, 9).significance == "notable"  # z = 2(4 - 3) = 2 exactly
        assert Change(100, 81).significance == "notable"  # z = 2(10 - 9) = 2
        assert Change(1, 4).significance == "notable"  # z = 2(1 - 2) = -2
        assert Change(25, 4).significance == "significant"  # z = 6
        assert Change(64, 121).significance == "significant"  # z = 2(8 - 11) = -6
        assert Change(10, 9).significance == "noise"

    def test_met042_zero_base(self):
        assert Change(0, 0).pct is None
        assert Change(0, 0).diff == 0
        assert Change(0, 0).z == 0.0
        assert Change(0, 0).significance == "noise"
        assert Change(5, 0).pct is None
        assert Change(5, 0).diff == 5
        assert Change(5, 0).z == pytest.approx(2 * math.sqrt(5), abs=1e-12)
        assert Change(5, 0).significance == "significant"  # 4.47 >= 3

    def test_met043_is_frozen_and_compares_by_value(self):
        change = Change(3, 4)
        with pytest.raises(dataclasses.FrozenInstanceError):
            change.now = 5  # type: ignore[misc]
        assert change == Change(3, 4)
        assert change != Change(4, 3)

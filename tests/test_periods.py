"""data.core.periods: period windows and the windows they are compared with, against hand-written dates.

Every expected window below is written out by hand from a calendar; nothing is derived by calling the
function under test a second time. Spring Festival dates used: 2023-01-22, 2024-02-10, 2025-01-29,
2026-02-17.
"""

from __future__ import annotations

from datetime import date

import pytest

from data.core.periods import (
    PERIOD_KINDS,
    NoCompleteDay,
    Window,
    baseline_window,
    default_baseline_year,
    festival_aligned_year_earlier,
    period_before,
    period_name,
    period_window,
    shift_year,
    spring_festival,
    touches_jan_feb,
    year_earlier,
)

D = date


def W(first: str, last: str) -> Window:
    return Window(date.fromisoformat(first), date.fromisoformat(last))


class TestWindow:
    def test_per001_days_counts_both_ends(self):
        assert W("2026-01-01", "2026-01-01").days == 1
        assert W("2025-12-29", "2026-01-04").days == 7
        assert W("2024-02-01", "2024-02-29").days == 29
        assert W("2023-02-01", "2023-02-28").days == 28
        assert W("2024-01-01", "2024-12-31").days == 366

    def test_per002_ends_before_start_is_refused(self):
        with pytest.raises(ValueError, match=r"^window ends before it starts: 2026-01-02\.\.2026-01-01$"):
            Window(D(2026, 1, 2), D(2026, 1, 1))
        with pytest.raises(ValueError, match=r"window ends before it starts: 2025-03-01\.\.2024-03-01"):
            W("2025-03-01", "2024-03-01")

    def test_per003_shift_days_and_key(self):
        assert W("2025-12-30", "2026-01-02").shift_days(3) == W("2026-01-02", "2026-01-05")
        assert W("2024-03-01", "2024-03-02").shift_days(-2) == W("2024-02-28", "2024-02-29")
        assert W("2024-03-01", "2024-03-31").key() == ("2024-03-01", "2024-03-31")

    def test_per004_frozen_and_ordered(self):
        window = W("2026-01-01", "2026-01-31")
        with pytest.raises(AttributeError):
            window.first = D(2026, 1, 2)  # type: ignore[misc]
        shuffled = [W("2026-02-01", "2026-02-02"), W("2026-01-05", "2026-03-01"), W("2026-01-05", "2026-01-06")]
        assert sorted(shuffled) == [W("2026-01-05", "2026-01-06"), W("2026-01-05", "2026-03-01"),
                                    W("2026-02-01", "2026-02-02")]
        assert len({W("2026-01-01", "2026-01-31"), W("2026-01-01", "2026-01-31")}) == 1

    def test_per005_shift_year_maps_29_february_to_28(self):
        assert shift_year(D(2024, 2, 29), -1) == D(2023, 2, 28)
        assert shift_year(D(2024, 2, 29), 1) == D(2025, 2, 28)
        assert shift_year(D(2024, 2, 29), 4) == D(2028, 2, 29)
        assert shift_year(D(2024, 2, 28), -1) == D(2023, 2, 28)
        assert shift_year(D(2025, 3, 1), -1) == D(2024, 3, 1)
        assert shift_year(D(2025, 12, 31), -2) == D(2023, 12, 31)


class TestPeriodWindow:
    def test_per010_kinds_are_the_documented_six(self):
        assert PERIOD_KINDS == ("week", "28d", "month", "quarter", "ytd", "custom")

    # The to-date rule (docs/metrics.md): every window ends with the last complete day, yesterday.
    @pytest.mark.parametrize(
        ("today", "expected"),
        [
            (D(2026, 3, 17), W("2026-03-16", "2026-03-16")),  # Tuesday: Monday alone
            (D(2026, 3, 19), W("2026-03-16", "2026-03-18")),  # Thursday: Monday to Wednesday
            (D(2026, 3, 23), W("2026-03-16", "2026-03-22")),  # Monday: the whole week before, seven days
            (D(2026, 1, 2), W("2025-12-29", "2026-01-01")),  # Friday: the week spans New Year
            (D(2026, 1, 5), W("2025-12-29", "2026-01-04")),  # Monday after that week
            (D(2024, 3, 2), W("2024-02-26", "2024-03-01")),  # Saturday: spans 29 February
        ],
    )
    def test_per011_week_starts_monday_and_ends_yesterday(self, today, expected):
        assert period_window("week", today) == expected

    @pytest.mark.parametrize(
        ("today", "expected"),
        [
            (D(2026, 3, 17), W("2026-02-17", "2026-03-16")),
            (D(2024, 3, 11), W("2024-02-12", "2024-03-10")),  # includes 29 February
            (D(2025, 3, 11), W("2025-02-11", "2025-03-10")),
            (D(2026, 1, 11), W("2025-12-14", "2026-01-10")),
            (D(2026, 1, 1), W("2025-12-04", "2025-12-31")),
        ],
    )
    def test_per012_28d_is_yesterday_and_27_days_before(self, today, expected):
        window = period_window("28d", today)
        assert window == expected
        assert window.days == 28

    @pytest.mark.parametrize(
        ("kind", "today", "expected"),
        [
            ("month", D(2026, 3, 2), W("2026-03-01", "2026-03-01")),
            ("month", D(2026, 4, 1), W("2026-03-01", "2026-03-31")),  # the 1st: the whole month before
            ("month", D(2024, 3, 1), W("2024-02-01", "2024-02-29")),
            ("month", D(2026, 12, 31), W("2026-12-01", "2026-12-30")),
            ("quarter", D(2026, 1, 2), W("2026-01-01", "2026-01-01")),
            ("quarter", D(2026, 4, 1), W("2026-01-01", "2026-03-31")),
            ("quarter", D(2026, 5, 16), W("2026-04-01", "2026-05-15")),
            ("quarter", D(2025, 10, 1), W("2025-07-01", "2025-09-30")),
            ("quarter", D(2025, 10, 2), W("2025-10-01", "2025-10-01")),
            ("quarter", D(2026, 1, 1), W("2025-10-01", "2025-12-31")),
            ("ytd", D(2026, 1, 2), W("2026-01-01", "2026-01-01")),
            ("ytd", D(2026, 7, 1), W("2026-01-01", "2026-06-30")),
            ("ytd", D(2025, 1, 1), W("2024-01-01", "2024-12-31")),  # 1 January: the whole year before
            ("ytd", D(2024, 3, 1), W("2024-01-01", "2024-02-29")),
        ],
    )
    def test_per013_month_quarter_ytd_run_to_yesterday(self, kind, today, expected):
        assert period_window(kind, today) == expected

    def test_per014_custom_is_cut_at_yesterday(self):
        assert period_window("custom", D(2026, 3, 1), D(2025, 12, 25), D(2026, 1, 3)) == W("2025-12-25", "2026-01-03")
        assert period_window("custom", D(2026, 1, 3), D(2025, 12, 25), D(2026, 1, 3)) == W("2025-12-25", "2026-01-02")
        assert period_window("custom", D(2026, 1, 2), D(2025, 12, 25), D(2026, 3, 1)) == W("2025-12-25", "2026-01-01")
        assert period_window("custom", D(2026, 1, 2), D(2026, 1, 1), D(2026, 1, 1)) == W("2026-01-01", "2026-01-01")
        with pytest.raises(NoCompleteDay, match=r"^2026-01-02\.\.2026-01-05 has no complete day yet \(the last "
                                                r"complete day is 2026-01-01\)$"):
            period_window("custom", D(2026, 1, 2), D(2026, 1, 2), D(2026, 1, 5))

    @pytest.mark.parametrize(
        ("kind", "today", "name"),
        [
            ("week", D(2026, 12, 7), "prev_week"),  # Monday: last week
            ("week", D(2026, 12, 8), "week"),
            ("week", D(2026, 12, 6), "week"),  # Sunday: Monday to Saturday
            ("month", D(2026, 12, 1), "prev_month"),
            ("month", D(2026, 12, 2), "month"),
            ("month", D(2024, 3, 1), "prev_month"),
            ("quarter", D(2026, 10, 1), "prev_quarter"),
            ("quarter", D(2026, 10, 2), "quarter"),
            ("ytd", D(2027, 1, 1), "prev_ytd"),
            ("ytd", D(2027, 1, 2), "ytd"),
            ("28d", D(2027, 1, 1), "28d"),
        ],
    )
    def test_per018_a_window_that_is_a_whole_previous_period_is_named_so(self, kind, today, name):
        assert period_name(kind, period_window(kind, today)) == name
        assert period_name("custom", W("2026-01-01", "2026-01-31")) == "custom"

    def test_per015_custom_without_bounds_is_refused(self):
        with pytest.raises(ValueError, match=r"^a custom period needs a first and a last day$"):
            period_window("custom", D(2026, 3, 1))
        with pytest.raises(ValueError, match=r"a custom period needs a first and a last day"):
            period_window("custom", D(2026, 3, 1), first=D(2026, 1, 1))
        with pytest.raises(ValueError, match=r"a custom period needs a first and a last day"):
            period_window("custom", D(2026, 3, 1), last=D(2026, 1, 1))

    def test_per016_custom_backwards_is_refused_by_window(self):
        with pytest.raises(ValueError, match=r"window ends before it starts: 2026-01-03\.\.2025-12-25"):
            period_window("custom", D(2026, 3, 1), D(2026, 1, 3), D(2025, 12, 25))

    def test_per017_unknown_kind_is_refused(self):
        with pytest.raises(ValueError, match=r"^unknown period kind 'fortnight'; use one of week, 28d, month, "
                                             r"quarter, ytd, custom$"):
            period_window("fortnight", D(2026, 3, 1))
        with pytest.raises(ValueError, match=r"unknown period kind 'Week'"):
            period_window("Week", D(2026, 3, 1))


class TestYearEarlier:
    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            (W("2026-03-01", "2026-03-16"), W("2025-03-01", "2025-03-16")),
            (W("2024-02-29", "2024-02-29"), W("2023-02-28", "2023-02-28")),
            (W("2024-02-01", "2024-02-29"), W("2023-02-01", "2023-02-28")),  # 29 days -> 28 days
            (W("2024-02-26", "2024-03-03"), W("2023-02-26", "2023-03-03")),  # contains Feb 29: 7 -> 6 days
            (W("2025-02-26", "2025-03-03"), W("2024-02-26", "2024-03-03")),  # year earlier contains Feb 29
            (W("2025-12-29", "2026-01-04"), W("2024-12-29", "2025-01-04")),  # spans New Year
            (W("2024-01-01", "2024-12-31"), W("2023-01-01", "2023-12-31")),
        ],
    )
    def test_per020_same_dates_a_year_earlier(self, window, expected):
        assert year_earlier(window) == expected

    def test_per021_day_counts_across_the_leap_day(self):
        assert year_earlier(W("2024-02-26", "2024-03-03")).days == 6
        assert year_earlier(W("2025-02-26", "2025-03-03")).days == 7


class TestPeriodBefore:
    def test_per030_week_is_the_seven_days_before(self):
        assert period_before("week", W("2026-03-16", "2026-03-18")) == W("2026-03-09", "2026-03-11")
        # the week spanning New Year against the week before it
        assert period_before("week", W("2025-12-29", "2026-01-01")) == W("2025-12-22", "2025-12-25")
        assert period_before("week", W("2026-01-05", "2026-01-11")) == W("2025-12-29", "2026-01-04")
        assert period_before("week", W("2024-03-04", "2024-03-06")) == W("2024-02-26", "2024-02-28")

    def test_per031_28d_is_the_28_days_before(self):
        assert period_before("28d", W("2026-02-17", "2026-03-16")) == W("2026-01-20", "2026-02-16")
        assert period_before("28d", W("2024-03-01", "2024-03-28")) == W("2024-02-02", "2024-02-29")
        assert period_before("28d", W("2026-01-01", "2026-01-28")) == W("2025-12-04", "2025-12-31")

    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            (W("2026-03-01", "2026-03-16"), W("2026-02-01", "2026-02-16")),  # to the 16th against to the 16th
            (W("2026-03-01", "2026-03-01"), W("2026-02-01", "2026-02-01")),
            (W("2026-03-01", "2026-03-29"), W("2026-02-01", "2026-02-28")),  # clamped to a 28-day February
            (W("2026-03-01", "2026-03-30"), W("2026-02-01", "2026-02-28")),
            (W("2024-03-01", "2024-03-29"), W("2024-02-01", "2024-02-29")),  # leap February: 29 days
            (W("2024-03-01", "2024-03-30"), W("2024-02-01", "2024-02-29")),  # clamped to 29 February
            (W("2025-05-01", "2025-05-30"), W("2025-04-01", "2025-04-30")),  # the 30th against a 30-day April
            (W("2026-01-01", "2026-01-15"), W("2025-12-01", "2025-12-15")),  # across New Year
            (W("2024-02-01", "2024-02-28"), W("2024-01-01", "2024-01-28")),  # not the whole leap February
        ],
    )
    def test_per032_month_to_date_against_the_same_elapsed_days(self, window, expected):
        assert period_before("month", window) == expected

    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            (W("2025-10-01", "2025-10-31"), W("2025-09-01", "2025-09-30")),  # to the 31st against 30-day Sept
            (W("2025-05-01", "2025-05-31"), W("2025-04-01", "2025-04-30")),
            (W("2026-03-01", "2026-03-31"), W("2026-02-01", "2026-02-28")),
            (W("2024-03-01", "2024-03-31"), W("2024-02-01", "2024-02-29")),
            (W("2024-02-01", "2024-02-29"), W("2024-01-01", "2024-01-31")),  # whole leap Feb against whole Jan
            (W("2023-02-01", "2023-02-28"), W("2023-01-01", "2023-01-31")),  # whole 28-day Feb against 31 days
            (W("2026-01-01", "2026-01-31"), W("2025-12-01", "2025-12-31")),
        ],
    )
    def test_per033_whole_month_against_the_whole_month_before(self, window, expected):
        assert period_before("month", window) == expected

    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            (W("2026-04-01", "2026-05-15"), W("2026-01-01", "2026-02-14")),  # 45 elapsed days
            (W("2026-04-01", "2026-04-01"), W("2026-01-01", "2026-01-01")),
            (W("2026-01-01", "2026-02-10"), W("2025-10-01", "2025-11-10")),  # Q1 against Q4 of last year
            (W("2026-01-01", "2026-03-30"), W("2025-10-01", "2025-12-28")),  # 89 days
            (W("2025-07-01", "2025-09-29"), W("2025-04-01", "2025-06-30")),  # 91 days clamped to Q2's 91
            (W("2024-04-01", "2024-06-29"), W("2024-01-01", "2024-03-30")),  # 90 days; leap Q1
        ],
    )
    def test_per034_quarter_to_date_against_the_same_elapsed_days(self, window, expected):
        assert period_before("quarter", window) == expected

    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            (W("2026-01-01", "2026-03-31"), W("2025-10-01", "2025-12-31")),  # 90 days against 92
            (W("2025-07-01", "2025-09-30"), W("2025-04-01", "2025-06-30")),  # 92 against 91
            (W("2025-10-01", "2025-12-31"), W("2025-07-01", "2025-09-30")),
            (W("2024-04-01", "2024-06-30"), W("2024-01-01", "2024-03-31")),  # 91 against the leap Q1's 91
        ],
    )
    def test_per035_whole_quarter_against_the_whole_quarter_before(self, window, expected):
        assert period_before("quarter", window) == expected

    def test_per036_ytd_before_is_year_earlier(self):
        assert period_before("ytd", W("2026-01-01", "2026-03-16")) == W("2025-01-01", "2025-03-16")
        assert period_before("ytd", W("2024-01-01", "2024-02-29")) == W("2023-01-01", "2023-02-28")

    def test_per037_custom_is_the_equally_long_range_just_before(self):
        assert period_before("custom", W("2026-01-10", "2026-01-19")) == W("2025-12-31", "2026-01-09")
        assert period_before("custom", W("2024-03-01", "2024-03-01")) == W("2024-02-29", "2024-02-29")
        assert period_before("custom", W("2024-03-01", "2024-03-31")) == W("2024-01-30", "2024-02-29")

    def test_per038_unknown_kind_is_refused(self):
        with pytest.raises(ValueError, match=r"^unknown period kind 'year'$"):
            period_before("year", W("2026-01-01", "2026-01-02"))

    @pytest.mark.parametrize("kind", ["week", "28d", "month", "quarter", "ytd"])
    def test_per039_before_ends_before_the_window_for_every_kind(self, kind):
        # Sweep fifteen months of "today"s: the period before never overlaps the window and never outlasts it.
        day = D(2024, 1, 1)
        while day <= D(2025, 3, 31):
            window = period_window(kind, day)
            before = period_before(kind, window)
            assert before.last < window.first
            if kind == "week":
                assert before.days == window.days
                assert (window.first - before.first).days == 7
                assert before.first.weekday() == 0
            elif kind == "28d":
                assert before.days == window.days == 28
                assert (window.first - before.last).days == 1
            elif kind in ("month", "quarter"):
                whole = (date.fromordinal(window.last.toordinal() + 1).day == 1
                         and (kind == "month" or window.last.month % 3 == 0))
                assert before.first.day == 1
                if whole:  # the whole block before: it ends the day before the window starts
                    assert (window.first - before.last).days == 1
                else:
                    assert before.days <= window.days
            day = date.fromordinal(day.toordinal() + 1)


class TestBaseline:
    def test_per040_same_dates_in_the_baseline_year(self):
        assert baseline_window(W("2026-03-01", "2026-03-16"), 2024) == W("2024-03-01", "2024-03-16")
        assert baseline_window(W("2026-03-01", "2026-03-16"), 2026) == W("2026-03-01", "2026-03-16")
        assert baseline_window(W("2025-02-01", "2025-02-28"), 2024) == W("2024-02-01", "2024-02-28")
        assert baseline_window(W("2024-02-29", "2024-02-29"), 2023) == W("2023-02-28", "2023-02-28")

    def test_per041_window_spanning_new_year_keeps_its_span(self):
        # The year is taken from the last day: Dec 2025..Jan 2026 in baseline 2024 is Dec 2023..Jan 2024.
        assert baseline_window(W("2025-12-29", "2026-01-04"), 2024) == W("2023-12-29", "2024-01-04")
        assert baseline_window(W("2025-12-29", "2026-01-04"), 2025) == W("2024-12-29", "2025-01-04")

    def test_per042_default_baseline_year_is_the_year_before_the_programme(self):
        assert default_baseline_year(D(2025, 1, 1)) == 2024
        assert default_baseline_year(D(2024, 12, 31)) == 2023


class TestSpringFestival:
    def test_per050_lunar_new_year_dates(self):
        assert spring_festival(2023) == D(2023, 1, 22)
        assert spring_festival(2024) == D(2024, 2, 10)
        assert spring_festival(2025) == D(2025, 1, 29)
        assert spring_festival(2026) == D(2026, 2, 17)

    @pytest.mark.parametrize(
        ("window", "expected"),
        [
            (W("2026-01-01", "2026-01-01"), True),
            (W("2026-02-28", "2026-03-05"), True),
            (W("2026-03-01", "2026-12-31"), False),
            (W("2025-11-01", "2025-12-31"), False),
            (W("2025-12-31", "2026-01-01"), True),  # spans New Year
            (W("2025-03-01", "2026-01-01"), True),
            (W("2025-03-01", "2025-12-31"), False),
            (W("2024-02-29", "2024-02-29"), True),
            (W("2025-06-01", "2025-06-30"), False),
        ],
    )
    def test_per051_touches_jan_feb(self, window, expected):
        assert touches_jan_feb(window) is expected

    def test_per052_feb_2026_moves_19_days_earlier_than_plain(self):
        # SF 2026-02-17 against SF 2025-01-29: 2025-02-17 - 2025-01-29 = 19 days.
        window = W("2026-02-01", "2026-02-28")
        assert year_earlier(window) == W("2025-02-01", "2025-02-28")
        assert festival_aligned_year_earlier(window) == W("2025-01-13", "2025-02-09")
        # the festival's own week meets the festival's week a year earlier
        assert festival_aligned_year_earlier(W("2026-02-16", "2026-02-22")) == W("2025-01-28", "2025-02-03")
        assert festival_aligned_year_earlier(W("2026-02-17", "2026-02-17")) == W("2025-01-29", "2025-01-29")

    def test_per053_jan_2025_moves_12_days_later(self):
        # SF 2025-01-29 against SF 2024-02-10: 2024-02-10 - 2024-01-29 = +12 days.
        assert festival_aligned_year_earlier(W("2025-01-01", "2025-01-31")) == W("2024-01-13", "2024-02-12")
        assert festival_aligned_year_earlier(W("2025-01-29", "2025-01-29")) == W("2024-02-10", "2024-02-10")

    def test_per054_leap_day_window_in_2024(self):
        # SF 2024-02-10 against SF 2023-01-22: 2023-01-22 - 2023-02-10 = -19 days; 29 Feb -> 28 Feb first.
        assert festival_aligned_year_earlier(W("2024-02-29", "2024-02-29")) == W("2023-02-09", "2023-02-09")
        assert festival_aligned_year_earlier(W("2024-02-10", "2024-02-16")) == W("2023-01-22", "2023-01-28")

    def test_per055_window_across_new_year_uses_the_new_year(self):
        # Dec 2025 .. Jan 2026 takes the 2026 festival: -19 days.
        assert festival_aligned_year_earlier(W("2025-12-29", "2026-01-04")) == W("2024-12-10", "2024-12-16")

    @pytest.mark.parametrize(
        "window",
        [W("2026-03-01", "2026-03-16"), W("2025-03-01", "2025-12-31"), W("2025-07-01", "2025-07-01"),
         W("2024-03-01", "2024-11-30")],
    )
    def test_per056_outside_jan_feb_equals_plain_year_earlier(self, window):
        assert festival_aligned_year_earlier(window) == year_earlier(window)
        assert festival_aligned_year_earlier(window) == Window(window.first.replace(year=window.first.year - 1),
                                                               window.last.replace(year=window.last.year - 1))

    def test_per057_march_window_after_a_february_festival_is_plain(self):
        assert festival_aligned_year_earlier(W("2026-03-01", "2026-03-01")) == W("2025-03-01", "2025-03-01")

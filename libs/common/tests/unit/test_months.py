"""Calendar months keep the day of month, clipped to the month's end (docs/domain.md#calendar)."""

from __future__ import annotations

from datetime import date

import pytest

from ketenzicht_common.months import add_months, add_years


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2023, 1, 31), 3, date(2023, 4, 30)),
        (date(2023, 11, 30), 3, date(2024, 2, 29)),
        (date(2022, 11, 30), 3, date(2023, 2, 28)),
        (date(2023, 12, 15), 1, date(2024, 1, 15)),
        (date(2023, 11, 15), 3, date(2024, 2, 15)),
        (date(2023, 5, 18), 3, date(2023, 8, 18)),
        (date(2020, 8, 31), 6, date(2021, 2, 28)),
        (date(2020, 2, 29), 36, date(2023, 2, 28)),
        (date(2020, 3, 1), 36, date(2023, 3, 1)),
        (date(2023, 3, 31), -1, date(2023, 2, 28)),
        (date(2020, 11, 15), -12, date(2019, 11, 15)),
    ],
)
def test_adding_months_keeps_the_day_clipped_to_the_month_end(
    start: date, months: int, expected: date
) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (date(2020, 2, 29), date(2023, 2, 28)),
        (date(2021, 2, 28), date(2024, 2, 28)),
        (date(2020, 3, 1), date(2023, 3, 1)),
        (date(2021, 12, 31), date(2024, 12, 31)),
    ],
)
def test_adding_three_years_lands_29_february_on_28_february(start: date, expected: date) -> None:
    assert add_years(start, 3) == expected


def test_four_years_after_29_february_is_29_february_again() -> None:
    assert add_years(date(2020, 2, 29), 4) == date(2024, 2, 29)

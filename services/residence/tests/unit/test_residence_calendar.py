"""Calendar months and years clip to the month's end; Dutch working days skip public holidays."""

from __future__ import annotations

import pytest
from residence_story import d

from residence.domain.dates import add_months, add_working_days, add_years, is_working_day


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        ("2023-01-31", 3, "2023-04-30"),
        ("2023-11-30", 3, "2024-02-29"),
        ("2022-11-30", 3, "2023-02-28"),
        ("2023-12-15", 1, "2024-01-15"),
        ("2023-03-31", -1, "2023-02-28"),
        ("2023-05-18", 3, "2023-08-18"),
    ],
)
def test_adding_months_keeps_the_day_clipped_to_the_month_end(
    start: str, months: int, expected: str
) -> None:
    assert add_months(d(start), months) == d(expected)


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2020-02-29", "2023-02-28"),
        ("2021-02-28", "2024-02-28"),
        ("2020-03-01", "2023-03-01"),
        ("2021-12-31", "2024-12-31"),
    ],
)
def test_adding_three_years_lands_29_february_on_28_february(start: str, expected: str) -> None:
    assert add_years(d(start), 3) == d(expected)


def test_four_years_after_29_february_is_29_february_again() -> None:
    assert add_years(d("2020-02-29"), 4) == d("2024-02-29")


@pytest.mark.parametrize(
    "holiday",
    ["2023-04-10", "2023-04-27", "2023-12-25", "2023-12-26", "2024-01-01", "2023-05-18"],
)
def test_dutch_public_holidays_are_not_working_days(holiday: str) -> None:
    assert not is_working_day(d(holiday))


def test_weekends_are_not_working_days_and_an_ordinary_tuesday_is() -> None:
    assert not is_working_day(d("2023-04-08"))
    assert not is_working_day(d("2023-04-09"))
    assert is_working_day(d("2023-04-11"))


@pytest.mark.parametrize(
    ("start", "expected", "why"),
    [
        ("2019-10-09", "2019-11-06", "four plain work weeks"),
        ("2022-04-20", "2022-05-19", "King's Day on a Wednesday"),
        ("2019-12-10", "2020-01-10", "Christmas and New Year"),
        ("2023-04-03", "2023-05-04", "Good Friday, Easter Monday and King's Day"),
    ],
)
def test_twenty_working_days_skip_weekends_and_public_holidays(
    start: str, expected: str, why: str
) -> None:
    assert add_working_days(d(start), 20) == d(expected), why


def test_working_days_are_counted_from_the_day_after_even_from_a_saturday() -> None:
    assert add_working_days(d("2023-04-08"), 1) == d("2023-04-11")
    assert add_working_days(d("2023-04-08"), 0) == d("2023-04-08")


def test_a_negative_number_of_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(d("2023-04-08"), -1)

"""Working days skip the Atw's days (calendar months: see `ketenzicht_common.months`)."""

from __future__ import annotations

import pytest
from residence_story import d

from residence.domain.dates import add_working_days, is_working_day
from residence.domain.holiday_calendar import CalendarNotCoveredError


@pytest.mark.parametrize(
    ("holiday", "what"),
    [
        ("2023-04-10", "Easter Monday"),
        ("2023-04-27", "King's Day"),
        ("2023-12-25", "Christmas Day"),
        ("2023-12-26", "Boxing Day"),
        ("2024-01-01", "New Year's Day"),
        ("2023-05-18", "Ascension Day"),
        ("2023-05-29", "Whit Monday"),
        ("2024-03-29", "Good Friday (Atw art. 3(2))"),
        ("2022-05-05", "5 May, not a lustrum year"),
        ("2023-05-05", "5 May, not a lustrum year"),
        ("2025-05-05", "5 May, a lustrum year"),
        ("2023-04-28", "the Friday after King's Day, by decree"),
        ("2023-05-19", "the Friday after Ascension Day, by decree"),
        ("2019-12-27", "the Friday after Boxing Day, by decree"),
        ("2018-12-24", "the Monday before Christmas Day, by decree"),
    ],
)
def test_the_days_of_the_algemene_termijnenwet_are_not_working_days(
    holiday: str, what: str
) -> None:
    assert not is_working_day(d(holiday)), what


@pytest.mark.parametrize("day", ["2024-03-28", "2024-04-02", "2023-12-27", "2024-01-02"])
def test_the_weekdays_next_to_the_holidays_are_working_days(day: str) -> None:
    assert is_working_day(d(day))


def test_weekends_are_not_working_days_and_an_ordinary_tuesday_is() -> None:
    assert not is_working_day(d("2023-04-08"))
    assert not is_working_day(d("2023-04-09"))
    assert is_working_day(d("2023-04-11"))


@pytest.mark.parametrize(
    ("start", "expected", "why"),
    [
        ("2019-10-09", "2019-11-06", "four plain work weeks"),
        ("2022-04-20", "2022-05-20", "King's Day on a Wednesday, 5 May on a Thursday"),
        ("2019-12-10", "2020-01-13", "Christmas, 27 December by decree, New Year"),
        ("2023-04-03", "2023-05-08", "Good Friday, Easter Monday, King's Day, 28 April, 5 May"),
        ("2024-03-18", "2024-04-17", "Good Friday and Easter Monday inside the twenty days"),
        ("2025-05-26", "2025-06-26", "Ascension Day, the Friday after it, Whit Monday"),
    ],
)
def test_twenty_working_days_skip_weekends_and_the_atw_days(
    start: str, expected: str, why: str
) -> None:
    assert add_working_days(d(start), 20) == d(expected), why


def test_working_days_are_counted_from_the_day_after_even_from_a_saturday() -> None:
    assert add_working_days(d("2023-04-08"), 1) == d("2023-04-11")
    assert add_working_days(d("2023-04-08"), 0) == d("2023-04-08")


def test_a_negative_number_of_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_working_days(d("2023-04-08"), -1)


def test_a_deadline_spanning_easter_is_two_working_days_later_than_a_plain_count() -> None:
    # Report Monday 18 March 2024: twenty weekdays end on Monday 15 April; Good Friday (29
    # March) and Easter Monday (1 April) push the target to Wednesday 17 April.
    assert add_working_days(d("2024-03-18"), 20) == d("2024-04-17")
    assert add_working_days(d("2024-03-18"), 9) == d("2024-04-02")


@pytest.mark.parametrize("day", ["2000-12-29", "2000-12-31", "2036-01-02", "2036-01-05"])
def test_a_day_outside_the_covered_years_is_refused_even_a_weekend_day(day: str) -> None:
    with pytest.raises(CalendarNotCoveredError, match="2001–2035"):
        is_working_day(d(day))


def test_a_count_that_runs_past_the_covered_years_is_refused() -> None:
    with pytest.raises(CalendarNotCoveredError, match="2036-01-01"):
        add_working_days(d("2035-12-20"), 20)
    with pytest.raises(CalendarNotCoveredError):
        add_working_days(d("2000-12-29"), 0)

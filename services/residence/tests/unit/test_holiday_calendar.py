"""The Algemene termijnenwet calendar: which days it holds, and how it differs from `holidays`.

The cross-check runs for every covered year against `holidays.Netherlands` (default category)
and writes down each known difference as data. A library upgrade that moves, adds or drops a
day therefore fails here, instead of silently moving an R8 deadline or trigger key. The
differences below were found with holidays 0.109.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

import holidays
import pytest
from dateutil.easter import easter
from residence_story import d

from residence.domain.holiday_calendar import (
    EQUATING_DECREES,
    FIRST_COVERED_YEAR,
    LAST_COVERED_YEAR,
    Basis,
    CalendarNotCoveredError,
    general_holidays,
    is_general_holiday,
    years_without_decree_data,
)

COVERED_YEARS = range(FIRST_COVERED_YEAR, LAST_COVERED_YEAR + 1)
DECREE_DAYS = frozenset(e.day for decree in EQUATING_DECREES for e in decree.days)


@dataclass(frozen=True)
class KnownDifference:
    """Days only one side lists, and why that is right for R8."""

    what: str
    only_in: str  # "atw": this project's calendar; "library": holidays.Netherlands
    days: frozenset[date]
    why: str


KNOWN_DIFFERENCES = (
    KnownDifference(
        what="Easter Sunday (eerste Paasdag)",
        only_in="library",
        days=frozenset(easter(y) for y in COVERED_YEARS),
        why="a Sunday: Atw art. 3(1) names only the second days of Easter and Whitsun",
    ),
    KnownDifference(
        what="Whit Sunday (eerste Pinksterdag)",
        only_in="library",
        days=frozenset(easter(y) + timedelta(days=49) for y in COVERED_YEARS),
        why="a Sunday, likewise not in the Atw list",
    ),
    KnownDifference(
        what="5 May outside lustrum years",
        only_in="atw",
        # Every covered year not divisible by 5, except 2016, when 5 May is also Ascension Day,
        # which the library lists.
        days=frozenset(
            date(y, 5, 5)
            for y in (
                2001,
                2002,
                2003,
                2004,
                2006,
                2007,
                2008,
                2009,
                2011,
                2012,
                2013,
                2014,
                2017,
                2018,
                2019,
                2021,
                2022,
                2023,
                2024,
                2026,
                2027,
                2028,
                2029,
                2031,
                2032,
                2033,
                2034,
            )
        ),
        why=(
            "the Atw lists 5 May every year; the library's PUBLIC category has it only in "
            "years divisible by 5 (a CAO custom) and puts it in OPTIONAL otherwise"
        ),
    ),
    KnownDifference(
        what="days equated by royal decree (Atw art. 3(3))",
        only_in="atw",
        days=DECREE_DAYS,
        why="the library carries none of the Besluiten gelijkstelling",
    ),
)


def _expected(only_in: str, year: int) -> set[date]:
    return {
        day
        for diff in KNOWN_DIFFERENCES
        if diff.only_in == only_in
        for day in diff.days
        if day.year == year
    }


@pytest.mark.parametrize("year", COVERED_YEARS)
def test_the_calendar_differs_from_the_holidays_library_only_as_written_down(year: int) -> None:
    ours = {h.day for h in general_holidays(year)}
    library = set(holidays.country_holidays("NL", years=year).keys())
    assert sorted(ours - library) == sorted(_expected("atw", year))
    assert sorted(library - ours) == sorted(_expected("library", year))


def test_the_library_still_lists_good_friday_as_a_public_holiday() -> None:
    # Good Friday is the day whose category the library has changed between versions; in
    # 0.109 it is PUBLIC, so it is no difference above. Named here so that a change reads plainly.
    library = holidays.country_holidays("NL", years=2024)
    assert d("2024-03-29") in library


@pytest.mark.parametrize(
    ("year", "easter_sunday"),
    [(2001, "2001-04-15"), (2019, "2019-04-21"), (2024, "2024-03-31"), (2025, "2025-04-20")],
)
def test_the_easter_days_follow_easter_sunday(year: int, easter_sunday: str) -> None:
    sunday = d(easter_sunday)
    by_name = {h.name: h.day for h in general_holidays(year)}
    assert by_name["Good Friday"] == sunday - timedelta(days=2)
    assert by_name["Easter Monday"] == sunday + timedelta(days=1)
    assert by_name["Ascension Day"] == sunday + timedelta(days=39)
    assert by_name["Whit Monday"] == sunday + timedelta(days=50)


def test_good_friday_and_easter_monday_are_general_holidays_but_the_days_around_them_not() -> None:
    assert not is_general_holiday(d("2024-03-28"))
    assert is_general_holiday(d("2024-03-29"))
    assert is_general_holiday(d("2024-04-01"))
    assert not is_general_holiday(d("2024-04-02"))


def test_good_friday_is_equated_by_article_3_2() -> None:
    good_friday = next(h for h in general_holidays(2024) if h.name == "Good Friday")
    assert (good_friday.day, good_friday.basis) == (d("2024-03-29"), Basis.ATW_3_2)


@pytest.mark.parametrize(("year", "celebrated"), [(2014, "2014-04-26"), (2025, "2025-04-26")])
def test_kings_day_on_a_sunday_is_celebrated_on_the_saturday_before(
    year: int, celebrated: str
) -> None:
    kings_days = [h.day for h in general_holidays(year) if h.name == "King's Day"]
    assert kings_days == [d(celebrated)]
    assert not is_general_holiday(d(f"{year}-04-27"))


def test_queens_day_until_2013_and_on_a_sunday_the_saturday_before() -> None:
    assert [h.day for h in general_holidays(2013) if h.name == "Queen's Day"] == [d("2013-04-30")]
    assert [h.day for h in general_holidays(2006) if h.name == "Queen's Day"] == [d("2006-04-29")]
    assert not any(h.name == "Queen's Day" for h in general_holidays(2014))


def test_kings_day_on_a_weekday_is_a_general_holiday_and_so_is_the_friday_the_decree_adds() -> None:
    assert is_general_holiday(d("2023-04-27"))
    assert is_general_holiday(d("2023-04-28"))
    assert not is_general_holiday(d("2023-05-01"))


def test_ascension_day_and_the_friday_after_it_by_decree_are_general_holidays() -> None:
    assert not is_general_holiday(d("2023-05-17"))
    assert is_general_holiday(d("2023-05-18"))
    assert is_general_holiday(d("2023-05-19"))
    friday = next(h for h in general_holidays(2023) if h.day == d("2023-05-19"))
    assert friday.basis is Basis.ATW_3_3
    assert "19 mei 2023" in friday.source


@pytest.mark.parametrize("year", COVERED_YEARS)
def test_5_may_is_a_general_holiday_every_year(year: int) -> None:
    assert any(
        h.day == date(year, 5, 5) and h.name == "Liberation Day" for h in general_holidays(year)
    )


def test_both_christmas_days_and_new_years_day_are_general_holidays() -> None:
    assert is_general_holiday(d("2023-12-25"))
    assert is_general_holiday(d("2023-12-26"))
    assert not is_general_holiday(d("2023-12-27"))
    assert is_general_holiday(d("2024-01-01"))
    assert not is_general_holiday(d("2024-01-02"))


def test_a_decree_day_between_boxing_day_and_the_weekend_is_a_general_holiday() -> None:
    assert is_general_holiday(d("2024-12-27"))
    assert is_general_holiday(d("2019-12-27"))


def test_every_decree_day_is_a_weekday_of_its_decree_years_not_already_a_statutory_day() -> None:
    for decree in EQUATING_DECREES:
        assert decree.citation
        assert decree.read
        for equated in decree.days:
            assert decree.first_year <= equated.day.year <= decree.last_year, equated
            assert equated.day.weekday() < 5, equated
            statutory = {
                h.day for h in general_holidays(equated.day.year) if h.basis is not Basis.ATW_3_3
            }
            assert equated.day not in statutory, equated


def test_decree_periods_do_not_overlap_and_lie_in_the_covered_years() -> None:
    periods = sorted((dec.first_year, dec.last_year) for dec in EQUATING_DECREES)
    for (_, end), (start, _) in pairwise(periods):
        assert end < start
    assert all(FIRST_COVERED_YEAR <= a <= b <= LAST_COVERED_YEAR for a, b in periods)


def test_the_years_whose_decree_days_are_not_encoded_are_exactly_the_documented_gaps() -> None:
    # 2001-2013 and 2020-2022: decrees not read; 2029-2035: none issued yet (module docstring).
    expected = (*range(2001, 2014), *range(2020, 2023), *range(2029, 2036))
    assert years_without_decree_data() == expected


@pytest.mark.parametrize("day", ["2000-12-29", "2000-12-31", "2036-01-01", "2036-01-02"])
def test_a_day_outside_the_covered_years_is_refused_not_counted(day: str) -> None:
    with pytest.raises(CalendarNotCoveredError, match="2001–2035"):
        is_general_holiday(d(day))
    with pytest.raises(CalendarNotCoveredError):
        general_holidays(d(day).year)


def test_the_first_and_last_covered_days_are_answered() -> None:
    assert is_general_holiday(d("2001-01-01"))
    assert not is_general_holiday(d("2001-01-02"))
    assert is_general_holiday(d("2035-12-26"))
    assert not is_general_holiday(d("2035-12-31"))

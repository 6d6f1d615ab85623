"""Calendar arithmetic of the residence rules: calendar months and years, Dutch working days.

Named `dates` rather than `calendar` so that it never shadows the standard library module.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from functools import lru_cache

import holidays

ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, the day of month clipped to the month's last day.

    domain.md §5: "+ n months keeps the day of month, clipped" — 31 Jan + 3 months = 30 Apr.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """``day`` plus calendar years; 29 February lands on 28 February in a common year."""
    return add_months(day, 12 * years)


@lru_cache(maxsize=256)
def _public_holidays(year: int) -> frozenset[date]:
    # holidays.Netherlands, reached through the typed factory (the class itself is untyped).
    # Frozen per year: the library object fills itself lazily, which would make a shared
    # instance a piece of mutable state behind a pure function.
    return frozenset(holidays.country_holidays("NL", years=year).keys())


def is_public_holiday(day: date) -> bool:
    """A Dutch public holiday (feestdag) as `holidays.Netherlands` lists it."""
    return day in _public_holidays(day.year)


def is_working_day(day: date) -> bool:
    """Monday to Friday, not a Dutch public holiday (werkdag)."""
    return day.weekday() < 5 and not is_public_holiday(day)


def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself is not counted).

    A report on Wednesday 9 Oct 2019 + 20 working days = Wednesday 6 Nov 2019 (four work weeks).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    current = day
    remaining = count
    while remaining:
        current += ONE_DAY
        if is_working_day(current):
            remaining -= 1
    return current

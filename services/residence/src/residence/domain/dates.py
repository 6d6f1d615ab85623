"""Calendar arithmetic of the residence rules: calendar months and years, Dutch working days.

Working days (werkdagen, R8) are Monday to Friday except the days of the Algemene termijnenwet
art. 3, which `residence.domain.holiday_calendar` holds as dated data with their sources, for
2001–2035; a day outside those years raises `CalendarNotCoveredError` instead of counting.

Named `dates` rather than `calendar` so that it never shadows the standard library module.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from residence.domain.holiday_calendar import ensure_covered, is_general_holiday

ONE_DAY = timedelta(days=1)


def add_months(day: date, months: int) -> date:
    """``day`` plus calendar months, the day of month clipped to the month's last day.

    docs/domain.md#calendar: the day of month is kept, clipped — 31 Jan + 3 months = 30 Apr.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """``day`` plus calendar years; 29 February lands on 28 February in a common year."""
    return add_months(day, 12 * years)


def is_working_day(day: date) -> bool:
    """Monday to Friday and not an algemeen erkende feestdag of the Atw (werkdag).

    Raises `CalendarNotCoveredError` for a day outside the covered years, a weekend day too, so
    that a count never runs on past the calendar's end.
    """
    ensure_covered(day)
    return day.weekday() < 5 and not is_general_holiday(day)


def add_working_days(day: date, count: int) -> date:
    """The ``count``-th working day after ``day`` (``day`` itself is not counted).

    A report on Wednesday 9 Oct 2019 + 20 working days = Wednesday 6 Nov 2019 (four work weeks).
    Raises `CalendarNotCoveredError` when ``day`` or the count leaves the covered years.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    ensure_covered(day)
    current = day
    remaining = count
    while remaining:
        current += ONE_DAY
        if is_working_day(current):
            remaining -= 1
    return current

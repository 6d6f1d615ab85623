"""Calendar months and years as the chain's rules count them. Pure: no I/O, no clock.

"+ n months keeps the day of month, clipped to the month's end" (docs/domain.md#calendar):
31 January plus three months is 30 April, and three years from 29 February is 28 February.
Residence's
rules, the monitor's lead-time norms and the simulated chain all count this way, so the
counting lives here once.
"""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (negative: back), the day clipped to the month."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def add_years(day: date, years: int) -> date:
    """``day`` plus calendar years; 29 February lands on 28 February in a common year."""
    return add_months(day, 12 * years)

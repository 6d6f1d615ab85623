"""Calendar months as docs/domain.md#calendar counts them: the day of month kept, clipped to the
month."""

from __future__ import annotations

from datetime import date

import pytest

from chainsim import add_months


@pytest.mark.parametrize(("start", "months", "expected"), [
    (date(2023, 1, 31), 3, date(2023, 4, 30)),
    (date(2020, 2, 29), 36, date(2023, 2, 28)),
    (date(2020, 3, 1), 36, date(2023, 3, 1)),
    (date(2023, 11, 15), 3, date(2024, 2, 15)),
])
def test_months_keep_the_day_clipped_to_the_months_end(start: date, months: int,
                                                       expected: date) -> None:
    assert date.fromordinal(add_months(start.toordinal(), months)) == expected

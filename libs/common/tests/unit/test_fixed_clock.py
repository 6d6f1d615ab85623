"""A fixed clock tells the same Dutch calendar day as the system clock would at that instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from ketenzicht_common.clock import FixedClock


def test_half_past_eleven_utc_is_already_tomorrow_in_amsterdam() -> None:
    # 23:30 UTC is 00:30 in winter (CET) and 01:30 in summer (CEST) the next day.
    assert FixedClock(datetime(2024, 1, 15, 23, 30, tzinfo=UTC)).today() == date(2024, 1, 16)
    assert FixedClock(datetime(2024, 7, 15, 23, 30, tzinfo=UTC)).today() == date(2024, 7, 16)


def test_the_day_changes_at_amsterdam_midnight_as_the_clock_moves() -> None:
    clock = FixedClock(datetime(2024, 1, 15, 22, 59, tzinfo=UTC))
    assert clock.today() == date(2024, 1, 15)
    clock.advance(timedelta(minutes=1))
    assert clock.today() == date(2024, 1, 16)
    assert clock.now() == datetime(2024, 1, 15, 23, 0, tzinfo=UTC)

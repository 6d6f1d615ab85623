"""Memory holds the pending facts, not the plan; the size estimate is honest. (How fast the
generator runs is a benchmark figure, never a test.)"""

from __future__ import annotations

import tracemalloc
from datetime import date

from chainsim import estimate_events, generate


def _peak_bytes(years: int) -> tuple[int, int]:
    tracemalloc.start()
    try:
        count = sum(1 for _ in generate(4, date(2010, 1, 1), date(2010 + years, 1, 1), 0.25))
        return count, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_length_of_the_plan() -> None:
    # Memory holds the facts still pending (a few years of open cases), so the peak levels off
    # once the first cases end; what a plan holds would grow fourfold here.
    short_count, short_peak = _peak_bytes(5)
    long_count, long_peak = _peak_bytes(20)
    assert long_count > 4 * short_count
    assert long_peak < 2 * short_peak, (short_peak, long_peak)
    assert long_peak < 2_000_000


def test_the_estimate_is_within_ten_percent() -> None:
    for start, end, scale in (
        (date(2019, 1, 1), date(2019, 12, 31), 2.0),
        (date(2012, 7, 1), date(2020, 6, 30), 1.0),
    ):
        actual = sum(1 for _ in generate(5, start, end, scale))
        assert abs(estimate_events(start, end, scale) - actual) < 0.1 * actual
    assert estimate_events(date(2020, 1, 1), date(2019, 1, 1)) == 0
    long = estimate_events(date(2000, 1, 1), date(2039, 12, 31))
    assert 190_000 < long < 230_000  # ≈ 5,300 a year once the pipeline is full

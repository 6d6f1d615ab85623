"""The one rounding rule of every published figure (afrondingsregel), whatever the interface.

Days are published at one decimal, shares at three, both rounded half up (away from zero) on the
figure's shortest decimal form: 116.25 days is published as 116.3, a share of 0.6665 as 0.667.
Half up, not half to even, because that is what a reader checking a figure by hand does, and
what the spreadsheets analysts use (Excel's and LibreOffice's ROUND) do; the shortest decimal
form (`repr`), not the binary value, because 0.35 is stored as 0.34999… and would otherwise
become 0.3. Counts are never rounded. The domain computes with full precision; gRPC, the JSON
API, the CSV and the spreadsheets all publish through `published` (and `round_days`,
`round_share` for single values), so a figure reads the same everywhere.
Why: docs/adr/0027-monitor-reducer-table-and-one-rounding-rule.md.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from .figures import Share, YearFigures
from .leadtimes import AgeSummary, LeadTimeSummary

DAY_DIGITS = 1
SHARE_DIGITS = 3


def round_half_up(value: float | None, digits: int) -> float | None:
    """`value` at `digits` decimals, half up on its shortest decimal form; None stays None."""
    if value is None:
        return None
    exponent = Decimal(1).scaleb(-digits)
    return float(Decimal(repr(float(value))).quantize(exponent, rounding=ROUND_HALF_UP))


def round_days(value: float | None) -> float | None:
    return round_half_up(value, DAY_DIGITS)


def round_share(value: float | None) -> float | None:
    return round_half_up(value, SHARE_DIGITS)


def _ages(ages: AgeSummary | None) -> AgeSummary | None:
    if ages is None:
        return None
    median = round_days(ages.median_days)
    assert median is not None
    return replace(ages, median_days=median)


def _share(share: Share) -> Share:
    return replace(share, value=round_share(share.value))


Published = TypeVar("Published", LeadTimeSummary, YearFigures)


def published(row: Published) -> Published:
    """The row as every interface publishes it: its figures rounded by the rule above.
    Applying it twice changes nothing."""
    if isinstance(row, YearFigures):
        return replace(
            row,
            summons_share=_share(row.summons_share),
            conviction_share=_share(row.conviction_share),
            repeat_victimisation=_share(row.repeat_victimisation),
        )
    return replace(
        row,
        median_days=round_days(row.median_days),
        q1_days=round_days(row.q1_days),
        q3_days=round_days(row.q3_days),
        p90_days=round_days(row.p90_days),
        mean_days=round_days(row.mean_days),
        share_within_norm=round_share(row.share_within_norm),
        km_median_days=round_days(row.km_median_days),
        km_share_within_norm=round_share(row.km_share_within_norm),
        open_ages=_ages(row.open_ages),
    )

"""The one parser for the dates callers send: ``YYYY-MM-DD`` exactly, within a plausible range.

pydantic's and Python's own date parsing are lenient in ways that let garbage through as a
fact: pydantic reads ``"0"`` as 1970-01-01, epoch seconds as a day, and a datetime as its date;
``date.fromisoformat`` also takes ``20220103`` and ``2022-W01-1``. A business date in ketenzicht
is a day a source system states, so anything but the ten characters of an ISO calendar date is
refused.

The range is fixed, not relative to today. The lower bound, 1990-01-01, lies well before any
fact of the chain ketenzicht records (cases still open, backdated by a few years at most), so an
earlier date is a typo or a zero value such as the epoch or 0001-01-01.
The upper bound, 2100-12-31, leaves room for dates that legitimately lie ahead (a permit's
``valid_until``, an ``as_of`` peildatum) while keeping every date far from ``date.max``, where
date arithmetic overflows. "Not in the future" is a separate rule, checked where the clock is
known (``CommandGateway``), so validation itself stays pure and deterministic
(docs/adr/0016-strict-grpc-edge.md).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BeforeValidator

EARLIEST = date(1990, 1, 1)
LATEST = date(2100, 12, 31)

# [0-9], not \d: \d also matches other scripts' digits, which fromisoformat would then read.
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)

FORMAT_HINT = "a date as YYYY-MM-DD is expected"
RANGE_HINT = f"the date must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}"


def business_date(value: object) -> date:
    """``value`` as a date: a ``YYYY-MM-DD`` string or a date (not a datetime) in range.

    Raises ValueError with a message that never repeats the value (it may be anything a
    caller sent, of any length).
    """
    if isinstance(value, datetime):
        raise ValueError(FORMAT_HINT)
    if isinstance(value, date):
        day = value
    elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a day of the calendar") from None
    else:
        raise ValueError(FORMAT_HINT)
    if not EARLIEST <= day <= LATEST:
        raise ValueError(RANGE_HINT)
    return day


def business_instant(value: str) -> datetime:
    """An RFC 3339 instant with its UTC offset (``2024-01-01T12:00:00+01:00``, or ``…Z``) whose
    day lies in the same range as a business date. Raises ValueError without the value."""
    if not _RFC3339_INSTANT.fullmatch(value):
        raise ValueError("an RFC 3339 instant with its UTC offset is expected")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an instant of the calendar") from None
    if not EARLIEST <= instant.date() <= LATEST:
        raise ValueError(RANGE_HINT)
    return instant


BusinessDate = Annotated[date, BeforeValidator(business_date)]
"""A date field of a command or query, parsed by ``business_date``."""

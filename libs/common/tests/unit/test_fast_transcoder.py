"""The event store's transcoder writes, with orjson, the very bytes eventsourcing's own
`JSONTranscoder` writes, and reads back the same values; what orjson would write differently
(a UUID, a NaN, an enum, a key that is not a string) goes the library's way (ADR 0032)."""

from __future__ import annotations

import enum
import math
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from eventsourcing.persistence import JSONTranscoder

from intake.application.intake import IntakeApplication
from ketenzicht_common.store import FastJSONTranscoder, StoreSettings


class Colour(enum.Enum):
    RED = "red"


def _transcoders() -> tuple[JSONTranscoder, JSONTranscoder]:
    app = IntakeApplication(StoreSettings(backend="memory"))
    library = JSONTranscoder()
    app.register_transcodings(library)
    fast = app.mapper.transcoder
    assert isinstance(fast, FastJSONTranscoder)
    return fast, library


STATES: list[dict[str, Any]] = [
    {
        "timestamp": datetime(2026, 12, 2, 6, 23, 22, 550970, tzinfo=UTC),
        "occurred_on": date(2024, 5, 1),
        "provenance": {"organisation": "politie", "system": "x", "command_id": "c-1"},
        "victim_id": "V-1",
        "minor": False,
        "measures": ["SHELTER", "LEGAL_AID"],
        "result": {"event_ids": [], "matched": None, "count": 3, "share": 0.25},
        "note": 'één ‘quote’ "and" \\ \n control \x01',
    },
    {"aggregate": uuid.UUID(int=7), "on": date(2024, 1, 1)},
    {"nested": [{"id": uuid.UUID(int=8)}]},
    {"ratio": math.nan},
    {"colour": Colour.RED.value, "tuple": (1, 2)},
]


@pytest.mark.parametrize("state", STATES)
def test_the_same_bytes_as_the_library_and_the_same_values_back(state: dict[str, Any]) -> None:
    fast, library = _transcoders()
    encoded = fast.encode(state)
    assert encoded == library.encode(state)
    back = fast.decode(encoded)
    expected = library.decode(library.encode(state))
    assert repr(back) == repr(expected)  # repr: NaN is never equal to itself


def test_a_value_the_library_refuses_is_refused_as_before() -> None:
    fast, library = _transcoders()
    with pytest.raises(TypeError):
        library.encode({"colour": Colour.RED})
    with pytest.raises(TypeError):
        fast.encode({"colour": Colour.RED})

"""Pinned plans: a refactoring of the generator leaves every draw, and so every plan, as it was.

The digests were taken from the generator as it stands; a change that means to draw differently
(a new calibration figure, another rule) changes them, and the new digests are then pinned on
purpose, in the same commit.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest

from chainsim import generate

PINNED = [
    # (seed, start, end, scale, commands, sha-256 of the plan)
    (
        3,
        date(2015, 1, 1),
        date(2024, 12, 31),
        1.0,
        47728,
        "865a691c516dcc2e53768412ead234d97a02f2a9ef9f898739059943ad071973",
    ),
    (
        7,
        date(2018, 1, 1),
        date(2021, 12, 31),
        0.5,
        8331,
        "5b00a7042bb238c4f94cbda6444356136cfe3caa3115fa9835c3b61cd977c4c0",
    ),
    (
        11,
        date(2019, 6, 1),
        date(2026, 6, 30),
        2.0,
        64878,
        "edb698ebdcc65a6ef2ef0c52391665da65de7d3844107f7dfa9f1385069e4937",
    ),
]


def plan_digest(seed: int, start: date, end: date, scale: float) -> tuple[int, str]:
    digest = hashlib.sha256()
    count = 0
    for command in generate(seed, start, end, scale):
        line = json.dumps(
            [
                str(command.actor),
                command.event_type,
                command.occurred_on.isoformat(),
                command.known_on.isoformat(),
                dict(command.fields),
            ],
            sort_keys=True,
            default=str,
        )
        digest.update(line.encode() + b"\n")
        count += 1
    return count, digest.hexdigest()


@pytest.mark.parametrize(("seed", "start", "end", "scale", "commands", "sha256"), PINNED)
def test_the_generator_plans_exactly_the_pinned_plan(
    seed: int, start: date, end: date, scale: float, commands: int, sha256: str
) -> None:
    assert plan_digest(seed, start, end, scale) == (commands, sha256)

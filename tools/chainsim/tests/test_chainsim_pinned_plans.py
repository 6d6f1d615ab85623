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
        52319,
        "5d6213d5e897e6a795729fb39eaffb1176308062cc8b16d3b3b7b62c36f114e7",
    ),
    (
        7,
        date(2018, 1, 1),
        date(2021, 12, 31),
        0.5,
        8941,
        "5520ee279a0ac58a77e93f113f70a3667bd3763277cb0547322c5a52bc5b8f3f",
    ),
    (
        11,
        date(2019, 6, 1),
        date(2026, 6, 30),
        2.0,
        71560,
        "a4dd914df0ef482592e5d323f86107143ec7f2e4252fb0ded921da533e6011a5",
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

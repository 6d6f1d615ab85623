"""Shared by the chainsim tests: the lifecycle checker and milestone collector next to this
file, and one large plan drawn once for all calibration tests.

The workspace runs pytest with --import-mode=importlib, which puts no test folder on sys.path;
this folder is added so the tests can import their helpers by name.
"""

import sys
from pathlib import Path

_HERE = str(Path(__file__).parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from datetime import date  # noqa: E402

import pytest  # noqa: E402
from chainsim_lifecycle import LargePlan, LifecycleChecker, Milestones  # noqa: E402

from chainsim import Scenario, generate  # noqa: E402

LARGE_SEED = 20240917
LARGE_START = date(2008, 1, 1)
LARGE_END = date(2027, 12, 31)
LARGE_SCALE = 1.5


@pytest.fixture(scope="session")
def large_plan() -> LargePlan:
    """Twenty years at scale 1.5 (≈ 28,000 victims), read once by the checker, the milestone
    collector and the scenario counter together."""
    checker = LifecycleChecker(LARGE_END)
    milestones = Milestones()

    def observed():  # type: ignore[no-untyped-def]
        for command in generate(LARGE_SEED, LARGE_START, LARGE_END, LARGE_SCALE):
            checker.check(command)
            milestones.add(command)
            yield command

    scenario = Scenario.of(observed())
    return LargePlan(
        scenario=scenario,
        checker=checker,
        milestones=milestones,
        start=LARGE_START,
        end=LARGE_END,
        scale=LARGE_SCALE,
    )

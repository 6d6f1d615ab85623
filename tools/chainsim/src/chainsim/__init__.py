"""chainsim: a seeded synthetic chain (police, OM, IND) as a time-ordered plan of commands.

from chainsim import generate
for command in generate(seed=7, start=date(2019, 1, 1), end=date(2023, 12, 31)):
    ...  # command.actor, .event_type, .occurred_on, .known_on, .fields
"""

from chainsim.calibration import DEFAULT, Calibration, Duration
from chainsim.generator import estimate_events, generate
from chainsim.plan import (
    MODEL_BY_EVENT_TYPE,
    SERVICE_BY_EVENT_TYPE,
    Actor,
    PlannedCommand,
    Scenario,
)

__all__ = [
    "DEFAULT",
    "MODEL_BY_EVENT_TYPE",
    "SERVICE_BY_EVENT_TYPE",
    "Actor",
    "Calibration",
    "Duration",
    "PlannedCommand",
    "Scenario",
    "estimate_events",
    "generate",
]

"""The residence rules (R1–R17, docs/domain.md#rules) as a pure domain: no I/O, no clock, no bus.

Public API:

* `fact_from_event` (facts.py): a decoded bus event → a domain `Fact` or None.
* `apply_corrections(facts)` (corrections.py): the facts as they stand after the sources'
  annulments and amendments; every evaluation below judges those.
* `evaluate(facts, as_of, *, settings)`: the triggers that hold and have fired by ``as_of``.
* `next_deadline(facts, as_of, *, settings)`: the next day a trigger fires by itself.
* `reconcile(emitted, decisions, causes)`: what to send now — retractions, replacements and
  new triggers.
* `check_reflection_grant(facts, victim_id, granted_on, *, settings)`: R4 on one grant.
* `residence_file(facts, victim_id, as_of, *, settings)`: the IND's view of one victim.
* `RuleSettings`, `ruleset_for`, `rulebook`: the date-versioned rule sets.
"""

from residence.domain.categories import NonTemporaryGround
from residence.domain.corrections import CorrectedFacts, apply_corrections
from residence.domain.evaluation import all_decisions, evaluate, first_after, next_deadline
from residence.domain.facts import FactError, fact_from_event
from residence.domain.model import Fact
from residence.domain.reconcile import apply_outcome, reconcile
from residence.domain.rules.r04_reflection_refused import GrantCheck, check_reflection_grant
from residence.domain.rulesets import (
    DEFAULT_SETTINGS,
    RuleSet,
    RuleSettings,
    rulebook,
    ruleset_for,
)
from residence.domain.triggers import (
    Addressee,
    EmittedTrigger,
    Retraction,
    TriggerDecision,
    TriggerKind,
    addressee_of,
)
from residence.domain.view import CurrentPosition, ResidenceFile, Standing, residence_file

__all__ = [
    "DEFAULT_SETTINGS",
    "Addressee",
    "CorrectedFacts",
    "CurrentPosition",
    "EmittedTrigger",
    "Fact",
    "FactError",
    "GrantCheck",
    "NonTemporaryGround",
    "ResidenceFile",
    "Retraction",
    "RuleSet",
    "RuleSettings",
    "Standing",
    "TriggerDecision",
    "TriggerKind",
    "addressee_of",
    "all_decisions",
    "apply_corrections",
    "apply_outcome",
    "check_reflection_grant",
    "evaluate",
    "fact_from_event",
    "first_after",
    "next_deadline",
    "reconcile",
    "residence_file",
    "rulebook",
    "ruleset_for",
]

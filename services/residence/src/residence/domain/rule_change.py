"""What a rule change would do to the standing feed (effectbeoordeling), before it is made.

A rule setting — R11's effective date, the lawful residents' reflection date — changes which
triggers the rules raise. `feed_difference` compares, for one set of facts, the reference
evaluation under the current settings with the one under the proposed settings, as of one day:
the triggers that would be retracted, raised, or would read differently (another date, ground
or case). Pure: it sends nothing and reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from residence.domain.evaluation import evaluate
from residence.domain.model import Fact
from residence.domain.reconcile import replacements
from residence.domain.rulesets import RuleSettings
from residence.domain.triggers import TriggerDecision


@dataclass(frozen=True, slots=True)
class FeedDifference:
    """The standing triggers that a change of settings would retract, raise or change."""

    retracted: tuple[TriggerDecision, ...]
    raised: tuple[TriggerDecision, ...]
    changed: tuple[tuple[TriggerDecision, TriggerDecision], ...]

    def __bool__(self) -> bool:
        return bool(self.retracted or self.raised or self.changed)


def feed_difference(
    facts: Iterable[Fact], as_of: date, current: RuleSettings, proposed: RuleSettings
) -> FeedDifference:
    facts = list(facts)
    before = {d.key: d for d in evaluate(facts, as_of, settings=current)}
    after = {d.key: d for d in evaluate(facts, as_of, settings=proposed)}
    gone = [before[k] for k in sorted(before.keys() - after.keys())]
    new = [after[k] for k in sorted(after.keys() - before.keys())]
    taking_over = replacements(gone, new)
    replaced = {d.key for d in taking_over.values()}
    return FeedDifference(
        retracted=tuple(d for d in gone if d.key not in taking_over),
        raised=tuple(d for d in new if d.key not in replaced),
        changed=(
            *(
                (before[k], after[k])
                for k in sorted(before.keys() & after.keys())
                if before[k].substance != after[k].substance
            ),
            *((d, taking_over[d.key]) for d in gone if d.key in taking_over),
        ),
    )

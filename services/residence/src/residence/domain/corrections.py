"""The facts as they stand after their corrections (docs/domain.md#corrections). Pure.

The rules judge the corrected fact set: an annulled fact is absent, an amended fact stands in
its newest form (its business date and the fields the rules read). All corrections of one fact
name it by ``original_event_id``, so a correction of a correction is one more link of the same
chain. Of a fact's corrections, any annulment voids it (the sources refuse a correction of an
annulled fact, so none follows one); otherwise the latest amendment gives its form — latest by
`Correction.sequence`, the correction's position on its owner's aggregate (one owner states
every correction of one fact, in order), never by the order residence learnt them.

A correction whose fact is not among the facts is kept as it is (``pending``): the same set with
the fact added gives the fact corrected, so the result is a function of the set, not of the
order the facts arrived in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from residence.domain.model import Correction, Fact


@dataclass(frozen=True, slots=True)
class CorrectedFacts:
    facts: tuple[Fact, ...]
    """The facts that stand, amended ones in their newest form; no `Correction` among them."""
    annulled: Mapping[str, Correction]
    """Original event id → the annulment that voided the fact (of facts among the facts)."""
    amended: Mapping[str, tuple[Correction, ...]]
    """Original event id → the amendments of a standing fact, oldest first (the last applies)."""
    pending: tuple[Correction, ...]
    """Corrections of facts that are not among the facts (yet)."""

    def corrections_of(self, event_id: str) -> tuple[Correction, ...]:
        """The corrections applied to the fact first stated as ``event_id``."""
        annulment = self.annulled.get(event_id)
        return (annulment,) if annulment else self.amended.get(event_id, ())


def amend(fact: Fact, amendment: Correction) -> Fact:
    """``fact`` as ``amendment`` states it: its new business date and amended fields."""
    fields = {name: value for name, value in amendment.amended if hasattr(fact, name)}
    return replace(fact, occurred_on=amendment.fact_occurred_on, **fields)  # type: ignore[arg-type]


def apply_corrections(facts: Iterable[Fact]) -> CorrectedFacts:
    """Map the noted facts to the facts as they stand (see the module's docstring)."""
    stated: list[Fact] = []
    chains: dict[str, list[Correction]] = defaultdict(list)
    for fact in facts:
        if isinstance(fact, Correction):
            chains[fact.original_event_id].append(fact)
        else:
            stated.append(fact)
    standing: list[Fact] = []
    annulled: dict[str, Correction] = {}
    amended: dict[str, tuple[Correction, ...]] = {}
    for fact in stated:
        chain = sorted(chains.get(fact.event_id, ()), key=lambda c: c.sequence)
        if not chain:
            standing.append(fact)
            continue
        annulment = next((c for c in chain if c.annulled), None)
        if annulment is not None:
            annulled[fact.event_id] = annulment
            continue
        amended[fact.event_id] = tuple(chain)
        standing.append(amend(fact, chain[-1]))
    known = {fact.event_id for fact in stated}
    pending = tuple(
        correction
        for original, chain in sorted(chains.items())
        if original not in known
        for correction in sorted(chain, key=lambda c: c.sequence)
    )
    return CorrectedFacts(tuple(standing), annulled, amended, pending)


def without_corrections(facts: Iterable[Fact]) -> list[Fact]:
    """The facts as first stated: every correction left out, none applied."""
    return [fact for fact in facts if not isinstance(fact, Correction)]

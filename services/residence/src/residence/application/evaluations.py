"""The rules' decisions per victim, kept while the victim's facts stay the same.

`all_decisions` is a pure function of a victim's facts (its own and its cases' steps, as they
stand after their corrections) and the rule settings: the day of evaluation only says which of
the decisions have fired. A victim settled again without a new fact — its deadline has come,
the clock moved on to the next day of a scenario, a redelivered case step marked it changed —
therefore gets the decisions of its last evaluation, and only the day's filter and
``reconcile`` run again. A fact's id names one fact for good (a correction is a fact of its
own), so the set of fact ids is the key: any fact added, on the victim's file or on a case's,
makes a new evaluation.

Bounded (least recently used first out), like the aggregate cache beside it; on the writer
thread only, as every settle is.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

from residence.domain import Fact, TriggerDecision

DEFAULT_SIZE = 10_000


class DecisionCache:
    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[frozenset[str], list[TriggerDecision]]] = (
            OrderedDict()
        )
        self.hits = 0
        self.misses = 0

    def decisions(
        self,
        victim_id: str,
        facts: Iterable[Fact],
        evaluate: Callable[[list[Fact]], list[TriggerDecision]],
    ) -> list[TriggerDecision]:
        """The victim's decisions on ``facts``: the cached ones when the victim's facts are
        those of its last evaluation, else ``evaluate(facts)`` (kept for next time)."""
        noted = list(facts)
        key = frozenset(fact.event_id for fact in noted)
        known = self._entries.get(victim_id)
        if known is not None and known[0] == key:
            self._entries.move_to_end(victim_id)
            self.hits += 1
            return known[1]
        self.misses += 1
        decided = evaluate(noted)
        self._entries[victim_id] = (key, decided)
        self._entries.move_to_end(victim_id)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return decided

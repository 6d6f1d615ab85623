"""A hidden population of victims, of whom the registering organisations see some: the truth
the dark-number estimate is judged against (docs/domain.md#dark-number).

Every victim of a year exists whether anyone sees them or not. Each of the registering
organisations (police, KMar, Labour Inspectorate, the others that report to the clearing
house) detects a victim with a probability of its own, and victims differ in how visible they
are to *pairs* of organisations: a victim the police meet in a joint operation with the KMar
is likelier on both lists (a referral, a shared control), a victim in a sector the Labour
Inspectorate controls is less likely to meet the KMar. That heterogeneity is written as a
log-linear model with two-way interactions,

    P(history h) ∝ exp(Σ_j β_j h_j + Σ_(i,j) γ_ij h_i h_j),

so that the truth lies within the class of models the monitor chooses from (main effects and
two-way interactions): the coverage of its interval can then be checked against the truth.
β_j is the log-odds of organisation j detecting a victim that none of its partners saw.

Pure and seeded: the same seed gives the same population.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from ketenzicht_contracts.events.categories import SourceOrganisation

ORGANISATIONS: tuple[str, ...] = (
    SourceOrganisation.POLICE.value,
    SourceOrganisation.KMAR.value,
    SourceOrganisation.LABOUR_INSPECTORATE.value,
    SourceOrganisation.OTHER.value,
)

DEFAULT_DETECTION: Mapping[str, float] = {
    SourceOrganisation.POLICE.value: 0.12,
    SourceOrganisation.KMAR.value: 0.05,
    SourceOrganisation.LABOUR_INSPECTORATE.value: 0.06,
    SourceOrganisation.OTHER.value: 0.10,
}
"""Per organisation, the chance of detecting a victim no partner saw. With the dependence
below about three in ten victims are seen by someone: the registered count is about a third of
the truth, as the WODC's estimates for 2010-2019 found (seed 001)."""

DEFAULT_DEPENDENCE: Mapping[tuple[str, str], float] = {
    (SourceOrganisation.POLICE.value, SourceOrganisation.KMAR.value): 1.1,
    (SourceOrganisation.POLICE.value, SourceOrganisation.OTHER.value): 0.8,
    (SourceOrganisation.LABOUR_INSPECTORATE.value, SourceOrganisation.OTHER.value): 0.6,
    (SourceOrganisation.KMAR.value, SourceOrganisation.LABOUR_INSPECTORATE.value): -0.5,
}
"""γ: victims two organisations are both likelier (positive) or less likely (negative) to see."""


@dataclass(frozen=True)
class HiddenVictim:
    """One victim of the hidden population: who detected them (empty: nobody)."""

    index: int
    detected_by: frozenset[str]


@dataclass(frozen=True)
class HiddenPopulation:
    year: int
    organisations: tuple[str, ...]
    victims: tuple[HiddenVictim, ...]
    detection: Mapping[str, float] = field(repr=False)
    dependence: Mapping[tuple[str, str], float] = field(repr=False)

    @property
    def size(self) -> int:
        """The truth: every victim, seen or not."""
        return len(self.victims)

    @property
    def observed(self) -> list[HiddenVictim]:
        return [v for v in self.victims if v.detected_by]

    def histories(self) -> list[frozenset[str]]:
        """What the lists show: one entry per victim seen, the organisations that saw them."""
        return [v.detected_by for v in self.observed]


def history_probabilities(
    organisations: tuple[str, ...],
    detection: Mapping[str, float],
    dependence: Mapping[tuple[str, str], float],
) -> dict[tuple[int, ...], float]:
    """P(history) for every history, the all-zero one (nobody saw the victim) included."""
    beta = {o: math.log(detection[o] / (1 - detection[o])) for o in organisations}
    weights: dict[tuple[int, ...], float] = {}
    for h in itertools.product((0, 1), repeat=len(organisations)):
        on = {o for o, bit in zip(organisations, h, strict=True) if bit}
        exponent = sum(beta[o] for o in on)
        exponent += sum(g for (a, b), g in dependence.items() if a in on and b in on)
        weights[h] = math.exp(exponent)
    total = sum(weights.values())
    return {h: w / total for h, w in weights.items()}


def hidden_population(
    seed: int,
    *,
    year: int = 2019,
    size: int = 5000,
    detection: Mapping[str, float] = DEFAULT_DETECTION,
    dependence: Mapping[tuple[str, str], float] = DEFAULT_DEPENDENCE,
    organisations: tuple[str, ...] = ORGANISATIONS,
) -> HiddenPopulation:
    """``size`` victims of one year, each with the organisations that detected them."""
    if len(organisations) < 4:
        raise ValueError("the hidden population has at least four registering organisations")
    rng = random.Random(f"hidden-population/{seed}/{year}")
    probabilities = history_probabilities(organisations, detection, dependence)
    histories = list(probabilities)
    weights = [probabilities[h] for h in histories]
    drawn = rng.choices(histories, weights=weights, k=size)
    victims = tuple(
        HiddenVictim(i, frozenset(o for o, bit in zip(organisations, h, strict=True) if bit))
        for i, h in enumerate(drawn)
    )
    return HiddenPopulation(year, organisations, victims, dict(detection), dict(dependence))


__all__ = [
    "DEFAULT_DEPENDENCE",
    "DEFAULT_DETECTION",
    "ORGANISATIONS",
    "HiddenPopulation",
    "HiddenVictim",
    "hidden_population",
    "history_probabilities",
]

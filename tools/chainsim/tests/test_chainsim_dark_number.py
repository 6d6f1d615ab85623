"""The monitor's dark-number interval against the truth: on hidden populations whose every
victim is known (`chainsim.hidden_population`: four registering organisations, a detection
probability each, victims more or less visible to pairs of them — dependence the two-way
log-linear models capture), the 95% interval, model choice included, covers the true number
in at least 90% of 50 seeds. A refused estimate counts as a miss and says why.

`make test` runs the first 10 seeds (about 30 s); the full 50 are marked slow (`make bench`,
``pytest -m slow``)."""

from __future__ import annotations

import pytest

from chainsim.hidden_population import ORGANISATIONS, hidden_population, history_probabilities
from monitor.domain.dark_number import CaptureTable, estimate_dark_number


def _coverage(seeds: range) -> tuple[int, list[str]]:
    covered, misses = 0, []
    for seed in seeds:
        population = hidden_population(seed)
        table = CaptureTable.from_histories(population.histories(), lists=population.organisations)
        estimate = estimate_dark_number(table, replicates=199, seed=seed)
        if estimate.covers(population.size):
            covered += 1
        elif estimate.refusal is not None:
            misses.append(f"seed {seed}: refused, {estimate.refusal}: {estimate.reason}")
        else:
            misses.append(
                f"seed {seed}: {estimate.lower:.0f}-{estimate.upper:.0f} misses {population.size}"
            )
    return covered, misses


def test_the_hidden_population_has_four_organisations_and_a_known_truth() -> None:
    population = hidden_population(7)
    assert population.organisations == ORGANISATIONS
    assert len(ORGANISATIONS) >= 4
    assert population.size == 5000
    seen = len(population.observed)
    # About a third seen, as the WODC found the registered count against its estimate.
    assert 0.2 * population.size < seen < 0.45 * population.size
    assert hidden_population(7) == population  # seeded
    assert sum(history_probabilities(ORGANISATIONS, population.detection, {}).values()) == (
        pytest.approx(1.0)
    )
    # Every organisation sees someone, and some victims are seen by several.
    assert all(any(o in v.detected_by for v in population.observed) for o in ORGANISATIONS)
    assert any(len(v.detected_by) >= 2 for v in population.observed)


def test_the_interval_covers_the_truth_in_a_sample_of_seeds() -> None:
    covered, misses = _coverage(range(10))
    assert covered >= 9, misses


@pytest.mark.slow
def test_the_interval_covers_the_truth_in_at_least_90_percent_of_50_seeds() -> None:
    covered, misses = _coverage(range(50))
    assert covered >= 45, misses

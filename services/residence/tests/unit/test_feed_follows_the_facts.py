"""The feed is a function of the facts: whatever order and timing the facts arrive in, the
triggers standing at the end equal one pass of the rules over all of them (the reference
evaluation), no key stands twice, and facts that arrive within the grace period of each other
give the same feed.

Victims come from chainsim's generator (reports, several cases, Dublin claimants, minors, the
IND's permit decisions, dismissals, verdicts), fed through the real residence application.
``KETENZICHT_FEED_PROPERTY_EXAMPLES`` sets how many fact sets are drawn (the bench and
``make test-feed`` run the full property). Some fact sets include corrections (annulments,
amended dates, a correction of a correction, an amended verdict outcome) on the facts' own
streams: the reference is then one pass over the corrected facts.
"""

from __future__ import annotations

import os
import random

import pytest
from feed_harness import FeedRun, interleave, run, scenario_facts
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("KETENZICHT_FEED_PROPERTY_EXAMPLES", "12"))
VICTIMS = int(os.environ.get("KETENZICHT_FEED_PROPERTY_VICTIMS", "4"))


def _substance(decisions: list) -> set[tuple[object, ...]]:
    return {d.substance for d in decisions}


async def _standing_equals_reference(seed: int, order_seed: int, corrections: int = 0) -> None:
    facts = scenario_facts(seed, VICTIMS, corrections=corrections)
    feed = FeedRun()
    try:
        rng = random.Random(order_seed)
        await feed.play(interleave(facts, rng), rng)
        standing = feed.standing()
        reference = await feed.reference()
        assert {e.decision().substance for e in standing.values()} == _substance(reference)
    finally:
        feed.close()


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(min_value=1, max_value=10_000),
    order_seed=st.integers(min_value=0, max_value=2**32),
    corrections=st.sampled_from([0, 0, 2, 5]),
)
def test_the_standing_feed_equals_one_pass_of_the_rules_whatever_the_order(
    seed: int, order_seed: int, corrections: int
) -> None:
    run(_standing_equals_reference(seed, order_seed, corrections))


async def _feed_of(
    seed: int, order_seed: int, corrections: int = 0
) -> list[tuple[str, tuple[object, ...] | str]]:
    feed = FeedRun()
    try:
        rng = random.Random(order_seed)
        facts = scenario_facts(seed, VICTIMS, corrections=corrections)
        # Every fact within the grace period of the one before: no time passes between them.
        await feed.play(interleave(facts, rng), rng, delays=(0.0,))
        return sorted(
            (
                type(e).__name__,
                e.retracted_trigger_id
                if hasattr(e, "retracted_trigger_id")
                else e.decision().substance,
            )
            for e in feed.emitted()
        )
    finally:
        feed.close()


@pytest.mark.parametrize(("seed", "corrections"), [(7, 0), (2026, 0), (7, 4), (31, 6)])
def test_facts_within_the_grace_period_give_the_same_feed_in_every_order(
    seed: int, corrections: int
) -> None:
    feeds = {repr(run(_feed_of(seed, order, corrections))) for order in range(4)}
    assert len(feeds) == 1
    assert "TriggerRetracted" not in next(iter(feeds))


def test_a_feed_settled_fact_by_fact_still_ends_in_the_reference() -> None:
    # Far apart in time: every fact settles before the next comes, so every intermediate
    # state is sent and corrected; the end must still be the reference.
    async def scenario() -> None:
        facts = scenario_facts(99, VICTIMS, corrections=5)
        feed = FeedRun()
        try:
            rng = random.Random(5)
            await feed.play(interleave(facts, rng), rng, delays=(5.0,))
            standing = feed.standing()
            assert {e.decision().substance for e in standing.values()} == _substance(
                await feed.reference()
            )
        finally:
            feed.close()

    run(scenario())


FULL_SETS = 20
FULL_VICTIMS = 10
FULL_INTERLEAVINGS = 20


@pytest.mark.slow
@pytest.mark.parametrize("fact_set", range(FULL_SETS))
def test_the_full_property_over_200_victims_in_20_interleavings_each(fact_set: int) -> None:
    """20 fact sets of 10 chainsim victims (200 victims), each in 20 random interleavings with
    random delays: the standing feed always equals the reference evaluation. Every other fact
    set has corrections of 6 of its upstream facts."""

    async def scenario() -> None:
        corrections = 6 if fact_set % 2 else 0
        facts = scenario_facts(1000 + fact_set, FULL_VICTIMS, corrections=corrections)
        for order in range(FULL_INTERLEAVINGS):
            feed = FeedRun()
            try:
                rng = random.Random(order)
                await feed.play(interleave(facts, rng), rng)
                assert {e.decision().substance for e in feed.standing().values()} == (
                    _substance(await feed.reference())
                ), f"fact set {fact_set}, order {order}"
            finally:
                feed.close()

    run(scenario())

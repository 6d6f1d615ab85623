"""A victim settled again without a new fact (its deadline, the next day of a scenario) reuses
the rules' decisions of its last evaluation; any new fact, on its own file or on a case it takes
part in, makes a new one. The feed is the same either way."""

from __future__ import annotations

import random
from datetime import timedelta

from feed_harness import Fed, FeedRun, run, scenario_facts

from residence.application.evaluations import DecisionCache


async def _played(facts: list[Fed]) -> FeedRun:
    feed = FeedRun()
    await feed.play(facts, random.Random(3))
    return feed


async def _settle_all(feed: FeedRun, victims: list[str], days: int = 0) -> None:
    await feed.commands.settle(victims, feed.today + timedelta(days=days))


def test_a_victim_settled_again_without_a_new_fact_is_not_evaluated_again() -> None:
    async def scenario() -> None:
        feed = await _played(scenario_facts(11, 6))
        try:
            victims = feed.app.victim_ids()
            cache = feed.commands.evaluations
            emitted = len(feed.emitted())
            before = cache.misses
            await _settle_all(feed, victims)
            await _settle_all(feed, victims)
            assert cache.misses == before
            assert cache.hits >= 2 * len(victims)
            assert len(feed.emitted()) == emitted  # nothing new to send on the same facts
        finally:
            feed.close()

    run(scenario())


def test_a_new_fact_on_a_case_makes_its_victims_evaluated_again() -> None:
    async def scenario() -> None:
        facts = scenario_facts(11, 6)
        case_steps = [f for f in facts if f.channel != "intake" and "case_id" in f.command.fields]
        last_step = case_steps[-1]
        feed = await _played([f for f in facts if f is not last_step])
        try:
            victims = feed.app.victim_ids()
            await _settle_all(feed, victims)
            misses = feed.commands.evaluations.misses
            await feed.publish(last_step)
            await feed.drain()
            assert feed.commands.evaluations.misses > misses
            # … and the feed is what one pass of the rules over every fact gives.
            standing = {e.decision().substance for e in feed.standing().values()}
            assert standing == {d.substance for d in await feed.reference()}
        finally:
            feed.close()

    run(scenario())


def test_the_kept_decisions_are_bounded() -> None:
    cache = DecisionCache(size=2)
    for victim in ("a", "b", "c"):
        cache.decisions(victim, [], lambda facts: [])
    cache.decisions("a", [], lambda facts: [])
    assert cache.misses == 4  # "a" was the least recently used, and went first

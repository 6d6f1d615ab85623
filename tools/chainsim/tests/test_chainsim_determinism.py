"""A plan is a function of its seed, dates and scale; it ends at `end`; a shorter plan is the
longer plan cut short."""

from __future__ import annotations

from datetime import date

from chainsim import generate

START, END = date(2018, 1, 1), date(2021, 12, 31)


def test_the_same_seed_gives_the_same_plan() -> None:
    assert list(generate(7, START, END, 0.5)) == list(generate(7, START, END, 0.5))


def test_another_seed_gives_another_plan() -> None:
    first = list(generate(7, START, END, 0.5))
    second = list(generate(8, START, END, 0.5))
    assert first != second
    assert first[0].fields["victim_id"].startswith("v-7-")
    assert second[0].fields["victim_id"].startswith("v-8-")


def test_the_plan_is_ordered_by_known_on_and_nothing_lies_after_the_end() -> None:
    plan = list(generate(9, START, END, 0.5))
    assert plan
    assert [c.known_on for c in plan] == sorted(c.known_on for c in plan)
    assert all(START <= c.occurred_on <= c.known_on <= END for c in plan)


def test_a_plan_to_an_earlier_end_is_the_longer_plan_cut_at_that_day() -> None:
    cut = date(2019, 9, 30)
    shorter = list(generate(10, START, cut, 0.5))
    longer = [c for c in generate(10, START, END, 0.5) if c.known_on <= cut]
    assert shorter == longer


def test_an_empty_window_or_no_scale_plans_nothing() -> None:
    assert list(generate(1, END, START)) == []
    assert list(generate(1, START, END, 0.0)) == []


def test_scale_multiplies_the_inflow() -> None:
    small = sum(1 for c in generate(2, START, END, 0.5) if c.event_type == "SignalRegistered")
    large = sum(1 for c in generate(2, START, END, 2.0) if c.event_type == "SignalRegistered")
    assert 3.5 < large / small < 4.5

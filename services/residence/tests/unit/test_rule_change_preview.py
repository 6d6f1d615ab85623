"""A rule setting change is previewed on the standing feed before it is made: what would be
retracted, raised or changed, computed from the reference evaluation, with nothing sent."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date

from feed_harness import Fed, FeedRun, run
from residence_story import Story

from chainsim.plan import Actor, PlannedCommand
from residence.adapters.cli import preview
from residence.domain import RuleSettings, TriggerKind
from residence.domain.categories import NonTemporaryGround, ResidencePosition
from residence.domain.rule_change import feed_difference

CURRENT = RuleSettings()
EARLIER_ROUTE_B = replace(CURRENT, prosecution_ground_from=date(2021, 1, 1))


def _summoned_in_spring_2021() -> Story:
    story = Story()
    story.signal("2020-11-02")
    story.report("2020-11-10")
    story.summoned("2021-06-01")
    return story


def test_moving_r11_earlier_shows_the_prosecution_indication_it_would_raise() -> None:
    story = _summoned_in_spring_2021()
    difference = feed_difference(story.facts, date(2022, 1, 1), CURRENT, EARLIER_ROUTE_B)
    assert [(d.kind, d.ground, d.fires_on) for d in difference.raised] == [
        (
            TriggerKind.NON_TEMPORARY_PERMIT_INDICATED,
            NonTemporaryGround.PROSECUTION,
            date(2021, 6, 1),
        )
    ]
    assert not difference.retracted
    assert not difference.changed


def test_the_same_settings_make_no_difference() -> None:
    story = _summoned_in_spring_2021()
    assert not feed_difference(story.facts, date(2022, 1, 1), CURRENT, CURRENT)


def test_moving_the_lawful_residents_date_earlier_raises_their_reflection_offers() -> None:
    story = Story()
    story.signal("2022-11-01", position=ResidencePosition.LAWFUL)
    proposed = replace(CURRENT, lawful_residents_reflection_from=date(2022, 10, 20))
    difference = feed_difference(story.facts, date(2023, 1, 1), CURRENT, proposed)
    assert [d.kind for d in difference.raised] == [TriggerKind.REFLECTION_PERIOD_OFFER_REQUIRED]


def _fed(index: int, service: str, event_type: str, on: str, **fields: object) -> Fed:
    day = date.fromisoformat(on)
    return Fed(
        service,
        PlannedCommand(Actor.POLICE, event_type, day, day, fields),
        f"00000000-0000-4000-8000-{index:012d}",
    )


def test_the_preview_command_lists_the_change_and_sends_nothing() -> None:
    async def scenario() -> None:
        feed = FeedRun()
        try:
            facts = [
                _fed(
                    1,
                    "intake",
                    "SignalRegistered",
                    "2020-11-02",
                    victim_id="victim-p1",
                    signal_id="signal-p1",
                    source_organisation="POLICE",
                    form="SEXUAL",
                    minor=False,
                    nationality_group="THIRD_COUNTRY",
                    residence_position="IRREGULAR",
                    region="ROTTERDAM",
                ),
                _fed(
                    2,
                    "intake",
                    "ReportFiled",
                    "2020-11-10",
                    victim_id="victim-p1",
                    case_id="case-p1",
                    under_number=False,
                ),
                _fed(
                    3,
                    "prosecution",
                    "SuspectSummoned",
                    "2021-06-01",
                    case_id="case-p1",
                    suspect_id="suspect-p1",
                ),
            ]
            await feed.play(facts, random.Random(1))
            sent = len(feed.emitted())
            text = await feed.bus.query(
                lambda: preview(
                    feed.commands, {"prosecution_ground_from": date(2021, 1, 1)}, date(2022, 1, 1)
                )
            )
            assert "1 victims' feeds would change; nothing was sent" in text
            assert "raised    NonTemporaryPermitIndicated" in text
            assert "victim-p1" in text
            assert "PROSECUTION" in text
            assert len(feed.emitted()) == sent
        finally:
            feed.close()

    run(scenario())

"""Issue 15: the feed follows the corrections of the facts, through the real application.

A corrected date that moves a residence ground (a summons amended to a later date) and an
annulled conviction the IND had already granted the non-temporary permit on: the feed ends as
the reference evaluation of the corrected facts says, the retractions name the correction, the
replacement names it in ``based_on``, and a permit whose basis is gone is ReassessmentRequired.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid5

from feed_harness import Fed, FeedRun, run

from chainsim.plan import Actor, PlannedCommand

NS = UUID("5d2b1f0e-7a4c-4b8e-8c61-2e5d3b2f8c99")
VICTIM = "victim-cor-1"
CASE = "case-cor-1"


def _fed(channel: str, event_type: str, on: str, position: int = 1, **fields: Any) -> Fed:
    day = date.fromisoformat(on)
    actor = {"intake": Actor.POLICE, "prosecution": Actor.OM, "ind": Actor.IND}[channel]
    command = PlannedCommand(actor, event_type, day, day, fields)
    return Fed(channel, command, str(uuid5(NS, f"{event_type}:{on}:{position}")), position)


def _signal() -> list[Fed]:
    return [
        _fed(
            "intake",
            "SignalRegistered",
            "2021-01-01",
            victim_id=VICTIM,
            nationality_group="THIRD_COUNTRY",
            residence_position="IRREGULAR",
        ),
        _fed("intake", "ReportFiled", "2021-01-10", 2, victim_id=VICTIM, case_id=CASE),
    ]


def _correction(
    of: Fed, event_type: str, on: str, position: int, fact_on: str, **amended: Any
) -> Fed:
    fields: dict[str, Any] = {
        "case_id": CASE,
        "suspect_id": "suspect-cor-1",
        "corrected_event_id": of.event_id,
        "original_event_id": of.event_id,
        "corrected_event_type": of.command.event_type,
        "correction_reason": "WRONG_DATE" if event_type == "FactAmended" else "REGISTERED_IN_ERROR",
        "fact_occurred_on": fact_on,
    }
    if event_type == "FactAmended":
        fields["amended"] = amended
    return _fed("prosecution", event_type, on, position, **fields)


async def _one_by_one(feed: FeedRun, facts: list[Fed]) -> None:
    """Each fact delivered and settled before the next: every trigger is sent, then corrected."""
    for fact in facts:
        await feed.publish(fact)
        if fact.channel != "ind":
            await feed.deliver(fact.channel)
        feed.now += 5.0
        feed.observe()
        feed.now += 0.01
        feed.observe()
        await feed.settle_ready()
    await feed.drain()


async def _ends_as_the_reference(feed: FeedRun) -> dict[str, Any]:
    standing = feed.standing()
    reference = await feed.reference()
    assert {e.decision().substance for e in standing.values()} == {d.substance for d in reference}
    return standing


def _retractions(feed: FeedRun) -> list[Any]:
    return [e for e in feed.emitted() if type(e).__name__ == "TriggerRetracted"]


def test_a_summons_amended_to_a_later_date_moves_the_ground_on_the_feed() -> None:
    async def scenario() -> None:
        summons = _fed(
            "prosecution",
            "SuspectSummoned",
            "2022-01-01",
            3,
            case_id=CASE,
            suspect_id="suspect-cor-1",
        )
        amendment = _correction(summons, "FactAmended", "2022-03-01", 4, "2022-09-01")
        feed = FeedRun()
        try:
            await _one_by_one(feed, [*_signal(), summons, amendment])
            standing = await _ends_as_the_reference(feed)
            (indication,) = [
                e for e in standing.values() if type(e).__name__ == "NonTemporaryPermitIndicated"
            ]
            assert indication.occurred_on == date(2022, 9, 1)
            assert indication.ground == "PROSECUTION"
            assert amendment.event_id in indication.based_on
            (retraction,) = _retractions(feed)
            assert amendment.event_id in retraction.caused_by
            assert retraction.replaced_by_trigger_id == indication.trigger_id
        finally:
            feed.close()

    run(scenario())


def test_an_annulled_conviction_retracts_and_asks_the_ind_to_reassess_its_permit() -> None:
    async def scenario() -> None:
        verdict = _fed(
            "prosecution",
            "VerdictDelivered",
            "2021-06-01",
            3,
            case_id=CASE,
            suspect_id="suspect-cor-1",
            instance="FIRST_INSTANCE",
            outcome="CONVICTION_TRAFFICKING",
        )
        grant = _fed("ind", "NonTemporaryPermitGranted", "2021-09-01", victim_id=VICTIM)
        annulment = _correction(verdict, "FactAnnulled", "2022-02-01", 4, "2021-06-01")
        feed = FeedRun()
        try:
            await _one_by_one(feed, [*_signal(), verdict, grant, annulment])
            standing = await _ends_as_the_reference(feed)
            kinds = sorted(type(e).__name__ for e in standing.values())
            assert "NonTemporaryPermitIndicated" not in kinds
            (reassess,) = [
                e for e in standing.values() if type(e).__name__ == "ReassessmentRequired"
            ]
            assert reassess.occurred_on == date(2022, 2, 1)
            assert annulment.event_id in reassess.based_on
            assert reassess.trigger_key.startswith("ReassessmentRequired|victim-cor-1|-|2021-09-01")
            (retraction,) = _retractions(feed)  # the CONVICTION indication
            assert annulment.event_id in retraction.caused_by
            assert retraction.replaced_by_trigger_id is None
            assert feed.app.subject_of(reassess).startswith("ketenzicht.residence.triggers.ind.")
        finally:
            feed.close()

    run(scenario())


def test_a_correction_noted_before_its_fact_applies_once_the_fact_comes() -> None:
    async def scenario() -> None:
        summons = _fed(
            "prosecution",
            "SuspectSummoned",
            "2022-01-01",
            3,
            case_id=CASE,
            suspect_id="suspect-cor-1",
        )
        amendment = _correction(summons, "FactAmended", "2022-03-01", 4, "2022-09-01")
        feed = FeedRun()
        try:
            # A redelivery that brings the correction first (a replay of the stream, say).
            await _one_by_one(feed, [*_signal(), amendment, summons])
            standing = await _ends_as_the_reference(feed)
            (indication,) = [
                e for e in standing.values() if type(e).__name__ == "NonTemporaryPermitIndicated"
            ]
            assert indication.occurred_on == date(2022, 9, 1)
            assert not _retractions(feed)
        finally:
            feed.close()

    run(scenario())

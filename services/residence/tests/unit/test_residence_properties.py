"""Properties: arrival order never matters, and reconciling as facts trickle in converges.

The facts are drawn from a pool of scenario pieces for two victims sharing a case (reports as
victims and as witnesses, reflection, permits, case steps, late dismissals, Dublin and
presence assessments, the IND's findings and refusals, records that a victim cannot
cooperate) with random dates and nationalities; the same facts are then fed in random orders.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from residence_story import Story

from residence.domain import (
    EmittedTrigger,
    Retraction,
    TriggerDecision,
    all_decisions,
    apply_outcome,
    evaluate,
    next_deadline,
    reconcile,
)
from residence.domain.categories import (
    CooperationImpossibleReason,
    InvestigationCloseReason,
    NationalityGroup,
    OtherDisposalKind,
    ReflectionEndReason,
    ReportingCapacity,
    ResidencePosition,
    VerdictOutcome,
)
from residence.domain.model import Fact

START = date(2018, 1, 1)
END = date(2027, 12, 31)

offsets = st.integers(min_value=0, max_value=(END - START).days)
capacities = st.sampled_from([ReportingCapacity.VICTIM] * 3 + [ReportingCapacity.WITNESS])
positions = st.sampled_from(list(ResidencePosition))
# Mostly third-country nationals, so that most drawn chains are in the residence track.
nationalities = st.sampled_from(
    [NationalityGroup.THIRD_COUNTRY] * 4 + [NationalityGroup.OTHER_EU, NationalityGroup.DUTCH]
)
PIECES = [
    "signal",
    "report",
    "cooperation",
    "withdrawn",
    "declined",
    "reflection",
    "reflection_ended",
    "permit",
    "extended",
    "permit_ended",
    "refused",
    "opened",
    "closed",
    "no_investigation",
    "submitted",
    "registered",
    "summoned",
    "dismissed",
    "transaction",
    "reopened",
    "acquittal",
    "conviction",
    "appeal",
    "final",
    "presence",
    "non_temporary",
    "non_temporary_refused",
    "witness_report",
    "witness_cooperation",
    "cooperation_impossible",
    "no_eu_right",
]


def _iso(offset: int) -> str:
    return (START + timedelta(days=offset)).isoformat()


@st.composite
def chains(draw: st.DrawFn) -> list[Fact]:
    """Facts of two victims who report in the same case, with random pieces and dates."""
    shared: list[Fact] = []
    for number, prefix in ((1, "a"), (2, "b")):
        story = Story(victim=f"victim-00{number}", case="case-007", facts=shared, prefix=prefix)
        story.signal(_iso(draw(offsets)), draw(positions), draw(nationalities))
        story.report(_iso(draw(offsets)), capacity=draw(capacities))
        for piece in draw(st.lists(st.sampled_from(PIECES), max_size=7)):
            _add(story, piece, _iso(draw(offsets)), draw)
    return shared


def _add(story: Story, piece: str, on: str, draw: st.DrawFn) -> None:
    suspect = draw(st.sampled_from(["suspect-001", "suspect-002"]))
    later = (date.fromisoformat(on) + timedelta(days=draw(st.integers(30, 900)))).isoformat()
    simple = {
        "report": lambda: story.report(on),
        "cooperation": lambda: story.cooperation(on),
        "withdrawn": lambda: story.withdrawn(on),
        "declined": lambda: story.declined(on),
        "reflection": lambda: story.reflection_granted(on),
        "reflection_ended": lambda: story.reflection_ended(on, ReflectionEndReason.ENDED_EARLY),
        "permit": lambda: story.permit(on, later),
        "extended": lambda: story.extended(on, later),
        "permit_ended": lambda: story.permit_ended(later, on),
        "refused": lambda: story.permit_refused(on),
        "opened": lambda: story.investigation_opened(on),
        "closed": lambda: story.investigation_closed(on, InvestigationCloseReason.NO_LEADS),
        "no_investigation": lambda: story.no_investigation(on),
        "submitted": lambda: story.submitted(on, suspect),
        "registered": lambda: story.registered(on, suspect),
        "summoned": lambda: story.summoned(on, suspect),
        "dismissed": lambda: story.dismissed(on, suspect),
        "transaction": lambda: story.disposed(on, OtherDisposalKind.TRANSACTION, suspect),
        "reopened": lambda: story.reopened(on, suspect),
        "acquittal": lambda: story.verdict(on, VerdictOutcome.ACQUITTAL, suspect),
        "conviction": lambda: story.verdict(on, VerdictOutcome.CONVICTION_TRAFFICKING, suspect),
        "appeal": lambda: story.appeal(on, suspect),
        "final": lambda: story.final(on, suspect),
        "presence": lambda: story.presence(on, draw(st.booleans())),
        "non_temporary": lambda: story.non_temporary_granted(on),
        "non_temporary_refused": lambda: story.non_temporary_refused(on),
        "witness_report": lambda: story.report(on, capacity=ReportingCapacity.WITNESS),
        "witness_cooperation": lambda: story.cooperation(on, capacity=ReportingCapacity.WITNESS),
        "cooperation_impossible": lambda: story.cooperation_impossible(
            on, draw(st.sampled_from(list(CooperationImpossibleReason)))
        ),
        "no_eu_right": lambda: story.no_eu_right(on),
        "signal": lambda: story.signal(on, draw(positions), draw(nationalities)),
    }
    simple[piece]()


FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(facts=chains(), data=st.data())
def test_the_same_facts_in_any_order_give_the_same_decisions(
    facts: list[Fact], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(facts))
    as_of = START + timedelta(days=data.draw(offsets))
    assert evaluate(shuffled, as_of) == evaluate(facts, as_of)
    assert next_deadline(shuffled, as_of) == next_deadline(facts, as_of)


@FAST
@given(facts=chains(), data=st.data())
def test_every_decision_rests_on_known_facts_and_has_a_readable_reason(
    facts: list[Fact], data: st.DataObject
) -> None:
    known = {fact.event_id for fact in facts}
    for decision in all_decisions(facts):
        assert decision.based_on
        assert set(decision.based_on) <= known
        assert decision.reason.endswith(".")
        assert "victim-00" not in decision.reason


@FAST
@given(facts=chains(), data=st.data())
def test_time_passing_only_adds_triggers(facts: list[Fact], data: st.DataObject) -> None:
    first, second = sorted(data.draw(st.lists(offsets, min_size=2, max_size=2)))
    earlier = evaluate(facts, START + timedelta(days=first))
    later = evaluate(facts, START + timedelta(days=second))
    assert set(earlier) <= set(later)


@FAST
@given(facts=chains(), data=st.data())
def test_reconciling_growing_prefixes_never_resends_an_id_and_ends_where_all_facts_do(
    facts: list[Fact], data: st.DataObject
) -> None:
    arrival = data.draw(st.permutations(facts))
    checkpoints = sorted(data.draw(st.lists(offsets, min_size=len(arrival), max_size=len(arrival))))
    emitted: list[EmittedTrigger] = []
    sent_ids: list[str] = []
    for count, offset in enumerate(checkpoints, start=1):
        outcome = reconcile(emitted, evaluate(arrival[:count], START + timedelta(days=offset)))
        sent_ids += [item.trigger_id for item in outcome]
        for item in outcome:
            if isinstance(item, Retraction):
                live = {e.decision.trigger_id for e in emitted if not e.retracted}
                assert item.retracted_trigger_id in live
        emitted = apply_outcome(emitted, outcome)
    final = evaluate(facts, END)
    outcome = reconcile(emitted, final)
    sent_ids += [item.trigger_id for item in outcome]
    emitted = apply_outcome(emitted, outcome)

    assert len(sent_ids) == len(set(sent_ids))
    assert {e.decision.key for e in emitted if not e.retracted} == {t.key for t in final}
    assert reconcile(emitted, final) == []


@FAST
@given(facts=chains())
def test_decisions_for_the_whole_chain_are_those_of_each_victim_alone(facts: list[Fact]) -> None:
    together = all_decisions(facts)
    for victim in ("victim-001", "victim-002"):
        others = {"victim-001", "victim-002"} - {victim}
        alone = [f for f in facts if getattr(f, "victim_id", None) not in others]
        assert [t for t in together if t.victim_id == victim] == all_decisions(alone)


def test_an_id_is_a_function_of_the_key_only() -> None:
    story = Story()
    story.report("2020-03-01")
    decision: TriggerDecision = story.on("2020-03-01")[0]
    assert (
        decision.trigger_id == evaluate(list(reversed(story.facts)), date(2021, 1, 1))[0].trigger_id
    )


LATER_CASE_STEPS = [
    "summoned",
    "dismissed",
    "transaction",
    "reopened",
    "acquittal",
    "conviction",
    "appeal",
    "final",
    "no_investigation",
    "closed",
    "withdrawn",
]


@FAST
@given(facts=chains(), data=st.data())
def test_a_ground_once_reached_is_never_taken_back_by_later_case_events(
    facts: list[Fact], data: st.DataObject
) -> None:
    indications = [t for t in all_decisions(facts) if t.kind.value == "NonTemporaryPermitIndicated"]
    for indication in indications:
        story = Story(
            victim=indication.victim_id, case="case-007", facts=list(facts), prefix="late"
        )
        for piece in data.draw(st.lists(st.sampled_from(LATER_CASE_STEPS), max_size=4)):
            days_later = data.draw(st.integers(min_value=1, max_value=2000))
            _add(
                story,
                piece,
                (indication.fires_on + timedelta(days=days_later)).isoformat(),
                data.draw,
            )
        after = [t for t in all_decisions(story.facts) if t.key == indication.key]
        assert after == [indication]

"""Whom the residence rules apply to (personele reikwijdte): Dutch nationals never, EU/EEA/Swiss
nationals only after the IND finds that they derive no right of residence from EU law."""

from __future__ import annotations

from residence_story import DUTCH, IRREGULAR, OTHER_EU, THIRD, K, Story

from residence.domain import TriggerKind, all_decisions
from residence.domain.categories import NationalityGroup, VerdictOutcome


def _full_chain(nationality: NationalityGroup, *, eu_finding: bool = False) -> Story:
    """A signal, a record that the victim cannot cooperate, a declined offer, a report, the
    IND's permit for four years, a second report withdrawn, a summons, a conviction and the
    case final: something for most of the rules."""
    story = Story()
    if eu_finding:
        story.no_eu_right("2019-12-01")
    story.signal("2020-01-10", IRREGULAR, nationality)
    story.cooperation_impossible("2020-01-20")
    story.declined("2020-01-25")
    story.report("2020-03-01")
    story.permit_held("2020-03-01", through="2024-03-01")
    story.report("2020-04-01", case="case-002")
    story.withdrawn("2020-05-01", case="case-002")
    story.summoned("2023-06-01")
    story.verdict("2024-01-15", VerdictOutcome.CONVICTION_TRAFFICKING)
    story.final("2024-02-01")
    return story


def _said(story: Story) -> list[tuple[TriggerKind, str, str]]:
    return [(t.kind, t.fires_on.isoformat(), t.key) for t in all_decisions(story.facts)]


def test_a_third_country_national_in_the_same_chain_gets_many_kinds_of_trigger() -> None:
    kinds = {kind for kind, _, _ in _said(_full_chain(THIRD))}
    assert kinds >= {
        K.REFLECTION_PERIOD_OFFER_REQUIRED,
        K.TEMPORARY_PERMIT_WITHOUT_COOPERATION_INDICATED,
        K.REFLECTION_PERIOD_EXPIRY_DUE,
        K.TEMPORARY_PERMIT_APPLICATION_INDICATED,
        K.NON_TEMPORARY_PERMIT_INDICATED,
        K.TEMPORARY_PERMIT_BASIS_ENDED,
    }


def test_a_dutch_national_gets_no_trigger_at_all() -> None:
    assert _said(_full_chain(DUTCH)) == []


def test_an_eu_national_without_the_inds_finding_gets_no_trigger_at_all() -> None:
    assert _said(_full_chain(OTHER_EU)) == []


def test_an_eu_national_found_without_an_eu_right_is_judged_as_a_third_country_one() -> None:
    eu = _said(_full_chain(OTHER_EU, eu_finding=True))
    assert eu
    assert eu == _said(_full_chain(THIRD, eu_finding=True))


def test_a_finding_on_eu_law_does_not_bring_a_dutch_national_into_the_track() -> None:
    assert _said(_full_chain(DUTCH, eu_finding=True)) == []

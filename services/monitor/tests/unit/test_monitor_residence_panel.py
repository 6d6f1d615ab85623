"""The residence panel on a small fixed set, computed by hand (as of 2022-03-01):

2021 — TemporaryPermitApplicationIndicated for v1 (case C1, 03-01), v2 (C2, 03-10), v3 (C3,
06-01) and v4 (C4, 07-01, retracted on 07-05). The IND grants v1's permit on 03-21 (20 days) and
refuses v2's on 05-09 (60 days); v3 gets a permit in *another* case (C9), which does not answer
C3's indication: open since 2021-06-01, 273 days at the cut-off. v1 also gets a
ReflectionPeriodOfferRequired (to the police: counted, asks no IND decision).
2022 — NonTemporaryPermitIndicated for v1 (01-10) and NonTemporaryAssessmentRequired for v2
(01-20); the IND refuses v2's non-temporary permit on 02-19 (30 days); v1's is still open (50 days).
A decision before a trigger (v5's grant on 2021-01-01, trigger 2021-02-01) does not answer it.
"""

from __future__ import annotations

from datetime import date

from monitor_chain_builders import ChainLog

from monitor.domain import ChainProjection
from monitor.domain.residence_panel import residence_panel

AS_OF = date(2022, 3, 1)


def chain() -> ChainLog:
    log = ChainLog()

    def trigger(kind: str, victim: str, on: str, case: str | None = None) -> None:
        payload = {"victim_id": victim, "trigger_id": f"{kind}-{victim}-{on}"}
        if case:
            payload["case_id"] = case
        log.add(kind, on, **payload)

    trigger("TemporaryPermitApplicationIndicated", "v1", "2021-03-01", "C1")
    trigger("TemporaryPermitApplicationIndicated", "v2", "2021-03-10", "C2")
    trigger("TemporaryPermitApplicationIndicated", "v3", "2021-06-01", "C3")
    trigger("TemporaryPermitApplicationIndicated", "v4", "2021-07-01", "C4")
    trigger("TemporaryPermitApplicationIndicated", "v5", "2021-02-01", "C5")
    log.add("TemporaryPermitGranted", "2021-01-01", victim_id="v5", case_id="C5")
    log.add(
        "TriggerRetracted",
        "2021-07-05",
        victim_id="v4",
        trigger_id="retraction-1",
        retracted_trigger_id="TemporaryPermitApplicationIndicated-v4-2021-07-01",
    )
    trigger("ReflectionPeriodOfferRequired", "v1", "2021-02-15")
    log.add("TemporaryPermitGranted", "2021-03-21", victim_id="v1", case_id="C1")
    log.add("TemporaryPermitRefused", "2021-05-09", victim_id="v2", case_id="C2")
    log.add("TemporaryPermitGranted", "2021-06-20", victim_id="v3", case_id="C9")
    trigger("NonTemporaryPermitIndicated", "v1", "2022-01-10", "C1")
    trigger("NonTemporaryAssessmentRequired", "v2", "2022-01-20", "C2")
    log.add("NonTemporaryPermitRefused", "2022-02-19", victim_id="v2")
    return log


def panel(min_group_size: int = 1):  # type: ignore[no-untyped-def]
    projection = ChainProjection()
    projection.apply_all(chain().facts)
    return residence_panel(projection.view(AS_OF), min_group_size=min_group_size)


def test_triggers_by_kind_per_year_leave_retracted_ones_out_and_count_them_apart() -> None:
    rows = {(r.year, r.kind): r for r in panel().rows}
    application = rows[(2021, "TemporaryPermitApplicationIndicated")]
    assert (application.triggers, application.retracted, application.victims) == (4, 1, 4)
    offer = rows[(2021, "ReflectionPeriodOfferRequired")]
    assert (offer.triggers, offer.asks_decision, offer.answered, offer.open) == (1, False, 0, 0)
    assert offer.median_days_to_decision is None
    assert rows[(2022, "NonTemporaryPermitIndicated")].triggers == 1
    assert rows[(2022, "NonTemporaryAssessmentRequired")].triggers == 1


def test_the_time_to_the_decision_is_the_first_answering_decision_of_the_same_case() -> None:
    rows = {(r.year, r.kind): r for r in panel().rows}
    application = rows[(2021, "TemporaryPermitApplicationIndicated")]
    # v1: 20 days, v2: 60 days; v3 (other case) and v5 (grant before the trigger) open.
    assert (application.answered, application.open) == (2, 2)
    assert application.median_days_to_decision == 40.0
    assessment = rows[(2022, "NonTemporaryAssessmentRequired")]
    assert (assessment.answered, assessment.median_days_to_decision) == (1, 30.0)
    indication = rows[(2022, "NonTemporaryPermitIndicated")]
    assert (indication.answered, indication.open) == (0, 1)


def test_the_indications_still_open_with_their_age_at_the_cut_off() -> None:
    still = {o.kind: o for o in panel().open_indications}
    # v3: 2021-06-01 -> 2022-03-01 = 273 days; v5: 2021-02-01 -> 2022-03-01 = 393 days.
    application = still["TemporaryPermitApplicationIndicated"]
    assert (application.open, application.median_age_days, application.oldest_year) == (
        2,
        333.0,
        2021,
    )
    assert still["NonTemporaryPermitIndicated"].median_age_days == 50.0
    assert "NonTemporaryAssessmentRequired" not in still  # answered
    assert "ReflectionPeriodOfferRequired" not in still  # asks no IND decision


def test_a_small_group_keeps_its_counts_and_withholds_its_times() -> None:
    rows = {(r.year, r.kind): r for r in panel(min_group_size=3).rows}
    application = rows[(2021, "TemporaryPermitApplicationIndicated")]
    assert application.small_group is False  # four victims
    assert application.median_days_to_decision == 40.0
    assessment = rows[(2022, "NonTemporaryAssessmentRequired")]
    assert assessment.small_group is True
    assert (assessment.triggers, assessment.answered, assessment.median_days_to_decision) == (
        1,
        1,
        None,
    )
    still = {o.kind: o for o in panel(min_group_size=3).open_indications}
    assert still["TemporaryPermitApplicationIndicated"].small_group is True  # v3, v5
    assert still["TemporaryPermitApplicationIndicated"].median_age_days is None
    assert still["TemporaryPermitApplicationIndicated"].open == 2

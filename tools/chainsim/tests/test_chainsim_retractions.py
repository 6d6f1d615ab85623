"""Retractions counted by cause: late registrations, the IND's decisions, the rest."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from chainsim.retractions import (
    LATE_AFTER_DAYS,
    Cause,
    Registration,
    RetractionSummary,
    cause_of,
    summarise,
)

DAY = date(2021, 5, 3)


def upstream(lag_days: int, service: str = "prosecution") -> Registration:
    return Registration(service, DAY, DAY + timedelta(days=lag_days))


REGISTERED = {
    "dismissal-late": upstream(40),
    "dismissal-on-time": upstream(2),
    "just-late": upstream(LATE_AFTER_DAYS),
    "almost-late": upstream(LATE_AFTER_DAYS - 1),
    "permit": Registration("residence", DAY, DAY),
    "permit-late": Registration("residence", DAY, DAY + timedelta(days=30)),
}


@pytest.mark.parametrize(
    ("caused_by", "cause"),
    [
        (["dismissal-late"], Cause.LATE_REGISTRATION),
        (["just-late"], Cause.LATE_REGISTRATION),  # seven days after its date: late
        (["almost-late"], Cause.OTHER),
        (["dismissal-on-time"], Cause.OTHER),
        (["permit"], Cause.IND_DECISION),
        (["permit", "dismissal-on-time"], Cause.IND_DECISION),
        (["permit", "dismissal-late"], Cause.LATE_REGISTRATION),  # late registration comes first
        (["permit-late"], Cause.LATE_REGISTRATION),
        (["never-stored-by-the-feeder"], Cause.OTHER),
        ([], Cause.OTHER),
        (None, Cause.OTHER),  # a payload without caused_by
    ],
)
def test_each_retraction_has_one_cause(caused_by: list[str] | None, cause: Cause) -> None:
    assert cause_of(caused_by, REGISTERED) == cause


def test_the_summary_counts_every_retraction_once_and_gives_the_share() -> None:
    summary = summarise(
        200,
        [["dismissal-late"], ["permit"], [], ["dismissal-late", "permit"], ["unknown"]],
        REGISTERED,
    )
    assert summary.triggers == 200
    assert summary.retractions == 5
    assert summary.share == pytest.approx(0.025)
    assert summary.by_cause == {Cause.LATE_REGISTRATION: 2, Cause.IND_DECISION: 1, Cause.OTHER: 2}
    text = "\n".join(summary.lines())
    assert "retractions" in text
    assert "(2.5%)" in text
    assert "caused by late registration" in text
    assert "caused by IND decision" in text
    assert "caused by other/unknown" in text


def test_a_summary_without_causes_gives_the_share_only_and_survives_no_triggers() -> None:
    assert RetractionSummary(0, 0).share == 0.0
    lines = RetractionSummary(40, 10).lines()
    assert len(lines) == 2
    assert "(25.0%)" in lines[1]
    assert summarise(0, [], {}).by_cause == dict.fromkeys(Cause, 0)


def test_only_late_and_ind_facts_can_decide_a_cause() -> None:
    assert upstream(LATE_AFTER_DAYS).decisive
    assert not upstream(0).decisive
    assert Registration("residence", DAY, DAY).decisive

"""R7 — the report is an application for the temporary permit (TemporaryPermitApplicationIndicated).

Source and reading: docs/domain.md#r7. Tests: tests/unit/test_permit_rules.py (in
services/residence). Applies to: a victim in the residence track (`scope`: not a Dutch national;
an EU national only after the IND's finding). Versions: base — every victim who reports in a
case that runs; from 2019-08-01 (WBV 2019/10) a Dublin claimant only once the OM finds presence
necessary (R8). A witness who reports (getuige-aangever), in every version, only once the OM
finds the witness's presence necessary (see R5). A permit granted on it runs from the report
date for one year.

Reading of "the case runs" on the report day: the report itself opens the case, so it runs
unless a step dated on or before that day already ended it (see `case_timeline`). For a Dublin
claimant the indication is raised on the day the OM finds presence necessary (the first such
assessment), still dated the report day; before 2019-08-01 a Dublin claimant is treated as
anyone else, since the Dublin procedure did not exist yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from residence.domain.history import VictimHistory
from residence.domain.rules.r05_report_is_application import application_date
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.scope import in_residence_track
from residence.domain.triggers import TriggerDecision, TriggerKind, decide


@dataclass(frozen=True, slots=True)
class Application:
    """An application for the temporary permit that R7 indicates to the IND."""

    case_id: str
    application_date: date
    indicated_on: date
    based_on: tuple[str, ...]
    rule_version: str
    dublin: bool
    witness: bool = False


def applications(history: VictimHistory, settings: RuleSettings) -> list[Application]:
    found = []
    for victim_case in history.cases:
        applied_on = application_date(victim_case)
        ruleset = ruleset_for(applied_on, settings)
        if not in_residence_track(history, applied_on):
            continue
        if not history.timeline(victim_case.case_id).runs_on(applied_on):
            continue
        based_on: tuple[str, ...] = (victim_case.event_id,)
        indicated_on = applied_on
        dublin = history.is_dublin_claimant_on(applied_on) and ruleset.dublin_presence_assessment
        if dublin or victim_case.as_witness:
            necessary = next(
                (
                    p
                    for p in history.presence
                    if p.case_id == victim_case.case_id and p.presence_necessary
                ),
                None,
            )
            if necessary is None:
                continue
            indicated_on = max(applied_on, necessary.occurred_on)
            based_on = (victim_case.event_id, necessary.event_id)
        if not victim_case.active_on(indicated_on):
            continue
        found.append(
            Application(
                victim_case.case_id,
                applied_on,
                indicated_on,
                based_on,
                ruleset.version,
                dublin,
                victim_case.as_witness,
            )
        )
    return found


def application_triggers(history: VictimHistory, settings: RuleSettings) -> list[TriggerDecision]:
    decisions = []
    for application in applications(history, settings):
        when = application.application_date.isoformat()
        reason = (
            f"A report or cooperation on {when} counts as the application for the temporary "
            "permit (Vc B8/3); the criminal case runs."
        )
        if application.dublin or application.witness:
            reason += (
                f" The OM found presence necessary on {application.indicated_on.isoformat()}"
                + (" (WBV 2019/10)." if application.dublin else " (a witness who reports).")
            )
        decisions.append(
            decide(
                TriggerKind.TEMPORARY_PERMIT_APPLICATION_INDICATED,
                victim_id=history.victim_id,
                case_id=application.case_id,
                discriminator=when,
                rule="R7",
                rule_version=application.rule_version,
                based_on=application.based_on,
                reason=reason,
                fires_on=application.indicated_on,
                application_date=application.application_date,
            )
        )
    return decisions

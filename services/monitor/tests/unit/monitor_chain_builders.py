"""Builders of pseudonymous chain facts for the monitor's unit tests, and one small fixed chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from monitor.domain import ChainFact

SERVICE_OF: dict[str, str] = {
    **dict.fromkeys(
        (
            "SignalRegistered",
            "InformativeInterviewHeld",
            "ReflectionPeriodOffered",
            "ReflectionPeriodDeclined",
            "ReportFiled",
            "CooperationDeclared",
            "ReportWithdrawn",
            "VictimOutOfSight",
            "IndividualAssessmentCompleted",
            "PilotEnrolled",
            "PolicePsychologistDeployed",
            "SafetyCoordinatorAssigned",
            "PeerSupportAssigned",
        ),
        "intake",
    ),
    **dict.fromkeys(
        (
            "InvestigationOpened",
            "SuspectIdentified",
            "VictimHeard",
            "InvestigationSuspended",
            "InvestigationResumed",
            "CaseSubmittedToProsecution",
            "InvestigationClosed",
            "NoInvestigationDecided",
        ),
        "investigation",
    ),
    **dict.fromkeys(
        (
            "CaseRegistered",
            "ExaminingMagistrateHearingHeld",
            "SuspectSummoned",
            "CaseDismissed",
            "OtherDisposalDecided",
            "CaseReopened",
            "PresenceAssessed",
            "CourtHearingHeld",
            "VerdictDelivered",
            "AppealLodged",
            "CaseFinal",
        ),
        "prosecution",
    ),
}


def day(text: str) -> date:
    return date.fromisoformat(text)


class ChainLog:
    """Appends facts with numbered event ids; known (recorded) at noon UTC on the day they occur."""

    def __init__(self, prefix: str = "evt") -> None:
        self.facts: list[ChainFact] = []
        self._prefix = prefix

    def add(
        self,
        event_type: str,
        on: str,
        *,
        recorded: datetime | None = None,
        **payload: Any,
    ) -> ChainFact:
        occurred = day(on)
        fact = ChainFact(
            event_id=f"{self._prefix}-{len(self.facts) + 1:05d}",
            service=SERVICE_OF.get(event_type, "residence"),
            event_type=event_type,
            occurred_on=occurred,
            recorded_at=recorded or datetime.combine(occurred, time(12), tzinfo=UTC),
            payload={"occurred_on": occurred.isoformat(), **payload},
        )
        self.facts.append(fact)
        return fact

    def correct(
        self,
        fact: ChainFact,
        on: str,
        *,
        recorded: datetime,
        fact_on: str | None = None,
        amended: dict[str, Any] | None = None,
        corrects: ChainFact | None = None,
        reason: str | None = None,
    ) -> ChainFact:
        """A FactAmended (with `amended` or `fact_on`) or FactAnnulled of `fact`, by its own
        service, carrying the fact's subject keys; `corrects` names an earlier amendment."""
        annul = amended is None and fact_on is None
        keys = ("victim_id",) if fact.service == "intake" else ("case_id", "suspect_id")
        occurred = day(on)
        payload: dict[str, Any] = {
            "occurred_on": occurred.isoformat(),
            **{key: fact.payload.get(key) for key in keys},
            "corrected_event_id": (corrects or fact).event_id,
            "original_event_id": fact.event_id,
            "corrected_event_type": fact.event_type,
            "correction_reason": reason
            or ("REGISTERED_IN_ERROR" if annul else "WRONG_DATE" if fact_on else "WRONG_CATEGORY"),
            "fact_occurred_on": fact_on or fact.occurred_on.isoformat(),
        }
        if not annul:
            payload["amended"] = amended or {}
        correction = ChainFact(
            event_id=f"{self._prefix}-{len(self.facts) + 1:05d}",
            service=fact.service,
            event_type="FactAnnulled" if annul else "FactAmended",
            occurred_on=occurred,
            recorded_at=recorded,
            payload=payload,
        )
        self.facts.append(correction)
        return correction

    def signal(
        self,
        victim: str,
        on: str,
        form: str,
        minor: bool,
        nationality: str,
        region: str,
        residence: str = "LAWFUL",
    ) -> ChainFact:
        return self.add(
            "SignalRegistered",
            on,
            victim_id=victim,
            signal_id=f"signal-{len(self.facts) + 1:03d}",
            source_organisation="POLICE",
            form=form,
            minor=minor,
            nationality_group=nationality,
            residence_position=residence,
            region=region,
        )


def fixed_chain() -> ChainLog:
    """Six cases and eight victims; the durations in the tests are counted from these dates.

    case-001/victim-001  full chain, conviction; victim-001 comes back in view in 2023
    case-002/victim-002  police phase over the norm, dismissed
    case-003             two victims (003 in the pilot with peer support, 004 heard with the
                         police psychologist), two suspects, acquittal
    case-004/victim-005  reported, still with the police (open)
    case-005/victim-006  reported, then out of sight
    case-006/victim-008  reported, no investigation (ended)
    victim-007           a signal, no report (open)
    """
    log = ChainLog()
    # case-001 / victim-001
    log.signal("victim-001", "2020-01-10", "SEXUAL", False, "DUTCH", "AMSTERDAM")
    log.add("InformativeInterviewHeld", "2020-01-20", victim_id="victim-001")
    log.add("ReportFiled", "2020-02-09", victim_id="victim-001", case_id="case-001")
    log.add("InvestigationOpened", "2020-02-10", case_id="case-001")
    log.add("SuspectIdentified", "2020-03-01", case_id="case-001", suspect_id="suspect-001")
    log.add(
        "CaseSubmittedToProsecution", "2020-06-01", case_id="case-001", suspect_ids=["suspect-001"]
    )
    log.add("CaseRegistered", "2020-06-08", case_id="case-001", suspect_id="suspect-001")
    log.add(
        "ExaminingMagistrateHearingHeld", "2020-08-08", case_id="case-001", victim_id="victim-001"
    )
    log.add("SuspectSummoned", "2020-10-06", case_id="case-001", suspect_id="suspect-001")
    log.add(
        "NonTemporaryPermitIndicated",
        "2020-10-06",
        victim_id="victim-001",
        case_id="case-001",
        trigger_id="trigger-1",
        rule="R11",
        rule_version="2021-09-14",
        reason="summons",
        ground="PROSECUTION",
    )
    log.add(
        "CourtHearingHeld",
        "2021-03-01",
        case_id="case-001",
        suspect_id="suspect-001",
        instance="FIRST_INSTANCE",
    )
    log.add(
        "VerdictDelivered",
        "2021-04-15",
        case_id="case-001",
        suspect_id="suspect-001",
        instance="FIRST_INSTANCE",
        outcome="CONVICTION_TRAFFICKING",
    )
    log.add(
        "NonTemporaryPermitIndicated",
        "2021-04-15",
        victim_id="victim-001",
        case_id="case-001",
        trigger_id="trigger-2",
        rule="R12",
        rule_version="2021-09-14",
        reason="conviction",
        ground="CONVICTION",
    )
    log.add("CaseFinal", "2021-06-01", case_id="case-001", suspect_id="suspect-001")
    log.signal("victim-001", "2023-02-01", "LABOUR", False, "DUTCH", "AMSTERDAM")

    # case-002 / victim-002
    log.signal(
        "victim-002", "2020-03-01", "LABOUR", False, "THIRD_COUNTRY", "ROTTERDAM", "IRREGULAR"
    )
    log.add("ReflectionPeriodOffered", "2020-03-01", victim_id="victim-002")
    log.add("ReflectionPeriodGranted", "2020-03-05", victim_id="victim-002")
    log.add("ReportFiled", "2020-03-21", victim_id="victim-002", case_id="case-002")
    log.add(
        "TemporaryPermitGranted",
        "2020-04-01",
        victim_id="victim-002",
        case_id="case-002",
        valid_from="2020-03-21",
        valid_until="2021-03-21",
    )
    log.add("CaseRegistered", "2020-12-01", case_id="case-002", suspect_id="suspect-002")
    log.add(
        "CaseDismissed",
        "2021-02-01",
        case_id="case-002",
        suspect_id="suspect-002",
        kind="TECHNICAL",
        code="01",
    )

    # case-003 / victim-003 and victim-004
    log.signal("victim-003", "2020-05-01", "SEXUAL", True, "OTHER_EU", "DEN_HAAG")
    log.add("PilotEnrolled", "2020-05-02", victim_id="victim-003", cohort="pilot-2020")
    log.add("PeerSupportAssigned", "2020-05-03", victim_id="victim-003")
    log.add("ReportFiled", "2020-05-11", victim_id="victim-003", case_id="case-003")
    log.signal(
        "victim-004", "2020-05-20", "SEXUAL", False, "THIRD_COUNTRY", "DEN_HAAG", "IRREGULAR"
    )
    log.add("PilotEnrolled", "2020-05-21", victim_id="victim-004", cohort="pilot-2020")
    log.add("ReportFiled", "2020-06-01", victim_id="victim-004", case_id="case-003")
    log.add("InvestigationOpened", "2020-06-02", case_id="case-003")
    log.add(
        "VictimHeard",
        "2020-07-01",
        case_id="case-003",
        victim_id="victim-004",
        with_police_psychologist=True,
    )
    log.add("CaseRegistered", "2020-09-01", case_id="case-003", suspect_id="suspect-003")
    log.add("CaseRegistered", "2020-10-01", case_id="case-003", suspect_id="suspect-004")
    log.add(
        "ExaminingMagistrateHearingHeld", "2020-12-01", case_id="case-003", victim_id="victim-003"
    )
    log.add("SuspectSummoned", "2021-01-04", case_id="case-003", suspect_id="suspect-003")
    log.add(
        "NonTemporaryPermitIndicated",
        "2021-01-04",
        victim_id="victim-003",
        case_id="case-003",
        trigger_id="trigger-3",
        rule="R11",
        rule_version="2021-09-14",
        reason="summons",
        ground="PROSECUTION",
    )
    log.add(
        "TriggerRetracted",
        "2021-02-01",
        victim_id="victim-003",
        case_id="case-003",
        trigger_id="trigger-4",
        rule="R11",
        rule_version="2021-09-14",
        reason="late fact",
        retracted_trigger_id="trigger-3",
    )
    log.add(
        "CaseDismissed",
        "2021-02-15",
        case_id="case-003",
        suspect_id="suspect-004",
        kind="POLICY",
        code="50",
    )
    log.add(
        "CourtHearingHeld",
        "2021-05-03",
        case_id="case-003",
        suspect_id="suspect-003",
        instance="FIRST_INSTANCE",
    )
    log.add(
        "VerdictDelivered",
        "2021-06-01",
        case_id="case-003",
        suspect_id="suspect-003",
        instance="FIRST_INSTANCE",
        outcome="ACQUITTAL",
    )
    log.add("CaseFinal", "2021-06-20", case_id="case-003", suspect_id="suspect-003")

    # case-004 / victim-005: still with the police
    log.signal("victim-005", "2021-01-05", "CRIMINAL", True, "DUTCH", "OOST_NEDERLAND")
    log.add("ReportFiled", "2021-02-01", victim_id="victim-005", case_id="case-004")
    log.add("InvestigationOpened", "2021-02-02", case_id="case-004")

    # case-005 / victim-006: out of sight
    log.signal("victim-006", "2021-03-01", "SEXUAL", False, "OTHER_EU", "AMSTERDAM")
    log.add("ReportFiled", "2021-03-15", victim_id="victim-006", case_id="case-005")
    log.add("VictimOutOfSight", "2021-05-01", victim_id="victim-006")

    # victim-007: a signal, no report
    log.signal("victim-007", "2021-06-01", "LABOUR", False, "OTHER_EU", "LIMBURG")

    # case-006 / victim-008: no investigation
    log.signal("victim-008", "2021-04-01", "SEXUAL", False, "DUTCH", "LIMBURG")
    log.add("ReportFiled", "2021-04-10", victim_id="victim-008", case_id="case-006")
    log.add("NoInvestigationDecided", "2021-07-10", case_id="case-006")
    return log


# Corrections of corrected_chain, recorded in 2023.
AMENDED_REPORT = datetime(2023, 1, 16, 9, tzinfo=UTC)
ANNULLED_VERDICT = datetime(2023, 1, 20, 9, tzinfo=UTC)
AMENDED_AGAIN = datetime(2023, 2, 1, 9, tzinfo=UTC)


def corrected_chain() -> ChainLog:
    """One case and victim of 2022 with its corrections (test_monitor_corrections has the
    dates and the lead times they give)."""
    log = ChainLog()
    signal = log.signal("victim-101", "2022-01-10", "LABOUR", False, "DUTCH", "AMSTERDAM")
    report = log.add("ReportFiled", "2022-03-01", victim_id="victim-101", case_id="case-101")
    log.add("CaseRegistered", "2022-05-01", case_id="case-101", suspect_id="suspect-101")
    log.add("SuspectSummoned", "2022-07-01", case_id="case-101", suspect_id="suspect-101")
    log.add(
        "CourtHearingHeld",
        "2022-09-01",
        case_id="case-101",
        suspect_id="suspect-101",
        instance="FIRST_INSTANCE",
    )
    verdict = log.add(
        "VerdictDelivered",
        "2022-10-03",
        case_id="case-101",
        suspect_id="suspect-101",
        instance="FIRST_INSTANCE",
        outcome="CONVICTION_TRAFFICKING",
    )
    first = log.correct(
        report,
        "2023-01-16",
        recorded=AMENDED_REPORT,
        fact_on="2022-02-01",
        amended={"under_number": False, "form": None},
    )
    log.correct(
        signal,
        "2023-01-16",
        recorded=AMENDED_REPORT,
        amended={"form": "SEXUAL", "minor": False, "region": "AMSTERDAM"},
    )
    log.correct(verdict, "2023-01-20", recorded=ANNULLED_VERDICT)
    log.correct(
        report,
        "2023-02-01",
        recorded=AMENDED_AGAIN,
        fact_on="2022-02-11",
        amended={"under_number": False},
        corrects=first,
    )
    return log

"""What the generator hands to a feeder: a time-ordered plan of commands, each by one actor.

A `PlannedCommand` is one fact as a source system would register it in ketenzicht: who
(`actor`), which contract event (`event_type`), the business date (`occurred_on`), the day the
source registers it (`known_on`, on or after `occurred_on`), and the payload fields of the
contract model except `occurred_on`. Ids are pseudonyms; everything else is a category or a
date (docs/domain.md#identifiers).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from ketenzicht_contracts.events import intake, investigation, prosecution, residence
from ketenzicht_contracts.events.base import EventPayload
from ketenzicht_contracts.events.categories import CourtInstance, VerdictOutcome


class Actor(StrEnum):
    """The source system that registers the fact."""

    POLICE = "POLICE"
    KMAR = "KMAR"
    LABOUR_INSPECTORATE = "LABOUR_INSPECTORATE"
    OM = "OM"
    IND = "IND"


# The contract models the plan may contain. The residence triggers are absent on purpose: the
# residence service raises those itself; the IND's decisions that follow them are here.
_MODELS: Final[tuple[type[EventPayload], ...]] = (
    intake.SignalRegistered,
    intake.InformativeInterviewHeld,
    intake.ReflectionPeriodOffered,
    intake.ReflectionPeriodDeclined,
    intake.ReportFiled,
    intake.CooperationDeclared,
    intake.CooperationImpossibleRecorded,
    intake.ReportWithdrawn,
    intake.VictimOutOfSight,
    intake.IndividualAssessmentCompleted,
    intake.PilotEnrolled,
    intake.PolicePsychologistDeployed,
    intake.SafetyCoordinatorAssigned,
    intake.PeerSupportAssigned,
    investigation.InvestigationOpened,
    investigation.SuspectIdentified,
    investigation.VictimHeard,
    investigation.InvestigationSuspended,
    investigation.InvestigationResumed,
    investigation.CaseSubmittedToProsecution,
    investigation.InvestigationClosed,
    investigation.NoInvestigationDecided,
    prosecution.CaseRegistered,
    prosecution.ExaminingMagistrateHearingHeld,
    prosecution.SuspectSummoned,
    prosecution.CaseDismissed,
    prosecution.OtherDisposalDecided,
    prosecution.PresenceAssessed,
    prosecution.CourtHearingHeld,
    prosecution.VerdictDelivered,
    prosecution.AppealLodged,
    prosecution.CaseFinal,
    residence.ReflectionPeriodGranted,
    residence.ReflectionPeriodEnded,
    residence.TemporaryPermitGranted,
    residence.TemporaryPermitRefused,
    residence.TemporaryPermitExtended,
    residence.TemporaryPermitEnded,
    residence.NonTemporaryPermitGranted,
    residence.NonTemporaryPermitRefused,
    residence.DublinTransferResumed,
    residence.NoEuResidenceRightFound,
)

MODEL_BY_EVENT_TYPE: Final[Mapping[str, type[EventPayload]]] = MappingProxyType(
    {model.event_type(): model for model in _MODELS}
)
"""The contract model of every event type a plan can hold."""

SERVICE_BY_EVENT_TYPE: Final[Mapping[str, str]] = MappingProxyType(
    {name: model.SERVICE for name, model in MODEL_BY_EVENT_TYPE.items()}
)
"""The ketenzicht service whose gRPC API a feeder calls for the event type."""


MATCHED: Final = "_matched"
"""A planning-only field of a signal: another organisation's, sent without the pseudonym and
found by its match token (the feeder drops the field; ADR 0028)."""

COMMAND_ONLY_FIELDS: Final = frozenset({"match_token", MATCHED})
"""Fields a command carries that its event does not: the match token never leaves intake."""


@dataclass(frozen=True, slots=True)
class PlannedCommand:
    """One fact, as `actor` registers it in ketenzicht on `known_on`.

    `fields` holds the payload fields of the contract model named by `event_type`, except
    `occurred_on`: pseudonymous ids, categories (the contract's enums), dates and lists of
    those; and `COMMAND_ONLY_FIELDS` (a signal's match token). Treat it as read-only.
    """

    actor: Actor
    event_type: str
    occurred_on: date
    known_on: date
    fields: Mapping[str, Any]

    @property
    def service(self) -> str:
        return SERVICE_BY_EVENT_TYPE[self.event_type]

    def to_payload(self) -> EventPayload:
        """The contract model of this fact (validated: a plan must fit the contracts)."""
        fields = {k: v for k, v in self.fields.items() if k not in COMMAND_ONLY_FIELDS}
        return MODEL_BY_EVENT_TYPE[self.event_type](occurred_on=self.occurred_on, **fields)


_CONVICTIONS: Final = frozenset(
    {
        VerdictOutcome.CONVICTION_TRAFFICKING,
        VerdictOutcome.CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED,
    }
)


@dataclass(frozen=True, slots=True)
class Scenario:
    """Counts of a plan, for a quick look and for the calibration tests.

    The OM and court figures count per suspect, as the OM does (one registration per suspect).
    """

    commands: int = 0
    by_event_type: Mapping[str, int] = field(default_factory=dict)
    by_actor: Mapping[str, int] = field(default_factory=dict)
    signals_by_year: Mapping[int, int] = field(default_factory=dict)
    """Victims coming into view: first signals of an episode (a second organisation's signal
    of the same day, matched by its token, is counted in `matched_signals` instead)."""
    matched_signals: int = 0
    victims: int = 0
    repeat_victims: int = 0
    cases: int = 0
    suspects: int = 0
    first_instance_verdicts: int = 0
    first_instance_convictions: int = 0
    first_known_on: date | None = None
    last_known_on: date | None = None

    def count(self, event_type: str) -> int:
        return self.by_event_type.get(event_type, 0)

    @property
    def om_decisions(self) -> int:
        return (
            self.count("SuspectSummoned")
            + self.count("CaseDismissed")
            + self.count("OtherDisposalDecided")
        )

    @property
    def summons_share(self) -> float:
        decisions = self.om_decisions
        return self.count("SuspectSummoned") / decisions if decisions else 0.0

    @property
    def dismissal_share(self) -> float:
        decisions = self.om_decisions
        return self.count("CaseDismissed") / decisions if decisions else 0.0

    @property
    def conviction_share(self) -> float:
        verdicts = self.first_instance_verdicts
        return self.first_instance_convictions / verdicts if verdicts else 0.0

    @classmethod
    def of(cls, commands: Iterable[PlannedCommand]) -> Scenario:
        """Count a plan as it streams by; holds only the sets of distinct ids."""
        by_type: Counter[str] = Counter()
        by_actor: Counter[str] = Counter()
        signals_by_year: Counter[int] = Counter()
        matched = 0
        victims: Counter[str] = Counter()
        cases: set[str] = set()
        suspects: set[str] = set()
        verdicts = convictions = 0
        total = 0
        first: date | None = None
        last: date | None = None
        for command in commands:
            total += 1
            first = first or command.known_on
            last = command.known_on
            by_type[command.event_type] += 1
            by_actor[command.actor] += 1
            fields = command.fields
            if command.event_type == "SignalRegistered" and fields.get(MATCHED):
                matched += 1
            elif command.event_type == "SignalRegistered":
                signals_by_year[command.occurred_on.year] += 1
                victims[fields["victim_id"]] += 1
            elif command.event_type in ("ReportFiled", "CooperationDeclared"):
                cases.add(fields["case_id"])
            elif command.event_type == "CaseRegistered":
                suspects.add(fields["suspect_id"])
            elif (
                command.event_type == "VerdictDelivered"
                and fields["instance"] == CourtInstance.FIRST_INSTANCE
            ):
                verdicts += 1
                convictions += fields["outcome"] in _CONVICTIONS
        return cls(
            commands=total,
            by_event_type=dict(by_type),
            by_actor=dict(by_actor),
            signals_by_year=dict(sorted(signals_by_year.items())),
            matched_signals=matched,
            victims=len(victims),
            repeat_victims=sum(1 for n in victims.values() if n > 1),
            cases=len(cases),
            suspects=len(suspects),
            first_instance_verdicts=verdicts,
            first_instance_convictions=convictions,
            first_known_on=first,
            last_known_on=last,
        )

"""Events of the intake service: the victim's side of the case (police, KMar, Labour
Inspectorate)."""

from __future__ import annotations

from pydantic import Field

from .base import EventPayload, Pseudonym, register
from .categories import (
    CooperationImpossibleReason,
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ProtectionMeasure,
    ReportingCapacity,
    ResidencePosition,
    SourceOrganisation,
)
from .corrections import AmendedFields, FactCorrection


class IntakeEvent(EventPayload):
    SERVICE = "intake"
    victim_id: Pseudonym


class SignalRegistered(IntakeEvent):
    """A possible victim comes into view (melding/signaal)."""

    signal_id: Pseudonym
    source_organisation: SourceOrganisation
    form: ExploitationForm
    minor: bool
    nationality_group: NationalityGroup
    residence_position: ResidencePosition
    region: PoliceRegion


class InformativeInterviewHeld(IntakeEvent):
    """Informatief gesprek before a report."""


class ReflectionPeriodOffered(IntakeEvent):
    """B8 bedenktijd offered by police or KMar."""


class ReflectionPeriodDeclined(IntakeEvent):
    """The victim declined the B8 bedenktijd."""


class ReportFiled(IntakeEvent):
    """Aangifte by the victim in a case, optionally under number (aangifte onder nummer).

    ``capacity`` WITNESS marks the report of a witness (getuige-aangever). Added after the first
    events were published, with a default: a body without it is a victim's report.
    """

    case_id: Pseudonym
    under_number: bool = False
    capacity: ReportingCapacity = ReportingCapacity.VICTIM


class CooperationDeclared(IntakeEvent):
    """The victim cooperates with the investigation otherwise than by a report.

    ``capacity`` as in `ReportFiled`: WITNESS for a witness's cooperation; absent means VICTIM.
    """

    case_id: Pseudonym
    capacity: ReportingCapacity = ReportingCapacity.VICTIM


class CooperationImpossibleRecorded(IntakeEvent):
    """The police record that the victim cannot report or otherwise cooperate, because of a
    serious threat or a medical or psychological limitation (Vc 2000 B8/3: geen aangifte of
    medewerking mogelijk). The reason is a category; the grounds stay with the police."""

    reason: CooperationImpossibleReason


class ReportWithdrawn(IntakeEvent):
    case_id: Pseudonym


class VictimOutOfSight(IntakeEvent):
    """Slachtoffer uit zicht: contact with the victim is lost."""


class IndividualAssessmentCompleted(IntakeEvent):
    """Individuele Beoordeling of protection needs; categories of measures only."""

    measures: list[ProtectionMeasure] = Field(default_factory=list)


class PilotEnrolled(IntakeEvent):
    """Enrolled in the reporting-readiness pilot (pilot aangiftebereidheid)."""

    cohort: Pseudonym


class PolicePsychologistDeployed(IntakeEvent):
    """Pilot intervention: a police psychologist supports the victim."""


class SafetyCoordinatorAssigned(IntakeEvent):
    """Pilot intervention: a safety coordinator (veiligheidscoördinator) is assigned."""


class PeerSupportAssigned(IntakeEvent):
    """Pilot intervention: peer support (ervaringsdeskundige) is assigned."""


class FactAnnulled(IntakeEvent, FactCorrection):
    """Police, KMar or the Labour Inspectorate annul one of their intake facts about the victim:
    it never happened, or not to this victim (nietig verklaard). The original stays in the
    store and on the stream."""


class IntakeAmendedFields(AmendedFields):
    """What an intake fact can be amended in besides its date (docs/domain.md#corrections)."""

    form: ExploitationForm | None = None
    """Of SignalRegistered."""
    minor: bool | None = None
    """Of SignalRegistered."""
    region: PoliceRegion | None = None
    """Of SignalRegistered."""
    under_number: bool | None = None
    """Of ReportFiled."""
    reason: CooperationImpossibleReason | None = None
    """Of CooperationImpossibleRecorded."""


class FactAmended(IntakeEvent, FactCorrection):
    """Police, KMar or the Labour Inspectorate amend one of their intake facts (hersteld): the
    same fact, with the business date ``fact_occurred_on`` and the categories in ``amended``."""

    amended: IntakeAmendedFields


register(
    SignalRegistered,
    InformativeInterviewHeld,
    ReflectionPeriodOffered,
    ReflectionPeriodDeclined,
    ReportFiled,
    CooperationDeclared,
    CooperationImpossibleRecorded,
    ReportWithdrawn,
    VictimOutOfSight,
    IndividualAssessmentCompleted,
    PilotEnrolled,
    PolicePsychologistDeployed,
    SafetyCoordinatorAssigned,
    PeerSupportAssigned,
    FactAnnulled,
    FactAmended,
)

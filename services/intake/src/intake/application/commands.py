"""The commands police, KMar and Labour Inspectorate systems give intake."""

from __future__ import annotations

from pydantic import Field

from ketenzicht_common.commands import Command
from ketenzicht_contracts.events.base import Pseudonym
from ketenzicht_contracts.events.categories import (
    ExploitationForm,
    NationalityGroup,
    PilotIntervention,
    PoliceRegion,
    ProtectionMeasure,
    ResidencePosition,
    SourceOrganisation,
)


class RegisterSignal(Command):
    victim_id: Pseudonym | None = None
    """Empty for a new victim (intake issues the pseudonym); set for a repeat signal."""
    source_organisation: SourceOrganisation
    form: ExploitationForm
    minor: bool = False
    nationality_group: NationalityGroup
    residence_position: ResidencePosition
    region: PoliceRegion


class VictimCommand(Command):
    victim_id: Pseudonym


class HoldInformativeInterview(VictimCommand):
    pass


class OfferReflectionPeriod(VictimCommand):
    pass


class DeclineReflectionPeriod(VictimCommand):
    pass


class FileReport(VictimCommand):
    case_id: Pseudonym
    under_number: bool = False


class DeclareCooperation(VictimCommand):
    case_id: Pseudonym


class WithdrawReport(VictimCommand):
    case_id: Pseudonym


class MarkVictimOutOfSight(VictimCommand):
    pass


class CompleteIndividualAssessment(VictimCommand):
    measures: list[ProtectionMeasure] = Field(default_factory=list)


class EnrolInPilot(VictimCommand):
    cohort: Pseudonym


class RecordPilotIntervention(VictimCommand):
    intervention: PilotIntervention

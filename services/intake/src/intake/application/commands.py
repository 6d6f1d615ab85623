"""The commands police, KMar and Labour Inspectorate systems give intake."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from ketenzicht_common import corrections
from ketenzicht_common.commands import Command
from ketenzicht_contracts.events.base import CaseId, Pseudonym
from ketenzicht_contracts.events.categories import (
    CooperationImpossibleReason,
    ExploitationForm,
    NationalityGroup,
    PilotIntervention,
    PoliceRegion,
    ProtectionMeasure,
    ReportingCapacity,
    ResidencePosition,
    SourceOrganisation,
)
from ketenzicht_contracts.events.intake import IntakeAmendedFields

MatchToken = Annotated[str, Field(pattern=r"^([A-Za-z0-9_-]{43})?$")]
"""An HMAC-SHA256 in base64url without padding (43 characters), or empty."""


class RegisterSignal(Command):
    # The token identifies a person to whoever holds the shared key: it stays out of the
    # command log's fingerprint, as a parketnummer does (ADR 0020, ADR 0028).
    SOURCE_IDENTIFIERS: ClassVar[frozenset[str]] = frozenset({"match_token"})

    victim_id: Pseudonym | None = None
    """Empty for a new victim (intake issues the pseudonym, or finds it by ``match_token``);
    set for a repeat signal."""
    match_token: MatchToken = ""
    """The clearing house's match token the organisation computed (docs/adr/0028): a later
    signal of another organisation with the same token is recorded against the same victim."""
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


class _WithCapacity(VictimCommand):
    capacity: ReportingCapacity = ReportingCapacity.VICTIM
    """WITNESS for a witness's report or cooperation (getuige-aangever); absent: a victim's."""

    @model_serializer(mode="wrap")
    def _as_before_capacity(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A victim's command dumps as it did before `capacity` existed, so that its fingerprint
        # (the command log's) is unchanged: a client's retry of a command sent before the
        # upgrade is still answered as a retry, not refused as a reused command id.
        dumped: dict[str, Any] = handler(self)
        if self.capacity is ReportingCapacity.VICTIM:
            dumped.pop("capacity", None)
        return dumped


class FileReport(_WithCapacity):
    case_id: CaseId
    """The case pseudonym ketenzicht issued (investigation's OpenCase, docs/adr/0023)."""
    under_number: bool = False


class DeclareCooperation(_WithCapacity):
    case_id: CaseId


class RecordCooperationImpossible(VictimCommand):
    """Aangifte of medewerking niet mogelijk (Vc 2000 B8/3), with its reason as a category."""

    reason: CooperationImpossibleReason


class WithdrawReport(VictimCommand):
    case_id: CaseId


class MarkVictimOutOfSight(VictimCommand):
    pass


class CompleteIndividualAssessment(VictimCommand):
    measures: list[ProtectionMeasure] = Field(default_factory=list)


class EnrolInPilot(VictimCommand):
    cohort: Pseudonym


class RecordPilotIntervention(VictimCommand):
    intervention: PilotIntervention


class ForgetMatchLink(VictimCommand):
    """The erasure order of an organisation that signalled the victim, for the match link
    (occurred_on: the order's date; ADR 0028)."""

    order_id: Pseudonym


class AnnulFact(VictimCommand, corrections.AnnulFact):
    """Annul a fact about this victim the caller's organisation stated."""


class AmendFact(VictimCommand, corrections.AmendFact):
    """Amend a fact about this victim the caller's organisation stated."""

    amended: IntakeAmendedFields | None = None

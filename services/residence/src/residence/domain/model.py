"""The facts the residence rules judge (feiten): one frozen value per event of the chain.

A fact holds only what the rules read — pseudonymous ids, categories and dates, never text
about a person (docs/domain.md#identifiers). `occurred_on` is the business date the source
states; every rule reads it, never the moment ketenzicht learned of the fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from residence.domain.categories import (
    CooperationImpossibleReason,
    CourtInstance,
    InvestigationCloseReason,
    NationalityGroup,
    OtherDisposalKind,
    ReflectionEndReason,
    ReportingCapacity,
    ResidencePosition,
    VerdictOutcome,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    event_id: str
    occurred_on: date

    @property
    def order(self) -> tuple[date, str]:
        """The order every rule reads facts in: business date, then event id (a fixed tie)."""
        return (self.occurred_on, self.event_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class VictimFact(Fact):
    """A fact about one victim (intake facts, the IND's facts, the OM's presence assessment)."""

    victim_id: str


# --- intake (police, KMar, Labour Inspectorate) ---


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRegistered(VictimFact):
    """Melding/signaal: a possible victim comes into view, with nationality and position."""

    nationality_group: NationalityGroup
    residence_position: ResidencePosition


@dataclass(frozen=True, slots=True, kw_only=True)
class ReflectionPeriodDeclined(VictimFact):
    """The victim declined the B8 bedenktijd offered by police or KMar."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportFiled(VictimFact):
    """Aangifte in a case; under R5 it is the application for the temporary permit."""

    case_id: str
    capacity: ReportingCapacity = ReportingCapacity.VICTIM


@dataclass(frozen=True, slots=True, kw_only=True)
class CooperationDeclared(VictimFact):
    """Medewerking otherwise than by a report; R5 treats it as a report."""

    case_id: str
    capacity: ReportingCapacity = ReportingCapacity.VICTIM


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportWithdrawn(VictimFact):
    """The victim withdraws the report (intrekking aangifte) in a case."""

    case_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CooperationImpossibleRecorded(VictimFact):
    """The police record that the victim cannot report or otherwise cooperate, because of a
    serious threat or a medical or psychological limitation (Vc 2000 B8/3)."""

    reason: CooperationImpossibleReason


# --- the IND's facts ---


@dataclass(frozen=True, slots=True, kw_only=True)
class NoEuResidenceRightFound(VictimFact):
    """The IND finds that an EU/EEA/Swiss national (or family member) derives no right of
    residence from EU law, so the B8 residence track applies to them."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReflectionPeriodGranted(VictimFact):
    """B8 bedenktijd granted by the IND; it starts on ``occurred_on``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReflectionPeriodEnded(VictimFact):
    reason: ReflectionEndReason


@dataclass(frozen=True, slots=True, kw_only=True)
class TemporaryPermitGranted(VictimFact):
    """Verblijfsvergunning tijdelijk humanitair (B8/3), ``valid_from`` to ``valid_until``."""

    case_id: str
    valid_from: date
    valid_until: date


@dataclass(frozen=True, slots=True, kw_only=True)
class TemporaryPermitRefused(VictimFact):
    case_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TemporaryPermitExtended(VictimFact):
    case_id: str
    valid_until: date


@dataclass(frozen=True, slots=True, kw_only=True)
class TemporaryPermitEnded(VictimFact):
    """The permit ends on ``end_date``, which may lie before ``occurred_on`` (retroactive)."""

    case_id: str
    end_date: date


@dataclass(frozen=True, slots=True, kw_only=True)
class NonTemporaryPermitGranted(VictimFact):
    """Verblijfsvergunning niet-tijdelijk humanitair (B9/12)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class NonTemporaryPermitRefused(VictimFact):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class DublinTransferResumed(VictimFact):
    pass


# --- the OM's assessment for a Dublin claimant (a prosecution event that names the victim) ---


@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceAssessed(VictimFact):
    """R8: the OM judged whether the Dublin claimant's presence is necessary for the case."""

    case_id: str
    presence_necessary: bool


# --- the case (investigation and prosecution); these name no victim ---


class CaseStep(StrEnum):
    """A step of the criminal case as the residence rules need it."""

    INVESTIGATION_OPENED = "INVESTIGATION_OPENED"
    CASE_SUBMITTED = "CASE_SUBMITTED"
    INVESTIGATION_CLOSED = "INVESTIGATION_CLOSED"
    NO_INVESTIGATION = "NO_INVESTIGATION"
    CASE_REGISTERED = "CASE_REGISTERED"
    SUSPECT_SUMMONED = "SUSPECT_SUMMONED"
    VERDICT_DELIVERED = "VERDICT_DELIVERED"
    APPEAL_LODGED = "APPEAL_LODGED"
    CASE_DISMISSED = "CASE_DISMISSED"
    OTHER_DISPOSAL = "OTHER_DISPOSAL"
    CASE_FINAL = "CASE_FINAL"
    CASE_REOPENED = "CASE_REOPENED"


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFact(Fact):
    """One step of a criminal case (strafzaak). Suspect steps carry ``suspect_id``."""

    case_id: str
    step: CaseStep
    suspect_id: str | None = None
    suspect_ids: tuple[str, ...] = ()
    close_reason: InvestigationCloseReason | None = None
    disposal_kind: OtherDisposalKind | None = None
    instance: CourtInstance | None = None
    outcome: VerdictOutcome | None = None


# --- corrections (docs/domain.md#corrections): a source's annulment or amendment of its fact ---


@dataclass(frozen=True, slots=True, kw_only=True)
class Correction(Fact):
    """``FactAnnulled`` or ``FactAmended`` of intake, investigation or prosecution, or the
    IND's own (residence's, of a decision the IND reported).

    ``occurred_on`` is the day the source made the correction; the corrected fact's business
    date is ``fact_occurred_on`` (for an amendment, its new date). Every correction of one fact
    names ``original_event_id``, the fact as first stated. ``amended`` holds the fact's fields
    the rules read, as the domain's attribute names and values, in their new form (only those
    of the fact's type; the rest of the contract's amendable fields are not read here).
    ``position`` is the correction's version on the aggregate of its source that holds the fact
    (the envelope's ``aggregate_version``): the corrections of one fact come from one owner, in
    that order. ``victim_id`` is set for intake's and the IND's corrections, ``case_id`` for the
    others: the
    key of the file residence keeps them in, as for the facts they correct.
    """

    service: str
    original_event_id: str
    corrected_event_id: str
    corrected_event_type: str
    annulled: bool
    fact_occurred_on: date
    amended: tuple[tuple[str, object], ...] = ()
    position: int = 0
    victim_id: str | None = None
    case_id: str | None = None

    @property
    def sequence(self) -> tuple[int, date, str]:
        """The order of a fact's corrections: the owner's position, then (a fixed tie) date
        and event id."""
        return (self.position, self.occurred_on, self.event_id)

"""Events of the residence service: the IND's decisions, and the triggers the rules raise for it."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from .base import EventPayload, Pseudonym, register
from .categories import NonTemporaryGround, ReflectionEndReason
from .corrections import AmendedFields, FactCorrection

TRIGGER_ADDRESSEES = ("ind", "police", "om")
"""The organisations the residence rules send triggers to, each on a feed of its own."""


class ResidenceEvent(EventPayload):
    SERVICE = "residence"
    victim_id: Pseudonym


# Facts reported by the IND.


class ReflectionPeriodGranted(ResidenceEvent):
    """B8 bedenktijd granted by the IND: lawful stay, departure suspended."""


class ReflectionPeriodEnded(ResidenceEvent):
    reason: ReflectionEndReason


class TemporaryPermitGranted(ResidenceEvent):
    """Verblijfsvergunning tijdelijk humanitair (B8/3), from ``valid_from`` to ``valid_until``."""

    case_id: Pseudonym
    valid_from: date
    valid_until: date


class TemporaryPermitRefused(ResidenceEvent):
    case_id: Pseudonym


class TemporaryPermitExtended(ResidenceEvent):
    case_id: Pseudonym
    valid_until: date


class TemporaryPermitEnded(ResidenceEvent):
    """The permit ends on ``end_date``, which may lie in the past (retroactive withdrawal)."""

    case_id: Pseudonym
    end_date: date


class NonTemporaryPermitGranted(ResidenceEvent):
    """Verblijfsvergunning niet-tijdelijk humanitair (B9/12)."""


class NonTemporaryPermitRefused(ResidenceEvent):
    pass


class DublinTransferResumed(ResidenceEvent):
    pass


class NoEuResidenceRightFound(ResidenceEvent):
    """The IND finds that this EU/EEA/Swiss national (or family member) derives no right of
    residence from EU law (geen verblijfsrecht op grond van het Unierecht), so the B8 rules
    apply to the victim as to a third-country national."""


# Corrections of the IND's own decisions (docs/domain.md#corrections).


class FactAnnulled(ResidenceEvent, FactCorrection):
    """The IND annuls one of its reported decisions (nietig): it was reported in error, twice,
    or for the wrong victim or case. The decision stays in the store and on the stream."""


class ResidenceAmendedFields(AmendedFields):
    """What an IND decision can be amended in (of the decisions that have it), besides its
    business date. Unlike the other services' amendable fields these include dates: a permit's
    validity and end date are what the IND decided, and a wrong one is the commonest mistake
    (a permit wrongly dated is amended, not annulled and reported again). Never ids: a
    decision about the wrong victim or case is annulled and reported again."""

    reason: ReflectionEndReason | None = None
    """Of ReflectionPeriodEnded."""
    valid_from: date | None = None
    """Of TemporaryPermitGranted."""
    valid_until: date | None = None
    """Of TemporaryPermitGranted and TemporaryPermitExtended."""
    end_date: date | None = None
    """Of TemporaryPermitEnded."""


class FactAmended(ResidenceEvent, FactCorrection):
    """The IND amends one of its reported decisions (hersteld): the same decision, with the
    business date ``fact_occurred_on`` and the fields in ``amended``."""

    amended: ResidenceAmendedFields


# Triggers raised by the residence rules for the IND (the IND decides).


class Trigger(ResidenceEvent):
    """A trigger names the rule, the rule-set version and the events it rests on.

    ``trigger_id`` is stable (the same facts give the same id, used as ``Nats-Msg-Id``);
    ``trigger_key`` names what the trigger says, so a trigger retracted and raised again later
    is recognisable under its new id. ``occurred_on`` is the day the trigger fires.

    Each goes to one addressee's feed (``ketenzicht.residence.triggers.<addressee>.<Kind>``);
    which one the rules decide.
    """

    ADDRESSEES = TRIGGER_ADDRESSEES

    trigger_id: Pseudonym
    trigger_key: str
    case_id: Pseudonym | None = None
    rule: str
    rule_version: str
    based_on: list[str] = Field(default_factory=list)
    reason: str


class ReflectionPeriodOfferRequired(Trigger):
    """R1: the reflection period must be offered."""


class TemporaryPermitApplicationIndicated(Trigger):
    """R5/R7: the report counts as the application for the temporary permit."""

    application_date: date


class ReflectionPeriodExpiryDue(Trigger):
    """R6: the reflection period expired (or was declined) without a report."""

    expired_on: date


class TemporaryPermitExtensionDue(Trigger):
    """R9: the permit ends within 30 days while the case still runs."""

    permit_valid_until: date


class TemporaryPermitBasisEnded(Trigger):
    """R10: the basis of the temporary permit ended on ``basis_ended_on``."""

    basis_ended_on: date


class NonTemporaryPermitIndicated(Trigger):
    """R11–R13: a ground for the non-temporary permit is reached."""

    ground: NonTemporaryGround


class NonTemporaryAssessmentRequired(Trigger):
    """R14: individual assessment (B9/12) after dismissal or acquittal with no ground reached."""


class DublinAssessmentOverdue(Trigger):
    """R8: the OM's presence assessment is past its 20-working-day target."""

    target_date: date


class TemporaryPermitWithoutCooperationIndicated(Trigger):
    """R16: the victim cannot report or cooperate (serious threat, medical or psychological
    limitation, Vc B8/3); the temporary permit may be granted without cooperation."""

    cooperation_impossible_reason: str


class DecisionNotAllowedFound(Trigger):
    """R4: an IND decision the rules do not allow (a reflection period granted to someone who
    may not have one); the decision stands as recorded, this tells the IND."""

    decision_event_id: Pseudonym


class ReassessmentRequired(Trigger):
    """R17: the IND granted the non-temporary permit (``decision_event_id``) on a ground that a
    correction of the facts has since removed; a retraction cannot undo a permit, so the IND is
    asked to reassess. The decision stands as recorded until the IND acts."""

    decision_event_id: Pseudonym


class TriggerRetracted(Trigger):
    """A trigger already sent no longer holds as sent: a fact that arrived later removed its
    basis, or changed what it says (then ``replaced_by_trigger_id`` names the trigger that
    follows it on the feed). ``caused_by`` names the facts that changed it, where known."""

    retracted_trigger_id: Pseudonym
    caused_by: list[Pseudonym] = Field(default_factory=list)
    replaced_by_trigger_id: Pseudonym | None = None


register(
    ReflectionPeriodGranted,
    ReflectionPeriodEnded,
    TemporaryPermitGranted,
    TemporaryPermitRefused,
    TemporaryPermitExtended,
    TemporaryPermitEnded,
    NonTemporaryPermitGranted,
    NonTemporaryPermitRefused,
    DublinTransferResumed,
    NoEuResidenceRightFound,
    FactAnnulled,
    FactAmended,
    ReflectionPeriodOfferRequired,
    TemporaryPermitApplicationIndicated,
    ReflectionPeriodExpiryDue,
    TemporaryPermitExtensionDue,
    TemporaryPermitBasisEnded,
    NonTemporaryPermitIndicated,
    NonTemporaryAssessmentRequired,
    DublinAssessmentOverdue,
    TemporaryPermitWithoutCooperationIndicated,
    DecisionNotAllowedFound,
    ReassessmentRequired,
    TriggerRetracted,
)

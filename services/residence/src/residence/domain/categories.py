"""The categories the residence rules read. The domain's own copy of the wire categories.

The values equal those of the contract (``ketenzicht_contracts.events.categories``) so that the
translator in `facts.py` can map them one to one, but the domain does not import the contract:
the rules must not change when the wire format does.
"""

from __future__ import annotations

from enum import StrEnum


class NationalityGroup(StrEnum):
    DUTCH = "DUTCH"
    OTHER_EU = "OTHER_EU"
    THIRD_COUNTRY = "THIRD_COUNTRY"


class ResidencePosition(StrEnum):
    """Residence position at the time of a signal (verblijfspositie)."""

    LAWFUL = "LAWFUL"
    IRREGULAR = "IRREGULAR"
    ASYLUM_SEEKER = "ASYLUM_SEEKER"
    DUBLIN_CLAIMANT = "DUBLIN_CLAIMANT"


class InvestigationCloseReason(StrEnum):
    NO_LEADS = "NO_LEADS"
    NO_JURISDICTION = "NO_JURISDICTION"
    SUBMITTED = "SUBMITTED"


class OtherDisposalKind(StrEnum):
    """Transaction, joinder (voeging) or transfer (overdracht)."""

    TRANSACTION = "TRANSACTION"
    JOINDER = "JOINDER"
    TRANSFER = "TRANSFER"


class CourtInstance(StrEnum):
    FIRST_INSTANCE = "FIRST_INSTANCE"
    APPEAL = "APPEAL"


class VerdictOutcome(StrEnum):
    CONVICTION_TRAFFICKING = "CONVICTION_TRAFFICKING"
    CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED = "CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED"
    ACQUITTAL = "ACQUITTAL"
    OTHER = "OTHER"


CONVICTIONS = frozenset(
    {
        VerdictOutcome.CONVICTION_TRAFFICKING,
        VerdictOutcome.CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED,
    }
)


class ReflectionEndReason(StrEnum):
    REPORT = "REPORT"
    DECLINED = "DECLINED"
    EXPIRED = "EXPIRED"
    ENDED_EARLY = "ENDED_EARLY"


class ReportingCapacity(StrEnum):
    """In which capacity a report or cooperation is made: the victim's (slachtoffer-aangever)
    or a witness's (getuige-aangever). Events without the field are the victim's."""

    VICTIM = "VICTIM"
    WITNESS = "WITNESS"


class CooperationImpossibleReason(StrEnum):
    """Why a victim cannot report or otherwise cooperate (Vc 2000 B8/3): categories only."""

    SERIOUS_THREAT = "SERIOUS_THREAT"
    MEDICAL = "MEDICAL"
    PSYCHOLOGICAL = "PSYCHOLOGICAL"


class NonTemporaryGround(StrEnum):
    """Grounds for the non-temporary permit (Vc B9/12), in the order a tie on one day is read."""

    PROSECUTION = "PROSECUTION"
    CONVICTION = "CONVICTION"
    THREE_YEARS = "THREE_YEARS"

"""Events of the investigation service (police: opsporing)."""

from __future__ import annotations

from pydantic import Field

from .base import EventPayload, Pseudonym, register
from .categories import InvestigationCloseReason
from .corrections import AmendedFields, FactCorrection


class InvestigationEvent(EventPayload):
    SERVICE = "investigation"
    case_id: Pseudonym


class InvestigationOpened(InvestigationEvent):
    pass


class SuspectIdentified(InvestigationEvent):
    suspect_id: Pseudonym


class VictimHeard(InvestigationEvent):
    """Police interview of the victim, with or without the police psychologist."""

    victim_id: Pseudonym
    with_police_psychologist: bool = False


class InvestigationSuspended(InvestigationEvent):
    pass


class InvestigationResumed(InvestigationEvent):
    pass


class CaseSubmittedToProsecution(InvestigationEvent):
    """The proces-verbaal is sent to the OM."""

    suspect_ids: list[Pseudonym] = Field(default_factory=list)


class InvestigationClosed(InvestigationEvent):
    reason: InvestigationCloseReason


class NoInvestigationDecided(InvestigationEvent):
    """The OM or police decide not to investigate a report."""


class FactAnnulled(InvestigationEvent, FactCorrection):
    """The police annul one of their investigation facts: it never happened, or not in this
    case (nietig verklaard). The original stays in the store and on the stream."""


class InvestigationAmendedFields(AmendedFields):
    reason: InvestigationCloseReason | None = None
    with_police_psychologist: bool | None = None


class FactAmended(InvestigationEvent, FactCorrection):
    """The police amend one of their investigation facts (hersteld): the same fact, with
    the business date ``fact_occurred_on`` and the categories in ``amended``."""

    amended: InvestigationAmendedFields


register(
    InvestigationOpened,
    SuspectIdentified,
    VictimHeard,
    InvestigationSuspended,
    InvestigationResumed,
    CaseSubmittedToProsecution,
    InvestigationClosed,
    NoInvestigationDecided,
    FactAnnulled,
    FactAmended,
)

"""Events of the investigation service (police: opsporing)."""

from __future__ import annotations

from pydantic import Field

from .base import EventPayload, Pseudonym, register
from .categories import InvestigationCloseReason


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


register(
    InvestigationOpened,
    SuspectIdentified,
    VictimHeard,
    InvestigationSuspended,
    InvestigationResumed,
    CaseSubmittedToProsecution,
    InvestigationClosed,
    NoInvestigationDecided,
)

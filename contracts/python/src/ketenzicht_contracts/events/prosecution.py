"""Events of the prosecution service (OM, and court outcomes as the OM registers them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from .base import EventPayload, Pseudonym, register
from .categories import CourtInstance, DismissalKind, OtherDisposalKind, VerdictOutcome

DismissalCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
"""The OM's two-digit sepot code (e.g. 01 technical, 50 policy)."""


class ProsecutionEvent(EventPayload):
    SERVICE = "prosecution"
    case_id: Pseudonym


class SuspectEvent(ProsecutionEvent):
    suspect_id: Pseudonym


class CaseRegistered(SuspectEvent):
    """Instroom/inschrijving at the OM, per suspect."""


class ExaminingMagistrateHearingHeld(ProsecutionEvent):
    """Verhoor van het slachtoffer door de rechter-commissaris."""

    victim_id: Pseudonym


class SuspectSummoned(SuspectEvent):
    """Dagvaarding: the OM prosecutes."""


class CaseDismissed(SuspectEvent):
    """Sepot, technical or policy, with its code."""

    kind: DismissalKind
    code: DismissalCode


class OtherDisposalDecided(SuspectEvent):
    """Transaction, joinder or transfer."""

    kind: OtherDisposalKind


class CaseReopened(SuspectEvent):
    """A dismissed or otherwise disposed case against a suspect is taken up again."""


class PresenceAssessed(ProsecutionEvent):
    """For a Dublin claimant: is presence in the Netherlands necessary for the case?"""

    victim_id: Pseudonym
    presence_necessary: bool


class CourtHearingHeld(SuspectEvent):
    instance: CourtInstance


class VerdictDelivered(SuspectEvent):
    instance: CourtInstance
    outcome: VerdictOutcome


class AppealLodged(SuspectEvent):
    pass


class CaseFinal(SuspectEvent):
    """Onherroepelijk: the case against this suspect is final."""


register(
    CaseRegistered,
    ExaminingMagistrateHearingHeld,
    SuspectSummoned,
    CaseDismissed,
    OtherDisposalDecided,
    CaseReopened,
    PresenceAssessed,
    CourtHearingHeld,
    VerdictDelivered,
    AppealLodged,
    CaseFinal,
)

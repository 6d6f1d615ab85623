"""Events of the prosecution service (OM, and court outcomes as the OM registers them)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from .base import EventPayload, Pseudonym, register
from .categories import CourtInstance, DismissalKind, OtherDisposalKind, VerdictOutcome
from .corrections import AmendedFields, FactCorrection

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


class FactAnnulled(ProsecutionEvent, FactCorrection):
    """The OM annuls one of its facts (nietig): it never happened, or not in this case or
    against this suspect. The original stays in the store and on the stream. ``suspect_id``
    is the suspect's for a fact of the proceedings against one suspect, None for a fact of the
    case as a whole (a victim's examining-magistrate hearing, a presence assessment)."""

    suspect_id: Pseudonym | None = None


class ProsecutionAmendedFields(AmendedFields):
    """The categories a prosecution fact can be amended in (of the facts that have them).
    A court instance is not among them: a verdict or hearing under the wrong instance is
    annulled and registered again."""

    kind: DismissalKind | OtherDisposalKind | None = None
    """Of CaseDismissed (technical or policy sepot), or of OtherDisposalDecided: each fact's
    own enum (the fact's contract checks which)."""
    code: DismissalCode | None = None
    """Of CaseDismissed (the OM's two-digit sepot code)."""
    outcome: VerdictOutcome | None = None
    """Of VerdictDelivered."""
    presence_necessary: bool | None = None
    """Of PresenceAssessed."""


class FactAmended(ProsecutionEvent, FactCorrection):
    """The OM amends one of its facts (hersteld): the same fact, with the business date
    ``fact_occurred_on`` and the categories in ``amended``. ``suspect_id`` as in FactAnnulled."""

    suspect_id: Pseudonym | None = None
    amended: ProsecutionAmendedFields


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
    FactAnnulled,
    FactAmended,
)

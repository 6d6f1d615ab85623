"""The commands police, KMar and Labour Inspectorate systems give the investigation service."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from ketenzicht_common import corrections
from ketenzicht_common.commands import Command
from ketenzicht_contracts.events.base import CaseId, Pseudonym, SuspectId
from ketenzicht_contracts.events.categories import InvestigationCloseReason
from ketenzicht_contracts.events.investigation import InvestigationAmendedFields

REGISTRATION_NUMBER_PATTERN = r"^[A-Z0-9-]{4,32}$"
PoliceRegistrationNumber = Annotated[str, StringConstraints(pattern=REGISTRATION_NUMBER_PATTERN)]
"""The police's own registration number of a case (capitals, digits and '-', 4 to 32).
A source identifier: kept by this service, never on the bus."""


class OpenCase(Command):
    """A case enters the chain: ketenzicht issues its pseudonym for the source's number."""

    SOURCE_IDENTIFIERS: ClassVar[frozenset[str]] = frozenset({"police_registration_number"})
    """Left out of the command log's fingerprint (ketenzicht_common.store.fingerprint)."""

    police_registration_number: PoliceRegistrationNumber


class CaseCommand(Command):
    case_id: CaseId
    """The pseudonym ``OpenCase`` issued (docs/adr/0023)."""


class OpenInvestigation(CaseCommand):
    pass


class IdentifySuspect(CaseCommand):
    suspect_id: SuspectId | None = None
    """None: a suspect new to the chain, for whom ketenzicht issues the pseudonym; else one it
    issued before (the same person already known in another case)."""


class HearVictim(CaseCommand):
    victim_id: Pseudonym
    with_police_psychologist: bool = False


class SuspendInvestigation(CaseCommand):
    pass


class ResumeInvestigation(CaseCommand):
    pass


class SubmitToProsecution(CaseCommand):
    suspect_ids: list[SuspectId] = Field(default_factory=list)
    """Empty: every suspect identified so far."""


class CloseInvestigation(CaseCommand):
    reason: InvestigationCloseReason


class DecideNoInvestigation(CaseCommand):
    pass


class ForgetRegistrationNumber(CaseCommand):
    """The erasure order of the organisation that registered the case, for its police
    registration number (occurred_on: the order's date)."""

    order_id: Pseudonym


class SweepRetention(Command):
    """Destroy the keys whose retention term has passed on ``occurred_on`` (the as-of day)."""


class AnnulFact(CaseCommand, corrections.AnnulFact):
    """Annul a fact of this case the caller's organisation stated."""


class AmendFact(CaseCommand, corrections.AmendFact):
    """Amend a fact of this case the caller's organisation stated."""

    amended: InvestigationAmendedFields | None = None

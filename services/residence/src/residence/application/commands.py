"""The IND's decisions, as commands; and the two commands residence gives itself."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import model_validator

from ketenzicht_common import corrections
from ketenzicht_common.commands import Command
from ketenzicht_common.dates import BusinessDate
from ketenzicht_contracts.events.base import Pseudonym
from ketenzicht_contracts.events.categories import ReflectionEndReason
from ketenzicht_contracts.events.residence import ResidenceAmendedFields


class VictimDecision(Command):
    victim_id: Pseudonym


class GrantReflectionPeriod(VictimDecision):
    pass


class EndReflectionPeriod(VictimDecision):
    reason: ReflectionEndReason


class CaseDecision(VictimDecision):
    case_id: Pseudonym


class GrantTemporaryPermit(CaseDecision):
    valid_from: date
    valid_until: date

    @model_validator(mode="after")
    def _runs_forward(self) -> GrantTemporaryPermit:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must lie after valid_from")
        return self


class RefuseTemporaryPermit(CaseDecision):
    pass


class ExtendTemporaryPermit(CaseDecision):
    valid_until: date


class EndTemporaryPermit(CaseDecision):
    end_date: date


class GrantNonTemporaryPermit(VictimDecision):
    pass


class RefuseNonTemporaryPermit(VictimDecision):
    pass


class ResumeDublinTransfer(VictimDecision):
    pass


class FindNoEuResidenceRight(VictimDecision):
    """The IND finds that an EU/EEA/Swiss national (or family member) derives no right of
    residence from EU law (geen verblijfsrecht op grond van het Unierecht): B8 applies."""


class AnnulFact(VictimDecision, corrections.AnnulFact):
    """Annul a decision about this victim the IND reported (docs/domain.md#corrections)."""


class ResidenceAmendments(ResidenceAmendedFields):
    """The amendable fields as the IND sends them: their dates as strictly as a command's."""

    valid_from: BusinessDate | None = None
    valid_until: BusinessDate | None = None
    end_date: BusinessDate | None = None


class AmendFact(VictimDecision, corrections.AmendFact):
    """Amend a decision about this victim the IND reported: its date or fields."""

    amended: ResidenceAmendments | None = None


class NoteFact(Command):
    """An event off the bus that the rules read (its event id is the command id)."""

    event_id: str
    service: str
    event_type: str
    payload: dict[str, Any]


class Settle(Command):
    """Apply the rules to a settled victim's facts as of ``occurred_on`` and send what changed."""

    victim_id: str

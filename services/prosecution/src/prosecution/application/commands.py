"""The commands OM systems give the prosecution service."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import StringConstraints, model_validator

from ketenzicht_common import corrections
from ketenzicht_common.commands import Command
from ketenzicht_contracts.events.base import CaseId, Pseudonym, SuspectId
from ketenzicht_contracts.events.categories import (
    CourtInstance,
    DismissalKind,
    OtherDisposalKind,
    VerdictOutcome,
)
from ketenzicht_contracts.events.prosecution import DismissalCode, ProsecutionAmendedFields

PARKETNUMMER_PATTERN = r"^[0-9]{2}/[0-9]{6}-[0-9]{2}$"
ParketnummerText = Annotated[str, StringConstraints(pattern=PARKETNUMMER_PATTERN)]
"""The OM's parketnummer, 'NN/NNNNNN-NN' (arrondissement, serial number, year). A source
identifier: kept by this service, never on the bus."""


class OpenCase(Command):
    """A case the OM registers that did not come through the police: ketenzicht issues its
    pseudonym, and the case is registered against its first suspect under the parketnummer."""

    SOURCE_IDENTIFIERS: ClassVar[frozenset[str]] = frozenset({"parketnummer"})
    """Left out of the command log's fingerprint (ketenzicht_common.store.fingerprint)."""

    suspect_id: SuspectId | None = None
    """None: a suspect new to the chain, for whom ketenzicht issues the pseudonym."""
    parketnummer: ParketnummerText


class SuspectCommand(Command):
    case_id: CaseId
    """An issued case pseudonym (docs/adr/0023): the shape is checked, not who issued it."""
    suspect_id: SuspectId
    """An issued suspect pseudonym (docs/adr/0025): the shape is checked, not who issued it."""


class RegisterCase(Command):
    SOURCE_IDENTIFIERS: ClassVar[frozenset[str]] = frozenset({"parketnummer"})
    """Left out of the command log's fingerprint (ketenzicht_common.store.fingerprint)."""

    case_id: CaseId
    suspect_id: SuspectId | None = None
    """The pseudonym the police's submission names; None: a suspect the OM adds itself, new to
    the chain, for whom ketenzicht issues the pseudonym."""
    parketnummer: ParketnummerText | None = None


class ForgetParketnummer(SuspectCommand):
    """The OM's erasure order for the parketnummer of one suspect's proceedings
    (occurred_on: the order's date)."""

    order_id: Pseudonym


class SweepRetention(Command):
    """Destroy the keys whose retention term has passed on ``occurred_on`` (the as-of day)."""


class SummonSuspect(SuspectCommand):
    pass


class DismissCase(SuspectCommand):
    kind: DismissalKind
    code: DismissalCode


class DecideOtherDisposal(SuspectCommand):
    kind: OtherDisposalKind


class ReopenCase(SuspectCommand):
    pass


class HoldCourtHearing(SuspectCommand):
    instance: CourtInstance


class DeliverVerdict(SuspectCommand):
    instance: CourtInstance
    outcome: VerdictOutcome


class LodgeAppeal(SuspectCommand):
    pass


class MarkCaseFinal(SuspectCommand):
    pass


class VictimCommand(Command):
    case_id: CaseId
    victim_id: Pseudonym


class HoldExaminingMagistrateHearing(VictimCommand):
    pass


class AssessPresence(VictimCommand):
    presence: Literal["NECESSARY", "NOT_NECESSARY"]


class CorrectionCommand(Command):
    """A correction names the aggregate that holds the fact: the proceedings against one
    suspect, or (no ``suspect_id``) the case as a whole, for a fact about one of its victims."""

    case_id: CaseId
    suspect_id: Pseudonym | None = None


class AnnulFact(CorrectionCommand, corrections.AnnulFact):
    """Annul a fact of this case (or of the proceedings against this suspect) the caller's
    organisation stated."""


class AmendFact(CorrectionCommand, corrections.AmendFact):
    """Amend a fact of this case (or of the proceedings against this suspect) the caller's
    organisation stated."""

    amended: ProsecutionAmendedFields | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        """Over gRPC an enum is a field's type, so the kind of an other disposal comes as
        ``amended.other_disposal_kind``; the fact, and its FactAmended, call it ``kind``."""
        amended = data.get("amended") if isinstance(data, dict) else None
        if not isinstance(amended, dict) or "other_disposal_kind" not in amended:
            return data
        if amended.get("kind") is not None:
            raise ValueError("amended: the kind of a dismissal or of an other disposal, not both")
        amended = {k: v for k, v in amended.items() if k != "other_disposal_kind"}
        return data | {"amended": amended | {"kind": data["amended"]["other_disposal_kind"]}}

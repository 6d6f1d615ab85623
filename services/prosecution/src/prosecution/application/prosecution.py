"""The prosecution application: one method per command, each applied through the command bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ketenzicht_common import retention
from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import (
    CommandGateway,
    CommandResult,
    issue_case_id,
    issue_suspect_id,
)
from ketenzicht_common.corrections import check_correction, correct
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import AlreadyExists, NotFound, NotTheOwner, PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of
from ketenzicht_common.subject_keys import Forgotten, SubjectKeys
from prosecution.application import commands as c
from prosecution.domain import prosecution_case
from prosecution.domain.prosecution_case import CORRECTION_TOPICS, ProsecutionCase
from prosecution.domain.suspect_proceedings import (
    DISMISSED,
    OTHER_DISPOSAL,
    Parketnummer,
    SuspectProceedings,
)

PRIVATE_TOPICS = prosecution_case.PRIVATE_TOPICS | {
    SuspectProceedings.ParketnummerRecorded.TOPIC,
    SuspectProceedings.ParketnummerSealed.TOPIC,
    SuspectProceedings.ParketnummerForgotten.TOPIC,
    Parketnummer.Opened.TOPIC,
}
"""Topics that stay in the prosecution store: they hold no chain fact, or a source id."""

A = TypeVar("A")


PARKETNUMMER = "parketnummer"
"""The field name the key store binds into a sealed parketnummer and its blind index."""


@dataclass(frozen=True)
class SweepResult:
    forgotten: int
    kept: int


class ProsecutionApplication(ChainApplication):
    name = "prosecution"
    service = "prosecution"

    keys: SubjectKeys
    """The OM's key store (set by bootstrap): seals the parketnummers, finds them by blind
    index, destroys a proceedings' key to forget its number."""

    def event_topics(self) -> set[str]:
        return topics_of(SuspectProceedings, ProsecutionCase, Parketnummer) - PRIVATE_TOPICS

    def _get(self, aggregate_id: UUID, kind: type[A], missing: str) -> A:
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(missing) from None
        assert isinstance(found, kind)
        return found

    def proceedings(self, case_id: str, suspect_id: str) -> SuspectProceedings:
        return self._get(
            SuspectProceedings.id_for(case_id, suspect_id),
            SuspectProceedings,
            # The ids are not echoed: a query refusal repeats nothing the caller sent.
            "that case is not registered against that suspect",
        )

    def by_parketnummer(self, parketnummer: str, organisation: str) -> SuspectProceedings:
        """The proceedings behind a parketnummer, for the organisation that registered it."""
        # The number is not echoed: it is a source identifier. A forgotten number is not
        # found, like one never registered: the blind index went with the key.
        proceedings = self.holder_of(parketnummer)
        if proceedings is None:
            raise NotFound("no proceedings have that parketnummer (or it was forgotten)")
        if proceedings.registered_by != organisation:
            raise _not_yours()
        return proceedings

    def holder_of(
        self, parketnummer: str, uow: UnitOfWork | None = None
    ) -> SuspectProceedings | None:
        """The proceedings that hold ``parketnummer``, if any. The blind index is a hint (a
        batch that failed to save may have left an entry behind); the proceedings' sealed
        number decides. Stores written before the numbers were sealed keep their unkeyed
        lookup aggregates, which are read too."""

        get = self.stored if uow is None else uow.get

        subject = self.keys.find(PARKETNUMMER, parketnummer)
        if subject is not None:
            case_id, _, suspect_id = subject.partition("/")
            proceedings = get(SuspectProceedings.id_for(case_id, suspect_id), SuspectProceedings)
            if proceedings is not None and self.parketnummer_of(proceedings) == parketnummer:
                return proceedings
            return None
        number = get(Parketnummer.id_for(parketnummer), Parketnummer)
        if number is None:
            return None
        return get(SuspectProceedings.id_for(number.case_id, number.suspect_id), SuspectProceedings)

    def parketnummer_of(self, proceedings: SuspectProceedings) -> str:
        """The parketnummer in the clear; "" if there is none or it was forgotten."""
        if proceedings.legacy_parketnummer:
            return proceedings.legacy_parketnummer
        if not proceedings.sealed_parketnummer:
            return ""
        subject = SuspectProceedings.key_subject(proceedings.case_id, proceedings.suspect_id)
        try:
            return self.keys.open(subject, PARKETNUMMER, proceedings.sealed_parketnummer)
        except Forgotten:
            return ""

    def parketnummer_forgotten(self, proceedings: SuspectProceedings) -> bool:
        return bool(proceedings.sealed_parketnummer) and not self.keys.knows(
            SuspectProceedings.key_subject(proceedings.case_id, proceedings.suspect_id)
        )

    def case(self, case_id: str) -> ProsecutionCase:
        return self._get(
            ProsecutionCase.id_for(case_id), ProsecutionCase, "the OM knows no such case"
        )


def _case(
    uow: UnitOfWork, case_id: str, provenance: Provenance, occurred_on: date
) -> ProsecutionCase:
    # A victim fact may arrive before any suspect is registered: the case is opened for it.
    return uow.get_or_open(
        ProsecutionCase.id_for(case_id),
        ProsecutionCase,
        lambda: ProsecutionCase.create(case_id, provenance, occurred_on),
    )


def _not_yours() -> NotTheOwner:
    # A source number is its organisation's (the controller's): another may not learn which
    # case it is, nor open it again.
    return NotTheOwner("that parketnummer was registered by another organisation")


@dataclass(frozen=True)
class CaseOpened:
    """The case pseudonym issued for a case the OM opened (the first time, or again), and its
    first suspect's."""

    case_id: str
    suspect_id: str


@dataclass(frozen=True)
class CaseRegistered:
    """The suspect the case was registered against: the pseudonym given, or issued now."""

    suspect_id: str


def _parketnummer_in_use(subject: str) -> PreconditionFailed:
    return PreconditionFailed(
        "PARKETNUMMER_IN_USE", "that parketnummer belongs to other proceedings", subject=subject
    )


class ProsecutionCommands:
    """What the prosecution service can be told: one method per command. Every method checks
    before it records (see bus.py)."""

    def __init__(self, gateway: CommandGateway, app: ProsecutionApplication) -> None:
        self.gateway = gateway
        self.app = app

    def _register(
        self,
        uow: UnitOfWork,
        case_id: str,
        suspect_id: str,
        parketnummer: str,
        provenance: Provenance,
        occurred_on: date,
    ) -> None:
        """Register the case against one suspect, with its parketnummer (sealed) if given."""
        subject = SuspectProceedings.key_subject(case_id, suspect_id)
        if uow.get(SuspectProceedings.id_for(case_id, suspect_id), SuspectProceedings) is not None:
            raise AlreadyExists(
                f"case {case_id} is already registered against suspect {suspect_id}"
            )
        if parketnummer:
            holder = self.app.holder_of(parketnummer, uow)
            if holder is not None:
                raise _parketnummer_in_use(subject)
        # Every check is done: from here on the command only records. The number goes into
        # the events sealed, and into the key store's blind index for the lookup.
        sealed = ""
        if parketnummer:
            sealed = self.app.keys.seal(subject, PARKETNUMMER, parketnummer)
            self.app.keys.index(subject, PARKETNUMMER, parketnummer)
        uow.add(SuspectProceedings.register(case_id, suspect_id, provenance, occurred_on, sealed))
        _case(uow, case_id, provenance, occurred_on).add_suspect(
            provenance, occurred_on, suspect_id
        )

    async def register_case(
        self, cmd: c.RegisterCase, provenance: Provenance
    ) -> CommandResult[CaseRegistered]:
        parketnummer = cmd.parketnummer or ""
        # Drawn before the command is applied: a retry is answered from the command log.
        suspect_id = cmd.suspect_id or issue_suspect_id()

        def handle(uow: UnitOfWork) -> CaseRegistered:
            self._register(uow, cmd.case_id, suspect_id, parketnummer, provenance, cmd.occurred_on)
            return CaseRegistered(suspect_id)

        return await self.gateway.submit(cmd, provenance, handle, CaseRegistered)

    async def open_case(self, cmd: c.OpenCase, provenance: Provenance) -> CommandResult[CaseOpened]:
        """A case the OM brings into the chain itself: the pseudonym is issued here, and the
        same parketnummer finds it again (under any command id), storing nothing new."""
        # Drawn before the command is applied: a retry is answered from the command log.
        new_case_id = issue_case_id()
        suspect_id = cmd.suspect_id or issue_suspect_id()

        def handle(uow: UnitOfWork) -> CaseOpened:
            known = self.app.holder_of(cmd.parketnummer, uow)
            if known is not None:
                if known.registered_by != provenance.organisation:
                    raise _not_yours()
                if cmd.suspect_id is not None and known.suspect_id != cmd.suspect_id:
                    raise _parketnummer_in_use(f"{known.case_id}/{cmd.suspect_id}")
                return CaseOpened(known.case_id, known.suspect_id)
            self._register(
                uow, new_case_id, suspect_id, cmd.parketnummer, provenance, cmd.occurred_on
            )
            return CaseOpened(new_case_id, suspect_id)

        return await self.gateway.submit(cmd, provenance, handle, CaseOpened)

    # --- forgetting (ADR 0020) ---

    async def forget_parketnummer(
        self, cmd: c.ForgetParketnummer, provenance: Provenance
    ) -> CommandResult[None]:
        """The OM's erasure order: destroy the key of these proceedings' parketnummer."""
        subject = SuspectProceedings.key_subject(cmd.case_id, cmd.suspect_id)

        def handle(uow: UnitOfWork) -> None:
            proceedings = uow.get(
                SuspectProceedings.id_for(cmd.case_id, cmd.suspect_id), SuspectProceedings
            )
            if proceedings is None:
                raise PreconditionFailed(
                    "CASE_NOT_REGISTERED",
                    f"the OM registered no case {cmd.case_id} against suspect {cmd.suspect_id}",
                    subject=subject,
                )
            if proceedings.registered_by != provenance.organisation:
                raise NotTheOwner(
                    "only the organisation that registered the proceedings may order its "
                    "parketnummer erased"
                )
            proceedings.forget_parketnummer(
                provenance, cmd.occurred_on, "ERASURE_ORDER", "", cmd.order_id
            )
            # Destroyed before the event is stored: should the save fail, the order is given
            # again and finds the key gone, which changes nothing (destroying is idempotent).
            self.app.keys.forget(subject)

        return await self.gateway.submit(cmd, provenance, handle)

    async def sweep_retention(
        self, cmd: c.SweepRetention, provenance: Provenance
    ) -> CommandResult[SweepResult]:
        """Destroy every key whose retention term has passed on ``cmd.occurred_on``."""
        as_of = cmd.occurred_on

        def handle(uow: UnitOfWork) -> SweepResult:
            forgotten = kept = 0
            for subject in self.app.keys.subjects():
                case_id, _, suspect_id = subject.partition("/")
                proceedings = uow.get(
                    SuspectProceedings.id_for(case_id, suspect_id), SuspectProceedings
                )
                if (
                    proceedings is None  # a key a failed batch left behind: it seals nothing
                    or not proceedings.sealed_parketnummer
                    or proceedings.parketnummer_forgotten_on is not None
                ):
                    continue
                expiry = retention.om_link_expires(
                    retention.ProceedingsState(
                        registered_on=proceedings.registered_on,
                        final_on=proceedings.final_on,
                        disposed_on=proceedings.decided_on
                        if proceedings.decision in (DISMISSED, OTHER_DISPOSAL)
                        else None,
                    )
                )
                if expiry is None or expiry[1] > as_of:
                    kept += 1
                    continue
                proceedings.forget_parketnummer(provenance, as_of, "RETENTION", expiry[0], "")
                self.app.keys.forget(subject)
                forgotten += 1
            return SweepResult(forgotten, kept)

        return await self.gateway.submit(cmd, provenance, handle, SweepResult)

    # --- about a victim in the case ---

    async def _on_victim(
        self, cmd: c.VictimCommand, provenance: Provenance, act: Callable[[ProsecutionCase], None]
    ) -> CommandResult[None]:
        def handle(uow: UnitOfWork) -> None:
            act(_case(uow, cmd.case_id, provenance, cmd.occurred_on))

        return await self.gateway.submit(cmd, provenance, handle)

    async def hold_examining_magistrate_hearing(
        self, cmd: c.HoldExaminingMagistrateHearing, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda case: case.hold_examining_magistrate_hearing(
                provenance, cmd.occurred_on, cmd.victim_id
            ),
        )

    async def assess_presence(
        self, cmd: c.AssessPresence, provenance: Provenance
    ) -> CommandResult[None]:
        necessary = cmd.presence == "NECESSARY"
        return await self._on_victim(
            cmd,
            provenance,
            lambda case: case.assess_presence(
                provenance, cmd.occurred_on, cmd.victim_id, necessary
            ),
        )

    # --- about a suspect's registered proceedings ---

    async def _on_suspect(
        self,
        cmd: c.SuspectCommand,
        provenance: Provenance,
        act: Callable[[SuspectProceedings], None],
    ) -> CommandResult[None]:
        def handle(uow: UnitOfWork) -> None:
            proceedings = uow.get(
                SuspectProceedings.id_for(cmd.case_id, cmd.suspect_id), SuspectProceedings
            )
            if proceedings is None:
                raise PreconditionFailed(
                    "CASE_NOT_REGISTERED",
                    f"the OM registered no case {cmd.case_id} against suspect {cmd.suspect_id}",
                    subject=f"{cmd.case_id}/{cmd.suspect_id}",
                )
            act(proceedings)

        return await self.gateway.submit(cmd, provenance, handle)

    async def summon_suspect(
        self, cmd: c.SummonSuspect, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_suspect(
            cmd, provenance, lambda proceedings: proceedings.summon(provenance, cmd.occurred_on)
        )

    async def dismiss_case(self, cmd: c.DismissCase, provenance: Provenance) -> CommandResult[None]:
        return await self._on_suspect(
            cmd,
            provenance,
            lambda proceedings: proceedings.dismiss(
                provenance, cmd.occurred_on, cmd.kind.value, cmd.code
            ),
        )

    async def decide_other_disposal(
        self, cmd: c.DecideOtherDisposal, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_suspect(
            cmd,
            provenance,
            lambda proceedings: proceedings.dispose_otherwise(
                provenance, cmd.occurred_on, cmd.kind.value
            ),
        )

    async def reopen_case(self, cmd: c.ReopenCase, provenance: Provenance) -> CommandResult[None]:
        return await self._on_suspect(
            cmd, provenance, lambda proceedings: proceedings.reopen(provenance, cmd.occurred_on)
        )

    async def hold_court_hearing(
        self, cmd: c.HoldCourtHearing, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_suspect(
            cmd,
            provenance,
            lambda proceedings: proceedings.hold_court_hearing(
                provenance, cmd.occurred_on, cmd.instance.value
            ),
        )

    async def deliver_verdict(
        self, cmd: c.DeliverVerdict, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_suspect(
            cmd,
            provenance,
            lambda proceedings: proceedings.deliver_verdict(
                provenance, cmd.occurred_on, cmd.instance.value, cmd.outcome.value
            ),
        )

    async def lodge_appeal(self, cmd: c.LodgeAppeal, provenance: Provenance) -> CommandResult[None]:
        return await self._on_suspect(
            cmd,
            provenance,
            lambda proceedings: proceedings.lodge_appeal(provenance, cmd.occurred_on),
        )

    async def mark_case_final(
        self, cmd: c.MarkCaseFinal, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_suspect(
            cmd, provenance, lambda proceedings: proceedings.mark_final(provenance, cmd.occurred_on)
        )

    # --- corrections ---

    async def correct_fact(
        self, cmd: c.AnnulFact | c.AmendFact, provenance: Provenance
    ) -> CommandResult[None]:
        """Annul or amend a fact of the proceedings against a suspect, or (no suspect) of the
        case as a whole (docs/domain.md#corrections)."""
        check_correction(cmd, self.gateway.clock.today())
        facts = self.fact_topics()
        suspect_id = cmd.suspect_id

        def handle(uow: UnitOfWork) -> None:
            holder: SuspectProceedings | ProsecutionCase | None
            if suspect_id is None:
                holder = uow.get(ProsecutionCase.id_for(cmd.case_id), ProsecutionCase)
                subject = cmd.case_id
            else:
                holder = uow.get(
                    SuspectProceedings.id_for(cmd.case_id, suspect_id), SuspectProceedings
                )
                subject = f"{cmd.case_id}/{suspect_id}"
            correct(
                uow,
                holder,
                cmd,
                provenance,
                service="prosecution",
                subject=subject,
                fact_topics=facts,
            )

        return await self.gateway.submit(cmd, provenance, handle)

    @staticmethod
    def fact_topics() -> frozenset[str]:
        return frozenset(
            topics_of(SuspectProceedings, ProsecutionCase) - PRIVATE_TOPICS - CORRECTION_TOPICS
        )

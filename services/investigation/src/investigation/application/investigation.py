"""The investigation application: one method per command, each applied through the command bus."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eventsourcing.application import AggregateNotFoundError

from investigation.application import commands as c
from investigation.domain.case_investigation import (
    CORRECTION_TOPICS,
    PRIVATE_TOPICS,
    CaseInvestigation,
    PoliceRegistration,
)
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
from ketenzicht_common.errors import NotFound, NotTheOwner, PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of
from ketenzicht_common.subject_keys import Forgotten, SubjectKeys

REGISTRATION_NUMBER = "police_registration_number"
"""The field name the key store binds into a sealed registration number and its blind index."""


@dataclass(frozen=True)
class SweepResult:
    forgotten: int
    kept: int


class InvestigationApplication(ChainApplication):
    name = "investigation"
    service = "investigation"

    keys: SubjectKeys
    """The police's key store (set by bootstrap): seals the registration numbers, finds them
    by blind index, destroys a case's key to forget its number."""

    def event_topics(self) -> set[str]:
        return topics_of(CaseInvestigation, PoliceRegistration) - PRIVATE_TOPICS

    def investigation(self, case_id: str) -> CaseInvestigation:
        try:
            case: object = self.repository.get(CaseInvestigation.id_for(case_id))
        except AggregateNotFoundError:
            # The id is not echoed: a query refusal repeats nothing the caller sent.
            raise NotFound("no investigation of that case") from None
        assert isinstance(case, CaseInvestigation)
        return case

    def by_registration_number(self, number: str, organisation: str) -> CaseInvestigation:
        """The case behind a registration number, for the organisation that registered it."""
        # The number is not echoed: it is a source identifier. A forgotten number is not
        # found, like one never registered: the blind index went with the key.
        case = self.holder_of(number)
        if case is None:
            raise NotFound("no case has that police registration number (or it was forgotten)")
        if case.registered_by != organisation:
            raise _not_yours()
        return case

    def holder_of(self, number: str, uow: UnitOfWork | None = None) -> CaseInvestigation | None:
        """The case that holds registration number ``number``, if any. The blind index is a
        hint (a batch that failed to save may have left an entry behind); the case's sealed
        number decides. Stores written before the numbers were sealed keep their unkeyed
        lookup aggregates, which are read too."""

        get = self.stored if uow is None else uow.get

        subject = self.keys.find(REGISTRATION_NUMBER, number)
        if subject is not None:
            case = get(CaseInvestigation.id_for(subject), CaseInvestigation)
            if case is not None and self.registration_number_of(case) == number:
                return case
            return None
        registration = get(PoliceRegistration.id_for(number), PoliceRegistration)
        if registration is None:
            return None
        return get(CaseInvestigation.id_for(registration.case_id), CaseInvestigation)

    def registration_number_of(self, case: CaseInvestigation) -> str:
        """The registration number in the clear; "" if it was forgotten."""
        if case.legacy_registration_number:
            return case.legacy_registration_number
        if not case.sealed_registration_number:
            return ""
        try:
            return self.keys.open(
                CaseInvestigation.key_subject(case.case_id),
                REGISTRATION_NUMBER,
                case.sealed_registration_number,
            )
        except Forgotten:
            return ""

    def registration_number_forgotten(self, case: CaseInvestigation) -> bool:
        return bool(case.sealed_registration_number) and not self.keys.knows(
            CaseInvestigation.key_subject(case.case_id)
        )


def _not_yours() -> NotTheOwner:
    # A source number is its organisation's (the controller's): another may not learn which
    # case it is, nor register it again.
    return NotTheOwner("that police registration number was registered by another organisation")


@dataclass(frozen=True)
class CaseOpened:
    """The case pseudonym issued for a registration number (the first time, or again)."""

    case_id: str


@dataclass(frozen=True)
class SuspectIdentified:
    """The suspect's pseudonym: issued by this command, or the one it was given."""

    suspect_id: str


def _existing(uow: UnitOfWork, case_id: str) -> CaseInvestigation:
    case = uow.get(CaseInvestigation.id_for(case_id), CaseInvestigation)
    if case is None:
        raise PreconditionFailed(
            "CASE_NOT_REGISTERED",
            f"ketenzicht issued no case {case_id}: open the case first (OpenCase)",
            subject=case_id,
        )
    return case


class InvestigationCommands:
    """What the investigation service can be told: one method per command. Every method
    checks before it records (see bus.py)."""

    def __init__(self, gateway: CommandGateway, app: InvestigationApplication) -> None:
        self.gateway = gateway
        self.app = app

    async def open_case(self, cmd: c.OpenCase, provenance: Provenance) -> CommandResult[CaseOpened]:
        """Issue the case pseudonym for a registration number: a new one the first time, the
        same one every time after (under any command id), storing nothing new then."""
        number = cmd.police_registration_number
        # Drawn before the command is applied: a retry is answered from the command log.
        new_case_id = issue_case_id()

        def handle(uow: UnitOfWork) -> CaseOpened:
            known = self.app.holder_of(number, uow)
            if known is not None:
                if known.registered_by != provenance.organisation:
                    raise _not_yours()
                return CaseOpened(known.case_id)
            # Every check is done: from here on the command only records. The number goes
            # into the events sealed, and into the key store's blind index for the lookup.
            subject = CaseInvestigation.key_subject(new_case_id)
            sealed = self.app.keys.seal(subject, REGISTRATION_NUMBER, number)
            self.app.keys.index(subject, REGISTRATION_NUMBER, number)
            uow.add(CaseInvestigation.register(new_case_id, sealed, provenance, cmd.occurred_on))
            return CaseOpened(new_case_id)

        return await self.gateway.submit(cmd, provenance, handle, CaseOpened)

    # --- forgetting (ADR 0020) ---

    async def forget_registration_number(
        self, cmd: c.ForgetRegistrationNumber, provenance: Provenance
    ) -> CommandResult[None]:
        """The erasure order: destroy the key of the case's registration number."""

        def handle(uow: UnitOfWork) -> None:
            case = _existing(uow, cmd.case_id)
            if case.registered_by != provenance.organisation:
                raise NotTheOwner(
                    "only the organisation that registered the case may order its police "
                    "registration number erased"
                )
            case.forget_registration_number(
                provenance, cmd.occurred_on, "ERASURE_ORDER", "", cmd.order_id
            )
            # Destroyed before the event is stored: should the save fail, the order is given
            # again and finds the key gone, which changes nothing (destroying is idempotent).
            self.app.keys.forget(CaseInvestigation.key_subject(cmd.case_id))

        return await self.gateway.submit(cmd, provenance, handle)

    async def sweep_retention(
        self, cmd: c.SweepRetention, provenance: Provenance
    ) -> CommandResult[SweepResult]:
        """Destroy every key whose retention term has passed on ``cmd.occurred_on``."""
        as_of = cmd.occurred_on

        def handle(uow: UnitOfWork) -> SweepResult:
            forgotten = kept = 0
            for subject in self.app.keys.subjects():
                case = uow.get(CaseInvestigation.id_for(subject), CaseInvestigation)
                if (
                    case is None  # a key a failed batch left behind: it seals nothing
                    or not case.sealed_registration_number
                    or case.registration_number_forgotten_on is not None
                    or case.registered_on is None
                ):
                    continue
                expiry = retention.police_link_expires(
                    retention.PoliceCaseState(
                        registered_on=case.registered_on,
                        ended_on=case.ended_on,
                        submitted=bool(case.submitted),
                    )
                )
                if expiry is None or expiry[1] > as_of:
                    kept += 1
                    continue
                case.forget_registration_number(provenance, as_of, "RETENTION", expiry[0], "")
                self.app.keys.forget(subject)
                forgotten += 1
            return SweepResult(forgotten, kept)

        return await self.gateway.submit(cmd, provenance, handle, SweepResult)

    async def open_investigation(
        self, cmd: c.OpenInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.open_investigation(provenance, cmd.occurred_on)
        )

    async def decide_no_investigation(
        self, cmd: c.DecideNoInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.decide_no_investigation(provenance, cmd.occurred_on)
        )

    async def _on_case(
        self, cmd: c.CaseCommand, provenance: Provenance, act: Callable[[CaseInvestigation], None]
    ) -> CommandResult[None]:
        """A command about a case the investigation service already knows."""

        def handle(uow: UnitOfWork) -> None:
            act(_existing(uow, cmd.case_id))

        return await self.gateway.submit(cmd, provenance, handle)

    async def identify_suspect(
        self, cmd: c.IdentifySuspect, provenance: Provenance
    ) -> CommandResult[SuspectIdentified]:
        """A suspect identified in the case: ketenzicht issues the pseudonym for one new to the
        chain, as intake does for a victim; the police keep the link to their own person record
        (no person number reaches ketenzicht, docs/adr/0025)."""
        # Drawn before the command is applied: a retry is answered from the command log.
        suspect_id = cmd.suspect_id or issue_suspect_id()

        def handle(uow: UnitOfWork) -> SuspectIdentified:
            _existing(uow, cmd.case_id).identify_suspect(provenance, cmd.occurred_on, suspect_id)
            return SuspectIdentified(suspect_id)

        return await self.gateway.submit(cmd, provenance, handle, SuspectIdentified)

    async def hear_victim(self, cmd: c.HearVictim, provenance: Provenance) -> CommandResult[None]:
        return await self._on_case(
            cmd,
            provenance,
            lambda case: case.hear_victim(
                provenance, cmd.occurred_on, cmd.victim_id, cmd.with_police_psychologist
            ),
        )

    async def suspend_investigation(
        self, cmd: c.SuspendInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.suspend(provenance, cmd.occurred_on)
        )

    async def resume_investigation(
        self, cmd: c.ResumeInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.resume(provenance, cmd.occurred_on)
        )

    async def submit_to_prosecution(
        self, cmd: c.SubmitToProsecution, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd,
            provenance,
            lambda case: case.submit_to_prosecution(
                provenance, cmd.occurred_on, list(cmd.suspect_ids)
            ),
        )

    async def close_investigation(
        self, cmd: c.CloseInvestigation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_case(
            cmd, provenance, lambda case: case.close(provenance, cmd.occurred_on, cmd.reason.value)
        )

    async def correct_fact(
        self, cmd: c.AnnulFact | c.AmendFact, provenance: Provenance
    ) -> CommandResult[None]:
        """Annul or amend a fact of the case (docs/domain.md#corrections)."""
        check_correction(cmd, self.gateway.clock.today())
        facts = self.fact_topics()

        def handle(uow: UnitOfWork) -> None:
            case = uow.get(CaseInvestigation.id_for(cmd.case_id), CaseInvestigation)
            correct(
                uow,
                case,
                cmd,
                provenance,
                service="investigation",
                subject=cmd.case_id,
                fact_topics=facts,
            )

        return await self.gateway.submit(cmd, provenance, handle)

    @staticmethod
    def fact_topics() -> frozenset[str]:
        return frozenset(topics_of(CaseInvestigation) - PRIVATE_TOPICS - CORRECTION_TOPICS)

"""The intake application: one method per command, each applied through the command bus."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from intake.application import commands as c
from intake.domain.reflection_offer import DEFAULT_OFFER_SETTINGS, ReflectionOfferSettings
from intake.domain.victim_track import CORRECTION_TOPICS, PRIVATE_TOPICS, VictimTrack
from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway, CommandResult
from ketenzicht_common.corrections import check_correction, correct
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import NotFound, PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of
from ketenzicht_common.subject_keys import SubjectKeys

MATCH_TOKEN = "match_token"
"""The field name the blind index of a clearing-house match token is kept under (ADR 0028)."""


class IntakeApplication(ChainApplication):
    name = "intake"
    service = "intake"
    keys: SubjectKeys
    """The victims' keys: the blind index of their match tokens, destroyed per victim (ADR 0028)."""

    def event_topics(self) -> set[str]:
        return topics_of(VictimTrack) - PRIVATE_TOPICS

    def victim(self, victim_id: str) -> VictimTrack:
        from eventsourcing.application import AggregateNotFoundError

        try:
            track: object = self.repository.get(VictimTrack.id_for(victim_id))
        except AggregateNotFoundError:
            # The id is not echoed: a query refusal repeats nothing the caller sent.
            raise NotFound("intake knows no such victim") from None
        assert isinstance(track, VictimTrack)
        return track


def _existing(uow: UnitOfWork, victim_id: str) -> VictimTrack:
    track = uow.get(VictimTrack.id_for(victim_id), VictimTrack)
    if track is None:
        raise PreconditionFailed(
            "VICTIM_NOT_SIGNALLED",
            f"victim {victim_id} was never signalled to intake",
            subject=victim_id,
        )
    return track


@dataclass(frozen=True)
class SignalRegistered:
    """The pseudonyms intake issued for a signal (the victim's only for a new victim)."""

    victim_id: str
    signal_id: str
    matched: bool = False
    """The victim was found by the match token: another organisation signalled them before."""


class IntakeCommands:
    """What intake can be told: one method per command. Every method checks before it records
    (see bus.py)."""

    def __init__(
        self,
        gateway: CommandGateway,
        reflection: ReflectionOfferSettings = DEFAULT_OFFER_SETTINGS,
        keys: SubjectKeys | None = None,
    ) -> None:
        self.gateway = gateway
        self.reflection = reflection
        self.keys = keys

    async def register_signal(
        self, cmd: c.RegisterSignal, provenance: Provenance
    ) -> CommandResult[SignalRegistered]:
        new_victim_id = f"V-{uuid.uuid4().hex[:20]}"
        signal_id = f"S-{uuid.uuid4().hex[:20]}"

        def handle(uow: UnitOfWork) -> SignalRegistered:
            matched = False
            victim_id = cmd.victim_id
            token = cmd.match_token
            if token and self.keys is None:
                raise PreconditionFailed(
                    "MATCHING_NOT_CONFIGURED", "this intake keeps no match index", subject=""
                )
            found = self.keys.find(MATCH_TOKEN, token) if token and self.keys else None
            if found is not None and victim_id and found != victim_id:
                # The refusal names neither the token nor the victim it points at.
                raise PreconditionFailed(
                    "MATCH_TOKEN_IN_USE",
                    "the match token belongs to another victim",
                    subject=victim_id,
                )
            track = None
            if not victim_id and found is not None:
                # The index is a hint (ADR 0020): a victim whose batch failed is no victim.
                track = uow.get(VictimTrack.id_for(found), VictimTrack)
                matched = track is not None
            if track is None and victim_id:
                track = uow.get(VictimTrack.id_for(victim_id), VictimTrack)
                if track is None:
                    raise NotFound(f"no victim {victim_id}: leave victim_id empty for a new victim")
            if track is None:
                track = VictimTrack.open(new_victim_id, provenance, cmd.occurred_on)
                uow.add(track)
            if token and track.match_link_forgotten_on is not None:
                # Booking the token on the victim again would undo the erasure order.
                raise PreconditionFailed(
                    "MATCH_LINK_FORGOTTEN",
                    "the match link of this victim was erased: signal without the token",
                    subject=track.victim_id,
                )
            if token and self.keys is not None and found != track.victim_id:
                # Indexed before the events are saved: a failed batch leaves a hint to a victim
                # that does not exist, which the lookup above skips.
                self.keys.index(track.victim_id, MATCH_TOKEN, token)
            track.register_signal(
                provenance,
                cmd.occurred_on,
                signal_id,
                source_organisation=cmd.source_organisation.value,
                form=cmd.form.value,
                minor=cmd.minor,
                nationality_group=cmd.nationality_group.value,
                residence_position=cmd.residence_position.value,
                region=cmd.region.value,
            )
            return SignalRegistered(victim_id=track.victim_id, signal_id=signal_id, matched=matched)

        return await self.gateway.submit(cmd, provenance, handle, SignalRegistered)

    async def _on_victim(
        self, cmd: c.VictimCommand, provenance: Provenance, act: Callable[[VictimTrack], None]
    ) -> CommandResult[None]:
        """A command about a victim intake already knows."""

        def handle(uow: UnitOfWork) -> None:
            act(_existing(uow, cmd.victim_id))

        return await self.gateway.submit(cmd, provenance, handle)

    async def hold_informative_interview(
        self, cmd: c.HoldInformativeInterview, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.hold_informative_interview(provenance, cmd.occurred_on),
        )

    async def offer_reflection_period(
        self, cmd: c.OfferReflectionPeriod, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.offer_reflection_period(
                provenance, cmd.occurred_on, self.reflection
            ),
        )

    async def decline_reflection_period(
        self, cmd: c.DeclineReflectionPeriod, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.decline_reflection_period(provenance, cmd.occurred_on),
        )

    async def file_report(self, cmd: c.FileReport, provenance: Provenance) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.file_report(
                provenance, cmd.occurred_on, cmd.case_id, cmd.under_number, cmd.capacity.value
            ),
        )

    async def declare_cooperation(
        self, cmd: c.DeclareCooperation, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.declare_cooperation(
                provenance, cmd.occurred_on, cmd.case_id, cmd.capacity.value
            ),
        )

    async def record_cooperation_impossible(
        self, cmd: c.RecordCooperationImpossible, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.record_cooperation_impossible(
                provenance, cmd.occurred_on, cmd.reason.value
            ),
        )

    async def withdraw_report(
        self, cmd: c.WithdrawReport, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.withdraw_report(provenance, cmd.occurred_on, cmd.case_id),
        )

    async def mark_victim_out_of_sight(
        self, cmd: c.MarkVictimOutOfSight, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd, provenance, lambda track: track.mark_out_of_sight(provenance, cmd.occurred_on)
        )

    async def complete_individual_assessment(
        self, cmd: c.CompleteIndividualAssessment, provenance: Provenance
    ) -> CommandResult[None]:
        measures = [m.value for m in cmd.measures]
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.complete_individual_assessment(
                provenance, cmd.occurred_on, measures
            ),
        )

    async def enrol_in_pilot(
        self, cmd: c.EnrolInPilot, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.enrol_in_pilot(provenance, cmd.occurred_on, cmd.cohort),
        )

    async def record_pilot_intervention(
        self, cmd: c.RecordPilotIntervention, provenance: Provenance
    ) -> CommandResult[None]:
        return await self._on_victim(
            cmd,
            provenance,
            lambda track: track.record_pilot_intervention(
                provenance, cmd.occurred_on, cmd.intervention.value
            ),
        )

    async def correct_fact(
        self, cmd: c.AnnulFact | c.AmendFact, provenance: Provenance
    ) -> CommandResult[None]:
        """Annul or amend a fact about the victim (docs/domain.md#corrections)."""
        check_correction(cmd, self.gateway.clock.today())
        facts = self.fact_topics()

        def handle(uow: UnitOfWork) -> None:
            track = uow.get(VictimTrack.id_for(cmd.victim_id), VictimTrack)
            correct(
                uow,
                track,
                cmd,
                provenance,
                service="intake",
                subject=cmd.victim_id,
                fact_topics=facts,
            )

        return await self.gateway.submit(cmd, provenance, handle)

    async def forget_match_link(
        self, cmd: c.ForgetMatchLink, provenance: Provenance
    ) -> CommandResult[None]:
        """The erasure order: destroy the victim's key, and with it the match link."""

        def handle(uow: UnitOfWork) -> None:
            track = _existing(uow, cmd.victim_id)
            track.forget_match_link(provenance, cmd.occurred_on, cmd.order_id)
            # Destroyed before the event is stored: should the save fail, the order is given
            # again and finds the key gone, which changes nothing (destroying is idempotent).
            self.forget_match(cmd.victim_id)

        return await self.gateway.submit(cmd, provenance, handle)

    def forget_match(self, victim_id: str) -> bool:
        """Destroy the victim's key, and with it the blind index of every match token that
        pointed at the victim: no later signal can be matched to them (ADR 0028). The facts stay.
        True if there was a key."""
        return self.keys.forget(victim_id) if self.keys is not None else False

    @staticmethod
    def fact_topics() -> frozenset[str]:
        return frozenset(topics_of(VictimTrack) - PRIVATE_TOPICS - CORRECTION_TOPICS)

"""The intake application: one method per command, each applied through the command bus."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from intake.application import commands as c
from intake.domain.reflection_offer import DEFAULT_OFFER_SETTINGS, ReflectionOfferSettings
from intake.domain.victim_track import VictimTrack
from ketenzicht_common.bus import UnitOfWork
from ketenzicht_common.commands import CommandGateway
from ketenzicht_common.domain import Provenance
from ketenzicht_common.errors import NotFound, PreconditionFailed
from ketenzicht_common.store import ChainApplication, topics_of


class IntakeApplication(ChainApplication):
    name = "intake"
    service = "intake"

    def event_topics(self) -> set[str]:
        return topics_of(VictimTrack) - {VictimTrack.Opened.TOPIC}

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
        raise PreconditionFailed("VICTIM_NOT_SIGNALLED",
                                 f"victim {victim_id} was never signalled to intake",
                                 subject=victim_id)
    return track


class IntakeCommands:
    """What intake can be told. Every method checks before it records (see bus.py)."""

    def __init__(self, gateway: CommandGateway,
                 reflection: ReflectionOfferSettings = DEFAULT_OFFER_SETTINGS) -> None:
        self.gateway = gateway
        self.reflection = reflection

    async def register_signal(self, cmd: c.RegisterSignal,
                              provenance: Provenance) -> dict[str, Any]:
        new_victim_id = f"V-{uuid.uuid4().hex[:20]}"
        signal_id = f"S-{uuid.uuid4().hex[:20]}"

        def handle(uow: UnitOfWork) -> dict[str, Any]:
            if cmd.victim_id:
                track = uow.get(VictimTrack.id_for(cmd.victim_id), VictimTrack)
                if track is None:
                    raise NotFound(f"no victim {cmd.victim_id}: leave victim_id empty for a "
                                   "new victim")
            else:
                track = VictimTrack.open(new_victim_id, provenance, cmd.occurred_on)
                uow.add(track)
            track.register_signal(
                provenance, cmd.occurred_on, signal_id,
                source_organisation=cmd.source_organisation.value, form=cmd.form.value,
                minor=cmd.minor, nationality_group=cmd.nationality_group.value,
                residence_position=cmd.residence_position.value, region=cmd.region.value,
            )
            return {"victim_id": track.victim_id, "signal_id": signal_id}

        return await self.gateway.submit(cmd, provenance, handle)

    async def on_victim(self, cmd: c.VictimCommand, provenance: Provenance,
                        act: Callable[[VictimTrack], None]) -> dict[str, Any]:
        def handle(uow: UnitOfWork) -> dict[str, Any]:
            act(_existing(uow, cmd.victim_id))
            return {}

        return await self.gateway.submit(cmd, provenance, handle)

    async def execute(self, cmd: c.VictimCommand, provenance: Provenance) -> dict[str, Any]:
        """Every command about an existing victim."""
        p, d = provenance, cmd.occurred_on
        actions: dict[type[c.VictimCommand], Callable[[VictimTrack], None]] = {
            c.HoldInformativeInterview: lambda t: t.hold_informative_interview(p, d),
            c.OfferReflectionPeriod: lambda t: t.offer_reflection_period(p, d, self.reflection),
            c.DeclineReflectionPeriod: lambda t: t.decline_reflection_period(p, d),
            c.MarkVictimOutOfSight: lambda t: t.mark_out_of_sight(p, d),
        }
        if isinstance(cmd, c.FileReport):
            return await self.on_victim(cmd, p, lambda t: t.file_report(
                p, d, cmd.case_id, cmd.under_number, cmd.capacity.value))
        if isinstance(cmd, c.DeclareCooperation):
            return await self.on_victim(cmd, p, lambda t: t.declare_cooperation(
                p, d, cmd.case_id, cmd.capacity.value))
        if isinstance(cmd, c.RecordCooperationImpossible):
            reason = cmd.reason.value
            return await self.on_victim(
                cmd, p, lambda t: t.record_cooperation_impossible(p, d, reason))
        if isinstance(cmd, c.WithdrawReport):
            return await self.on_victim(cmd, p, lambda t: t.withdraw_report(p, d, cmd.case_id))
        if isinstance(cmd, c.CompleteIndividualAssessment):
            measures = [m.value for m in cmd.measures]
            return await self.on_victim(
                cmd, p, lambda t: t.complete_individual_assessment(p, d, measures))
        if isinstance(cmd, c.EnrolInPilot):
            return await self.on_victim(cmd, p, lambda t: t.enrol_in_pilot(p, d, cmd.cohort))
        if isinstance(cmd, c.RecordPilotIntervention):
            kind = cmd.intervention.value
            return await self.on_victim(cmd, p, lambda t: t.record_pilot_intervention(p, d, kind))
        return await self.on_victim(cmd, p, actions[type(cmd)])

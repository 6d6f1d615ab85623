"""A second organisation's signal about a victim the feeder sends once intake holds the
episode's match token: after the answer to the episode's first signal, not only after the
victim's pseudonym (issued an episode earlier for a victim who comes back)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2

from chainsim.feeder import Endpoints, Feeder
from chainsim.generator import match_token
from chainsim.plan import MATCHED, Actor, PlannedCommand
from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2
from ketenzicht_common.processes import NatsServer

NOWHERE = Endpoints(
    "127.0.0.1:1",
    "127.0.0.1:1",
    "127.0.0.1:1",
    "127.0.0.1:1",
    NatsServer(Path("/nonexistent/nats"), port=1),
)


class SlowPoliceFeeder(Feeder):
    """A feeder whose intake answers the police's commands a little later than the KMar's, as
    two streams do: it notes when each command is sent and when it is answered."""

    def __init__(self, refusing: str = "") -> None:
        super().__init__(NOWHERE, today=date(2026, 12, 1), seed=7)
        self.timeline: list[tuple[str, str]] = []
        self.refusing = refusing
        """The signal intake refuses (as a token in use), if any."""

    async def _send(
        self, service: str, actor: Actor, oneof: str, fields: dict[str, Any]
    ) -> asyncio.Future[Any]:
        assert (service, oneof) == ("intake", "register_signal")
        name = str(fields["signal_id"])
        self.timeline.append(("sent", name))
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        async def answered() -> None:
            await asyncio.sleep(0.05 if actor is Actor.POLICE else 0.0)
            self.timeline.append(("answered", name))
            if name == self.refusing:
                answer.set_result(intake_pb2.IntakeCommandResult(error=token_in_use()))
                return
            answer.set_result(
                intake_pb2.IntakeCommandResult(
                    signal=intake_pb2.RegisterSignalResponse(
                        victim_id=str(fields["victim_id"]) or "V-1",
                        signal_id=f"S-{name}",
                        ack=common_pb2.CommandAck(event_ids=[f"e-{name}"]),
                    )
                )
            )

        self._track(answered())
        return answer


def token_in_use() -> status_pb2.Status:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.PreconditionFailure(
            violations=[error_details_pb2.PreconditionFailure.Violation(type="MATCH_TOKEN_IN_USE")]
        )
    )
    return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, details=[detail])


def signal(actor: Actor, day: date, name: str, **extra: Any) -> PlannedCommand:
    return PlannedCommand(
        actor, "SignalRegistered", day, day, {"victim_id": "v-1", "signal_id": name, **extra}
    )


async def test_a_matched_signal_about_a_returning_victim_waits_for_the_episodes_first() -> None:
    token = {"match_token": match_token("v-1")}
    plan = [
        signal(Actor.POLICE, date(2021, 1, 4), "first"),  # no other organisation saw them
        # They come back; the KMar sees them too, the same day.
        signal(Actor.POLICE, date(2021, 9, 1), "again", **token),
        signal(Actor.KMAR, date(2021, 9, 1), "kmar", **token, **{MATCHED: True}),
    ]
    player = SlowPoliceFeeder()
    report = await player.feed(plan)
    assert report.accepted == 3
    assert not report.refused
    assert not report.skipped
    # Sent before the police's signal booked the token, the KMar's would open another victim
    # for it, and intake would refuse the police's as MATCH_TOKEN_IN_USE.
    timeline = player.timeline
    assert timeline.index(("sent", "kmar")) > timeline.index(("answered", "again"))


async def test_a_refusal_is_counted_by_command_and_reason_and_what_waits_on_it_is_skipped() -> None:
    token = {"match_token": match_token("v-1")}
    plan = [
        signal(Actor.POLICE, date(2021, 1, 4), "first"),
        signal(Actor.POLICE, date(2021, 9, 1), "again", **token),
        signal(Actor.KMAR, date(2021, 9, 1), "kmar", **token, **{MATCHED: True}),
    ]
    report = await SlowPoliceFeeder(refusing="again").feed(plan)
    assert report.refused == {"SignalRegistered FAILED_PRECONDITION MATCH_TOKEN_IN_USE": 1}
    # The KMar's signal would only open a victim intake does not know as the same person.
    assert report.skipped == {"signal never registered": 1}
    assert report.accepted == 1

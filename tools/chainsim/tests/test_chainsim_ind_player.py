"""The IND as the feeder plays it: one decision per trigger, the same every run, on its day."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from chainsim.feeder import Endpoints, Feeder, IndDecision
from chainsim.plan import Actor, PlannedCommand
from chainsim.retractions import Registration
from ketenzicht.common.v1 import common_pb2
from ketenzicht.intake.v1 import intake_pb2
from ketenzicht.residence.v1 import residence_pb2
from ketenzicht_common.clock import ScenarioClock
from ketenzicht_common.processes import NatsServer

NOWHERE = Endpoints(
    "127.0.0.1:1",
    "127.0.0.1:1",
    "127.0.0.1:1",
    "127.0.0.1:1",
    NatsServer(Path("/nonexistent/nats"), port=1),
)


def trigger(kind: str, number: int, **fields: Any) -> dict[str, Any]:
    """A trigger as residence publishes it (its JSON body)."""
    key = f"{kind}|victim-{number}|case-{number}|2021-03-{1 + number % 28:02d}"
    return {
        "occurred_on": "2021-03-01",
        "victim_id": f"victim-{number}",
        "trigger_id": f"00000000-0000-0000-0000-{number:012d}",
        "trigger_key": key,
        "case_id": f"case-{number}",
        "rule": "R5",
        "rule_version": "1",
        "based_on": [],
        "reason": "test",
    } | fields


def application(number: int) -> dict[str, Any]:
    return trigger("TemporaryPermitApplicationIndicated", number, application_date="2021-02-20")


def assessment(number: int) -> dict[str, Any]:
    return trigger("NonTemporaryAssessmentRequired", number)


def feeder(seed: int = 7, **options: Any) -> Feeder:
    return Feeder(NOWHERE, today=date(2026, 12, 1), seed=seed, **options)


def decided(player: Feeder, kind: str, body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    decision = player.ind_decision(kind, body)
    assert decision is not None
    return decision.command, dict(decision.fields)


def test_two_players_with_the_same_seed_decide_every_trigger_the_same_in_any_order() -> None:
    bodies = [("TemporaryPermitApplicationIndicated", application(n)) for n in range(40)] + [
        ("NonTemporaryAssessmentRequired", assessment(n)) for n in range(40, 80)
    ]
    first, second = feeder(), feeder()
    in_order = [decided(first, kind, body) for kind, body in bodies]
    # The second player gets them in another order, and some twice: no draw depends on that.
    backwards = {body["trigger_id"]: decided(second, kind, body) for kind, body in bodies[::-1]}
    again = [decided(second, kind, body) for kind, body in bodies]
    assert in_order == [backwards[body["trigger_id"]] for _, body in bodies] == again


def test_the_decision_differs_from_trigger_to_trigger_and_with_the_seed() -> None:
    player = feeder()
    days = {
        decided(player, "TemporaryPermitApplicationIndicated", application(n))[1]["occurred_on"]
        for n in range(60)
    }
    assert len(days) > 10  # 7 to 42 days after the application, drawn per trigger
    assert all(date(2021, 2, 27) <= day <= date(2021, 4, 3) for day in days)
    outcomes = [
        decided(player, "NonTemporaryAssessmentRequired", assessment(n))[0] for n in range(100)
    ]
    assert 20 <= outcomes.count("grant_non_temporary_permit") <= 60  # about 40 %
    assert "refuse_non_temporary_permit" in outcomes
    other_seed = feeder(seed=8)
    assert [
        decided(other_seed, "NonTemporaryAssessmentRequired", assessment(n))[0] for n in range(100)
    ] != outcomes


def test_the_command_id_is_derived_from_the_trigger_id() -> None:
    player = feeder()
    body = application(3)
    decision = player.ind_decision("TemporaryPermitApplicationIndicated", body)
    assert decision is not None
    assert decision.command_id == f"chainsim-ind-7-{body['trigger_id']}"
    assert decision.trigger_id == body["trigger_id"]
    # Decided again (a retry, another run): the same id, so residence answers it from its log.
    again = feeder().ind_decision("TemporaryPermitApplicationIndicated", body)
    assert again is not None
    assert again.command_id == decision.command_id
    other = player.ind_decision("TemporaryPermitApplicationIndicated", application(4))
    assert other is not None
    assert other.command_id != decision.command_id


def test_dates_follow_from_the_trigger_and_are_not_capped_by_today() -> None:
    player = Feeder(NOWHERE, today=date(2020, 1, 1), seed=7)
    body = trigger("NonTemporaryPermitIndicated", 1, occurred_on="2024-05-01", ground="THREE_YEARS")
    command, fields = decided(player, "NonTemporaryPermitIndicated", body)
    assert command == "grant_non_temporary_permit"
    assert fields["occurred_on"] == date(2024, 6, 30)  # 60 days after it fired, not 2020


class RecordingFeeder(Feeder):
    """A feeder whose residence stream only records: what the IND sends, and when."""

    def __init__(self, **options: Any) -> None:
        super().__init__(NOWHERE, today=date(2026, 12, 1), seed=7, **options)
        self.sent: list[tuple[date, str, dict[str, Any]]] = []

    async def _send(
        self, service: str, actor: Actor, oneof: str, fields: dict[str, Any]
    ) -> asyncio.Future[Any]:
        assert (service, actor) == ("residence", Actor.IND)
        self.sent.append((self.present, oneof, fields))
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        answer.set_result(
            residence_pb2.ResidenceCommandResult(
                ack=common_pb2.CommandAck(event_ids=[f"event-of-{fields['command_id']}"])
            )
        )
        return answer


async def test_a_decision_dated_after_the_present_waits_for_its_day(tmp_path: Path) -> None:
    player = RecordingFeeder(clock_file=tmp_path / "clock")
    await player.advance(date(2021, 3, 1))
    body = trigger("TemporaryPermitBasisEnded", 1, basis_ended_on="2021-02-20")
    await player.receive("TemporaryPermitBasisEnded", body)  # decided 14 days after it fired
    assert player.sent == []
    assert player.report.ind_held == 1
    await player.advance(date(2021, 3, 14))
    assert player.sent == []
    await player.advance(date(2021, 3, 16))  # the feed skipped the 15th: sent the day after
    [(sent_on, command, fields)] = player.sent
    assert (sent_on, command, fields["occurred_on"]) == (
        date(2021, 3, 16),
        "end_temporary_permit",
        date(2021, 3, 15),
    )
    assert player.report.ind_held == 0
    await player.settled()
    # Its stored event is known as an IND decision, for the causes of retractions.
    assert player.registrations[f"event-of-{fields['command_id']}"] == Registration(
        "residence", date(2021, 3, 15), date(2021, 3, 16)
    )


async def test_a_decision_due_by_the_present_is_sent_at_once(tmp_path: Path) -> None:
    player = RecordingFeeder(clock_file=tmp_path / "clock")
    await player.advance(date(2021, 6, 1))
    await player.receive("TemporaryPermitApplicationIndicated", application(1))
    assert [command for _, command, _ in player.sent] == ["grant_temporary_permit"]


async def test_the_ind_acts_once_per_trigger_id_and_only_counts_retractions(tmp_path: Path) -> None:
    player = RecordingFeeder(clock_file=tmp_path / "clock")
    await player.advance(date(2021, 6, 1))
    body = application(1)
    await player.receive("TemporaryPermitApplicationIndicated", body)
    await player.receive("TemporaryPermitApplicationIndicated", body)  # delivered again
    retraction = trigger(
        "TriggerRetracted",
        2,
        retracted_trigger_id=body["trigger_id"],
        caused_by=["event-a", "event-b"],
    )
    await player.receive("TriggerRetracted", retraction)
    await player.receive("TriggerRetracted", retraction)
    await player.receive("TriggerRetracted", trigger("TriggerRetracted", 3))  # no caused_by
    assert len(player.sent) == 1
    assert player.report.triggers == {
        "TemporaryPermitApplicationIndicated": 1,
        "TriggerRetracted": 2,
    }
    assert player.retracted == [["event-a", "event-b"], []]
    summary = player.retraction_summary()
    assert (summary.triggers, summary.retractions) == (3, 2)


async def test_without_a_scenario_clock_the_present_is_today() -> None:
    player = RecordingFeeder()
    await player.advance(date(2030, 1, 1))  # nothing to move
    assert player.present == date(2026, 12, 1)
    late = trigger("NonTemporaryPermitIndicated", 1, occurred_on="2026-11-01")
    await player.receive("NonTemporaryPermitIndicated", late)  # decided on 31 December
    assert player.sent == []
    assert player.report.ind_held == 1


def test_the_feeder_keeps_how_late_and_ind_facts_were_registered() -> None:
    player = feeder()
    late = Registration("prosecution", date(2021, 1, 1), date(2021, 1, 8))
    on_time = Registration("prosecution", date(2021, 1, 1), date(2021, 1, 7))
    ind = Registration("residence", date(2021, 1, 1), date(2021, 1, 1))
    assert player._count(
        residence_pb2.ResidenceCommandResult(ack=common_pb2.CommandAck(event_ids=["e-late"])), late
    )
    player._count(
        residence_pb2.ResidenceCommandResult(ack=common_pb2.CommandAck(event_ids=["e-on-time"])),
        on_time,
    )
    player._count(
        residence_pb2.ResidenceCommandResult(ack=common_pb2.CommandAck(event_ids=["e-ind"])), ind
    )
    signal = intake_pb2.IntakeCommandResult(
        signal=intake_pb2.RegisterSignalResponse(
            victim_id="v", ack=common_pb2.CommandAck(event_ids=["e-signal"])
        )
    )
    player._count(signal, Registration("intake", date(2020, 1, 1), date(2021, 1, 1)))
    assert player.registrations == {
        "e-late": late,
        "e-ind": ind,
        "e-signal": Registration("intake", date(2020, 1, 1), date(2021, 1, 1)),
    }


class DayRecordingFeeder(Feeder):
    """A feeder whose commands take a while to be answered, and which notes, for every
    command it sends, the day a service would see then."""

    def __init__(self, clock_file: Path, step: int = 1, today: date = date(2026, 12, 1)) -> None:
        super().__init__(NOWHERE, today=today, seed=7, clock_file=clock_file, clock_step_days=step)
        self.service_clock = ScenarioClock(clock_file)  # a service's, with the default re-check
        self.seen: list[tuple[date, date]] = []
        self.answered: list[date] = []
        self.unanswered_when_moving: list[int] = []

    async def _feed_one(self, index: int, command: PlannedCommand) -> None:
        self.seen.append((command.known_on, self.service_clock.today()))

        async def answer() -> None:
            await asyncio.sleep(0.005 * (index % 3))
            self.answered.append(command.known_on)

        self._track(answer())

    async def _set_clock(self, day: date) -> None:
        self.unanswered_when_moving.append(len(self.seen) - len(self.answered))
        await super()._set_clock(day)


def planned(known_on: date, occurred_on: date | None = None) -> PlannedCommand:
    return PlannedCommand(
        Actor.POLICE, "VictimOutOfSight", occurred_on or known_on, known_on, {"victim_id": "v"}
    )


@pytest.mark.parametrize("gap", [1, 3])
async def test_the_feed_moves_the_present_day_by_day_after_each_day_is_answered(
    tmp_path: Path, gap: int
) -> None:
    days = [date(2021, 1, 1) + timedelta(days=gap * n) for n in range(12)]
    plan = [planned(day, day - timedelta(days=n % 2)) for day in days for n in range(4)]
    player = DayRecordingFeeder(tmp_path / "clock")
    report = await player.feed(plan)
    # Every command met a present that was its own day, in every process reading the clock…
    assert all(known_on == present for known_on, present in player.seen)
    # … and the present moved on only once every command before was answered.
    assert player.unanswered_when_moving == [0] * len(days)
    assert report.days == len(days)
    assert player.present == days[-1]


async def test_a_longer_clock_step_waits_less_often_and_runs_ahead_by_less_than_a_step(
    tmp_path: Path,
) -> None:
    days = [date(2021, 1, 1) + timedelta(days=n) for n in range(30)]
    plan = [planned(day) for day in days for _ in range(2)]
    player = DayRecordingFeeder(tmp_path / "clock", step=7, today=date(2021, 1, 27))
    report = await player.feed(plan)
    # 1–7, 8–14, 15–21, 22–27 (not past today), then day by day: 28, 29, 30 lie after today.
    assert report.days == 7
    assert all(
        known_on <= present < known_on + timedelta(days=7) for known_on, present in player.seen
    )
    assert max(
        present for known_on, present in player.seen if known_on <= date(2021, 1, 27)
    ) == date(2021, 1, 27)
    assert player.unanswered_when_moving == [0] * report.days


class TimelineFeeder(DayRecordingFeeder):
    """… which also notes, in order, the facts it feeds and the IND decisions it sends."""

    def __init__(self, clock_file: Path, step: int) -> None:
        super().__init__(clock_file, step)
        self.timeline: list[tuple[str, date]] = []

    async def _feed_one(self, index: int, command: PlannedCommand) -> None:
        self.timeline.append(("fact", command.known_on))
        await super()._feed_one(index, command)

    async def _decide(self, decision: IndDecision) -> None:
        self.timeline.append(("decision", decision.decided_on))


@pytest.mark.parametrize("step", [1, 7])
async def test_held_decisions_go_out_on_their_day_before_the_facts_of_that_day(
    tmp_path: Path, step: int
) -> None:
    player = TimelineFeeder(tmp_path / "clock", step)
    await player.advance(date(2021, 3, 1))
    # Ends on 1 March: the IND ends the permit 14 days later, on 15 March.
    await player.receive(
        "TemporaryPermitBasisEnded",
        trigger("TemporaryPermitBasisEnded", 1, basis_ended_on="2021-03-01"),
    )
    plan = [planned(date(2021, 3, 1) + timedelta(days=n)) for n in range(1, 30)]
    await player.feed(plan)
    at = player.timeline.index(("decision", date(2021, 3, 15)))
    assert player.timeline[at - 1] == ("fact", date(2021, 3, 14))
    assert player.timeline[at + 1] == ("fact", date(2021, 3, 15))

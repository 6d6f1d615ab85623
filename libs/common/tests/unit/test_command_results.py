"""A command's typed result is kept in the command log as the plain record stores have always
held, and a retry is answered from that record with the same typed answer."""

from __future__ import annotations

import json
from datetime import date

from intake.application.intake import SignalRegistered
from ketenzicht_common.commands import CommandResult
from residence.application.residence import Settled, VictimsChanged


def _through_the_store(record: dict[str, object]) -> dict[str, object]:
    # The command log's event is stored as JSON: tuples come back as lists.
    loaded: dict[str, object] = json.loads(json.dumps(record))
    return loaded


def test_a_retry_of_a_signal_answers_the_ids_issued_the_first_time() -> None:
    first = CommandResult(SignalRegistered(victim_id="V-1", signal_id="S-1"), ("e-1", "e-2"))
    record = _through_the_store(first.record())
    assert record == {
        "victim_id": "V-1",
        "signal_id": "S-1",
        "matched": False,
        "event_ids": ["e-1", "e-2"],
    }
    again = CommandResult.replay(SignalRegistered, record)
    assert again == CommandResult(first.answer, first.event_ids, replayed=True)
    # A record stores already hold from before the match token: its retry is still answered.
    old = {"victim_id": "V-1", "signal_id": "S-1", "event_ids": ["e-1", "e-2"]}
    assert CommandResult.replay(SignalRegistered, old) == again


def test_a_command_without_an_answer_records_its_event_ids_only() -> None:
    first = CommandResult(None, ("e-1",))
    assert first.record() == {"event_ids": ["e-1"]}
    assert CommandResult.replay(type(None), first.record()) == CommandResult(
        None, ("e-1",), replayed=True
    )


def test_the_victims_a_decision_changed_are_marked_again_on_a_retry() -> None:
    record = _through_the_store(CommandResult(VictimsChanged(("victim-1",)), ("e-1",)).record())
    assert record == {"victims": ["victim-1"], "event_ids": ["e-1"]}
    assert CommandResult.replay(VictimsChanged, record).answer == VictimsChanged(("victim-1",))


def test_a_settled_victims_next_deadline_is_recorded_as_an_iso_date_or_empty() -> None:
    assert CommandResult(Settled(date(2025, 3, 1))).record() == {
        "next": "2025-03-01",
        "event_ids": [],
    }
    assert CommandResult(Settled()).record() == {"next": "", "event_ids": []}
    assert CommandResult.replay(Settled, {"next": "", "event_ids": []}).answer == Settled()

"""When residence looks at its upstreams: at the moment the first unsettled victim can settle
(its last change + grace), not on a fixed cadence that added up to two periods to a trigger's
delay; and a victim still settles on the same watermark (docs/adr/0029)."""

from __future__ import annotations

import pytest

from residence.application.settling import Settling

STREAMS = ("KETENZICHT_INTAKE", "KETENZICHT_INVESTIGATION")


def caught_up(settling: Settling, at: float) -> None:
    for stream in STREAMS:
        settling.observed(stream, at=at, last_sequence=5, applied=5)


def test_the_next_look_is_when_the_earliest_unsettled_victim_can_settle() -> None:
    settling = Settling(STREAMS, grace_seconds=1.0)
    assert settling.next_due() is None
    settling.changed(["V-b"], 10.4)
    settling.changed(["V-a"], 10.2)
    assert settling.next_due() == 11.2
    # V-a changes again: its earlier moment no longer counts, V-b's is now the first.
    settling.changed(["V-a"], 10.9)
    assert settling.next_due() == 11.4
    caught_up(settling, 11.4)
    ready, covered = settling.ready()
    assert ready == ["V-b"]
    settling.settled(ready, covered)
    assert settling.next_due() == 11.9
    caught_up(settling, 11.9)
    settling.settled(*settling.ready())
    assert settling.next_due() is None


def test_a_victim_settles_on_the_watermark_and_not_on_being_due() -> None:
    settling = Settling(STREAMS, grace_seconds=1.0)
    settling.changed(["V-a"], 5.0)
    # Observed at its due moment, but one stream still has an event in flight: not settled.
    settling.observed(STREAMS[0], at=6.0, last_sequence=9, applied=9)
    settling.observed(STREAMS[1], at=6.0, last_sequence=9, applied=8)
    assert settling.ready()[0] == []
    # The next look finds that moment's content applied: settled, covering the due moment.
    settling.observed(STREAMS[1], at=6.01, last_sequence=10, applied=9)
    assert settling.ready() == (["V-a"], 5.0)


def test_the_settled_victims_come_oldest_change_first_each_once_and_a_few_at_a_time() -> None:
    settling = Settling(STREAMS, grace_seconds=1.0)
    changes = [(f"V-{n:03d}", 1.0 + (n * 37 % 100) / 100) for n in range(100)]
    for victim_id, at in changes:
        settling.changed([victim_id], at)
    # Changed again at a moment no later than its last: one change, whatever the entries.
    settling.changed(["V-007"], 1.0)
    settling.changed(["V-042"], 1.98)
    caught_up(settling, 2.5)  # everything changed by 1.5 has settled
    expected = sorted(
        (max(at, 1.98) if victim_id == "V-042" else at, victim_id) for victim_id, at in changes
    )
    expected = [victim_id for at, victim_id in expected if at <= 1.5]
    batches: list[list[str]] = []
    while True:
        ready, covered = settling.ready(limit=8)
        if not ready:
            break
        assert covered == 1.5
        # Asked again before they are settled: the same victims.
        assert settling.ready(limit=8)[0] == ready
        batches.append(ready)
        settling.settled(ready, covered)
    assert [victim_id for batch in batches for victim_id in batch] == expected
    assert all(len(batch) == 8 for batch in batches[:-1])
    # The rest wait for a watermark past their changes.
    assert settling.unsettled == 100 - len(expected)
    assert settling.next_due() == pytest.approx(1.51 + 1.0)

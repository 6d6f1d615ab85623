"""The monitor's service parts without servers: the live projection's group commit, restore and
rebuild; the snapshot and journal files; the query arguments; the HTTP routing and its token
check; the command line's tables."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from monitor_chain_builders import fixed_chain

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht_common.auth import IdentityRegistry
from ketenzicht_common.clock import FixedClock
from ketenzicht_common.errors import InvalidCommand
from monitor.adapters.consumer import UnreadableEvent, fact_of
from monitor.adapters.grpc_api import lead_time_row
from monitor.adapters.http_api import HttpApi
from monitor.adapters.store import FileProjectionStore
from monitor.application.live import LiveProjection
from monitor.application.queries import MonitorQueries
from monitor.cli import lead_time_lines, print_table
from monitor.domain import AsOf, ChainFact, ChainProjection, FactRecord, lead_time_table

REPO_ROOT = Path(__file__).resolve().parents[4]
AS_OF = AsOf.of(date(2021, 12, 31))
CLOCK = FixedClock(datetime(2022, 1, 3, 9, tzinfo=UTC))


class MemoryStore:
    """A projection store that remembers every call."""

    def __init__(self, loaded: ChainProjection | None = None) -> None:
        self.loaded = loaded
        self.appends: list[list[str]] = []
        self.snapshots: list[tuple[list[str], int]] = []
        self.generation = 0
        self.fail_next_append = False

    def load(self) -> ChainProjection | None:
        return self.loaded

    def append(self, records: Sequence[FactRecord]) -> None:
        if self.fail_next_append:
            self.fail_next_append = False
            raise OSError("disk full")
        self.appends.append([r.event_id for r in records])

    def rotate(self) -> int:
        self.generation += 1
        return self.generation

    def write_snapshot(self, records: Sequence[FactRecord], generation: int) -> None:
        self.snapshots.append((sorted(r.event_id for r in records), generation))

    def close(self) -> None:
        pass


async def test_facts_that_arrive_together_are_journaled_in_one_append() -> None:
    store = MemoryStore()
    live = LiveProjection(store, CLOCK)
    facts = fixed_chain().facts
    await asyncio.gather(*(live.apply(f) for f in facts))
    assert store.appends == [[f.event_id for f in facts]]
    assert len(live) == len(facts)


async def test_a_redelivered_fact_is_not_journaled_again() -> None:
    store = MemoryStore()
    live = LiveProjection(store, CLOCK)
    fact = fixed_chain().facts[0]
    await live.apply(fact)
    await live.apply(fact)
    assert store.appends == [[fact.event_id]]


async def test_a_failed_append_fails_the_delivery_and_is_retried_with_the_next_one() -> None:
    store = MemoryStore()
    live = LiveProjection(store, CLOCK)
    first, second = fixed_chain().facts[:2]
    store.fail_next_append = True
    with pytest.raises(OSError, match="disk full"):
        await live.apply(first)
    # The redelivery finds the fact applied but not yet journaled, and waits for the journal.
    await live.apply(first)
    await live.apply(second)
    assert store.appends == [[first.event_id], [second.event_id]]


async def test_snapshots_are_written_only_when_something_changed() -> None:
    store = MemoryStore()
    live = LiveProjection(store, CLOCK)
    assert not await live.snapshot()
    await live.apply(fixed_chain().facts[0])
    assert await live.snapshot()
    assert not await live.snapshot()
    assert live.last_snapshot_at == CLOCK.now()
    assert store.snapshots == [([fixed_chain().facts[0].event_id], 1)]


async def test_a_rebuild_keeps_facts_that_arrive_while_the_streams_are_replayed() -> None:
    facts = fixed_chain().facts
    stale = ChainProjection()
    stale.apply_all(facts[:3])
    stale.apply(ChainFact("gone-from-the-bus", "intake", "VictimOutOfSight", date(2020, 1, 1),
                          datetime(2020, 1, 2, tzinfo=UTC), {"victim_id": "victim-009"}))
    store = MemoryStore(loaded=stale)
    live = LiveProjection(store, CLOCK)
    late = facts[-1]

    async def replay(apply: Callable[[ChainFact], object]) -> int:
        for fact in facts[:-1]:
            apply(fact)
        await live.apply(late)  # a durable consumer delivers meanwhile
        return len(facts) - 1

    before, after = await live.rebuild(replay)
    assert (before, after) == (4, len(facts))
    assert not live.rebuilding
    assert store.snapshots[-1][0] == sorted(f.event_id for f in facts)
    table = lead_time_table(await live.view(AS_OF))
    expected = ChainProjection()
    expected.apply_all(facts)
    assert table == lead_time_table(expected.view(AS_OF))


async def test_views_follow_new_facts() -> None:
    live = LiveProjection(MemoryStore(), CLOCK)
    facts = fixed_chain().facts
    await live.apply(facts[0])
    first = await live.view(AS_OF)
    assert await live.view(AS_OF) is first
    await live.apply(facts[1])
    assert len((await live.view(AS_OF)).records) == 2


def test_the_journal_and_snapshot_bring_back_the_projection(tmp_path: Path) -> None:
    facts = fixed_chain().facts
    projection = ChainProjection()
    records = [r for f in facts if (r := projection.admit(f)) is not None]
    store = FileProjectionStore(tmp_path)
    assert store.load() is None
    store.append(records[:5])
    generation = store.rotate()
    store.append(records[5:8])
    store.write_snapshot(records[:5], generation)
    store.append(records[8:])
    store.close()
    assert [p.name for p in sorted(tmp_path.glob("journal-*"))] == ["journal-00000002.jsonl"]

    # A crash in the middle of an append leaves a torn last line; it is ignored.
    with (tmp_path / "journal-00000002.jsonl").open("a") as journal:
        journal.write('["torn", "intake"')
    restored = FileProjectionStore(tmp_path).load()
    assert restored is not None
    assert restored.snapshot() == projection.snapshot()


def test_query_arguments_are_checked() -> None:
    queries = MonitorQueries(LiveProjection(MemoryStore(), CLOCK), CLOCK)
    assert queries.as_of("") == AsOf.of(date(2022, 1, 3))
    assert queries.as_of("2021-06-30", "2021-07-01T12:00:00+02:00").known_by == datetime(
        2021, 7, 1, 10, tzinfo=UTC)
    for on, known_by, field in [("30-06-2021", "", "as_of.on"),
                                ("2021-06-30", "2021-07-01T12:00:00", "as_of.known_by")]:
        with pytest.raises(InvalidCommand) as refused:
            queries.as_of(on, known_by)
        assert refused.value.violations[0].field == field
    with pytest.raises(InvalidCommand, match="unknown T9-T0"):
        queries.intervals(["T0-T2", "T9-T0"])
    with pytest.raises(InvalidCommand):
        queries.dimension("shoe_size")
    with pytest.raises(InvalidCommand):
        queries.years([21])


def test_a_message_without_a_json_object_body_is_unreadable() -> None:
    from ketenzicht_contracts.envelope import Envelope

    envelope = Envelope(
        event_id="00000000-0000-4000-8000-000000000001", service="intake",
        event_type="SignalRegistered", version=1, occurred_on=date(2021, 1, 1),
        recorded_at=datetime(2021, 1, 2, tzinfo=UTC),
        aggregate_id="00000000-0000-4000-8000-000000000002", aggregate_version=1,
        organisation="politie", system="police-registration")
    for body in (b"not json", b"[1, 2]"):
        with pytest.raises(UnreadableEvent):
            fact_of(envelope, body)
    assert fact_of(envelope, b'{"victim_id": "victim-001"}').payload == {"victim_id": "victim-001"}


@pytest.fixture
def http() -> HttpApi:
    live = LiveProjection(MemoryStore(), CLOCK)
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    live._projection = projection
    registry = IdentityRegistry.from_file(REPO_ROOT / "deploy/local/identities.toml")
    consumer: Any = type("Consumer", (), {"consuming": True, "services": ("intake",)})()
    return HttpApi(MonitorQueries(live, CLOCK, min_group_size=1), live, consumer, registry,
                   "127.0.0.1:0")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_http_needs_an_analyst_token_for_data_but_not_for_the_page(http: HttpApi) -> None:
    path = "/api/lead-times?as_of=2021-12-31&interval=T2-T3"
    assert (await http.respond("GET", path, {})).status == 401
    assert (await http.respond("GET", path, bearer("local-om-token"))).status == 403
    answer = await http.respond("GET", path, bearer("local-analyst-token"))
    assert answer.status == 200
    rows = json.loads(answer.body)["rows"]
    assert [(r["interval"], r["closed"]) for r in rows] == [("T2-T3", 4)]
    page = await http.respond("GET", "/", {})
    assert page.status == 200
    assert b'src="/dashboard.js"' in page.body
    assert (await http.respond("GET", "/dashboard.js", {})).content_type.startswith(
        "text/javascript")
    assert (await http.respond("POST", path, bearer("local-analyst-token"))).status == 405
    assert (await http.respond("GET", "/api/lead-times?as_of=yesterday",
                               bearer("local-analyst-token"))).status == 400


def test_withheld_figures_stay_unset_in_grpc_and_show_as_a_dash_in_the_table() -> None:
    projection = ChainProjection()
    projection.apply_all(fixed_chain().facts)
    rows = lead_time_table(projection.view(AS_OF))  # the default group size withholds all
    response = pb.GetLeadTimesResponse(rows=[lead_time_row(r) for r in rows])
    assert not response.rows[0].HasField("median_days")
    out = io.StringIO()
    print_table(lead_time_lines(response), out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:3] == ["interval", "units", "closed"]
    assert lines[1].split()[0] == "T0-T2"
    assert lines[1].split()[6] == "-"

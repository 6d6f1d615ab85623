"""The scale run's writer: the events it puts on the streams are what the services publish, so
the consumers' checks take every one of them (a refused event would be a dead letter, and the
run would measure less than it says)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import orjson

from chainsim.generator import generate
from ketenzicht_bench.direct import UPSTREAM, EventWriter, sources
from ketenzicht_common.contract import check_message
from ketenzicht_contracts.envelope import NATS_MSG_ID, stream_for


def test_every_written_event_passes_the_consumers_contract_and_origin_checks() -> None:
    writer = EventWriter(5, sources())
    plan = list(generate(5, date(2019, 1, 1), date(2021, 12, 31), 0.3))
    upstream = [c for c in plan if c.service in UPSTREAM]
    assert len(upstream) < len(plan)  # the IND's decisions are residence's, not written
    ids: Counter[str] = Counter()
    versions: dict[object, int] = {}
    for command in upstream:
        service, subject, headers, body = writer.message(command)
        assert service == command.service
        envelope, _, _ = check_message(stream_for(service), subject, headers, body)
        assert headers == {NATS_MSG_ID: str(envelope.event_id)}
        assert envelope.organisation
        assert envelope.system
        assert envelope.occurred_on == command.occurred_on
        ids[str(envelope.event_id)] += 1
        # Each aggregate's events in order, after its private opening event.
        assert envelope.aggregate_version == versions.get(envelope.aggregate_id, 1) + 1
        versions[envelope.aggregate_id] = envelope.aggregate_version
    assert max(ids.values()) == 1


def test_a_planned_victim_or_case_is_named_by_one_issued_pseudonym_everywhere() -> None:
    writer = EventWriter(5, sources())
    signalled: set[str] = set()
    reports = 0
    for command in generate(5, date(2019, 1, 1), date(2020, 12, 31), 0.3):
        if command.service not in UPSTREAM:
            continue
        data = orjson.loads(writer.message(command)[3])["data"]
        if command.event_type == "SignalRegistered":
            assert re.fullmatch(r"V-[0-9a-f]{20}", data["victim_id"])
            signalled.add(data["victim_id"])
        elif command.event_type == "ReportFiled":
            assert re.fullmatch(r"C-[0-9a-f]{20}", data["case_id"])
            # The report names the victim its signal introduced, under the same pseudonym.
            assert data["victim_id"] in signalled
            reports += 1
    assert reports

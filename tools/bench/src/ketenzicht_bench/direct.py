"""A scenario's upstream events written straight to JetStream, as the services' relays publish
them: the scale run's way to put millions of events on the streams in minutes instead of hours
(issue 16 allows it; through gRPC, 1M events took 36 minutes).

**What is written.** The chainsim generator's plan (`chainsim.generator.generate`: victims,
cases, suspects and their dates as `make run` feeds them), each fact of intake, investigation
and prosecution as the event its service would store and publish for it:

- the payload is the contract model (`PlannedCommand.to_payload`, validated), its JSON as the
  relay writes it; the envelope is `ketenzicht_contracts.envelope.Envelope`, version 2 (the
  CloudEvents document in the body), ``Nats-Msg-Id`` = the event id, on the service's own
  subject ``ketenzicht.<service>.<EventType>`` of its own stream;
- pseudonyms of the shapes ketenzicht issues (``V-``, ``C-``, ``S-`` and 20 hex digits), one
  per planned victim, case, suspect and signal, drawn from the plan's own id (so every fact of a
  victim or case names the same pseudonym, as the feeder's waits for the issued one ensure);
- the aggregate each service keeps the fact in (`ketenzicht_common.domain.stable_id` of the
  victim, the case, the case and suspect), its version counted from 2 (version 1 is the
  aggregate's private opening event, never published), the event id derived from both
  (`event_id_of`, as every service does); ``position`` counts the service's notification log,
  the private openings included; no ``store`` (no store holds these events);
- the organisation and system of the source that states it (`deploy/local/identities.toml`:
  the police, KMar, the Labour Inspectorate, the OM), a command id, and the scenario's present
  of the day the source registers it (noon, Dutch time, as `make run`'s scenario clock) as
  ``time``.

Each service's events are published as that service (its nkey identity and account: only the
owner may publish on its subjects, docs/adr/0019), so the consumers' contract and origin checks
(`ketenzicht_common.contract.check_message`: stream, subject, ``source``) see what a relay sends.

**What is not written.** Residence's stream: its triggers are raised by residence itself from
the upstream (the scale run's residence replay). The plan's IND decisions are residence
commands stored on residence's stream, answers to the triggers (`make run`'s IND player): they
are not residence's upstream, a replay from an emptied store starts without them, and writing
them here would be forging residence's stream. Facts the services' domains would refuse (a
precondition the plan does not meet) are not filtered out: the consumers never see that check.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from uuid import UUID

from nats.aio.client import Client
from nats.js.api import PubAck

from chainsim.feeder import LOCAL_TOKENS
from chainsim.plan import Actor, PlannedCommand
from ketenzicht_common.bus_access import Bus
from ketenzicht_common.clock import noon_on
from ketenzicht_common.domain import event_id_of, stable_id
from ketenzicht_common.testing.fixtures import REPO_ROOT
from ketenzicht_common.testing.jetstream import connect_as
from ketenzicht_contracts.envelope import Envelope, subject_for
from ketenzicht_contracts.events import all_payload_models
from ketenzicht_contracts.events.prosecution import SuspectEvent

UPSTREAM: Final = ("intake", "investigation", "prosecution")
"""The services whose streams are written; residence's is residence's own to write."""
IDENTITIES: Final = REPO_ROOT / "deploy" / "local" / "identities.toml"
IN_FLIGHT: Final = 20_000
"""Publishes awaiting their acknowledgement, per service (nats-py's async publish window)."""

_PREFIX: Final = {"victim_id": "V", "case_id": "C", "suspect_id": "S", "signal_id": "S"}
"""The plan's id fields, and the letter of the pseudonym ketenzicht issues for each."""


def issued(kind: str, planned: str) -> str:
    """The pseudonym standing for a planned id: the shape the service issues (a letter and 20
    hex digits), drawn from the planned id so that every fact naming it names the same one."""
    return f"{kind}-{hashlib.blake2b(planned.encode(), digest_size=10).hexdigest()}"


def sources(path: Path = IDENTITIES) -> dict[Actor, tuple[str, str]]:
    """(organisation, system) of each source the plan names, from the local identities (the
    ones the feeder's tokens log in as)."""
    identities = tomllib.loads(path.read_text())["identity"]
    by_token = {i["token"]: (i["organisation"], i["system"]) for i in identities if "token" in i}
    return {actor: by_token[token] for actor, token in LOCAL_TOKENS.items()}


@dataclass
class Written:
    """What `write_plan` put on the streams."""

    events: Counter[str] = field(default_factory=Counter)
    """Per service."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Planned facts not written, by service: residence's (the IND's decisions)."""
    duplicates: int = 0
    """Publishes JetStream acknowledged as duplicates of an id it held (none expected)."""
    failures: int = 0
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.events.values())


class EventWriter:
    """Turns planned facts into the events their services publish (see the module docstring)."""

    def __init__(self, seed: int, identities: Mapping[Actor, tuple[str, str]]) -> None:
        self.seed = seed
        self.identities = identities
        self._versions: dict[int, int] = {}
        """Each aggregate's last version, by the aggregate id's integer: millions at 10M
        events, kept small (pseudonyms are drawn again for every fact instead of kept)."""
        self._positions: Counter[str] = Counter()
        self._day: date | None = None
        self._present = datetime.min
        self._in_day = 0
        self._commands = 0

    def _fields(self, planned: Mapping[str, Any]) -> dict[str, Any]:
        fields = dict(planned)
        for name, kind in _PREFIX.items():
            if name in fields:
                fields[name] = issued(kind, fields[name])
        if "suspect_ids" in fields:
            fields["suspect_ids"] = [issued("S", s) for s in fields["suspect_ids"]]
        return fields

    def _aggregate(self, service: str, event_type: str, fields: Mapping[str, Any]) -> UUID:
        if service == "intake":
            return stable_id("intake", "victim", fields["victim_id"])
        if service == "investigation":
            return stable_id("investigation", "case", fields["case_id"])
        if event_type in _SUSPECT_EVENTS:
            return stable_id(
                "prosecution", "case", fields["case_id"], "suspect", fields["suspect_id"]
            )
        return stable_id("prosecution", "case", fields["case_id"])

    def message(self, command: PlannedCommand) -> tuple[str, str, dict[str, str], bytes]:
        """(service, subject, headers, body) of the event its service publishes for a fact."""
        service = command.service
        fields = self._fields(command.fields)
        payload = PlannedCommand(
            command.actor, command.event_type, command.occurred_on, command.known_on, fields
        ).to_payload()
        aggregate = self._aggregate(service, command.event_type, fields)
        version = self._versions.get(aggregate.int, 1) + 1
        if version == 2:
            self._positions[service] += 1  # the aggregate's private opening event
        self._versions[aggregate.int] = version
        self._positions[service] += 1
        if command.known_on != self._day:
            self._day, self._present, self._in_day = (
                command.known_on,
                noon_on(command.known_on),
                0,
            )
        self._in_day += 1
        self._commands += 1
        organisation, system = self.identities[command.actor]
        envelope = Envelope(
            event_id=event_id_of(aggregate, version),
            service=service,
            event_type=command.event_type,
            version=payload.VERSION,
            occurred_on=command.occurred_on,
            # The scenario's present on the day the source registers it; a microsecond apart,
            # in the order registered, as the services' stores would tell them apart.
            recorded_at=self._present + timedelta(microseconds=self._in_day),
            aggregate_id=aggregate,
            aggregate_version=version,
            organisation=organisation,
            system=system,
            command_id=f"bench-scale-{self.seed}-{self._commands}",
            position=self._positions[service],
        )
        headers, body = envelope.to_message(payload)
        return service, subject_for(service, command.event_type), headers, body


_SUSPECT_EVENTS: Final = frozenset(
    model.event_type() for model in all_payload_models() if issubclass(model, SuspectEvent)
)
"""Prosecution's facts about one suspect: kept in that suspect's proceedings, the others
(a victim's hearing, a presence assessment) in the case's."""


async def write_plan(
    bus: Bus,
    plan: Iterable[PlannedCommand],
    seed: int,
    *,
    progress_every: int = 0,
) -> Written:
    """Every upstream fact of ``plan`` published on its service's stream, as that service, as
    fast as JetStream acknowledges (``IN_FLIGHT`` publishes pending per service); returns once
    every publish is acknowledged."""
    written = Written()
    writer = EventWriter(seed, sources())
    connections: dict[str, Client] = {s: await connect_as(bus, s) for s in UPSTREAM}
    streams = {
        s: nc.jetstream(publish_async_max_pending=IN_FLIGHT) for s, nc in connections.items()
    }

    def acknowledged(future: asyncio.Future[PubAck]) -> None:
        if future.cancelled() or future.exception() is not None:
            written.failures += 1
        elif future.result().duplicate:
            written.duplicates += 1

    started = time.perf_counter()
    try:
        for command in plan:
            service = command.service
            if service not in streams:
                written.skipped[service] += 1
                continue
            service, subject, headers, body = writer.message(command)
            future = await streams[service].publish_async(subject, body, headers=headers)
            future.add_done_callback(acknowledged)
            written.events[service] += 1
            if progress_every and written.total % progress_every == 0:
                rate = written.total / (time.perf_counter() - started)
                print(f"  written {written.total:,} events ({rate:,.0f}/s)", flush=True)
        for js in streams.values():
            await js.publish_async_completed()
    finally:
        for nc in connections.values():
            await nc.close()
    written.seconds = time.perf_counter() - started
    return written

"""Who may do what on the bus: one table, rendered into nats-server's accounts and permissions.

Every party on the bus has an identity (an nkey: the server holds only its public key) and an
account of its own. A service's streams live in its own account, where nobody else is: a
JetStream request's reply subject is published by the server on the client's behalf, without
the client's publish permissions (nats-server discussion #8924), and a push consumer delivers
wherever its creator said (nats-server #8274), so a party that shares an account with a stream
could land messages on it. Across accounts that cannot happen: whatever the server publishes
for a party lands in that party's own account.

A party reads another's stream only through a `Feed`: a durable consumer the stream's owner
creates (`provision_feeds`) with the configuration written here, which the owner exports to
that reader alone, with the few JetStream API subjects that reading it needs. A reader never
creates or configures a consumer in another account: it subscribes to the consumer's delivery
subject (push) or asks for its next messages (pull), acknowledges, and asks for the consumer's
state; the JetStream API of an owner appears in the reader's account under
``ketenzicht.api.<owner>`` (`api_prefix`), beside the reader's own JetStream.

The permission table in the README is this module's table written out; `server_accounts`
renders it for nats-server, `local_credentials` makes the local profile's identities.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import nats.js.errors
import nkeys
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from ketenzicht_contracts.envelope import stream_for

log = logging.getLogger(__name__)

WRITERS = ("intake", "investigation", "prosecution", "residence")
"""The services that publish events of their own."""
SERVICES = (*WRITERS, "monitor")
ADDRESSEES = ("ind", "police", "om")
"""The organisations residence addresses triggers to; each reads its own feed and nothing else."""
PARTIES = (*SERVICES, *ADDRESSEES)

DEAD_LETTER_STREAM = "KETENZICHT_DEAD_LETTERS"
MAX_DELIVER = 50
ACK_WAIT_SECONDS = 30.0
PULL_MAX_WAITING = 16
PULL_MAX_BATCH = 1000
PULL_MAX_EXPIRES_SECONDS = 60.0


class Bus(Protocol):
    """Where the bus is and how to log in to it as a party: a nats-server the tests started
    (``processes.NatsServer``) or a profile (``stack.Profile``)."""

    def login(self, party: str) -> dict[str, Any]:
        """``nats.connect`` options to connect as ``party``."""
        ...


def trigger_stream_name(addressee: str) -> str:
    return f"KETENZICHT_{addressee.upper()}_TRIGGERS"


OWN_STREAMS: dict[str, tuple[str, ...]] = {
    **{service: (stream_for(service),) for service in WRITERS},
    "residence": (stream_for("residence"), *map(trigger_stream_name, ADDRESSEES)),
}
"""The streams each service creates and alone manages (with its dead letters)."""


@dataclass(frozen=True)
class Feed:
    """A durable consumer on one party's stream through which another party reads it."""

    reader: str
    owner: str
    stream: str
    durable: str
    pull: bool = False
    """Pull (the reader asks for messages at its pace: the addressees) or push (the server
    delivers as soon as an event is stored: the services)."""
    browse: bool = False
    """The reader may also read the stream by sequence and its state (a rebuild, an audit)."""
    max_ack_pending: int = 1000
    replica: int = 1
    """Which replica of the reader reads through it: the monitor runs as several active
    replicas, each with feeds of its own (`monitor_replicas`), so each sees every event."""

    @property
    def deliver_subject(self) -> str:
        """Where a push feed's consumer delivers, in the owner's account (outside every
        stream), exported to the reader alone."""
        return f"ketenzicht.deliver.{self.owner}.{self.durable}"

    @property
    def ack_subjects(self) -> str:
        return f"$JS.ACK.{self.stream}.{self.durable}.>"

    def consumer_config(self, max_deliver: int = MAX_DELIVER) -> ConsumerConfig:
        config = ConsumerConfig(
            durable_name=self.durable,
            deliver_subject=None if self.pull else self.deliver_subject,
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            max_deliver=max_deliver,
            ack_wait=ACK_WAIT_SECONDS,
            max_ack_pending=self.max_ack_pending,
        )
        if self.pull:
            # An addressee's trigger is never given up on (no one would keep its dead letter):
            # it comes again after each ack wait until the addressee's system acknowledges it.
            config.max_deliver = -1
            # An addressee's requests are bounded: a few waiting at once, a batch and a wait of
            # sensible size, so that its reading cannot load the server the others share.
            return BoundedPullConfig(
                **{f.name: getattr(config, f.name) for f in fields(ConsumerConfig)}
                | {"max_waiting": PULL_MAX_WAITING},
                max_batch=PULL_MAX_BATCH,
                max_expires=PULL_MAX_EXPIRES_SECONDS,
            )
        return config


@dataclass
class BoundedPullConfig(ConsumerConfig):
    """A pull consumer's configuration with JetStream's limits on each request, which nats-py's
    `ConsumerConfig` does not carry: the largest batch and the longest wait a request may ask."""

    max_batch: int | None = None
    max_expires: float | None = None
    """Seconds."""

    def as_dict(self) -> dict[str, object]:
        result = super().as_dict()
        if self.max_expires is not None:
            result["max_expires"] = self._to_nanoseconds(self.max_expires)
        return result


MONITOR_REPLICAS_ENV = "KETENZICHT_MONITOR_REPLICAS"
"""How many active replicas of the monitor the bus serves (default 1). The owners' relays make
a set of feeds for each, and the server's accounts export them: every party of a deployment
must agree, so the topology sets it in every service's environment (docs/adr/0034)."""


def monitor_replicas() -> int:
    return max(1, int(os.environ.get(MONITOR_REPLICAS_ENV) or 1))


def monitor_durable(service: str, replica: int = 1) -> str:
    """The monitor's durable on ``service``'s stream: ``monitor-<service>`` for the first
    replica (its name before there were replicas), ``monitor<N>-<service>`` for the others."""
    return f"monitor-{service}" if replica == 1 else f"monitor{replica}-{service}"


def all_feeds(replicas: int | None = None) -> tuple[Feed, ...]:
    """Every feed, with ``replicas`` sets of the monitor's (default: `monitor_replicas`)."""
    count = monitor_replicas() if replicas is None else max(1, replicas)
    return (
        *(
            Feed("residence", service, stream_for(service), f"residence-{service}")
            for service in ("intake", "investigation", "prosecution")
        ),
        *(
            Feed(
                "monitor",
                service,
                stream_for(service),
                monitor_durable(service, replica),
                browse=True,
                max_ack_pending=1024,
                replica=replica,
            )
            for replica in range(1, count + 1)
            for service in WRITERS
        ),
        *(
            Feed(
                addressee,
                "residence",
                trigger_stream_name(addressee),
                addressee,
                pull=True,
                browse=True,
            )
            for addressee in ADDRESSEES
        ),
    )


FEEDS: tuple[Feed, ...] = all_feeds(1)
"""The feeds of a deployment with one monitor (the local profile's)."""


def feeds_of(reader: str, replica: int = 1) -> list[Feed]:
    """The feeds ``reader`` (its replica ``replica``) reads through."""
    return [f for f in all_feeds(replica) if f.reader == reader and f.replica == replica]


def _all_readings(reader: str, replicas: int | None = None) -> list[Feed]:
    """The feeds of every replica of ``reader``: what its identity may use."""
    return [f for f in all_feeds(replicas) if f.reader == reader]


def feed(reader: str, stream: str, replica: int = 1) -> Feed:
    """The feed through which ``reader`` (its replica ``replica``) reads ``stream``, or
    LookupError: it may not."""
    for candidate in feeds_of(reader, replica):
        if candidate.stream == stream:
            return candidate
    raise LookupError(f"{reader} has no feed on {stream}")


def owner_of(stream: str) -> str:
    if stream == DEAD_LETTER_STREAM:
        raise LookupError("every account keeps dead letters of its own")
    for party, streams in OWN_STREAMS.items():
        if stream in streams:
            return party
    raise LookupError(f"no party owns a stream {stream}")


def api_prefix(owner: str) -> str:
    """Where ``owner``'s JetStream API appears in a reader's account."""
    return f"ketenzicht.api.{owner}"


def api_for(me: str, stream: str) -> str:
    """The JetStream API prefix through which ``me`` reaches ``stream``: its own account's
    for its own streams (and dead letters), the owner's exported API for a stream it reads
    through a feed."""
    if stream == DEAD_LETTER_STREAM or stream in OWN_STREAMS.get(me, ()):
        return "$JS.API"
    return api_prefix(owner_of(stream))


def jetstream_for(nc: Client, me: str, stream: str, timeout: float = 5.0) -> JetStreamContext:
    """A JetStream context that reaches ``stream`` as ``me`` (`api_for`)."""
    return nc.jetstream(prefix=api_for(me, stream), timeout=timeout)


async def addressee_feed(nc: Client, addressee: str) -> JetStreamContext.PullSubscription:
    """What an addressee's system (the IND's, the police's, the OM's) reads its triggers
    through: its durable pull consumer on its own trigger stream, in residence's account.
    ``fetch`` and acknowledge; the consumer resumes where the addressee stopped."""
    [reading] = feeds_of(addressee)
    js = nc.jetstream(prefix=api_prefix(reading.owner))
    return await js.pull_subscribe_bind(durable=reading.durable, stream=reading.stream)


def has_jetstream(party: str) -> bool:
    """The services keep streams (at least their dead letters); the addressees only read."""
    return party in SERVICES


def dead_letter_subjects(party: str) -> list[str]:
    """What a party's dead-letter stream keeps: its own records (a relay's skips, what an
    operator did) and JetStream's advisories about the consumers it reads through (imported
    from their owners: the consumers live in the owners' accounts)."""
    subjects = ["ketenzicht.deadletters.>"]
    for reading in _all_readings(party):
        subjects.extend(_advisories(reading))
    return subjects


def _advisories(reading: Feed) -> list[str]:
    return [
        f"$JS.EVENT.ADVISORY.CONSUMER.{kind}.{reading.stream}.{reading.durable}"
        for kind in ("MAX_DELIVERIES", "MSG_TERMINATED")
    ]


async def provision_feeds(
    js: JetStreamContext,
    owner: str,
    max_deliver: int = MAX_DELIVER,
    monitor_replicas: int | None = None,
) -> None:
    """Create (or bring to this module's configuration) the consumers of every feed on
    ``owner``'s streams. Called by the owner's relay once its streams exist (tests lower
    ``max_deliver`` to see a dead letter in seconds)."""
    for reading in all_feeds(monitor_replicas):
        if reading.owner != owner:
            continue
        try:
            await js.add_consumer(reading.stream, config=reading.consumer_config(max_deliver))
        except nats.js.errors.NotFoundError:
            continue  # a stream this owner does not keep (yet): its feed comes with it
        except nats.js.errors.APIError as error:
            # A consumer made by an older configuration may not take every change (JetStream
            # refuses to change a deliver or ack policy, or push to pull): it keeps serving as
            # it is, and the operator is told. Anything else stops the relay, as it should.
            if "can not be updated" not in str(error.description) and (
                "can not update" not in str(error.description)
            ):
                raise
            log.warning(
                "feed %s on %s keeps its former configuration: %s",
                reading.durable,
                reading.stream,
                error.description,
            )


# --- the server's side: accounts, users, permissions, exports and imports -----------------


@dataclass(frozen=True)
class _Export:
    subject: str
    service: bool
    streamed: bool = False


def _feed_exports(reading: Feed) -> list[_Export]:
    stream, durable = reading.stream, reading.durable
    exports = [
        _Export(f"$JS.API.CONSUMER.INFO.{stream}.{durable}", True),
        _Export(reading.ack_subjects, True),
        _Export(f"$JS.API.STREAM.MSG.GET.{stream}", True),
    ]
    if reading.pull:
        exports.append(_Export(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}", True, True))
    else:
        exports.append(_Export(reading.deliver_subject, False))
    if reading.browse:
        exports += [
            _Export(f"$JS.API.STREAM.INFO.{stream}", True),
            _Export(f"$JS.API.DIRECT.GET.{stream}", True, True),
        ]
    if has_jetstream(reading.reader):
        exports += [_Export(subject, False) for subject in _advisories(reading)]
    return exports


def _imported_as(reading: Feed, subject: str) -> str:
    if subject.startswith("$JS.API."):
        return f"{api_prefix(reading.owner)}.{subject.removeprefix('$JS.API.')}"
    return subject


def permissions(party: str, monitor_replicas: int | None = None) -> dict[str, list[str]]:
    """What ``party``'s identity may publish and subscribe to, in its own account."""
    publish: list[str] = []
    subscribe = ["_INBOX.>"]
    if party in OWN_STREAMS:
        publish.append(f"ketenzicht.{party}.>")
    if has_jetstream(party):
        publish += ["ketenzicht.deadletters.>", "$JS.API.INFO"]
        for stream in (*OWN_STREAMS.get(party, ()), DEAD_LETTER_STREAM):
            publish += [
                f"$JS.API.STREAM.*.{stream}",
                f"$JS.API.STREAM.MSG.*.{stream}",
                f"$JS.API.DIRECT.GET.{stream}",
                f"$JS.API.DIRECT.GET.{stream}.>",
                f"$JS.API.CONSUMER.*.{stream}",
                f"$JS.API.CONSUMER.*.{stream}.>",
                f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
                f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
                f"$JS.ACK.{stream}.>",
            ]
    readings = _all_readings(party, monitor_replicas)
    for owner in sorted({reading.owner for reading in readings}):
        publish.append(f"{api_prefix(owner)}.>")
    for reading in readings:
        publish.append(reading.ack_subjects)
        if not reading.pull:
            subscribe += [reading.deliver_subject, f"ketenzicht.replay.{reading.durable}"]
    if any(not reading.pull for reading in readings):
        # `dead_letters replay` asks this party's own consumers, as this party.
        publish.append("ketenzicht.replay.>")
    return {"publish": publish, "subscribe": subscribe}


def server_accounts(public_keys: Mapping[str, str], monitor_replicas: int | None = None) -> str:
    """nats-server's ``accounts`` block for these identities (party → public nkey), with the
    feeds of ``monitor_replicas`` monitors (default: `monitor_replicas`)."""
    exports: dict[str, dict[str, tuple[_Export, set[str]]]] = {p: {} for p in PARTIES}
    imports: dict[str, list[str]] = {p: [] for p in PARTIES}
    for reading in all_feeds(monitor_replicas):
        for export in _feed_exports(reading):
            _, readers = exports[reading.owner].setdefault(export.subject, (export, set()))
            readers.add(reading.reader.upper())
            kind = "service" if export.service else "stream"
            target = _imported_as(reading, export.subject)
            rename = f', to: "{target}"' if target != export.subject else ""
            line = (
                f'{{{kind}: {{account: {reading.owner.upper()}, subject: "{export.subject}"}}'
                f"{rename}}}"
            )
            if line not in imports[reading.reader]:  # the monitor's replicas share some
                imports[reading.reader].append(line)
    lines = [
        "# Generated by ketenzicht_common.bus_access from its table: edit that, not this.",
        "accounts {",
    ]
    for party in PARTIES:
        allowed = permissions(party, monitor_replicas)
        lines += [f"  {party.upper()} {{"]
        if has_jetstream(party):
            lines.append("    jetstream: enabled")
        lines += [
            f'    users: [{{nkey: "{public_keys[party]}", permissions: {{',
            f"      publish: {{allow: {_list(allowed['publish'])}}}",
            f"      subscribe: {{allow: {_list(allowed['subscribe'])}}}",
            '      allow_responses: {max: 1, expires: "1m"}',
            "    }}]",
        ]
        if exports[party]:
            lines.append("    exports: [")
            for export, readers in exports[party].values():
                kind = "service" if export.service else "stream"
                streamed = ", response_type: stream" if export.streamed else ""
                lines.append(
                    f'      {{{kind}: "{export.subject}", '
                    f"accounts: {_list(sorted(readers))}{streamed}}}"
                )
            lines.append("    ]")
        if imports[party]:
            lines.append("    imports: [")
            lines += [f"      {line}" for line in imports[party]]
            lines.append("    ]")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _list(items: Iterable[str]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


def permission_table() -> str:
    """The table above as Markdown, for the README (a test keeps the two the same)."""
    rows = [
        "| party | publishes on | manages (in its own account) | reads, through a consumer "
        "its owner made | dead letters it keeps |",
        "|---|---|---|---|---|",
    ]
    for party in PARTIES:
        publishes = f"`ketenzicht.{party}.>`" if party in OWN_STREAMS else "nothing"
        manages = ", ".join(
            f"`{s}`"
            for s in (
                *OWN_STREAMS.get(party, ()),
                *((DEAD_LETTER_STREAM,) if has_jetstream(party) else ()),
            )
        )
        reads = "; ".join(
            f"`{r.stream}` as `{r.durable}` ({'pull' if r.pull else 'push'}"
            + (", and the stream's state and batches by sequence" if r.browse else "")
            + ")"
            for r in feeds_of(party)
        )
        kept = ("its relay's" if party in WRITERS else "") if has_jetstream(party) else "none"
        if has_jetstream(party) and feeds_of(party):
            kept = " and ".join(filter(None, [kept, "its consumers'"]))
        rows.append(
            f"| {party} | {publishes} | {manages or 'nothing'} | {reads or 'nothing'} | {kept} |"
        )
    return "\n".join(rows) + "\n"


# --- identities ---------------------------------------------------------------------------


def seed_file(directory: Path, party: str) -> Path:
    return directory / f"{party}.nk"


def public_key(seed: Path) -> str:
    key = nkeys.from_seed(seed.read_bytes().strip())
    try:
        return str(key.public_key.decode())
    finally:
        key.wipe()


def local_credentials(directory: Path, monitor_replicas: int | None = None) -> Path:
    """The local profile's identities: an nkey seed per party under ``directory`` (made on
    first use, readable by this user only) and the server's accounts for them; returns the
    accounts file. Nothing secret is printed, and the server's file holds public keys only."""
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    keys: dict[str, str] = {}
    for party in PARTIES:
        path = seed_file(directory, party)
        if not path.exists():
            # Written beside it and renamed: a crash leaves no empty seed behind.
            seed = nkeys.encode_seed(secrets.token_bytes(32), nkeys.PREFIX_BYTE_USER)
            partial = path.with_suffix(".partial")
            partial.unlink(missing_ok=True)
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(seed + b"\n")
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        keys[party] = public_key(path)
    accounts = directory / "accounts.conf"
    accounts.write_text(server_accounts(keys, monitor_replicas))
    return accounts


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ketenzicht_common.bus_access",
        description="Render nats-server's accounts for the parties' public nkeys (production), "
        "or make the local profile's identities.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("accounts", help="print the accounts block")
    render.add_argument(
        "--public-keys",
        type=Path,
        required=True,
        help="a directory with <party>.pub files (one public nkey each)",
    )
    render.add_argument(
        "--monitor-replicas",
        type=int,
        default=None,
        help=f"active replicas of the monitor (default: ${MONITOR_REPLICAS_ENV}, else 1)",
    )
    local = commands.add_parser("local", help="make the identities under a directory")
    local.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    if args.command == "accounts":
        keys = {party: (args.public_keys / f"{party}.pub").read_text().strip() for party in PARTIES}
        sys.stdout.write(server_accounts(keys, args.monitor_replicas))
    else:
        print(local_credentials(args.directory))


if __name__ == "__main__":
    main()

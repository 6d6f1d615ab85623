"""Event store set-up: one eventsourcing Application per service, SQLite or PostgreSQL by config.

Persistence is chosen by configuration, never by code: ``StoreSettings`` turns into the
library's environment variables, prefixed with the application's name so that two
applications never share settings (or a SQLite file) by accident.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

import orjson
from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import BaseAggregate
from eventsourcing.persistence import JSONTranscoder, Recording, Transcoding
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from pydantic import BaseModel

from ketenzicht_contracts.envelope import subject_for
from ketenzicht_contracts.events import EventPayload

from .contract import publishable
from .domain import (
    ChainAggregate,
    ChainCreated,
    Provenance,
    event_facts,
    parse_event_topic,
    stable_id,
)

Held = TypeVar("Held", bound=ChainAggregate)


class DateAsISO(Transcoding):
    """Stores ``datetime.date`` (business dates) as ISO strings."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


_NATIVE = (str, int, bool, type(None))
_TRANSCODED = (date, datetime)


def _orjson_writes_as_json_does(value: Any) -> bool:
    """Whether orjson, passing dates and datetimes to the transcoder, writes ``value`` byte for
    byte as eventsourcing's `JSONTranscoder` (the standard library's json) does.

    Only plain JSON values, dates and datetimes qualify, by exact type: orjson writes a UUID, a
    dataclass or an enum itself (the standard library hands them to the transcoder, or refuses
    them), a NaN as null, and refuses a dict key that is not a string, so any such value
    goes the library's way."""
    kind = type(value)
    if kind in _NATIVE or kind in _TRANSCODED:
        return True
    if kind is dict:
        return all(
            type(key) is str and _orjson_writes_as_json_does(item) for key, item in value.items()
        )
    if kind is list or kind is tuple:
        return all(_orjson_writes_as_json_does(item) for item in value)
    if kind is float:
        return math.isfinite(value)
    return False


class FastJSONTranscoder(JSONTranscoder):
    """eventsourcing's `JSONTranscoder`, its encoding done by orjson where orjson writes the
    same bytes (`_orjson_writes_as_json_does`); the rest, and all decoding, unchanged.

    Stored events read the same whichever wrote them. A save spent a fifth of the command
    writer's time in the standard library's encoder (about 8–16 µs an event against 1–2 here):
    three events a new victim's signal (ADR 0032). Chosen by eventsourcing's own setting
    (``TRANSCODER_TOPIC``, `StoreSettings.eventsourcing_env`)."""

    _OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME

    def encode(self, obj: Any) -> bytes:
        if type(obj) is dict and _orjson_writes_as_json_does(obj):
            return orjson.dumps(obj, default=self._encode_obj, option=self._OPTIONS)
        return super().encode(obj)


class StoreSettings(BaseModel):
    """Where a service keeps its events. SQLite is the embedded default."""

    backend: Literal["sqlite", "postgres", "memory"] = "sqlite"
    sqlite_path: str = ""
    """Empty: ``events.sqlite`` in the service's data directory."""
    postgres_dsn: str = ""
    """``postgresql://user:password@host:port/dbname`` (keyword form also accepted)."""
    postgres_schema: str = ""
    aggregate_cache_size: int = 10_000

    def eventsourcing_env(self) -> dict[str, str]:
        env: dict[str, str] = {
            "AGGREGATE_CACHE_MAXSIZE": str(self.aggregate_cache_size),
            # Only the service's single writer thread saves, so the cache is never stale; and
            # it hands out the cached object itself (no deep copy per command), which is safe
            # because the bus clears the cache whenever a batch fails to save.
            "AGGREGATE_CACHE_FASTFORWARD": "n",
            "DEEPCOPY_FROM_AGGREGATE_CACHE": "n",
            "TRANSCODER_TOPIC": "ketenzicht_common.store:FastJSONTranscoder",
        }
        if self.backend == "memory":
            env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        elif self.backend == "sqlite":
            env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
            env["SQLITE_DBNAME"] = self.sqlite_path
            env["SQLITE_LOCK_TIMEOUT"] = "10"
        else:
            from psycopg.conninfo import conninfo_to_dict

            # PostgreSQL is the store several instances of a service share (docs/adr/0026):
            # another instance may have stored newer events of a cached aggregate, so a cached
            # aggregate is brought up to date (one query) each time it is read.
            env["AGGREGATE_CACHE_FASTFORWARD"] = "y"
            # While PostgreSQL is down a command waits this long for a connection, then is
            # answered UNAVAILABLE (the library's default is 30 s).
            env["POSTGRES_CONNECT_TIMEOUT"] = "5"
            info = conninfo_to_dict(self.postgres_dsn)
            env["PERSISTENCE_MODULE"] = "eventsourcing.postgres"
            env["POSTGRES_DBNAME"] = str(info.get("dbname", "postgres"))
            env["POSTGRES_HOST"] = str(info.get("host", "127.0.0.1"))
            env["POSTGRES_PORT"] = str(info.get("port", "5432"))
            env["POSTGRES_USER"] = str(info.get("user", "postgres"))
            env["POSTGRES_PASSWORD"] = str(info.get("password", ""))
            env["POSTGRES_ENABLE_DB_FUNCTIONS"] = "y"
            if self.postgres_schema:
                env["POSTGRES_SCHEMA"] = self.postgres_schema
        return env


class CommandLog(ChainAggregate):
    """The first result of every client command id, so that a retry stores nothing new.

    Private to the service: its events never leave the store.
    """

    TOPIC = "ketenzicht:CommandLog"

    class Handled(ChainCreated):
        TOPIC = "ketenzicht:CommandLog.Handled.v1"
        fingerprint: str
        result: dict[str, Any]

        def apply(self, aggregate: CommandLog) -> None:
            aggregate.fingerprint = self.fingerprint
            aggregate.result = self.result

    def __init__(self) -> None:
        self.fingerprint = ""
        self.result: dict[str, Any] = {}

    @staticmethod
    def id_for(organisation: str, command_id: str) -> UUID:
        return stable_id("command", organisation, command_id)


class StoreIdentity(ChainAggregate):
    """A random id given to a store when it is created, stamped on every message the relay
    publishes (``ce-store``), so a relay never mistakes another store's stream for its own."""

    TOPIC = "ketenzicht:StoreIdentity"

    class Created(ChainCreated):
        TOPIC = "ketenzicht:StoreIdentity.Created.v1"
        store_id: str

        def apply(self, aggregate: StoreIdentity) -> None:
            aggregate.store_id = self.store_id

    def __init__(self) -> None:
        self.store_id = ""

    ID = stable_id("store-identity")


PRIVATE_TOPICS = frozenset(
    {CommandLog.TOPIC, CommandLog.Handled.TOPIC, StoreIdentity.TOPIC, StoreIdentity.Created.TOPIC}
)


def fingerprint(command: BaseModel) -> str:
    """A digest of a command's content, to tell a retry from a reused command id.

    Fields a command names in ``SOURCE_IDENTIFIERS`` (a parketnummer, a police number) are left
    out: the command log is kept for ever, and an unkeyed digest of a short number next to the
    other fields is the number to anyone who tries them all (ADR 0020). A retry that differs
    only in such a field is taken for the retry it almost always is.
    """
    hidden: frozenset[str] = getattr(type(command), "SOURCE_IDENTIFIERS", frozenset())
    body = json.dumps(
        {
            "type": type(command).__name__,
            **command.model_dump(mode="json", exclude=set(hidden) or None),
        },
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()


Checked = tuple[str, EventPayload] | None
"""The subject and payload a public event was checked to before it was stored; None: private."""
RecordedListener = Callable[[list[Recording[UUID]], list[Checked]], None]


class _CollectedEvents(ProcessingEvent[UUID]):
    """eventsourcing's `ProcessingEvent`, collecting an aggregate's events without asking two
    runtime-checkable protocols first: on Python 3.11 each such isinstance walks the protocol's
    members, and the two cost a seventh of the command writer's time in the unary profile
    (``make bench-profile``). Anything that is not an aggregate goes the library's way."""

    checked: list[Checked]
    """Set by `ChainApplication._record`, one per event in order (unset: none checked)."""

    def collect_events(self, *objs: Any, **kwargs: Any) -> None:
        for obj in objs:
            if isinstance(obj, BaseAggregate):
                self.events.extend(obj.collect_events())
                self.aggregates[obj.id] = obj
            else:
                super().collect_events(obj)
        self.saved_kwargs.update(kwargs)


class ChainApplication(Application[UUID]):
    """Base of every service's application. Subclasses set ``name`` and ``service``."""

    service: str = ""
    log_section_size = 1000

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """`Application.save` (eventsourcing 9.5), its events collected by `_CollectedEvents`."""
        processing_event = _CollectedEvents()
        processing_event.collect_events(*objs, **kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        self.notify(processing_event.events)  # the library's deprecated hook, kept as it is
        if recordings:
            # Told in the saving thread, once the transaction is committed, with the subject
            # and payload each public event was checked to (in the same order; None: private).
            checked = getattr(processing_event, "checked", None) or [None] * len(recordings)
            for listener in self.recorded_listeners:
                listener(recordings, checked)
        return recordings

    def __init__(self, store: StoreSettings) -> None:
        self.recorded_listeners: list[RecordedListener] = []
        """Told of every transaction's recordings once stored (the relay, `save`)."""
        super().__init__(
            env={f"{self.name.upper()}_{k}": v for k, v in store.eventsourcing_env().items()}
            | store.eventsourcing_env()
        )

    def stored(self, aggregate_id: UUID, kind: type[Held]) -> Held | None:
        """The aggregate as stored, or None when there is none (a query's read; a command reads
        through its batch, `bus.UnitOfWork.get`, which has the same shape)."""
        try:
            found: object = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, kind)
        return found

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def public_topics(self) -> list[str]:
        """Topics of the events the relay publishes: every recorded topic but the private ones."""
        return sorted(t for t in self.event_topics() if t not in PRIVATE_TOPICS)

    def publishable(self, event: ChainAggregate.Event) -> tuple[str, EventPayload]:
        """The subject and the payload the relay publishes for an event, or
        `ContractViolation`."""
        service, event_type, version = parse_event_topic(getattr(type(event), "TOPIC", ""))
        try:
            subject = self.subject_of(event)
        except (KeyError, ValueError):
            subject = ""  # a subject the service cannot name is no subject to publish on
        return subject, publishable(service, event_type, version, event_facts(event), subject)

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        # Every public event is checked against its contract before it is stored, so the relay
        # never meets one it cannot publish (it would have to skip it; see relay.py). One that
        # fails raises ContractViolation: nothing of the transaction is stored, and the command
        # bus retries the batch one command at a time, so only the command that caused it fails.
        if not hasattr(self, "_published_topics"):
            self._published_topics = frozenset(self.public_topics())
        checked: list[Checked] = []
        for event in processing_event.events:
            if getattr(type(event), "TOPIC", "") in self._published_topics:
                assert isinstance(event, ChainAggregate.Event)
                checked.append(self.publishable(event))
            else:
                checked.append(None)
        processing_event.checked = checked  # type: ignore[attr-defined]
        return super()._record(processing_event)

    def event_topics(self) -> set[str]:
        raise NotImplementedError

    def store_id(self) -> str:
        """This store's identity, created on first use (call it before the writer starts)."""
        if not getattr(self, "_store_id", ""):
            try:
                identity: object = self.repository.get(StoreIdentity.ID)
            except AggregateNotFoundError:
                import uuid
                from datetime import date

                created: StoreIdentity = StoreIdentity.start(
                    StoreIdentity.ID,
                    StoreIdentity.Created,
                    Provenance("ketenzicht", self.service, "store-identity"),
                    date(1970, 1, 1),
                    store_id=str(uuid.uuid4()),
                )
                self.save(created)
                identity = created
            assert isinstance(identity, StoreIdentity)
            self._store_id = identity.store_id
        return self._store_id

    def subject_of(self, event: ChainAggregate.Event) -> str:
        """Where the relay publishes an event; a service may route some elsewhere."""
        return subject_for(self.service, type(event).__name__)

    def message_id(self, event: ChainAggregate.Event) -> str:
        """``Nats-Msg-Id`` for an event; empty means its event id."""
        return ""

    def stored_aggregates(self, ids: list[UUID]) -> set[UUID]:
        """Which of ``ids`` have events in the store: one query, not one per id."""
        if not ids:
            return set()
        recorder = self.recorder
        table = getattr(recorder, "events_table_name", "")
        if isinstance(recorder, SQLiteApplicationRecorder):
            placeholders = ",".join("?" * len(ids))
            with recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(
                    f"SELECT DISTINCT originator_id FROM {table} "
                    f"WHERE originator_id IN ({placeholders})",
                    [i.hex for i in ids],
                )
                return {UUID(row[0]) for row in cursor.fetchall()}
        if isinstance(recorder, PostgresApplicationRecorder):
            from psycopg.sql import SQL, Identifier

            statement = SQL(
                "SELECT DISTINCT originator_id FROM {schema}.{table} WHERE originator_id = ANY(%s)"
            ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(table))
            with recorder.datastore.get_connection() as connection, connection.cursor() as cursor:
                cursor.execute(statement, [ids])
                return {UUID(str(row["originator_id"])) for row in cursor.fetchall()}
        return {i for i in ids if recorder.select_events(i, limit=1)}

    def max_notification_id(self) -> int:
        return int(self.recorder.max_notification_id() or 0)


def topics_of(*aggregates: type[ChainAggregate]) -> set[str]:
    """The explicit topics of every event class nested in the given aggregate classes."""
    topics: set[str] = set()
    for aggregate in aggregates:
        for value in vars(aggregate).values():
            if isinstance(value, type) and issubclass(value, ChainAggregate.Event):
                topic = getattr(value, "TOPIC", "")
                if topic:
                    topics.add(topic)
    return topics


__all__ = [
    "ChainApplication",
    "CommandLog",
    "DateAsISO",
    "FastJSONTranscoder",
    "StoreSettings",
    "fingerprint",
    "topics_of",
]

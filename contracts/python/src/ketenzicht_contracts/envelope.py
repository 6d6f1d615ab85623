"""The event envelope as it travels on NATS: CloudEvents in structured content mode.

What each field means: docs/domain.md#envelope; why in the body:
docs/adr/0021-cloudevents-envelope-in-the-body.md (it replaced
docs/adr/0002-cloudevents-envelope-in-nats-headers.md).

**Envelope version 2** (what relays publish): the message body is one CloudEvents JSON document
(media type ``application/cloudevents+json``): the attributes, the extension attribute
``ketenzichtenvelope`` = 2, and the event's payload as ``data``. The only header is
``Nats-Msg-Id`` (the event id; a trigger's own id), which JetStream de-duplicates on. Why:
nats-py parses every header of every message in Python, and 15–19 headers cost a reader more
than everything else it does with an event.

**Envelope version 1** (read, never written by a relay): the payload's JSON as the body and the
attributes as ``ce-*`` headers (CloudEvents binary mode). Messages already in the streams, and
streams of older runs, carry it; `Envelope.from_headers` reads it. A message is version 1 when
it carries a ``ce-`` header, else version 2 (`is_header_envelope`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

SPEC_VERSION = "1.0"
TYPE_PREFIX = "nl.ketenzicht."
NATS_MSG_ID = "Nats-Msg-Id"
ENVELOPE_VERSION = 2
"""The version of the envelope relays publish: 2, structured mode (1: ``ce-*`` headers)."""
ENVELOPE_EXTENSION = "ketenzichtenvelope"
"""The CloudEvents extension attribute that states the envelope version in the body."""
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
"""The media type of a version-2 body (NATS messages carry no content-type of their own)."""
DATA_CONTENT_TYPE = "application/json"


def source_for(service: str) -> str:
    """The CloudEvents ``source`` of a service's events: who speaks."""
    return f"/ketenzicht/{service}"


def type_for(service: str, event_type: str) -> str:
    return f"{TYPE_PREFIX}{service}.{event_type}"


def dataschema_for(service: str, event_type: str, version: int) -> str:
    return f"ketenzicht:{service}/{event_type}.v{version}"


@cache
def _names(service: str, event_type: str, version: int) -> tuple[str, str, str]:
    return (
        source_for(service),
        type_for(service, event_type),
        dataschema_for(service, event_type, version),
    )


def is_header_envelope(headers: Mapping[str, str] | None) -> bool:
    """Whether a message carries the version-1 envelope (``ce-*`` headers); else its body is a
    version-2 CloudEvents document."""
    if not headers:
        return False
    return any(name.startswith("ce-") for name in headers)


class MalformedAttribute(ValueError):
    """An envelope attribute is missing or malformed. ``name`` is the attribute's name (a name
    from this module, safe to show); the message never holds its value."""

    def __init__(self, name: str, problem: str = "is malformed") -> None:
        super().__init__(f"{name} {problem}")
        self.name = name
        self.problem = problem


def split_type(ce_type: str) -> tuple[str, str]:
    """(service, event type) of a ketenzicht CloudEvents ``type``, or ValueError."""
    if not ce_type.startswith(TYPE_PREFIX):
        raise ValueError("not a ketenzicht event type")
    service, _, event_type = ce_type[len(TYPE_PREFIX) :].partition(".")
    if not service or not event_type:
        raise ValueError("not a ketenzicht event type")
    return service, event_type


def read_document(body: bytes) -> tuple[dict[str, Any], Any]:
    """The attributes (unchecked: what the body claims) and the ``data`` of a version-2 body,
    parsed only; or `MalformedAttribute` for a body that is no JSON object or has no ``data``.
    For readers that look at a claim before trusting it (a relay's resume, a dead letter's
    listing); a consumer reads a body with `Envelope.from_body`."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedAttribute("the body", "is not JSON") from None
    if not isinstance(document, dict):
        raise MalformedAttribute("the body", "is not a JSON object")
    if "data" not in document:
        raise MalformedAttribute("data", "is missing")
    return document, document["data"]


def subject_for(service: str, event_type: str) -> str:
    """``ketenzicht.<service>.<EventType>``: one subject per service and event type."""
    return f"ketenzicht.{service}.{event_type}"


def stream_for(service: str) -> str:
    """One JetStream stream per service, holding ``ketenzicht.<service>.>``."""
    return f"KETENZICHT_{service.upper()}"


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True)

    event_id: UUID
    service: str
    event_type: str
    version: int
    occurred_on: date
    recorded_at: datetime
    aggregate_id: UUID
    aggregate_version: int
    organisation: str
    system: str
    command_id: str = ""
    traceparent: str = ""
    tracestate: str = ""
    """Never filled and never sent: ketenzicht does not carry a caller's tracestate (vendor
    free text). Kept so that readers of ``envelope.tracestate`` still work; always ""."""
    position: int = 0
    """The event's place in its service's notification log (the relay's tracking position)."""
    store: str = ""
    """The identity of the store the event was published from (the relay's bookkeeping)."""
    message_id: str = ""
    """``Nats-Msg-Id`` when it is not the event id: a trigger goes out under its own stable id."""

    @property
    def subject(self) -> str:
        return subject_for(self.service, self.event_type)

    def attributes(self) -> dict[str, Any]:
        """The CloudEvents attributes of a version-2 body (everything but ``data``), as orjson
        writes them: ids, the date and the time as objects."""
        source, ce_type, dataschema = _names(self.service, self.event_type, self.version)
        # UUIDs, the date and the time as objects: orjson writes them (as str() and
        # isoformat() would) faster than Python makes the strings.
        attributes: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.event_id,
            "source": source,
            "type": ce_type,
            "subject": self.aggregate_id,
            "time": self.recorded_at,
            "datacontenttype": DATA_CONTENT_TYPE,
            "dataschema": dataschema,
            ENVELOPE_EXTENSION: ENVELOPE_VERSION,
            "schemaversion": self.version,
            "occurredon": self.occurred_on,
            "aggregateversion": self.aggregate_version,
            "organisation": self.organisation,
            "system": self.system,
            "position": self.position,
        }
        if self.store:
            attributes["store"] = self.store
        if self.command_id:
            attributes["commandid"] = self.command_id
        if self.traceparent:
            # CloudEvents' distributed-tracing extension; ``tracestate`` is never sent.
            attributes["traceparent"] = self.traceparent
        return attributes

    def to_message(self, data: BaseModel | bytes) -> tuple[dict[str, str], bytes]:
        """The headers and body of this event as relays publish it (envelope version 2):
        ``Nats-Msg-Id`` alone, and the CloudEvents document with ``data`` = the payload's JSON
        (a payload model, or its JSON already serialised)."""
        data_json = data if isinstance(data, bytes) else data.__pydantic_serializer__.to_json(data)
        # The payload's JSON is spliced in, not parsed and dumped again.
        body = b"".join((orjson.dumps(self.attributes())[:-1], b',"data":', data_json, b"}"))
        return {NATS_MSG_ID: self.message_id or str(self.event_id)}, body

    @classmethod
    def from_body(cls, body: bytes, message_id: str = "") -> tuple[Envelope, Any]:
        """The envelope and the ``data`` of a version-2 body, or `MalformedAttribute` naming
        the first attribute that is missing or wrong (never its value). ``message_id``: the
        message's ``Nats-Msg-Id``. Checks what the attributes say of themselves (their types;
        source, data schema and content type agreeing with the type); whether the type is one
        the contracts know, and the route, are the consumer's check. One strict pass of
        pydantic over the JSON: what a relay writes it always accepts."""
        try:
            document = _DOCUMENT.validate_json(body, strict=True)
        except ValidationError as error:
            raise _malformed(error) from None
        if document.specversion != SPEC_VERSION:
            raise MalformedAttribute("specversion", "is not CloudEvents 1.0")
        if document.ketenzichtenvelope != ENVELOPE_VERSION:
            raise MalformedAttribute(ENVELOPE_EXTENSION, "is not an envelope version read here")
        try:
            service, event_type = split_type(document.type)
        except ValueError:
            raise MalformedAttribute("type", "is not a ketenzicht event type") from None
        version = document.schemaversion
        source, _, dataschema = _names(service, event_type, version)
        if document.source != source:
            raise MalformedAttribute("source", "is not the source of the type's service")
        if document.datacontenttype != DATA_CONTENT_TYPE:
            raise MalformedAttribute("datacontenttype", "is not application/json")
        if document.dataschema != dataschema:
            raise MalformedAttribute("dataschema", "is not the type's schema at its version")
        # Every value was checked, strictly and as the type the envelope has, by the pass over
        # the JSON above: built without a second validation of the same values.
        envelope = cls.model_construct(
            event_id=document.id,
            service=service,
            event_type=event_type,
            version=version,
            occurred_on=document.occurredon,
            recorded_at=document.time,
            aggregate_id=document.subject,
            aggregate_version=document.aggregateversion,
            organisation=document.organisation,
            system=document.system,
            command_id=document.commandid,
            traceparent=document.traceparent,
            position=document.position,
            store=document.store,
            message_id=message_id if message_id != str(document.id) else "",
        )
        return envelope, document.data

    def to_headers(self) -> dict[str, str]:
        """The version-1 envelope (``ce-*`` headers; the body is then the payload's JSON).
        Never published by a relay any more: for reading old messages' layout, and for tests
        that put an old message on the bus."""
        headers = {
            NATS_MSG_ID: self.message_id or str(self.event_id),
            "ce-specversion": SPEC_VERSION,
            "ce-id": str(self.event_id),
            "ce-type": f"{TYPE_PREFIX}{self.service}.{self.event_type}",
            "ce-source": f"/ketenzicht/{self.service}",
            "ce-subject": str(self.aggregate_id),
            "ce-time": self.recorded_at.isoformat(),
            "ce-datacontenttype": "application/json",
            "ce-dataschema": f"ketenzicht:{self.service}/{self.event_type}.v{self.version}",
            "ce-schemaversion": str(self.version),
            "ce-occurredon": self.occurred_on.isoformat(),
            "ce-aggregateversion": str(self.aggregate_version),
            "ce-organisation": self.organisation,
            "ce-system": self.system,
            "ce-position": str(self.position),
        }
        if self.store:
            headers["ce-store"] = self.store
        if self.command_id:
            headers["ce-commandid"] = self.command_id
        if self.traceparent:
            headers["traceparent"] = self.traceparent
        return headers

    @classmethod
    def from_headers(cls, headers: dict[str, str]) -> Envelope:
        """The envelope of a version-1 message (``ce-*`` headers)."""
        ce_type = headers["ce-type"]
        if not ce_type.startswith(TYPE_PREFIX):
            raise ValueError(f"not a ketenzicht event type: {ce_type}")
        service, _, event_type = ce_type[len(TYPE_PREFIX) :].partition(".")
        if not service or not event_type:
            raise ValueError(f"not a ketenzicht event type: {ce_type}")
        return cls(
            event_id=UUID(headers["ce-id"]),
            service=service,
            event_type=event_type,
            version=int(headers["ce-schemaversion"]),
            occurred_on=date.fromisoformat(headers["ce-occurredon"]),
            recorded_at=datetime.fromisoformat(headers["ce-time"]),
            aggregate_id=UUID(headers["ce-subject"]),
            aggregate_version=int(headers["ce-aggregateversion"]),
            organisation=headers.get("ce-organisation", ""),
            system=headers.get("ce-system", ""),
            command_id=headers.get("ce-commandid", ""),
            traceparent=headers.get("traceparent", ""),
            position=int(headers.get("ce-position", "0")),
            store=headers.get("ce-store", ""),
            message_id=(
                headers.get(NATS_MSG_ID, "")
                if headers.get(NATS_MSG_ID, "") != headers["ce-id"]
                else ""
            ),
        )


class StructuredEnvelope(BaseModel):
    """A version-2 body: one CloudEvents 1.0 document in structured mode
    (``application/cloudevents+json``), the attributes ketenzicht reads and ``data``. Other
    attributes are ignored, as CloudEvents asks of unknown extensions (``tracestate`` among
    them: never read). Its JSON Schema is ``contracts/events/envelope.v2.json``."""

    model_config = ConfigDict(extra="ignore", title="ketenzicht envelope, version 2")

    specversion: str = Field(description="CloudEvents spec version: 1.0")
    id: UUID = Field(description="the event id; also Nats-Msg-Id, unless a trigger's own id")
    source: str = Field(description="/ketenzicht/<service>: the service that states it")
    type: str = Field(description="nl.ketenzicht.<service>.<EventType>")
    subject: UUID = Field(description="the aggregate the event belongs to")
    time: AwareDatetime = Field(description="recorded_at: when the owning service stored it")
    datacontenttype: str = Field(description="application/json")
    dataschema: str = Field(description="ketenzicht:<service>/<EventType>.v<N>: data's schema")
    ketenzichtenvelope: int = Field(description="the envelope version: 2")
    schemaversion: int = Field(description="the payload contract's version N")
    occurredon: date = Field(description="the business date the source states")
    aggregateversion: int = Field(description="the event's version in its aggregate")
    organisation: str = Field("", description="who stated it (an identifier)")
    system: str = Field("", description="the system that sent it (an identifier)")
    position: int = Field(0, description="its place in its service's notification log")
    store: str = Field("", description="the identity of the store it was published from")
    commandid: str = Field("", description="the command that caused it, when there was one")
    traceparent: str = Field("", description="W3C trace context (distributed-tracing extension)")
    data: Any = Field(description="the payload: the JSON of the contract named by dataschema")

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema a reader outside Python can check a body against."""
        schema = cls.model_json_schema()
        properties = schema["properties"]
        properties["specversion"]["const"] = SPEC_VERSION
        properties[ENVELOPE_EXTENSION]["const"] = ENVELOPE_VERSION
        properties["datacontenttype"]["const"] = DATA_CONTENT_TYPE
        properties["type"]["pattern"] = r"^nl\.ketenzicht\.[a-z]+\.[A-Za-z]+$"
        properties["source"]["pattern"] = r"^/ketenzicht/[a-z]+$"
        properties["data"]["type"] = "object"
        schema["$id"] = f"ketenzicht:envelope.v{ENVELOPE_VERSION}"
        schema["x-content-type"] = STRUCTURED_CONTENT_TYPE
        return schema


_DOCUMENT = TypeAdapter(StructuredEnvelope)
"""Built once: the validator of every version-2 body."""


def _malformed(error: ValidationError) -> MalformedAttribute:
    """The attribute a validation error is about, by name only (never the input)."""
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    for problem in problems:
        if problem["type"] == "json_invalid":
            return MalformedAttribute("the body", "is not JSON")
        if not problem["loc"] and problem["type"] in ("model_type", "model_attributes_type"):
            return MalformedAttribute("the body", "is not a JSON object")
    first = problems[0]
    name = str(first["loc"][0]) if first["loc"] else "the body"
    if name not in StructuredEnvelope.model_fields:
        return MalformedAttribute("the body", "is malformed")
    return MalformedAttribute(name, "is missing" if first["type"] == "missing" else "is malformed")

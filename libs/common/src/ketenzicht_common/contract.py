"""What the bus may carry: the check every event passes before a consumer applies it, and the
check every public event passes before a service stores it
(docs/adr/0008-contract-checked-at-both-ends.md).

The bus is a trust boundary. Anything that can publish on NATS can put a message in a service's
stream, so a consumer applies an event only when

* it has a readable ketenzicht envelope, whose provenance fields (organisation, system, command
  id) are identifiers, not text: version 2, the CloudEvents attributes in the body beside the
  payload as ``data`` (structured mode, what relays publish), or version 1, ``ce-*`` headers
  and the payload as the body (messages published before; `ketenzicht_contracts.envelope`);
* it speaks for the service whose stream holds it: its ``source`` is that service's
  (``/ketenzicht/<service>``, read from the body in version 2, from ``ce-source`` in version 1),
  its type one of that service's;
* its type is one the contracts register for the service the envelope names, at that version;
* it was read from that service's stream, on the subject that service publishes that type on
  (``ketenzicht.<service>.<EventType>``; a residence trigger on
  ``ketenzicht.residence.triggers.<addressee>.<EventType>``);
* its body validates against the contract's payload model, in strict mode (pseudonym patterns,
  categories, no unknown fields) and states the same business date as the envelope.

Strict, because a relay publishes ``model_dump_json()`` of the model, which strict validation
always accepts: strictness refuses nothing a relay sends, and what a handler reads from the body
(``ReceivedEvent.data``) is then exactly what was validated (lax mode would let ``"true"`` pass
as a boolean while the handler reads the string).

Anything else raises `Unprocessable`. Its message is the *reason*: a rule code first
(``wrong-subject``, ``breaks-contract``, …), then only what is known to be safe: names from the
contracts (service, type, field, envelope attribute), stream names from the server, ids once
they validated. Never a header or attribute value or a piece of the body that failed: that is
where free text about a person would be. The reason goes into the dead letter (JetStream's
termination advisory) and the log.

Trace context is not a fact: a ``traceparent`` that is not W3C-valid (the gRPC edge's own rule,
``telemetry.valid_traceparent``) is dropped from the envelope rather than refusing the event.
A ``tracestate`` is never read off the bus (``Envelope.from_headers``, ``from_attributes``).

A version-2 body is validated in one strict pass of pydantic (`Envelope.from_body`); the
payload model's strict JSON validation then reads the ``data`` member as orjson writes it back
(well under a µs: pydantic validates JSON strictly only from JSON text, and strict validation
of Python objects would refuse a date written as text).

A reader of many messages (a rebuild) first asks `passes_at_once`: the whole document in one
strict pass over a union of every contract's document (`ketenzicht_contracts.documents`). It
never refuses; whatever it does not plainly accept goes to `check_message`, which alone refuses
and names the reason (docs/adr/0037-one-pass-contract-check.md).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date
from functools import cache, lru_cache
from typing import Any, NamedTuple, get_args
from uuid import UUID

import orjson
from pydantic import StringConstraints, ValidationError

from ketenzicht_contracts.documents import DocumentAttributes, validate_document
from ketenzicht_contracts.envelope import (
    ENVELOPE_VERSION,
    NATS_MSG_ID,
    TYPE_PREFIX,
    Envelope,
    MalformedAttribute,
    is_header_envelope,
    read_document,
    source_for,
    stream_for,
)
from ketenzicht_contracts.events import EventPayload, all_payload_models, payload_model
from ketenzicht_contracts.events.base import Pseudonym

from .telemetry import valid_traceparent

IDENTIFIER = re.compile(r"[A-Za-z0-9_.:@/-]{0,200}")
"""Organisation, system and command id: identifiers as the edge issues them, never text."""
PSEUDONYM = re.compile(get_args(Pseudonym)[1].pattern)

REQUIRED_HEADERS = (
    "ce-type",
    "ce-id",
    "ce-schemaversion",
    "ce-occurredon",
    "ce-time",
    "ce-subject",
    "ce-aggregateversion",
)


class ContractViolation(ValueError):
    """A service was about to store (or its relay to publish) an event that breaks its contract:
    a bug in the service, never the caller's fault. The message names the rule and the fields,
    never their values."""


def publishable(
    service: str, event_type: str, version: int, facts: Mapping[str, Any], subject: str
) -> EventPayload:
    """The payload a relay publishes for an event's facts, on ``subject``; or
    `ContractViolation`. Lax (python) mode: the domain may hold a category as its plain value."""
    try:
        model = contract_of(service, event_type, version)
    except Unprocessable as error:
        raise ContractViolation(str(error)) from None
    try:
        payload = model.model_validate(dict(facts))
    except ValidationError as error:
        raise ContractViolation(
            f"breaks-contract: {service} {event_type}: {problems_of(error, model)}"
        ) from None
    if not model.travels_on(subject):
        raise ContractViolation(
            f"wrong-subject: {service} {event_type} would be published on "
            f"a subject {service} does not publish it on"
        )
    return payload


class Unprocessable(Exception):
    """An event that breaks its contract (or the rules of the bus): terminated at once instead
    of redelivered, and kept as a dead letter. The message is the reason, and must hold no
    content of the event (see the module docstring)."""


@cache
def _contracts() -> dict[str, dict[str, set[int]]]:
    known: dict[str, dict[str, set[int]]] = {}
    for model in all_payload_models():
        known.setdefault(model.SERVICE, {}).setdefault(model.event_type(), set()).add(model.VERSION)
    return known


def contract_of(service: str, event_type: str, version: int) -> type[EventPayload]:
    """The payload model of an event type a service publishes, or `Unprocessable`."""
    try:
        return payload_model(service, event_type, version)
    except KeyError:
        pass
    types = _contracts().get(service)
    if types is None:
        raise Unprocessable("unknown-type: the envelope names no service of the chain") from None
    if event_type not in types:
        raise Unprocessable(
            f"unknown-type: {service} publishes no event type of that name"
        ) from None
    raise Unprocessable(f"unknown-type: {service} {event_type} has no version {version}") from None


def check_route(model: type[EventPayload], stream: str | None, subject: str) -> None:
    """The event came from its service's stream, on a subject its service publishes it on."""
    refused = _route_refusal(model, stream, subject)
    if refused:
        raise Unprocessable(refused)


@lru_cache(maxsize=4096)
def _route_refusal(model: type[EventPayload], stream: str | None, subject: str) -> str:
    """Why the route is wrong ("" when it is right). Cached: a stream carries few distinct
    (type, subject) pairs, and every event of a rebuild asked the same question again; bounded,
    since a subject is whatever a publisher chose."""
    own = stream_for(model.SERVICE)
    if stream != own:
        where = f"stream {stream}" if stream else "a message without stream metadata"
        return f"wrong-stream: {model.SERVICE} {model.event_type()} read from {where}, not {own}"
    if not model.travels_on(subject):
        return (
            f"wrong-subject: {model.SERVICE} {model.event_type()} on a subject "
            f"{model.SERVICE} does not publish it on"
        )
    return ""


def check_payload(model: type[EventPayload], body: bytes, occurred_on: date) -> EventPayload:
    """The body validated against the contract, stating the envelope's business date."""
    try:
        payload = model.model_validate_json(body, strict=True)
    except ValidationError as error:
        raise Unprocessable(
            f"breaks-contract: {model.SERVICE} {model.event_type()}: {problems_of(error, model)}"
        ) from None
    if payload.occurred_on != occurred_on:
        raise Unprocessable(
            f"date-mismatch: {model.SERVICE} {model.event_type()}: the body "
            "and the envelope state different business dates"
        )
    return payload


def problems_of(error: ValidationError, model: type[EventPayload]) -> str:
    """What broke the contract, by field name and error kind only: never the input, and never
    a field name that is not the contract's (the name of an unexpected field is body text)."""
    problems: list[str] = []
    unexpected = 0
    for problem in error.errors(include_url=False, include_context=False, include_input=False):
        location = problem["loc"]
        if problem["type"] == "extra_forbidden" or (
            location and location[0] not in model.model_fields
        ):
            unexpected += 1
            continue
        if problem["type"] == "json_invalid":
            problems.append("the body is not JSON")
            continue
        if problem["type"] in ("model_type", "dict_type"):
            problems.append("the body is not a JSON object")
            continue
        field = ".".join(str(part) for part in location)
        problems.append(
            f"{field} {_KINDS.get(problem['type'], problem['type'])}"
            if field
            else str(problem["type"])
        )
    if unexpected:
        problems.append(f"{unexpected} field(s) the contract does not have")
    return "; ".join(sorted(set(problems))) or "invalid"


_KINDS = {
    "missing": "is missing",
    "string_pattern_mismatch": "is not a pseudonym",
    "string_too_long": "is too long",
    "string_type": "is not a string",
    "bool_type": "is not a boolean",
    "int_type": "is not an integer",
    "date_type": "is not a date",
    "date_from_datetime_parsing": "is not a date",
    "date_parsing": "is not a date",
    "enum": "is not a known category",
    "list_type": "is not a list",
}


def check_envelope(headers: Mapping[str, str] | None) -> Envelope:
    """The version-1 envelope of a message (``ce-*`` headers), or `Unprocessable` naming the
    header that is wrong."""
    if not headers:
        raise Unprocessable("no-envelope: the message has no headers")
    missing = [name for name in REQUIRED_HEADERS if name not in headers]
    if missing:
        raise Unprocessable(f"no-envelope: header {', '.join(missing)} missing")
    if not headers["ce-type"].startswith(TYPE_PREFIX):
        raise Unprocessable("no-envelope: ce-type is not a ketenzicht event type")
    try:
        envelope = Envelope.from_headers(dict(headers))
    except (ValueError, KeyError):
        raise Unprocessable(f"no-envelope: {_unreadable(headers)}") from None
    if "ce-source" in headers and headers["ce-source"] != source_for(envelope.service):
        raise Unprocessable(f"wrong-source: {_not_its_source(envelope.service)}")
    return _provenance_checked(envelope)


_COUNTERS = {
    "version": "schemaversion",
    "aggregate_version": "aggregateversion",
    "position": "position",
}
"""The envelope's integers, and the attribute (``ce-`` header) each is read from."""


def _not_its_source(service: str) -> str:
    return f"the event's source is not {source_for(service)}, the service its type names"


STORABLE = range(0, 2**63)
"""What an envelope's counters may be: a store (SQLite, PostgreSQL ``bigint``) and orjson hold
64-bit integers, and a larger one would fail every delivery instead of being refused once."""


def _provenance_checked(envelope: Envelope) -> Envelope:
    for name in ("organisation", "system", "command_id"):
        if not IDENTIFIER.fullmatch(getattr(envelope, name)):
            raise Unprocessable(f"envelope-text: {name} is not an identifier")
    for name, attribute in _COUNTERS.items():
        if getattr(envelope, name) not in STORABLE:
            raise Unprocessable(f"no-envelope: {attribute} is out of range")
    try:
        # An offset can carry a valid time past year 9999 in UTC, where the monitor keeps it
        # (its audit trail of the victim then failed on every read). Naive: UTC, as read.
        recorded = envelope.recorded_at
        (recorded if recorded.tzinfo else recorded.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        raise Unprocessable("no-envelope: time is out of range") from None
    if envelope.traceparent and not valid_traceparent(envelope.traceparent):
        return envelope.model_copy(update={"traceparent": ""})
    return envelope


def read_envelope(headers: Mapping[str, str] | None, body: bytes) -> tuple[Envelope, bytes]:
    """The envelope of a message of either version and its payload's JSON, or `Unprocessable`
    naming the header or body attribute that is wrong (never its value)."""
    if is_header_envelope(headers):
        return check_envelope(headers), body
    try:
        envelope, data = Envelope.from_body(body, (headers or {}).get(NATS_MSG_ID, ""))
    except MalformedAttribute as error:
        if error.name == "source":
            raise Unprocessable(
                "wrong-source: the event's source is not that of the service its type names"
            ) from None
        where = error.name if error.name == "the body" else f"attribute {error.name}"
        raise Unprocessable(f"no-envelope: {where} {error.problem}") from None
    envelope = _provenance_checked(envelope)
    try:
        return envelope, orjson.dumps(data)
    except orjson.JSONEncodeError:
        # Valid JSON that orjson cannot write back (an integer beyond 64 bits): no contract
        # holds such a number. Not its service's name: the type is not yet known to be one.
        raise Unprocessable("breaks-contract: the body holds a number beyond 64 bits") from None


def _unreadable(headers: Mapping[str, str]) -> str:
    """Which header keeps the envelope from being read (named, its value never shown)."""
    parsers: dict[str, Any] = {
        "ce-id": UUID,
        "ce-subject": UUID,
        "ce-schemaversion": int,
        "ce-aggregateversion": int,
        "ce-occurredon": date.fromisoformat,
        "ce-position": int,
    }
    for name, parse in parsers.items():
        if name in headers:
            try:
                parse(headers[name])
            except ValueError:
                return f"header {name} is malformed"
    service, _, event_type = headers["ce-type"][len(TYPE_PREFIX) :].partition(".")
    if not service or not event_type:
        return "ce-type names no service and type"
    return "header ce-time is malformed"


def check_message(
    stream: str | None, subject: str, headers: Mapping[str, str] | None, body: bytes
) -> tuple[Envelope, EventPayload, bytes]:
    """Everything a consumer checks before it applies a message (see the module docstring):
    the envelope, the validated payload, and the payload's JSON."""
    envelope, data = read_envelope(headers, body)
    model = contract_of(envelope.service, envelope.event_type, envelope.version)
    check_route(model, stream, subject)
    return envelope, check_payload(model, data, envelope.occurred_on), data


class Passed(NamedTuple):
    """A version-2 message that passed every check of `check_message` in one pass
    (`passes_at_once`): its whole document, the payload's contract, and the payload as the JSON
    values the exact path's payload bytes hold (what a projection reads)."""

    document: DocumentAttributes
    model: type[EventPayload]
    data: dict[str, Any]


def passes_at_once(
    stream: str | None, subject: str, headers: Mapping[str, str] | None, body: bytes
) -> Passed | None:
    """`check_message`'s verdict for the common case, from one strict pass of pydantic-core over
    the body (`ketenzicht_contracts.documents`), without an `Envelope` or a second validation;
    None whenever anything is not plainly right (also a traceparent to drop): the caller then
    asks `check_message`, which accepts or names the reason as it always has. It accepts only
    what `check_message` accepts (docs/adr/0037-one-pass-contract-check.md)."""
    if headers and (len(headers) > 1 or NATS_MSG_ID not in headers) and is_header_envelope(headers):
        return None
    try:
        document = validate_document(body)
    except ValidationError:
        return None
    payload = document.data
    model = type(payload)
    # The type, source, spec version and content type were checked against the contract the
    # data schema names, in the pass over the body.
    if (
        document.schemaversion != model.VERSION
        or document.ketenzichtenvelope != ENVELOPE_VERSION
        or payload.occurred_on != document.occurredon
        or _route_refusal(model, stream, subject)
        or document.aggregateversion not in STORABLE
        or document.position not in STORABLE
        or not _identifiers(document.organisation, document.system)
        or (document.commandid and not IDENTIFIER.fullmatch(document.commandid))
        or (document.traceparent and not valid_traceparent(document.traceparent))
    ):
        return None
    try:
        if not 1 < document.time.year < 9999:  # only there can an offset reach past a year
            document.time.astimezone(UTC)
        # The payload's JSON values, as the exact path hands them on (orjson writing back what
        # pydantic parsed): orjson refuses what it would refuse (an integer beyond 64 bits).
        data = orjson.loads(body)["data"]
    except (OverflowError, orjson.JSONDecodeError):
        return None
    return Passed(document, model, data)


@lru_cache(maxsize=1024)
def _identifiers(organisation: str, system: str) -> bool:
    """Whether who stated it are identifiers (`IDENTIFIER`). Cached: a stream carries few
    organisations and systems (a command id differs from event to event: matched each time)."""
    return bool(IDENTIFIER.fullmatch(organisation) and IDENTIFIER.fullmatch(system))


def check(
    stream: str | None, subject: str, headers: Mapping[str, str] | None, body: bytes
) -> tuple[Envelope, EventPayload]:
    """`check_message` without the payload's JSON."""
    envelope, payload, _ = check_message(stream, subject, headers, body)
    return envelope, payload


def claims_of(headers: Mapping[str, str] | None, body: bytes) -> tuple[str, str, str, bytes]:
    """What a message claims to be, for a dead letter's listing: (type, schema version, event
    id, the payload's JSON), from a message of either envelope version, nothing validated
    (empty where it claims nothing readable). The caller shows the type only when the contracts
    know it and the id only when it is a UUID, never the claim itself."""
    if is_header_envelope(headers):
        assert headers is not None
        return (
            headers.get("ce-type", ""),
            headers.get("ce-schemaversion", ""),
            headers.get("ce-id", ""),
            body,
        )
    try:
        document, data = read_document(body)
    except MalformedAttribute:
        return "", "", "", b""
    type_, version, event_id = (
        _claim(document.get(name)) for name in ("type", "schemaversion", "id")
    )
    try:
        return type_, version, event_id, orjson.dumps(data)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: a body no contract holds
        return type_, version, event_id, b""


def _claim(value: Any) -> str:
    return str(value) if isinstance(value, str) or type(value) is int else ""


def label(envelope: Envelope | None) -> str:
    """How a log line or a reason names an event: type and id, which validated."""
    if envelope is None:
        return "a message"
    return f"{envelope.service} {envelope.event_type} {envelope.event_id}"


@cache
def pseudonym_fields(model: type[EventPayload]) -> frozenset[str]:
    """The contract's fields that hold pseudonymous ids (one, a list, or optional)."""

    def holds_pseudonyms(annotation: Any, metadata: list[Any]) -> bool:
        if any(
            isinstance(m, StringConstraints) and m.pattern == PSEUDONYM.pattern for m in metadata
        ):
            return True
        if annotation is Pseudonym:
            return True
        return any(
            holds_pseudonyms(arg, list(getattr(arg, "__metadata__", ())))
            for arg in get_args(annotation)
        )

    return frozenset(
        name
        for name, field in model.model_fields.items()
        if holds_pseudonyms(field.annotation, list(field.metadata))
    )


def pseudonyms_in(model: type[EventPayload] | None, body: bytes) -> dict[str, list[str]]:
    """The ids in a body that an operator may see: only the contract's pseudonym fields, and of
    those only the values that validate as pseudonyms. Nothing else of the body."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(data, dict):
        return {}
    fields = (
        pseudonym_fields(model)
        if model is not None
        else frozenset().union(*(pseudonym_fields(m) for m in all_payload_models()))
    )
    found: dict[str, list[str]] = {}
    for name in sorted(fields):
        value = data.get(name)
        values = value if isinstance(value, list) else [value]
        valid = [v for v in values if isinstance(v, str) and PSEUDONYM.fullmatch(v)]
        if valid:
            found[name] = valid
    return found

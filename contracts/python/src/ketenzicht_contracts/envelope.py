"""The event envelope as it travels on NATS: CloudEvents attributes in headers.

What each field means: docs/domain.md#envelope; why headers:
docs/adr/0002-cloudevents-envelope-in-nats-headers.md.

The body is the JSON of the event's payload model; everything about the event (its id, type,
version, dates, origin, trace context) travels in headers, in CloudEvents' binary mode with the
``ce-`` prefix, so that any consumer can route and de-duplicate without parsing the body.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

SPEC_VERSION = "1.0"
TYPE_PREFIX = "nl.ketenzicht."
NATS_MSG_ID = "Nats-Msg-Id"


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

    def to_headers(self) -> dict[str, str]:
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

"""Every contract's whole version-2 document in one validator: the envelope's attributes and the
payload as ``data``, checked in one strict pass of pydantic-core over the message's bytes.

`Envelope.from_body` validates the attributes and leaves ``data`` as parsed JSON, which the
payload's model then validates again from JSON written back (`ketenzicht_common.contract`):
exact, and the way to name what is wrong, but the data is parsed three times and two models are
built for every event. `DOCUMENTS` is a discriminated union of one document model per contract
(service, type, version), discriminated by the ``dataschema`` attribute, which names exactly one
contract: the JSON is parsed once, in Rust, straight into the attributes and the payload model.

It only ever says yes or no. A reader that takes its yes still makes every check of the envelope
that a schema cannot state (the type, source and schema version agreeing with the data schema,
the business dates agreeing, the route, provenance); on a no it takes the exact path, which finds
the same verdict and names the reason (docs/adr/0037-one-pass-contract-check.md).
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    create_model,
)

from .envelope import DATA_CONTENT_TYPE, SPEC_VERSION, dataschema_for, source_for, type_for
from .events import EventPayload, all_payload_models

CanonicalUuid = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
"""A UUID as ``str(uuid)`` writes it, which is how a relay writes it: a text that is already
what ``str(UUID(text))`` gives (another spelling of a UUID is left to the exact path)."""


class DocumentAttributes(BaseModel):
    """The attributes of a version-2 body, as `envelope.StructuredEnvelope` reads them (its
    field types and defaults; other attributes ignored; ids only in their canonical spelling);
    ``data`` is each contract's own."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: str
    id: CanonicalUuid
    source: str
    type: str
    subject: CanonicalUuid
    time: AwareDatetime
    datacontenttype: str
    dataschema: str
    ketenzichtenvelope: int
    schemaversion: int
    occurredon: date
    aggregateversion: int
    organisation: str = ""
    system: str = ""
    position: int = 0
    store: str = ""
    commandid: str = ""
    traceparent: str = ""
    data: EventPayload


def _document_model(payload: type[EventPayload]) -> type[DocumentAttributes]:
    """The document of one contract: its data schema (the discriminator), type and source, and
    the CloudEvents constants, as literals, checked in the same pass. Integers stay ``int``
    (checked by the reader): a literal integer would also take ``2.0``, which strict ``int``
    refuses."""
    service, event_type = payload.SERVICE, payload.event_type()
    model: type[DocumentAttributes] = create_model(
        f"{payload.__name__}V{payload.VERSION}Document",
        __base__=DocumentAttributes,
        dataschema=(_exactly(dataschema_for(service, event_type, payload.VERSION)), ...),
        type=(_exactly(type_for(service, event_type)), ...),
        source=(_exactly(source_for(service)), ...),
        specversion=(_exactly(SPEC_VERSION), ...),
        datacontenttype=(_exactly(DATA_CONTENT_TYPE), ...),
        data=(payload, ...),
    )
    return model


def _exactly(value: str) -> Any:
    """``Literal[value]``, made at run time (a type checker wants it written out)."""
    return Literal[value]


@cache
def _documents() -> TypeAdapter[Any]:
    models = tuple(_document_model(payload) for payload in all_payload_models())
    union: Any = Annotated[Union[models], Field(discriminator="dataschema")]  # noqa: UP007
    return TypeAdapter(union)


def validate_document(body: bytes) -> DocumentAttributes:
    """The whole document of a version-2 body, validated strictly against the contract its
    ``dataschema`` names, its type, source, spec version and content type those of that
    contract; `pydantic.ValidationError` for anything else (whose details are not for showing:
    the reasons come from the exact path). The integers (envelope and schema version among them)
    are the caller's to check."""
    global _adapter
    if _adapter is None:
        _adapter = _documents()
    document: DocumentAttributes = _adapter.validate_json(body, strict=True)
    return document


_adapter: TypeAdapter[Any] | None = None
"""Built on first use (some sixty models): importers that never read a body do not pay it."""

"""The base of every event payload, and the registry that maps (service, type, version) to it.

A payload holds facts as categories, dates and pseudonymous ids only: nothing that identifies a
person, and no free text about one (docs/domain.md#identifiers).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, ClassVar

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, WithJsonSchema

Pseudonym = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"),
]
"""An opaque pseudonymous id (victim, suspect, case): letters, digits and ``_.:-``, at most 64."""

CASE_ID_PATTERN = r"^C-[0-9a-f]{20}$"


def _issued_case_id(value: str) -> str:
    if not re.fullmatch(CASE_ID_PATTERN, value):
        # The value is not repeated: it may be a source system's own case number.
        raise ValueError(
            "is not a case pseudonym ketenzicht issues ('C-' and 20 hex digits): open the case "
            "first (investigation or prosecution OpenCase) and use the case_id it returns"
        )
    return value


CaseId = Annotated[
    str,
    AfterValidator(_issued_case_id),
    WithJsonSchema({"type": "string", "pattern": CASE_ID_PATTERN}),
]
"""A case pseudonym as ketenzicht issues it: ``C-`` and 20 random hex digits, never derived from
a source system's case number (docs/adr/0023-case-pseudonyms-issued-by-ketenzicht.md). Every
command that names a case takes this; an event's ``case_id`` stays a ``Pseudonym``, so that
events stored before case pseudonyms were issued still read."""


SUSPECT_ID_PATTERN = r"^S-[0-9a-f]{20}$"


def _issued_suspect_id(value: str) -> str:
    if not re.fullmatch(SUSPECT_ID_PATTERN, value):
        # The value is not repeated: it may be a source system's own person number.
        raise ValueError(
            "is not a suspect pseudonym ketenzicht issues ('S-' and 20 hex digits): leave it "
            "empty where the suspect first enters the chain (investigation IdentifySuspect, "
            "prosecution RegisterCase or OpenCase) and use the suspect_id it returns"
        )
    return value


SuspectId = Annotated[
    str,
    AfterValidator(_issued_suspect_id),
    WithJsonSchema({"type": "string", "pattern": SUSPECT_ID_PATTERN}),
]
"""A suspect pseudonym as ketenzicht issues it: ``S-`` and 20 random hex digits, never derived
from a source system's person number (docs/adr/0025-suspect-pseudonyms-issued-by-ketenzicht.md).
Every command that names a suspect takes this; an event's ``suspect_id`` stays a ``Pseudonym``,
so that events stored before suspect pseudonyms were issued still read."""


class EventPayload(BaseModel):
    """The JSON body of an event on the bus. The envelope travels in the message headers."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    SERVICE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1
    ADDRESSEES: ClassVar[tuple[str, ...]] = ()
    """For an event addressed to an organisation's feed: the organisations it may be addressed
    to. It then travels on ``ketenzicht.<service>.triggers.<addressee>.<EventType>`` instead of
    ``ketenzicht.<service>.<EventType>``."""

    occurred_on: date
    """The business date the source system states; it may lie in the past."""

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    @classmethod
    def schema_name(cls) -> str:
        return f"{cls.SERVICE}/{cls.__name__}.v{cls.VERSION}"

    @classmethod
    def travels_on(cls, subject: str) -> bool:
        """Whether ``subject`` is one this event type is published on: its own service's, its
        own type's, and for an addressed event the feed of one of its addressees."""
        prefix = f"ketenzicht.{cls.SERVICE}."
        if not subject.startswith(prefix) or not subject.endswith(f".{cls.event_type()}"):
            return False
        middle = subject[len(prefix) : -len(cls.event_type()) - 1]
        if not cls.ADDRESSEES:
            return middle == ""
        kind, _, addressee = middle.partition(".")
        return kind == "triggers" and addressee in cls.ADDRESSEES


_REGISTRY: dict[tuple[str, str, int], type[EventPayload]] = {}


def register(*models: type[EventPayload]) -> None:
    for model in models:
        key = (model.SERVICE, model.event_type(), model.VERSION)
        if key in _REGISTRY and _REGISTRY[key] is not model:
            raise ValueError(f"two payload models for {key}")
        _REGISTRY[key] = model


def payload_model(service: str, event_type: str, version: int) -> type[EventPayload]:
    """The payload model of an event, or KeyError when the contract does not know it."""
    return _REGISTRY[(service, event_type, version)]


def all_payload_models() -> list[type[EventPayload]]:
    return sorted(_REGISTRY.values(), key=lambda m: (m.SERVICE, m.__name__, m.VERSION))

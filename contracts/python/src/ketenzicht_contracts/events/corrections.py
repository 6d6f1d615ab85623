"""What every writing service's two correction events say (docs/domain.md#corrections).

Each service publishes its own pair, ``FactAnnulled`` and ``FactAmended``, on its own stream and
subjects (``ketenzicht.<service>.FactAnnulled``), with the subject key of its other events. The
fields below are common to all of them; a service's ``FactAmended`` adds ``amended``, the
amendable fields of the fact in their new form, typed as in the fact's own payload.

A correction never changes the event it corrects: that stays in the store and on the stream.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from .categories import CorrectionReason

EventId = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
"""An event id as the envelope carries it (``ce-id``): a lower-case UUID."""

EventTypeName = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Za-z0-9]{0,63}$")]


class FactCorrection(BaseModel):
    """The fields every correction event carries besides its service's subject key.

    ``occurred_on`` (from the envelope's base) is the business date of the correction itself:
    the day the source corrected its registration. The corrected fact's own business date is
    ``fact_occurred_on``.
    """

    corrected_event_id: EventId
    """The event this correction names: the fact itself, or an earlier amendment of it."""
    original_event_id: EventId
    """The fact as it was first stated: the key every correction of one fact shares."""
    corrected_event_type: EventTypeName
    """The type of the original fact (``SuspectIdentified``), of this same service."""
    correction_reason: CorrectionReason
    fact_occurred_on: date
    """Annulled: the fact's business date as it stood. Amended: its corrected business date."""


class AmendedFields(BaseModel):
    """Base of a service's amendable fields: only categories (never ids: a fact about the wrong
    case or person is annulled and registered again). A field the fact does not have is None."""

    model_config = ConfigDict(extra="forbid", frozen=True)

"""The OM's corrections of its own facts (docs/domain.md#corrections). Pure: no I/O.

Both aggregates that hold OM facts, the case (facts about its victims) and the proceedings
against one suspect, take the same two events. A topic names one event type of one service and
resolves to one class, while the library gives every event class nested in an aggregate body a
subclass of its own: so the two classes are defined once here, their topics registered here,
and each aggregate gets them as attributes after its class is made (``ProsecutionCase.
FactAnnulled``, ``SuspectProceedings.FactAnnulled``). An event's ``apply`` does not depend on
its aggregate's class. ``suspect_id`` is None for a fact of the case as a whole.
"""

from __future__ import annotations

from eventsourcing.utils import register_topic

from ketenzicht_common.domain import FactAmendedEvent, FactAnnulledEvent


class FactAnnulled(FactAnnulledEvent):
    """The OM annuls one of its facts (nietig): it never happened, or not in this case or
    against this suspect. It changes none of the aggregates' checks; what it means is
    downstream's."""

    TOPIC = "prosecution:FactAnnulled.v1"
    case_id: str
    suspect_id: str | None


class FactAmended(FactAmendedEvent):
    """The OM amends one of its facts (herstel): a corrected date or category. It changes none
    of the aggregates' checks; what it means is downstream's."""

    TOPIC = "prosecution:FactAmended.v1"
    case_id: str
    suspect_id: str | None


register_topic(FactAnnulled.TOPIC, FactAnnulled)
register_topic(FactAmended.TOPIC, FactAmended)

CORRECTION_TOPICS = frozenset({FactAnnulled.TOPIC, FactAmended.TOPIC})

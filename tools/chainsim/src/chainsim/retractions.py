"""Why residence took triggers back: retractions counted by the facts that caused them.

Residence retracts a trigger it already sent when a fact arrives that removes or changes its
basis; the `TriggerRetracted` payload names those facts by event id (``caused_by``, possibly
empty when residence cannot tell). The feeder knows, for the events its commands stored, how the
source registered them (`Registration`), so each retraction falls under one cause:

* **late registration**: a causing fact was registered at least `LATE_AFTER_DAYS` days after
  its business date. No waiting in residence avoids these: the fact was not there to wait for.
* **IND decision**: a causing fact is a residence fact, a decision the IND reported.
* **other/unknown**: the causes are facts registered on time, facts the feeder did not store,
  or none were named. With a clock that runs ahead of the feed, most land here.

A retraction with causes of several kinds counts once, under the first kind of this list.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Final, NamedTuple

LATE_AFTER_DAYS: Final = 7
"""A fact registered this many days or more after its business date is a late registration."""

IND_SERVICE: Final = "residence"
"""The service whose facts are the IND's decisions."""


class Registration(NamedTuple):
    """How a stored event came in: the service that stored it, its business date and the day
    the source registered it."""

    service: str
    occurred_on: date
    known_on: date

    @property
    def late(self) -> bool:
        return (self.known_on - self.occurred_on).days >= LATE_AFTER_DAYS

    @property
    def decisive(self) -> bool:
        """Whether it can decide a retraction's cause; any other cause counts as other."""
        return self.late or self.service == IND_SERVICE


class Cause(StrEnum):
    LATE_REGISTRATION = "late registration"
    IND_DECISION = "IND decision"
    OTHER = "other/unknown"


def cause_of(caused_by: Iterable[str] | None, registrations: Mapping[str, Registration]) -> Cause:
    """The cause of one retraction, from the event ids its payload names."""
    found = [registrations[event_id] for event_id in caused_by or () if event_id in registrations]
    if any(r.late for r in found):
        return Cause.LATE_REGISTRATION
    if any(r.service == IND_SERVICE for r in found):
        return Cause.IND_DECISION
    return Cause.OTHER


@dataclass(frozen=True)
class RetractionSummary:
    """The triggers residence sent (retractions included) and its retractions by cause."""

    triggers: int
    retractions: int
    by_cause: Mapping[Cause, int] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Retractions as a share of every trigger message sent (0 when none were sent)."""
        return self.retractions / self.triggers if self.triggers else 0.0

    def lines(self) -> list[str]:
        rows = [
            f"  {'triggers sent (retractions included)':<40} {self.triggers:>7,}",
            f"  {'retractions':<40} {self.retractions:>7,}  ({self.share:.1%})",
        ]
        if self.by_cause:
            for cause in Cause:
                count = self.by_cause.get(cause, 0)
                share = count / self.retractions if self.retractions else 0.0
                rows.append(f"    {'caused by ' + cause.value:<38} {count:>7,}  ({share:.0%})")
        return rows


def summarise(
    triggers: int,
    retracted: Sequence[Iterable[str] | None],
    registrations: Mapping[str, Registration],
) -> RetractionSummary:
    """``triggers``: every trigger message sent, retractions included; ``retracted``: the
    ``caused_by`` of each retraction."""
    by_cause = Counter(cause_of(caused_by, registrations) for caused_by in retracted)
    return RetractionSummary(triggers, len(retracted), {c: by_cause.get(c, 0) for c in Cause})

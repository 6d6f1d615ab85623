"""R4 where the facts are owned: may the police offer the reflection period (bedenktijd) on this
day, to the victim this signal describes? Pure: no I/O, no clock.

Source and reading: docs/domain.md#r4 (and #rule-versions for the dates). In short:

- the reflection period is for a foreign national who may be a victim of trafficking; a witness
  who reports (getuige-aangever) has none. Whether the scheme applies to an EU/EEA/Swiss national
  is the IND's finding (``NoEuResidenceRightFound``, judged by residence), not the police's, so
  the police do not offer it;
- until 2023-05-18 an asylum seeker or Dublin claimant has lawful stay and no reflection period;
  from that day every third-country national may have one (residence gives a Dublin claimant
  30 days, R3);
- from when a lawful resident may have one is a setting
  (``ReflectionOfferSettings.lawful_residents_from``, default 2023-05-18), so that a deployment
  can follow the EU Court's judgment's date instead.

Every rule is applied by the date of the offer (``occurred_on``), with the signal that was in
force on that date.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Final

ASYLUM_REFLECTION_FROM: Final = date(2023, 5, 18)
"""WBV 2023/11: from this day asylum seekers and Dublin claimants may have a reflection period."""

REFUSAL_REASON: Final = "REFLECTION_NOT_ALLOWED"
"""The stable reason code of every refusal below (the same as residence's R4 refusal)."""


@dataclass(frozen=True, slots=True)
class ReflectionOfferSettings:
    """What may differ between deployments of the rule."""

    lawful_residents_from: date = ASYLUM_REFLECTION_FROM
    """From when a third-country national with lawful stay may be offered the period
    (C-66/21; default: WBV 2023/11's date)."""


DEFAULT_OFFER_SETTINGS: Final = ReflectionOfferSettings()


@dataclass(frozen=True, slots=True)
class SignalSituation:
    """The categories of one signal the rule reads: who the victim is, and their stay."""

    signalled_on: date
    nationality_group: str
    residence_position: str


def _witness_only(capacities: Iterable[str]) -> bool:
    said = list(capacities)
    return bool(said) and all(capacity == "WITNESS" for capacity in said)


def reflection_offer_refusal(
    situation: SignalSituation,
    offered_on: date,
    capacities_so_far: Iterable[str] = (),
    settings: ReflectionOfferSettings = DEFAULT_OFFER_SETTINGS,
) -> str:
    """Why the police may not offer the reflection period on ``offered_on``; "" when they may.

    ``situation`` is the latest signal dated on or before ``offered_on``;
    ``capacities_so_far`` the capacity (VICTIM, WITNESS) of every report and cooperation dated
    on or before it.
    """
    day = offered_on.isoformat()
    if _witness_only(capacities_so_far):
        return (
            f"No reflection period (bedenktijd) on {day}: every report so far is a "
            "witness's, and a witness who reports has none (Vc 2000 B8/3, R1)."
        )
    nationality, position = situation.nationality_group, situation.residence_position
    if nationality == "DUTCH":
        return (
            f"No reflection period (bedenktijd) on {day}: it is for foreign nationals, and "
            "the victim is Dutch (Vc 2000 B8/3)."
        )
    if nationality == "OTHER_EU":
        return (
            f"No reflection period offered by the police on {day} to an EU/EEA/Swiss "
            "national: whether B8 applies is the IND's finding that no right of residence "
            "follows from EU law (Vc 2000 B8/3)."
        )
    if position == "IRREGULAR":
        return ""
    if position in ("ASYLUM_SEEKER", "DUBLIN_CLAIMANT") and offered_on < ASYLUM_REFLECTION_FROM:
        who = "an asylum seeker" if position == "ASYLUM_SEEKER" else "a Dublin claimant"
        return (
            f"No reflection period (bedenktijd) for {who} on {day}: before "
            f"{ASYLUM_REFLECTION_FROM.isoformat()} it is only for a person without lawful "
            "residence (Vc 2000 B8/3; changed by WBV 2023/11; R4)."
        )
    if position == "LAWFUL" and offered_on < settings.lawful_residents_from:
        return (
            f"No reflection period (bedenktijd) for a third-country national with lawful "
            f"residence on {day}: it applies to lawful residents from "
            f"{settings.lawful_residents_from.isoformat()} (Vc 2000 B8/3; C-66/21; "
            "WBV 2023/11; R4)."
        )
    return ""

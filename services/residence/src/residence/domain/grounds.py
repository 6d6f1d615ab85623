"""A ground for the non-temporary permit reached on a day (Vc B9/12), as R11–R13 find them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from residence.domain.categories import NonTemporaryGround

_GROUND_ORDER = {ground: index for index, ground in enumerate(NonTemporaryGround)}


@dataclass(frozen=True, slots=True)
class GroundReached:
    ground: NonTemporaryGround
    reached_on: date
    case_id: str
    rule: str
    rule_version: str
    based_on: tuple[str, ...]
    reason: str

    @property
    def order(self) -> tuple[date, int, str, tuple[str, ...]]:
        """Earliest first; on one day PROSECUTION before CONVICTION before THREE_YEARS."""
        return (self.reached_on, _GROUND_ORDER[self.ground], self.case_id, self.based_on)

"""From a decoded bus event to the residence domain's fact (vertaling). Pure: no I/O.

The input is what a consumer has after decoding an event: its id, the emitting service, the
event type, the business date from the envelope and the payload as the JSON dict of the contract
model (dates as ISO strings or `date`s, categories as their string values). Events the rules do
not read — and the residence service's own triggers, which are outputs, not facts — give None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from residence.domain.categories import (
    CooperationImpossibleReason,
    CourtInstance,
    InvestigationCloseReason,
    NationalityGroup,
    OtherDisposalKind,
    ReflectionEndReason,
    ReportingCapacity,
    ResidencePosition,
    VerdictOutcome,
)
from residence.domain.model import (
    CaseFact,
    CaseStep,
    CooperationDeclared,
    CooperationImpossibleRecorded,
    Correction,
    DublinTransferResumed,
    Fact,
    NoEuResidenceRightFound,
    NonTemporaryPermitGranted,
    NonTemporaryPermitRefused,
    PresenceAssessed,
    ReflectionPeriodDeclined,
    ReflectionPeriodEnded,
    ReflectionPeriodGranted,
    ReportFiled,
    ReportWithdrawn,
    SignalRegistered,
    TemporaryPermitEnded,
    TemporaryPermitExtended,
    TemporaryPermitGranted,
    TemporaryPermitRefused,
)

E = TypeVar("E")


class FactError(ValueError):
    """The payload lacks a field the rules need, or holds a value the domain does not know."""


class _Payload:
    """Typed reads of the payload, each failing with a `FactError` that names the field."""

    def __init__(self, event_type: str, payload: Mapping[str, Any]) -> None:
        self._event_type = event_type
        self._payload = payload

    def _get(self, name: str) -> Any:
        if name not in self._payload or self._payload[name] is None:
            raise FactError(f"{self._event_type} lacks {name}")
        return self._payload[name]

    def text(self, name: str) -> str:
        value = self._get(name)
        if not isinstance(value, str):
            raise FactError(f"{self._event_type}.{name} is not a string")
        return value

    def day(self, name: str) -> date:
        value = self._get(name)
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError as error:
            raise FactError(f"{self._event_type}.{name} is not a date") from error

    def flag(self, name: str) -> bool:
        value = self._get(name)
        if not isinstance(value, bool):
            raise FactError(f"{self._event_type}.{name} is not a boolean")
        return value

    def ids(self, name: str) -> tuple[str, ...]:
        value = self._payload.get(name) or []
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise FactError(f"{self._event_type}.{name} is not a list of ids")
        return tuple(value)

    def optional_int(self, name: str) -> int:
        value = self._payload.get(name) or 0
        if not isinstance(value, int) or isinstance(value, bool):
            raise FactError(f"{self._event_type}.{name} is not a whole number")
        return value

    def amended(self) -> Mapping[str, Any]:
        value = self._payload.get("amended") or {}
        if not isinstance(value, Mapping):
            raise FactError(f"{self._event_type}.amended is not an object")
        return value

    def optional_category(self, name: str, kind: Callable[[str], E], default: E) -> E:
        """A category added to a contract later: events from before it read as ``default``."""
        if self._payload.get(name) is None:
            return default
        return self.category(name, kind)

    def category(self, name: str, kind: Callable[[str], E]) -> E:
        try:
            return kind(self.text(name))
        except ValueError as error:
            raise FactError(f"{self._event_type}.{name} is not a known category") from error


_Builder = Callable[[str, date, _Payload], Fact]


def _case_step(
    step: CaseStep, *, suspect: bool = False, **reads: Callable[[_Payload], Any]
) -> _Builder:
    def build(event_id: str, occurred_on: date, p: _Payload) -> Fact:
        return CaseFact(
            event_id=event_id,
            occurred_on=occurred_on,
            case_id=p.text("case_id"),
            step=step,
            suspect_id=p.text("suspect_id") if suspect else None,
            **{name: read(p) for name, read in reads.items()},
        )

    return build


_BUILDERS: dict[tuple[str, str], _Builder] = {
    ("intake", "SignalRegistered"): lambda i, d, p: SignalRegistered(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        nationality_group=p.category("nationality_group", NationalityGroup),
        residence_position=p.category("residence_position", ResidencePosition),
    ),
    ("intake", "ReflectionPeriodDeclined"): lambda i, d, p: ReflectionPeriodDeclined(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id")
    ),
    ("intake", "ReportFiled"): lambda i, d, p: ReportFiled(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        case_id=p.text("case_id"),
        capacity=p.optional_category("capacity", ReportingCapacity, ReportingCapacity.VICTIM),
    ),
    ("intake", "CooperationDeclared"): lambda i, d, p: CooperationDeclared(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        case_id=p.text("case_id"),
        capacity=p.optional_category("capacity", ReportingCapacity, ReportingCapacity.VICTIM),
    ),
    ("intake", "CooperationImpossibleRecorded"): lambda i, d, p: CooperationImpossibleRecorded(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        reason=p.category("reason", CooperationImpossibleReason),
    ),
    ("intake", "ReportWithdrawn"): lambda i, d, p: ReportWithdrawn(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id"), case_id=p.text("case_id")
    ),
    ("investigation", "InvestigationOpened"): _case_step(CaseStep.INVESTIGATION_OPENED),
    ("investigation", "InvestigationResumed"): _case_step(CaseStep.INVESTIGATION_OPENED),
    ("investigation", "CaseSubmittedToProsecution"): _case_step(
        CaseStep.CASE_SUBMITTED, suspect_ids=lambda p: p.ids("suspect_ids")
    ),
    ("investigation", "InvestigationClosed"): _case_step(
        CaseStep.INVESTIGATION_CLOSED,
        close_reason=lambda p: p.category("reason", InvestigationCloseReason),
    ),
    ("investigation", "NoInvestigationDecided"): _case_step(CaseStep.NO_INVESTIGATION),
    ("prosecution", "CaseRegistered"): _case_step(CaseStep.CASE_REGISTERED, suspect=True),
    ("prosecution", "SuspectSummoned"): _case_step(CaseStep.SUSPECT_SUMMONED, suspect=True),
    ("prosecution", "CaseDismissed"): _case_step(CaseStep.CASE_DISMISSED, suspect=True),
    ("prosecution", "OtherDisposalDecided"): _case_step(
        CaseStep.OTHER_DISPOSAL,
        suspect=True,
        disposal_kind=lambda p: p.category("kind", OtherDisposalKind),
    ),
    ("prosecution", "CaseReopened"): _case_step(CaseStep.CASE_REOPENED, suspect=True),
    ("prosecution", "VerdictDelivered"): _case_step(
        CaseStep.VERDICT_DELIVERED,
        suspect=True,
        instance=lambda p: p.category("instance", CourtInstance),
        outcome=lambda p: p.category("outcome", VerdictOutcome),
    ),
    ("prosecution", "AppealLodged"): _case_step(CaseStep.APPEAL_LODGED, suspect=True),
    ("prosecution", "CaseFinal"): _case_step(CaseStep.CASE_FINAL, suspect=True),
    ("prosecution", "PresenceAssessed"): lambda i, d, p: PresenceAssessed(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        case_id=p.text("case_id"),
        presence_necessary=p.flag("presence_necessary"),
    ),
    ("residence", "ReflectionPeriodGranted"): lambda i, d, p: ReflectionPeriodGranted(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id")
    ),
    ("residence", "ReflectionPeriodEnded"): lambda i, d, p: ReflectionPeriodEnded(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        reason=p.category("reason", ReflectionEndReason),
    ),
    ("residence", "TemporaryPermitGranted"): lambda i, d, p: TemporaryPermitGranted(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        case_id=p.text("case_id"),
        valid_from=p.day("valid_from"),
        valid_until=p.day("valid_until"),
    ),
    ("residence", "TemporaryPermitRefused"): lambda i, d, p: TemporaryPermitRefused(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id"), case_id=p.text("case_id")
    ),
    ("residence", "TemporaryPermitExtended"): lambda i, d, p: TemporaryPermitExtended(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        case_id=p.text("case_id"),
        valid_until=p.day("valid_until"),
    ),
    ("residence", "TemporaryPermitEnded"): lambda i, d, p: TemporaryPermitEnded(
        event_id=i,
        occurred_on=d,
        victim_id=p.text("victim_id"),
        case_id=p.text("case_id"),
        end_date=p.day("end_date"),
    ),
    ("residence", "NonTemporaryPermitGranted"): lambda i, d, p: NonTemporaryPermitGranted(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id")
    ),
    ("residence", "NonTemporaryPermitRefused"): lambda i, d, p: NonTemporaryPermitRefused(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id")
    ),
    ("residence", "DublinTransferResumed"): lambda i, d, p: DublinTransferResumed(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id")
    ),
    ("residence", "NoEuResidenceRightFound"): lambda i, d, p: NoEuResidenceRightFound(
        event_id=i, occurred_on=d, victim_id=p.text("victim_id")
    ),
}


def _boolean(value: str | bool) -> bool:
    if not isinstance(value, bool):
        raise ValueError("not a boolean")
    return value


def _day(value: str | date) -> date:
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValueError("not a date")
    return date.fromisoformat(value)


_AMENDABLE: dict[tuple[str, str], dict[str, tuple[str, Callable[[Any], object]]]] = {
    ("intake", "CooperationImpossibleRecorded"): {
        "reason": ("reason", CooperationImpossibleReason)
    },
    ("investigation", "InvestigationClosed"): {
        "reason": ("close_reason", InvestigationCloseReason)
    },
    ("prosecution", "OtherDisposalDecided"): {"kind": ("disposal_kind", OtherDisposalKind)},
    ("prosecution", "VerdictDelivered"): {"outcome": ("outcome", VerdictOutcome)},
    ("prosecution", "PresenceAssessed"): {"presence_necessary": ("presence_necessary", _boolean)},
    ("residence", "ReflectionPeriodEnded"): {"reason": ("reason", ReflectionEndReason)},
    ("residence", "TemporaryPermitGranted"): {
        "valid_from": ("valid_from", _day),
        "valid_until": ("valid_until", _day),
    },
    ("residence", "TemporaryPermitExtended"): {"valid_until": ("valid_until", _day)},
    ("residence", "TemporaryPermitEnded"): {"end_date": ("end_date", _day)},
}
"""Of each fact type the rules read, its amendable contract fields that the rules read too, as
(the domain attribute, how its value is read). Dates are amended through ``fact_occurred_on``."""

POSITION_FIELD = "source_position"
"""Where residence keeps, beside a correction's payload, its version on the source's aggregate
(the envelope's ``aggregate_version``): the order of one fact's corrections."""


def _correction(service: str, annulled: bool) -> _Builder:
    def build(event_id: str, occurred_on: date, p: _Payload) -> Fact:
        corrected_type = p.text("corrected_event_type")
        amended: list[tuple[str, object]] = []
        if not annulled:
            fields = p.amended()
            for name, (attribute, read) in _AMENDABLE.get((service, corrected_type), {}).items():
                if fields.get(name) is None:
                    continue
                try:
                    amended.append((attribute, read(fields[name])))
                except ValueError as error:
                    raise FactError(f"FactAmended.amended.{name} is not known") from error
        return Correction(
            event_id=event_id,
            occurred_on=occurred_on,
            service=service,
            original_event_id=p.text("original_event_id"),
            corrected_event_id=p.text("corrected_event_id"),
            corrected_event_type=corrected_type,
            annulled=annulled,
            fact_occurred_on=p.day("fact_occurred_on"),
            amended=tuple(amended),
            position=p.optional_int(POSITION_FIELD),
            victim_id=p.text("victim_id") if service in _BY_VICTIM else None,
            case_id=None if service in _BY_VICTIM else p.text("case_id"),
        )

    return build


_BY_VICTIM = ("intake", "residence")
"""The services whose corrections name the victim (the others' name the case)."""
_CORRECTED_SERVICES = ("intake", "investigation", "prosecution", "residence")
for _service in _CORRECTED_SERVICES:
    _BUILDERS[(_service, "FactAnnulled")] = _correction(_service, annulled=True)
    _BUILDERS[(_service, "FactAmended")] = _correction(_service, annulled=False)

RELEVANT_EVENTS = frozenset(_BUILDERS)
"""The (service, event type) pairs the residence rules read; everything else is ignored."""


def fact_from_event(
    event_id: str,
    service: str,
    event_type: str,
    occurred_on: date,
    payload: Mapping[str, Any],
) -> Fact | None:
    """The domain fact of a decoded bus event, or None when the rules do not read it.

    ``occurred_on`` comes from the envelope (the payload repeats it); the business date is what
    every rule reads. A correction (``FactAnnulled``, ``FactAmended``) gives a `Correction`
    when it corrects a fact type the rules read, its order read from `POSITION_FIELD`.
    Raises `FactError` when a relevant event lacks a field the rules need.
    """
    builder = _BUILDERS.get((service, event_type))
    if builder is None:
        return None
    # A correction of a fact the rules do not read is not a fact for them either.
    corrected_type = str(payload.get("corrected_event_type"))
    if event_type in ("FactAnnulled", "FactAmended") and (service, corrected_type) not in _BUILDERS:
        return None
    return builder(event_id, occurred_on, _Payload(event_type, payload))

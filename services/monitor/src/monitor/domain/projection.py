"""The monitor's read model of the whole chain (ketenbeeld), rebuilt from every service's events.

Of each fact only a compact `FactRecord` is kept (`to_record`), keyed by `event_id`: that makes a
redelivered event a no-op and the state independent of delivery order. Everything else —
milestones, lead times, figures — is derived at query time, in a `ChainView`, from the records
visible at an `AsOf` cut-off, so any figure can be reproduced for a past date and a late fact
never needs a repair of derived state. The running service keeps the records in a database
(application.live); `ChainProjection` holds them in memory, for tests and small collections.
Why: docs/adr/0012-monitor-fact-records-and-as-of-queries.md.

What the monitor reads of each event type is one row of `REDUCERS`: the service and event type,
the subject ids it needs, the payload categories kept, and a small reducer that changes the
working state a view is built from. A test checks every name in that table against the contracts
(docs/adr/0027-monitor-reducer-table-and-one-rounding-rule.md).

Decisions where docs/domain.md#lead-times is silent (the tests pin them down):

- Case and victim are linked by ReportFiled, CooperationDeclared, ReportWithdrawn, VictimHeard,
  ExaminingMagistrateHearingHeld and PresenceAssessed. Residence facts do not link: they follow a
  report in the same case anyway.
- The signal of a (case, victim) pair (T0, and the victim attributes form, minor, nationality
  group, residence position and region) is the victim's *latest* signal on or before the pair's
  anchor: its report (T2), or without a report its first linking event. A victim who comes back
  in view years later is then measured from the new signal, not the first one ever. Without any
  signal on or before the anchor, T0 stays empty and the attributes come from the earliest later
  signal.
- A signal (date) that is the T0 of no pair is a report-less episode: a unit without a case, open
  for T0→T2 until the victim's next signal, out of sight, or the as-of date.
- T1 is the first informative interview between T0 and T2 (either end open when absent).
- Case-level milestones (T3, T5–T8) hold for every victim of the case; T2 and T4 are per victim.
  T6 and T7 count first-instance hearings and verdicts only; T8 is the first suspect's CaseFinal
  (docs/domain.md#lead-times: each milestone is the first occurrence of its event).
- A pilot intervention is with the victim when its intake event is known; a VictimHeard with the
  police psychologist counts as the POLICE_PSYCHOLOGIST intervention for that case. The cohort is
  the one of the victim's earliest PilotEnrolled.
- A chain that stops without reaching a milestone is "ended" for it, at the stop date (see
  `CaseVictimUnit.ended`): the police stop (NoInvestigationDecided; InvestigationClosed without
  submission) while no OM registration exists; the OM stops (dismissal or other disposal) while
  no suspect is summoned; the case becomes final; the victim withdraws the report (for T4 only);
  or, before a report, the victim's next signal starts a new episode.

Corrections (docs/domain.md#corrections): a view is of the corrected facts. `FactAnnulled` and
`FactAmended` are kept as records of their own (`original_event_id`, the fact's corrected date
and the amended categories); the stored facts are never changed. When a view is built, every
correction known by the cut-off (`recorded` on or before `known_by`, whatever its `occurred_on`)
is applied to the fact it names by `original_event_id`: an annulled fact is left out, an amended
one takes the date and categories of its latest amendment. Then the occurred half of the cut-off
is applied to the corrected dates. The correction records themselves are not chain facts and are
not in `ChainView.records`. A correction of a fact of another service or of another type is
ignored (the writing services refuse it anyway).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from .facts import AsOf, ChainFact, Milestone, to_micros

SNAPSHOT_FORMAT = 1

AttrValue = str | bool | int
"""Only categories, flags and pseudonymous ids are kept from a payload — never free text."""

FACT_ANNULLED = "FactAnnulled"
FACT_AMENDED = "FactAmended"
CORRECTION_EVENTS = frozenset({FACT_ANNULLED, FACT_AMENDED})
# Of a correction: whom it corrects, why, and (as a day ordinal) the fact's corrected date.
_CORRECTION_FIELDS = (
    "original_event_id",
    "corrected_event_id",
    "corrected_event_type",
    "correction_reason",
)
FACT_OCCURRED = "fact_occurred"
"""Attribute of a correction record: its `fact_occurred_on` as a day ordinal."""
AMENDED_PREFIX = "amended."
"""Attributes of an amendment record: each amended category, as ``amended.<field>``."""

FIRST_INSTANCE = "FIRST_INSTANCE"
SUBMITTED = "SUBMITTED"
"""The InvestigationClosed reason that hands the case to the OM: no stop of the chain."""


class FactRecord(NamedTuple):
    """The part of a `ChainFact` the monitor keeps. Dates as ordinals, instants as epoch µs."""

    event_id: str
    service: str
    event_type: str
    occurred: int
    recorded: int
    case_id: str | None
    victim_id: str | None
    suspect_id: str | None
    attrs: Mapping[str, AttrValue] | None
    organisation: str = ""
    """Who stated the fact (the envelope's provenance): read for the audit trail only, so the
    views' reads leave it "" (docs/domain.md#audit)."""
    system: str = ""

    @property
    def occurred_on(self) -> date:
        return date.fromordinal(self.occurred)

    def attr(self, name: str) -> AttrValue | None:
        return None if self.attrs is None else self.attrs.get(name)


def _optional_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _day_ordinal(value: Any) -> int | None:
    if isinstance(value, date):
        return value.toordinal()
    if isinstance(value, str):
        try:
            return date.fromisoformat(value).toordinal()
        except ValueError:
            return None
    return None


def _correction_attrs(payload: Mapping[str, Any]) -> dict[str, AttrValue]:
    attrs: dict[str, AttrValue] = {
        name: payload[name] for name in _CORRECTION_FIELDS if isinstance(payload.get(name), str)
    }
    fact_occurred = _day_ordinal(payload.get("fact_occurred_on"))
    if fact_occurred is not None:
        attrs[FACT_OCCURRED] = fact_occurred
    amended = payload.get("amended")
    if isinstance(amended, Mapping):
        for name, value in amended.items():
            if isinstance(value, str | bool | int):
                attrs[AMENDED_PREFIX + name] = value
    return attrs


def to_record(fact: ChainFact) -> FactRecord:
    return record_of(
        fact.event_id,
        fact.service,
        fact.event_type,
        fact.occurred_on,
        fact.recorded_at,
        fact.payload,
        fact.organisation,
        fact.system,
    )


def record_of(
    event_id: str,
    service: str,
    event_type: str,
    occurred_on: date,
    recorded_at: datetime,
    payload: Mapping[str, Any],
    organisation: str = "",
    system: str = "",
) -> FactRecord:
    """The record of a fact, from its parts: `to_record` without a `ChainFact` in between (a
    rebuild makes its records this way, a `ChainFact` costing as much again as the check)."""
    kept = _KEPT_FIELDS.get(event_type)
    attrs: dict[str, AttrValue] | None = None
    if event_type in CORRECTION_EVENTS:
        attrs = _correction_attrs(payload)
    elif kept:
        attrs = {
            # A tuple, not ``str | bool | int``: isinstance of a union costs half as much again,
            # on every fact of a rebuild (bool is an int).
            name: payload[name]
            for name in kept
            if isinstance(payload.get(name), (str, int))
        }
    return FactRecord(
        event_id=event_id,
        service=service,
        event_type=event_type,
        occurred=occurred_on.toordinal(),
        recorded=to_micros(recorded_at),
        case_id=_optional_str(payload.get("case_id")),
        victim_id=_optional_str(payload.get("victim_id")),
        suspect_id=_optional_str(payload.get("suspect_id")),
        attrs=attrs,
        organisation=organisation,
        system=system,
    )


@dataclass(frozen=True, slots=True)
class VictimProfile:
    """Victim attributes from the signal that counts for a unit (docs/domain.md#categories);
    None = unknown."""

    form: str | None = None
    minor: bool | None = None
    nationality_group: str | None = None
    residence_position: str | None = None
    region: str | None = None


@dataclass(frozen=True, slots=True)
class CaseVictimUnit:
    """Milestones of one victim in one case (mijlpalen per zaak en slachtoffer).

    `case_id` is None for a signal that has not (yet) led to a report in any case. `ended` maps
    a milestone the chain will no longer reach to the date it stopped (see the module docstring);
    `out_of_sight` lists the dates contact with the victim was lost (slachtoffer uit zicht).
    """

    case_id: str | None
    victim_id: str
    milestones: Mapping[Milestone, date]
    profile: VictimProfile
    cohort: str | None = None
    interventions: frozenset[str] = frozenset()
    summoned_on: date | None = None
    ended: Mapping[Milestone, date] = field(default_factory=dict)
    out_of_sight: tuple[date, ...] = ()

    def at(self, milestone: Milestone) -> date | None:
        return self.milestones.get(milestone)

    @property
    def report_year(self) -> int | None:
        reported = self.milestones.get(Milestone.T2)
        return None if reported is None else reported.year

    @property
    def key(self) -> tuple[str, str]:
        return (self.case_id or "", self.victim_id)


class ChainProjection:
    """All facts of the chain, kept compactly; idempotent by event_id and order-independent."""

    def __init__(self) -> None:
        self._records: dict[str, FactRecord] = {}
        self._cached_view: tuple[AsOf, int, ChainView] | None = None

    def __len__(self) -> int:
        return len(self._records)

    def apply(self, fact: ChainFact) -> bool:
        """Take one fact in; False when its event_id was seen before (a redelivery)."""
        if fact.event_id in self._records:
            return False
        self._records[fact.event_id] = to_record(fact)
        return True

    def records(self) -> tuple[FactRecord, ...]:
        """Every record held, as an immutable copy a query may read while facts keep arriving."""
        return tuple(self._records.values())

    def apply_all(self, facts: Iterable[ChainFact]) -> int:
        """Apply a stream of facts; returns how many were new."""
        return sum(1 for fact in facts if self.apply(fact))

    def view(self, as_of: AsOf | date) -> ChainView:
        """The chain as it stood at the cut-off: only facts that had occurred and were known."""
        cut = as_of if isinstance(as_of, AsOf) else AsOf.of(as_of)
        cached = self._cached_view
        if cached is not None and cached[0] == cut and cached[1] == len(self._records):
            return cached[2]
        view = view_of(self._records.values(), cut)
        self._cached_view = (cut, len(self._records), view)
        return view

    # One JSON-able document of every record, e.g. to compare two projections.

    def snapshot(self) -> dict[str, Any]:
        return snapshot_of(self._records.values())

    @classmethod
    def restore(cls, document: Mapping[str, Any]) -> ChainProjection:
        if document.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"unknown snapshot format {document.get('format')!r}")
        projection = cls()
        for row in document["records"]:
            record = record_from_row(row)
            projection._records[record.event_id] = record
        return projection


def record_row(record: FactRecord) -> list[Any]:
    """A record as a JSON-able row (the snapshot's format)."""
    r = record
    attrs = dict(r.attrs) if r.attrs is not None else None
    return [
        r.event_id,
        r.service,
        r.event_type,
        r.occurred,
        r.recorded,
        r.case_id,
        r.victim_id,
        r.suspect_id,
        attrs,
        r.organisation,
        r.system,
    ]


_ROW_WITHOUT_PROVENANCE = len(FactRecord._fields) - 2


def record_from_row(row: Sequence[Any]) -> FactRecord:
    # A row written before records kept their provenance lacks its last two fields.
    if len(row) not in (len(FactRecord._fields), _ROW_WITHOUT_PROVENANCE):
        raise ValueError(f"a record row has {len(FactRecord._fields)} fields, not {len(row)}")
    return FactRecord(*row)


def snapshot_of(records: Iterable[FactRecord]) -> dict[str, Any]:
    """One JSON-able document of the records, sorted so equal projections give equal documents."""
    rows = [record_row(r) for r in sorted(records, key=lambda r: r.event_id)]
    return {"format": SNAPSHOT_FORMAT, "records": rows}


def view_of(records: Iterable[FactRecord], as_of: AsOf | date) -> ChainView:
    """The chain at a cut-off, from any collection of records (e.g. a copy taken for a query)."""
    cut = as_of if isinstance(as_of, AsOf) else AsOf.of(as_of)
    return ChainView(cut, records)


def corrected_records(records: Iterable[FactRecord], as_of: AsOf) -> list[FactRecord]:
    """The facts visible at the cut-off, in their corrected form (see the module docstring).

    `records` may hold more than the cut-off shows (a fact dated after it that an amendment
    moves into it, corrections dated after it): only facts and corrections known by
    `known_by` count, and a fact counts when its corrected date is on or before `on`.
    """
    on, known_by = as_of.on_ordinal, as_of.known_by_micros
    facts: list[FactRecord] = []
    corrections: list[FactRecord] = []
    for r in records:
        if r.recorded > known_by:
            continue
        if r.event_type in CORRECTION_EVENTS:
            corrections.append(r)
        else:
            facts.append(r)
    if not corrections:
        return [r for r in facts if r.occurred <= on]
    # The latest amendment wins: corrections in the order their service stored them.
    corrections.sort(key=lambda c: (c.recorded, c.occurred, c.event_id))
    by_original: dict[str, list[FactRecord]] = defaultdict(list)
    for c in corrections:
        original = c.attr("original_event_id")
        if isinstance(original, str):
            by_original[original].append(c)
    visible: list[FactRecord] = []
    for r in facts:
        named = by_original.get(r.event_id)
        if named is not None:
            corrected = _corrected(r, named)
            if corrected is None:
                continue
            r = corrected
        if r.occurred <= on:
            visible.append(r)
    return visible


def _corrected(fact: FactRecord, corrections: Sequence[FactRecord]) -> FactRecord | None:
    """The fact after its corrections (oldest first); None when it is annulled."""
    applicable = [
        c
        for c in corrections
        if c.service == fact.service and c.attr("corrected_event_type") == fact.event_type
    ]
    if any(c.event_type == FACT_ANNULLED for c in applicable):
        return None  # an annulment is final: nothing corrects an annulled fact
    occurred = fact.occurred
    attrs = dict(fact.attrs) if fact.attrs is not None else {}
    kept = _KEPT_FIELDS.get(fact.event_type, ())
    changed = False
    for amendment in applicable:
        fact_occurred = amendment.attr(FACT_OCCURRED)
        if isinstance(fact_occurred, int) and not isinstance(fact_occurred, bool):
            occurred = fact_occurred
            changed = True
        for name in kept:
            value = amendment.attr(AMENDED_PREFIX + name)
            if value is not None:
                attrs[name] = value
                changed = True
    if not changed:
        return fact
    return fact._replace(occurred=occurred, attrs=attrs or fact.attrs)


class _Case:
    __slots__ = (
        "dismissed",
        "final",
        "hearing",
        "other_disposal",
        "police_end",
        "registered",
        "summoned",
        "verdict",
    )

    def __init__(self) -> None:
        self.registered: int | None = None
        self.summoned: int | None = None
        self.dismissed: int | None = None
        self.other_disposal: int | None = None
        self.hearing: int | None = None
        self.verdict: int | None = None
        self.final: int | None = None
        self.police_end: int | None = None


class _Pair:
    __slots__ = ("examined", "linked", "psychologist", "reported", "withdrawn")

    def __init__(self) -> None:
        self.linked: int | None = None
        self.reported: int | None = None
        self.examined: int | None = None
        self.withdrawn: int | None = None
        self.psychologist = False


class _Victim:
    __slots__ = ("cohort", "interventions", "interviews", "out_of_sight", "signals")

    def __init__(self) -> None:
        self.signals: list[tuple[int, str, Mapping[str, AttrValue]]] = []
        self.interviews: list[int] = []
        self.out_of_sight: list[int] = []
        self.cohort: tuple[int, str, str] | None = None
        self.interventions: set[str] = set()


def _earliest(current: int | None, candidate: int) -> int:
    return candidate if current is None or candidate < current else current


def _min_of(*values: int | None) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


class ChainView:
    """The chain as of one cut-off. Units are derived once, on first use."""

    def __init__(self, as_of: AsOf, records: Iterable[FactRecord]) -> None:
        """`records`: at least every fact and correction the cut-off can see (more is fine);
        the view holds the visible facts in their corrected form (`corrected_records`)."""
        self.as_of = as_of
        # A stable order makes every derived table independent of delivery order.
        self.records: tuple[FactRecord, ...] = tuple(
            sorted(
                corrected_records(records, as_of),
                key=lambda r: (r.occurred, r.recorded, r.event_id),
            )
        )
        self._units: tuple[CaseVictimUnit, ...] | None = None
        self._by_key: dict[tuple[str | None, str], CaseVictimUnit] | None = None

    @property
    def units(self) -> tuple[CaseVictimUnit, ...]:
        """Every (case, victim) pair sorted by case and victim, then report-less episodes."""
        if self._units is None:
            self._units = _build_units(self.records)
        return self._units

    def unit(self, case_id: str | None, victim_id: str) -> CaseVictimUnit | None:
        """One victim in one case; with case_id None, the victim's latest report-less episode."""
        if self._by_key is None:
            self._by_key = {(u.case_id, u.victim_id): u for u in self.units}
        return self._by_key.get((case_id, victim_id))


class _Chain:
    """The working state one view's units are built from: per case, per pair, per victim."""

    __slots__ = ("cases", "pairs", "victims")

    def __init__(self) -> None:
        self.cases: dict[str, _Case] = defaultdict(_Case)
        self.pairs: dict[tuple[str, str], _Pair] = defaultdict(_Pair)
        self.victims: dict[str, _Victim] = defaultdict(_Victim)

    def case(self, r: FactRecord) -> _Case:
        assert r.case_id is not None  # the table's keys guarantee it
        return self.cases[r.case_id]

    def pair(self, r: FactRecord) -> _Pair:
        assert r.case_id is not None
        assert r.victim_id is not None
        pair = self.pairs[(r.case_id, r.victim_id)]
        pair.linked = _earliest(pair.linked, r.occurred)
        return pair

    def victim(self, r: FactRecord) -> _Victim:
        assert r.victim_id is not None
        return self.victims[r.victim_id]


Reduce = Callable[[_Chain, FactRecord], None]

CASE_KEYS = ("case_id",)
PAIR_KEYS = ("case_id", "victim_id")
VICTIM_KEYS = ("victim_id",)


@dataclass(frozen=True, slots=True)
class Reducer:
    """What the monitor takes from one event type of one service (one row of `REDUCERS`).

    `keys`: the subject ids (payload fields) the fact must carry to count; `fields`: the payload
    categories kept in its `FactRecord` (for the views, the figures and the exports); `reduce`:
    how it changes the working state of a view, None for a fact kept for the figures and exports
    only. Every name here is checked against the contracts by a test
    (tests/unit/test_monitor_reducer_contracts.py), so a renamed event or field fails a test
    instead of dropping facts without a word.
    """

    service: str
    event_type: str
    keys: tuple[str, ...]
    fields: tuple[str, ...] = ()
    reduce: Reduce | None = None


# Small reducers, one concern each. Each milestone is the first occurrence of its event
# (docs/domain.md#lead-times), hence `_earliest` throughout.


def _signal(chain: _Chain, r: FactRecord) -> None:
    chain.victim(r).signals.append((r.occurred, r.event_id, r.attrs or {}))


def _interview(chain: _Chain, r: FactRecord) -> None:
    chain.victim(r).interviews.append(r.occurred)


def _out_of_sight(chain: _Chain, r: FactRecord) -> None:
    chain.victim(r).out_of_sight.append(r.occurred)


def _enrolled(chain: _Chain, r: FactRecord) -> None:
    cohort = r.attr("cohort")
    if isinstance(cohort, str):
        victim = chain.victim(r)
        candidate = (r.occurred, r.event_id, cohort)
        if victim.cohort is None or candidate < victim.cohort:
            victim.cohort = candidate


def _intervention(name: str) -> Reduce:
    """A pilot intervention with the victim (pilot interventie)."""

    def reduce(chain: _Chain, r: FactRecord) -> None:
        chain.victim(r).interventions.add(name)

    return reduce


def _linked(chain: _Chain, r: FactRecord) -> None:
    chain.pair(r)


def _reported(chain: _Chain, r: FactRecord) -> None:
    pair = chain.pair(r)
    pair.reported = _earliest(pair.reported, r.occurred)


def _withdrawn(chain: _Chain, r: FactRecord) -> None:
    pair = chain.pair(r)
    pair.withdrawn = _earliest(pair.withdrawn, r.occurred)


def _examined(chain: _Chain, r: FactRecord) -> None:
    pair = chain.pair(r)
    pair.examined = _earliest(pair.examined, r.occurred)


def _heard(chain: _Chain, r: FactRecord) -> None:
    pair = chain.pair(r)
    if r.attr("with_police_psychologist") is True:
        pair.psychologist = True


def _registered(chain: _Chain, r: FactRecord) -> None:
    case = chain.case(r)
    case.registered = _earliest(case.registered, r.occurred)


def _summoned(chain: _Chain, r: FactRecord) -> None:
    case = chain.case(r)
    case.summoned = _earliest(case.summoned, r.occurred)


def _dismissed(chain: _Chain, r: FactRecord) -> None:
    case = chain.case(r)
    case.dismissed = _earliest(case.dismissed, r.occurred)


def _other_disposal(chain: _Chain, r: FactRecord) -> None:
    case = chain.case(r)
    case.other_disposal = _earliest(case.other_disposal, r.occurred)


def _hearing(chain: _Chain, r: FactRecord) -> None:
    if r.attr("instance") == FIRST_INSTANCE:  # T6 counts first-instance hearings only
        case = chain.case(r)
        case.hearing = _earliest(case.hearing, r.occurred)


def _verdict(chain: _Chain, r: FactRecord) -> None:
    if r.attr("instance") == FIRST_INSTANCE:  # T7 counts first-instance verdicts only
        case = chain.case(r)
        case.verdict = _earliest(case.verdict, r.occurred)


def _final(chain: _Chain, r: FactRecord) -> None:
    case = chain.case(r)
    case.final = _earliest(case.final, r.occurred)


def _police_stop(chain: _Chain, r: FactRecord) -> None:
    # InvestigationClosed stops the chain unless the case went to the OM.
    if r.event_type == "InvestigationClosed" and r.attr("reason") == SUBMITTED:
        return
    case = chain.case(r)
    case.police_end = _earliest(case.police_end, r.occurred)


_SIGNAL_FIELDS = (
    "signal_id",
    "source_organisation",
    "form",
    "minor",
    "nationality_group",
    "residence_position",
    "region",
)

REDUCERS: Mapping[tuple[str, str], Reducer] = {
    (r.service, r.event_type): r
    for r in (
        # intake: the victim's signals, interviews, pilot and report (T0, T1, T2)
        Reducer("intake", "SignalRegistered", VICTIM_KEYS, _SIGNAL_FIELDS, _signal),
        Reducer("intake", "InformativeInterviewHeld", VICTIM_KEYS, (), _interview),
        Reducer("intake", "VictimOutOfSight", VICTIM_KEYS, (), _out_of_sight),
        Reducer("intake", "PilotEnrolled", VICTIM_KEYS, ("cohort",), _enrolled),
        Reducer(
            "intake",
            "PolicePsychologistDeployed",
            VICTIM_KEYS,
            (),
            _intervention("POLICE_PSYCHOLOGIST"),
        ),
        Reducer(
            "intake",
            "SafetyCoordinatorAssigned",
            VICTIM_KEYS,
            (),
            _intervention("SAFETY_COORDINATOR"),
        ),
        Reducer("intake", "PeerSupportAssigned", VICTIM_KEYS, (), _intervention("PEER_SUPPORT")),
        Reducer("intake", "ReportFiled", PAIR_KEYS, ("under_number",), _reported),
        Reducer("intake", "CooperationDeclared", PAIR_KEYS, (), _reported),
        Reducer("intake", "ReportWithdrawn", PAIR_KEYS, (), _withdrawn),
        # investigation: the victim heard, the police's stop
        Reducer("investigation", "VictimHeard", PAIR_KEYS, ("with_police_psychologist",), _heard),
        Reducer("investigation", "NoInvestigationDecided", CASE_KEYS, (), _police_stop),
        Reducer("investigation", "InvestigationClosed", CASE_KEYS, ("reason",), _police_stop),
        # prosecution: OM and court milestones (T3–T8), the victim at the examining magistrate
        Reducer("prosecution", "CaseRegistered", CASE_KEYS, (), _registered),
        Reducer("prosecution", "ExaminingMagistrateHearingHeld", PAIR_KEYS, (), _examined),
        Reducer("prosecution", "PresenceAssessed", PAIR_KEYS, ("presence_necessary",), _linked),
        Reducer("prosecution", "SuspectSummoned", CASE_KEYS, (), _summoned),
        Reducer("prosecution", "CaseDismissed", CASE_KEYS, ("kind", "code"), _dismissed),
        Reducer("prosecution", "OtherDisposalDecided", CASE_KEYS, ("kind",), _other_disposal),
        Reducer("prosecution", "CourtHearingHeld", CASE_KEYS, ("instance",), _hearing),
        Reducer("prosecution", "VerdictDelivered", CASE_KEYS, ("instance", "outcome"), _verdict),
        Reducer("prosecution", "CaseFinal", CASE_KEYS, (), _final),
        # residence: kept for the figures and the exports; no lead-time milestone.
        # Trigger.reason is free text and deliberately absent.
        Reducer("residence", "ReflectionPeriodEnded", VICTIM_KEYS, ("reason",)),
        Reducer("residence", "NonTemporaryPermitIndicated", VICTIM_KEYS, ("trigger_id", "ground")),
        Reducer(
            "residence", "TriggerRetracted", VICTIM_KEYS, ("trigger_id", "retracted_trigger_id")
        ),
        # the other triggers: their id, for the residence panel (a retraction names it)
        *(
            Reducer("residence", kind, VICTIM_KEYS, ("trigger_id",))
            for kind in (
                "ReflectionPeriodOfferRequired",
                "TemporaryPermitApplicationIndicated",
                "ReflectionPeriodExpiryDue",
                "TemporaryPermitExtensionDue",
                "TemporaryPermitBasisEnded",
                "NonTemporaryAssessmentRequired",
                "DublinAssessmentOverdue",
                "TemporaryPermitWithoutCooperationIndicated",
                "DecisionNotAllowedFound",
                "ReassessmentRequired",
            )
        ),
    )
}
"""The one table of what the monitor reads from each event type (service, event type)."""

_KEPT_FIELDS: dict[str, tuple[str, ...]] = {
    r.event_type: r.fields for r in REDUCERS.values() if r.fields
}
"""The payload fields each event type contributes; everything else is dropped."""

LINKING_EVENTS = frozenset(r.event_type for r in REDUCERS.values() if r.keys == PAIR_KEYS)
"""Events that link a victim to a case (and so make a unit of the pair)."""


def _collect(records: Sequence[FactRecord]) -> _Chain:
    chain = _Chain()
    for r in records:
        reducer = REDUCERS.get((r.service, r.event_type))
        if reducer is None or reducer.reduce is None:
            continue
        if (r.case_id is None and "case_id" in reducer.keys) or (
            r.victim_id is None and "victim_id" in reducer.keys
        ):
            continue
        reducer.reduce(chain, r)
    for victim in chain.victims.values():
        victim.signals.sort(key=lambda s: (s[0], s[1]))
        victim.interviews.sort()
        victim.out_of_sight.sort()
    return chain


def _profile(attrs: Mapping[str, AttrValue] | None) -> VictimProfile:
    if not attrs:
        return VictimProfile()

    def text(name: str) -> str | None:
        value = attrs.get(name)
        return value if isinstance(value, str) else None

    minor = attrs.get("minor")
    return VictimProfile(
        form=text("form"),
        minor=minor if isinstance(minor, bool) else None,
        nationality_group=text("nationality_group"),
        residence_position=text("residence_position"),
        region=text("region"),
    )


def _first_between(days: Sequence[int], low: int | None, high: int | None) -> int | None:
    start = 0 if low is None else bisect_left(days, low)
    if start < len(days) and (high is None or days[start] <= high):
        return days[start]
    return None


def _next_after(days: Sequence[int], day: int) -> int | None:
    index = bisect_right(days, day)
    return days[index] if index < len(days) else None


def _dates(values: Mapping[Milestone, int | None]) -> dict[Milestone, date]:
    return {m: date.fromordinal(v) for m, v in values.items() if v is not None}


def _build_units(records: Sequence[FactRecord]) -> tuple[CaseVictimUnit, ...]:
    chain = _collect(records)
    cases, pairs, victims = chain.cases, chain.pairs, chain.victims
    units: list[CaseVictimUnit] = []
    used_signal_days: dict[str, set[int]] = defaultdict(set)
    empty_victim = _Victim()
    empty_case = _Case()

    for (case_id, victim_id), pair in sorted(pairs.items()):
        victim = victims.get(victim_id, empty_victim)
        case = cases.get(case_id, empty_case)
        anchor = pair.reported if pair.reported is not None else pair.linked
        assert anchor is not None  # a pair exists only because a linking event was seen
        signal_days = [s[0] for s in victim.signals]
        index = bisect_right(signal_days, anchor)
        t0: int | None = None
        attrs: Mapping[str, AttrValue] | None = None
        if index > 0:
            t0, _, attrs = victim.signals[index - 1]
            used_signal_days[victim_id].add(t0)
        elif victim.signals:
            attrs = victim.signals[0][2]
            used_signal_days[victim_id].add(victim.signals[0][0])

        decided = _min_of(case.summoned, case.dismissed)
        police_end = case.police_end if case.registered is None else None
        om_end = _min_of(case.dismissed, case.other_disposal) if case.summoned is None else None
        next_signal = _next_after(signal_days, t0) if t0 is not None else None
        ended = {
            Milestone.T2: _min_of(next_signal, police_end, om_end, case.final),
            Milestone.T3: police_end,
            Milestone.T4: _min_of(police_end, om_end, case.final, pair.withdrawn),
            Milestone.T5: _min_of(police_end, case.other_disposal),
            Milestone.T6: _min_of(police_end, om_end, case.final),
            Milestone.T7: _min_of(police_end, om_end, case.final),
            Milestone.T8: _min_of(police_end, om_end),
        }
        milestones = {
            Milestone.T0: t0,
            Milestone.T1: _first_between(victim.interviews, t0, pair.reported),
            Milestone.T2: pair.reported,
            Milestone.T3: case.registered,
            Milestone.T4: pair.examined,
            Milestone.T5: decided,
            Milestone.T6: case.hearing,
            Milestone.T7: case.verdict,
            Milestone.T8: case.final,
        }
        interventions = set(victim.interventions)
        if pair.psychologist:
            interventions.add("POLICE_PSYCHOLOGIST")
        units.append(
            CaseVictimUnit(
                case_id=case_id,
                victim_id=victim_id,
                milestones=_dates(milestones),
                profile=_profile(attrs),
                cohort=victim.cohort[2] if victim.cohort else None,
                interventions=frozenset(interventions),
                summoned_on=date.fromordinal(case.summoned) if case.summoned else None,
                ended=_dates(ended),
                out_of_sight=tuple(date.fromordinal(d) for d in victim.out_of_sight),
            )
        )

    # Signals that led to no pair: a report-less episode of the victim (ongoing or superseded).
    for victim_id in sorted(victims):
        victim = victims[victim_id]
        signal_days = [s[0] for s in victim.signals]
        seen_days: set[int] = set()
        for day, _, attrs in victim.signals:
            if day in seen_days or day in used_signal_days[victim_id]:
                continue
            seen_days.add(day)
            next_signal = _next_after(signal_days, day)
            next_minus_one = next_signal - 1 if next_signal is not None else None
            units.append(
                CaseVictimUnit(
                    case_id=None,
                    victim_id=victim_id,
                    milestones=_dates(
                        {
                            Milestone.T0: day,
                            Milestone.T1: _first_between(victim.interviews, day, next_minus_one),
                        }
                    ),
                    profile=_profile(attrs),
                    cohort=victim.cohort[2] if victim.cohort else None,
                    interventions=frozenset(victim.interventions),
                    ended=_dates({Milestone.T2: next_signal}),
                    out_of_sight=tuple(date.fromordinal(d) for d in victim.out_of_sight),
                )
            )
    return tuple(units)

"""A seeded synthetic chain: victims come into view, report, cases run through police, OM and
court, and the IND decides on residence — as facts each source system registers.

The generator walks the victims in the order they come into view. For each one it draws the
whole episode at once (intake, the case if the victim starts one, the IND's decisions) and puts
the commands on a small heap keyed by the day the source registers them (`known_on`). A command
leaves the heap as soon as no victim still to come can produce an earlier one: every fact of a
victim lies on or after the day the victim comes into view. Memory therefore holds only the
facts still pending, not the plan.

What a feeder can lean on:

- Within a victim's intake, a case's investigation, a suspect's prosecution and a victim's
  residence track, `known_on` never goes down as `occurred_on` goes up, and a fact that rests
  on another (a permit on the report, a verdict on the summons, a victim's hearing on the open
  investigation) is registered no earlier than it. A victim's police hearing may be registered
  after later facts of the investigation, but always before the investigation is closed.
- Nothing is planned after `end`: open cases stay open. The plan up to an earlier end is exactly
  the plan up to a later end, cut at the earlier day — so a cut never holds a verdict without its
  summons, or a permit without its report.
- The same seed, dates and scale give the same plan, command for command.

Calendar rules of the residence track (+ n months keeps the day of month, clipped to the
month's end) follow docs/domain.md#calendar.
"""

from __future__ import annotations

import base64
import hashlib
import heapq
import hmac
import math
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from random import Random
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

import numpy as np

from chainsim.calibration import (
    DEFAULT,
    DUBLIN_PRESENCE_ASSESSMENT_FROM,
    DUBLIN_REFLECTION_DAYS,
    EVENTS_BY_WINDOW,
    EXTENSION_NOTICE_DAYS,
    REFLECTION_MONTHS,
    REFLECTION_RULES_CHANGED_ON,
    THREE_YEARS_MONTHS,
    Calibration,
    Duration,
)
from chainsim.hidden_population import (
    DEFAULT_DEPENDENCE,
    DEFAULT_DETECTION,
    ORGANISATIONS,
    history_probabilities,
)
from chainsim.plan import MATCHED, Actor, PlannedCommand
from ketenzicht_common.months import add_months
from ketenzicht_contracts.events.categories import (
    CourtInstance,
    DismissalKind,
    ExploitationForm,
    InvestigationCloseReason,
    NationalityGroup,
    OtherDisposalKind,
    PoliceRegion,
    ProtectionMeasure,
    ReflectionEndReason,
    ReportingCapacity,
    ResidencePosition,
    SourceOrganisation,
    VerdictOutcome,
)

T = TypeVar("T")

_DAYS_PER_YEAR: Final = 365.25
_REFLECTION_RULES_CHANGED: Final = REFLECTION_RULES_CHANGED_ON.toordinal()
_DUBLIN_ASSESSMENT_FROM: Final = DUBLIN_PRESENCE_ASSESSMENT_FROM.toordinal()
_NEVER: Final = date.max.toordinal()
_MATCH_KEY: Final = b"chainsim: the key the registering organisations share"


def match_token(person: str) -> str:
    """The clearing house's match token the organisations compute on their side (ADR 0028):
    here an HMAC of the plan's person id, standing in for identifying data ketenzicht never
    sees."""
    digest = hmac.new(_MATCH_KEY, person.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


_ACTOR_BY_SOURCE: Final = {
    SourceOrganisation.POLICE: Actor.POLICE,
    SourceOrganisation.KMAR: Actor.KMAR,
    SourceOrganisation.LABOUR_INSPECTORATE: Actor.LABOUR_INSPECTORATE,
    # A signal from elsewhere (care, municipality) is registered and taken up by the police.
    SourceOrganisation.OTHER: Actor.POLICE,
}
_CONVICTIONS: Final = frozenset(
    {
        VerdictOutcome.CONVICTION_TRAFFICKING,
        VerdictOutcome.CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED,
    }
)
_MEASURES: Final = tuple(ProtectionMeasure)


def _plus_months(ordinal: int, months: int) -> int:
    # The generator counts days as ordinals (cheap to compare and to keep on a heap); months
    # are counted as everywhere in the chain (docs/domain.md#calendar).
    return add_months(date.fromordinal(ordinal), months).toordinal()


class _Choice(Generic[T]):
    """A weighted choice drawn with one uniform number (cheaper than Random.choices)."""

    __slots__ = ("_cumulative", "_options")

    def __init__(self, weights: Sequence[tuple[T, float]]) -> None:
        self._options = [option for option, _ in weights]
        total = sum(weight for _, weight in weights)
        self._cumulative = [c / total for c in accumulate(weight for _, weight in weights)]

    def draw(self, rng: Random) -> T:
        index = bisect(self._cumulative, rng.random())
        return self._options[min(index, len(self._options) - 1)]


@dataclass(slots=True)
class _Person:
    """What stays with a victim from one episode (signal) to the next."""

    victim_id: str
    nationality: NationalityGroup
    position: ResidencePosition
    minor: bool
    form: ExploitationForm
    region: PoliceRegion
    enrolled: bool = False
    permit: bool = False  # holds (or held) a residence permit from an earlier episode
    cases: list[str] = field(default_factory=list)  # a victim reports once in a case
    capacities: set[ReportingCapacity] = field(default_factory=set)  # of reports so far
    no_eu_right: bool = False  # the IND found no EU right of residence (once per victim)

    @property
    def witness_only(self) -> bool:
        """Every report so far was a witness's: intake refuses a reflection offer (R1)."""
        return self.capacities == {ReportingCapacity.WITNESS}


@dataclass(slots=True)
class _Case:
    """What a victim who joins a case, and the IND, need to know of the case's course."""

    case_id: str
    actor: Actor
    pace: float = 1.0  # a complex case is slow in every phase, for every suspect
    join_from: int = _NEVER
    join_until: int = 0
    opened: int | None = None
    opened_known: int = 0
    investigation_end: int = _NEVER
    investigation_end_known: int = _NEVER
    first_registered: int | None = None
    first_registered_known: int = 0
    examining_magistrate_until: int = _NEVER
    summons: tuple[int, int] | None = None  # first summons: occurred, known
    conviction: tuple[int, int] | None = None  # first conviction in any instance
    basis_end: int = _NEVER  # the day the case stops running (R10)
    basis_end_known: int = _NEVER
    assessment_at_end: bool = False  # ended by dismissal or acquittal (R14)


class _CasePool:
    """The cases of one form and region that other victims may join, in the order they were
    planned. A victim's report looks for the cases whose joining window holds its date; at
    national scale times a few hundred a pool holds tens of thousands of cases (an
    investigation still open at the plan's end never closes its window), so the windows are
    kept in arrays and each look is one vectorised comparison instead of a Python loop over
    the pool: the same cases in the same order, found in microseconds."""

    __slots__ = ("_added", "_cases", "_join_from", "_join_until", "_numbers", "_serial", "_size")

    def __init__(self) -> None:
        self._cases: list[_Case] = []
        self._join_from = np.empty(16, dtype=np.int64)
        self._join_until = np.empty(16, dtype=np.int64)
        self._numbers = np.empty(16, dtype=np.int64)
        self._serial: dict[str, int] = {}
        """Each case's number, for leaving out the reporting victim's own cases."""
        self._size = 0
        self._added = 0

    def add(self, case: _Case) -> None:
        if self._size == len(self._join_from):
            capacity = 2 * self._size
            for name in ("_join_from", "_join_until", "_numbers"):
                values = np.empty(capacity, dtype=np.int64)
                values[: self._size] = getattr(self, name)[: self._size]
                setattr(self, name, values)
        at = self._size
        self._join_from[at], self._join_until[at] = case.join_from, case.join_until
        self._serial[case.case_id] = self._numbers[at] = self._added
        self._cases.append(case)
        self._added += 1
        self._size += 1

    def _forget_closed(self, today: int) -> None:
        """Forget the cases whose window closed before ``today`` (every later report lies on
        or after it) once they are a quarter of the pool: memory follows the open windows, and
        the Python lists are rebuilt only now and then."""
        size = self._size
        keep = np.flatnonzero(self._join_until[:size] >= today)
        if 4 * (size - len(keep)) < max(size, 64):
            return
        self._cases = [self._cases[i] for i in keep]
        for name in ("_join_from", "_join_until", "_numbers"):
            values = getattr(self, name)
            values[: len(keep)] = values[keep]
        self._size = len(keep)
        self._serial = {
            case.case_id: int(number)
            for case, number in zip(self._cases, self._numbers[: self._size], strict=True)
        }

    def joinable(self, today: int, report: int, excluded: Sequence[str]) -> _Joinable:
        """The cases, in the order planned, whose window holds ``report``, but for the ones
        named in ``excluded`` (the victim's own)."""
        self._forget_closed(today)
        size = self._size
        mask = (self._join_from[:size] <= report) & (report <= self._join_until[:size])
        own = [self._serial[c] for c in excluded if c in self._serial]
        if own:
            mask &= ~np.isin(self._numbers[:size], own)
        return _Joinable(self._cases, np.flatnonzero(mask))


@dataclass(frozen=True, slots=True)
class _Joinable:
    """`_CasePool.joinable`'s answer: a sequence of cases, made only of the one asked for."""

    cases: list[_Case]
    at: Any  # numpy's array of positions in ``cases``

    def __len__(self) -> int:
        return len(self.at)

    def __getitem__(self, index: int) -> _Case:
        return self.cases[int(self.at[index])]


@dataclass(slots=True)
class _Chain:
    """Keeps `known_on` from going down along one aggregate's facts."""

    known: int = 0
    occurred: int = 0


@dataclass(slots=True)
class _Episode:
    """One victim's episode while its steps draw it: what each step leaves for the next."""

    signal_on: int
    person: _Person
    actor: Actor  # who registers the intake facts
    # Intake drafts: (occurred, precedence, event type, fields); the precedence orders facts of
    # one day as a source would register them.
    drafts: list[tuple[int, int, str, dict[str, Any]]] = field(default_factory=list)
    offered: int | None = None
    granted: int | None = None  # the reflection period, granted ...
    expiry: int | None = None  # ... until
    declined_late: int | None = None
    enrolled: int | None = None
    interventions: list[tuple[int, str]] = field(default_factory=list)
    report: int | None = None
    out_of_sight: int | None = None
    case: _Case | None = None
    new_case: bool = False
    withdrawn: int | None = None
    intake: _Chain = field(default_factory=_Chain)
    known: dict[str, int] = field(default_factory=dict)  # intake: when each type is known
    report_known: int = 0
    ind: _Chain = field(default_factory=_Chain)
    reflection_known: int = 0
    presence: tuple[int, int, bool] | None = None  # assessed, known, necessary
    transfer: bool = False  # the Dublin transfer resumes: the IND grants no permit
    # Other organisations that signal the same person on the signal's day, each finding the
    # victim by the match token (ADR 0028): the capture history the dark number reads.
    matched: list[SourceOrganisation] = field(default_factory=list)

    @property
    def vid(self) -> dict[str, Any]:
        return {"victim_id": self.person.victim_id}

    @property
    def third_country(self) -> bool:
        return self.person.nationality is NationalityGroup.THIRD_COUNTRY

    def draft(
        self, occurred: int, precedence: int, event_type: str, fields: dict[str, Any]
    ) -> None:
        self.drafts.append((occurred, precedence, event_type, fields))

    def before_out_of_sight(self, on: int) -> bool:
        return self.out_of_sight is None or on < self.out_of_sight


@dataclass(order=True, slots=True)
class _Return:
    on: int
    seq: int
    person: _Person = field(compare=False)


class _Simulation:
    def __init__(
        self, seed: int, start: date, end: date, scale: float, calibration: Calibration
    ) -> None:
        self.rng = Random(seed)
        self.seed = seed
        self.match_rng = Random(f"matching/{seed}")
        probabilities = history_probabilities(ORGANISATIONS, DEFAULT_DETECTION, DEFAULT_DEPENDENCE)
        self._histories_with: dict[SourceOrganisation, tuple[list[frozenset[str]], list[float]]]
        self._histories_with = {}
        for organisation in SourceOrganisation:
            seen = [
                (frozenset(o for o, bit in zip(ORGANISATIONS, h, strict=True) if bit), p)
                for h, p in probabilities.items()
                if h[ORGANISATIONS.index(organisation.value)]
            ]
            self._histories_with[organisation] = ([h for h, _ in seen], [p for _, p in seen])
        self.cal = calibration
        self.start = start.toordinal()
        self.end = end.toordinal()
        self.scale = scale
        self.heap: list[tuple[int, int, Actor, str, int, dict[str, Any]]] = []
        self.seq = 0
        self.counters = {"v": 0, "sig": 0, "c": 0, "s": 0}
        self.returns: list[_Return] = []
        self.open_cases: dict[tuple[ExploitationForm, PoliceRegion], _CasePool] = {}
        cal = calibration
        self.forms = _Choice(list(cal.form_shares.items()))
        self.regions = _Choice(list(cal.region_shares.items()))
        self.third_country_positions = _Choice(list(cal.third_country_positions.items()))
        self.suspect_counts = _Choice(list(cal.suspects_per_case))
        self.cooperation_impossible_reasons = _Choice(
            list(cal.cooperation_impossible_reasons.items())
        )
        sexual_minors = (
            cal.form_shares[ExploitationForm.SEXUAL]
            * cal.minor_share_by_form[ExploitationForm.SEXUAL]
        )
        pilot_days = (cal.pilot_until - cal.pilot_from).days + 1
        eligible = cal.signals_per_year * sexual_minors / sum(cal.form_shares.values())
        eligible *= pilot_days / _DAYS_PER_YEAR
        # Enrol a fixed share of the eligible victims so that the pilot holds ≈ 37 at scale 1.
        self.pilot_share = min(1.0, cal.pilot_cases / eligible) if eligible else 0.0

    # --- ids, durations, registration lag ---

    def _id(self, kind: str) -> str:
        self.counters[kind] += 1
        return f"{kind}-{self.seed}-{self.counters[kind]:06d}"

    def _days(self, duration: Duration, at_least: int = 0, pace: float = 1.0) -> int:
        drawn = self.rng.lognormvariate(math.log(duration.median), duration.sigma) * pace
        return max(at_least, round(drawn))

    def _lag(self) -> int:
        cal, u = self.cal, self.rng.random()
        if u < cal.same_day_share:
            return 0
        u -= cal.same_day_share
        if u < cal.within_week_share:
            return self.rng.randint(1, 7)
        u -= cal.within_week_share
        if u < cal.within_two_months_share:
            return self.rng.randint(8, 60)
        return self.rng.randint(61, 300)

    def _chance(self, share: float) -> bool:
        return self.rng.random() < share

    # --- emitting ---

    def _put(
        self,
        chain: _Chain | None,
        actor: Actor,
        event_type: str,
        occurred: int,
        fields: dict[str, Any],
        floor: int = 0,
        cap: int = _NEVER,
    ) -> int:
        """Plan one fact; returns the day it is known. Facts known after `end` are dropped:
        the chain keeps them in its order all the same, so what follows is dropped too."""
        known = max(occurred + self._lag(), floor)
        if chain is not None:
            # The source registers its facts in the order they happened.
            assert occurred >= chain.occurred, (event_type, occurred, chain.occurred)
            known = max(known, chain.known)
            chain.known, chain.occurred = known, occurred
        known = min(known, cap)
        if known <= self.end:
            heapq.heappush(self.heap, (known, self.seq, actor, event_type, occurred, fields))
            self.seq += 1
        return known

    def release(self, before: int) -> Iterator[PlannedCommand]:
        heap = self.heap
        while heap and heap[0][0] < before:
            known, _, actor, event_type, occurred, fields = heapq.heappop(heap)
            yield PlannedCommand(
                actor=actor,
                event_type=event_type,
                occurred_on=date.fromordinal(occurred),
                known_on=date.fromordinal(known),
                fields=MappingProxyType(fields),
            )

    # --- arrivals ---

    def _return_cdf(self, days: float) -> float:
        """Share of the victims who come back that are back within `days` (lognormal delay,
        cut to the five-year window)."""
        window = self.cal.repeat_window_days
        if days <= 0:
            return 0.0

        def cdf(x: float) -> float:
            d = self.cal.repeat_delay
            z = (math.log(x) - math.log(d.median)) / (d.sigma * math.sqrt(2))
            return 0.5 * (1 + math.erf(z))

        return min(1.0, cdf(min(days, window)) / cdf(window))

    def arrivals(self) -> Iterator[tuple[int, _Person | None]]:
        """Signal days in order: fresh victims (a Poisson process, thinned early on so that the
        returning victims make up the difference later) merged with the victims who return."""
        rate = self.cal.signals_per_year * self.scale / _DAYS_PER_YEAR
        if rate <= 0:
            return
        t = 0.0
        while True:
            t += self.rng.expovariate(rate)
            day = self.start + int(t)
            while self.returns and self.returns[0].on <= day:
                back = heapq.heappop(self.returns)
                if back.on <= self.end:
                    yield back.on, back.person
            if day > self.end:
                break
            # Returning victims are signals too; fresh ones are fewer by the returns expected.
            expected_returns = self.cal.repeat_share * self._return_cdf(day - self.start)
            if self._chance(1.0 / (1.0 + expected_returns)):
                yield day, None

    # --- one episode of one victim, step by step along the chain ---

    def episode(self, signal_on: int, person: _Person | None) -> None:
        """Draw one victim's episode whole: the signal and intake, the case at the police, the
        OM and in court, the IND's decisions, and perhaps a return later. The steps draw in
        this order, so the same seed gives the same episode."""
        episode = self._signal(signal_on, person)
        self._reflection_offer(episode)
        self._pilot(episode)
        self._report_day(episode)
        self._out_of_sight(episode)
        self._declined_after_grant(episode)
        self._informative_interview(episode)
        self._report(episode)
        self._register_intake(episode)
        self._no_eu_right(episode)
        self._case(episode)
        self._residence(episode)
        self._return_later(episode)

    def _signal(self, signal_on: int, person: _Person | None) -> _Episode:
        """The victim comes into view, and the organisation that registers the signal."""
        cal = self.cal
        if person is None:
            person = self._new_person()
        else:
            # A victim who comes back: same person, often the same form, older.
            if not self._chance(0.6):
                person.form = self.forms.draw(self.rng)
            person.minor = person.minor and self._chance(0.5)
        third_country = person.nationality is NationalityGroup.THIRD_COUNTRY
        if person.form is ExploitationForm.LABOUR and self._chance(
            cal.labour_inspectorate_share_labour
        ):
            source = SourceOrganisation.LABOUR_INSPECTORATE
        elif third_country and self._chance(cal.kmar_share_third_country):
            source = SourceOrganisation.KMAR
        elif self._chance(cal.other_source_share):
            source = SourceOrganisation.OTHER
        else:
            source = SourceOrganisation.POLICE
        episode = _Episode(signal_on, person, _ACTOR_BY_SOURCE[source])
        episode.matched = self._also_seen_by(source)
        episode.draft(
            signal_on,
            0,
            "SignalRegistered",
            {
                "victim_id": person.victim_id,
                "signal_id": self._id("sig"),
                "source_organisation": source,
                "form": person.form,
                "minor": person.minor,
                "nationality_group": person.nationality,
                "residence_position": person.position,
                "region": person.region,
                **({"match_token": match_token(person.victim_id)} if episode.matched else {}),
            },
        )
        return episode

    def _also_seen_by(self, source: SourceOrganisation) -> list[SourceOrganisation]:
        """The other organisations that see the person too: a capture history of the hidden
        population's model (`chainsim.hidden_population`) drawn given that ``source`` saw
        them, so that the lists overlap as the log-linear model the monitor fits says. Drawn
        from a generator of its own, so that the rest of the scenario is the seed's as before."""
        histories, weights = self._histories_with[source]
        drawn = self.match_rng.choices(histories, weights=weights)[0]
        # In the organisations' order, not the set's (which depends on the hash seed).
        return [SourceOrganisation(o) for o in ORGANISATIONS if o in drawn and o != source.value]

    def _reflection_offer(self, episode: _Episode) -> None:
        """R1: who must be offered the reflection period, by the rules in force that day.

        The offer lies on or after the signal, so intake's R4 check (by the offer's date, with
        its default lawful-residents date 2023-05-18) allows every offer planned here; none to
        a victim whose reports so far are all a witness's, which intake refuses."""
        cal, person = self.cal, episode.person
        eligible = (
            episode.third_country
            and not person.witness_only
            and (
                episode.signal_on >= _REFLECTION_RULES_CHANGED
                or person.position is ResidencePosition.IRREGULAR
            )
        )
        if not (eligible and self._chance(cal.reflection_offer_compliance)):
            return
        offered = episode.signal_on + self._days(Duration(0.5, 1.2))
        episode.offered = offered
        episode.draft(offered, 1, "ReflectionPeriodOffered", episode.vid)
        if self._chance(cal.reflection_declined_share):
            declined = offered + self.rng.randint(0, 3)
            episode.draft(declined, 2, "ReflectionPeriodDeclined", episode.vid)
        elif not person.permit:
            # A victim who already holds a permit has lawful stay: nothing to grant.
            granted = offered + self._days(cal.reflection_grant_delay)
            episode.granted = granted
            episode.expiry = (
                granted + DUBLIN_REFLECTION_DAYS
                if person.position is ResidencePosition.DUBLIN_CLAIMANT
                else _plus_months(granted, REFLECTION_MONTHS)
            )

    def _pilot(self, episode: _Episode) -> None:
        """The pilot for sexually exploited minors: enrolment and its interventions."""
        cal, person = self.cal, episode.person
        pilot_eligible = (
            person.form is ExploitationForm.SEXUAL
            and person.minor
            and not person.enrolled
            and cal.pilot_from.toordinal() <= episode.signal_on <= cal.pilot_until.toordinal()
        )
        if not (pilot_eligible and self._chance(self.pilot_share)):
            return
        person.enrolled = True
        enrolled = episode.signal_on + self._days(Duration(7.0, 0.6))
        episode.enrolled = enrolled
        episode.draft(enrolled, 4, "PilotEnrolled", {**episode.vid, "cohort": cal.pilot_cohort})
        kinds = ("PolicePsychologistDeployed", "SafetyCoordinatorAssigned", "PeerSupportAssigned")
        chosen = [
            k
            for k, share in zip(kinds, cal.pilot_intervention_shares, strict=True)
            if self._chance(share)
        ] or [kinds[self.rng.randrange(3)]]
        for kind in chosen:
            episode.interventions.append((enrolled + self._days(Duration(10.0, 0.8)), kind))
        episode.drafts.extend((on, 5, kind, episode.vid) for on, kind in episode.interventions)

    def _report_share(self, episode: _Episode) -> float:
        cal, person = self.cal, episode.person
        if episode.enrolled is not None:
            return cal.pilot_report_share
        if person.nationality is NationalityGroup.DUTCH:
            return cal.report_share_dutch_minor if person.minor else cal.report_share_dutch_adult
        if episode.third_country:
            return cal.report_share_third_country
        return cal.report_share_other_eu

    def _time_to_report(self, person: _Person) -> Duration:
        cal = self.cal
        if person.nationality is not NationalityGroup.DUTCH:
            return cal.time_to_report_foreign
        return cal.time_to_report_dutch_minor if person.minor else cal.time_to_report_dutch_adult

    def _report_day(self, episode: _Episode) -> None:
        """Does the victim report, and when?"""
        if not self._chance(self._report_share(episode)):
            return
        report = episode.signal_on + self._days(self._time_to_report(episode.person))
        if episode.enrolled is not None:
            report = max(report, episode.enrolled + 7)
        granted, expiry = episode.granted, episode.expiry
        if granted is not None and expiry is not None:
            if report <= granted:
                # Reported before the IND decided: the report itself is the application.
                episode.granted = episode.expiry = None
            elif report > expiry:
                # The reflection period is the time to decide: most decide within it.
                report = max(granted + 1, expiry - self.rng.randint(0, 5))
        episode.report = report

    def _out_of_sight(self, episode: _Episode) -> None:
        """The victim may drop out of sight; nothing that would come later happens then."""
        cal = self.cal
        if not self._chance(cal.out_of_sight_share[episode.person.nationality]):
            return
        out_of_sight = episode.signal_on + self._days(cal.time_to_out_of_sight)
        episode.out_of_sight = out_of_sight
        if episode.report is not None and out_of_sight <= episode.report:
            episode.report = None
        if episode.offered is not None and out_of_sight <= episode.offered:
            episode.offered = episode.granted = episode.expiry = None
        elif episode.granted is not None and out_of_sight <= episode.granted:
            episode.granted = episode.expiry = None

    def _declined_after_grant(self, episode: _Episode) -> None:
        """A victim who does not report may decline the reflection period once granted."""
        granted, expiry = episode.granted, episode.expiry
        if (
            granted is not None
            and expiry is not None
            and episode.report is None
            and expiry - granted > 6
            and self._chance(self.cal.reflection_declined_after_grant_share)
        ):
            episode.declined_late = self.rng.randint(granted + 3, expiry - 3)
            episode.draft(episode.declined_late, 2, "ReflectionPeriodDeclined", episode.vid)

    def _informative_interview(self, episode: _Episode) -> None:
        cal, signal_on, report = self.cal, episode.signal_on, episode.report
        if report is not None:
            if self._chance(cal.informative_interview_share_reporting):
                interview = signal_on + int((report - signal_on) * self.rng.uniform(0.2, 0.8))
                episode.draft(interview, 3, "InformativeInterviewHeld", episode.vid)
        elif self._chance(cal.informative_interview_share_not_reporting):
            interview = signal_on + self._days(Duration(14.0, 0.8))
            if episode.before_out_of_sight(interview):
                episode.draft(interview, 3, "InformativeInterviewHeld", episode.vid)

    def _report(self, episode: _Episode) -> None:
        """The report (or cooperation) in a case the victim joins or starts, what follows it at
        intake; or, without a report, that the victim cannot cooperate."""
        cal, rng, person, report = self.cal, self.rng, episode.person, episode.report
        if report is None:
            if person.nationality is not NationalityGroup.DUTCH and self._chance(
                cal.cooperation_impossible_share
            ):
                # No report: the police record that the victim cannot cooperate (Vc B8/3).
                impossible = episode.signal_on + self._days(cal.time_to_cooperation_impossible)
                episode.draft(
                    impossible,
                    6,
                    "CooperationImpossibleRecorded",
                    {**episode.vid, "reason": self.cooperation_impossible_reasons.draw(rng)},
                )
            return
        case, episode.new_case = self._case_for(episode.signal_on, report, person, episode.actor)
        episode.case = case
        person.cases.append(case.case_id)
        vc = {**episode.vid, "case_id": case.case_id}
        if self._chance(cal.cooperation_share):
            # A victim's cooperation: intake counts it beside the reports (R1).
            person.capacities.add(ReportingCapacity.VICTIM)
            episode.draft(report, 6, "CooperationDeclared", vc)
        else:
            # Only where no offer was made in this episode (see the calibration).
            witness = episode.offered is None and self._chance(cal.witness_report_share)
            capacity = ReportingCapacity.WITNESS if witness else ReportingCapacity.VICTIM
            person.capacities.add(capacity)
            episode.draft(
                report,
                6,
                "ReportFiled",
                {**vc, "under_number": self._chance(cal.under_number_share), "capacity": capacity},
            )
            if self._chance(cal.report_withdrawn_share):
                withdrawn = report + self._days(Duration(60.0, 0.8), at_least=1)
                if episode.before_out_of_sight(withdrawn):
                    episode.withdrawn = withdrawn
                    episode.draft(withdrawn, 8, "ReportWithdrawn", vc)
        if self._chance(cal.individual_assessment_share):
            assessed = report + self._days(Duration(14.0, 0.8))
            measures = sorted(rng.sample(_MEASURES, rng.randint(1, 4)))
            if episode.before_out_of_sight(assessed):
                episode.draft(
                    assessed,
                    7,
                    "IndividualAssessmentCompleted",
                    {**episode.vid, "measures": measures},
                )

    def _register_intake(self, episode: _Episode) -> None:
        """Intake registers its facts, in the order they happened, up to the victim's going
        out of sight."""
        if episode.out_of_sight is not None:
            episode.drafts = [d for d in episode.drafts if d[0] < episode.out_of_sight]
            episode.drafts.append((episode.out_of_sight, 9, "VictimOutOfSight", episode.vid))
        episode.drafts.sort(key=lambda d: (d[0], d[1]))
        known = episode.known
        for occurred, _, event_type, fields in episode.drafts:
            known.setdefault(
                event_type, self._put(episode.intake, episode.actor, event_type, occurred, fields)
            )
            if event_type == "SignalRegistered" and episode.matched:
                first = known[event_type]
                for other in episode.matched:
                    # Known after the first signal (the feeder sends it once intake has
                    # answered the first signal: the token is indexed then).
                    self._put(
                        episode.intake,
                        _ACTOR_BY_SOURCE[other],
                        event_type,
                        occurred,
                        {
                            **fields,
                            "signal_id": self._id("sig"),
                            "source_organisation": other,
                            MATCHED: True,
                        },
                        floor=first,
                    )
                # The episode's next facts come from another organisation's stream: known a
                # day later, so that intake has every signal of the day before them (a signal
                # after an offer would start the offer's count again).
                episode.intake.known += 1
        episode.report_known = known.get("ReportFiled", known.get("CooperationDeclared", 0))

    def _no_eu_right(self, episode: _Episode) -> None:
        """The IND's finding on an EU national: B8 applies (the only IND fact of the episode,
        because the reflection period and permits are third-country)."""
        person = episode.person
        if (
            person.nationality is NationalityGroup.OTHER_EU
            and not person.no_eu_right
            and self._chance(self.cal.no_eu_right_share)
        ):
            person.no_eu_right = True
            found = episode.signal_on + self._days(self.cal.signal_to_no_eu_right_found)
            self._put(
                episode.ind,
                Actor.IND,
                "NoEuResidenceRightFound",
                found,
                episode.vid,
                floor=episode.known["SignalRegistered"],
            )

    def _case(self, episode: _Episode) -> None:
        """The case at the police and the OM (drawn once, by its first report), the victim's
        hearings in it, and the OM's assessment of a Dublin claimant's presence (R8)."""
        case, report, person = episode.case, episode.report, episode.person
        if case is None or report is None:
            return
        if episode.new_case:
            self._run_case(case, report, episode.report_known, person.form, person.region)
        psychologist = next(
            (on for on, kind in episode.interventions if kind == "PolicePsychologistDeployed"), None
        )
        self._victim_in_case(
            case,
            person.victim_id,
            report,
            episode.report_known,
            episode.out_of_sight,
            episode.withdrawn,
            psychologist,
        )
        if (
            person.position is ResidencePosition.DUBLIN_CLAIMANT
            and report >= _DUBLIN_ASSESSMENT_FROM
        ):
            assessed = report + self._days(self.cal.report_to_presence_assessed, at_least=1)
            necessary = self._chance(self.cal.presence_necessary_share)
            known = self._put(
                None,
                Actor.OM,
                "PresenceAssessed",
                assessed,
                {
                    "case_id": case.case_id,
                    "victim_id": person.victim_id,
                    "presence_necessary": necessary,
                },
                floor=episode.report_known,
            )
            episode.presence = (assessed, known, necessary)

    def _residence(self, episode: _Episode) -> None:
        """The IND's side: only third-country nationals without another lawful stay."""
        person, case, report, presence = (
            episode.person,
            episode.case,
            episode.report,
            episode.presence,
        )
        ind, known = episode.ind, episode.known
        if (
            episode.granted is not None
            and episode.expiry is not None
            and episode.offered is not None
        ):
            self._reflection(
                ind,
                person.victim_id,
                episode.granted,
                episode.expiry,
                known["ReflectionPeriodOffered"],
                report,
                episode.report_known,
                episode.declined_late,
                known,
                episode.out_of_sight,
            )
            episode.reflection_known = ind.known
        if not (
            case is not None
            and report is not None
            and episode.third_country
            and person.position is not ResidencePosition.LAWFUL
        ):
            return
        if presence is not None and not presence[2]:
            resumed = presence[0] + self._days(self.cal.presence_to_transfer_resumed)
            self._put(
                ind, Actor.IND, "DublinTransferResumed", resumed, episode.vid, floor=presence[1]
            )
            episode.transfer = True
            return
        floor = episode.report_known if presence is None else max(episode.report_known, presence[1])
        if self._permits(
            ind,
            person.victim_id,
            case,
            report,
            floor,
            episode.out_of_sight,
            known.get("VictimOutOfSight", 0),
        ):
            person.position, person.permit = ResidencePosition.LAWFUL, True

    def _return_later(self, episode: _Episode) -> None:
        """Repeat victimisation: the victim comes into view again within five years."""
        cal, person, signal_on = self.cal, episode.person, episode.signal_on
        if episode.transfer or not self._chance(cal.repeat_share):
            return
        back = signal_on + self._days(cal.repeat_delay, at_least=90)
        # Not before intake and the IND have registered this episode: a new signal opens a new
        # intake episode for the victim.
        back = max(back, episode.intake.known + 30, episode.reflection_known + 30)
        if not person.permit:
            # The IND's facts of the next episode follow this episode's.
            back = max(back, episode.ind.known + 30)
        if back - signal_on <= cal.repeat_window_days and back <= self.end:
            heapq.heappush(self.returns, _Return(back, self.seq, person))
            self.seq += 1

    def _new_person(self) -> _Person:
        cal, rng = self.cal, self.rng
        form = self.forms.draw(rng)
        minor = self._chance(cal.minor_share_by_form[form])
        if self._chance(cal.dutch_share_minor if minor else cal.dutch_share_adult):
            nationality = NationalityGroup.DUTCH
        elif self._chance(cal.third_country_share_of_foreign):
            nationality = NationalityGroup.THIRD_COUNTRY
        else:
            nationality = NationalityGroup.OTHER_EU
        position = (
            self.third_country_positions.draw(rng)
            if nationality is NationalityGroup.THIRD_COUNTRY
            else ResidencePosition.LAWFUL
        )
        return _Person(
            victim_id=self._id("v"),
            nationality=nationality,
            position=position,
            minor=minor,
            form=form,
            region=self.regions.draw(rng),
        )

    # --- cases ---

    def _case_for(
        self, today: int, report: int, person: _Person, actor: Actor
    ) -> tuple[_Case, bool]:
        """An open case of the same form and region that the victim joins, or a new case
        (True) whose course is drawn once the report is planned."""
        pool = self.open_cases.get((person.form, person.region))
        if pool is not None:
            candidates = pool.joinable(today, report, person.cases)
            if candidates and self._chance(self.cal.join_existing_case_share):
                return candidates[self.rng.randrange(len(candidates))], False
        return _Case(case_id=self._id("c"), actor=actor), True

    def _run_case(
        self,
        case: _Case,
        report: int,
        report_known: int,
        form: ExploitationForm,
        region: PoliceRegion,
    ) -> None:
        """Draw the case's whole course from its first report on, and plan its facts."""
        cal, rng = self.cal, self.rng
        cid = {"case_id": case.case_id}
        actor = case.actor
        inv = _Chain()
        case.pace = rng.lognormvariate(0.0, cal.case_complexity_sigma)
        if self._chance(cal.no_investigation_share):
            decided = report + self._days(cal.report_to_no_investigation, at_least=1)
            k = self._put(inv, actor, "NoInvestigationDecided", decided, cid, floor=report_known)
            case.investigation_end, case.investigation_end_known = decided, k
            case.basis_end, case.basis_end_known = decided, k
            return
        opened = report + self._days(cal.report_to_opened)
        submitted = self._chance(cal.submitted_share)
        if submitted:
            ends = max(report + self._days(cal.report_to_submitted, pace=case.pace), opened + 14)
            suspects = self.suspect_counts.draw(rng)
        else:
            ends = max(report + self._days(cal.report_to_closed), opened + 14)
            suspects = 1 if self._chance(0.4) else 0
        drafts: list[tuple[int, int, str, dict[str, Any]]] = []
        suspect_ids = [self._id("s") for _ in range(suspects)]
        for suspect in suspect_ids:
            drafts.append(
                (
                    rng.randint(opened, ends - 1),
                    1,
                    "SuspectIdentified",
                    {**cid, "suspect_id": suspect},
                )
            )
        if self._chance(cal.suspension_share):
            span = ends - opened
            drafts.append(
                (opened + int(span * rng.uniform(0.15, 0.45)), 2, "InvestigationSuspended", cid)
            )
            if submitted or self._chance(0.5):
                drafts.append(
                    (opened + int(span * rng.uniform(0.55, 0.9)), 3, "InvestigationResumed", cid)
                )
        if submitted:
            drafts.append(
                (ends, 4, "CaseSubmittedToProsecution", {**cid, "suspect_ids": list(suspect_ids)})
            )
            drafts.append(
                (
                    ends + rng.randint(0, 7),
                    5,
                    "InvestigationClosed",
                    {**cid, "reason": InvestigationCloseReason.SUBMITTED},
                )
            )
        else:
            reason = (
                InvestigationCloseReason.NO_JURISDICTION
                if self._chance(cal.no_jurisdiction_share_of_closed)
                else InvestigationCloseReason.NO_LEADS
            )
            drafts.append((ends, 5, "InvestigationClosed", {**cid, "reason": reason}))
        drafts.sort(key=lambda d: (d[0], d[1]))
        case.opened = opened
        case.opened_known = self._put(
            inv, actor, "InvestigationOpened", opened, cid, floor=report_known
        )
        submitted_known = 0
        for occurred, _, event_type, fields in drafts:
            k = self._put(inv, actor, event_type, occurred, fields)
            if event_type == "CaseSubmittedToProsecution":
                submitted_known = k
                case.investigation_end, case.investigation_end_known = occurred, k
            elif event_type == "InvestigationClosed" and not submitted:
                case.investigation_end, case.investigation_end_known = occurred, k
                case.basis_end, case.basis_end_known = occurred, k
        # Other victims of the same exploitation come forward while the police investigate.
        case.join_from, case.join_until = report, case.investigation_end - 14
        if case.join_until > case.join_from:
            self.open_cases.setdefault((form, region), _CasePool()).add(case)
        if submitted:
            # The OM mostly decides on co-suspects together, and they are mostly tried together.
            together = (
                self._days(cal.registered_to_decision, at_least=1, pace=case.pace),
                self._days(cal.summons_to_hearing, at_least=14, pace=case.pace),
            )
            for suspect in suspect_ids:
                joint = together if self._chance(cal.co_suspects_together_share) else None
                self._prosecute(case, suspect, ends, submitted_known, joint)

    def _prosecute(
        self,
        case: _Case,
        suspect: str,
        submitted: int,
        submitted_known: int,
        joint: tuple[int, int] | None,
    ) -> None:
        """One suspect's course at the OM and in court (the OM registers per suspect)."""
        cal, rng = self.cal, self.rng
        ids = {"case_id": case.case_id, "suspect_id": suspect}
        om = _Chain()
        registered = submitted + self._days(cal.submitted_to_registered)
        k = self._put(om, Actor.OM, "CaseRegistered", registered, ids, floor=submitted_known)
        if case.first_registered is None or registered < case.first_registered:
            case.first_registered, case.first_registered_known = registered, k
        if joint is None:
            deciding = self._days(cal.registered_to_decision, at_least=1, pace=case.pace)
        else:
            deciding = joint[0] + rng.randint(0, 7)
        u = rng.random()
        # A summons takes longer to prepare than a dismissal.
        stretch = (
            cal.summons_decision_stretch if u < cal.summons_share else cal.other_decision_stretch
        )
        decided = registered + max(1, round(deciding * stretch))
        if u >= cal.summons_share:
            if u < cal.summons_share + cal.dismissal_share:
                if self._chance(cal.technical_dismissal_share):
                    kind = DismissalKind.TECHNICAL
                    code = rng.choice(cal.technical_dismissal_codes)
                else:
                    kind, code = DismissalKind.POLICY, rng.choice(cal.policy_dismissal_codes)
                k = self._put(
                    om, Actor.OM, "CaseDismissed", decided, {**ids, "kind": kind, "code": code}
                )
                case.assessment_at_end = True
            else:
                other = OtherDisposalKind(rng.choice(list(OtherDisposalKind)))
                k = self._put(om, Actor.OM, "OtherDisposalDecided", decided, {**ids, "kind": other})
            self._suspect_ended(case, decided, k)
            self._examining_magistrate_until(case, decided)
            return
        k = self._put(om, Actor.OM, "SuspectSummoned", decided, ids)
        if case.summons is None or decided < case.summons[0]:
            case.summons = (decided, k)
        hearing = decided + (
            joint[1]
            if joint is not None
            else self._days(cal.summons_to_hearing, at_least=14, pace=case.pace)
        )
        self._examining_magistrate_until(case, hearing - 7)
        outcome = None
        for instance in (CourtInstance.FIRST_INSTANCE, CourtInstance.APPEAL):
            self._put(om, Actor.OM, "CourtHearingHeld", hearing, {**ids, "instance": instance})
            verdict = hearing + (
                14
                if self._chance(cal.verdict_two_weeks_share)
                else self._days(cal.hearing_to_late_verdict, at_least=15)
            )
            outcome = self._outcome()
            k = self._put(
                om,
                Actor.OM,
                "VerdictDelivered",
                verdict,
                {**ids, "instance": instance, "outcome": outcome},
            )
            if outcome in _CONVICTIONS and (
                case.conviction is None or verdict < case.conviction[0]
            ):
                case.conviction = (verdict, k)
            if instance is CourtInstance.APPEAL or not self._chance(cal.appeal_share):
                break
            lodged = verdict + rng.randint(1, 14)
            self._put(om, Actor.OM, "AppealLodged", lodged, ids)
            hearing = lodged + self._days(cal.appeal_to_hearing, at_least=60)
        # Final once the term for appeal (or cassation) has passed, or after cassation.
        final = verdict + (
            self._days(cal.cassation_duration, at_least=60)
            if self._chance(cal.cassation_share)
            else 15
        )
        k = self._put(om, Actor.OM, "CaseFinal", final, ids)
        if outcome is VerdictOutcome.ACQUITTAL:
            case.assessment_at_end = True
        self._suspect_ended(case, final, k)

    def _outcome(self) -> VerdictOutcome:
        cal, u = self.cal, self.rng.random()
        if u < cal.conviction_trafficking_share:
            return VerdictOutcome.CONVICTION_TRAFFICKING
        u -= cal.conviction_trafficking_share
        if u < cal.conviction_other_offence_share:
            return VerdictOutcome.CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED
        u -= cal.conviction_other_offence_share
        return VerdictOutcome.ACQUITTAL if u < cal.acquittal_share else VerdictOutcome.OTHER

    @staticmethod
    def _suspect_ended(case: _Case, on: int, known: int) -> None:
        # The case runs while any suspect's case runs.
        if case.basis_end == _NEVER or on > case.basis_end:
            case.basis_end, case.basis_end_known = on, known

    @staticmethod
    def _examining_magistrate_until(case: _Case, on: int) -> None:
        # The examining magistrate hears victims before the trial or the decision not to try.
        if case.examining_magistrate_until == _NEVER or on < case.examining_magistrate_until:
            case.examining_magistrate_until = on

    def _victim_in_case(
        self,
        case: _Case,
        victim: str,
        report: int,
        report_known: int,
        out_of_sight: int | None,
        withdrawn: int | None,
        psychologist: int | None,
    ) -> None:
        """The police hear the victim; the examining magistrate may hear the victim too."""
        cal = self.cal
        gone = min(out_of_sight or _NEVER, withdrawn or _NEVER)
        if case.opened is not None:
            heard = max(report + self._days(cal.report_to_victim_heard), case.opened)
            heard = min(heard, case.investigation_end - 1)
            floor = max(case.opened_known, report_known)
            # Registered before the police register the end of the investigation.
            cap = case.investigation_end_known - 1
            if report <= heard < gone and floor <= cap:
                self._put(
                    None,
                    case.actor,
                    "VictimHeard",
                    heard,
                    {
                        "case_id": case.case_id,
                        "victim_id": victim,
                        "with_police_psychologist": psychologist is not None
                        and psychologist <= heard,
                    },
                    floor=floor,
                    cap=cap,
                )
        if case.first_registered is not None and self._chance(cal.examining_magistrate_share):
            lower = max(case.first_registered, report)
            hearing = lower + self._days(cal.registered_to_examining_magistrate)
            until = case.examining_magistrate_until
            if hearing > until and until >= lower:
                hearing = self.rng.randint(lower, until)
            if hearing <= until and hearing < gone:
                self._put(
                    None,
                    Actor.OM,
                    "ExaminingMagistrateHearingHeld",
                    hearing,
                    {"case_id": case.case_id, "victim_id": victim},
                    floor=max(case.first_registered_known, report_known),
                )

    # --- the IND ---

    def _reflection(
        self,
        ind: _Chain,
        victim: str,
        granted: int,
        expiry: int,
        offered_known: int,
        report: int | None,
        report_known: int,
        declined_late: int | None,
        known: dict[str, int],
        out_of_sight: int | None,
    ) -> None:
        vid = {"victim_id": victim}
        self._put(ind, Actor.IND, "ReflectionPeriodGranted", granted, vid, floor=offered_known)
        # On a tie the report wins: a report on the last day ends the period by the report.
        ends: list[tuple[int, ReflectionEndReason, int]] = []
        if report is not None and report <= expiry:
            ends.append((report, ReflectionEndReason.REPORT, report_known))
        ends.append((expiry, ReflectionEndReason.EXPIRED, 0))
        if declined_late is not None:
            ends.append(
                (
                    declined_late,
                    ReflectionEndReason.DECLINED,
                    known.get("ReflectionPeriodDeclined", 0),
                )
            )
        if out_of_sight is not None and out_of_sight < expiry:
            ends.append(
                (out_of_sight, ReflectionEndReason.ENDED_EARLY, known.get("VictimOutOfSight", 0))
            )
        on, reason, floor = min(ends, key=lambda e: e[0])
        self._put(
            ind,
            Actor.IND,
            "ReflectionPeriodEnded",
            max(on, granted),
            {**vid, "reason": reason},
            floor=floor,
        )

    def _permits(
        self,
        ind: _Chain,
        victim: str,
        case: _Case,
        applied: int,
        floor: int,
        out_of_sight: int | None,
        out_of_sight_known: int,
    ) -> bool:
        """The temporary permit (B8/3) and what follows it; True when a permit was granted."""
        cal = self.cal
        vc = {"victim_id": victim, "case_id": case.case_id}
        decided = max(applied + self._days(cal.report_to_permit_decision, at_least=1), ind.occurred)
        gone = out_of_sight or _NEVER
        if (
            gone <= decided
            or case.basis_end <= decided
            or self._chance(cal.temporary_permit_refused_share)
        ):
            self._put(ind, Actor.IND, "TemporaryPermitRefused", decided, vc, floor=floor)
            return False
        valid_until = _plus_months(applied, 12)
        granted_known = self._put(
            ind,
            Actor.IND,
            "TemporaryPermitGranted",
            decided,
            {
                **vc,
                "valid_from": date.fromordinal(applied),
                "valid_until": date.fromordinal(valid_until),
            },
            floor=floor,
        )
        grounds: list[tuple[int, int]] = []
        if case.summons is not None and case.summons[0] >= cal.prosecution_ground_from.toordinal():
            grounds.append(case.summons)
        if case.conviction is not None:
            grounds.append(case.conviction)
        three_years = _plus_months(applied, THREE_YEARS_MONTHS)
        if case.basis_end > three_years:
            grounds.append((three_years, granted_known))
        ground = min(grounds) if grounds else None
        last = decided
        while True:
            due = valid_until - EXTENSION_NOTICE_DAYS
            if (ground is not None and ground[0] <= due) or case.basis_end <= due or gone <= due:
                break
            extended = max(due + self._days(cal.extension_decision_delay), last + 1)
            valid_until = _plus_months(valid_until, 12)
            self._put(
                ind,
                Actor.IND,
                "TemporaryPermitExtended",
                extended,
                {**vc, "valid_until": date.fromordinal(valid_until)},
            )
            last = extended
        if ground is not None and ground[0] < case.basis_end:
            decision = max(ground[0] + self._days(cal.ground_to_non_temporary_decision), last + 1)
            if decision < gone:
                refused = self._chance(cal.non_temporary_refused_share)
                self._put(
                    ind,
                    Actor.IND,
                    "NonTemporaryPermitRefused" if refused else "NonTemporaryPermitGranted",
                    decision,
                    {"victim_id": victim},
                    floor=ground[1],
                )
                return True
        elif case.basis_end != _NEVER:
            ended = max(case.basis_end + self._days(cal.basis_end_to_permit_ended), last + 1)
            if ended < gone:
                self._put(
                    ind,
                    Actor.IND,
                    "TemporaryPermitEnded",
                    ended,
                    {**vc, "end_date": date.fromordinal(case.basis_end)},
                    floor=case.basis_end_known,
                )
                if case.assessment_at_end:
                    assessed = max(case.basis_end + self._days(cal.assessment_duration), ended + 1)
                    if assessed < gone:
                        granted = self._chance(cal.assessment_granted_share)
                        self._put(
                            ind,
                            Actor.IND,
                            "NonTemporaryPermitGranted" if granted else "NonTemporaryPermitRefused",
                            assessed,
                            {"victim_id": victim},
                        )
                return True
        if out_of_sight is not None:
            # Contact lost: the IND ends the permit from that day (retroactively).
            ended = max(out_of_sight + self._days(cal.out_of_sight_to_permit_ended), last + 1)
            self._put(
                ind,
                Actor.IND,
                "TemporaryPermitEnded",
                ended,
                {**vc, "end_date": date.fromordinal(max(out_of_sight, applied))},
                floor=out_of_sight_known,
            )
        return True


def generate(
    seed: int, start: date, end: date, scale: float = 1.0, calibration: Calibration = DEFAULT
) -> Iterator[PlannedCommand]:
    """The plan of a synthetic chain: victims coming into view from `start` on, and every fact
    about them known on or before `end`, ordered by `known_on` (ties in the order drawn).

    `scale` multiplies the inflow (1.0: ≈ 950 victims a year). Deterministic for a seed;
    memory holds the facts still pending, not the plan.
    """
    if end < start:
        return
    simulation = _Simulation(seed, start, end, scale, calibration)
    for signal_on, person in simulation.arrivals():
        # Every fact of this victim and later ones is known on or after `signal_on`.
        yield from simulation.release(signal_on)
        simulation.episode(signal_on, person)
    yield from simulation.release(_NEVER)


def estimate_events(start: date, end: date, scale: float = 1.0) -> int:
    """About how many commands `generate` plans for the window (within ≈ 10%)."""
    days = (end - start).days + 1
    if days <= 0 or scale <= 0:
        return 0
    table = EVENTS_BY_WINDOW
    if days >= table[-1][0]:
        (d0, e0), (d1, e1) = table[-2], table[-1]
        per_day = (e1 - e0) / (d1 - d0)
        return round((e1 + (days - d1) * per_day) * scale)
    index = bisect(table, (days, math.inf))
    (d0, e0), (d1, e1) = table[index - 1], table[index]
    return round((e0 + (e1 - e0) * (days - d0) / (d1 - d0)) * scale)

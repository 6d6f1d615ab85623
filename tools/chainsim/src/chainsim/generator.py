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

import calendar
import heapq
import math
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import accumulate
from random import Random
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar

from chainsim.calibration import (
    DEFAULT,
    DUBLIN_PRESENCE_ASSESSMENT_FROM,
    EVENTS_BY_WINDOW,
    REFLECTION_RULES_CHANGED_ON,
    Calibration,
    Duration,
)
from chainsim.plan import Actor, PlannedCommand
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
_ACTOR_BY_SOURCE: Final = {
    SourceOrganisation.POLICE: Actor.POLICE,
    SourceOrganisation.KMAR: Actor.KMAR,
    SourceOrganisation.LABOUR_INSPECTORATE: Actor.LABOUR_INSPECTORATE,
    # A signal from elsewhere (care, municipality) is registered and taken up by the police.
    SourceOrganisation.OTHER: Actor.POLICE,
}
_CONVICTIONS: Final = frozenset({VerdictOutcome.CONVICTION_TRAFFICKING,
                                 VerdictOutcome.CONVICTION_OTHER_OFFENCE_TRAFFICKING_CHARGED})
_MEASURES: Final = tuple(ProtectionMeasure)


def add_months(ordinal: int, months: int) -> int:
    """`ordinal` + `months` calendar months, the day clipped to the month's end
    (docs/domain.md#calendar)."""
    day = date.fromordinal(ordinal)
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last)).toordinal()


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


@dataclass(slots=True)
class _Chain:
    """Keeps `known_on` from going down along one aggregate's facts."""

    known: int = 0
    occurred: int = 0


@dataclass(order=True, slots=True)
class _Return:
    on: int
    seq: int
    person: _Person = field(compare=False)


class _Simulation:
    def __init__(self, seed: int, start: date, end: date, scale: float,
                 calibration: Calibration) -> None:
        self.rng = Random(seed)
        self.seed = seed
        self.cal = calibration
        self.start = start.toordinal()
        self.end = end.toordinal()
        self.scale = scale
        self.heap: list[tuple[int, int, Actor, str, int, dict[str, Any]]] = []
        self.seq = 0
        self.counters = {"v": 0, "sig": 0, "c": 0, "s": 0}
        self.returns: list[_Return] = []
        self.open_cases: dict[tuple[ExploitationForm, PoliceRegion], list[_Case]] = {}
        cal = calibration
        self.forms = _Choice(list(cal.form_shares.items()))
        self.regions = _Choice(list(cal.region_shares.items()))
        self.third_country_positions = _Choice(list(cal.third_country_positions.items()))
        self.suspect_counts = _Choice(list(cal.suspects_per_case))
        self.cooperation_impossible_reasons = _Choice(
            list(cal.cooperation_impossible_reasons.items()))
        sexual_minors = (cal.form_shares[ExploitationForm.SEXUAL]
                         * cal.minor_share_by_form[ExploitationForm.SEXUAL])
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

    def _put(self, chain: _Chain | None, actor: Actor, event_type: str, occurred: int,
             fields: dict[str, Any], floor: int = 0, cap: int = _NEVER) -> int:
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
            yield PlannedCommand(actor=actor, event_type=event_type,
                                 occurred_on=date.fromordinal(occurred),
                                 known_on=date.fromordinal(known),
                                 fields=MappingProxyType(fields))

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

    # --- one episode of one victim ---

    def episode(self, signal_on: int, person: _Person | None) -> None:
        rng, cal = self.rng, self.cal
        if person is None:
            person = self._new_person()
        else:
            # A victim who comes back: same person, often the same form, older.
            if not self._chance(0.6):
                person.form = self.forms.draw(rng)
            person.minor = person.minor and self._chance(0.5)
        form, minor, nationality = person.form, person.minor, person.nationality
        victim = person.victim_id
        third_country = nationality is NationalityGroup.THIRD_COUNTRY
        if form is ExploitationForm.LABOUR and self._chance(cal.labour_inspectorate_share_labour):
            source = SourceOrganisation.LABOUR_INSPECTORATE
        elif third_country and self._chance(cal.kmar_share_third_country):
            source = SourceOrganisation.KMAR
        elif self._chance(cal.other_source_share):
            source = SourceOrganisation.OTHER
        else:
            source = SourceOrganisation.POLICE
        actor = _ACTOR_BY_SOURCE[source]

        # Intake drafts: (occurred, precedence, event type, fields); the precedence orders
        # facts of one day as a source would register them.
        drafts: list[tuple[int, int, str, dict[str, Any]]] = [(signal_on, 0, "SignalRegistered", {
            "victim_id": victim, "signal_id": self._id("sig"), "source_organisation": source,
            "form": form, "minor": minor, "nationality_group": nationality,
            "residence_position": person.position, "region": person.region})]
        vid = {"victim_id": victim}

        # R1: who must be offered the reflection period, by the rules in force that day. The
        # offer lies on or after the signal, so intake's R4 check (by the offer's date, with its
        # default lawful-residents date 2023-05-18) allows every offer planned here; none to a
        # victim whose reports so far are all a witness's, which intake refuses.
        eligible = third_country and not person.witness_only and (
            signal_on >= _REFLECTION_RULES_CHANGED
            or person.position is ResidencePosition.IRREGULAR)
        offered = declined = granted = expiry = None
        if eligible and self._chance(cal.reflection_offer_compliance):
            offered = signal_on + self._days(Duration(0.5, 1.2))
            drafts.append((offered, 1, "ReflectionPeriodOffered", vid))
            if self._chance(cal.reflection_declined_share):
                declined = offered + rng.randint(0, 3)
                drafts.append((declined, 2, "ReflectionPeriodDeclined", vid))
            elif not person.permit:
                # A victim who already holds a permit has lawful stay: nothing to grant.
                granted = offered + self._days(cal.reflection_grant_delay)
                expiry = (granted + 30 if person.position is ResidencePosition.DUBLIN_CLAIMANT
                          else add_months(granted, 3))

        enrolled = None
        interventions: list[tuple[int, str]] = []
        pilot_eligible = (form is ExploitationForm.SEXUAL and minor and not person.enrolled
                          and cal.pilot_from.toordinal() <= signal_on
                          <= cal.pilot_until.toordinal())
        if pilot_eligible and self._chance(self.pilot_share):
            person.enrolled = True
            enrolled = signal_on + self._days(Duration(7.0, 0.6))
            drafts.append((enrolled, 4, "PilotEnrolled", {**vid, "cohort": cal.pilot_cohort}))
            kinds = ("PolicePsychologistDeployed", "SafetyCoordinatorAssigned",
                     "PeerSupportAssigned")
            chosen = [k for k, share in zip(kinds, cal.pilot_intervention_shares, strict=True)
                      if self._chance(share)] or [kinds[rng.randrange(3)]]
            for kind in chosen:
                interventions.append((enrolled + self._days(Duration(10.0, 0.8)), kind))
            drafts.extend((on, 5, kind, vid) for on, kind in interventions)

        # Does the victim report, and when?
        if enrolled is not None:
            report_share = cal.pilot_report_share
        elif nationality is NationalityGroup.DUTCH:
            report_share = cal.report_share_dutch_minor if minor else cal.report_share_dutch_adult
        elif third_country:
            report_share = cal.report_share_third_country
        else:
            report_share = cal.report_share_other_eu
        report: int | None = None
        if self._chance(report_share):
            if nationality is not NationalityGroup.DUTCH:
                wait = cal.time_to_report_foreign
            elif minor:
                wait = cal.time_to_report_dutch_minor
            else:
                wait = cal.time_to_report_dutch_adult
            report = signal_on + self._days(wait)
            if enrolled is not None:
                report = max(report, enrolled + 7)
            if granted is not None and expiry is not None:
                if report <= granted:
                    # Reported before the IND decided: the report itself is the application.
                    granted = expiry = None
                elif report > expiry:
                    # The reflection period is the time to decide: most decide within it.
                    report = max(granted + 1, expiry - rng.randint(0, 5))

        out_of_sight = None
        if self._chance(cal.out_of_sight_share[nationality]):
            out_of_sight = signal_on + self._days(cal.time_to_out_of_sight)
            if report is not None and out_of_sight <= report:
                report = None
            if offered is not None and out_of_sight <= offered:
                offered = granted = expiry = None
            elif granted is not None and out_of_sight <= granted:
                granted = expiry = None
        declined_late = None
        if (granted is not None and expiry is not None and report is None
                and expiry - granted > 6
                and self._chance(cal.reflection_declined_after_grant_share)):
            declined_late = rng.randint(granted + 3, expiry - 3)
            drafts.append((declined_late, 2, "ReflectionPeriodDeclined", vid))

        def before_out_of_sight(on: int) -> bool:
            return out_of_sight is None or on < out_of_sight

        if report is not None:
            if self._chance(cal.informative_interview_share_reporting):
                interview = signal_on + int((report - signal_on) * rng.uniform(0.2, 0.8))
                drafts.append((interview, 3, "InformativeInterviewHeld", vid))
        elif self._chance(cal.informative_interview_share_not_reporting):
            interview = signal_on + self._days(Duration(14.0, 0.8))
            if before_out_of_sight(interview):
                drafts.append((interview, 3, "InformativeInterviewHeld", vid))

        case: _Case | None = None
        new_case = False
        withdrawn = None
        if report is not None:
            case, new_case = self._case_for(signal_on, report, person, actor)
            person.cases.append(case.case_id)
            vc = {**vid, "case_id": case.case_id}
            if self._chance(cal.cooperation_share):
                # A victim's cooperation: intake counts it beside the reports (R1).
                person.capacities.add(ReportingCapacity.VICTIM)
                drafts.append((report, 6, "CooperationDeclared", vc))
            else:
                # Only where no offer was made in this episode (see the calibration).
                witness = offered is None and self._chance(cal.witness_report_share)
                capacity = ReportingCapacity.WITNESS if witness else ReportingCapacity.VICTIM
                person.capacities.add(capacity)
                drafts.append((report, 6, "ReportFiled", {
                    **vc, "under_number": self._chance(cal.under_number_share),
                    "capacity": capacity}))
                if self._chance(cal.report_withdrawn_share):
                    withdrawn = report + self._days(Duration(60.0, 0.8), at_least=1)
                    if before_out_of_sight(withdrawn):
                        drafts.append((withdrawn, 8, "ReportWithdrawn", vc))
                    else:
                        withdrawn = None
            if self._chance(cal.individual_assessment_share):
                assessed = report + self._days(Duration(14.0, 0.8))
                measures = sorted(rng.sample(_MEASURES, rng.randint(1, 4)))
                if before_out_of_sight(assessed):
                    drafts.append((assessed, 7, "IndividualAssessmentCompleted",
                                   {**vid, "measures": measures}))
        elif (nationality is not NationalityGroup.DUTCH
              and self._chance(cal.cooperation_impossible_share)):
            # No report: the police record that the victim cannot cooperate (Vc B8/3).
            impossible = signal_on + self._days(cal.time_to_cooperation_impossible)
            drafts.append((impossible, 6, "CooperationImpossibleRecorded", {
                **vid, "reason": self.cooperation_impossible_reasons.draw(rng)}))
        if out_of_sight is not None:
            drafts = [d for d in drafts if d[0] < out_of_sight]
            drafts.append((out_of_sight, 9, "VictimOutOfSight", vid))

        # The intake facts, in the order they happened.
        drafts.sort(key=lambda d: (d[0], d[1]))
        intake = _Chain()
        known: dict[str, int] = {}
        for occurred, _, event_type, fields in drafts:
            known.setdefault(event_type, self._put(intake, actor, event_type, occurred, fields))
        report_known = known.get("ReportFiled", known.get("CooperationDeclared", 0))

        ind = _Chain()
        if (nationality is NationalityGroup.OTHER_EU and not person.no_eu_right
                and self._chance(cal.no_eu_right_share)):
            # The IND's finding on an EU national: B8 applies (the only IND fact of the
            # episode, because the reflection period and permits below are third-country).
            person.no_eu_right = True
            found = signal_on + self._days(cal.signal_to_no_eu_right_found)
            self._put(ind, Actor.IND, "NoEuResidenceRightFound", found, vid,
                      floor=known["SignalRegistered"])
        reflection_known = 0
        permit_granted = transfer = False
        presence: tuple[int, int, bool] | None = None
        if case is not None and report is not None:
            if new_case:
                self._run_case(case, report, report_known, form, person.region)
            psychologist = next((on for on, kind in interventions
                                 if kind == "PolicePsychologistDeployed"), None)
            self._victim_in_case(case, victim, report, report_known, out_of_sight, withdrawn,
                                 psychologist)
            if (person.position is ResidencePosition.DUBLIN_CLAIMANT
                    and report >= _DUBLIN_ASSESSMENT_FROM):
                assessed = report + self._days(cal.report_to_presence_assessed, at_least=1)
                necessary = self._chance(cal.presence_necessary_share)
                k = self._put(None, Actor.OM, "PresenceAssessed", assessed, {
                    "case_id": case.case_id, "victim_id": victim,
                    "presence_necessary": necessary}, floor=report_known)
                presence = (assessed, k, necessary)
        # The IND's side: only third-country nationals without another lawful stay.
        if granted is not None and expiry is not None and offered is not None:
            self._reflection(ind, victim, granted, expiry, known["ReflectionPeriodOffered"],
                             report, report_known, declined_late, known, out_of_sight)
            reflection_known = ind.known
        if (case is not None and report is not None and third_country
                and person.position is not ResidencePosition.LAWFUL):
            if presence is not None and not presence[2]:
                resumed = presence[0] + self._days(cal.presence_to_transfer_resumed)
                self._put(ind, Actor.IND, "DublinTransferResumed", resumed, vid,
                          floor=presence[1])
                transfer = True
            else:
                floor = report_known if presence is None else max(report_known, presence[1])
                permit_granted = self._permits(ind, victim, case, report, floor, out_of_sight,
                                               known.get("VictimOutOfSight", 0))
        if permit_granted:
            person.position, person.permit = ResidencePosition.LAWFUL, True

        # Repeat victimisation: the victim comes into view again within five years.
        if not transfer and self._chance(cal.repeat_share):
            back = signal_on + self._days(cal.repeat_delay, at_least=90)
            # Not before intake and the IND have registered this episode: a new signal opens
            # a new intake episode for the victim.
            back = max(back, intake.known + 30, reflection_known + 30)
            if not person.permit:
                # The IND's facts of the next episode follow this episode's.
                back = max(back, ind.known + 30)
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
        position = (self.third_country_positions.draw(rng)
                    if nationality is NationalityGroup.THIRD_COUNTRY
                    else ResidencePosition.LAWFUL)
        return _Person(victim_id=self._id("v"), nationality=nationality, position=position,
                       minor=minor, form=form, region=self.regions.draw(rng))

    # --- cases ---

    def _case_for(self, today: int, report: int, person: _Person,
                  actor: Actor) -> tuple[_Case, bool]:
        """An open case of the same form and region that the victim joins, or a new case
        (True) whose course is drawn once the report is planned."""
        pool = self.open_cases.get((person.form, person.region))
        if pool:
            # Every later report lies on or after today: closed windows can go.
            pool[:] = [c for c in pool if c.join_until >= today]
            candidates = [c for c in pool if c.join_from <= report <= c.join_until
                          and c.case_id not in person.cases]
            if candidates and self._chance(self.cal.join_existing_case_share):
                return candidates[self.rng.randrange(len(candidates))], False
        return _Case(case_id=self._id("c"), actor=actor), True

    def _run_case(self, case: _Case, report: int, report_known: int, form: ExploitationForm,
                  region: PoliceRegion) -> None:
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
            drafts.append((rng.randint(opened, ends - 1), 1, "SuspectIdentified",
                           {**cid, "suspect_id": suspect}))
        if self._chance(cal.suspension_share):
            span = ends - opened
            drafts.append((opened + int(span * rng.uniform(0.15, 0.45)), 2,
                           "InvestigationSuspended", cid))
            if submitted or self._chance(0.5):
                drafts.append((opened + int(span * rng.uniform(0.55, 0.9)), 3,
                               "InvestigationResumed", cid))
        if submitted:
            drafts.append((ends, 4, "CaseSubmittedToProsecution",
                           {**cid, "suspect_ids": list(suspect_ids)}))
            drafts.append((ends + rng.randint(0, 7), 5, "InvestigationClosed",
                           {**cid, "reason": InvestigationCloseReason.SUBMITTED}))
        else:
            reason = (InvestigationCloseReason.NO_JURISDICTION
                      if self._chance(cal.no_jurisdiction_share_of_closed)
                      else InvestigationCloseReason.NO_LEADS)
            drafts.append((ends, 5, "InvestigationClosed", {**cid, "reason": reason}))
        drafts.sort(key=lambda d: (d[0], d[1]))
        case.opened = opened
        case.opened_known = self._put(inv, actor, "InvestigationOpened", opened, cid,
                                      floor=report_known)
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
            self.open_cases.setdefault((form, region), []).append(case)
        if submitted:
            # The OM mostly decides on co-suspects together, and they are mostly tried together.
            together = (self._days(cal.registered_to_decision, at_least=1, pace=case.pace),
                        self._days(cal.summons_to_hearing, at_least=14, pace=case.pace))
            for suspect in suspect_ids:
                joint = (together if self._chance(cal.co_suspects_together_share) else None)
                self._prosecute(case, suspect, ends, submitted_known, joint)

    def _prosecute(self, case: _Case, suspect: str, submitted: int, submitted_known: int,
                   joint: tuple[int, int] | None) -> None:
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
        stretch = (cal.summons_decision_stretch if u < cal.summons_share
                   else cal.other_decision_stretch)
        decided = registered + max(1, round(deciding * stretch))
        if u >= cal.summons_share:
            if u < cal.summons_share + cal.dismissal_share:
                if self._chance(cal.technical_dismissal_share):
                    kind = DismissalKind.TECHNICAL
                    code = rng.choice(cal.technical_dismissal_codes)
                else:
                    kind, code = DismissalKind.POLICY, rng.choice(cal.policy_dismissal_codes)
                k = self._put(om, Actor.OM, "CaseDismissed", decided,
                              {**ids, "kind": kind, "code": code})
                case.assessment_at_end = True
            else:
                other = OtherDisposalKind(rng.choice(list(OtherDisposalKind)))
                k = self._put(om, Actor.OM, "OtherDisposalDecided", decided,
                              {**ids, "kind": other})
            self._suspect_ended(case, decided, k)
            self._examining_magistrate_until(case, decided)
            return
        k = self._put(om, Actor.OM, "SuspectSummoned", decided, ids)
        if case.summons is None or decided < case.summons[0]:
            case.summons = (decided, k)
        hearing = decided + (joint[1] if joint is not None else
                             self._days(cal.summons_to_hearing, at_least=14, pace=case.pace))
        self._examining_magistrate_until(case, hearing - 7)
        outcome = None
        for instance in (CourtInstance.FIRST_INSTANCE, CourtInstance.APPEAL):
            self._put(om, Actor.OM, "CourtHearingHeld", hearing, {**ids, "instance": instance})
            verdict = hearing + (14 if self._chance(cal.verdict_two_weeks_share)
                                 else self._days(cal.hearing_to_late_verdict, at_least=15))
            outcome = self._outcome()
            k = self._put(om, Actor.OM, "VerdictDelivered", verdict,
                          {**ids, "instance": instance, "outcome": outcome})
            if outcome in _CONVICTIONS and (case.conviction is None
                                            or verdict < case.conviction[0]):
                case.conviction = (verdict, k)
            if instance is CourtInstance.APPEAL or not self._chance(cal.appeal_share):
                break
            lodged = verdict + rng.randint(1, 14)
            self._put(om, Actor.OM, "AppealLodged", lodged, ids)
            hearing = lodged + self._days(cal.appeal_to_hearing, at_least=60)
        # Final once the term for appeal (or cassation) has passed, or after cassation.
        final = verdict + (self._days(cal.cassation_duration, at_least=60)
                           if self._chance(cal.cassation_share) else 15)
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

    def _victim_in_case(self, case: _Case, victim: str, report: int, report_known: int,
                        out_of_sight: int | None, withdrawn: int | None,
                        psychologist: int | None) -> None:
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
                self._put(None, case.actor, "VictimHeard", heard, {
                    "case_id": case.case_id, "victim_id": victim,
                    "with_police_psychologist": psychologist is not None and psychologist <= heard,
                }, floor=floor, cap=cap)
        if case.first_registered is not None and self._chance(cal.examining_magistrate_share):
            lower = max(case.first_registered, report)
            hearing = lower + self._days(cal.registered_to_examining_magistrate)
            until = case.examining_magistrate_until
            if hearing > until and until >= lower:
                hearing = self.rng.randint(lower, until)
            if hearing <= until and hearing < gone:
                self._put(None, Actor.OM, "ExaminingMagistrateHearingHeld", hearing, {
                    "case_id": case.case_id, "victim_id": victim},
                    floor=max(case.first_registered_known, report_known))

    # --- the IND ---

    def _reflection(self, ind: _Chain, victim: str, granted: int, expiry: int,
                    offered_known: int, report: int | None, report_known: int,
                    declined_late: int | None, known: dict[str, int],
                    out_of_sight: int | None) -> None:
        vid = {"victim_id": victim}
        self._put(ind, Actor.IND, "ReflectionPeriodGranted", granted, vid, floor=offered_known)
        # On a tie the report wins: a report on the last day ends the period by the report.
        ends: list[tuple[int, ReflectionEndReason, int]] = []
        if report is not None and report <= expiry:
            ends.append((report, ReflectionEndReason.REPORT, report_known))
        ends.append((expiry, ReflectionEndReason.EXPIRED, 0))
        if declined_late is not None:
            ends.append((declined_late, ReflectionEndReason.DECLINED,
                         known.get("ReflectionPeriodDeclined", 0)))
        if out_of_sight is not None and out_of_sight < expiry:
            ends.append((out_of_sight, ReflectionEndReason.ENDED_EARLY,
                         known.get("VictimOutOfSight", 0)))
        on, reason, floor = min(ends, key=lambda e: e[0])
        self._put(ind, Actor.IND, "ReflectionPeriodEnded", max(on, granted),
                  {**vid, "reason": reason}, floor=floor)

    def _permits(self, ind: _Chain, victim: str, case: _Case, applied: int, floor: int,
                 out_of_sight: int | None, out_of_sight_known: int) -> bool:
        """The temporary permit (B8/3) and what follows it; True when a permit was granted."""
        cal = self.cal
        vc = {"victim_id": victim, "case_id": case.case_id}
        decided = max(applied + self._days(cal.report_to_permit_decision, at_least=1),
                      ind.occurred)
        gone = out_of_sight or _NEVER
        if gone <= decided or case.basis_end <= decided or self._chance(
                cal.temporary_permit_refused_share):
            self._put(ind, Actor.IND, "TemporaryPermitRefused", decided, vc, floor=floor)
            return False
        valid_until = add_months(applied, 12)
        granted_known = self._put(ind, Actor.IND, "TemporaryPermitGranted", decided, {
            **vc, "valid_from": date.fromordinal(applied),
            "valid_until": date.fromordinal(valid_until)}, floor=floor)
        grounds: list[tuple[int, int]] = []
        if case.summons is not None and case.summons[0] >= cal.prosecution_ground_from.toordinal():
            grounds.append(case.summons)
        if case.conviction is not None:
            grounds.append(case.conviction)
        three_years = add_months(applied, 36)
        if case.basis_end > three_years:
            grounds.append((three_years, granted_known))
        ground = min(grounds) if grounds else None
        last = decided
        while True:
            due = valid_until - 30
            if ((ground is not None and ground[0] <= due) or case.basis_end <= due
                    or gone <= due):
                break
            extended = max(due + self._days(cal.extension_decision_delay), last + 1)
            valid_until = add_months(valid_until, 12)
            self._put(ind, Actor.IND, "TemporaryPermitExtended", extended,
                      {**vc, "valid_until": date.fromordinal(valid_until)})
            last = extended
        if ground is not None and ground[0] < case.basis_end:
            decision = max(ground[0] + self._days(cal.ground_to_non_temporary_decision),
                           last + 1)
            if decision < gone:
                refused = self._chance(cal.non_temporary_refused_share)
                self._put(ind, Actor.IND, "NonTemporaryPermitRefused" if refused
                          else "NonTemporaryPermitGranted", decision, {"victim_id": victim},
                          floor=ground[1])
                return True
        elif case.basis_end != _NEVER:
            ended = max(case.basis_end + self._days(cal.basis_end_to_permit_ended), last + 1)
            if ended < gone:
                self._put(ind, Actor.IND, "TemporaryPermitEnded", ended, {
                    **vc, "end_date": date.fromordinal(case.basis_end)},
                    floor=case.basis_end_known)
                if case.assessment_at_end:
                    assessed = max(case.basis_end + self._days(cal.assessment_duration),
                                   ended + 1)
                    if assessed < gone:
                        granted = self._chance(cal.assessment_granted_share)
                        self._put(ind, Actor.IND, "NonTemporaryPermitGranted" if granted
                                  else "NonTemporaryPermitRefused", assessed,
                                  {"victim_id": victim})
                return True
        if out_of_sight is not None:
            # Contact lost: the IND ends the permit from that day (retroactively).
            ended = max(out_of_sight + self._days(cal.out_of_sight_to_permit_ended), last + 1)
            self._put(ind, Actor.IND, "TemporaryPermitEnded", ended, {
                **vc, "end_date": date.fromordinal(max(out_of_sight, applied))},
                floor=out_of_sight_known)
        return True


def generate(seed: int, start: date, end: date, scale: float = 1.0,
             calibration: Calibration = DEFAULT) -> Iterator[PlannedCommand]:
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

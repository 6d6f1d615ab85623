"""Helpers of the chainsim tests: a checker that reads a plan as the chain's systems would and
lists every inconsistency (facts out of order within a victim, a case or a suspect, or resting
on facts not yet known), and a collector of the milestones the calibration is judged on."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from chainsim import PlannedCommand, Scenario
from chainsim.plan import MATCHED
from intake.domain.reflection_offer import SignalSituation, reflection_offer_refusal

PSEUDONYM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
ID_FIELDS = ("victim_id", "case_id", "suspect_id", "signal_id")


@dataclass
class _Victim:
    signal: date | None = None
    offered: bool = False
    declined: bool = False
    enrolled: date | None = None
    out_of_sight: bool = False
    reports: dict[str, date] = field(default_factory=dict)
    cooperations: set[str] = field(default_factory=set)
    withdrawn: set[str] = field(default_factory=set)
    situations: list[SignalSituation] = field(default_factory=list)
    capacities: list[tuple[date, str]] = field(default_factory=list)
    cooperation_impossible: set[str] = field(default_factory=set)


@dataclass
class _Suspect:
    registered: date | None = None
    decided: str = ""
    summoned: date | None = None
    hearings: dict[str, date] = field(default_factory=dict)
    verdicts: dict[str, date] = field(default_factory=dict)
    appealed: date | None = None
    final: date | None = None
    last: date = date.min


@dataclass
class _Investigation:
    opened: date | None = None
    no_investigation: date | None = None
    suspended: bool = False
    submitted: date | None = None
    closed: date | None = None
    suspects: set[str] = field(default_factory=set)
    last: date = date.min


@dataclass
class _Residence:
    reflection_granted: date | None = None
    reflection_ended: bool = False
    permits: dict[str, date] = field(default_factory=dict)  # case → valid_until
    permit_ended: set[str] = field(default_factory=set)
    non_temporary: bool = False
    last: date = date.min


class LifecycleChecker:
    """Feed commands in plan order; `problems` lists what a strict system would refuse."""

    def __init__(self, end: date) -> None:
        self.end = end
        self.problems: list[str] = []
        self.victims: dict[str, _Victim] = defaultdict(_Victim)
        self.investigations: dict[str, _Investigation] = defaultdict(_Investigation)
        self.suspects: dict[str, _Suspect] = defaultdict(_Suspect)
        self.residence: dict[str, _Residence] = defaultdict(_Residence)
        self.registered_cases: set[str] = set()
        self.previous: tuple[date, int] | None = None
        self.count = 0

    def fail(self, command: PlannedCommand, what: str) -> None:
        if len(self.problems) < 50:
            self.problems.append(f"{what}: {command}")

    def check_all(self, commands: Iterable[PlannedCommand]) -> LifecycleChecker:
        for command in commands:
            self.check(command)
        return self

    def check(self, c: PlannedCommand) -> None:
        self.count += 1
        f = c.fields
        if c.known_on < c.occurred_on:
            self.fail(c, "known before it occurred")
        if c.known_on > self.end:
            self.fail(c, "known after the end")
        if self.previous is not None and c.known_on < self.previous[0]:
            self.fail(c, "plan not ordered by known_on")
        self.previous = (c.known_on, self.count)
        for name in ID_FIELDS:
            if name in f and not PSEUDONYM.match(f[name]):
                self.fail(c, f"{name} is not a pseudonym")
        handler = getattr(self, f"_{c.service}")
        handler(c, f)

    # --- intake ---

    def _intake(self, c: PlannedCommand, f: dict[str, object]) -> None:
        v = self.victims[str(f["victim_id"])]
        on = c.occurred_on
        if c.event_type == "SignalRegistered":
            if v.signal is not None and on < v.signal:
                self.fail(c, "a new signal before the previous one")
            v.signal = on
            v.offered = v.declined = v.out_of_sight = False
            v.cooperation_impossible = set()
            v.situations.append(
                SignalSituation(on, str(f["nationality_group"]), str(f["residence_position"]))
            )
            return
        if v.signal is None:
            self.fail(c, "intake fact before the victim's signal is known")
            return
        if on < v.signal:
            self.fail(c, "intake fact dated before the signal")
        if v.out_of_sight:
            self.fail(c, "intake fact after the victim went out of sight")
        match c.event_type:
            case "ReflectionPeriodOffered":
                if v.offered:
                    self.fail(c, "reflection period offered twice")
                # Intake's own rule (R4 where the facts are owned), as intake applies it.
                situation = max(
                    (s for s in v.situations if s.signalled_on <= on), key=lambda s: s.signalled_on
                )
                if reflection_offer_refusal(situation, on, [k for d, k in v.capacities if d <= on]):
                    self.fail(c, "a reflection offer intake refuses")
                v.offered = True
            case "ReflectionPeriodDeclined":
                if not v.offered or v.declined:
                    self.fail(c, "declined without an offer, or twice")
                v.declined = True
            case "ReportFiled" | "CooperationDeclared":
                case_id = str(f["case_id"])
                v.capacities.append((on, str(f.get("capacity", "VICTIM"))))
                if c.event_type == "CooperationDeclared":
                    v.cooperations.add(case_id)
                elif case_id in v.reports:
                    self.fail(c, "second report in one case")
                else:
                    v.reports[case_id] = on
            case "ReportWithdrawn":
                case_id = str(f["case_id"])
                if case_id not in v.reports or on < v.reports[case_id]:
                    self.fail(c, "withdrawal without an earlier report")
                if case_id in v.withdrawn:
                    self.fail(c, "withdrawn twice")
                v.withdrawn.add(case_id)
            case "CooperationImpossibleRecorded":
                if str(f["reason"]) in v.cooperation_impossible:
                    self.fail(c, "the same reason recorded twice after one signal")
                v.cooperation_impossible.add(str(f["reason"]))
            case "VictimOutOfSight":
                v.out_of_sight = True
            case "PilotEnrolled":
                if v.enrolled is not None:
                    self.fail(c, "enrolled twice")
                v.enrolled = on
            case "PolicePsychologistDeployed" | "SafetyCoordinatorAssigned" | "PeerSupportAssigned":
                if v.enrolled is None or on < v.enrolled:
                    self.fail(c, "pilot intervention without enrolment")

    # --- investigation ---

    def _investigation(self, c: PlannedCommand, f: dict[str, object]) -> None:
        i = self.investigations[str(f["case_id"])]
        on = c.occurred_on
        if c.event_type == "VictimHeard":
            # A victim's hearing is the victim's fact within the case: it may be registered
            # late, but only while the investigation is open and within its dates.
            if i.opened is None or i.closed is not None or on < i.opened:
                self.fail(c, "victim heard outside the open investigation")
            if not self._in_case(str(f["victim_id"]), str(f["case_id"])):
                self.fail(c, "heard a victim who did not report in the case")
            return
        if on < i.last:
            self.fail(c, "investigation facts out of order")
        i.last = max(i.last, on)
        if c.event_type == "NoInvestigationDecided":
            if i.opened is not None:
                self.fail(c, "no investigation after one was opened")
            i.no_investigation = on
            return
        if c.event_type == "InvestigationOpened":
            if i.opened is not None or i.no_investigation is not None:
                self.fail(c, "opened twice, or after no investigation")
            i.opened = on
            return
        if i.opened is None:
            self.fail(c, "investigation fact before the investigation was opened")
        if i.closed is not None:
            self.fail(c, "investigation fact after it was closed")
        match c.event_type:
            case "SuspectIdentified":
                i.suspects.add(str(f["suspect_id"]))
            case "InvestigationSuspended":
                i.suspended = True
            case "InvestigationResumed":
                if not i.suspended:
                    self.fail(c, "resumed without suspension")
                i.suspended = False
            case "CaseSubmittedToProsecution":
                if not set(f["suspect_ids"]) <= i.suspects:  # type: ignore[call-overload]
                    self.fail(c, "submitted a suspect never identified")
                i.submitted = on
            case "InvestigationClosed":
                submitted = f["reason"] == "SUBMITTED"
                if submitted != (i.submitted is not None):
                    self.fail(c, "close reason does not match the submission")
                i.closed = on

    # --- prosecution ---

    def _prosecution(self, c: PlannedCommand, f: dict[str, object]) -> None:
        on = c.occurred_on
        case_id = str(f["case_id"])
        if c.event_type in ("ExaminingMagistrateHearingHeld", "PresenceAssessed"):
            if not self._in_case(str(f["victim_id"]), case_id):
                self.fail(c, "victim fact at the OM before the victim's report")
            if (
                c.event_type == "ExaminingMagistrateHearingHeld"
                and case_id not in self.registered_cases
            ):
                self.fail(c, "examining magistrate before the OM registered the case")
            return
        s = self.suspects[str(f["suspect_id"])]
        if on < s.last:
            self.fail(c, "suspect facts out of order")
        s.last = max(s.last, on)
        if s.final is not None:
            self.fail(c, "fact after the case was final")
        match c.event_type:
            case "CaseRegistered":
                if s.registered is not None:
                    self.fail(c, "registered twice")
                s.registered = on
                self.registered_cases.add(case_id)
            case "SuspectSummoned" | "CaseDismissed" | "OtherDisposalDecided":
                if s.registered is None or s.decided:
                    self.fail(c, "decision without registration, or a second decision")
                s.decided = c.event_type
                if c.event_type == "SuspectSummoned":
                    s.summoned = on
            case "CourtHearingHeld":
                if s.summoned is None:
                    self.fail(c, "hearing without summons")
                instance = str(f["instance"])
                if instance == "APPEAL" and s.appealed is None:
                    self.fail(c, "appeal hearing without appeal")
                s.hearings.setdefault(instance, on)
            case "VerdictDelivered":
                instance = str(f["instance"])
                if instance not in s.hearings or instance in s.verdicts:
                    self.fail(c, "verdict without hearing, or twice")
                s.verdicts[instance] = on
            case "AppealLodged":
                if "FIRST_INSTANCE" not in s.verdicts or s.appealed is not None:
                    self.fail(c, "appeal without first-instance verdict")
                s.appealed = on
            case "CaseFinal":
                if not s.verdicts:
                    self.fail(c, "final without verdict")
                if s.appealed is not None and "APPEAL" not in s.verdicts:
                    self.fail(c, "final while the appeal runs")
                s.final = on

    # --- residence (the IND) ---

    def _residence(self, c: PlannedCommand, f: dict[str, object]) -> None:
        r = self.residence[str(f["victim_id"])]
        v = self.victims[str(f["victim_id"])]
        on = c.occurred_on
        if v.signal is None:
            self.fail(c, "IND decision about a victim intake never saw")
        if on < r.last:
            self.fail(c, "IND decisions out of order")
        r.last = max(r.last, on)
        match c.event_type:
            case "ReflectionPeriodGranted":
                if not v.offered:
                    self.fail(c, "reflection period granted without an offer")
                r.reflection_granted, r.reflection_ended = on, False
            case "ReflectionPeriodEnded":
                if r.reflection_granted is None or r.reflection_ended:
                    self.fail(c, "reflection period ended without a grant")
                if f["reason"] == "REPORT" and not (v.reports or v.cooperations):
                    self.fail(c, "ended by a report that is not there")
                r.reflection_ended = True
            case "TemporaryPermitGranted" | "TemporaryPermitRefused":
                case_id = str(f["case_id"])
                if not self._in_case(str(f["victim_id"]), case_id):
                    self.fail(c, "permit decision without report or cooperation")
                if c.event_type == "TemporaryPermitGranted":
                    valid_from = f["valid_from"]
                    if not isinstance(valid_from, date) or valid_from > on:
                        self.fail(c, "permit valid from after its grant")
                    r.permits[case_id] = f["valid_until"]  # type: ignore[assignment]
            case "TemporaryPermitExtended" | "TemporaryPermitEnded":
                case_id = str(f["case_id"])
                if case_id not in r.permits or case_id in r.permit_ended:
                    self.fail(c, "extended or ended a permit never granted (or ended)")
                if c.event_type == "TemporaryPermitExtended":
                    if f["valid_until"] <= r.permits.get(case_id, date.max):  # type: ignore[operator]
                        self.fail(c, "extension does not extend")
                    r.permits[case_id] = f["valid_until"]  # type: ignore[assignment]
                else:
                    r.permit_ended.add(case_id)
            case "NonTemporaryPermitGranted" | "NonTemporaryPermitRefused":
                if not r.permits:
                    self.fail(c, "non-temporary decision without a temporary permit")
                r.non_temporary = True
            case "NoEuResidenceRightFound":
                if not v.situations or v.situations[-1].nationality_group != "OTHER_EU":
                    self.fail(c, "no EU right of residence found for a victim not from the EU")

    def _in_case(self, victim_id: str, case_id: str) -> bool:
        victim = self.victims[victim_id]
        return case_id in victim.reports or case_id in victim.cooperations


@dataclass
class Milestones:
    """The first `occurred_on` of each milestone (docs/domain.md#lead-times), per victim, case
    and suspect."""

    first_signal: dict[str, date] = field(default_factory=dict)
    signals: dict[str, list[date]] = field(default_factory=lambda: defaultdict(list))
    attributes: dict[str, dict[str, object]] = field(default_factory=dict)
    first_report: dict[str, date] = field(default_factory=dict)  # victim (ReportFiled only)
    first_comes_forward: dict[str, date] = field(default_factory=dict)  # report or cooperation
    case_report: dict[str, date] = field(default_factory=dict)  # T2 per case
    case_victims: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    case_registered: dict[str, date] = field(default_factory=dict)  # T3 per case
    case_suspects: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    case_verdict: dict[str, date] = field(default_factory=dict)  # T7 per case
    magistrate: dict[tuple[str, str], date] = field(default_factory=dict)  # T4 per case, victim
    registered: dict[str, date] = field(default_factory=dict)  # per suspect
    decided: dict[str, tuple[str, date]] = field(default_factory=dict)
    verdict: dict[str, tuple[str, date]] = field(default_factory=dict)
    case_of_suspect: dict[str, str] = field(default_factory=dict)
    reflection_offers_by_year: Counter[int] = field(default_factory=Counter)
    registrations_by_year: Counter[int] = field(default_factory=Counter)
    latest_signal: dict[str, dict[str, object]] = field(default_factory=dict)
    pilot: dict[str, dict[str, object]] = field(default_factory=dict)  # the enrolling signal
    pilot_interventions: Counter[str] = field(default_factory=Counter)
    witness_reports: int = 0
    cooperation_impossible: dict[str, str] = field(default_factory=dict)  # victim → reason
    no_eu_right_found: set[str] = field(default_factory=set)
    late_registrations: int = 0
    commands: int = 0
    matched_signals: int = 0

    def add(self, c: PlannedCommand) -> None:
        f = c.fields
        self.commands += 1
        if (c.known_on - c.occurred_on).days > 60:
            self.late_registrations += 1
        match c.event_type:
            case "SignalRegistered" if f.get(MATCHED):
                # Another organisation's signal of the same day about the same person: one
                # episode, one victim coming into view (its list is the dark number's).
                self.matched_signals += 1
            case "SignalRegistered":
                victim = str(f["victim_id"])
                self.signals[victim].append(c.occurred_on)
                self.latest_signal[victim] = {**f, "signal_on": c.occurred_on}
                if victim not in self.first_signal:
                    self.first_signal[victim] = c.occurred_on
                    self.attributes[victim] = dict(f)
            case "ReportFiled" | "CooperationDeclared":
                victim, case = str(f["victim_id"]), str(f["case_id"])
                if c.event_type == "ReportFiled":
                    self.first_report.setdefault(victim, c.occurred_on)
                    self.witness_reports += f.get("capacity") == "WITNESS"
                self.first_comes_forward.setdefault(victim, c.occurred_on)
                self.case_report.setdefault(case, c.occurred_on)
                self.case_victims[case].add(victim)
            case "ReflectionPeriodOffered":
                self.reflection_offers_by_year[c.occurred_on.year] += 1
            case "CooperationImpossibleRecorded":
                self.cooperation_impossible.setdefault(str(f["victim_id"]), str(f["reason"]))
            case "NoEuResidenceRightFound":
                self.no_eu_right_found.add(str(f["victim_id"]))
            case "CaseRegistered":
                suspect, case = str(f["suspect_id"]), str(f["case_id"])
                self.case_registered.setdefault(case, c.occurred_on)
                self.case_suspects[case].add(suspect)
                self.registered[suspect] = c.occurred_on
                self.case_of_suspect[suspect] = case
                self.registrations_by_year[c.occurred_on.year] += 1
            case "SuspectSummoned" | "CaseDismissed" | "OtherDisposalDecided":
                self.decided[str(f["suspect_id"])] = (c.event_type, c.occurred_on)
            case "VerdictDelivered" if f["instance"] == "FIRST_INSTANCE":
                self.verdict[str(f["suspect_id"])] = (str(f["outcome"]), c.occurred_on)
                self.case_verdict.setdefault(str(f["case_id"]), c.occurred_on)
            case "ExaminingMagistrateHearingHeld":
                self.magistrate.setdefault((str(f["case_id"]), str(f["victim_id"])), c.occurred_on)
            case "PilotEnrolled":
                victim = str(f["victim_id"])
                self.pilot[victim] = self.latest_signal[victim]
            case "PolicePsychologistDeployed" | "SafetyCoordinatorAssigned" | "PeerSupportAssigned":
                self.pilot_interventions[c.event_type] += 1


@dataclass
class LargePlan:
    scenario: Scenario
    checker: LifecycleChecker
    milestones: Milestones
    start: date
    end: date
    scale: float


def median_days(pairs: Iterable[tuple[date, date]]) -> float:
    days = [(later - earlier).days for earlier, later in pairs]
    assert days, "nothing to take the median of"
    return float(statistics.median(days))

"""The figures the synthetic chain is calibrated on (docs/domain.md#calibration), as data.
"§7" below means that section.

Every probability and median the generator draws from lives here, so that a reader can hold
the numbers beside §7 and a test can vary them. Durations are in days; a `Duration` is a
lognormal (long right tail, as the National Rapporteur's throughput tables show) given by its
median and the standard deviation of its logarithm.

Figures not in §7 (how many victims report, how often a case is joined by another victim, the
share of appeals) are chosen so that the §7 figures come out: with about 950 victims a year,
roughly 260 reports lead to about 220 new cases, of which about 60% reach the OM with 1.7
suspects on average — the ≈ 230 OM registrations a year of §7.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Final, TypeVar

from ketenzicht_contracts.events.categories import (
    CooperationImpossibleReason,
    ExploitationForm,
    NationalityGroup,
    PoliceRegion,
    ResidencePosition,
)


@dataclass(frozen=True, slots=True)
class Duration:
    """A lognormal duration in days: half the cases take less than `median`."""

    median: float
    sigma: float


K = TypeVar("K")
V = TypeVar("V")


def _frozen(mapping: dict[K, V]) -> MappingProxyType[K, V]:
    return MappingProxyType(mapping)


# The residence rules the simulated IND follows. chainsim plays the chain from outside, so it
# does not import the residence service; tests/test_chainsim_follows_the_rulesets.py holds
# these beside residence.domain.rulesets, so the two cannot drift apart.

# Before this date the reflection period is offered only to third-country nationals without
# lawful residence, and refused to asylum seekers and Dublin claimants; from it, every
# third-country national is offered one, a Dublin claimant for 30 days (R1, R3, R4).
REFLECTION_RULES_CHANGED_ON: Final = date(2023, 5, 18)
# From this date the OM assesses whether a Dublin claimant's presence is necessary (R8).
DUBLIN_PRESENCE_ASSESSMENT_FROM: Final = date(2019, 8, 1)
# Route B: from this date (by default) the OM's summons is a non-temporary ground (R11).
PROSECUTION_GROUND_FROM: Final = date(2021, 9, 14)
REFLECTION_MONTHS: Final = 3  # R2
DUBLIN_REFLECTION_DAYS: Final = 30  # R3
EXTENSION_NOTICE_DAYS: Final = 30  # R9: the extension is decided before the permit runs out
THREE_YEARS_MONTHS: Final = 36  # R13: three years of holding the temporary permit


@dataclass(frozen=True, slots=True)
class Calibration:
    """Everything the generator draws from. The defaults are the §7 figures."""

    # --- victims in view (§7: ≈ 950 a year, 650–1,561) ---
    signals_per_year: float = 950.0
    form_shares: MappingProxyType[ExploitationForm, float] = field(
        default_factory=lambda: _frozen(
            {
                ExploitationForm.SEXUAL: 0.55,
                ExploitationForm.LABOUR: 0.25,
                ExploitationForm.CRIMINAL: 0.12,
                ExploitationForm.ORGAN_REMOVAL: 0.003,
                ExploitationForm.OTHER_UNKNOWN: 0.077,
            }
        )
    )
    # Minors are found mostly in sexual and criminal exploitation; overall ≈ 12%.
    minor_share_by_form: MappingProxyType[ExploitationForm, float] = field(
        default_factory=lambda: _frozen(
            {
                ExploitationForm.SEXUAL: 0.16,
                ExploitationForm.LABOUR: 0.03,
                ExploitationForm.CRIMINAL: 0.15,
                ExploitationForm.ORGAN_REMOVAL: 0.0,
                ExploitationForm.OTHER_UNKNOWN: 0.08,
            }
        )
    )
    # 70% foreign, half of them from outside the EU. Minors are more often Dutch, so the adult
    # Dutch share is lower; the two together keep the overall Dutch share at 30%.
    dutch_share_minor: float = 0.60
    dutch_share_adult: float = 0.259
    third_country_share_of_foreign: float = 0.5
    # Residence position of third-country nationals at the signal. The irregular share makes
    # ≈ 200 reflection periods a year under the rules before 2023-05-18 (R1).
    third_country_positions: MappingProxyType[ResidencePosition, float] = field(
        default_factory=lambda: _frozen(
            {
                ResidencePosition.IRREGULAR: 0.66,
                ResidencePosition.ASYLUM_SEEKER: 0.16,
                ResidencePosition.DUBLIN_CLAIMANT: 0.11,
                ResidencePosition.LAWFUL: 0.07,
            }
        )
    )
    region_shares: MappingProxyType[PoliceRegion, float] = field(
        default_factory=lambda: _frozen(
            {
                PoliceRegion.NOORD_NEDERLAND: 0.10,
                PoliceRegion.OOST_NEDERLAND: 0.13,
                PoliceRegion.MIDDEN_NEDERLAND: 0.09,
                PoliceRegion.NOORD_HOLLAND: 0.08,
                PoliceRegion.AMSTERDAM: 0.12,
                PoliceRegion.DEN_HAAG: 0.11,
                PoliceRegion.ROTTERDAM: 0.12,
                PoliceRegion.ZEELAND_WEST_BRABANT: 0.07,
                PoliceRegion.OOST_BRABANT: 0.07,
                PoliceRegion.LIMBURG: 0.07,
                PoliceRegion.LANDELIJKE_EENHEID: 0.04,
            }
        )
    )
    # Who brings the victim into view: the Labour Inspectorate for much labour exploitation,
    # the KMar for third-country nationals at the border.
    labour_inspectorate_share_labour: float = 0.40
    kmar_share_third_country: float = 0.20
    other_source_share: float = 0.07

    # --- repeat victimisation: a new signal within five years ---
    repeat_share: float = 0.08
    repeat_delay: Duration = Duration(median=420.0, sigma=0.8)
    repeat_window_days: int = 1826

    # --- intake ---
    informative_interview_share_reporting: float = 0.80
    informative_interview_share_not_reporting: float = 0.35
    # Police comply with R1 almost always; the few misses are what the R1 trigger is for.
    reflection_offer_compliance: float = 0.95
    reflection_declined_share: float = 0.12
    reflection_declined_after_grant_share: float = 0.04
    reflection_grant_delay: Duration = Duration(median=2.0, sigma=0.8)
    # §7: half the Dutch minors never report; a few of the rest lose contact first.
    report_share_dutch_minor: float = 0.51
    report_share_dutch_adult: float = 0.36
    report_share_other_eu: float = 0.20
    report_share_third_country: float = 0.28
    cooperation_share: float = 0.08  # cooperates otherwise than by a report
    under_number_share: float = 0.05
    time_to_report_foreign: Duration = Duration(median=31.0, sigma=1.0)
    time_to_report_dutch_adult: Duration = Duration(median=45.0, sigma=1.1)
    time_to_report_dutch_minor: Duration = Duration(median=60.0, sigma=1.1)
    report_withdrawn_share: float = 0.03
    # Not in §7, and not counted apart in the National Rapporteur's figures: a witness who
    # reports (getuige-aangever, Vc B8/3) is rare beside the victims, so a small share of the
    # reports, 4%, is a witness's. Only reports of victims who were not offered the reflection
    # period in that episode: intake refuses an offer to someone whose reports are all a
    # witness's (R1), and the plan must not hold what intake refuses.
    witness_report_share: float = 0.04
    # Not in §7: a foreign victim who does not report may be unable to (Vc B8/3: a serious
    # threat, a medical or psychological limitation). The police record it for few of them,
    # 3%, so the report shares above stay what §7 makes them. Threat is taken as the most
    # common reason in the chain's practice, then psychological, then medical limitations.
    cooperation_impossible_share: float = 0.03
    cooperation_impossible_reasons: MappingProxyType[CooperationImpossibleReason, float] = field(
        default_factory=lambda: _frozen(
            {
                CooperationImpossibleReason.SERIOUS_THREAT: 0.50,
                CooperationImpossibleReason.PSYCHOLOGICAL: 0.35,
                CooperationImpossibleReason.MEDICAL: 0.15,
            }
        )
    )
    time_to_cooperation_impossible: Duration = Duration(median=21.0, sigma=0.8)
    individual_assessment_share: float = 0.75
    out_of_sight_share: MappingProxyType[NationalityGroup, float] = field(
        default_factory=lambda: _frozen(
            {
                NationalityGroup.DUTCH: 0.05,
                NationalityGroup.OTHER_EU: 0.12,
                NationalityGroup.THIRD_COUNTRY: 0.16,
            }
        )
    )
    time_to_out_of_sight: Duration = Duration(median=60.0, sigma=1.0)

    # --- the reporting-readiness pilot (pilot aangiftebereidheid) ---
    pilot_from: date = date(2022, 1, 1)
    pilot_until: date = date(2023, 12, 31)
    pilot_cases: float = 37.0  # at scale 1, over the whole pilot
    pilot_cohort: str = "pilot-aangiftebereidheid-2022"
    pilot_report_share: float = 0.70
    pilot_intervention_shares: tuple[float, float, float] = (0.60, 0.50, 0.40)

    # --- cases and investigation ---
    join_existing_case_share: float = 0.18  # several victims in one case
    no_investigation_share: float = 0.10
    submitted_share: float = 0.635  # of opened investigations; the rest close without
    no_jurisdiction_share_of_closed: float = 0.2
    suspension_share: float = 0.08
    suspects_per_case: tuple[tuple[int, float], ...] = (
        (1, 0.55),
        (2, 0.24),
        (3, 0.12),
        (4, 0.05),
        (5, 0.03),
        (6, 0.01),
    )
    report_to_opened: Duration = Duration(median=3.0, sigma=1.0)
    report_to_no_investigation: Duration = Duration(median=30.0, sigma=0.7)
    # The police, OM and court phases share the case's complexity (a lognormal pace with this
    # sigma): long cases are long throughout, which gives report → verdict its long tail
    # (§7: 10–20% over three years) without stretching the median of any single phase.
    case_complexity_sigma: float = 0.55
    report_to_submitted: Duration = Duration(median=148.0, sigma=0.55)
    report_to_closed: Duration = Duration(median=200.0, sigma=0.8)
    submitted_to_registered: Duration = Duration(median=6.0, sigma=0.8)
    report_to_victim_heard: Duration = Duration(median=6.0, sigma=1.0)

    # --- OM (§7: inflow ≈ 230, 55–70% summons, 25–45% dismissal) ---
    co_suspects_together_share: float = 0.75
    summons_share: float = 0.62
    dismissal_share: float = 0.33  # the rest: other disposals
    technical_dismissal_share: float = 0.7
    technical_dismissal_codes: tuple[str, ...] = ("01", "02", "02", "02", "03")
    policy_dismissal_codes: tuple[str, ...] = ("50", "52", "56", "61")
    registered_to_decision: Duration = Duration(median=118.0, sigma=0.55)
    summons_decision_stretch: float = 1.2
    other_decision_stretch: float = 0.8
    examining_magistrate_share: float = 0.55
    registered_to_examining_magistrate: Duration = Duration(median=18.0, sigma=0.9)
    presence_necessary_share: float = 0.55
    report_to_presence_assessed: Duration = Duration(median=18.0, sigma=0.5)

    # --- court (§7: summons → verdict ≈ 8 months, convictions ≈ 70%) ---
    summons_to_hearing: Duration = Duration(median=235.0, sigma=0.3)
    # Dutch courts mostly pronounce two weeks after the hearing; some trials run longer.
    verdict_two_weeks_share: float = 0.7
    hearing_to_late_verdict: Duration = Duration(median=45.0, sigma=0.7)
    conviction_trafficking_share: float = 0.58
    conviction_other_offence_share: float = 0.12
    acquittal_share: float = 0.27  # the rest: other outcomes
    appeal_share: float = 0.35
    appeal_to_hearing: Duration = Duration(median=420.0, sigma=0.5)
    cassation_share: float = 0.10
    cassation_duration: Duration = Duration(median=400.0, sigma=0.5)

    # --- IND (residence) ---
    report_to_permit_decision: Duration = Duration(median=45.0, sigma=0.7)
    temporary_permit_refused_share: float = 0.08
    extension_decision_delay: Duration = Duration(median=15.0, sigma=0.6)
    ground_to_non_temporary_decision: Duration = Duration(median=75.0, sigma=0.6)
    non_temporary_refused_share: float = 0.08
    basis_end_to_permit_ended: Duration = Duration(median=30.0, sigma=0.7)
    assessment_duration: Duration = Duration(median=150.0, sigma=0.6)
    assessment_granted_share: float = 0.35
    presence_to_transfer_resumed: Duration = Duration(median=10.0, sigma=0.6)
    out_of_sight_to_permit_ended: Duration = Duration(median=45.0, sigma=0.7)
    # Not in §7: most EU/EEA/Swiss nationals reside under EU law (free movement), so the IND
    # finds no EU right of residence — and B8 applies — for a small share of the other-EU
    # victims, 5%, once per victim, some weeks after the signal.
    no_eu_right_share: float = 0.05
    signal_to_no_eu_right_found: Duration = Duration(median=40.0, sigma=0.7)
    # Route B (a non-temporary permit once the OM prosecutes) was confirmed in force on
    # 2021-09-14; the effective date is configurable in the residence rules, so here too.
    prosecution_ground_from: date = PROSECUTION_GROUND_FROM

    # --- registration lag (occurred_on → known_on): mostly the same day or days later, a few
    # percent months later (late registrations are normal, docs/domain.md#envelope) ---
    same_day_share: float = 0.55
    within_week_share: float = 0.30
    within_two_months_share: float = 0.12  # the rest: 2 to 10 months late


DEFAULT: Final = Calibration()

# Expected number of planned commands per unit of scale for a window of the given length in
# days, measured on the default calibration (start 2015-01-01, several seeds; checked by
# tests/test_chainsim_performance.py). Short windows hold mostly young cases, hence the bend;
# past about ten years each further year adds a steady amount (≈ 5,300 at scale 1).
EVENTS_BY_WINDOW: Final[tuple[tuple[int, float], ...]] = (
    (0, 0.0),
    (30, 103.0),
    (91, 467.0),
    (182, 1215.0),
    (365, 3028.0),
    (730, 7274.0),
    (1096, 11896.0),
    (1461, 16727.0),
    (2191, 26563.0),
    (2922, 36655.0),
    (3652, 46977.0),
    (5479, 74080.0),
    (7305, 99995.0),
)

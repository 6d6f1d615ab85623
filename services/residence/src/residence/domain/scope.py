"""Whom the residence rules apply to (personele reikwijdte), by the date of the facts judged.

The residence track of B8 (bedenktijd, the temporary permit) and B9/12 (the non-temporary
permit) exists for a foreign national who needs a permit to stay (docs/domain.md#personal-scope):

* **Dutch nationals** have no residence track: no rule applies to them.
* **EU/EEA/Swiss nationals and their family members** have a right of residence under EU law and
  fall outside B8, unless the IND finds that they derive no such right
  (`NoEuResidenceRightFound`). That is the IND's finding, never a guess from the police's
  signal. The finding says what the person's position is, so once it is known the track applies
  to them as to a third-country national, for the facts dated before it too (typically the
  report on which they applied).
  The category OTHER_EU stands for EU, EEA and Swiss nationals alike.
* **Third-country nationals** are in the track. Whether they may be offered or granted a
  reflection period depends on their residence position and the date (R1/R4, below).
* A victim of whom no signal is known yet is taken to be in the track: intake issues the
  pseudonym with the signal, so a residence fact without one is rare and transient, and the
  rules do not hide from the IND what it needs to know because of it.

The reflection period (R1, R4), by the rule set in force on the day judged (the sources of
each date: docs/domain.md#rule-versions):

* until 2023-05-17 only a third-country national without lawful residence (position
  IRREGULAR); asylum seekers and Dublin claimants have lawful stay and are refused;
* from 2023-05-18 also asylum seekers and Dublin claimants (30 days, R3);
* lawful residents (position LAWFUL) from `RuleSettings.lawful_residents_reflection_from`,
  default 2023-05-18 as well. Whether the earlier refusals should be re-read from the EU
  Court's judgment (or earlier: it interprets the directive as it always read) is a legal
  choice for the deployment, hence a setting;
* never to a witness who reports (getuige-aangever, R1): the period exists for a victim to
  decide whether to report.
"""

from __future__ import annotations

from datetime import date

from residence.domain.categories import NationalityGroup, ResidencePosition
from residence.domain.history import VictimHistory
from residence.domain.rulesets import RuleSet


def in_residence_track(history: VictimHistory, day: date) -> bool:
    """Does the residence track apply to the victim on ``day`` (nationality, EU finding)?"""
    nationality = history.nationality_on(day)
    if nationality is NationalityGroup.DUTCH:
        return False
    if nationality is NationalityGroup.OTHER_EU:
        return bool(history.eu_right_findings)
    return True


def reflection_exclusion(
    nationality: NationalityGroup | None,
    position: ResidencePosition | None,
    *,
    eu_right_absent: bool,
    witness_only: bool,
    ruleset: RuleSet,
) -> str:
    """Who, of a victim in this nationality and position, may not have a reflection period
    under ``ruleset``: the words for a reason ("a Dutch national"), or "" when it is allowed."""
    if nationality is NationalityGroup.DUTCH:
        return "a Dutch national"
    if nationality is NationalityGroup.OTHER_EU and not eu_right_absent:
        return "an EU/EEA/Swiss national with a right of residence under EU law"
    if witness_only:
        return "a witness who reports (getuige-aangever)"
    if position is ResidencePosition.DUBLIN_CLAIMANT and ruleset.dublin_reflection_days is None:
        return "a Dublin claimant"
    if position is ResidencePosition.ASYLUM_SEEKER and not ruleset.asylum_seeker_reflection:
        return "an asylum seeker"
    if position is ResidencePosition.LAWFUL and not ruleset.lawful_resident_reflection:
        return "a lawful resident"
    return ""


def reflection_exclusion_on(history: VictimHistory, day: date, ruleset: RuleSet) -> str:
    """`reflection_exclusion` for the victim as the facts tell them on ``day``."""
    return reflection_exclusion(
        history.nationality_on(day),
        history.position_on(day),
        eu_right_absent=bool(history.eu_right_findings),
        witness_only=history.reports_only_as_witness(),
        ruleset=ruleset,
    )

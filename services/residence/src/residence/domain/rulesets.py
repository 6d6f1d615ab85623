"""The residence rule sets as data, each with the date from which it is in force.

Every rule is applied by the date of the facts it judges: a signal of 2019 is judged by the rule
set in force in 2019, whatever day ketenzicht evaluates it. A rule set is cumulative — the
version in force on a day is the base rules plus every change whose effective date is on or
before that day — and its `version` is that effective date, so every trigger can name it.

The changes and their legal sources are listed once, in docs/domain.md#rule-versions; each
`_Change` below carries its source label as data. Two dates the sources leave open are
`RuleSettings` (docs/adr/0007-rules-as-dated-data.md).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

BASE_VERSION_DATE = date(2001, 4, 1)
"""Vreemdelingenwet 2000 in force; facts before it are judged by the base rules too."""

DUBLIN_PROCEDURE_FROM = date(2019, 8, 1)
PROSECUTION_GROUND_DEFAULT_FROM = date(2021, 9, 14)
REFLECTION_FOR_ALL_FROM = date(2023, 5, 18)


@dataclass(frozen=True, slots=True)
class RuleSettings:
    """What may differ between deployments: the days the sources leave open."""

    prosecution_ground_from: date = PROSECUTION_GROUND_DEFAULT_FROM
    lawful_residents_reflection_from: date = REFLECTION_FOR_ALL_FROM


DEFAULT_SETTINGS = RuleSettings()


@dataclass(frozen=True, slots=True)
class RuleSet:
    """One version of the rules (regelset), in force from ``effective_from``."""

    version: str
    effective_from: date
    sources: tuple[str, ...]
    # R1/R4: may a lawful resident (position LAWFUL) have a reflection period?
    lawful_resident_reflection: bool = False
    # R2: length of the reflection period in calendar months.
    reflection_months: int = 3
    # R3/R4: days of reflection for a Dublin claimant; None means R4 refuses it.
    dublin_reflection_days: int | None = None
    # R4: may an asylum seeker be granted a reflection period?
    asylum_seeker_reflection: bool = False
    # R8: does the OM's presence assessment (Dublin procedure) apply, and its target.
    dublin_presence_assessment: bool = False
    dublin_target_working_days: int = 20
    # R9: how many days before expiry the extension is due.
    extension_notice_days: int = 30
    # R11: is the summons a ground (route B)?
    prosecution_ground: bool = False
    # R13: years of continuous holding.
    three_year_years: int = 3


@dataclass(frozen=True, slots=True)
class _Change:
    effective_from: date
    source: str
    fields: tuple[tuple[str, Any], ...]


_BASE = RuleSet(
    version=BASE_VERSION_DATE.isoformat(),
    effective_from=BASE_VERSION_DATE,
    sources=("Vb 2000 art. 3.48, 3.51", "Vc 2000 B8/3", "Vc 2000 B9/12"),
)


def _changes(settings: RuleSettings) -> list[_Change]:
    return [
        _Change(
            DUBLIN_PROCEDURE_FROM,
            "WBV 2019/10",
            (("dublin_presence_assessment", True),),
        ),
        _Change(
            settings.prosecution_ground_from,
            "Vc 2000 B9/12 route B",
            (("prosecution_ground", True),),
        ),
        _Change(
            REFLECTION_FOR_ALL_FROM,
            "WBV 2023/11",
            (
                ("dublin_reflection_days", 30),
                ("asylum_seeker_reflection", True),
            ),
        ),
        _Change(
            settings.lawful_residents_reflection_from,
            "WBV 2023/11; CJEU C-66/21 (2022-10-20)",
            (("lawful_resident_reflection", True),),
        ),
    ]


@lru_cache(maxsize=16)
def rulebook(settings: RuleSettings = DEFAULT_SETTINGS) -> tuple[RuleSet, ...]:
    """All rule-set versions, oldest first. Changes on one day make a single version."""
    versions = [_BASE]
    current = _BASE
    changes = sorted(_changes(settings), key=lambda change: change.effective_from)
    for change in changes:
        effective = max(change.effective_from, BASE_VERSION_DATE)
        current = replace(
            current,
            version=effective.isoformat(),
            effective_from=effective,
            sources=(*current.sources, change.source),
            **dict(change.fields),
        )
        if versions[-1].effective_from == effective:
            versions[-1] = current
        else:
            versions.append(current)
    return tuple(versions)


def ruleset_for(day: date, settings: RuleSettings = DEFAULT_SETTINGS) -> RuleSet:
    """The rule set in force on ``day``: the latest version effective on or before it."""
    chosen = rulebook(settings)[0]
    for ruleset in rulebook(settings):
        if ruleset.effective_from <= day:
            chosen = ruleset
    return chosen

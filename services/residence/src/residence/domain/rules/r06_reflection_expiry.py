"""R6 — the reflection period expires, or is declined, without a report.

Source and reading: docs/domain.md#r6. Tests: tests/unit/test_reflection_rules.py (in
services/residence). Applies to: a victim in the residence track (`scope`) whose reflection
period R4 allows. All versions: no temporary permit follows; the IND is told on the day the
period expired (start + R2/R3 term) or the day the victim declined it.

A reflection period (episode) starts with a grant that R4 allows and ends at the first of:
a report or cooperation in any case (R5), the victim declining it (intake), an end the IND
reports itself, a new grant, or its expiry. Reading of "expires": the period covers the days
before the expiry date; on the expiry date it has expired, so only a report dated before that
day prevents the trigger (a report on that day is still an application under R5/R7).
Only expiry and the victim's decline raise the trigger; an end the IND reports itself is
already known to the IND. A decline before any grant (the offer by police/KMar declined)
also raises it, unless the victim had already reported.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from residence.domain.categories import ResidencePosition
from residence.domain.history import VictimHistory
from residence.domain.rules.r02_reflection_period import ordinary_reflection_expiry
from residence.domain.rules.r03_dublin_reflection_period import dublin_reflection_expiry
from residence.domain.rules.r04_reflection_refused import grant_refusal
from residence.domain.rules.r05_report_is_application import report_within
from residence.domain.rulesets import RuleSettings, ruleset_for
from residence.domain.triggers import TriggerDecision, TriggerKind, decide

EXPIRY = "expiry"
REPORT = "report"
DECLINE = "decline"
IND_END = "ind"
NEXT_GRANT = "next-grant"


@dataclass(frozen=True, slots=True)
class ReflectionEpisode:
    """One reflection period: from ``start`` until ``ends_on`` (exclusive), and why it ended."""

    grant_event_id: str
    start: date
    expires_on: date
    ends_on: date
    ended_by: str
    ending_event_id: str | None
    rule: str
    rule_version: str


def reflection_episodes(history: VictimHistory, settings: RuleSettings) -> list[ReflectionEpisode]:
    allowed: list[tuple[str, date, date, str, str]] = []
    for grant in history.reflection_grants:
        day = grant.occurred_on
        ruleset = ruleset_for(day, settings)
        position = history.position_on(day)
        # A grant R4 does not allow is recorded as the IND's fact, but it is no reflection
        # period under the rules, so it has no expiry (R4 raises a finding for it instead).
        if grant_refusal(history, day, settings):
            continue
        if allowed and allowed[-1][1] == day:
            continue
        dublin_expiry = dublin_reflection_expiry(day, ruleset)
        if position is ResidencePosition.DUBLIN_CLAIMANT and dublin_expiry is not None:
            allowed.append((grant.event_id, day, dublin_expiry, "R3", ruleset.version))
        else:
            expiry = ordinary_reflection_expiry(day, ruleset)
            allowed.append((grant.event_id, day, expiry, "R2", ruleset.version))

    episodes = []
    for index, (grant_id, start, expiry, rule, version) in enumerate(allowed):
        endings: list[tuple[date, int, str, str | None]] = [(expiry, 9, EXPIRY, None)]
        report = report_within(history, start, expiry)
        if report is not None:
            endings.append((report.since, 0, REPORT, report.event_id))
        endings += [
            (d.occurred_on, 1, DECLINE, d.event_id)
            for d in history.declines
            if start <= d.occurred_on < expiry
        ]
        endings += [
            (e.occurred_on, 2, IND_END, e.event_id)
            for e in history.reflection_ends
            if start <= e.occurred_on < expiry
        ]
        if index + 1 < len(allowed) and allowed[index + 1][1] < expiry:
            next_grant = allowed[index + 1]
            endings.append((next_grant[1], 3, NEXT_GRANT, next_grant[0]))
        ends_on, _, ended_by, ending_id = min(endings, key=lambda e: (e[0], e[1], e[3] or ""))
        episodes.append(
            ReflectionEpisode(grant_id, start, expiry, ends_on, ended_by, ending_id, rule, version)
        )
    return episodes


# Keys name the grant by its date, not its event id: residence assigns the ids of the IND's
# decisions as they arrive, and a key must not depend on the order of arrival.


def reflection_expiry_triggers(
    history: VictimHistory, settings: RuleSettings
) -> list[TriggerDecision]:
    decisions = []
    episodes = reflection_episodes(history, settings)
    for episode in episodes:
        if episode.ended_by == EXPIRY:
            what = f"expired on {episode.expires_on.isoformat()}"
        elif episode.ended_by == DECLINE:
            what = f"was declined on {episode.ends_on.isoformat()}"
        else:
            continue
        based_on = [episode.grant_event_id]
        if episode.ending_event_id is not None:
            based_on.append(episode.ending_event_id)
        decisions.append(
            decide(
                TriggerKind.REFLECTION_PERIOD_EXPIRY_DUE,
                victim_id=history.victim_id,
                case_id=None,
                discriminator=f"{episode.start.isoformat()}@{episode.ends_on.isoformat()}",
                rule="R6",
                rule_version=episode.rule_version,
                based_on=based_on,
                reason=(
                    f"The reflection period granted on {episode.start.isoformat()} {what} "
                    f"without a report ({episode.rule}); no temporary permit follows (Vc B8/3)."
                ),
                fires_on=episode.ends_on,
                expired_on=episode.ends_on,
            )
        )
    for decline in history.declines:
        day = decline.occurred_on
        if any(episode.start <= day for episode in episodes):
            continue
        if any(victim_case.since <= day for victim_case in history.cases):
            continue
        ruleset = ruleset_for(day, settings)
        decisions.append(
            decide(
                TriggerKind.REFLECTION_PERIOD_EXPIRY_DUE,
                victim_id=history.victim_id,
                case_id=None,
                discriminator=f"declined@{day.isoformat()}",
                rule="R6",
                rule_version=ruleset.version,
                based_on=[decline.event_id],
                reason=(
                    f"The reflection period offered was declined on {day.isoformat()} "
                    "without a report; no temporary permit follows (Vc B8/3)."
                ),
                fires_on=day,
                expired_on=day,
            )
        )
    return decisions

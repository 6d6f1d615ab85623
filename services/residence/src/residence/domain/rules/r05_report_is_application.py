"""R5 — a report or declared cooperation ends the reflection period and is the application.

Source and reading: docs/domain.md#r5. Tests: tests/unit/test_reflection_rules.py,
tests/unit/test_permit_rules.py (in services/residence). Applies to: a victim in the residence
track (`scope`). All versions.

Witnesses: intake marks a report or cooperation as a witness's (getuige-aangever). Vb 2000
art. 3.48(1) names, beside the victim who reports or cooperates, the witness who reports; as
we read it with Vc B8/3 the witness's report is an application only once the OM judges the
witness's presence in the Netherlands necessary for the investigation or prosecution (the same
assessment as for a Dublin claimant, `PresenceAssessed`), and a witness has no reflection
period to end (R1). R7 applies that condition; a case the victim reported in as a victim is
never a witness's case, whatever else was registered in it.
"""

from __future__ import annotations

from datetime import date

from residence.domain.history import VictimCase, VictimHistory


def report_within(history: VictimHistory, start: date, before: date) -> VictimCase | None:
    """The first report or cooperation (any case) on or after ``start`` and before ``before``."""
    for victim_case in history.cases:
        if start <= victim_case.since < before:
            return victim_case
    return None


def application_date(victim_case: VictimCase) -> date:
    """The application for the temporary permit is dated the day of the report."""
    return victim_case.since

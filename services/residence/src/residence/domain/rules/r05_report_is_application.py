"""R5 — a report or declared cooperation ends the reflection period and is the application.

Source: Vb 2000 art. 3.48; Vc 2000 B8/3 (the report counts as the application for the
temporary permit, dated the day of the report). All versions.

The domain cannot tell a victim from a witness who reports: intake records reports and
cooperation of (possible) victims only, so every `ReportFiled` and `CooperationDeclared` counts.
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

"""The schedule file is taken only for exactly the store state and rules it was saved for."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from residence.application import schedule
from residence.domain import DEFAULT_SETTINGS


def test_a_saved_schedule_is_taken_only_for_the_same_store_state_and_rules(tmp_path: Path) -> None:
    path = tmp_path / schedule.FILE_NAME
    stamp = schedule.Stamp("store-1", 41, schedule.rules_fingerprint(DEFAULT_SETTINGS))
    deadlines = {"victim-001": date(2023, 3, 1), "victim-002": date(2024, 1, 31)}
    schedule.save(path, stamp, deadlines)

    assert schedule.load(path, stamp) == deadlines
    assert schedule.load(path, replace(stamp, notification_id=42)) is None
    assert schedule.load(path, replace(stamp, store="store-2")) is None
    other_rules = replace(DEFAULT_SETTINGS, prosecution_ground_from=date(2030, 1, 1))
    assert schedule.rules_fingerprint(other_rules) != stamp.rules
    assert (
        schedule.load(path, replace(stamp, rules=schedule.rules_fingerprint(other_rules))) is None
    )

    path.write_bytes(path.read_bytes()[:30])  # cut short
    assert schedule.load(path, stamp) is None
    assert schedule.load(tmp_path / "absent.json", stamp) is None

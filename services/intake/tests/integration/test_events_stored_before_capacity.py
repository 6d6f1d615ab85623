"""Reports and cooperation stored before `capacity` existed read, replay and publish as a
victim's; a retry of a command sent before then is still recognised as a retry."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from intake.application import commands as c
from intake.application.intake import IntakeApplication
from intake.domain.victim_track import VictimTrack
from ketenzicht_common.domain import Provenance
from ketenzicht_common.relay import to_message
from ketenzicht_common.store import StoreSettings, fingerprint
from ketenzicht_contracts.events.categories import ReportingCapacity

pytestmark = pytest.mark.integration

POLICE = Provenance(organisation="politie", system="police-registration", command_id="cmd-1")
OLD_TOPICS = ("intake:ReportFiled.v1", "intake:CooperationDeclared.v1")


def store_as_before_capacity(path: Path) -> None:
    """Rewrite the stored reports and cooperation as the code before `capacity` stored them."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT rowid, state FROM stored_events WHERE topic IN (?, ?)", OLD_TOPICS
        ).fetchall()
        assert len(rows) == 2
        for rowid, state in rows:
            old = json.loads(state)
            assert old.pop("class_version") == 2
            old.pop("capacity")
            db.execute(
                "UPDATE stored_events SET state = ? WHERE rowid = ?",
                (json.dumps(old).encode(), rowid),
            )


def test_old_reports_and_cooperation_are_a_victims_when_replayed_and_published(
    tmp_path: Path,
) -> None:
    settings = StoreSettings(sqlite_path=str(tmp_path / "events.sqlite"))
    app = IntakeApplication(settings)
    track = VictimTrack.open("victim-old", POLICE, date(2021, 3, 1))
    track.register_signal(
        POLICE,
        date(2021, 3, 1),
        "signal-old",
        source_organisation="POLICE",
        form="SEXUAL",
        minor=False,
        nationality_group="THIRD_COUNTRY",
        residence_position="IRREGULAR",
        region="AMSTERDAM",
    )
    track.file_report(
        POLICE, date(2021, 3, 8), "case-old-1", under_number=False, capacity="WITNESS"
    )
    track.declare_cooperation(POLICE, date(2021, 3, 9), "case-old-2", capacity="WITNESS")
    app.save(track)
    app.close()
    store_as_before_capacity(tmp_path / "events.sqlite")

    app = IntakeApplication(settings)
    try:
        replayed = app.victim("victim-old")
        assert (list(replayed.reports), list(replayed.cooperations)) == (
            ["case-old-1"],
            ["case-old-2"],
        )
        assert replayed.capacities == [(date(2021, 3, 8), "VICTIM"), (date(2021, 3, 9), "VICTIM")]
        # Being a victim's, the old report does not stand in the way of an offer.
        replayed.offer_reflection_period(POLICE, date(2021, 3, 10))
        notifications = [
            n for n in app.recorder.select_notifications(1, 100) if n.topic in OLD_TOPICS
        ]
        bodies = [json.loads(to_message(app, n)[1]) for n in notifications]
        assert [b["capacity"] for b in bodies] == ["VICTIM", "VICTIM"]
    finally:
        app.close()


CASE = "C-0123456789abcdef0123"
"""A case pseudonym as ketenzicht issues it (commands take no other shape since)."""


def test_a_victims_report_has_the_fingerprint_it_had_before_capacity() -> None:
    # What `fingerprint` digested for this command before `capacity` was added: a client's
    # retry across the upgrade must still be answered from the command log.
    before = {
        "type": "FileReport",
        "occurred_on": "2022-01-10",
        "victim_id": "v-1",
        "case_id": CASE,
        "under_number": False,
    }
    report = c.FileReport(occurred_on=date(2022, 1, 10), victim_id="v-1", case_id=CASE)
    digest = hashlib.sha256(json.dumps(before, sort_keys=True).encode()).hexdigest()
    assert fingerprint(report) == digest
    witness = c.FileReport(
        occurred_on=date(2022, 1, 10),
        victim_id="v-1",
        case_id=CASE,
        capacity=ReportingCapacity.WITNESS,
    )
    assert fingerprint(witness) != digest
    cooperation = c.DeclareCooperation(occurred_on=date(2022, 1, 10), victim_id="v-1", case_id=CASE)
    assert "capacity" not in cooperation.model_dump()

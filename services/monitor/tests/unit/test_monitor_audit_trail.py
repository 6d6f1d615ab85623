"""The audit trail's selection and its links between facts and corrections (domain), and the fact
store that keeps the provenance, also in a database made before it did."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from monitor_chain_builders import ChainLog

from monitor.adapters.store import SqliteFactStore
from monitor.domain import CorrectionKind, audit_trail, linked_victims, to_record


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _chain() -> ChainLog:
    log = ChainLog()
    log.add("SignalRegistered", "2023-01-10", victim_id="v1", form="SEXUAL")
    log.add("ReportFiled", "2023-02-01", victim_id="v1", case_id="c1")
    log.add("ReportFiled", "2023-03-01", victim_id="v1", case_id="c2")  # another case
    log.add("CaseRegistered", "2023-04-01", case_id="c1", suspect_id="s1")
    log.add("SignalRegistered", "2023-01-11", victim_id="v2", form="LABOUR")  # another victim
    return log


def test_a_victims_trail_holds_its_events_and_their_corrections_with_the_links_between_them() -> (
    None
):
    log = _chain()
    signal, report_c1, report_c2, _, _ = log.facts
    dated = log.correct(
        report_c1, "2024-01-05", recorded=_at("2024-01-05T09:00"), fact_on="2023-01-31"
    )
    again = log.correct(
        report_c1,
        "2024-01-06",
        recorded=_at("2024-01-06T09:00"),
        fact_on="2023-01-31",  # the earlier amendment's date still holds
        amended={"under_number": True},
        corrects=dated,
        reason="WRONG_CATEGORY",
    )
    annulled = log.correct(report_c2, "2024-01-07", recorded=_at("2024-01-07T09:00"))
    records = [to_record(f) for f in log.facts]

    trail = audit_trail(records, victim_id="v1")
    ids = [e.event_id for e in trail.entries]
    assert ids == [
        signal.event_id,
        report_c1.event_id,
        report_c2.event_id,
        dated.event_id,
        again.event_id,
        annulled.event_id,
    ]
    entries = {e.event_id: e for e in trail.entries}
    first = entries[report_c1.event_id]
    assert (first.annulled_by, first.amended_by) == (None, (dated.event_id, again.event_id))
    assert first.corrected_by == (dated.event_id,)  # the second names the first amendment
    assert entries[dated.event_id].corrected_by == (again.event_id,)
    assert entries[report_c2.event_id].annulled_by == annulled.event_id
    correction = entries[again.event_id].correction
    assert correction is not None
    assert (correction.kind, correction.corrected_event_id, correction.original_event_id) == (
        CorrectionKind.AMEND,
        dated.event_id,
        report_c1.event_id,
    )
    assert correction.amended == (("under_number", "true"),)
    assert str(correction.fact_occurred_on) == "2023-01-31"
    assert entries[annulled.event_id].correction.kind is CorrectionKind.ANNUL  # type: ignore[union-attr]


def test_a_cases_trail_holds_its_events_and_its_victims_caseless_ones_not_other_cases() -> None:
    log = _chain()
    signal, report_c1, report_c2, registered, _ = log.facts
    annulled_elsewhere = log.correct(report_c2, "2024-01-07", recorded=_at("2024-01-07T09:00"))
    records = [to_record(f) for f in log.facts]

    victims = linked_victims(records, "c1")
    assert victims == ("v1",)
    trail = audit_trail(records, case_id="c1", victims=victims)
    assert trail.victim_ids == ("v1",)
    assert [e.event_id for e in trail.entries] == [
        signal.event_id,
        report_c1.event_id,
        registered.event_id,
    ]  # not the report in c2, nor its annulment (an intake correction naming no case)
    assert annulled_elsewhere.event_id not in {e.event_id for e in trail.entries}


def test_a_correction_whose_fact_has_not_arrived_is_in_the_trail_its_own_key_names() -> None:
    log = _chain()
    report = log.facts[1]
    amended = log.correct(
        report, "2024-01-05", recorded=_at("2024-01-05T09:00"), fact_on="2023-01-31"
    )
    records = [to_record(f) for f in log.facts if f is not report]
    trail = audit_trail(records, victim_id="v1")
    assert amended.event_id in {e.event_id for e in trail.entries}
    assert report.event_id not in {e.event_id for e in trail.entries}


_OLD_SCHEMA = (
    "CREATE TABLE facts (event_id TEXT NOT NULL PRIMARY KEY, service TEXT NOT NULL,"
    " event_type TEXT NOT NULL, occurred INTEGER NOT NULL, recorded INTEGER NOT NULL,"
    " case_id TEXT, victim_id TEXT, suspect_id TEXT, attrs TEXT)"
)


def test_the_store_keeps_provenance_also_in_a_database_made_before_it_did(tmp_path: Path) -> None:
    path = tmp_path / "facts.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(_OLD_SCHEMA)
        db.execute(
            "INSERT INTO facts VALUES ('old-1', 'intake', 'InformativeInterviewHeld', 738000,"
            " 0, NULL, 'v1', NULL, NULL)"
        )
    store = SqliteFactStore(path)
    try:
        facts = [
            replace(f, organisation="politie", system="police-registration") for f in _chain().facts
        ]
        assert store.add([to_record(f) for f in facts]) == len(facts)
        about = store.read_about(None, ["v1"])
        by_id = {r.event_id: r for r in about}
        assert set(by_id) == {"old-1", *(f.event_id for f in facts[:3])}
        assert (by_id["old-1"].organisation, by_id["old-1"].system) == ("", "")
        assert (by_id[facts[0].event_id].organisation, by_id[facts[0].event_id].system) == (
            "politie",
            "police-registration",
        )
        # The views read no provenance (they do not need it).
        assert {r.organisation for r in store.read(800000, 2**62)} == {""}
        case = store.read_about("c1", [])
        assert {r.event_id for r in case} == {facts[1].event_id, facts[3].event_id}
    finally:
        store.close()

"""Exports for analysts: CSV of the tables, and the event log as XES for process-mining tools.

Both are built in memory and returned as text; writing them anywhere is the adapter's job.

XES (IEEE 1849-2016): one trace per unit (one victim in one case, or a report-less signal
episode), events with concept:name = event type, time:timestamp = occurred_on (midnight UTC),
lifecycle:transition = complete and org:group = the emitting service. Only pseudonymous ids,
event types and categories leave the monitor; with `pseudonymise=True` even the ids are replaced
by sequence numbers. A trace carries the unit's categories (`TRACE_ATTRIBUTES`: cohort, form,
minor, region, nationality group, report year; absent when unknown), an event the categories of
its fact that an analyst filters on (`instance`, `outcome`, `dismissal_kind`, `disposal_kind`).

The residence facts (triggers and the IND's decisions) are not in the case log: their dates are
not steps of the criminal case, and a trigger after the case became final would stretch the
case's duration in every process-mining tool. They form a log of their own, one trace per victim
(`residence_log_xes`). Which events a case trace holds:

- events that name both the case and the victim: that unit's trace;
- events of the case without a victim (registration, summons, verdict, ...): every victim's trace
  in that case;
- events of the victim without a case (signal, interview, reflection period, permits, ...): the
  traces of the victim's episode they fall in — the unit(s) whose T0 is the latest signal date on
  or before the event (the first episode for earlier events); a unit without T0 gets them all.
"""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable

from .facts import Milestone
from .figures import Share, YearFigures
from .leadtimes import LeadTimeSummary
from .projection import CaseVictimUnit, ChainView, FactRecord
from .rounding import SHARE_DIGITS, round_share
from .tables import CsvDialect, lead_time_rows, table_csv


def _cell(value: object, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def lead_times_csv(
    rows: Iterable[LeadTimeSummary], dialect: CsvDialect = CsvDialect.STANDARD
) -> str:
    """A lead-time table as CSV (figures rounded by `rounding`); withheld figures of small
    groups are empty cells."""
    return table_csv(lead_time_rows(rows), dialect)


def figures_csv(rows: Iterable[YearFigures], dialect: CsvDialect = CsvDialect.STANDARD) -> str:
    """Chain figures in long form: year, figure, category, value (a withheld share is empty);
    in the Dutch dialect with `;` between fields and a decimal comma in the shares."""
    out = io.StringIO()
    dutch = dialect is CsvDialect.DUTCH
    writer = csv.writer(out, delimiter=";" if dutch else ",", lineterminator="\n")
    writer.writerow(("year", "figure", "category", "value", "small_group"))
    for row in rows:
        for name in row.__dataclass_fields__:
            if name == "year":
                continue
            value = getattr(row, name)
            if isinstance(value, Share):
                writer.writerow(
                    (
                        row.year,
                        name,
                        "",
                        _share_cell(value.value, dutch),
                        _cell(value.small_group),
                    )
                )
            elif isinstance(value, dict):
                for category, count in value.items():
                    writer.writerow((row.year, name, category, count, ""))
            else:
                writer.writerow((row.year, name, "", _cell(value), ""))
    return out.getvalue()


def _share_cell(value: float | None, decimal_comma: bool) -> str:
    text = _cell(round_share(value), SHARE_DIGITS)
    return text.replace(".", ",") if decimal_comma else text


def _trace_name(unit: CaseVictimUnit) -> str:
    if unit.case_id is not None:
        return f"{unit.case_id}/{unit.victim_id}"
    t0 = unit.at(Milestone.T0)
    return f"no-case/{unit.victim_id}/{t0.isoformat() if t0 else ''}"


RESIDENCE_SERVICE = "residence"


def traces(
    view: ChainView, *, residence: bool = False
) -> list[tuple[CaseVictimUnit, list[FactRecord]]]:
    """The event log: each unit with its events in occurred order (see the module docstring);
    with `residence`, the residence facts too (as the log had them before they got their own)."""
    units = view.units  # pairs by (case, victim), then report-less episodes by victim and date
    events: dict[int, list[FactRecord]] = {id(u): [] for u in units}
    by_pair: dict[tuple[str | None, str], CaseVictimUnit] = {
        (u.case_id, u.victim_id): u for u in units if u.case_id is not None
    }
    by_case: dict[str, list[CaseVictimUnit]] = defaultdict(list)
    by_victim: dict[str, list[CaseVictimUnit]] = defaultdict(list)
    for u in units:
        if u.case_id is not None:
            by_case[u.case_id].append(u)
        by_victim[u.victim_id].append(u)
    episode_starts = {
        victim: sorted({t0.toordinal() for u in group if (t0 := u.at(Milestone.T0)) is not None})
        for victim, group in by_victim.items()
    }

    for record in view.records:  # already in occurred order
        if record.service == RESIDENCE_SERVICE and not residence:
            continue
        pair = by_pair.get((record.case_id, record.victim_id)) if record.victim_id else None
        if pair is not None:
            targets = [pair]
        elif record.case_id is not None and record.victim_id is None:
            targets = by_case.get(record.case_id, [])
        elif record.victim_id is not None:
            starts = episode_starts.get(record.victim_id, [])
            episode = starts[max(bisect_right(starts, record.occurred) - 1, 0)] if starts else None
            targets = [
                u
                for u in by_victim.get(record.victim_id, [])
                if (t0 := u.at(Milestone.T0)) is None or t0.toordinal() == episode
            ]
        else:
            targets = []
        for unit in targets:
            events[id(unit)].append(record)
    return [(u, events[id(u)]) for u in units if events[id(u)]]


def event_log_csv(view: ChainView, *, pseudonymise: bool = False) -> str:
    """The same event log as `event_log_xes`, one row per event, in the flat CSV layout that
    process-mining tools import (case id, activity, timestamp, resource)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("case_id", "activity", "timestamp", "org_group", "event_id"))
    for number, (unit, records) in enumerate(traces(view), start=1):
        name = f"trace-{number:06d}" if pseudonymise else _trace_name(unit)
        for record in records:
            writer.writerow(
                (
                    name,
                    record.event_type,
                    f"{record.occurred_on.isoformat()}T00:00:00+00:00",
                    record.service,
                    "" if pseudonymise else record.event_id,
                )
            )
    return out.getvalue()


def _attribute(parent: ET.Element, kind: str, key: str, value: str) -> None:
    ET.SubElement(parent, kind, {"key": key, "value": value})


TRACE_ATTRIBUTES: tuple[str, ...] = (
    "cohort",
    "form",
    "minor",
    "region",
    "nationality_group",
    "report_year",
)


def trace_attributes(unit: CaseVictimUnit) -> dict[str, str | bool | int]:
    """The unit's categories as a trace carries them (unknown ones left out)."""
    found: dict[str, str | bool | int | None] = {
        "cohort": unit.cohort,
        "form": unit.profile.form,
        "minor": unit.profile.minor,
        "region": unit.profile.region,
        "nationality_group": unit.profile.nationality_group,
        "report_year": unit.report_year,
    }
    return {name: value for name, value in found.items() if value is not None}


# Event attribute ← (event type or "" for any, the fact's category). The kind of a dismissal
# (sepot) and of another disposal differ in meaning, so they get names of their own.
_EVENT_ATTRIBUTES: tuple[tuple[str, str, str], ...] = (
    ("instance", "", "instance"),
    ("outcome", "", "outcome"),
    ("dismissal_kind", "CaseDismissed", "kind"),
    ("disposal_kind", "OtherDisposalDecided", "kind"),
    ("ground", "NonTemporaryPermitIndicated", "ground"),
)


def event_attributes(record: FactRecord) -> dict[str, str | bool | int]:
    """The categories of a fact an event carries in the exports."""
    found: dict[str, str | bool | int] = {}
    for name, event_type, source in _EVENT_ATTRIBUTES:
        if event_type and record.event_type != event_type:
            continue
        value = record.attr(source)
        if value is not None:
            found[name] = value
    return found


def _typed_attribute(parent: ET.Element, key: str, value: str | bool | int) -> None:
    if isinstance(value, bool):
        _attribute(parent, "boolean", key, "true" if value else "false")
    elif isinstance(value, int):
        _attribute(parent, "int", key, str(value))
    else:
        _attribute(parent, "string", key, value)


def _xes_log() -> ET.Element:
    log = ET.Element(
        "log",
        {
            "xes.version": "1849-2016",
            "xes.features": "nested-attributes",
            "xmlns": "http://www.xes-standard.org/",
        },
    )
    for name, prefix in (
        ("Concept", "concept"),
        ("Time", "time"),
        ("Lifecycle", "lifecycle"),
        ("Organizational", "org"),
    ):
        ET.SubElement(
            log,
            "extension",
            {"name": name, "prefix": prefix, "uri": f"http://www.xes-standard.org/{prefix}.xesext"},
        )
    trace_globals = ET.SubElement(log, "global", {"scope": "trace"})
    _attribute(trace_globals, "string", "concept:name", "UNKNOWN")
    event_globals = ET.SubElement(log, "global", {"scope": "event"})
    _attribute(event_globals, "string", "concept:name", "UNKNOWN")
    _attribute(event_globals, "date", "time:timestamp", "1970-01-01T00:00:00.000+00:00")
    _attribute(event_globals, "string", "lifecycle:transition", "complete")
    ET.SubElement(log, "classifier", {"name": "Activity", "keys": "concept:name"})
    return log


def _xes_trace(
    log: ET.Element,
    name: str,
    attributes: dict[str, str | bool | int],
    records: Iterable[FactRecord],
) -> None:
    trace = ET.SubElement(log, "trace")
    _attribute(trace, "string", "concept:name", name)
    for key, value in attributes.items():
        _typed_attribute(trace, key, value)
    for record in records:
        event = ET.SubElement(trace, "event")
        _attribute(event, "string", "concept:name", record.event_type)
        _attribute(
            event,
            "date",
            "time:timestamp",
            f"{record.occurred_on.isoformat()}T00:00:00.000+00:00",
        )
        _attribute(event, "string", "lifecycle:transition", "complete")
        _attribute(event, "string", "org:group", record.service)
        for key, value in event_attributes(record).items():
            _typed_attribute(event, key, value)


def _xes_text(log: ET.Element) -> str:
    ET.indent(log)
    return ET.tostring(log, encoding="unicode", xml_declaration=True)


def event_log_xes(view: ChainView, *, pseudonymise: bool = False) -> str:
    """The case log as an XES document (IEEE 1849) that PM4Py, ProM and others read."""
    log = _xes_log()
    for number, (unit, records) in enumerate(traces(view), start=1):
        name = f"trace-{number:06d}" if pseudonymise else _trace_name(unit)
        _xes_trace(log, name, trace_attributes(unit), records)
    return _xes_text(log)


def residence_traces(view: ChainView) -> list[tuple[str, CaseVictimUnit | None, list[FactRecord]]]:
    """The residence log: per victim (by id) the residence facts, with the victim's first unit
    for its categories (None for a victim the monitor knows only from residence facts)."""
    first_unit: dict[str, CaseVictimUnit] = {}
    for unit in view.units:
        first_unit.setdefault(unit.victim_id, unit)
    by_victim: dict[str, list[FactRecord]] = defaultdict(list)
    for record in view.records:
        if record.service == RESIDENCE_SERVICE and record.victim_id is not None:
            by_victim[record.victim_id].append(record)
    return [(v, first_unit.get(v), by_victim[v]) for v in sorted(by_victim)]


def residence_log_xes(view: ChainView, *, pseudonymise: bool = False) -> str:
    """The residence facts (triggers, the IND's decisions) as an XES log of their own, one trace
    per victim, so that they never stretch a case's duration (see the module docstring)."""
    log = _xes_log()
    for number, (victim_id, unit, records) in enumerate(residence_traces(view), start=1):
        name = f"victim-trace-{number:06d}" if pseudonymise else victim_id
        attributes = trace_attributes(unit) if unit is not None else {}
        attributes.pop("report_year", None)  # a victim's, not one report's
        _xes_trace(log, name, attributes, records)
    return _xes_text(log)

"""Exports for analysts: CSV of the tables, and the event log as XES for process-mining tools.

Both are built in memory and returned as text; writing them anywhere is the adapter's job.

XES (IEEE 1849-2016): one trace per unit (one victim in one case, or a report-less signal
episode), events with concept:name = event type, time:timestamp = occurred_on (midnight UTC),
lifecycle:transition = complete and org:group = the emitting service. Only pseudonymous ids and
event types leave the monitor; with `pseudonymise=True` even the ids are replaced by sequence
numbers. Which events a trace holds:

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
from .leadtimes import AGE_BANDS, LeadTimeSummary
from .projection import CaseVictimUnit, ChainView, FactRecord

_LEAD_TIME_COLUMNS = (
    "interval",
    "dimension",
    "group",
    "units",
    "cases",
    "closed",
    "open",
    "out_of_sight",
    "ended",
    "inverted",
    "median_days",
    "q1_days",
    "q3_days",
    "p90_days",
    "mean_days",
    "norm_months",
    "within_norm",
    "share_within_norm",
    "km_median_days",
    "km_share_within_norm",
    "open_median_age_days",
    "open_max_age_days",
    *(f"open_age_{band}" for band in AGE_BANDS),
    "small_group",
    "few_closed",
)


def _cell(value: object, digits: int = 1) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def lead_times_csv(rows: Iterable[LeadTimeSummary]) -> str:
    """A lead-time table as CSV; withheld figures of small groups are empty cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_LEAD_TIME_COLUMNS)
    for row in rows:
        ages = row.open_ages
        writer.writerow(
            [
                row.interval,
                _cell(row.dimension),
                _cell(row.group),
                row.units,
                row.cases,
                row.closed,
                row.open,
                row.out_of_sight,
                row.ended,
                row.inverted,
                _cell(row.median_days),
                _cell(row.q1_days),
                _cell(row.q3_days),
                _cell(row.p90_days),
                _cell(row.mean_days),
                _cell(row.norm_months),
                _cell(row.within_norm),
                _cell(row.share_within_norm, 3),
                _cell(row.km_median_days),
                _cell(row.km_share_within_norm, 3),
                _cell(ages.median_days if ages else None),
                _cell(ages.max_days if ages else None),
                *(_cell(ages.by_band[band] if ages else None) for band in AGE_BANDS),
                _cell(row.small_group),
                _cell(row.few_closed),
            ]
        )
    return out.getvalue()


def figures_csv(rows: Iterable[YearFigures]) -> str:
    """Chain figures in long form: year, figure, category, value (a withheld share is empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("year", "figure", "category", "value", "small_group"))
    for row in rows:
        for name in row.__dataclass_fields__:
            if name == "year":
                continue
            value = getattr(row, name)
            if isinstance(value, Share):
                writer.writerow(
                    (row.year, name, "", _cell(value.value, 3), _cell(value.small_group))
                )
            elif isinstance(value, dict):
                for category, count in value.items():
                    writer.writerow((row.year, name, category, count, ""))
            else:
                writer.writerow((row.year, name, "", _cell(value), ""))
    return out.getvalue()


def _trace_name(unit: CaseVictimUnit) -> str:
    if unit.case_id is not None:
        return f"{unit.case_id}/{unit.victim_id}"
    t0 = unit.at(Milestone.T0)
    return f"no-case/{unit.victim_id}/{t0.isoformat() if t0 else ''}"


def traces(view: ChainView) -> list[tuple[CaseVictimUnit, list[FactRecord]]]:
    """The event log: each unit with its events in occurred order (see the module docstring)."""
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


def event_log_xes(view: ChainView, *, pseudonymise: bool = False) -> str:
    """The event log as an XES document (IEEE 1849) that PM4Py, ProM and others read."""
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

    for number, (unit, records) in enumerate(traces(view), start=1):
        trace = ET.SubElement(log, "trace")
        name = f"trace-{number:06d}" if pseudonymise else _trace_name(unit)
        _attribute(trace, "string", "concept:name", name)
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
    ET.indent(log)
    return ET.tostring(log, encoding="unicode", xml_declaration=True)

"""The gRPC API of the monitor: a translator from protobuf to queries and back, nothing more."""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht_common.auth import Role, authorise
from ketenzicht_common.errors import InvalidCommand, PreconditionFailed
from ketenzicht_common.grpc_server import Caller
from ketenzicht_common.translate import pseudonym
from monitor.adapters.consumer import ChainConsumer
from monitor.adapters.roles import ANALYSIS, AUDIT, STATUS
from monitor.application.live import LiveProjection
from monitor.application.queries import (
    EventLogFormat,
    Export,
    MonitorQueries,
    TableFormat,
    YearDarkNumber,
)
from monitor.domain import (
    AsOf,
    AuditEntry,
    AuditTrail,
    CorrectionKind,
    LeadTimeSummary,
    Share,
    YearFigures,
)
from monitor.domain.tables import CsvDialect
from monitor.domain.trends import SURVIVAL_DAYS, SurvivalCurve, SurvivalPoint

DESCRIPTOR = pb.DESCRIPTOR.services_by_name["MonitorService"]

_FORMATS = {
    pb.EVENT_LOG_FORMAT_XES: EventLogFormat.XES,
    pb.EVENT_LOG_FORMAT_CSV: EventLogFormat.CSV,
    pb.EVENT_LOG_FORMAT_OCEL2_JSON: EventLogFormat.OCEL,
    pb.EVENT_LOG_FORMAT_RESIDENCE_XES: EventLogFormat.RESIDENCE_XES,
}
_TABLE_FORMATS: dict[int, TableFormat] = {
    pb.TABLE_FORMAT_UNSPECIFIED: TableFormat.CSV,
    pb.TABLE_FORMAT_CSV: TableFormat.CSV,
    pb.TABLE_FORMAT_CSV_NL: TableFormat.CSV_NL,
    pb.TABLE_FORMAT_XLSX: TableFormat.XLSX,
    pb.TABLE_FORMAT_PARQUET: TableFormat.PARQUET,
}


_CSV_DIALECTS: dict[int, CsvDialect] = {
    pb.TABLE_FORMAT_UNSPECIFIED: CsvDialect.STANDARD,
    pb.TABLE_FORMAT_CSV: CsvDialect.STANDARD,
    pb.TABLE_FORMAT_CSV_NL: CsvDialect.DUTCH,
}


def _table_format(value: int) -> TableFormat:
    form = _TABLE_FORMATS.get(value)
    if form is None:
        raise InvalidCommand.of("format", "one of " + ", ".join(pb.TableFormat.keys()[1:]))
    return form


def _counts(values: Mapping[str, int]) -> list[pb.Count]:
    return [pb.Count(category=k, count=v) for k, v in values.items()]


def _share(share: Share) -> pb.Share:
    message = pb.Share(
        numerator=share.numerator, denominator=share.denominator, small_group=share.small_group
    )
    if share.value is not None:
        message.value = share.value
    return message


def lead_time_row(row: LeadTimeSummary) -> pb.LeadTimeRow:
    message = pb.LeadTimeRow(
        interval=row.interval,
        dimension=row.dimension or "",
        group=row.group or "",
        units=row.units,
        cases=row.cases,
        closed=row.closed,
        open=row.open,
        out_of_sight=row.out_of_sight,
        ended=row.ended,
        inverted=row.inverted,
        small_group=row.small_group,
        few_closed=row.few_closed,
        complementary=row.complementary,
    )
    # Withheld figures stay unset (proto3 optional), so a client can tell them from zero.
    for name in (
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
    ):
        value = getattr(row, name)
        if value is not None:
            setattr(message, name, value)
    if row.open_ages is not None:
        ages = row.open_ages
        message.open_ages.CopyFrom(
            pb.OpenAges(
                count=ages.count,
                median_days=ages.median_days,
                max_days=ages.max_days,
                bands=[pb.AgeBand(band=b, count=n) for b, n in ages.by_band.items()],
            )
        )
    return message


def year_figures(row: YearFigures) -> pb.YearFigures:
    return pb.YearFigures(
        year=row.year,
        victims_in_view=row.victims_in_view,
        victims_by_form=_counts(row.victims_by_form),
        victims_minor=row.victims_minor,
        victims_by_nationality_group=_counts(row.victims_by_nationality_group),
        reports=row.reports,
        cooperations=row.cooperations,
        om_inflow=row.om_inflow,
        om_decisions=_counts(row.om_decisions),
        summons_share=_share(row.summons_share),
        first_instance_verdicts=row.first_instance_verdicts,
        verdicts_by_outcome=_counts(row.verdicts_by_outcome),
        conviction_share=_share(row.conviction_share),
        reflection_periods_offered=row.reflection_periods_offered,
        reflection_periods_granted=row.reflection_periods_granted,
        temporary_permits_granted=row.temporary_permits_granted,
        temporary_permits_refused=row.temporary_permits_refused,
        non_temporary_permits_granted=row.non_temporary_permits_granted,
        non_temporary_permits_refused=row.non_temporary_permits_refused,
        non_temporary_triggers=_counts(row.non_temporary_triggers),
        repeat_victimisation=_share(row.repeat_victimisation),
        repeat_follow_up_complete=row.repeat_follow_up_complete,
    )


def _fields(row: Any) -> dict[str, Any]:
    """A domain row's fields as message arguments; None (withheld) left out, so it stays unset."""
    return {f.name: getattr(row, f.name) for f in fields(row) if getattr(row, f.name) is not None}


def _point(point: SurvivalPoint) -> pb.SurvivalPoint:
    return pb.SurvivalPoint(**_fields(point))


def survival_curve(curve: SurvivalCurve) -> pb.SurvivalCurve:
    return pb.SurvivalCurve(
        group=curve.group,
        units=curve.units,
        cases=curve.cases,
        small_group=curve.small_group,
        points=[_point(p) for p in curve.points],
        at_days=[
            pb.SurvivalAtDay(day=day, point=_point(p) if p is not None else None)
            for day, p in zip(SURVIVAL_DAYS, curve.at_days, strict=False)
        ],
    )


def year_dark_number(year: YearDarkNumber) -> pb.YearDarkNumber:
    message = pb.YearDarkNumber(
        year=year.year,
        observed=year.observed,
        lists=[pb.ListCount(organisation=name, victims=n) for name, n in year.lists.items()],
        model=year.model,
        level=year.level,
        replicates=year.replicates,
        failed_replicates=year.failed_replicates,
        refusal=year.refusal or "",
        reason=year.reason,
    )
    for name in ("estimate", "lower", "upper", "dark", "ratio"):
        value = getattr(year, name)
        if value is not None:
            setattr(message, name, value)
    return message


def _export(export: Export, compress: bool) -> pb.ExportFile:
    content = export.data
    if compress:
        content = gzip.compress(content, mtime=0)
    return pb.ExportFile(
        media_type=export.media_type, filename=export.filename, content=content, gzip=compress
    )


_CORRECTION_KINDS = {
    CorrectionKind.ANNUL: pb.CORRECTION_KIND_ANNUL,
    CorrectionKind.AMEND: pb.CORRECTION_KIND_AMEND,
}


def audit_entry(entry: AuditEntry) -> pb.AuditEntry:
    message = pb.AuditEntry(
        event_id=entry.event_id,
        service=entry.service,
        event_type=entry.event_type,
        occurred_on=entry.occurred_on.isoformat(),
        recorded_at=entry.recorded_at.isoformat(),
        organisation=entry.organisation,
        system=entry.system,
        victim_id=entry.victim_id or "",
        case_id=entry.case_id or "",
        suspect_id=entry.suspect_id or "",
        annulled_by=entry.annulled_by or "",
        amended_by=entry.amended_by,
        corrected_by=entry.corrected_by,
    )
    correction = entry.correction
    if correction is not None:
        message.correction.CopyFrom(
            pb.AuditCorrection(
                kind=_CORRECTION_KINDS[correction.kind],
                corrected_event_id=correction.corrected_event_id,
                original_event_id=correction.original_event_id,
                corrected_event_type=correction.corrected_event_type,
                reason=correction.reason,
                fact_occurred_on=correction.fact_occurred_on.isoformat()
                if correction.fact_occurred_on
                else "",
                amended=[pb.AmendedField(field=f, value=v) for f, v in correction.amended],
            )
        )
    return message


def audit_response(trail: AuditTrail) -> pb.AuditTrailResponse:
    return pb.AuditTrailResponse(
        victim_id=trail.victim_id or "",
        case_id=trail.case_id or "",
        victim_ids=trail.victim_ids,
        entries=[audit_entry(e) for e in trail.entries],
    )


def _may(caller: Caller, roles: frozenset[Role], what: str) -> None:
    """The guard admitted one of the monitor's roles; this RPC may want one of them only."""
    authorise(caller.identity, roles, f"MonitorService/{what}")


_AsOfRequest = (
    pb.GetLeadTimesRequest
    | pb.GetChainFiguresRequest
    | pb.ExportLeadTimesRequest
    | pb.ExportChainFiguresRequest
    | pb.ExportEventLogRequest
    | pb.ExportUnitsRequest
    | pb.GetTrendRequest
    | pb.GetSurvivalRequest
    | pb.GetResidencePanelRequest
    | pb.GetDarkNumberRequest
)
"""The requests that say as of when (and as known by when) their figures are wanted."""


class MonitorApi:
    def __init__(
        self, queries: MonitorQueries, live: LiveProjection, consumer: ChainConsumer
    ) -> None:
        self.queries = queries
        self.live = live
        self.consumer = consumer

    def _as_of(self, request: _AsOfRequest) -> AsOf:
        return self.queries.as_of(request.as_of.on, request.as_of.known_by)

    async def GetLeadTimes(
        self, request: pb.GetLeadTimesRequest, caller: Caller
    ) -> pb.GetLeadTimesResponse:
        _may(caller, ANALYSIS, "GetLeadTimes")
        as_of = self._as_of(request)
        table = await self.queries.lead_times(
            as_of, request.by, list(request.intervals), min_group_size=request.min_group_size
        )
        return pb.GetLeadTimesResponse(
            as_of=as_of.on.isoformat(),
            known_by=as_of.known_by.isoformat(),
            min_group_size=table.min_group_size,
            rows=[lead_time_row(r) for r in table.rows],
        )

    async def GetChainFigures(
        self, request: pb.GetChainFiguresRequest, caller: Caller
    ) -> pb.GetChainFiguresResponse:
        _may(caller, ANALYSIS, "GetChainFigures")
        as_of = self._as_of(request)
        figures = await self.queries.figures(
            as_of, list(request.years), min_group_size=request.min_group_size
        )
        return pb.GetChainFiguresResponse(
            as_of=as_of.on.isoformat(),
            known_by=as_of.known_by.isoformat(),
            years=[year_figures(y) for y in figures.years],
            min_group_size=figures.min_group_size,
        )

    async def ExportLeadTimes(
        self, request: pb.ExportLeadTimesRequest, caller: Caller
    ) -> pb.ExportFile:
        _may(caller, ANALYSIS, "ExportLeadTimes")
        export = await self.queries.lead_times_export(
            self._as_of(request),
            request.by,
            list(request.intervals),
            _table_format(request.format),
            min_group_size=request.min_group_size,
        )
        return _export(export, request.gzip)

    async def ExportChainFigures(
        self, request: pb.ExportChainFiguresRequest, caller: Caller
    ) -> pb.ExportFile:
        _may(caller, ANALYSIS, "ExportChainFigures")
        dialect = _CSV_DIALECTS.get(request.format)
        if dialect is None:
            raise InvalidCommand.of("format", "TABLE_FORMAT_CSV or TABLE_FORMAT_CSV_NL")
        export = await self.queries.figures_export(
            self._as_of(request),
            list(request.years),
            min_group_size=request.min_group_size,
            dialect=dialect,
        )
        return _export(export, request.gzip)

    async def ExportEventLog(
        self, request: pb.ExportEventLogRequest, caller: Caller
    ) -> pb.ExportFile:
        _may(caller, ANALYSIS, "ExportEventLog")
        form = _FORMATS.get(request.format)
        if form is None:
            raise InvalidCommand.of("format", "one of " + ", ".join(pb.EventLogFormat.keys()[1:]))
        export = await self.queries.event_log(
            self._as_of(request), form, pseudonymise=request.pseudonymise
        )
        return _export(export, request.gzip)

    async def ExportUnits(self, request: pb.ExportUnitsRequest, caller: Caller) -> pb.ExportFile:
        _may(caller, ANALYSIS, "ExportUnits")
        export = await self.queries.units_export(
            self._as_of(request), _table_format(request.format), pseudonymise=request.pseudonymise
        )
        return _export(export, request.gzip)

    async def GetStatus(self, request: pb.GetStatusRequest, caller: Caller) -> pb.GetStatusResponse:
        _may(caller, STATUS, "GetStatus")
        last = self.live.last_commit_at
        return pb.GetStatusResponse(
            facts=len(self.live),
            consuming=self.consumer.consuming,
            rebuilding=self.live.rebuilding,
            # The contract's name predates the fact database: the last commit of facts to it.
            last_snapshot_at=last.isoformat() if last else "",
            streams=list(self.consumer.services),
        )

    async def Rebuild(self, request: pb.RebuildRequest, caller: Caller) -> pb.RebuildResponse:
        _may(caller, ANALYSIS, "Rebuild")
        try:
            before, after = await self.live.rebuild(self.consumer.replay)
        except ConnectionError:
            raise PreconditionFailed(
                "NATS_UNAVAILABLE", "the monitor is not connected to NATS; try again later"
            ) from None
        return pb.RebuildResponse(facts_before=before, facts_after=after)

    async def AuditTrail(
        self, request: pb.AuditTrailRequest, caller: Caller
    ) -> pb.AuditTrailResponse:
        _may(caller, AUDIT, "AuditTrail")
        subject = request.WhichOneof("subject")
        if subject == "victim_id":
            trail = await self.queries.audit(victim_id=pseudonym("victim_id", request.victim_id))
        elif subject == "case_id":
            trail = await self.queries.audit(case_id=pseudonym("case_id", request.case_id))
        else:
            raise InvalidCommand.of("subject", "a victim_id or a case_id")
        return audit_response(trail)

    async def GetTrend(self, request: pb.GetTrendRequest, caller: Caller) -> pb.GetTrendResponse:
        _may(caller, ANALYSIS, "GetTrend")
        as_of = self._as_of(request)
        trend = await self.queries.trend(
            as_of, request.interval, min_group_size=request.min_group_size
        )
        return pb.GetTrendResponse(
            as_of=as_of.on.isoformat(),
            known_by=as_of.known_by.isoformat(),
            interval=trend.interval,
            min_group_size=trend.min_group_size,
            years=[pb.YearMedian(**_fields(y)) for y in trend.years],
        )

    async def GetSurvival(
        self, request: pb.GetSurvivalRequest, caller: Caller
    ) -> pb.GetSurvivalResponse:
        _may(caller, ANALYSIS, "GetSurvival")
        as_of = self._as_of(request)
        survival = await self.queries.survival(
            as_of, request.interval, request.by, min_group_size=request.min_group_size
        )
        return pb.GetSurvivalResponse(
            as_of=as_of.on.isoformat(),
            known_by=as_of.known_by.isoformat(),
            interval=survival.interval,
            by=survival.by,
            min_group_size=survival.min_group_size,
            curves=[survival_curve(c) for c in survival.curves],
        )

    async def GetResidencePanel(
        self, request: pb.GetResidencePanelRequest, caller: Caller
    ) -> pb.GetResidencePanelResponse:
        _may(caller, ANALYSIS, "GetResidencePanel")
        as_of = self._as_of(request)
        residence = await self.queries.residence(as_of, min_group_size=request.min_group_size)
        return pb.GetResidencePanelResponse(
            as_of=as_of.on.isoformat(),
            known_by=as_of.known_by.isoformat(),
            min_group_size=residence.min_group_size,
            rows=[pb.ResidenceRow(**_fields(r)) for r in residence.panel.rows],
            open_indications=[
                pb.OpenIndications(**_fields(o)) for o in residence.panel.open_indications
            ],
        )

    async def GetDarkNumber(
        self, request: pb.GetDarkNumberRequest, caller: Caller
    ) -> pb.GetDarkNumberResponse:
        _may(caller, ANALYSIS, "GetDarkNumber")
        as_of = self._as_of(request)
        dark = await self.queries.dark_number(
            as_of,
            list(request.years),
            request.criterion,
            min_group_size=request.min_group_size,
        )
        estimated = [y for y in dark.years if y.refusal is None]
        if not dark.years:
            raise PreconditionFailed(
                "NO_SIGNALS", "no victim was signalled in any year as of this cut-off"
            )
        if not estimated:
            # Nothing to show: the refusal is the answer, with its code for the client to
            # switch on (the latest year's when the years were refused for different reasons).
            last = dark.years[-1]
            reasons = "; ".join(f"{y.year}: {y.reason}" for y in dark.years)
            raise PreconditionFailed(
                last.refusal or "NO_ESTIMATE",
                f"no estimate of the dark number: {reasons}",
                subject=f"year {last.year}",
            )
        return pb.GetDarkNumberResponse(
            as_of=as_of.on.isoformat(),
            known_by=as_of.known_by.isoformat(),
            criterion=dark.criterion,
            min_group_size=dark.min_group_size,
            years=[year_dark_number(y) for y in dark.years],
        )

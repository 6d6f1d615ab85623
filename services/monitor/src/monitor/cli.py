"""``ketenzicht``: the analysts' command line, talking to a running monitor over gRPC.

    ketenzicht report lead-times [--by cohort[,minor]] [--interval T0-T2 ...] [--as-of DATE]
                                 [--min-group-size N] [--csv]
    ketenzicht report figures [--years 2022 2023] [--as-of DATE] [--min-group-size N] [--csv]
    ketenzicht report trend|survival|residence [--as-of DATE] [--min-group-size N]
    ketenzicht report dark-number [--years 2022 2023] [--criterion AIC|BIC] [--as-of DATE]
                                  [--min-group-size N]
    ketenzicht export xes [--as-of DATE] [--pseudonymise] [-o log.xes]
        (or: csv, ocel, residence-xes; the units table: units-csv, units-csv-nl, units-xlsx,
        units-parquet)
    ketenzicht status
    ketenzicht rebuild
    ketenzicht audit (--victim ID | --case ID) [--csv]                     (the AUDITOR role)

Where and who: ``--address`` (or ``KETENZICHT_MONITOR_ADDRESS``, default the local profile's
127.0.0.1:50055) and ``--token`` (or ``KETENZICHT_TOKEN``, default the local analyst token; for
``audit``, the local auditor token).
With ``--server-ca`` the connection uses TLS; ``--client-cert``/``--client-key`` add a client
certificate. Exit status: 0 done, 1 the monitor refused or failed, 2 a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import grpc

from ketenzicht.monitor.v1 import monitor_pb2 as pb
from ketenzicht.monitor.v1.monitor_pb2_grpc import MonitorServiceStub
from ketenzicht_common.client import open_channel
from monitor.application.queries import DIMENSION_NAMES, INTERVAL_NAMES

DEFAULT_ADDRESS = "127.0.0.1:50055"
DEFAULT_TOKEN = "local-analyst-token"  # the local profile's (deploy/local/identities.toml)
DEFAULT_AUDITOR_TOKEN = "local-auditor-token"
_MAX_MESSAGE_BYTES = 512 * 1024 * 1024  # event logs are large; the server sends them in one


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ketenzicht", description="Lead times, chain figures and event logs from the monitor."
    )
    parser.add_argument(
        "--address", default=os.environ.get("KETENZICHT_MONITOR_ADDRESS", DEFAULT_ADDRESS)
    )
    parser.add_argument(
        "--token", default=os.environ.get("KETENZICHT_TOKEN"), help="bearer token of the caller"
    )
    parser.add_argument("--server-ca", type=Path, help="CA of the monitor's certificate (TLS)")
    parser.add_argument("--client-cert", type=Path)
    parser.add_argument("--client-key", type=Path)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per call")
    commands = parser.add_subparsers(dest="command", required=True)

    def cut(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--as-of", default="", help="cut-off date YYYY-MM-DD (default today)")
        sub.add_argument(
            "--known-by",
            default="",
            help="only facts recorded by this RFC 3339 instant (reproduce a table)",
        )

    report = commands.add_parser("report", help="print a table").add_subparsers(
        dest="report", required=True
    )
    lead_times = report.add_parser("lead-times", help="lead times (doorlooptijden)")
    cut(lead_times)
    lead_times.add_argument(
        "--by",
        default="",
        help="break down by one dimension or two joined by a comma: " + ", ".join(DIMENSION_NAMES),
    )
    threshold = (
        "small-group threshold for this answer (default the published one; not below the floor)"
    )
    lead_times.add_argument("--min-group-size", type=int, default=0, help=threshold)
    lead_times.add_argument(
        "--interval",
        action="append",
        default=[],
        choices=INTERVAL_NAMES,
        help="only this interval (repeatable)",
    )
    lead_times.add_argument("--csv", action="store_true", help="CSV instead of a table")
    figures = report.add_parser("figures", help="chain figures per year (ketencijfers)")
    cut(figures)
    figures.add_argument("--years", type=int, nargs="*", default=[])
    figures.add_argument("--min-group-size", type=int, default=0, help=threshold)
    figures.add_argument("--csv", action="store_true", help="CSV instead of a table")
    figures.add_argument(
        "--csv-nl", action="store_true", help="CSV in the Dutch dialect (';', decimal comma)"
    )

    trend = report.add_parser("trend", help="Kaplan-Meier median per start year, 95% CI")
    survival = report.add_parser("survival", help="Kaplan-Meier curves at fixed days, 95% band")
    for sub in (trend, survival):
        cut(sub)
        sub.add_argument("--interval", default="T2-T3", choices=INTERVAL_NAMES)
        sub.add_argument("--min-group-size", type=int, default=0, help=threshold)
    survival.add_argument(
        "--by", default="", help="start_year (default) or one dimension: cohort, form, ..."
    )
    residence = report.add_parser(
        "residence", help="triggers by kind per year, days to the IND's decision, open ones"
    )
    cut(residence)
    residence.add_argument("--min-group-size", type=int, default=0, help=threshold)
    dark = report.add_parser(
        "dark-number", help="victims never signalled, per year (multiple systems estimation)"
    )
    cut(dark)
    dark.add_argument("--years", type=int, nargs="*", default=[])
    dark.add_argument("--criterion", default="AIC", choices=["AIC", "BIC"])
    dark.add_argument("--min-group-size", type=int, default=0, help=threshold)

    export = commands.add_parser(
        "export", help="write the event log for process mining, or the units table"
    )
    export.add_argument("format", choices=[*_EVENT_LOG_FORMATS, *_UNIT_FORMATS])
    cut(export)
    export.add_argument(
        "--pseudonymise",
        action="store_true",
        help="trace numbers instead of case and victim pseudonyms",
    )
    export.add_argument("-o", "--output", type=Path, help="file to write (default stdout)")

    commands.add_parser("status", help="how much the monitor holds")
    commands.add_parser("rebuild", help="re-read every stream into a fresh read model")

    audit = commands.add_parser(
        "audit", help="what was registered and corrected about a victim or case, by whom, when"
    )
    subject = audit.add_mutually_exclusive_group(required=True)
    subject.add_argument("--victim", default=None, help="a victim's pseudonym")
    subject.add_argument("--case", default=None, help="a case's pseudonym")
    audit.add_argument("--csv", action="store_true", help="CSV instead of a table")
    return parser


def _channel(args: argparse.Namespace) -> grpc.aio.Channel:
    # Without --server-ca, KETENZICHT_CLIENT_CA & co. decide (ketenzicht_common.client).
    return open_channel(
        args.address,
        options=[("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES)],
        client_certificate=args.client_cert,
        client_key=args.client_key,
        server_ca=args.server_ca,
    )


def _value(message: Any, name: str, digits: int = 0) -> str:
    if not message.HasField(name):
        return "-"
    value = getattr(message, name)
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _share(message: Any, name: str) -> str:
    return "-" if not message.HasField(name) else f"{100 * getattr(message, name):.0f}%"


def print_table(rows: Sequence[Sequence[str]], out: TextIO, *, left: int = 1) -> None:
    """Columns padded to their widest cell; the first `left` columns left-aligned."""
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    for row in rows:
        cells = [
            cell.ljust(w) if c < left else cell.rjust(w)
            for c, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.write("  ".join(cells).rstrip() + "\n")


def lead_time_lines(response: Any) -> list[list[str]]:
    grouped = any(row.dimension for row in response.rows)
    header = [
        "interval",
        *(["group"] if grouped else []),
        "units",
        "closed",
        "open",
        "out of sight",
        "ended",
        "median",
        "q1",
        "q3",
        "p90",
        "norm",
        "within norm",
        "KM median",
        "KM within norm",
        "open: median age",
    ]
    lines = [header]
    for row in response.rows:
        ages = f"{row.open_ages.median_days:.0f}" if row.HasField("open_ages") else "-"
        lines.append(
            [
                row.interval,
                *([row.group] if grouped else []),
                str(row.units),
                str(row.closed),
                str(row.open),
                str(row.out_of_sight),
                str(row.ended),
                _value(row, "median_days"),
                _value(row, "q1_days"),
                _value(row, "q3_days"),
                _value(row, "p90_days"),
                f"{row.norm_months}m" if row.HasField("norm_months") else "-",
                _share(row, "share_within_norm"),
                _value(row, "km_median_days"),
                _share(row, "km_share_within_norm"),
                ages,
            ]
        )
    return lines


def figure_lines(response: Any) -> list[list[str]]:
    """Figures down, years across (as the National Rapporteur's tables read)."""
    years = list(response.years)
    lines = [["figure", *(str(y.year) for y in years)]]
    for field in pb.YearFigures.DESCRIPTOR.fields:
        name = field.name
        if name == "year":
            continue
        if field.message_type is pb.Share.DESCRIPTOR:
            lines.append([name, *(_share(getattr(y, name), "value") for y in years)])
        elif field.message_type is pb.Count.DESCRIPTOR:
            counts = [{c.category: c.count for c in getattr(y, name)} for y in years]
            for category in sorted({c for per_year in counts for c in per_year}):
                lines.append(
                    [
                        f"{name}: {category}",
                        *(str(per_year.get(category, 0)) for per_year in counts),
                    ]
                )
        else:
            lines.append([name, *(str(getattr(y, name)).lower() for y in years)])
    return lines


AUDIT_COLUMNS = (
    "recorded_at",
    "occurred_on",
    "service",
    "event_type",
    "organisation",
    "system",
    "event_id",
    "case_id",
    "victim_id",
    "suspect_id",
    "correction",
    "corrects",
    "reason",
    "fact_occurred_on",
    "amended",
    "annulled_by",
    "amended_by",
)


def audit_lines(response: Any) -> list[list[str]]:
    """One line per entry, in the order the services recorded them."""
    lines = [list(AUDIT_COLUMNS)]
    kinds = {pb.CORRECTION_KIND_ANNUL: "annul", pb.CORRECTION_KIND_AMEND: "amend"}
    for entry in response.entries:
        correction = entry.correction if entry.HasField("correction") else None
        lines.append(
            [
                entry.recorded_at,
                entry.occurred_on,
                entry.service,
                entry.event_type,
                entry.organisation or "-",
                entry.system or "-",
                entry.event_id,
                entry.case_id or "-",
                entry.victim_id or "-",
                entry.suspect_id or "-",
                kinds.get(correction.kind, "-") if correction else "-",
                correction.corrected_event_id if correction else "-",
                correction.reason if correction else "-",
                (correction.fact_occurred_on or "-") if correction else "-",
                " ".join(f"{a.field}={a.value}" for a in correction.amended) or "-"
                if correction
                else "-",
                entry.annulled_by or "-",
                " ".join(entry.amended_by) or "-",
            ]
        )
    return lines


def trend_lines(response: Any) -> list[list[str]]:
    lines = [["year", "units", "cases", "closed", "KM median", "95% from", "95% to"]]
    for y in response.years:
        lines.append(
            [
                str(y.year),
                str(y.units),
                str(y.cases),
                str(y.closed),
                _value(y, "km_median_days", 1),
                _value(y, "lower_days", 1),
                _value(y, "upper_days", 1),
            ]
        )
    return lines


def survival_lines(response: Any) -> list[list[str]]:
    days: list[int] = []
    for curve in response.curves:
        if curve.at_days:
            days = [a.day for a in curve.at_days]
            break
    lines = [[response.by, "units", "cases", *(f"{d} d (95%)" for d in days)]]
    for curve in response.curves:
        cells = [curve.group, str(curve.units), str(curve.cases)]
        for index in range(len(days)):
            at = curve.at_days[index] if index < len(curve.at_days) else None
            if at is None or not at.HasField("point"):
                cells.append("-")
            else:
                p = at.point
                cells.append(f"{p.survival:.3f} ({p.lower:.3f}-{p.upper:.3f})")
        lines.append(cells)
    return lines


def residence_lines(response: Any) -> list[list[str]]:
    lines = [["year", "kind", "triggers", "retracted", "answered", "open", "median days"]]
    for r in response.rows:
        lines.append(
            [
                str(r.year),
                r.kind,
                str(r.triggers),
                str(r.retracted),
                str(r.answered) if r.asks_decision else "-",
                str(r.open) if r.asks_decision else "-",
                _value(r, "median_days_to_decision", 1),
            ]
        )
    return lines


def open_indication_lines(response: Any) -> list[list[str]]:
    lines = [["kind", "open", "victims", "median age", "oldest year"]]
    for o in response.open_indications:
        lines.append(
            [
                o.kind,
                str(o.open),
                str(o.victims),
                _value(o, "median_age_days", 1),
                _value(o, "oldest_year"),
            ]
        )
    return lines


def dark_number_lines(response: Any) -> list[list[str]]:
    lines = [["year", "observed", "estimate", "95% from", "95% to", "dark", "ratio", "model"]]
    for y in response.years:
        if y.refusal:
            lines.append([str(y.year), str(y.observed), "-", "-", "-", "-", "-", y.refusal])
            continue
        lines.append(
            [
                str(y.year),
                str(y.observed),
                _value(y, "estimate"),
                _value(y, "lower"),
                _value(y, "upper"),
                _value(y, "dark"),
                _value(y, "ratio", 3),
                " + ".join(y.model) or "independence",
            ]
        )
    return lines


def dark_list_lines(response: Any) -> list[list[str]]:
    """Organisations down, years across: the victims each list signalled."""
    years = list(response.years)
    names = sorted({c.organisation for y in years for c in y.lists})
    lines = [["list", *(str(y.year) for y in years)]]
    for name in names:
        cells = [name]
        for y in years:
            found = [c for c in y.lists if c.organisation == name]
            cells.append(_value(found[0], "victims") if found else "0")
        lines.append(cells)
    return lines


def _content(export: Any) -> bytes:
    return gzip.decompress(export.content) if export.gzip else bytes(export.content)


async def run(args: argparse.Namespace, out: TextIO) -> None:
    token = args.token
    if token is None:
        token = DEFAULT_AUDITOR_TOKEN if args.command == "audit" else DEFAULT_TOKEN
    metadata = [("authorization", f"Bearer {token}")] if token else []
    async with _channel(args) as channel:
        stub = MonitorServiceStub(channel)

        async def call(method: Any, request: Any) -> Any:
            return await method(request, metadata=metadata, timeout=args.timeout)

        if args.command == "status":
            status = await call(stub.GetStatus, pb.GetStatusRequest())
            out.write(
                f"facts held     {status.facts}\nconsuming      {status.consuming}\n"
                f"rebuilding     {status.rebuilding}\n"
                f"last saved     {status.last_snapshot_at or '-'}\n"
                f"streams        {', '.join(status.streams)}\n"
            )
        elif args.command == "audit":
            request = (
                pb.AuditTrailRequest(victim_id=args.victim)
                if args.victim is not None
                else pb.AuditTrailRequest(case_id=args.case)
            )
            trail = await call(stub.AuditTrail, request)
            lines = audit_lines(trail)
            if args.csv:
                writer = csv.writer(out, lineterminator="\n")
                writer.writerows([[("" if c == "-" else c) for c in line] for line in lines])
                return
            subject = f"victim {trail.victim_id}" if trail.victim_id else f"case {trail.case_id}"
            out.write(f"Audit trail of {subject}: {len(trail.entries)} events\n")
            if trail.victim_ids:
                out.write(f"victims in the case: {', '.join(trail.victim_ids)}\n")
            out.write("\n")
            print_table(lines, out, left=len(AUDIT_COLUMNS))
        elif args.command == "rebuild":
            done = await call(stub.Rebuild, pb.RebuildRequest())
            out.write(f"rebuilt: {done.facts_before} facts before, {done.facts_after} after\n")
        elif args.command == "export":
            as_of = pb.AsOf(on=args.as_of, known_by=args.known_by)
            if args.format in _UNIT_FORMATS:
                export = await call(
                    stub.ExportUnits,
                    pb.ExportUnitsRequest(
                        as_of=as_of,
                        format=_UNIT_FORMATS[args.format],
                        pseudonymise=args.pseudonymise,
                        gzip=True,
                    ),
                )
            else:
                export = await call(
                    stub.ExportEventLog,
                    pb.ExportEventLogRequest(
                        as_of=as_of,
                        format=_EVENT_LOG_FORMATS[args.format],
                        pseudonymise=args.pseudonymise,
                        gzip=True,
                    ),
                )
            _write(_content(export), args.output, out)
        elif args.report == "lead-times":
            as_of = pb.AsOf(on=args.as_of, known_by=args.known_by)
            if args.csv:
                export = await call(
                    stub.ExportLeadTimes,
                    pb.ExportLeadTimesRequest(
                        as_of=as_of,
                        by=args.by,
                        intervals=args.interval,
                        gzip=True,
                        min_group_size=args.min_group_size,
                    ),
                )
                _write(_content(export), None, out)
                return
            table = await call(
                stub.GetLeadTimes,
                pb.GetLeadTimesRequest(
                    as_of=as_of,
                    by=args.by,
                    intervals=args.interval,
                    min_group_size=args.min_group_size,
                ),
            )
            out.write(
                f"Lead times in days as of {table.as_of} (known by {table.known_by})"
                f"{', by ' + args.by if args.by else ''}\n\n"
            )
            print_table(lead_time_lines(table), out, left=2 if args.by else 1)
            out.write(
                f"\n- withheld: fewer than {table.min_group_size} cases (or closed "
                "cases) in the group, or withheld beside such a group so that it cannot be "
                "computed back from the overall row. KM: Kaplan-Meier, open cases censored.\n"
            )
        elif args.report == "trend":
            trend = await call(
                stub.GetTrend,
                pb.GetTrendRequest(
                    as_of=pb.AsOf(on=args.as_of, known_by=args.known_by),
                    interval=args.interval,
                    min_group_size=args.min_group_size,
                ),
            )
            out.write(
                f"Kaplan-Meier median of {trend.interval} in days per start year, as of "
                f"{trend.as_of} (known by {trend.known_by})\n\n"
            )
            print_table(trend_lines(trend), out)
            out.write(
                f"\n- withheld (fewer than {trend.min_group_size} cases) or not reached; "
                "95% to '-': the band never falls below one half.\n"
            )
        elif args.report == "survival":
            survival = await call(
                stub.GetSurvival,
                pb.GetSurvivalRequest(
                    as_of=pb.AsOf(on=args.as_of, known_by=args.known_by),
                    interval=args.interval,
                    by=args.by,
                    min_group_size=args.min_group_size,
                ),
            )
            out.write(
                f"Share of {survival.interval} not yet reached (Kaplan-Meier, 95% band) by "
                f"{survival.by}, as of {survival.as_of} (known by {survival.known_by})\n\n"
            )
            print_table(survival_lines(survival), out)
            out.write(
                f"\n- withheld (fewer than {survival.min_group_size} cases) or past the "
                "follow-up.\n"
            )
        elif args.report == "residence":
            panel = await call(
                stub.GetResidencePanel,
                pb.GetResidencePanelRequest(
                    as_of=pb.AsOf(on=args.as_of, known_by=args.known_by),
                    min_group_size=args.min_group_size,
                ),
            )
            out.write(
                f"Residence triggers per year and days to the IND's decision, as of "
                f"{panel.as_of} (known by {panel.known_by})\n\n"
            )
            if panel.rows:
                print_table(residence_lines(panel), out, left=2)
            if panel.open_indications:
                out.write("\nIndications still open\n\n")
                print_table(open_indication_lines(panel), out)
            out.write(
                f"\n- withheld (fewer than {panel.min_group_size} victims), no decision "
                "asked, or none yet.\n"
            )
        elif args.report == "dark-number":
            dark = await call(
                stub.GetDarkNumber,
                pb.GetDarkNumberRequest(
                    as_of=pb.AsOf(on=args.as_of, known_by=args.known_by),
                    years=args.years,
                    criterion=args.criterion,
                    min_group_size=args.min_group_size,
                ),
            )
            out.write(
                f"The dark number per year (multiple systems estimation, {dark.criterion}), as "
                f"of {dark.as_of} (known by {dark.known_by})\n\n"
            )
            print_table(dark_number_lines(dark), out, left=1)
            out.write("\nVictims per list\n\n")
            print_table(dark_list_lines(dark), out)
            for y in dark.years:
                if y.refusal:
                    out.write(f"\n{y.year}: no estimate ({y.refusal}): {y.reason}")
            out.write(
                f"\n\n- withheld (fewer than {dark.min_group_size} victims); 95% to '-': the "
                "interval has no upper end. Bootstrap interval with the model chosen again in "
                "every replicate.\n"
            )
        else:
            as_of = pb.AsOf(on=args.as_of, known_by=args.known_by)
            if args.csv or args.csv_nl:
                export = await call(
                    stub.ExportChainFigures,
                    pb.ExportChainFiguresRequest(
                        as_of=as_of,
                        years=args.years,
                        gzip=True,
                        min_group_size=args.min_group_size,
                        format=pb.TABLE_FORMAT_CSV_NL if args.csv_nl else pb.TABLE_FORMAT_CSV,
                    ),
                )
                _write(_content(export), None, out)
                return
            figures = await call(
                stub.GetChainFigures,
                pb.GetChainFiguresRequest(
                    as_of=as_of, years=args.years, min_group_size=args.min_group_size
                ),
            )
            out.write(
                f"Chain figures as of {figures.as_of} (known by {figures.known_by}), shares "
                f"withheld below {figures.min_group_size}\n\n"
            )
            if figures.years:
                print_table(figure_lines(figures), out)


_EVENT_LOG_FORMATS = {
    "xes": pb.EVENT_LOG_FORMAT_XES,
    "csv": pb.EVENT_LOG_FORMAT_CSV,
    "ocel": pb.EVENT_LOG_FORMAT_OCEL2_JSON,
    "residence-xes": pb.EVENT_LOG_FORMAT_RESIDENCE_XES,
}
_UNIT_FORMATS = {
    "units-csv": pb.TABLE_FORMAT_CSV,
    "units-csv-nl": pb.TABLE_FORMAT_CSV_NL,
    "units-xlsx": pb.TABLE_FORMAT_XLSX,
    "units-parquet": pb.TABLE_FORMAT_PARQUET,
}


def _write(content: bytes, path: Path | None, out: TextIO) -> None:
    if path is not None:
        path.write_bytes(content)
        return
    try:
        text = content.decode()
    except UnicodeDecodeError:
        raise SystemExit("a binary file (XLSX, Parquet): write it with -o FILE") from None
    out.write(text)
    out.flush()


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        asyncio.run(run(args, sys.stdout))
    except grpc.aio.AioRpcError as error:
        print(f"ketenzicht: {error.code().name}: {error.details()}", file=sys.stderr)
        sys.exit(1)
    except BrokenPipeError:  # e.g. piped into `head`
        sys.exit(0)


if __name__ == "__main__":
    main()

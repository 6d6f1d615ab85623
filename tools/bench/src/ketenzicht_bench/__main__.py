"""``make bench``: one run on this machine; every figure beside the raw limit of its parts,
measured in the same run with the same libraries, and the ratio.

    python -m ketenzicht_bench            # full run (a few minutes)
    python -m ketenzicht_bench --tiny     # seconds; the test suite runs this so it cannot rot
    python -m ketenzicht_bench --cluster [--tiny]   # the same on the cluster profile
    python -m ketenzicht_bench --scale-run [--events N]   # N events straight onto the streams:
                                                          # replay and rebuild timed, memory
    python -m ketenzicht_bench --scale-run --via-grpc [--events N]   # the scenario through gRPC
    python -m ketenzicht_bench --profile DIR [--scale S] [--update-readme]   # where the time goes
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ketenzicht_common.cluster import ClusterStack
from ketenzicht_common.stack import Profile, Stack, private_profile
from residence.application.settling import DEFAULT_GRACE_SECONDS

from . import chain, cluster, floor, profile, raw, scale, unary
from .memory import cpu_per_process, cpu_seconds, peak_rss_mib, per_process, workers


def _line(name: str, value: str, limit: str = "", ratio: str = "") -> str:
    return f"{name:<66} {value:>16} {limit:>16} {ratio:>7}"


def _rate(r: raw.Rate) -> str:
    return f"{r.per_second:,.0f}/s"


@contextmanager
def private_stack() -> Iterator[Stack]:
    """The whole stack on free ports, its data in a temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        stack = Stack(Profile.load(private_profile(root)), log_dir=root / "var" / "log")
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


@contextmanager
def bench_parts(cluster_profile: bool) -> Iterator[tuple[Stack | ClusterStack, raw.Limits]]:
    """The stack the figures are measured on, and where its raw limits are: the default
    profile beside an unsecured nats-server of the bench's; or the cluster profile
    (`cluster`) beside a three-node cluster of the bench's, with the stack's PostgreSQL."""
    if cluster_profile:
        with (
            cluster.cluster_stack() as clustered,
            cluster.raw_cluster(clustered.tls_dir) as nodes,
        ):
            yield clustered, cluster.ClusterLimits(nodes, clustered.postgres.dsn)
    else:
        with private_stack() as stack, raw.raw_server() as bare:
            assert stack.nats.process is not None
            yield stack, raw.LocalLimits(bare)


async def run(tiny: bool, cluster_profile: bool = False) -> list[str]:
    scale = 0.02 if tiny else 1.0
    # The floor pipeline first, on a nats-server of its own, before the stack starts: the
    # architecture's own limit, with nothing else running.
    with floor.floor_pipeline() as pipeline:
        floor_rate = await floor.run_floor(pipeline, 1000 if tiny else 20_000)
        print(
            f"floor pipeline: {floor_rate.count:,} events in {floor_rate.seconds:.1f} s", flush=True
        )
    # NATS's own limits on an unsecured nats-server of the bench's (the stack's is secured:
    # no identity there may make the raw streams), beside the stack, in this run.
    with bench_parts(cluster_profile) as (stack, limits):
        publish = await limits.publish(2000 if tiny else 50_000)
        store_insert = limits.insert(2000 if tiny else 50_000)
        one_per_save = limits.saves(200 if tiny else 5000, 1)
        ten_per_save = limits.saves(1000 if tiny else 20_000, 10)
        cpu_before, own_before = cpu_per_process(stack), time.process_time()
        fed = await chain.ingest(stack, scale)
        ingest, commands = fed.events, fed.commands
        cpu = {
            name: spent - cpu_before.get(name, 0.0)
            for name, spent in cpu_per_process(stack).items()
        }
        cpu[FEEDER] = time.process_time() - own_before
        print(
            f"ingest: {ingest.count:,} events of {commands:,} commands in {ingest.seconds:.1f} s",
            flush=True,
        )
        await chain.consumed(stack)  # residence and the monitor have drained the backlog
        await asyncio.sleep(3)  # the last victims settle (grace period) and are sent
        triggers_sent, retracted = await chain.feed_retractions(stack.profile)
        rate = 1000.0
        pairs = 40 if tiny else 3000
        pair_cpu_before, own_before = cpu_per_process(stack), time.process_time()
        latency = await chain.trigger_latency(stack, pairs, rate)
        print(f"trigger latency: {chain.describe(latency)}", flush=True)
        await chain.consumed(stack)  # what the 1k/s run queued, so it does not count twice
        pair_cpu = {
            name: spent - pair_cpu_before.get(name, 0.0)
            for name, spent in cpu_per_process(stack).items()
        }
        pair_cpu[CALLERS] = time.process_time() - own_before
        gentle_rate = 300.0
        gentle = await chain.trigger_latency(stack, 20 if tiny else 500, gentle_rate)
        print(f"trigger latency at {gentle_rate:.0f}/s: {chain.describe(gentle)}", flush=True)
        raw_latency = await chain.raw_latency(
            limits.url, 80 if tiny else 6000, rate, limits.replicas
        )
        await chain.consumed(stack)
        unary_cost = await unary.unary_cost(stack, 200 if tiny else 3000)
        print(
            f"unary: intake {unary_cost.intake_ms:.2f} ms a call, bare grpc.aio "
            f"{unary_cost.bare_ms:.2f} ms",
            flush=True,
        )
        await chain.consumed(stack)
        rebuild_before = per_process(stack, cpu_seconds, with_workers=True)
        rebuilt = await chain.rebuild(stack)
        rebuild_cpu = {
            name: spent - rebuild_before.get(name, 0.0)
            for name, spent in per_process(stack, cpu_seconds, with_workers=True).items()
            if name.startswith("monitor") or name.startswith("nats-server")
        }
        print(f"rebuild: {rebuilt.count:,} facts in {rebuilt.seconds:.1f} s", flush=True)
        raw_read = await chain.raw_stream_read(stack.profile)
        bare_read = await chain.raw_bare_read(limits.url)
        memory = per_process(stack, peak_rss_mib, with_workers=True)

    lines = targets(
        ingest=ingest,
        floor_rate=floor_rate,
        publish=publish,
        ten_per_save=ten_per_save,
        latency=latency,
        gentle=gentle,
        raw_latency=raw_latency,
        rebuilt=rebuilt,
        bare_read=bare_read,
        cpu_ms=_service_ms(cpu, commands),
        unary_cost=unary_cost,
    )
    if cluster_profile:
        lines = [*CLUSTER_PREAMBLE, *lines]
    lines += ["", _line("figure", "measured", "raw limit", "ratio"), "-" * 108]
    lines.append(
        _line(
            ingest.name,
            _rate(ingest),
            _rate(publish),
            f"{ingest.per_second / publish.per_second:.2f}",
        )
    )
    lines.append(
        _line(
            "  … against eventsourcing, 1 event a save",
            "",
            _rate(one_per_save),
            f"{ingest.per_second / one_per_save.per_second:.2f}",
        )
    )
    lines.append(
        _line(
            "  … and against eventsourcing, 10 events a save",
            "",
            _rate(ten_per_save),
            f"{ingest.per_second / ten_per_save.per_second:.2f}",
        )
    )
    lines.append(
        _line(
            "  … and against the store's own batched insert, no library",
            "",
            _rate(store_insert),
            f"{ingest.per_second / store_insert.per_second:.2f}",
        )
    )
    lines.append(
        _line(
            f"  ({ingest.count:,} events of {commands:,} commands in "
            f"{ingest.seconds:.1f} s: {commands / ingest.seconds:,.0f} commands/s)",
            "",
        )
    )
    for run_, offered in ((latency, rate), (gentle, gentle_rate)):
        for share in (0.5, 0.99):
            measured, limit = run_.percentile(share), raw_latency.percentile(share)
            lines.append(
                _line(
                    f"{run_.name}, p{int(share * 100)} at {offered:,.0f} events/s",
                    f"{measured:.1f} ms",
                    f"{limit:.1f} ms",
                    f"{measured / limit:.1f}" if limit else "-",
                )
            )
        lines.append(
            _line(
                f"  (offered {run_.offered_per_second:,.0f} events/s, achieved "
                f"{run_.achieved_per_second:,.0f}; {len(run_.samples)} samples, "
                f"{run_.failures} failed calls)",
                "",
            )
        )
    lines.append(
        _line(
            rebuilt.name,
            _rate(rebuilt),
            _rate(raw_read),
            f"{rebuilt.per_second / raw_read.per_second:.2f}" if raw_read.per_second else "-",
        )
    )
    lines.append(_line(f"  ({rebuilt.count:,} facts in {rebuilt.seconds:.1f} s)", ""))
    lines.append(
        _line(
            "residence's feed after the ingest: triggers retracted",
            f"{retracted:,} of {triggers_sent:,}",
            "",
            f"{retracted / triggers_sent:.1%}" if triggers_sent else "-",
        )
    )
    cores = os.cpu_count() or 1
    lines += ["", f"where the time goes: CPU per command during the ingest ({commands:,} commands)"]
    lines += _cpu_lines(cpu, commands, "ms", cores, "commands/s")
    lines += [
        "",
        f"where the time goes at {rate:,.0f} events/s: CPU per signal-and-report pair "
        f"({pairs:,} pairs, two events each)",
    ]
    lines += _cpu_lines(pair_cpu, pairs, "ms", cores, "pairs/s")
    if raw_read.per_second and bare_read.per_second:
        lines += [
            "",
            "where the time goes in the rebuild: nats-py alone, per message read (wall)",
            _line(
                "  an event of the stack's streams (as published: envelope v1 or v2)",
                f"{1e6 / raw_read.per_second:.0f} µs",
            ),
            _line("  a message with one header", f"{1e6 / bare_read.per_second:.0f} µs"),
            _line(
                "  the monitor, reading, checking and storing an event",
                f"{1e6 / rebuilt.per_second:.0f} µs" if rebuilt.per_second else "-",
            ),
            f"  CPU per fact of the rebuild ({rebuilt.count:,} facts), by process:",
        ]
        for name, spent in rebuild_cpu.items():
            lines.append(_line(f"    {name}", f"{1e6 * spent / max(1, rebuilt.count):.1f} µs"))
    lines += [
        "",
        f"raw limits measured in this run (NATS's {limits.where};",
        " the rebuild's reading on the stack's server, as the monitor):",
    ]
    for r in (publish, store_insert, one_per_save, ten_per_save, raw_read, bare_read):
        lines.append(_line(f"  {r.name}", _rate(r)))
    lines.append(_line(f"  {raw_latency.name}", chain.describe(raw_latency)))
    lines += ["", "peak memory (VmHWM) of each process:"]
    for name, mib in memory.items():
        lines.append(_line(f"  {name}", f"{mib:,.0f} MiB"))
    return lines


CLUSTER_PREAMBLE = [
    "the cluster profile (make bench PROFILE=cluster): three NATS nodes over TLS, every",
    "stream with three replicas, each service's store in PostgreSQL (fsync on), TLS on gRPC.",
    "The targets below are issue 16's, set for the default profile on one machine; they are",
    "shown against the cluster's figures as they stand. The floor pipeline is the default",
    "profile's (one nats-server, SQLite), run first in this run: the ratio to it is what the",
    "cluster costs beside what the domain costs.",
    "",
]


FEEDER = "bench (the feeder)"
CALLERS = "bench (the callers)"
"""The load generators: the bench itself, left out of the CPU the targets speak of."""


def _service_ms(cpu: dict[str, float], commands: int) -> float:
    """CPU per command of every process but the load generator, in ms."""
    spent = sum(seconds for name, seconds in cpu.items() if name not in (FEEDER, CALLERS))
    return 1000 * spent / commands if commands else 0.0


def _verdict(met: bool) -> str:
    return "target met" if met else "target NOT met"


def targets(
    *,
    ingest: raw.Rate,
    floor_rate: raw.Rate,
    publish: raw.Rate,
    ten_per_save: raw.Rate,
    latency: chain.Latency,
    gentle: chain.Latency,
    raw_latency: chain.Latency,
    rebuilt: raw.Rate,
    bare_read: raw.Rate,
    cpu_ms: float,
    unary_cost: unary.UnaryCost,
) -> list[str]:
    """Issue 16's table: each figure, the raw limit measured in this run, the ratio, the target
    and whether it is met. All ratios are within this run."""

    def ratio(a: float, b: float) -> float:
        return a / b if b else 0.0

    def against(name: str, measured: raw.Rate, limit: raw.Rate) -> str:
        return f"{name} {_rate(limit)} ({ratio(measured.per_second, limit.per_second):.2f})"

    grace_ms = DEFAULT_GRACE_SECONDS * 1000
    gentle_p99 = gentle.percentile(0.99)
    rows: list[tuple[str, str, str, str, bool]] = [
        (
            "end-to-end ingest (bulk streams → stored → JetStream → residence, monitor)",
            _rate(ingest),
            "; ".join(
                (
                    against("JetStream publish", ingest, publish),
                    against("eventsourcing 10 a save", ingest, ten_per_save),
                    against("floor", ingest, floor_rate),
                )
            ),
            "≥ 1,500 events/s and ≥ 0.6 of the floor",
            ingest.per_second >= 1500 and ratio(ingest.per_second, floor_rate.per_second) >= 0.6,
        ),
        (
            "the floor pipeline (same processes and libraries, no-op domain)",
            _rate(floor_rate),
            against("JetStream publish", floor_rate, publish),
            "measured in every run",
            floor_rate.per_second > 0,
        ),
        (
            "live load, unary signal + report pairs, "
            f"{latency.offered_per_second:,.0f} events/s offered",
            f"{latency.achieved_per_second:,.0f} taken, p99 {latency.percentile(0.99):,.0f} ms",
            f"publish → push consumer p99 {raw_latency.percentile(0.99):.1f} ms",
            "≥ 600 events/s taken",
            latency.achieved_per_second >= 600,
        ),
        (
            f"  at {gentle.offered_per_second:,.0f} events/s: "
            "report acknowledged → trigger on the feed",
            f"p99 {gentle_p99:,.0f} ms ({gentle.achieved_per_second:,.0f} taken)",
            f"publish → push consumer p99 {raw_latency.percentile(0.99):.1f} ms",
            f"p99 ≤ settle grace + 100 ms = {grace_ms + 100:,.0f} ms",
            bool(gentle.samples) and gentle_p99 <= grace_ms + 100,
        ),
        (
            "projection rebuild (the monitor re-reads every stream, contract checks on)",
            _rate(rebuilt),
            f"nats-py one-header read {_rate(bare_read)} "
            f"({ratio(rebuilt.per_second, bare_read.per_second):.2f})",
            "≥ 0.5 of the one-header read rate",
            ratio(rebuilt.per_second, bare_read.per_second) >= 0.5,
        ),
        (
            "CPU per command in the ingest, all processes but the load generator",
            f"{cpu_ms:.2f} ms",
            "",
            "≤ 1.5 ms",
            0 < cpu_ms <= 1.5,
        ),
        (
            "CPU of one unary command in intake (RegisterSignal, until on JetStream)",
            f"{unary_cost.intake_ms:.2f} ms",
            f"bare grpc.aio unary call {unary_cost.bare_ms:.2f} ms ({unary_cost.ratio:.1f}×)",
            "≤ 2.5 × the bare call",
            0 < unary_cost.ratio <= 2.5,
        ),
    ]
    lines = [
        "issue 16's figures, measured in this run (ratio to the raw limit in brackets):",
        "",
    ]
    for name, measured, limit, target, met in rows:
        lines.append(f"{name}")
        lines.append(f"    measured {measured}")
        if limit:
            lines.append(f"    raw      {limit}")
        lines.append(f"    target   {target}: {_verdict(met)}")
    lines.append(
        "  (the growth row is `make bench-scale`'s: the monitor's rebuild at 10M events "
        "against 1M, and peak memory)"
    )
    return lines


def _cpu_lines(cpu: dict[str, float], units: int, unit: str, cores: int, per: str) -> list[str]:
    lines = [
        _line(f"  {name}", f"{1000 * seconds / units:.2f} {unit}") for name, seconds in cpu.items()
    ]
    total_ms = 1000 * sum(cpu.values()) / units
    lines.append(_line("  all processes", f"{total_ms:.2f} {unit}"))
    lines.append(
        _line(
            f"  → at most {cores * 1000 / total_ms:,.0f} {per} on this machine's "
            f"{cores} cores, whatever the waiting",
            "",
        )
    )
    return lines


REBUILDS_PROFILED = 5
"""How many rebuilds in a row `run_profile` samples."""


async def run_profile(scale: float, out_dir: Path, readme: Path | None) -> list[str]:
    """The ingest (and the floor pipeline beside it) with py-spy on every Python process."""
    lines: list[str] = []
    with floor.floor_pipeline() as pipeline:
        profiler = profile.Profiler(
            {f"floor {p.name}": p.process.pid for p in pipeline.processes if p.process},
            out_dir / "floor",
        )
        floor_pids = {f"floor {p.name}": p.process.pid for p in pipeline.processes if p.process}
        floor_before = {n: cpu_seconds(pid) for n, pid in floor_pids.items()}
        profiler.start()
        floor_rate = await floor.run_floor(pipeline, max(1000, int(20_000 * scale)))
        profiler.stop()
        floor_cpu = {n: cpu_seconds(pid) - floor_before[n] for n, pid in floor_pids.items()}
        lines += profile.summary(profiler, floor_rate.count, "the floor pipeline", floor_cpu)
    with private_stack() as stack:
        profiler = profile.Profiler(
            {p.name: p.process.pid for p in stack.services if p.process}, out_dir / "chain"
        )
        cpu_before = per_process(stack, cpu_seconds)
        profiler.start()
        fed = await chain.ingest(stack, scale)
        # Until residence has settled the last victims (its grace) and sent their triggers:
        # the rules' cost belongs to the ingest's events too.
        await chain.consumed(stack)
        await asyncio.sleep(3)
        profiler.stop()
        cpu = {
            name: spent - cpu_before.get(name, 0.0)
            for name, spent in per_process(stack, cpu_seconds).items()
        }
        lines += profile.summary(profiler, fed.events.count, "the end-to-end ingest", cpu)
        # A unary command in intake, whose target (2.5 × a bare grpc.aio call) the bulk
        # stream's figures do not show.
        intake = next(p for p in stack.services if p.name == "intake")
        assert intake.process is not None
        calls = max(500, int(3000 * scale))
        profiler = profile.Profiler({"intake": intake.process.pid}, out_dir / "unary")
        before = cpu_seconds(intake.process.pid)
        profiler.start()
        await unary.intake_calls(stack, calls)
        profiler.stop()
        spent = {"intake": cpu_seconds(intake.process.pid) - before}
        lines += profile.summary(profiler, calls, "unary RegisterSignal calls (per call)", spent)
        # The monitor's rebuild from every stream (target: 0.5 × the one-header read), which
        # the ingest's figures do not show. One rebuild of this scenario takes a fraction of a
        # second: several in a row give py-spy enough samples.
        await chain.consumed(stack)
        monitor = next(p for p in stack.services if p.name == "monitor")
        assert monitor.process is not None
        # The monitor and its rebuild workers (memory.workers), which check and store.
        rebuilding = {"monitor": monitor.process.pid, **workers("monitor", monitor.process.pid)}
        profiler = profile.Profiler(rebuilding, out_dir / "rebuild")
        started = {name: cpu_seconds(pid) for name, pid in rebuilding.items()}
        profiler.start()
        facts = 0
        for _ in range(REBUILDS_PROFILED):
            facts += (await chain.rebuild(stack)).count
        profiler.stop()
        spent = {name: cpu_seconds(pid) - started[name] for name, pid in rebuilding.items()}
        lines += profile.summary(
            profiler, facts, f"{REBUILDS_PROFILED} rebuilds of the monitor (per fact)", spent
        )
        lines.append(
            f"(ingest: {fed.events.count:,} events of {fed.commands:,} commands in "
            f"{fed.events.seconds:.1f} s, {fed.events.per_second:,.0f}/s; floor "
            f"{floor_rate.per_second:,.0f}/s)"
        )
    if readme is not None:
        profile.update_readme(
            readme,
            lines,
            f"`make bench-profile` on {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores "
            f"(scale {scale}). Absolute figures depend on how busy the machine was; compare "
            "the processes and the packages with each other.",
        )
    return lines


async def run_scale(events: int, via_grpc: bool, replay: bool) -> list[str]:
    with private_stack() as stack:
        record_dir = Path("var/bench-scale")
        if via_grpc:
            return (await scale.scale_run(stack, events, record_dir=record_dir)).lines()
        run = await scale.direct_scale_run(stack, events, record_dir=record_dir, replay=replay)
        return run.lines()


def main() -> None:
    parser = argparse.ArgumentParser(prog="ketenzicht_bench")
    parser.add_argument("--tiny", action="store_true", help="a few seconds, for the test suite")
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="on the cluster profile (three NATS nodes over TLS, R3 streams, PostgreSQL)",
    )
    parser.add_argument(
        "--scale-run",
        action="store_true",
        help="feed a large scenario and sample every process's memory",
    )
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events in the scale run (default 1M)"
    )
    parser.add_argument(
        "--via-grpc",
        action="store_true",
        help="with --scale-run: feed make run's scenario through gRPC (slow) instead of "
        "writing the upstream events straight to JetStream",
    )
    parser.add_argument(
        "--skip-replay",
        action="store_true",
        help="with --scale-run: leave residence stopped (the monitor's rebuild alone)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="profile every process during the ingest with py-spy, profiles into DIR",
    )
    parser.add_argument(
        "--scale", type=float, default=0.3, help="the profiled ingest's scenario scale"
    )
    parser.add_argument(
        "--update-readme",
        action="store_true",
        help="with --profile: write the summary into README.md's 'where the time goes'",
    )
    args = parser.parse_args()
    if args.profile is not None:
        readme = Path("README.md") if args.update_readme else None
        lines = asyncio.run(run_profile(args.scale, args.profile, readme))
    elif args.scale_run:
        lines = asyncio.run(run_scale(args.events, args.via_grpc, not args.skip_replay))
    else:
        lines = asyncio.run(run(args.tiny, args.cluster))
    for line in lines:
        print(line, flush=True)
    # The feed's order-independence is the domain's, the same on every profile.
    if not (args.tiny or args.scale_run or args.profile or args.cluster):
        print(feed_property(), flush=True)


def feed_property() -> str:
    """The residence feed's full order-independence property (what `make test-feed` runs):
    correctness under every interleaving is part of what the bench vouches for."""
    import subprocess
    import sys

    started = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-m",
            "slow",
            "services/residence/tests/unit/test_feed_follows_the_facts.py",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    summary = (result.stdout.strip().splitlines() or ["no output"])[-1]
    return (
        f"\nresidence feed, 200 victims x 20 interleavings against the reference evaluation "
        f"({time.perf_counter() - started:.0f} s): {summary}"
    )


if __name__ == "__main__":
    main()

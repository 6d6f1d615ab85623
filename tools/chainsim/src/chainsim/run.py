"""``make run``: the whole chain on realistic data.

Starts nats-server and every service (SQLite stores under ``var/``; with ``--profile
deploy/cluster/topology.toml``, ``make run PROFILE=cluster``, the production topology on
loopback instead: see ketenzicht_common.cluster), feeds a default scenario
— several years of national volume, generated with a fixed seed — through the services' gRPC
APIs as police, OM and IND would, then prints the lead times, the chain figures and the
triggers the IND received, gives the dashboard address, and keeps serving until Ctrl-C.

A second run finds the data of the first in ``var/`` and reuses it (it says so); delete
``var/`` to feed the scenario again.

While it feeds, the services live in the scenario's present, not in today: the run starts them
with a scenario clock (``var/scenario-clock``, KETENZICHT_CLOCK_FILE) that the feeder moves day
by day with the facts. Once the plan is fed the present becomes today, the IND decides what is
due by then, and the clock file is removed: from then on the stack serves on the wall clock.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import nats
from nats.aio.msg import Msg

from chainsim.feeder import RETRACTION, Endpoints, Feeder, FeedReport
from chainsim.generator import estimate_events, generate
from chainsim.retractions import RetractionSummary
from ketenzicht.monitor.v1 import monitor_pb2, monitor_pb2_grpc
from ketenzicht_common.bus_access import ADDRESSEES, Bus, jetstream_for, trigger_stream_name
from ketenzicht_common.client import connect
from ketenzicht_common.clock import clear_present
from ketenzicht_common.cluster import ClusterStack, is_cluster_profile, loopback
from ketenzicht_common.contract import read_envelope
from ketenzicht_common.health import report as health_report
from ketenzicht_common.health import stack_health
from ketenzicht_common.stack import Profile, Stack
from ketenzicht_common.streams import read_whole

ANALYST_TOKEN = "local-analyst-token"
CLOCK_FILE = "scenario-clock"
"""The scenario clock, in the run's data directory while the scenario is fed."""
SCENARIO_DEADLINE_TICK_SECONDS = 0.1
"""How often residence looks for deadlines the present has passed, while the scenario is fed.
Its production tick (30 s) is a few weeks of scenario time at the feed's pace: deadlines would
fire, and the IND decide on them, weeks after their day."""


def progress_bar(total: int, label: str) -> Any:
    started = time.monotonic()

    def show(done: int) -> None:
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * 40)
        rate = done / max(time.monotonic() - started, 1e-6)
        sys.stdout.write(
            f"\r{label} [{'#' * filled}{'.' * (40 - filled)}] {share:4.0%} "
            f"{done:,}/{total:,} commands, {rate:,.0f}/s   "
        )
        sys.stdout.flush()

    return show


async def feed_scenario(
    stack: Stack | ClusterStack,
    seed: int,
    start: date,
    end: date,
    scale: float,
    today: date,
    clock_step_days: int = 1,
    watch: Callable[[Feeder], None] | None = None,
) -> FeedReport:
    """Feed the plan while playing the IND; with the stack's scenario clock (if it has one)
    moved along with the feed, then to ``today``, and removed once the IND has finished.
    ``watch`` is given the feeder before it starts (a test follows its report, e.g. to make a
    fault when so many commands have been sent)."""
    endpoints = Endpoints(
        stack.address("intake"),
        stack.address("investigation"),
        stack.address("prosecution"),
        stack.address("residence"),
        stack.profile,
    )
    feeder = Feeder(
        endpoints,
        today=today,
        seed=seed,
        clock_file=stack.clock_file,
        clock_step_days=clock_step_days,
    )
    if watch is not None:
        watch(feeder)
    stop, idle = asyncio.Event(), asyncio.Event()
    ind = asyncio.create_task(feeder.play_ind(stop, idle))
    estimate = estimate_events(start, end, scale)
    print(
        f"Feeding the scenario: seed {seed}, {start} to {end}, scale {scale} "
        f"(about {estimate:,} facts) through gRPC as police, KMar, Labour Inspectorate, OM "
        "and IND" + (", the present moving with the feed" if stack.clock_file else "") + " ...",
        flush=True,
    )
    try:
        report = await feeder.feed(
            generate(seed, start, end, scale), progress_bar(estimate, "feeding")
        )
        print(
            f"\nFed in {report.seconds:.1f} s"
            + (f" ({report.days:,} days)" if report.days else "")
            + ". Waiting for the IND's decisions on the triggers to settle ...",
            flush=True,
        )
        # The plan ends before today: the IND decides what falls due up to today, on its day.
        await feeder.advance(today)
        idle.clear()
        waiter = asyncio.create_task(idle.wait())
        await asyncio.wait({waiter, ind}, return_when=asyncio.FIRST_COMPLETED)
        stop.set()
        await ind  # raises if the IND player failed
        await feeder.close()
    finally:
        stop.set()
        if stack.clock_file is not None:
            clear_present(stack.clock_file)  # the stack serves on the wall clock from now on
    report.retractions = feeder.retraction_summary()
    report.planned_victims = feeder.planned_victims()
    return report


async def feed_by_plan(bus: Bus, planned: dict[str, str]) -> list[str]:
    """Every trigger residence sent (retractions included), one line each, with the victims'
    and cases' pseudonyms mapped back to the plan's victims and cases and sorted: two runs of
    one seed compare as text (`diff var/feed-by-plan.txt`). Read from each addressee's stream
    as that addressee may read it."""
    lines: list[str] = []
    for addressee in ADDRESSEES:
        for message in await whole_feed(bus, addressee):
            _, data = read_envelope(message.headers, message.data or b"")
            trigger = json.loads(data)
            key = "|".join(
                planned.get(part, part) for part in str(trigger["trigger_key"]).split("|")
            )
            what = (message.subject or "").rsplit(".", 1)[-1]
            lines.append(f"{what} {key} {trigger.get('occurred_on', '')}")
    return sorted(lines)


async def whole_feed(bus: Bus, addressee: str) -> list[Msg]:
    """Everything an addressee's trigger stream holds, read by sequence as the addressee may
    (not through its consumer, which the addressee's own system reads)."""
    nc = await nats.connect(**bus.login(addressee))
    try:
        return await read_whole(nc, addressee, trigger_stream_name(addressee))
    finally:
        await nc.close()


def scenario_profile(profile: Profile) -> Profile:
    """The profile as the feed of a scenario runs it: residence's deadlines looked at often
    (see SCENARIO_DEADLINE_TICK_SECONDS)."""
    tick = {"KETENZICHT_RESIDENCE_DEADLINE_TICK_SECONDS": str(SCENARIO_DEADLINE_TICK_SECONDS)}
    return dataclasses.replace(
        profile,
        services=[
            dataclasses.replace(s, env=tick | s.env) if s.name == "residence" else s
            for s in profile.services
        ],
    )


async def monitor_settled(address: str, quiet_seconds: float = 3.0, timeout: float = 300.0) -> int:
    """Wait until the monitor's count of facts stops growing."""
    async with connect(address, token=ANALYST_TOKEN) as channel:
        stub = monitor_pb2_grpc.MonitorServiceStub(channel)
        last, stable_since, deadline = -1, time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            facts = (await stub.GetStatus(monitor_pb2.GetStatusRequest())).facts
            if facts != last:
                last, stable_since = facts, time.monotonic()
            elif time.monotonic() - stable_since >= quiet_seconds:
                break
            await asyncio.sleep(0.5)
        return int(last)


async def triggers_received(bus: Bus) -> dict[str, int]:
    nc = await nats.connect(**bus.login("ind"))
    try:
        stream = trigger_stream_name("ind")
        info = await jetstream_for(nc, "ind", stream).stream_info(stream, subjects_filter=">")
        return {
            subject.rsplit(".", 1)[-1]: count
            for subject, count in sorted((info.state.subjects or {}).items())
        }
    finally:
        await nc.close()


def monitor_report(address: str, *args: str) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "--address",
            address,
            "--token",
            ANALYST_TOKEN,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return result.stdout if result.returncode == 0 else result.stderr


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chainsim.run", description=__doc__)
    parser.add_argument("--profile", type=Path, default=Path("deploy/local/stack.toml"))
    parser.add_argument("--var", type=Path, default=Path("var"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2019, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument(
        "--clock-step",
        type=int,
        default=1,
        metavar="DAYS",
        help="move the scenario clock this many days at a time (default 1: "
        "day by day, each day's facts stored before the next day begins)",
    )
    parser.add_argument(
        "--no-wait", action="store_true", help="stop after printing the report (for tests)"
    )
    args = parser.parse_args(argv)

    marker = args.var / "scenario.json"
    clock_file = args.var / CLOCK_FILE
    # A run that was stopped half-way may have left its present behind; it is not today's.
    clear_present(clock_file)
    feeding = not marker.exists()
    stack: Stack | ClusterStack
    if is_cluster_profile(args.profile):
        # The production topology on loopback, everything under --var (var/cluster).
        stack = ClusterStack(
            loopback(args.profile, root=args.var),
            log_dir=args.var / "log",
            clock_file=clock_file if feeding else None,
        )
        if feeding:
            stack.profile = scenario_profile(stack.profile)
    else:
        profile = Profile.load(args.profile)
        stack = (
            Stack(scenario_profile(profile), log_dir=args.var / "log", clock_file=clock_file)
            if feeding
            else Stack(profile, log_dir=args.var / "log")
        )
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    retractions: RetractionSummary | None = None
    try:
        stack.start()
        if isinstance(stack, ClusterStack):
            # This program's clients (the feeder, the IND, the monitor's CLI) speak TLS to it.
            os.environ.update(stack.caller_env())
        if not feeding:
            fed = json.loads(marker.read_text())
            print(
                f"\nExisting data in {args.var}/ reused: the scenario (seed {fed['seed']}, "
                f"{fed['commands']:,} commands) was fed on {fed['fed_on']}; feeding skipped. "
                f"Delete {args.var}/ to feed it again.",
                flush=True,
            )
        else:
            report = asyncio.run(
                feed_scenario(
                    stack,
                    args.seed,
                    args.start,
                    args.end,
                    args.scale,
                    date.today(),
                    args.clock_step,
                )
            )
            marker.write_text(
                json.dumps(
                    {
                        "seed": args.seed,
                        "start": args.start.isoformat(),
                        "end": args.end.isoformat(),
                        "scale": args.scale,
                        "commands": report.sent,
                        "accepted": report.accepted,
                        "refused": dict(report.refused),
                        "fed_on": date.today().isoformat(),
                    },
                    indent=2,
                )
            )
            print(
                f"Fed {report.sent:,} commands: {report.accepted:,} accepted"
                + (f", refused {dict(report.refused)}" if report.refused else "")
                + f"; the IND decided {sum(report.ind_decisions.values()):,} times "
                f"({dict(report.ind_decisions)})"
                + (
                    f", {report.ind_held:,} decision{'s' if report.ind_held > 1 else ''} "
                    "dated after today held back"
                    if report.ind_held
                    else ""
                )
                + f"; {report.matched_sent:,} signals of a second organisation found their "
                "victim by its match token.",
                flush=True,
            )
            retractions = report.retractions
            fed_feed = asyncio.run(feed_by_plan(stack.profile, report.planned_victims))
            (args.var / "feed-by-plan.txt").write_text("\n".join(fed_feed) + "\n")
            retracted = sum(line.startswith(RETRACTION + " ") for line in fed_feed)
            print(
                f"The feed residence sent to the IND, the police and the OM: "
                f"{len(fed_feed):,} triggers, {retracted:,} of them retractions "
                f"({retracted / max(len(fed_feed), 1):.1%}); with pseudonyms mapped back to "
                f"the plan's victims in {args.var}/feed-by-plan.txt.",
                flush=True,
            )
        monitor = stack.address("monitor")
        facts = asyncio.run(monitor_settled(monitor))
        print(f"\nThe monitor holds {facts:,} facts.\n", flush=True)
        print(monitor_report(monitor, "report", "lead-times"), flush=True)
        print(monitor_report(monitor, "report", "figures"), flush=True)
        # The dark number per year: an estimate, or the line that says why there is none.
        print(monitor_report(monitor, "report", "dark-number"), flush=True)
        print("Triggers the IND received (stream KETENZICHT_IND_TRIGGERS):")
        received = asyncio.run(triggers_received(stack.profile))
        for kind, count in received.items():
            print(f"  {kind:<40} {count:>7,}")
        if retractions is None:  # not fed by this run: what the feed shows, causes unknown
            retractions = RetractionSummary(sum(received.values()), received.get(RETRACTION, 0))
        print("\nRetractions (TriggerRetracted) among them, by cause:")
        for line in retractions.lines():
            print(line)
        # Whether every relay and consumer makes progress; anything stuck is named, with why.
        print("\nHealth (again any time: ketenzicht-stack status):")
        print(
            "\n".join(
                health_report(
                    asyncio.run(stack_health((p.label, p.address) for p in stack.services))
                )
            ),
            flush=True,
        )
        dashboards = (
            stack.dashboards()
            if isinstance(stack, ClusterStack)
            else [
                next(
                    (
                        s.env.get("KETENZICHT_MONITOR_HTTP_ADDRESS")
                        for s in stack.profile.services
                        if s.name == "monitor"
                    ),
                    None,
                )
                or "127.0.0.1:8080"
            ]
        )
        scheme = "https" if isinstance(stack, ClusterStack) else "http"
        # The cluster's monitor replicas serve one each: either holds every fact.
        print()
        for n, http in enumerate(dashboards):
            label = "Dashboard:" if n == 0 else "       or:"
            print(f"{label} {scheme}://{http}/#token={ANALYST_TOKEN}")
        print(
            f"CLI:       {Path(sys.executable).parent / 'ketenzicht'} report lead-times --by cohort"
        )
        if not args.no_wait:
            print("\nketenzicht is up. Ctrl-C stops it.", flush=True)
            stopped.wait()
    finally:
        print("stopping …", flush=True)
        stack.stop()
        print("stopped.", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

"""``make run``: the whole chain on realistic data.

Starts nats-server and every service (SQLite stores under ``var/``), feeds a default scenario
— several years of national volume, generated with a fixed seed — through the services' gRPC
APIs as police, OM and IND would, then prints the lead times, the chain figures and the
triggers the IND received, gives the dashboard address, and keeps serving until Ctrl-C.

A second run finds the data of the first in ``var/`` and reuses it (it says so); delete
``var/`` to feed the scenario again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any

import nats

from chainsim.feeder import Endpoints, Feeder, FeedReport
from chainsim.generator import estimate_events, generate
from ketenzicht.monitor.v1 import monitor_pb2, monitor_pb2_grpc
from ketenzicht_common.client import connect
from ketenzicht_common.health import report as health_report
from ketenzicht_common.health import stack_health
from ketenzicht_common.stack import Profile, Stack

ANALYST_TOKEN = "local-analyst-token"


def progress_bar(total: int, label: str) -> Any:
    started = time.monotonic()

    def show(done: int) -> None:
        share = min(done / total, 1.0) if total else 1.0
        filled = int(share * 40)
        rate = done / max(time.monotonic() - started, 1e-6)
        sys.stdout.write(f"\r{label} [{'#' * filled}{'.' * (40 - filled)}] {share:4.0%} "
                         f"{done:,}/{total:,} commands, {rate:,.0f}/s   ")
        sys.stdout.flush()

    return show


async def feed_scenario(stack: Stack, seed: int, start: date, end: date, scale: float,
                        today: date) -> FeedReport:
    endpoints = Endpoints(stack.address("intake"), stack.address("investigation"),
                          stack.address("prosecution"), stack.address("residence"),
                          stack.profile.nats_url)
    feeder = Feeder(endpoints, today=today, seed=seed)
    stop, idle = asyncio.Event(), asyncio.Event()
    ind = asyncio.create_task(feeder.play_ind(stop, idle))
    estimate = estimate_events(start, end, scale)
    print(f"Feeding the scenario: seed {seed}, {start} to {end}, scale {scale} "
          f"(about {estimate:,} facts) through gRPC as police, KMar, Labour Inspectorate, OM "
          "and IND ...", flush=True)
    report = await feeder.feed(generate(seed, start, end, scale),
                               progress_bar(estimate, "feeding"))
    print("\nWaiting for the IND's decisions on the triggers to settle ...", flush=True)
    idle.clear()
    waiter = asyncio.create_task(idle.wait())
    await asyncio.wait({waiter, ind}, return_when=asyncio.FIRST_COMPLETED)
    stop.set()
    await ind  # raises if the IND player failed
    await feeder.close()
    return report


async def monitor_settled(address: str, quiet_seconds: float = 3.0,
                          timeout: float = 300.0) -> int:
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


async def triggers_received(nats_url: str) -> dict[str, int]:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info("KETENZICHT_IND_TRIGGERS",
                                                subjects_filter=">")
        return {subject.rsplit(".", 1)[-1]: count
                for subject, count in sorted((info.state.subjects or {}).items())}
    finally:
        await nc.close()


def monitor_report(address: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "--address", address, "--token", ANALYST_TOKEN,
         *args], capture_output=True, text=True, timeout=300, check=False)
    return result.stdout if result.returncode == 0 else result.stderr


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="chainsim.run", description=__doc__)
    parser.add_argument("--profile", type=Path, default=Path("deploy/local/stack.toml"))
    parser.add_argument("--var", type=Path, default=Path("var"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2019, 1, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 12, 31))
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-wait", action="store_true",
                        help="stop after printing the report (for tests)")
    args = parser.parse_args(argv)

    stack = Stack(Profile.load(args.profile), log_dir=args.var / "log")
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    marker = args.var / "scenario.json"
    try:
        stack.start()
        if marker.exists():
            fed = json.loads(marker.read_text())
            print(f"\nExisting data in {args.var}/ reused: the scenario (seed {fed['seed']}, "
                  f"{fed['commands']:,} commands) was fed on {fed['fed_on']}; feeding skipped. "
                  f"Delete {args.var}/ to feed it again.", flush=True)
        else:
            report = asyncio.run(feed_scenario(stack, args.seed, args.start, args.end,
                                               args.scale, date.today()))
            marker.write_text(json.dumps({
                "seed": args.seed, "start": args.start.isoformat(),
                "end": args.end.isoformat(), "scale": args.scale,
                "commands": report.sent, "accepted": report.accepted,
                "refused": dict(report.refused), "fed_on": date.today().isoformat(),
            }, indent=2))
            print(f"Fed {report.sent:,} commands: {report.accepted:,} accepted"
                  + (f", refused {dict(report.refused)}" if report.refused else "")
                  + f"; the IND decided {sum(report.ind_decisions.values()):,} times "
                  f"({dict(report.ind_decisions)}).", flush=True)
        monitor = stack.address("monitor")
        facts = asyncio.run(monitor_settled(monitor))
        print(f"\nThe monitor holds {facts:,} facts.\n", flush=True)
        print(monitor_report(monitor, "report", "lead-times"), flush=True)
        print(monitor_report(monitor, "report", "figures"), flush=True)
        print("Triggers the IND received (stream KETENZICHT_IND_TRIGGERS):")
        for kind, count in asyncio.run(triggers_received(stack.profile.nats_url)).items():
            print(f"  {kind:<40} {count:>7,}")
        # Whether every relay and consumer makes progress; anything stuck is named, with why.
        print("\nHealth (again any time: ketenzicht-stack status):")
        print("\n".join(health_report(asyncio.run(stack_health(
            (p.name, p.address) for p in stack.services)))), flush=True)
        http = next((s.env.get("KETENZICHT_MONITOR_HTTP_ADDRESS") for s in
                     stack.profile.services if s.name == "monitor"), None) or "127.0.0.1:8080"
        print(f"\nDashboard: http://{http}/#token={ANALYST_TOKEN}")
        print(f"CLI:       {Path(sys.executable).parent / 'ketenzicht'} report lead-times "
              "--by cohort")
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

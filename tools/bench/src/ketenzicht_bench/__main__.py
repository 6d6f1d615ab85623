"""``make bench``: one run on this machine; figures beside the raw limits, with ratios.

    python -m ketenzicht_bench            # full run (a few minutes)
    python -m ketenzicht_bench --tiny     # seconds; the test suite runs this so it cannot rot
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from ketenzicht_common.processes import NatsServer, ServiceProcess, free_port
from ketenzicht_common.testing import TOKENS
from ketenzicht_common.testing.fixtures import REPO_ROOT

from . import raw
from .ingest import intake_bulk
from .memory import peak_rss_mib


def _line(name: str, value: str, limit: str = "", ratio: str = "") -> str:
    return f"{name:<62} {value:>14} {limit:>14} {ratio:>7}"


async def run(tiny: bool) -> list[str]:
    scale = 1 if tiny else 50
    lines = [_line("figure", "measured", "raw limit", "ratio"), "-" * 100]
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        server = NatsServer(root / "nats").start()
        intake = ServiceProcess(
            "intake",
            {"KETENZICHT_GRPC_ADDRESS": f"127.0.0.1:{free_port()}",
             "KETENZICHT_DATA_DIR": str(root / "intake"), "KETENZICHT_NATS_URL": server.url,
             "KETENZICHT_IDENTITIES_FILE": str(REPO_ROOT / "deploy/local/identities.toml")},
            cwd=REPO_ROOT, log_file=root / "intake.log",
        ).start()
        try:
            publish = await raw.jetstream_publish(server, 1000 * scale)
            sqlite_insert = raw.sqlite_batched_insert(1000 * scale)
            one_per_save = raw.eventsourcing_saves(200 * scale, 1)
            ten_per_save = raw.eventsourcing_saves(1000 * scale, 10)
            ingest = await intake_bulk(server, intake, 200 * scale, TOKENS["POLICE"])
            assert intake.process is not None
            assert server.process is not None
            memory = {"intake": peak_rss_mib(intake.process.pid),
                      "nats-server": peak_rss_mib(server.process.pid)}
        finally:
            intake.stop()
            server.stop()

    def rate(r: raw.Rate) -> str:
        return f"{r.per_second:,.0f}/s"

    lines.append(_line(ingest.name, rate(ingest), rate(publish),
                       f"{ingest.per_second / publish.per_second:.2f}"))
    lines.append(_line("  … the same against eventsourcing at one event a save", "",
                       rate(one_per_save), f"{ingest.per_second / one_per_save.per_second:.2f}"))
    lines.append(_line("  … and against eventsourcing at ten events a save", "",
                       rate(ten_per_save), f"{ingest.per_second / ten_per_save.per_second:.2f}"))
    lines.append("")
    lines.append("raw limits measured in this run:")
    for r in (publish, sqlite_insert, one_per_save, ten_per_save):
        lines.append(_line(f"  {r.name}", rate(r)))
    lines.append("")
    lines.append("peak memory (VmHWM):")
    for name, mib in memory.items():
        lines.append(_line(f"  {name}", f"{mib:,.0f} MiB"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(prog="ketenzicht_bench")
    parser.add_argument("--tiny", action="store_true", help="a few seconds, for the test suite")
    args = parser.parse_args()
    for line in asyncio.run(run(args.tiny)):
        print(line)


if __name__ == "__main__":
    main()

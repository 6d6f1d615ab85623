"""``make run``: starts nats-server and every service of a profile, and stops them on Ctrl-C.

ketenzicht-stack run [--profile deploy/local/stack.toml]
ketenzicht-stack status [--profile …]   # which part of which service is stuck, and why

``--profile deploy/cluster/topology.toml``: the cluster profile (`cluster`), data under
``var/cluster``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from .bus_access import seed_file
from .nats_connection import servers
from .processes import NatsServer, ServiceProcess, free_port


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    grpc_address: str
    data_dir: str
    env: dict[str, str]


@dataclass(frozen=True)
class Profile:
    nats_config: Path
    nats_url: str
    services: list[ServiceSpec]
    nats_credentials: Path = Path("var/credentials/nats")
    """Where the parties' nkey identities are made on first start (`bus_access`)."""

    def seed(self, party: str) -> Path:
        """The nkey seed file of ``party`` in this profile."""
        return seed_file(self.nats_credentials, party)

    def login(self, party: str) -> dict[str, Any]:
        """``nats.connect`` options to connect as ``party`` in this profile."""
        return {"servers": servers(self.nats_url), "nkeys_seed": str(self.seed(party))}

    @classmethod
    def load(cls, path: Path) -> Profile:
        data = tomllib.loads(path.read_text())
        return cls(
            nats_config=Path(data["nats"]["config"]),
            nats_url=data["nats"]["url"],
            nats_credentials=Path(data["nats"].get("credentials", "var/credentials/nats")),
            services=[
                ServiceSpec(
                    s["name"],
                    s["grpc_address"],
                    s["data_dir"],
                    {k: str(v) for k, v in s.get("env", {}).items()},
                )
                for s in data["service"]
            ],
        )


SERVICES = ("intake", "investigation", "prosecution", "residence", "monitor")


def private_profile(root: Path) -> Path:
    """The local profile on free loopback ports, with all its data under ``root`` (for tests
    and benchmarks that must not meet a running ``make run``)."""
    nats_port = free_port()
    (root / "nats.conf").write_text(
        f'listen: 127.0.0.1:{nats_port}\njetstream {{ store_dir: "{root / "nats"}" }}\n'
    )
    lines = [
        f'[nats]\nconfig = "{root / "nats.conf"}"\nurl = "nats://127.0.0.1:{nats_port}"\n'
        f'credentials = "{root / "nats-credentials"}"\n'
    ]
    for name in SERVICES:
        lines.append(
            f'[[service]]\nname = "{name}"\ngrpc_address = "127.0.0.1:{free_port()}"\n'
            f'data_dir = "{root / "var" / name}"\n'
        )
        if name == "monitor":
            lines.append(
                f'env = {{ KETENZICHT_MONITOR_HTTP_ADDRESS = "127.0.0.1:{free_port()}" }}\n'
            )
    profile = root / "stack.toml"
    profile.write_text("\n".join(lines))
    return profile


class Stack:
    """nats-server and the services of a profile.

    ``clock_file``: a simulated run's scenario clock. Every service then reads its present
    from that file (``KETENZICHT_CLOCK_FILE``, see clock.ScenarioClock), and the wall clock
    while the file is absent; without it the services run on the wall clock alone.
    """

    def __init__(
        self, profile: Profile, log_dir: Path = Path("var/log"), clock_file: Path | None = None
    ) -> None:
        self.profile = profile
        self.log_dir = log_dir
        self.clock_file = clock_file.resolve() if clock_file is not None else None
        port = urlparse(profile.nats_url).port or 4222
        self.nats = NatsServer(
            log_dir.parent / "nats",
            port=port,
            config=profile.nats_config,
            credentials=profile.nats_credentials,
        )
        self.services: list[ServiceProcess] = []

    def start(self) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.nats.start()
        print(
            f"nats-server (JetStream) on {self.profile.nats_url}, an account and an nkey "
            f"identity per party (in {self.profile.nats_credentials})",
            flush=True,
        )
        for spec in self.profile.services:
            process = ServiceProcess(
                spec.name,
                {
                    "KETENZICHT_GRPC_ADDRESS": spec.grpc_address,
                    "KETENZICHT_DATA_DIR": spec.data_dir,
                    "KETENZICHT_NATS_URL": self.profile.nats_url,
                    "KETENZICHT_NATS_SEED_FILE": str(self.profile.seed(spec.name).resolve()),
                    **spec.env,
                    **(
                        {"KETENZICHT_CLOCK_FILE": str(self.clock_file)}
                        if self.clock_file is not None
                        else {}
                    ),
                },
                log_file=self.log_dir / f"{spec.name}.log",
            ).start()
            self.services.append(process)
            print(
                f"{spec.name:<14} gRPC on {process.address:<18} data in {spec.data_dir}, "
                f"log in {self.log_dir}/{spec.name}.log",
                flush=True,
            )

    def address(self, service: str) -> str:
        return next(p.address for p in self.services if p.name == service)

    def stop(self) -> None:
        for process in reversed(self.services):
            process.stop()
        self.services.clear()
        self.nats.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ketenzicht-stack")
    parser.add_argument("command", choices=["run", "status"])
    parser.add_argument("--profile", type=Path, default=Path("deploy/local/stack.toml"))
    args = parser.parse_args(argv)
    if args.command == "status":
        from .health import main as status

        status(["--profile", str(args.profile)])
    from .cluster import ClusterStack, is_cluster_profile, loopback

    stack: Stack | ClusterStack = (
        ClusterStack(loopback(args.profile))
        if is_cluster_profile(args.profile)
        else Stack(Profile.load(args.profile))
    )
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stack.start()
        print("ketenzicht is up. Ctrl-C stops it.", flush=True)
        stopped.wait()
    finally:
        print("stopping …", flush=True)
        stack.stop()
        print("stopped.")
    sys.exit(0)


if __name__ == "__main__":
    main()

"""The cluster profile: the production topology (`topology`) on loopback.

``make run PROFILE=cluster`` (``chainsim.run --profile deploy/cluster/topology.toml``) starts,
from ``deploy/cluster/topology.toml`` rendered through the production templates:

* a private CA under ``var/cluster/tls`` (made on first start, `pki`), and certificates for
  the NATS nodes, their routes, the services' gRPC and one caller;
* the parties' nkey identities and the nodes' accounts (`bus_access`), a master key and a
  database password per service, under ``var/cluster/secrets`` (readable by this user only);
* three nats-server nodes with JetStream, routed to each other over mutual TLS, clients over
  TLS; the services create their streams with three replicas;
* Debian's PostgreSQL, its cluster under ``var/cluster/postgres``, a role and a schema per
  service;
* every instance of every service (`topology.Instance`: two of each), with the environment its
  production file has (TLS on gRPC with client certificates, PostgreSQL store, the nodes'
  URLs) and its own ``KETENZICHT_INSTANCE``, port and data directory: intake, investigation
  and prosecution two instances on one schema each, residence an active instance and a warm
  standby, the monitor two active replicas (docs/adr/0034). `address` gives a service's
  instances as a client lists them (round robin, `client.balanced`).

`ClusterStack` has what the main job needs of `stack.Stack` (``profile``, ``address``,
``services``, ``start``, ``stop``), and the nodes themselves for the tests that kill them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from .bus_access import local_credentials
from .pki import ensure_certificates
from .processes import NatsServer, PostgresServer, ServiceProcess, free_port
from .stack import Profile, ServiceSpec
from .subject_keys import new_master_key
from .topology import Instance, NatsNode, Topology

PROFILE = Path("deploy/cluster/topology.toml")
LOOPBACK_ROOT = "var/cluster"
"""Where deploy/cluster/topology.toml keeps everything; `loopback` moves it."""
CALLER = "caller"
"""The client certificate of the programs the profile's user runs (the main job, the CLI):
its name is no identity (`auth` finds none for it), so they still authenticate by token."""


def is_cluster_profile(path: Path) -> bool:
    return path.name == "topology.toml"


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def loopback(path: Path = PROFILE, root: Path | None = None, free_ports: bool = False) -> Topology:
    """The cluster topology with every path made absolute (under ``root`` instead of
    ``var/cluster`` when given), and with free loopback ports instead of the file's when
    ``free_ports`` (tests, which must not meet a running ``make run PROFILE=cluster``)."""
    topology = Topology.load(path)
    base = (root or Path(LOOPBACK_ROOT)).resolve()

    def moved(value: str) -> str:
        if value == LOOPBACK_ROOT or value.startswith(LOOPBACK_ROOT + "/"):
            return str(base) + value[len(LOOPBACK_ROOT) :]
        return value

    ports: dict[int, int] = {}

    def port(address: str) -> str:
        host, _, number = address.rpartition(":")
        if not free_ports:
            return address
        return f"{host}:{ports.setdefault(int(number), free_port())}"

    def addresses(env: dict[str, str]) -> dict[str, str]:
        return {k: port(v) if k.endswith("_ADDRESS") else v for k, v in env.items()}

    nodes = [
        NatsNode(
            client_listen=port(n.client_listen),
            http_listen=port(n.http_listen),
            cluster_listen=port(n.cluster_listen),
            client_url=port(n.client_url),
            route_url=port(n.route_url),
            store_dir=moved(n.store_dir),
        )
        for n in topology.nodes
    ]
    return topology.replace(
        nodes=nodes,
        tls_dir=moved(topology.tls_dir),
        keys_dir=moved(topology.keys_dir),
        secrets_dir=moved(topology.secrets_dir),
        data_dir=moved(topology.data_dir),
        identities_file=str(Path(topology.identities_file).resolve()),
        postgres_address=port(topology.postgres_address),
        # The nodes' accounts, made with the identities (`bus_access.local_credentials`).
        accounts=f"{moved(topology.secrets_dir)}/nats/accounts.conf",
        services=[
            replace(
                s,
                grpc_address=port(s.grpc_address),
                env=addresses(s.env),
                instances=[Instance(port(i.grpc_address), addresses(i.env)) for i in s.instances],
            )
            for s in topology.services
        ],
    )


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """``values`` in this process's environment for a moment (Python's default TLS context
    reads SSL_CERT_FILE when it is made)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _label(service: str, instance: int | str) -> str:
    """``intake`` for the first instance, ``intake-2`` (or ``intake-b``) for the others."""
    return service if instance in (1, "") else f"{service}-{instance}"


def _secret(path: Path, make: str) -> str:
    """The secret in ``path``, written (this user only) on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(make + "\n")
    return path.read_text().strip()


class ClusterStack:
    """Three NATS nodes, PostgreSQL and every service of a loopback topology."""

    def __init__(
        self,
        topology: Topology,
        log_dir: Path | None = None,
        clock_file: Path | None = None,
    ) -> None:
        self.root = Path(topology.data_dir)
        config_dir = self.root / "nats-config"
        # nats-server reads an include relative to the including file.
        self.topology = topology = topology.replace(
            accounts=os.path.relpath(topology.accounts, config_dir)
        )
        self.log_dir = log_dir or self.root / "log"
        self.clock_file = clock_file.resolve() if clock_file is not None else None
        self.tls_dir = Path(topology.tls_dir)
        self.credentials = Path(topology.secrets_dir) / "nats"
        self.profile = Profile(
            nats_config=Path(),
            nats_url=topology.nats_urls,
            nats_credentials=self.credentials,
            services=[
                ServiceSpec(s.name, s.client_address, f"{topology.data_dir}/{s.name}", dict(s.env))
                for s in topology.services
            ],
        )
        self.nodes = [
            NatsServer(
                Path(node.store_dir),
                port=_port(node.client_listen),
                config=config_dir / f"nats-{index + 1}.conf",
                secured=False,  # the configuration includes the accounts itself
            )
            for index, node in enumerate(topology.nodes)
        ]
        self.postgres = PostgresServer(
            self.root / "postgres", port=_port(topology.postgres_address)
        )
        self.services: list[ServiceProcess] = []

    # -- what a caller of the profile needs -------------------------------------------------

    @property
    def ca(self) -> Path:
        return self.tls_dir / "ca.pem"

    def caller_env(self) -> dict[str, str]:
        """The environment that makes a program's gRPC and NATS clients speak TLS to the
        profile (`client.open_channel`, Python's default TLS context): the main job sets it
        for itself and the CLI it runs, a test for its own duration."""
        return {
            "SSL_CERT_FILE": str(self.ca),
            "KETENZICHT_CLIENT_CA": str(self.ca),
            "KETENZICHT_CLIENT_CERTIFICATE": str(self.tls_dir / f"{CALLER}.pem"),
            "KETENZICHT_CLIENT_KEY": str(self.tls_dir / f"{CALLER}.key"),
        }

    def address(self, service: str) -> str:
        """Every instance of ``service`` started, as a client lists them (round robin), a dead
        one too: the channel leaves it out while it cannot reach it."""
        return ",".join(p.address for p in self.services if p.name == service)

    def instances(self, service: str) -> list[ServiceProcess]:
        return [p for p in self.services if p.name == service]

    def instance_addresses(self) -> list[tuple[str, str]]:
        """(instance's label, its address) of every instance the topology runs."""
        return [
            (_label(s.name, n), instance.grpc_address)
            for s in self.topology.services
            for n, instance in enumerate(s.running, start=1)
        ]

    def dashboards(self) -> list[str]:
        """The monitor replicas' dashboard addresses."""
        monitor = next(s for s in self.topology.services if s.name == "monitor")
        return [
            address
            for instance in monitor.running
            if (address := (monitor.env | instance.env).get("KETENZICHT_MONITOR_HTTP_ADDRESS"))
        ]

    # -- starting and stopping --------------------------------------------------------------

    def prepare(self) -> None:
        """Everything made on first start: the CA and certificates, the identities and
        secrets, the nodes' configurations (rendered again each time, from the templates)."""
        hosts = sorted(
            {urlparse(n.client_url).hostname or "127.0.0.1" for n in self.topology.nodes}
            | {"localhost"}
        )
        grpc_certificates = {s.grpc_certificate for s in self.topology.services}
        ensure_certificates(
            self.tls_dir,
            servers={"nats": hosts, "nats-route": hosts} | {c: hosts for c in grpc_certificates},
            clients=[CALLER],
        )
        # Every relay makes a set of feeds for each monitor replica; the accounts export them.
        local_credentials(self.credentials, self.topology.monitor_replicas)
        for service in self.topology.services:
            _secret(Path(self.topology.master_key_file(service.name)), new_master_key())
            _secret(Path(self.topology.db_password_file(service.name)), secrets.token_urlsafe(24))
        for index, node in enumerate(self.nodes):
            assert node.config is not None
            node.config.parent.mkdir(parents=True, exist_ok=True)
            node.config.write_text(self.topology.nats_conf(index))

    def start(self, services: Sequence[str] | None = None, instances: int | None = None) -> None:
        """Start the nodes, PostgreSQL and the services (``services``: only these), each with
        its instances (``instances``: at most that many of each)."""
        self.prepare()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for node in self.nodes:
            node.start()
        asyncio.run(self.jetstream_ready())
        print(
            f"NATS: {len(self.nodes)} JetStream nodes, routed over TLS, streams with "
            f"{self.topology.stream_replicas} replicas: {self.topology.nats_urls} "
            f"(identities in {self.credentials})",
            flush=True,
        )
        self.start_postgres()
        print(
            f"PostgreSQL on {self.topology.postgres_address} (data in {self.postgres.root}), "
            "a role and a schema per service",
            flush=True,
        )
        chosen = [
            (s.name, n)
            for s in self.topology.services
            if services is None or s.name in services
            for n in range(1, len(s.running[:instances]) + 1)
        ]
        # The first instance of each service first (one makes its schema's tables), then the
        # others; each group at once, which halves the start on a machine of few cores.
        for group in ([c for c in chosen if c[1] == 1], [c for c in chosen if c[1] > 1]):
            with ThreadPoolExecutor(max_workers=4) as pool:
                for started in pool.map(lambda c: self.start_service(*c), group):
                    del started  # each raises here if it did not start
        print(
            f"TLS everywhere: the private CA is {self.ca}; callers: "
            + " ".join(f"{k}={v}" for k, v in self.caller_env().items()),
            flush=True,
        )

    async def jetstream_ready(self, timeout: float = 60.0) -> None:
        """Wait until the cluster answers JetStream requests: its nodes have elected a meta
        leader (a restart with data takes some seconds). A service that meets JetStream not
        ready at its start may give up (residence's consumer does), so none starts before."""
        import nats

        deadline = time.monotonic() + timeout
        with environment(self.caller_env()):
            while True:
                try:
                    nc = await nats.connect(**self.profile.login("intake"), connect_timeout=2)
                    try:
                        await nc.jetstream(timeout=2).account_info()
                        return
                    finally:
                        await nc.close()
                except Exception as error:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"JetStream not ready after {timeout:.0f} s") from error
                    await asyncio.sleep(0.5)

    def start_postgres(self) -> None:
        self.postgres.start()
        for service in self.topology.services:
            password = Path(self.topology.db_password_file(service.name)).read_text().strip()
            self.postgres.ensure_role(service.name, password)

    def service_env(self, name: str) -> dict[str, str]:
        password = Path(self.topology.db_password_file(name)).read_text().strip()
        spec = next(s for s in self.profile.services if s.name == name)
        return (
            self.topology.service_env(name, password)
            | spec.env
            | ({"KETENZICHT_CLOCK_FILE": str(self.clock_file)} if self.clock_file else {})
        )

    def start_service(
        self, name: str, instance: int | str = 1, env: dict[str, str] | None = None
    ) -> ServiceProcess:
        """Start instance ``instance`` (1-based) of service ``name`` as the topology has it;
        or, given a name, a further instance beyond the topology's (its own data directory
        and a free gRPC port, the same schema). Started again, an instance keeps its data."""
        full = self.service_env(name)
        label = _label(name, instance)
        if isinstance(instance, int):
            entry = next(s for s in self.topology.services if s.name == name)
            place = entry.running[instance - 1]
            full |= place.env | {
                "KETENZICHT_GRPC_ADDRESS": place.grpc_address,
                "KETENZICHT_INSTANCE": str(instance),
            }
        else:
            full["KETENZICHT_GRPC_ADDRESS"] = f"127.0.0.1:{free_port()}"
        if label != name:
            full["KETENZICHT_DATA_DIR"] = f"{full['KETENZICHT_DATA_DIR']}-{label[len(name) + 1 :]}"
        full |= env or {}
        process = ServiceProcess(name, full, log_file=self.log_dir / f"{label}.log")
        process.label = label
        process.start(timeout=90)
        self.services.append(process)
        # The monitor stores no events: its read model is a SQLite file of its own, one per
        # replica (services/monitor/src/monitor/bootstrap.py).
        store = (
            f"read model: SQLite in {full['KETENZICHT_DATA_DIR']}/projection"
            if name == "monitor"
            else f"store: PostgreSQL schema {name}"
        )
        print(
            f"{label:<14} gRPC (TLS) on {process.address:<18} {store}, "
            f"log in {self.log_dir}/{label}.log",
            flush=True,
        )
        return process

    def restart(self, process: ServiceProcess) -> None:
        """Start a stopped (or killed) instance again, as it was: its port, data, environment."""
        process.start(timeout=90)

    def kill_node(self, index: int) -> None:
        """SIGKILL NATS node ``index`` (0-based), as in a crash."""
        self.nodes[index].stop(signal.SIGKILL)

    def stop(self) -> None:
        for process in reversed(self.services):
            process.stop()
        self.services.clear()
        for node in self.nodes:
            node.stop()
        self.postgres.stop()

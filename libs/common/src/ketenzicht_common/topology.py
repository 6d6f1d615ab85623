"""The production topology as data: three NATS nodes, PostgreSQL, TLS, one environment per
service, rendered from one set of templates (``deploy/production/templates``).

``deploy/production/topology.toml`` holds a real deployment's parameters (host names, paths
under ``/etc`` and ``/var/lib``, secrets mounted from a store); ``deploy/cluster/topology.toml``
the same topology on loopback, under ``var/cluster``. Both render the same templates, so the
cluster profile (`cluster.ClusterStack`, ``make run PROFILE=cluster``) runs the configuration
production describes rather than a copy of it (docs/adr/0026). The files kept in
``deploy/production`` are rendered, and a test fails when they drift from their templates:

    python -m ketenzicht_common.topology render deploy/production/topology.toml
"""

from __future__ import annotations

import argparse
import dataclasses
import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TEMPLATES = Path(__file__).resolve().parents[4] / "deploy" / "production" / "templates"
"""The templates, beside the production files rendered from them."""


@dataclass(frozen=True)
class NatsNode:
    client_listen: str
    http_listen: str
    cluster_listen: str
    client_url: str
    """How clients reach this node (``tls://host:port``)."""
    route_url: str
    """How the other nodes reach this one (``nats-route://host:port``)."""
    store_dir: str


@dataclass(frozen=True)
class Instance:
    """One instance of a service: where its callers reach it (on loopback, where it listens),
    and what it sets beside the service's environment (the monitor's dashboard address)."""

    grpc_address: str
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ServiceEntry:
    name: str
    grpc_address: str
    """Where the service listens, as its environment file says (every instance alike)."""
    grpc_certificate: str
    """The name of its TLS certificate in the TLS directory (``<name>.pem``, ``.key``)."""
    env: dict[str, str] = field(default_factory=dict)
    """What this service sets beside the template (the monitor's dashboard address)."""
    instances: list[Instance] = field(default_factory=list)
    """Its instances (``[[service.instance]]``); none listed, one at ``grpc_address``. The
    writing services run several on one store, residence an active one and a warm standby,
    the monitor several active replicas (docs/adr/0034). Instance N (1-based) runs with
    ``KETENZICHT_INSTANCE=N``."""

    @property
    def running(self) -> list[Instance]:
        return self.instances or [Instance(self.grpc_address)]

    @property
    def client_address(self) -> str:
        """What a client lists to reach every instance, round robin (`client.balanced`)."""
        return ",".join(instance.grpc_address for instance in self.running)


@dataclass(frozen=True)
class Topology:
    nodes: list[NatsNode]
    max_file_store: str
    stream_replicas: int
    tls_dir: str
    keys_dir: str
    """Where the parties' public nkeys are (``bus_access accounts --public-keys``)."""
    accounts: str
    """The nodes' accounts file (public keys only), as each node's configuration includes it."""
    postgres_address: str
    secrets_dir: str
    data_dir: str
    identities_file: str
    traces_exporter: str
    otlp_endpoint: str
    services: list[ServiceEntry]
    generated_secrets: bool
    """True on loopback: the secrets are made under ``secrets_dir`` on first start; False in
    production, where the DSN names the password's variable and a secret store mounts the rest."""

    @classmethod
    def load(cls, path: Path) -> Topology:
        data = tomllib.loads(path.read_text())
        nats, services, secrets = data["nats"], data["services"], data["secrets"]
        return cls(
            nodes=[NatsNode(**node) for node in nats["node"]],
            max_file_store=nats["max_file_store"],
            stream_replicas=int(nats["stream_replicas"]),
            tls_dir=data["tls"]["dir"],
            keys_dir=nats["keys_dir"],
            accounts=nats["accounts"],
            postgres_address=data["postgres"]["address"],
            secrets_dir=secrets["dir"],
            generated_secrets=bool(secrets["generated"]),
            data_dir=services["data_dir"],
            identities_file=services["identities_file"],
            traces_exporter=services["traces_exporter"],
            otlp_endpoint=services.get("otlp_endpoint", ""),
            services=[
                ServiceEntry(
                    s["name"],
                    s["grpc_address"],
                    s.get("grpc_certificate", s["name"]),
                    {k: str(v) for k, v in s.get("env", {}).items()},
                    [
                        Instance(
                            i["grpc_address"], {k: str(v) for k, v in i.get("env", {}).items()}
                        )
                        for i in s.get("instance", [])
                    ],
                )
                for s in data["service"]
            ],
        )

    def replace(self, **changes: Any) -> Topology:
        return dataclasses.replace(self, **changes)

    @property
    def nats_urls(self) -> str:
        return ",".join(node.client_url for node in self.nodes)

    def nats_conf(self, index: int) -> str:
        """Node ``index``'s (0-based) nats-server configuration."""
        node = self.nodes[index]
        return _render(
            "nats-node.conf",
            node=str(index + 1),
            client_listen=node.client_listen,
            http_listen=node.http_listen,
            cluster_listen=node.cluster_listen,
            store_dir=node.store_dir,
            max_file_store=self.max_file_store,
            tls_dir=self.tls_dir,
            keys_dir=self.keys_dir,
            accounts=self.accounts,
            routes="\n".join(f"    {other.route_url}" for other in self.nodes),
        )

    @property
    def monitor_replicas(self) -> int:
        """The monitor's active replicas: every owner's relay makes feeds for each."""
        return len(next((s.running for s in self.services if s.name == "monitor"), [None]))

    def nats_seed_file(self, party: str) -> str:
        return f"{self.secrets_dir}/nats/{party}.nk"

    def master_key_file(self, service: str) -> str:
        return f"{self.secrets_dir}/{service}.master-key"

    def db_password_file(self, service: str) -> str:
        return f"{self.secrets_dir}/db/{service}.password"

    def service_env_text(self, name: str, db_password: str = "") -> str:
        """The environment file of service ``name``. ``db_password``: the password to write
        into the DSN; empty, the variable a real deployment's secret store sets."""
        service = next(s for s in self.services if s.name == name)
        text = _render(
            "service.env",
            service=name,
            grpc_address=service.grpc_address,
            grpc_certificate=service.grpc_certificate,
            nats_urls=self.nats_urls,
            nats_seed_file=self.nats_seed_file(name),
            tls_dir=self.tls_dir,
            stream_replicas=str(self.stream_replicas),
            data_dir=f"{self.data_dir}/{name}",
            master_key_file=self.master_key_file(name),
            db_password=db_password or f"${{{name.upper()}_DB_PASSWORD}}",
            db_address=self.postgres_address,
            identities_file=self.identities_file,
            monitor_replicas=str(self.monitor_replicas),
            traces_exporter=self.traces_exporter,
            otlp_endpoint=(
                f"OTEL_EXPORTER_OTLP_ENDPOINT={self.otlp_endpoint}" if self.otlp_endpoint else ""
            ),
        ).rstrip("\n")
        extra = "".join(f"\n{key}={value}" for key, value in service.env.items())
        return text + extra + "\n"

    def service_env(self, name: str, db_password: str) -> dict[str, str]:
        """The same file as variables: what the cluster profile starts the service with."""
        return parse_env(self.service_env_text(name, db_password))

    def render(self, directory: Path) -> list[Path]:
        """The nodes' configurations (``nats/nats-N.conf``) and the services' environments
        (``services/<name>.env``) under ``directory``; returns the files written."""
        written: list[Path] = []
        for index in range(len(self.nodes)):
            path = directory / "nats" / f"nats-{index + 1}.conf"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.nats_conf(index))
            written.append(path)
        for service in self.services:
            path = directory / "services" / f"{service.name}.env"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.service_env_text(service.name))
            written.append(path)
        path = directory / "services" / "clients.env"
        path.write_text(self.clients_env_text())
        written.append(path)
        return written

    def clients_env_text(self) -> str:
        """What a caller (a police, OM or IND system, the CLI) lists to reach each service's
        instances, round robin (`client.balanced`)."""
        lines = [
            "# Rendered from topology.toml: every instance of each service, for its callers",
            "# (comma-separated: gRPC's client-side round robin; see the main README).",
        ]
        lines += [f"KETENZICHT_{s.name.upper()}_ADDRESS={s.client_address}" for s in self.services]
        return "\n".join(lines) + "\n"


def _render(template: str, **values: str) -> str:
    # string.Template: the configurations' own braces stay as they are.
    return string.Template((TEMPLATES / template).read_text()).substitute(values)


def parse_env(text: str) -> dict[str, str]:
    """``KEY=value`` lines, comments and blank lines skipped (an EnvironmentFile's syntax,
    without quoting: none of the values needs it)."""
    env: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m ketenzicht_common.topology",
        description="Render the nodes' and services' configuration of a topology.",
    )
    parser.add_argument("command", choices=["render"])
    parser.add_argument("topology", type=Path)
    parser.add_argument("--out", type=Path, help="default: beside the topology file")
    args = parser.parse_args(argv)
    for path in Topology.load(args.topology).render(args.out or args.topology.parent):
        print(path)


if __name__ == "__main__":
    main()

"""deploy/production is one source with the cluster profile: its files are rendered from the
templates the cluster profile renders too, and may not drift from them."""

from __future__ import annotations

from pathlib import Path

from ketenzicht_common.cluster import loopback
from ketenzicht_common.topology import Topology

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = ROOT / "deploy" / "production"

# Settings only the cluster profile needs, because all its replicas share one machine; a
# production host runs one replica and keeps the defaults.
SHARED_MACHINE_ONLY = {"KETENZICHT_MONITOR_REBUILD_WORKERS"}


def test_the_production_files_are_what_the_templates_render(tmp_path: Path) -> None:
    written = Topology.load(PRODUCTION / "topology.toml").render(tmp_path)
    for path in written:
        kept = PRODUCTION / path.relative_to(tmp_path)
        assert kept.read_text() == path.read_text(), (
            f"{kept.relative_to(ROOT)} differs from its template: run "
            "`python -m ketenzicht_common.topology render deploy/production/topology.toml`"
        )


def test_the_cluster_profile_sets_what_production_sets_with_loopback_addresses() -> None:
    production = Topology.load(PRODUCTION / "topology.toml")
    cluster = loopback(ROOT / "deploy" / "cluster" / "topology.toml", root=Path("/srv/c"))
    for service in production.services:
        real = production.service_env(service.name, "secret")
        local = cluster.service_env(service.name, "secret")
        assert set(real) - {"OTEL_EXPORTER_OTLP_ENDPOINT"} == set(local) - SHARED_MACHINE_ONLY
        assert local["KETENZICHT_STREAM_REPLICAS"] == "3"
        assert local["KETENZICHT_STORE__BACKEND"] == "postgres"
        assert local["KETENZICHT_NATS_URL"].count("tls://127.0.0.1:") == 3
        assert local["KETENZICHT_TLS_CERTIFICATE"].startswith("/srv/c/tls/")
    # The nodes' configurations differ in addresses and paths only.
    for index in range(3):
        real, local = production.nats_conf(index), cluster.nats_conf(index)
        assert settings_of(real) == settings_of(local)
        assert "verify: true" in local  # the routes' mutual TLS


def settings_of(configuration: str) -> list[str]:
    """A configuration's setting names in order, without their values and comments."""
    return [
        line.split(":")[0].split(" ")[0].strip()
        for line in configuration.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]

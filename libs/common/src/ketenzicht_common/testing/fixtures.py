"""pytest fixtures for real servers (registered as a pytest plugin by ketenzicht-common)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ketenzicht_common.processes import NatsServer, ServiceProcess, free_port

REPO_ROOT = Path(__file__).resolve().parents[5]


@pytest.fixture
def nats_factory(tmp_path: Path) -> Iterator[Callable[[], NatsServer]]:
    """Start nats-servers of the test's own (which it may stop, kill and restart)."""
    started: list[NatsServer] = []

    def start() -> NatsServer:
        server = NatsServer(tmp_path / f"nats-{len(started)}").start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def nats_server(nats_factory: Callable[[], NatsServer]) -> NatsServer:
    return nats_factory()


ServiceFactory = Callable[..., ServiceProcess]


@pytest.fixture
def service_factory(tmp_path: Path) -> Iterator[ServiceFactory]:
    """Start service processes (``python -m <name>``) on a free loopback port, each with its
    own identity on the given nats-server."""
    started: list[ServiceProcess] = []

    def start(
        name: str,
        nats: NatsServer,
        *,
        data_dir: Path | None = None,
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> ServiceProcess:
        process = ServiceProcess(
            name,
            {
                "KETENZICHT_GRPC_ADDRESS": f"127.0.0.1:{port or free_port()}",
                "KETENZICHT_DATA_DIR": str(data_dir or tmp_path / name),
                "KETENZICHT_NATS_URL": nats.url,
                "KETENZICHT_NATS_SEED_FILE": str(nats.seed(name)),
                "KETENZICHT_IDENTITIES_FILE": str(REPO_ROOT / "deploy/local/identities.toml"),
                **(env or {}),
            },
            cwd=REPO_ROOT,
            log_file=tmp_path / f"{name}.log",
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A PostgreSQL server for the whole session, on a private loopback port."""
    from ketenzicht_common.testing.postgres import PostgresServer

    server = PostgresServer().start()
    yield server.dsn
    server.stop()

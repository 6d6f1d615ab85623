"""TLS on the bus is configuration: the server's tls block, a ``tls://`` URL and the private CA
in ``SSL_CERT_FILE``; the services' identities and permissions stay as they are."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import nats
import nats.errors
import pytest

from ketenzicht_common.processes import NatsServer, free_port
from ketenzicht_common.testing.fixtures import ServiceFactory
from ketenzicht_common.testing.jetstream import event_of
from ketenzicht_common.testing.pki import make_certificates

from .test_delivery_guarantees import STREAM, register

pytestmark = pytest.mark.integration


async def test_the_services_publish_over_tls_when_the_server_requires_it(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    pki = tmp_path / "pki"
    pki.mkdir()
    make_certificates(pki, clients=())
    port = free_port()
    config = tmp_path / "nats-tls.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f'jetstream {{ store_dir: "{tmp_path / "nats"}" }}\n'
        f'tls {{ cert_file: "{pki / "server.pem"}", '
        f'key_file: "{pki / "server.key"}" }}\n'
    )
    server = NatsServer(tmp_path / "nats", port=port, config=config).start()
    try:
        url = f"tls://127.0.0.1:{port}"
        intake = service_factory(
            "intake", server, env={"KETENZICHT_NATS_URL": url, "SSL_CERT_FILE": str(pki / "ca.pem")}
        )
        stored = await register(intake.address, range(2))

        context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        nc = await nats.connect(url, tls=context, nkeys_seed=str(server.seed("intake")))
        try:
            js = nc.jetstream()
            # The acknowledgement says stored; the relay publishes a moment later.
            deadline = time.monotonic() + 10
            while (await js.stream_info(STREAM)).state.messages < 2:
                assert time.monotonic() < deadline, "intake did not publish over TLS"
                await asyncio.sleep(0.05)
            messages = [await js.get_msg(STREAM, seq) for seq in (1, 2)]
        finally:
            await nc.close()
        assert {str(event_of(m)[0].event_id) for m in messages} == stored

        # The same identity without TLS gets no connection.
        with pytest.raises((nats.errors.Error, OSError)):
            await nats.connect(
                f"nats://127.0.0.1:{port}",
                nkeys_seed=str(server.seed("intake")),
                allow_reconnect=False,
                connect_timeout=2,
                max_reconnect_attempts=0,
            )
    finally:
        server.stop()

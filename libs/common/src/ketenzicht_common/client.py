"""The project's own client: what a police, OM or IND system (or a test) uses to call a service.

    async with connect("127.0.0.1:50051", token="…") as channel:
        intake = IntakeServiceStub(channel)
        reply = await intake.FileReport(FileReportRequest(...))

Every call carries the bearer token and the caller's W3C trace context.

**TLS.** Given ``server_ca`` (and a client certificate, which the services require over TLS),
the channel is secure. Without them, the caller's environment decides, as ``SSL_CERT_FILE``
does for the bus: ``KETENZICHT_CLIENT_CA``, ``KETENZICHT_CLIENT_CERTIFICATE`` and
``KETENZICHT_CLIENT_KEY`` (the cluster profile sets them for the programs it starts and prints
them for yours); unset, the channel is plain, as in the local profile.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import propagate


class _CallerMetadata:
    def __init__(self, token: str | None) -> None:
        self.token = token

    def details(self, details: Any) -> Any:
        metadata = list(details.metadata or [])
        if self.token:
            metadata.append(("authorization", f"Bearer {self.token}"))
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        metadata.extend(carrier.items())
        return details._replace(metadata=metadata)


# grpc.aio files an interceptor under one call kind only, hence one class per kind.
class _UnaryMetadata(_CallerMetadata, grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self.details(details), request)


class _StreamMetadata(_CallerMetadata, grpc.aio.StreamStreamClientInterceptor):  # type: ignore[misc]
    async def intercept_stream_stream(
        self, continuation: Any, details: Any, request_iterator: Any
    ) -> Any:
        return await continuation(self.details(details), request_iterator)


@asynccontextmanager
async def connect(
    address: str,
    *,
    token: str | None = None,
    client_certificate: Path | None = None,
    client_key: Path | None = None,
    server_ca: Path | None = None,
) -> AsyncIterator[grpc.aio.Channel]:
    """A channel to a ketenzicht service, authenticated by token or client certificate."""
    channel = open_channel(
        address,
        interceptors=[_UnaryMetadata(token), _StreamMetadata(token)],
        client_certificate=client_certificate,
        client_key=client_key,
        server_ca=server_ca,
    )
    try:
        yield channel
    finally:
        await channel.close()


def open_channel(
    address: str,
    *,
    interceptors: list[Any] | None = None,
    options: list[tuple[str, Any]] | None = None,
    client_certificate: Path | None = None,
    client_key: Path | None = None,
    server_ca: Path | None = None,
) -> grpc.aio.Channel:
    """A channel, secure when a CA is given or in the environment (see the module docstring)."""
    if server_ca is None and os.environ.get("KETENZICHT_CLIENT_CA"):
        server_ca = Path(os.environ["KETENZICHT_CLIENT_CA"])
        if client_certificate is None and os.environ.get("KETENZICHT_CLIENT_CERTIFICATE"):
            client_certificate = Path(os.environ["KETENZICHT_CLIENT_CERTIFICATE"])
            client_key = Path(os.environ["KETENZICHT_CLIENT_KEY"])
    if server_ca is None:
        return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=server_ca.read_bytes(),
        private_key=client_key.read_bytes() if client_key else None,
        certificate_chain=client_certificate.read_bytes() if client_certificate else None,
    )
    return grpc.aio.secure_channel(address, credentials, options=options, interceptors=interceptors)

"""The project's own client: what a police, OM or IND system (or a test) uses to call a service.

    async with connect("127.0.0.1:50051", token="…") as channel:
        intake = IntakeServiceStub(channel)
        reply = await intake.FileReport(FileReportRequest(...))

Every call carries the bearer token and the caller's W3C trace context.
"""

from __future__ import annotations

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
    interceptors = [_UnaryMetadata(token), _StreamMetadata(token)]
    if server_ca is not None:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=server_ca.read_bytes(),
            private_key=client_key.read_bytes() if client_key else None,
            certificate_chain=client_certificate.read_bytes() if client_certificate else None,
        )
        channel = grpc.aio.secure_channel(address, credentials, interceptors=interceptors)
    else:
        channel = grpc.aio.insecure_channel(address, interceptors=interceptors)
    try:
        yield channel
    finally:
        await channel.close()

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

**Several instances.** ``address`` may list the instances of a service, comma-separated
(``10.0.0.1:50051,10.0.0.2:50051``): the channel connects to all of them and sends its calls
round robin (gRPC's own client-side load balancing), leaving out an instance it cannot reach
and one whose health (gRPC's health protocol, watched by the channel itself) is NOT_SERVING as
a whole — a warm standby (residence's second instance, docs/adr/0034) until it takes over.
A call already on its way to an instance that dies fails UNAVAILABLE; sent again with the same
command id it reaches another, and is stored once (the command log).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import propagate


def caller_metadata(token: str | None) -> list[tuple[str, str]]:
    """What every call of a ketenzicht client carries: the bearer token (when given) and the
    current trace context (when tracing is on)."""
    metadata = [("authorization", f"Bearer {token}")] if token else []
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    metadata.extend(carrier.items())
    return metadata


class _CallerMetadata:
    def __init__(self, token: str | None) -> None:
        self.token = token

    def details(self, details: Any) -> Any:
        return details._replace(metadata=list(details.metadata or []) + caller_metadata(self.token))


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
    """A channel, secure when a CA is given or in the environment (see the module docstring);
    to one address or, round robin, to several."""
    target, options = balanced(address, options)
    if server_ca is None and os.environ.get("KETENZICHT_CLIENT_CA"):
        server_ca = Path(os.environ["KETENZICHT_CLIENT_CA"])
        if client_certificate is None and os.environ.get("KETENZICHT_CLIENT_CERTIFICATE"):
            client_certificate = Path(os.environ["KETENZICHT_CLIENT_CERTIFICATE"])
            client_key = Path(os.environ["KETENZICHT_CLIENT_KEY"])
    if server_ca is None:
        return grpc.aio.insecure_channel(target, options=options, interceptors=interceptors)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=server_ca.read_bytes(),
        private_key=client_key.read_bytes() if client_key else None,
        certificate_chain=client_certificate.read_bytes() if client_certificate else None,
    )
    return grpc.aio.secure_channel(target, credentials, options=options, interceptors=interceptors)


SERVICE_CONFIG = json.dumps(
    {"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}
)
"""Round robin over the instances that are up and whose health as a whole is SERVING."""


def balanced(
    address: str, options: list[tuple[str, Any]] | None = None
) -> tuple[str, list[tuple[str, Any]] | None]:
    """The target and options of a channel to ``address``: as it is for one address; for a
    comma-separated list of IP addresses, gRPC's static resolver (``ipv4:``/``ipv6:``) with
    the round_robin policy and client-side health checking of the server as a whole (an
    instance that says NOT_SERVING gets no calls while another says SERVING)."""
    addresses = [a.strip() for a in address.split(",") if a.strip()]
    if len(addresses) < 2:
        return address, options
    hosts = [a.rsplit(":", 1)[0].strip("[]") for a in addresses]
    # The name a server's certificate is checked against: the first instance's. Instances
    # of one service share a certificate that names them all (the cluster profile's does).
    policy = [
        *(options or []),
        ("grpc.service_config", SERVICE_CONFIG),
        ("grpc.default_authority", hosts[0]),
    ]
    for version in (4, 6):
        if all(_is_ip(h, version) for h in hosts):
            return f"ipv{version}:" + ",".join(addresses), policy
    raise ValueError(
        "several addresses must be IP addresses (ipv4 or ipv6); for host names, give one name "
        "that resolves to every instance (dns:///name:port) and gRPC balances over its records"
    )


def _is_ip(host: str, version: int) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).version == version
    except ValueError:
        return False

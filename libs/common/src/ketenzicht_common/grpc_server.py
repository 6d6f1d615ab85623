"""The gRPC side every service shares: authentication, authorisation, tracing, the one error
table, health checking, reflection and (optionally) TLS with client certificates.

A service writes a plain servicer whose methods take ``(request, caller)``; ``guarded`` turns
it into what grpcio expects, so no servicer repeats the checks.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import propagate, trace

from .auth import Identity, IdentityRegistry, Role, authenticate, authorise
from .domain import Provenance
from .errors import (
    AlreadyExists,
    CommandRejected,
    InvalidCommand,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    Unauthenticated,
)
from .health import ExplainedHealth
from .telemetry import trace_headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer("ketenzicht.grpc")


@dataclass(frozen=True)
class Caller:
    """The authenticated caller of one RPC, with the trace context to store with its events."""

    identity: Identity
    trace: Mapping[str, str]

    def provenance(self, command_id: str) -> Provenance:
        return Provenance(
            organisation=self.identity.organisation,
            system=self.identity.system,
            command_id=command_id or f"generated-{uuid.uuid4()}",
            traceparent=self.trace.get("traceparent", ""),
            tracestate=self.trace.get("tracestate", ""),
        )


def _packed(detail: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(detail)
    return packed


def status_for(error: Exception) -> status_pb2.Status:
    """The one table from a refusal to a gRPC status with typed details."""
    if isinstance(error, InvalidCommand):
        details = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field,
                                                            description=v.description)
                for v in error.violations
            ]
        )
        return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=error.message,
                                 details=[_packed(details)])
    if isinstance(error, PreconditionFailed):
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=error.reason, subject=error.subject, description=error.message
                )
            ]
        )
        return status_pb2.Status(code=code_pb2.FAILED_PRECONDITION, message=error.message,
                                 details=[_packed(failure)])
    if isinstance(error, AlreadyExists):
        return status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message=error.message)
    if isinstance(error, NotFound):
        return status_pb2.Status(code=code_pb2.NOT_FOUND, message=error.message)
    if isinstance(error, CommandRejected):
        return status_pb2.Status(code=code_pb2.ABORTED, message=error.message)
    if isinstance(error, Unauthenticated):
        return status_pb2.Status(code=code_pb2.UNAUTHENTICATED, message=error.message)
    if isinstance(error, PermissionDenied):
        return status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=error.message)
    return status_pb2.Status(code=code_pb2.INTERNAL, message="internal error")


Method = Callable[[Any, Caller], Awaitable[Any]]
StreamMethod = Callable[[AsyncIterator[Any], Caller], AsyncIterator[Any]]


@dataclass(frozen=True)
class Guard:
    service: str
    registry: IdentityRegistry
    allowed: frozenset[Role]

    def _caller(self, context: grpc.aio.ServicerContext,
                metadata: list[tuple[str, Any]]) -> Caller:
        incoming = {k: v for k, v in metadata if isinstance(v, str)}
        auth = context.auth_context() or {}
        common_names = [v.decode() for v in auth.get("x509_common_name", [])]
        identity = authenticate(self.registry, metadata, common_names)
        authorise(identity, self.allowed, self.service)
        return Caller(identity, trace_headers(incoming))

    def wrap_stream(self, rpc_service: str, name: str,
                    method: StreamMethod) -> Callable[..., AsyncIterator[Any]]:
        """A streaming RPC: the caller is checked once, when the stream opens."""
        full_name = f"{rpc_service}/{name}"

        async def handler(requests: AsyncIterator[Any],
                          context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            metadata = [(m.key, m.value) for m in (context.invocation_metadata() or ())]
            incoming = {k: v for k, v in metadata if isinstance(v, str)}
            with tracer.start_as_current_span(
                full_name, context=propagate.extract(incoming), kind=trace.SpanKind.SERVER,
                attributes={"rpc.system": "grpc", "rpc.service": rpc_service,
                            "rpc.method": name},
            ):
                try:
                    caller = self._caller(context, metadata)
                except (Unauthenticated, PermissionDenied) as refused:
                    await context.abort_with_status(rpc_status.to_status(status_for(refused)))
                    return
                async for response in method(requests, caller):
                    yield response

        handler.__name__ = name
        return handler

    def wrap(self, rpc_service: str, name: str, method: Method) -> Callable[..., Awaitable[Any]]:
        full_name = f"{rpc_service}/{name}"

        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            metadata = [(m.key, m.value) for m in (context.invocation_metadata() or ())]
            incoming = {k: v for k, v in metadata if isinstance(v, str)}
            with tracer.start_as_current_span(
                full_name,
                context=propagate.extract(incoming),
                kind=trace.SpanKind.SERVER,
                attributes={"rpc.system": "grpc", "rpc.service": rpc_service,
                            "rpc.method": name},
            ) as span:
                try:
                    caller = self._caller(context, metadata)
                    span.set_attribute("ketenzicht.organisation", caller.identity.organisation)
                    return await method(request, caller)
                except (CommandRejected, Unauthenticated, PermissionDenied) as refused:
                    span.set_attribute("ketenzicht.refused", type(refused).__name__)
                    await context.abort_with_status(rpc_status.to_status(status_for(refused)))
                except grpc.aio.AbortError:
                    raise
                except Exception:
                    log.exception("%s failed", full_name)
                    await context.abort_with_status(
                        rpc_status.to_status(status_for(RuntimeError()))
                    )

        handler.__name__ = name
        return handler


def guarded(servicer: object, descriptor: Any, guard: Guard) -> object:
    """An object with one grpc-style method per RPC of ``descriptor`` (a ServiceDescriptor)."""
    missing = [m.name for m in descriptor.methods if not hasattr(servicer, m.name)]
    if missing:
        raise TypeError(f"{type(servicer).__name__} lacks {', '.join(missing)}")
    methods = {
        m.name: staticmethod(
            (guard.wrap_stream if m.client_streaming else guard.wrap)(
                descriptor.full_name, m.name, getattr(servicer, m.name)
            )
        )
        for m in descriptor.methods
    }
    return type(f"Guarded{descriptor.name}", (), methods)()


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    private_key: Path
    client_ca: Path


def build_server(
    *,
    registrations: list[tuple[Callable[[Any, grpc.aio.Server], None], object, Any]],
    address: str,
    tls: TlsFiles | None = None,
) -> tuple[grpc.aio.Server, int, ExplainedHealth]:
    """A server with the given (add_to_server, servicer, descriptor) triples, health and
    reflection. Returns the server, the bound port and the health servicer."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_servicer = ExplainedHealth()  # the standard protocol, with reasons (health.py)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [reflection.SERVICE_NAME, health.SERVICE_NAME]
    for add, servicer, descriptor in registrations:
        add(servicer, server)
        names.append(descriptor.full_name)
    reflection.enable_server_reflection(names, server)
    if tls is None:
        port = server.add_insecure_port(address)
    else:
        credentials = grpc.ssl_server_credentials(
            [(tls.private_key.read_bytes(), tls.certificate.read_bytes())],
            root_certificates=tls.client_ca.read_bytes(),
            require_client_auth=True,
        )
        port = server.add_secure_port(address, credentials)
    return server, port, health_servicer


async def mark_serving(health_servicer: health.aio.HealthServicer, names: list[str]) -> None:
    for name in ["", *names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)

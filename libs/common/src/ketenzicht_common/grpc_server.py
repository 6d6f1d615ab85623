"""The gRPC side every service shares: authentication, authorisation, tracing, the one error
table, health checking, reflection and (optionally) TLS with client certificates.

A service writes a plain servicer whose methods take ``(request, caller)``; ``guarded`` turns
it into grpcio method handlers, so no servicer repeats the checks.

The handlers are built here from the service descriptor rather than by the generated
``add_…Servicer_to_server``: grpcio decodes a request before any servicer code runs, and the
generated deserializer turns undecodable bytes into an error that no code of ours sees (UNKNOWN,
with a traceback in the log, before the caller is even authenticated). Ours hands such a body
on as ``Undecodable``, and the guard refuses it with INVALID_ARGUMENT after authentication
(docs/adr/0016-strict-grpc-edge.md).
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
from google.protobuf.message_factory import GetMessageClass
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import trace

from . import telemetry
from .auth import Identity, IdentityRegistry, Role, authenticate, authorise
from .domain import Provenance
from .errors import (
    AlreadyExists,
    CommandRejected,
    FieldViolation,
    InvalidCommand,
    NotActive,
    NotFound,
    NotTheOwner,
    PermissionDenied,
    PreconditionFailed,
    StoreUnavailable,
    Unauthenticated,
)
from .health import ExplainedHealth
from .telemetry import incoming_trace, trace_headers

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
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        return status_pb2.Status(
            code=code_pb2.INVALID_ARGUMENT, message=error.message, details=[_packed(details)]
        )
    if isinstance(error, PreconditionFailed):
        failure = error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=error.reason, subject=error.subject, description=error.message
                )
            ]
        )
        return status_pb2.Status(
            code=code_pb2.FAILED_PRECONDITION, message=error.message, details=[_packed(failure)]
        )
    if isinstance(error, AlreadyExists):
        return status_pb2.Status(code=code_pb2.ALREADY_EXISTS, message=error.message)
    if isinstance(error, NotFound):
        return status_pb2.Status(code=code_pb2.NOT_FOUND, message=error.message)
    if isinstance(error, NotTheOwner):
        return status_pb2.Status(code=code_pb2.PERMISSION_DENIED, message=error.message)
    if isinstance(error, StoreUnavailable | NotActive):
        return status_pb2.Status(code=code_pb2.UNAVAILABLE, message=error.message)
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
class Undecodable:
    """Handed to the guard in place of a request body that is not a valid ``type_name``."""

    type_name: str


def lenient_deserializer(message_class: Any) -> Callable[[bytes], Any]:
    """``message_class.FromString``, but a body it cannot decode becomes ``Undecodable``
    instead of an error raised inside grpcio."""
    parse = message_class.FromString
    undecodable = Undecodable(message_class.DESCRIPTOR.full_name)

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception:  # DecodeError, or whatever else hostile bytes make the parser raise
            return undecodable

    return deserialize


class UndecodableFrame(InvalidCommand):
    """A frame of a bulk stream that is not a valid command message: it ends the stream."""

    def __init__(self, sequence: int, type_name: str) -> None:
        super().__init__([FieldViolation(f"requests[{sequence}]", f"not a valid {type_name}")])
        self.sequence = sequence


def undecodable_request(full_name: str, caller: Caller, request: Undecodable) -> InvalidCommand:
    # One short line, no traceback, no bytes: the caller is authenticated, so it can be asked
    # to fix its client, but it must not be able to fill the log with our stack traces.
    log.warning("%s: undecodable request from %s", full_name, caller.identity.organisation)
    return InvalidCommand.of("request", f"not a valid {request.type_name}")


@dataclass(frozen=True)
class Guard:
    service: str
    registry: IdentityRegistry
    allowed: frozenset[Role]

    def _caller(
        self,
        context: grpc.aio.ServicerContext,
        metadata: list[tuple[str, Any]],
        trace_carrier: Mapping[str, str],
    ) -> Caller:
        auth = context.auth_context() or {}
        common_names = [v.decode() for v in auth.get("x509_common_name", [])]
        identity = authenticate(self.registry, metadata, common_names)
        authorise(identity, self.allowed, self.service)
        return Caller(identity, trace_headers(trace_carrier))

    def wrap_stream(
        self, rpc_service: str, name: str, method: StreamMethod
    ) -> Callable[..., AsyncIterator[Any]]:
        """A streaming RPC: the caller is checked once, when the stream opens; the first frame
        that is not a valid command message ends the stream with INVALID_ARGUMENT."""
        full_name = f"{rpc_service}/{name}"
        attributes = {"rpc.system": "grpc", "rpc.service": rpc_service, "rpc.method": name}

        async def decoded(requests: AsyncIterator[Any], caller: Caller) -> AsyncIterator[Any]:
            sequence = 0
            async for request in requests:
                if isinstance(request, Undecodable):
                    undecodable_request(full_name, caller, request)
                    raise UndecodableFrame(sequence, request.type_name)
                yield request
                sequence += 1

        async def handler(
            requests: AsyncIterator[Any], context: grpc.aio.ServicerContext
        ) -> AsyncIterator[Any]:
            metadata = [(m.key, m.value) for m in (context.invocation_metadata() or ())]
            carrier = incoming_trace(metadata)
            with telemetry.span(
                tracer, full_name, carrier, trace.SpanKind.SERVER, attributes
            ) as span:
                try:
                    caller = self._caller(context, metadata, carrier)
                except (Unauthenticated, PermissionDenied) as refused:
                    await context.abort_with_status(rpc_status.to_status(status_for(refused)))
                    return
                try:
                    async for response in method(decoded(requests, caller), caller):
                        yield response
                except CommandRejected as refused:
                    span.set_attribute("ketenzicht.refused", type(refused).__name__)
                    await context.abort_with_status(rpc_status.to_status(status_for(refused)))

        handler.__name__ = name
        return handler

    def wrap(self, rpc_service: str, name: str, method: Method) -> Callable[..., Awaitable[Any]]:
        full_name = f"{rpc_service}/{name}"
        attributes = {"rpc.system": "grpc", "rpc.service": rpc_service, "rpc.method": name}

        async def handler(request: Any, context: grpc.aio.ServicerContext) -> Any:
            metadata = [(m.key, m.value) for m in (context.invocation_metadata() or ())]
            carrier = incoming_trace(metadata)
            with telemetry.span(
                tracer, full_name, carrier, trace.SpanKind.SERVER, attributes
            ) as span:
                try:
                    caller = self._caller(context, metadata, carrier)
                    span.set_attribute("ketenzicht.organisation", caller.identity.organisation)
                    if isinstance(request, Undecodable):
                        raise undecodable_request(full_name, caller, request)
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


def guarded(servicer: object, descriptor: Any, guard: Guard) -> dict[str, grpc.RpcMethodHandler]:
    """grpcio method handlers, by method name, for every RPC of ``descriptor`` (a
    ServiceDescriptor), each calling the servicer's method of that name through ``guard``."""
    missing = [m.name for m in descriptor.methods if not hasattr(servicer, m.name)]
    if missing:
        raise TypeError(f"{type(servicer).__name__} lacks {', '.join(missing)}")
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for m in descriptor.methods:
        deserialize = lenient_deserializer(GetMessageClass(m.input_type))
        serialize = GetMessageClass(m.output_type).SerializeToString
        method = getattr(servicer, m.name)
        if m.client_streaming and m.server_streaming:
            handlers[m.name] = grpc.stream_stream_rpc_method_handler(
                guard.wrap_stream(descriptor.full_name, m.name, method),
                request_deserializer=deserialize,
                response_serializer=serialize,
            )
        elif not m.client_streaming and not m.server_streaming:
            handlers[m.name] = grpc.unary_unary_rpc_method_handler(
                guard.wrap(descriptor.full_name, m.name, method),
                request_deserializer=deserialize,
                response_serializer=serialize,
            )
        else:
            raise TypeError(
                f"{descriptor.full_name}/{m.name}: only unary and bidirectional "
                "streaming RPCs are supported"
            )
    return handlers


@dataclass(frozen=True)
class TlsFiles:
    certificate: Path
    private_key: Path
    client_ca: Path


def build_server(
    *,
    registrations: list[tuple[Any, dict[str, grpc.RpcMethodHandler]]],
    address: str,
    tls: TlsFiles | None = None,
) -> tuple[grpc.aio.Server, int, ExplainedHealth]:
    """A server with the given (ServiceDescriptor, method handlers from ``guarded``) pairs,
    health and reflection. Returns the server, the bound port and the health servicer."""
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    health_servicer = ExplainedHealth()  # the standard protocol, with reasons (health.py)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [reflection.SERVICE_NAME, health.SERVICE_NAME]
    for descriptor, handlers in registrations:
        # Both, as the generated code does: grpcio looks registered methods up first (its fast
        # path) and keeps the generic handler for older call paths.
        server.add_generic_rpc_handlers(
            (grpc.method_handlers_generic_handler(descriptor.full_name, handlers),)
        )
        server.add_registered_method_handlers(descriptor.full_name, handlers)
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

"""OpenTelemetry set-up, chosen by the standard OTEL_ environment variables.

``OTEL_TRACES_EXPORTER`` = ``otlp`` (endpoint from ``OTEL_EXPORTER_OTLP_ENDPOINT``), ``console``
(one JSON span per line on standard output), or unset/``none``: then no SDK is installed and
tracing costs nothing, but a valid incoming ``traceparent`` is still passed on unchanged.

Costs nothing means no span at all (`span`): OpenTelemetry's no-op tracer still extracts the
incoming context, makes a non-recording span and attaches and detaches it, about 6% of a
consumer's time per event in the bench's profile.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext

from opentelemetry import propagate, trace

log = logging.getLogger(__name__)

_configured = False


def configure_tracing(service_name: str) -> None:
    global _configured
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if _configured or exporter_name in ("", "none"):
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = Resource.create(
        {"service.name": os.environ.get("OTEL_SERVICE_NAME", f"ketenzicht-{service_name}")}
    )
    provider = TracerProvider(resource=resource)
    if exporter_name == "console":
        provider.add_span_processor(
            SimpleSpanProcessor(
                ConsoleSpanExporter(
                    out=sys.stdout,
                    formatter=lambda span: span.to_json(indent=None) + "\n",
                )
            )
        )
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        log.warning("unknown OTEL_TRACES_EXPORTER %r; tracing stays off", exporter_name)
        return
    trace.set_tracer_provider(provider)
    _configured = True


_NO_SPAN: AbstractContextManager[trace.Span] = nullcontext(trace.INVALID_SPAN)


def recording(tracer: trace.Tracer) -> bool:
    """Whether spans of ``tracer`` go anywhere: not the no-op tracer, nor a proxy for the
    global provider while none is installed (`configure_tracing` installs one, or a test may)."""
    if isinstance(tracer, trace.NoOpTracer):
        return False
    if isinstance(tracer, trace.ProxyTracer):
        provider = trace.get_tracer_provider()
        return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)
    return True


def span(
    tracer: trace.Tracer,
    name: str,
    carrier: Mapping[str, str],
    kind: trace.SpanKind,
    attributes: Mapping[str, str] | None = None,
) -> AbstractContextManager[trace.Span]:
    """``tracer.start_as_current_span`` as a child of the context in ``carrier`` (a checked
    traceparent); when nothing records (`recording`), the invalid span, and the current context
    is left alone: `trace_headers` then passes the incoming traceparent on, as before."""
    if not recording(tracer):
        return _NO_SPAN
    return tracer.start_as_current_span(
        name, context=propagate.extract(carrier), kind=kind, attributes=attributes
    )


_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_ZERO_TRACE_ID = "0" * 32
_ZERO_SPAN_ID = "0" * 16


def valid_traceparent(value: object) -> str:
    """``value`` when it is a W3C Trace Context ``traceparent`` of version 00 with non-zero
    trace and span ids, else "".

    Stricter than OpenTelemetry's own parser on purpose: that one accepts future versions with
    trailing fields, and whatever it accepts would be stored in events and put on the bus, where
    a caller could hide free text in it.
    """
    if not isinstance(value, str):
        return ""
    match = _TRACEPARENT.fullmatch(value)
    if match is None or match[1] == _ZERO_TRACE_ID or match[2] == _ZERO_SPAN_ID:
        return ""
    return value


def incoming_trace(metadata: Iterable[tuple[str, object]]) -> dict[str, str]:
    """The caller's trace context, as a carrier for ``propagate.extract``: its traceparent if
    it sent exactly one valid one, else nothing (the call starts a fresh trace).

    ``tracestate`` and ``baggage`` are dropped: they are vendor free text that ketenzicht has
    no use for, and nothing a caller sends may reach the store unchecked.
    """
    values = [value for key, value in metadata if key.lower() == "traceparent"]
    if len(values) != 1:  # W3C: more than one traceparent makes the context invalid
        return {}
    traceparent = valid_traceparent(values[0])
    return {"traceparent": traceparent} if traceparent else {}


def trace_headers(fallback: Mapping[str, str]) -> dict[str, str]:
    """The ``traceparent`` of the current span, or ``fallback``'s (already checked by
    ``incoming_trace``) when tracing is off. Only a traceparent that passes
    ``valid_traceparent`` is ever returned."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    traceparent = valid_traceparent(carrier.get("traceparent", "")) or valid_traceparent(
        fallback.get("traceparent", "")
    )
    return {"traceparent": traceparent} if traceparent else {}

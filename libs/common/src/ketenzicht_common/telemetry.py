"""OpenTelemetry set-up, chosen by the standard OTEL_ environment variables.

``OTEL_TRACES_EXPORTER`` = ``otlp`` (endpoint from ``OTEL_EXPORTER_OTLP_ENDPOINT``), ``console``
(one JSON span per line on standard output), or unset/``none``: then no SDK is installed and
tracing costs nothing, but incoming trace context is still passed on unchanged.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping

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

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME",
                                                               f"ketenzicht-{service_name}")})
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


def trace_headers(fallback: Mapping[str, str]) -> dict[str, str]:
    """W3C trace context of the current span, or the incoming one when tracing is off."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    if "traceparent" not in carrier:
        for key in ("traceparent", "tracestate"):
            if key in fallback:
                carrier[key] = fallback[key]
    return carrier

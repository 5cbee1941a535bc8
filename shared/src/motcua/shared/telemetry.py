"""OpenTelemetry tracing: one provider per service, W3C trace context over HTTP
and Kafka headers, OTLP/HTTP export when an endpoint is configured."""

from __future__ import annotations

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from motcua.shared.settings import TelemetrySettings


def create_tracer_provider(service: str, settings: TelemetrySettings) -> TracerProvider:
    """Spans are always made (their ids appear in logs, events and timelines);
    they are exported only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"motcua-{service}", "service.namespace": "motcua"}
        )
    )
    if settings.exporter_otlp_endpoint:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        endpoint = settings.exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint))
        )
    return provider


def trace_id_from_traceparent(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a W3C ``traceparent`` header."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    return parts[1]

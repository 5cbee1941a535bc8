"""OpenTelemetry tracing: one provider per service, W3C trace context over HTTP
and Kafka headers, OTLP/HTTP export when an endpoint is configured."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.util._decorator import _agnosticcontextmanager

from motcua.shared.settings import TelemetrySettings


class ContextTracer(trace_api.Tracer):
    """Spans that carry the trace context and record nothing: what a process
    that exports no spans needs (their ids still go into logs, the
    ``traceparent`` of the events it writes and the timelines), at a fraction
    of the SDK's cost (its spans build and keep attributes nobody reads; 3-5 %
    of a consumer's samples went to making them).

    A span continues its parent's trace with the parent's flags and state, as
    the SDK's default sampler (parent-based, always on) does; a span without a
    parent starts a sampled trace."""

    _ids = RandomIdGenerator()

    def start_span(
        self,
        name: str,  # noqa: ARG002  (recorded by nobody)
        context: Context | None = None,
        *_args: Any,
        **_kwargs: Any,
    ) -> trace_api.Span:
        parent = trace_api.get_current_span(context).get_span_context()
        if parent.is_valid:
            trace_id, flags, state = (
                parent.trace_id,
                parent.trace_flags,
                parent.trace_state,
            )
        else:
            trace_id = self._ids.generate_trace_id()
            flags = trace_api.TraceFlags(trace_api.TraceFlags.SAMPLED)
            state = None
        return trace_api.NonRecordingSpan(
            trace_api.SpanContext(
                trace_id,
                self._ids.generate_span_id(),
                is_remote=False,
                trace_flags=flags,
                trace_state=state,
            )
        )

    @_agnosticcontextmanager
    def start_as_current_span(
        self,
        name: str,
        context: Context | None = None,
        *_args: Any,
        **_kwargs: Any,
    ) -> Iterator[trace_api.Span]:
        span = self.start_span(name, context)
        with trace_api.use_span(span, end_on_exit=False) as current:
            yield current


class ContextTracerProvider(trace_api.TracerProvider):
    """The provider of :class:`ContextTracer` (no exporter configured)."""

    _tracer = ContextTracer()

    def get_tracer(self, *_args: Any, **_kwargs: Any) -> trace_api.Tracer:
        return self._tracer

    def shutdown(self) -> None:
        return None


_PROPAGATED = (b"traceparent", b"tracestate", b"baggage")


class TraceContextMiddleware:
    """The server span of an HTTP request when no span is recorded (plain
    ASGI): the caller's trace context (W3C ``traceparent``, ``tracestate``,
    ``baggage``) is continued by a :class:`ContextTracer` span that is current
    while the app handles the request, so its logs and the events it writes
    carry the trace. OpenTelemetry's ASGI middleware did the same and then
    built the request's attributes, names and duration for a span nobody
    records (some 3 % of intake's samples). Paths matching ``excluded``
    (searched, as its ``excluded_urls``) open no span."""

    def __init__(
        self, app: Any, *, tracer: trace_api.Tracer, excluded: Iterable[str] = ()
    ) -> None:
        self.app = app
        self._tracer = tracer
        patterns = [p for p in excluded if p]
        self._excluded = re.compile("|".join(patterns)) if patterns else None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or (
            self._excluded is not None and self._excluded.search(scope["path"])
        ):
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers") or ()
            if name in _PROPAGATED
        }
        parent = propagate.extract(carrier) if carrier else None
        span = self._tracer.start_span("http", context=parent)
        token = context_api.attach(trace_api.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send)
        finally:
            context_api.detach(token)


def create_tracer_provider(
    service: str, settings: TelemetrySettings
) -> TracerProvider | ContextTracerProvider:
    """Spans are always made (their ids appear in logs, events and timelines);
    they are recorded and exported only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is
    set (otherwise :class:`ContextTracerProvider`)."""
    if not settings.exporter_otlp_endpoint:
        return ContextTracerProvider()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )

    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": f"motcua-{service}", "service.namespace": "motcua"}
        )
    )
    endpoint = settings.exporter_otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return provider


def trace_id_from_traceparent(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a W3C ``traceparent`` header."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    return parts[1]

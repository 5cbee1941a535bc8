"""Without an exporter, spans carry the trace context and record nothing."""

from __future__ import annotations

from opentelemetry import propagate, trace

from motcua.shared.settings import TelemetrySettings
from motcua.shared.telemetry import ContextTracerProvider, create_tracer_provider


def _traceparent() -> str:
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers["traceparent"]


def test_without_an_exporter_spans_continue_the_callers_trace() -> None:
    provider = create_tracer_provider("test", TelemetrySettings())
    assert isinstance(provider, ContextTracerProvider)
    tracer = provider.get_tracer("test")
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with tracer.start_as_current_span(
        "consume", context=propagate.extract({"traceparent": caller})
    ) as span:
        assert not span.is_recording()
        version, trace_id, span_id, flags = _traceparent().split("-")
        assert (version, trace_id, flags) == ("00", caller.split("-")[1], "01")
        assert span_id != caller.split("-")[2]  # a span of its own
        with tracer.start_as_current_span("inner"):
            assert _traceparent().split("-")[1] == trace_id
    unsampled = caller[:-2] + "00"
    with tracer.start_as_current_span(
        "consume", context=propagate.extract({"traceparent": unsampled})
    ):
        assert _traceparent().endswith("-00")  # the caller's decision stands
    with tracer.start_as_current_span("root"):
        root = _traceparent().split("-")
        assert root[3] == "01"
        assert root[1] != trace_id
        assert trace.get_current_span().get_span_context().is_valid
    assert not trace.get_current_span().get_span_context().is_valid
    provider.shutdown()

"""End-to-end checks: real SDK exporters -> loopback receivers -> decoded data."""

from __future__ import annotations

import gzip
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import LogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from receivers import (
    AZURE_TEST_ENV,
    AZURE_TEST_IKEY,
    AzureIngestionReceiver,
    OtlpReceiver,
    azure_connection_string,
    azure_log_exporter,
    azure_metric_exporter,
    azure_trace_exporter,
    otlp_log_exporter,
    otlp_metric_exporter,
    otlp_trace_exporter,
)

SERVICE = "receiver-test"
CANARY = "CANARY-7f3a-never-leak"
CHAT_ATTRIBUTES: dict[str, Any] = {
    "gen_ai.system": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.thread.id": "thread_abc",
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.response.finish_reasons": ("stop",),
    "server.address": "api.openai.com",
    "server.port": 443,
    "error.type": "RateLimitError",
    "http.response.status_code": 429,
}
EVENT_ATTRIBUTES: dict[str, Any] = {"gen_ai.system": "openai", "run.step": 1}
# What azure-monitor-opentelemetry-exporter does to CHAT_ATTRIBUTES in customDimensions.
AZURE_DROPPED = {"server.address", "server.port", "error.type", "http.response.status_code"}
AZURE_KEPT = {
    "gen_ai.system": "openai",
    "gen_ai.operation.name": "chat",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.thread.id": "thread_abc",
    "gen_ai.usage.input_tokens": "12",  # every value becomes str(value)
    "gen_ai.response.finish_reasons": "('stop',)",  # ... a sequence its tuple repr
}


# ------------------------------------------------------------------ fixtures


@pytest.fixture(autouse=True)
def no_thread_leak() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2
    while (leaked := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not leaked, f"threads left running: {leaked}"


@pytest.fixture
def otlp() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureIngestionReceiver]:
    for key, value in AZURE_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    with AzureIngestionReceiver() as receiver:
        yield receiver


# ------------------------------------------------------------------- helpers


def new_tracer_provider() -> TracerProvider:
    return TracerProvider(resource=Resource.create({"service.name": SERVICE}))


@contextmanager
def tracer_for(provider: TracerProvider, exporter: SpanExporter, batch: bool = False) -> Iterator[Tracer]:
    processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    try:
        yield provider.get_tracer("tests.receivers")
    finally:
        provider.shutdown()


@contextmanager
def meter_provider_for(exporter: MetricExporter) -> Iterator[MeterProvider]:
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": SERVICE}))
    try:
        yield provider
    finally:
        provider.shutdown()


@contextmanager
def logger_provider_for(exporter: LogRecordExporter) -> Iterator[LoggerProvider]:
    provider = LoggerProvider(resource=Resource.create({"service.name": SERVICE}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    try:
        yield provider
    finally:
        provider.shutdown()


def emit_chat(tracer: Tracer, exception: bool = False) -> tuple[str, str, str]:
    """INTERNAL parent + CLIENT chat span; returns (trace_id, parent_id, span_id) hex."""
    with tracer.start_as_current_span("invoke_agent") as parent:
        span = tracer.start_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes=CHAT_ATTRIBUTES)
        span.add_event("gen_ai.content.redacted", EVENT_ATTRIBUTES)
        if exception:
            span.record_exception(ValueError("boom"))
        span.set_status(Status(StatusCode.ERROR, "rate limited"))
        span.end()
    ctx, parent_ctx = span.get_span_context(), parent.get_span_context()
    return f"{ctx.trace_id:032x}", f"{parent_ctx.span_id:016x}", f"{ctx.span_id:016x}"


def record_metrics(provider: MeterProvider, tracer: Tracer | None = None) -> None:
    meter = provider.get_meter("tests.receivers")
    duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
    runs = meter.create_counter("assistant.runs", unit="{run}")
    attrs = {"gen_ai.system": "openai", "gen_ai.operation.name": "chat"}
    if tracer is None:
        _record(duration.record, runs.add, attrs)
        return
    with tracer.start_as_current_span("metrics-parent"):
        _record(duration.record, runs.add, attrs)


def _record(record: Any, add: Any, attrs: dict[str, str]) -> None:
    record(0.5, attrs)
    record(1.5, attrs)
    add(2, attrs)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


# ---------------------------------------------------------------------- OTLP


def test_otlp_span_arrives_decoded(otlp: OtlpReceiver) -> None:
    provider = new_tracer_provider()
    with tracer_for(provider, otlp_trace_exporter(otlp)) as tracer:
        trace_id, parent_id, span_id = emit_chat(tracer)

    chat = otlp.span("chat gpt-4o")
    assert (chat["trace_id"], chat["span_id"], chat["parent_span_id"]) == (trace_id, span_id, parent_id)
    assert chat["kind"] == 3 and chat["kind_name"] == "CLIENT"  # protobuf enum, not SpanKind.value
    assert chat["attributes"] == {**CHAT_ATTRIBUTES, "gen_ai.response.finish_reasons": ["stop"]}
    assert chat["events"] == [{"name": "gen_ai.content.redacted", "attributes": EVENT_ATTRIBUTES}]
    assert (chat["status_code"], chat["status_message"]) == (StatusCode.ERROR.value, "rate limited")
    assert chat["resource"]["service.name"] == SERVICE
    assert chat["scope"] == "tests.receivers"
    assert otlp.span("invoke_agent")["parent_span_id"] is None


def test_otlp_gzip_batch_and_wait_for(otlp: OtlpReceiver) -> None:
    provider = new_tracer_provider()
    exporter = otlp_trace_exporter(otlp, compression=Compression.Gzip)
    with tracer_for(provider, exporter, batch=True) as tracer:
        emit_chat(tracer)
        assert provider.force_flush(5_000)

    spans = otlp.wait_for(lambda: otlp.spans)
    assert {s["name"] for s in spans} == {"invoke_agent", "chat gpt-4o"}
    (request,) = otlp.received
    assert request.headers["Content-Encoding"] == "gzip"
    assert request.wire_body != request.body == otlp.raw_bodies[0]
    with pytest.raises(AssertionError, match="not met within"):
        otlp.wait_for(lambda: otlp.logs, timeout=0.05)


def test_otlp_metrics_with_exemplars(otlp: OtlpReceiver) -> None:
    provider = new_tracer_provider()
    with (
        tracer_for(provider, otlp_trace_exporter(otlp)) as tracer,
        meter_provider_for(otlp_metric_exporter(otlp)) as meters,
    ):
        record_metrics(meters, tracer)
        assert meters.force_flush(5_000)
        assert_otlp_metrics(otlp)
    # MeterProvider.shutdown() exported the cumulative streams again, now without exemplars.
    assert [m["points"][0]["exemplars"] for m in otlp.metrics[-2:]] == [[], []]


def assert_otlp_metrics(otlp: OtlpReceiver) -> None:
    parent = otlp.span("metrics-parent")
    histogram = otlp.metric("gen_ai.client.operation.duration")
    assert (histogram["kind"], histogram["unit"], histogram["temporality"]) == (
        "histogram",
        "s",
        "cumulative",
    )
    (point,) = histogram["points"]
    assert (point["count"], point["sum"], point["min"], point["max"]) == (2, 2.0, 0.5, 1.5)
    assert sum(point["bucket_counts"]) == 2 and point["explicit_bounds"]
    assert point["attributes"] == {"gen_ai.system": "openai", "gen_ai.operation.name": "chat"}
    assert {(e["trace_id"], e["span_id"]) for e in point["exemplars"]} == {
        (parent["trace_id"], parent["span_id"])
    }
    counter = otlp.metric("assistant.runs")
    assert (counter["kind"], counter["is_monotonic"], counter["points"][0]["value"]) == ("sum", True, 2)


def test_otlp_logs_carry_trace_context(otlp: OtlpReceiver) -> None:
    provider = new_tracer_provider()
    with (
        tracer_for(provider, otlp_trace_exporter(otlp)) as tracer,
        logger_provider_for(otlp_log_exporter(otlp)) as logs,
        tracer.start_as_current_span("run") as span,
    ):
        logs.get_logger("tests.receivers").emit(
            body="run finished",
            severity_text="INFO",
            severity_number=SeverityNumber.INFO,
            attributes={"gen_ai.thread.id": "thread_abc", "tokens": [1, 2]},
        )

    (log,) = otlp.logs
    ctx = span.get_span_context()
    assert (log["trace_id"], log["span_id"]) == (f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}")
    assert (log["body"], log["severity_text"]) == ("run finished", "INFO")
    assert log["attributes"] == {"gen_ai.thread.id": "thread_abc", "tokens": [1, 2]}


def test_otlp_canary_search(otlp: OtlpReceiver) -> None:
    provider = new_tracer_provider()
    with tracer_for(provider, otlp_trace_exporter(otlp)) as tracer:
        tracer.start_span("leaky", attributes={"note": CANARY}).end()
        tracer.start_span("clean").end()

    assert otlp.body_contains(CANARY)
    assert sum(CANARY.encode() in body for body in otlp.raw_bodies) == 1
    assert not otlp.body_contains("never-sent-anywhere")


def test_otlp_fail_with_and_hang(otlp: OtlpReceiver) -> None:
    otlp.fail_with = 500  # not retryable for the OTLP exporter: one attempt
    assert otlp_trace_exporter(otlp).export(finished_spans()) is SpanExportResult.FAILURE
    assert [r.status for r in otlp.received] == [500] and otlp.spans == []

    otlp.fail_with, otlp.hang = None, True
    started = time.monotonic()
    assert otlp_trace_exporter(otlp, timeout=0.3).export(finished_spans()) is SpanExportResult.FAILURE
    assert time.monotonic() - started < 2
    assert len(otlp.received) >= 2 and otlp.spans == []

    otlp.hang = False
    assert otlp_trace_exporter(otlp).export(finished_spans()) is SpanExportResult.SUCCESS
    assert [s["name"] for s in otlp.spans] == ["outage"]


def test_stop_releases_hung_requests() -> None:
    with OtlpReceiver() as receiver:
        receiver.hang = True
        assert otlp_trace_exporter(receiver, timeout=0.1).export(finished_spans()) is SpanExportResult.FAILURE
        started = time.monotonic()
    assert time.monotonic() - started < 1  # handler thread still hung at stop(): released and joined
    assert [r.status for r in receiver.received] == [None]


def finished_spans() -> list[Any]:
    provider = new_tracer_provider()
    spans: list[Any] = []
    provider.add_span_processor(SimpleSpanProcessor(_Collector(spans)))
    provider.get_tracer("tests.receivers").start_span("outage").end()
    provider.shutdown()
    return spans


class _Collector(SpanExporter):
    def __init__(self, sink: list[Any]) -> None:
        self.sink = sink

    def export(self, spans: Any) -> SpanExportResult:
        self.sink.extend(spans)
        return SpanExportResult.SUCCESS


def test_otlp_rejects_unknown_paths_and_bad_bodies(otlp: OtlpReceiver) -> None:
    assert post(f"{otlp.endpoint}/v1/nope", b"", {})[0] == 404
    assert post(f"{otlp.endpoint}/v1/traces", b"\xff\xff", {})[0] == 400
    assert post(f"{otlp.endpoint}/v1/traces", b"not gzip", {"Content-Encoding": "gzip"})[0] == 400
    assert [r.status for r in otlp.received] == [404, 400, 400]
    assert otlp.spans == []


# --------------------------------------------------------------------- Azure


def test_azure_dependency_and_attribute_filtering(azure: AzureIngestionReceiver) -> None:
    provider = new_tracer_provider()
    with tracer_for(provider, azure_trace_exporter(azure, tracer_provider=provider)) as tracer:
        trace_id, parent_id, span_id = emit_chat(tracer)

    requests = azure.received  # SimpleSpanProcessor: one POST per span
    assert [r.path for r in requests] == ["/v2.1/track"] * 2
    assert all(r.wire_body == r.body for r in requests)  # plain JSON, never gzip
    assert {r.headers["Content-Type"] for r in requests} == {"application/json"}
    chat, parent = sorted(azure.dependencies(), key=lambda row: row["name"])
    assert (chat["name"], parent["name"]) == ("chat gpt-4o", "invoke_agent")
    assert (chat["operation_Id"], chat["id"], chat["operation_ParentId"]) == (trace_id, span_id, parent_id)
    assert chat["type"] == "GenAI | openai" and parent["type"] == "InProc"
    # target comes from peer.service / net.peer.*, never server.address: falls back to gen_ai.system
    assert chat["target"] == "openai"
    assert (chat["resultCode"], chat["success"]) == ("0", False)  # no http.request.method: not HTTP
    assert chat["customDimensions"] == AZURE_KEPT
    assert not AZURE_DROPPED & chat["customDimensions"].keys()
    assert chat["cloud_RoleName"] == SERVICE and isinstance(chat["duration"], float)
    assert {e["iKey"] for e in azure.envelopes} == {AZURE_TEST_IKEY}


def test_azure_span_events_become_traces_and_exceptions(azure: AzureIngestionReceiver) -> None:
    provider = new_tracer_provider()
    with tracer_for(provider, azure_trace_exporter(azure, tracer_provider=provider)) as tracer:
        trace_id, _, span_id = emit_chat(tracer, exception=True)

    (event,) = azure.traces()
    assert event["message"] == "gen_ai.content.redacted"
    assert (event["operation_Id"], event["operation_ParentId"]) == (trace_id, span_id)
    assert event["customDimensions"] == {"gen_ai.system": "openai", "run.step": "1"}
    (exception,) = azure.exceptions()
    assert (exception["type"], exception["outerMessage"]) == ("ValueError", "boom")
    assert exception["operation_ParentId"] == span_id and exception["customDimensions"] == {}
    names = [e["name"] for e in azure.envelopes]
    assert "Microsoft.ApplicationInsights.Message" in names
    assert "Microsoft.ApplicationInsights.Exception" in names


def test_azure_trace_batch_carries_resource_metric(azure: AzureIngestionReceiver) -> None:
    provider = new_tracer_provider()
    with tracer_for(provider, azure_trace_exporter(azure, tracer_provider=provider)) as tracer:
        tracer.start_span("one").end()

    assert azure.custom_metrics() == []
    (resource,) = azure.custom_metrics(include_resource=True)
    assert resource["name"] == "_OTELRESOURCE_"
    assert resource["customDimensions"]["service.name"] == SERVICE


def test_azure_metrics_become_custom_metrics(azure: AzureIngestionReceiver) -> None:
    with meter_provider_for(azure_metric_exporter(azure)) as meters:
        record_metrics(meters)
        assert meters.force_flush(5_000)

    rows = {row["name"]: row for row in azure.custom_metrics()}
    assert set(rows) == {"gen_ai.client.operation.duration", "assistant.runs"}
    histogram, counter = rows["gen_ai.client.operation.duration"], rows["assistant.runs"]
    assert (histogram["value"], histogram["valueCount"]) == (2.0, 2)
    assert (histogram["valueMin"], histogram["valueMax"]) == (0.5, 1.5)
    assert (counter["value"], counter["valueCount"]) == (2, 1)
    assert counter["customDimensions"] == {"gen_ai.system": "openai", "gen_ai.operation.name": "chat"}
    assert {e["data"]["baseType"] for e in azure.envelopes} == {"MetricData"}


def test_azure_logs_become_traces(azure: AzureIngestionReceiver) -> None:
    with logger_provider_for(azure_log_exporter(azure)) as logs:
        logs.get_logger("tests.receivers").emit(
            body="run finished", severity_number=SeverityNumber.WARN, attributes={"gen_ai.thread.id": "t"}
        )

    (row,) = azure.traces()
    assert (row["message"], row["severityLevel"]) == ("run finished", 2)  # 2 == Warning
    assert row["customDimensions"]["gen_ai.thread.id"] == "t"


def test_azure_fail_with_and_hang(azure: AzureIngestionReceiver) -> None:
    azure.fail_with = 500
    assert azure_trace_exporter(azure).export(finished_spans()) is SpanExportResult.FAILURE
    assert [r.status for r in azure.received] == [500]  # retry_total=0: a single attempt

    azure.fail_with, azure.hang = None, True
    started = time.monotonic()
    exporter = azure_trace_exporter(azure, read_timeout=0.3)
    assert exporter.export(finished_spans()) is SpanExportResult.FAILURE
    assert time.monotonic() - started < 2
    assert len(azure.received) == 2 and azure.envelopes == []

    azure.hang = False
    assert azure_trace_exporter(azure).export(finished_spans()) is SpanExportResult.SUCCESS
    assert [row["name"] for row in azure.dependencies()] == ["outage"]


def test_azure_receiver_accepts_gzip_ndjson(azure: AzureIngestionReceiver) -> None:
    envelope = {"name": "x", "data": {"baseType": "MessageData", "baseData": {"message": CANARY}}}
    lines = "\n".join(json.dumps(envelope) for _ in range(2)).encode()
    headers = {"Content-Type": "application/x-json-stream", "Content-Encoding": "gzip"}

    status, body = post(f"{azure.endpoint}/v2.1/track", gzip.compress(lines), headers)

    assert status == 200
    assert json.loads(body) == {"itemsReceived": 2, "itemsAccepted": 2, "errors": []}
    assert [row["message"] for row in azure.traces()] == [CANARY, CANARY]
    assert azure.body_contains(CANARY) and CANARY.encode() not in azure.received[0].wire_body


def test_azure_helpers_require_quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED", raising=False)
    with AzureIngestionReceiver() as receiver:
        assert azure_connection_string(receiver) == (
            f"InstrumentationKey={AZURE_TEST_IKEY};IngestionEndpoint=http://127.0.0.1:{receiver.port}/"
        )
        with pytest.raises(RuntimeError, match="CONTROLPLANE"):
            azure_trace_exporter(receiver)

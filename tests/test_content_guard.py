"""The content guard: no conversation content leaves through OpenTelemetry, whoever emitted it.

Side by side against the simulator: OpenInference and OpenLLMetry with their content capture
on (their default), GenAI events emitted as the contrib instrumentations emit them, an app
span that records an openai exception, and assistant_telemetry itself; a canary in every
content field. Spans and log records go through the real OTLP exporter and the real Azure
Monitor exporter to loopback receivers. With the guard no canary arrives on any channel;
without it (the control) every channel carries them, so the check can fail.

In-process the test builds its own providers and calls ``content_guard()``. Azure's
AIAgentsInstrumentor traces through azure-core's global tracer provider only, so it runs in
the app-process tests at the end (tests/apps/guarded_conversation.py), which also check the
one call, ``instrument()`` with ``ASSISTANT_TELEMETRY_CONTENT_GUARD=1``, against both exporters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
import pytest
from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, Status, StatusCode

import assistant_telemetry
from apps.genai_peers import CANARIES, ORDINARY, assistants_flow, chat_request, peers, semconv_events
from assistant_telemetry import guard
from assistant_telemetry import semconv as sc
from assistant_telemetry.content_guard import (
    ContentGuard,
    ContentGuardError,
    GuardedLogRecordExporter,
    GuardedSpanExporter,
    azure_monitor_options_guarded,
    content_guard_enabled,
)

from receivers import (
    AZURE_TEST_ENV,
    AzureIngestionReceiver,
    OtlpReceiver,
    azure_connection_string,
    azure_log_exporter,
    azure_trace_exporter,
    otlp_log_exporter,
    otlp_trace_exporter,
)
from scenarios import CANARY_CONTENT, CANARY_STRINGS, every_call, run

pytestmark = pytest.mark.filterwarnings(
    "ignore:Support for class-based `config`:DeprecationWarning"
)  # OpenLLMetry

EVERY_CANARY = (*CANARIES.values(), *CANARY_STRINGS)
OPENINFERENCE = "openinference.instrumentation.openai"
OPENLLMETRY = "opentelemetry.instrumentation.openai.v1"
AZURE_CORE = "azure.core.tracing.ext.opentelemetry_span"  # AIAgentsInstrumentor traces through azure-core
APP = Path(__file__).parent / "apps" / "guarded_conversation.py"


def leaked(bodies: Sequence[bytes]) -> set[str]:
    """The canaries found in what was sent (raw UTF-8 or JSON-escaped)."""
    found = set()
    for canary in EVERY_CANARY:
        forms = (canary.encode(), json.dumps(canary)[1:-1].encode())
        if any(form in body for body in bodies for form in forms):
            found.add(canary)
    return found


def names(*keys: str) -> set[str]:
    return {CANARIES[key] for key in keys}


# --- the side-by-side run ---------------------------------------------------------------------
@dataclass
class Exported:
    """What reached the receivers, by channel, plus the guard's own record."""

    channels: dict[str, list[bytes]]
    otlp_spans: list[dict[str, Any]]
    otlp_logs: list[dict[str, Any]]
    azure_spans: list[dict[str, Any]]
    azure_logs: list[dict[str, Any]]
    removals: list[Any] = field(default_factory=list)


def side_by_side(client: Any, sim: Any, guarded: bool) -> Exported:
    with (
        OtlpReceiver() as otlp,
        AzureIngestionReceiver() as azure_spans,
        AzureIngestionReceiver() as azure_logs,
    ):
        tracer_provider = TracerProvider(resource=Resource.create({"service.name": "guarded-app"}))
        tracer_provider.add_span_processor(BatchSpanProcessor(otlp_trace_exporter(otlp)))
        tracer_provider.add_span_processor(
            BatchSpanProcessor(azure_trace_exporter(azure_spans, tracer_provider=tracer_provider))
        )
        logger_provider = LoggerProvider()
        logger_provider.add_log_record_processor(SimpleLogRecordProcessor(otlp_log_exporter(otlp)))
        logger_provider.add_log_record_processor(BatchLogRecordProcessor(azure_log_exporter(azure_logs)))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        if guarded:
            assistant_telemetry.content_guard(tracer_provider, logger_provider, meter_provider=meter_provider)
        assistant_telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            converse(client, sim, tracer_provider, logger_provider, meter_provider)
        finally:
            assistant_telemetry.uninstrument()
            tracer_provider.shutdown()  # flushes the batch processors
            logger_provider.shutdown()
        data = reader.get_metrics_data()
        removals = [
            point
            for rm in (data.resource_metrics if data else [])
            for sm in rm.scope_metrics
            for metric in sm.metrics
            if metric.name == sc.METRIC_CONTENT_GUARD_REMOVALS
            for point in metric.data.data_points
        ]
        return Exported(
            channels={
                "otlp spans": [r.body for r in otlp.received if r.path == "/v1/traces"],
                "otlp logs": [r.body for r in otlp.received if r.path == "/v1/logs"],
                "azure spans": azure_spans.raw_bodies,
                "azure logs": azure_logs.raw_bodies,
            },
            otlp_spans=otlp.spans,
            otlp_logs=otlp.logs,
            azure_spans=azure_spans.envelopes,
            azure_logs=azure_logs.envelopes,
            removals=removals,
        )


def converse(client: Any, sim: Any, tracer_provider: Any, logger_provider: Any, meter_provider: Any) -> None:
    tracer = tracer_provider.get_tracer("shop.app")
    with peers(tracer_provider, logger_provider, meter_provider):
        with tracer.start_as_current_span("handle_request") as span:
            span.set_attribute("app.order", ORDINARY)
            client.chat.completions.create(**chat_request())
        sim.add_fault(kind="echo_error", method="POST", path="/chat/completions")
        with pytest.raises(openai.BadRequestError, match=CANARIES["echo"]):  # noqa: SIM117
            with tracer.start_as_current_span("handle_chat"):  # the app's span records the exception
                client.chat.completions.create(
                    model="gpt-4o", messages=[{"role": "user", "content": CANARIES["echo"]}]
                )
        assistants_flow(client, CANARY_CONTENT)  # OpenLLMetry's Assistants wrappers, and ours
    run(every_call(client, sim, CANARY_CONTENT))  # every call we wrap (OpenLLMetry breaks on its streams)
    with peers(tracer_provider, logger_provider, meter_provider, events=True):
        client.chat.completions.create(**chat_request())  # OpenLLMetry's GenAI events: logs
    semconv_events(logger_provider)


@pytest.fixture
def azure_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in AZURE_TEST_ENV.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="module")
def unguarded(sim: Any) -> Exported:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in AZURE_TEST_ENV.items():
            mp.setenv(key, value)
        return side_by_side(
            openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0), sim, False
        )


@pytest.fixture(scope="module")
def guarded(sim: Any) -> Exported:
    guard.STRICT, guard.recorded[:] = True, []
    try:
        with pytest.MonkeyPatch.context() as mp:
            for key, value in AZURE_TEST_ENV.items():
                mp.setenv(key, value)
            client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
            exported = side_by_side(client, sim, True)
    finally:
        guard.STRICT = False
        errors, guard.recorded[:] = list(guard.recorded), []
    assert not errors, f"internal errors in the guard: {errors!r}"
    return exported


CHANNELS = ("otlp spans", "otlp logs", "azure spans", "azure logs")
# What the peers put where when nothing guards them (the control shows the test can fail).
SPAN_CANARIES = names("system", "user", "tool_arguments", "tool_result", "tool_definition", "echo", "output")
LOG_CANARIES = names("system", "user", "tool_arguments", "tool_result", "output", "event")
# Azure's AIAgentsInstrumentor: span events (runs only in the app process: it traces globally).
AGENT_CANARIES = names("agent_instructions", "agent_description", "agent_message", "agent_tool_output")


@pytest.mark.parametrize("channel", CHANNELS)
def test_without_the_guard_every_channel_leaks(unguarded: Exported, channel: str) -> None:
    expected = SPAN_CANARIES if channel.endswith("spans") else LOG_CANARIES
    found = leaked(unguarded.channels[channel])
    assert expected <= found, f"{channel}: expected leaks {expected - found} did not happen"


@pytest.mark.parametrize("channel", CHANNELS)
def test_with_the_guard_no_channel_leaks(guarded: Exported, channel: str) -> None:
    bodies = guarded.channels[channel]
    assert bodies, f"nothing reached {channel}"
    assert not leaked(bodies), f"content leaked through {channel}"
    assert any(ORDINARY.encode() in body for body in bodies), f"{channel} lost non-content telemetry"


def test_the_guarded_run_still_carries_every_library(guarded: Exported) -> None:
    scopes = {span["scope"] for span in guarded.otlp_spans}
    assert {OPENINFERENCE, OPENLLMETRY, "assistant_telemetry", "shop.app"} <= scopes
    ours = [s for s in guarded.otlp_spans if s["scope"] == "assistant_telemetry"]
    operations = {s["attributes"].get(sc.OPERATION_NAME) for s in ours}
    assert {"create_message", "submit_tool_outputs", sc.OP_INVOKE_AGENT} <= operations
    assert all(sc.CONTENT_GUARD_REMOVED not in s["attributes"] for s in ours)  # ours had nothing to remove
    events = {log["event_name"] for log in guarded.otlp_logs}
    assert {"gen_ai.user.message", "gen_ai.choice", "gen_ai.client.inference.operation.details"} <= events


def test_the_peers_leave_openai_as_they_found_it(guarded: Exported, unguarded: Exported) -> None:
    """Other tests in this session must not run through OpenInference or OpenLLMetry wrappers."""
    leftovers = []
    for module_name, module in list(sys.modules.items()):
        if not module_name.startswith("openai") or module is None:
            continue
        for owner in [
            v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module_name
        ]:
            for name, attribute in list(vars(owner).items()):
                wrapper = getattr(attribute, "_self_wrapper", None)
                if wrapper is not None and not getattr(wrapper, "__module__", "").startswith(
                    "assistant_telemetry"
                ):
                    leftovers.append(f"{module_name}.{owner.__qualname__}.{name}")
    assert not leftovers


def removed_keys(span: dict[str, Any]) -> set[str]:
    return {entry.rsplit(":", 1)[0] for entry in span["attributes"].get(sc.CONTENT_GUARD_REMOVED, [])}


def test_what_was_removed_is_named_with_its_size(guarded: Exported) -> None:
    spans = guarded.otlp_spans
    chats = [s for s in spans if s["scope"] == OPENLLMETRY and s["name"] == "openai.chat"]
    chat = next(s for s in chats if s["status_code"] == 0 and removed_keys(s))
    assert {"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.definitions"} <= removed_keys(
        chat
    )
    inference = next(s for s in spans if s["name"] == "ChatCompletion" and s["status_code"] != 2)
    assert {"input.value", "output.value", "llm.input_messages.1.message.content"} <= removed_keys(inference)
    assert "llm.output_messages.0.message.content" in removed_keys(inference)
    assert chat["attributes"]["gen_ai.request.model"] == "gpt-4o"  # the rest is kept
    for entry in chat["attributes"][sc.CONTENT_GUARD_REMOVED]:  # sizes, never values
        assert int(entry.rsplit(":", 1)[1]) > 0, entry
    failed = [s for s in spans if s["status_code"] == 2 and s["scope"] in (OPENINFERENCE, OPENLLMETRY)]
    assert failed and all("exception/exception.message" in removed_keys(s) for s in failed)
    assert all(s["status_message"] in ("", "BadRequestError") for s in failed)
    assert all(
        e["attributes"]["exception.type"] == "openai.BadRequestError" for s in failed for e in s["events"]
    )
    app = next(s for s in spans if s["name"] == "handle_chat")  # not a GenAI span: an openai exception
    assert {"exception/exception.message", "status.description"} <= removed_keys(app)
    assert app["status_message"] == "BadRequestError"
    request = next(s for s in spans if s["name"] == "handle_request")
    assert sc.CONTENT_GUARD_REMOVED not in request["attributes"]  # nothing to remove: untouched
    user = next(log for log in guarded.otlp_logs if log["event_name"] == "gen_ai.user.message")
    assert user["body"] is None and removed_keys(user) == {"body"}


def test_azure_monitor_rows_name_what_was_removed(guarded: Exported) -> None:
    removed = [
        e["data"]["baseData"]["properties"][sc.CONTENT_GUARD_REMOVED]
        for e in guarded.azure_spans
        if sc.CONTENT_GUARD_REMOVED in e["data"]["baseData"].get("properties", {})
    ]
    assert any("gen_ai.input.messages:" in value for value in removed)
    exceptions = [e for e in guarded.azure_spans if e["data"]["baseType"] == "ExceptionData"]
    assert exceptions and all(
        d["typeName"] == "openai.BadRequestError"
        for e in exceptions
        for d in e["data"]["baseData"]["exceptions"]
    )


def test_removals_are_counted_by_source(guarded: Exported) -> None:
    by_source = {
        (p.attributes[sc.CONTENT_GUARD_SOURCE], p.attributes[sc.CONTENT_GUARD_SIGNAL]): p.value
        for p in guarded.removals
    }
    assert by_source[(OPENINFERENCE, "span")] > 0
    assert by_source[(OPENLLMETRY, "span")] > 0
    assert by_source[(OPENLLMETRY, "log")] > 0
    assert by_source[("genai.events.example", "log")] == 3  # two attributes and one body
    assert ("assistant_telemetry", "span") not in by_source


# --- the one call: instrument() with the guard from the environment, in a real app process ----------
ROUTING_ENV = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "ASSISTANT_TELEMETRY_FILE",
)


def run_app(cwd: Path, guarded: bool, **env: str) -> dict[str, Any]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ROUTING_ENV and not k.startswith(("OTEL_", "ASSISTANT_TELEMETRY_"))
    }
    if guarded:
        clean["ASSISTANT_TELEMETRY_CONTENT_GUARD"] = "1"
    done = subprocess.run(
        [sys.executable, str(APP)], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "unguarded"])
def test_instrument_guards_the_otlp_pipeline(tmp_path: Path, guarded: bool) -> None:
    with OtlpReceiver() as receiver:
        setup = run_app(tmp_path, guarded, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint)
        spans = receiver.wait_for(lambda: receiver.spans if len(receiver.spans) >= 40 else None)
        logs = receiver.wait_for(lambda: receiver.logs if len(receiver.logs) >= 5 else None)
        traces = leaked([r.body for r in receiver.received if r.path == "/v1/traces"])
        logged = leaked([r.body for r in receiver.received if r.path == "/v1/logs"])
    assert setup["exporter"] == "otlp"
    assert {OPENINFERENCE, OPENLLMETRY, AZURE_CORE, "assistant_telemetry"} <= {s["scope"] for s in spans}
    assert {"create_agent weather", "submit_tool_outputs"} <= {
        s["name"] for s in spans if s["scope"] == AZURE_CORE
    }
    assert any(log["event_name"] == "gen_ai.choice" for log in logs)
    if guarded:
        assert len(setup["guarded"]) == 2  # our span exporter and the app's log exporter
        assert not traces and not logged
    else:
        assert setup["guarded"] is None
        assert traces >= SPAN_CANARIES | AGENT_CANARIES and logged >= LOG_CANARIES


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "unguarded"])
def test_instrument_guards_the_azure_monitor_pipeline(tmp_path: Path, guarded: bool) -> None:
    with AzureIngestionReceiver() as receiver:
        env = {**AZURE_TEST_ENV, "OTEL_TRACES_SAMPLER": "always_on"}
        setup = run_app(
            tmp_path, guarded, APPLICATIONINSIGHTS_CONNECTION_STRING=azure_connection_string(receiver), **env
        )
        rows = receiver.wait_for(
            lambda: receiver.dependencies() if len(receiver.dependencies()) >= 40 else None
        )
        found = leaked(receiver.raw_bodies)
        messages = [row["message"] for row in receiver.traces()]
    assert setup["exporter"] == "azure-monitor"
    assert "GenAI | openai" in {row["type"] for row in rows}  # ours
    # Azure's AIAgentsInstrumentor owns the agents calls (its span names the agent): its content is
    # there to leak, or to be removed.
    assert "create_agent weather" in {row["name"] for row in rows}
    if guarded:
        assert len(setup["guarded"]) == 2  # the distro's trace and log exporters
        assert not found
        assert any(ORDINARY in message for message in messages)
    else:
        assert found >= SPAN_CANARIES | LOG_CANARIES | AGENT_CANARIES


# --- the sanitizer, one rule at a time -----------------------------------------------------------
def finished(scope: str = "some.library", limits: Any = None, **span: Any) -> ReadableSpan:
    """One real finished span: ``attributes``, ``events`` [(name, attrs)], ``links``, ``status``."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=limits) if limits else TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    links = [trace.Link(CONTEXT, attrs) for attrs in span.get("links", [])]
    with provider.get_tracer(scope).start_as_current_span("op", links=links) as current:
        current.set_attributes(span.get("attributes", {}))
        for name, attrs in span.get("events", []):
            current.add_event(name, attrs)
        if "status" in span:
            current.set_status(Status(StatusCode.ERROR, span["status"]))
    return exporter.get_finished_spans()[0]


CONTEXT = SpanContext(trace_id=1, span_id=2, is_remote=True)
GENAI = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}
ISSUE_CARRIERS = (
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.system_instructions",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.tool.definitions",
    "gen_ai.prompt",
    "gen_ai.prompt.0.content",
    "gen_ai.completion.0.content",
    "gen_ai.event.content",
    "input.value",
    "output.value",
    "llm.input_messages.0.message.content",
    "llm.output_messages.0.message.contents.0.message_content.text",
)


def entries(span: Any) -> dict[str, int]:
    return {k: int(v) for k, v in (e.rsplit(":", 1) for e in span.attributes[sc.CONTENT_GUARD_REMOVED])}


def test_a_span_without_content_is_passed_on_as_the_same_object() -> None:
    span = finished(attributes={**GENAI, "gen_ai.usage.input_tokens": 3}, events=[("x", {"k": "v"})])
    assert ContentGuard().span(span) is span


@pytest.mark.parametrize("key", ISSUE_CARRIERS)
def test_each_known_carrier_is_removed_and_named_with_its_utf8_size(key: str) -> None:
    span = finished(attributes={"gen_ai.request.model": "gpt-4o", key: "Grüße"})
    clean = ContentGuard().span(span)
    assert key not in clean.attributes and clean.attributes["gen_ai.request.model"] == "gpt-4o"
    assert entries(clean) == {key: 7}  # "Grüße" is 7 bytes in UTF-8
    assert (clean.name, clean.context, clean.kind, clean.start_time, clean.end_time, clean.resource) == (
        span.name, span.context, span.kind, span.start_time, span.end_time, span.resource,
    )  # fmt: skip
    assert clean.instrumentation_scope == span.instrumentation_scope


def test_sequences_count_every_item_and_event_attributes_are_named_with_their_event() -> None:
    span = finished(
        attributes={"gen_ai.input.messages": ("ab", "cde")},
        events=[("gen_ai.user.message", {"gen_ai.event.content": "xyz", "gen_ai.message.id": "m1"})],
    )
    clean = ContentGuard().span(span)
    assert entries(clean) == {"gen_ai.input.messages": 5, "gen_ai.user.message/gen_ai.event.content": 3}
    assert dict(clean.events[0].attributes) == {"gen_ai.message.id": "m1"}
    assert clean.events[0].timestamp == span.events[0].timestamp


def exception_event(message: str, kind: str = "ValueError") -> tuple[str, dict[str, str]]:
    return (
        "exception",
        {"exception.type": kind, "exception.message": message, "exception.stacktrace": message},
    )


def test_exception_messages_are_removed_from_genai_spans_only() -> None:
    plain = finished(events=[exception_event("disk full")], status="ValueError: disk full")
    assert ContentGuard().span(plain) is plain  # ordinary diagnostics stay
    genai = finished(attributes=GENAI, events=[exception_event("CANARY")], status="ValueError: CANARY")
    clean = ContentGuard().span(genai)
    assert dict(clean.events[0].attributes) == {"exception.type": "ValueError"}
    assert clean.status.status_code == StatusCode.ERROR and clean.status.description == "ValueError"
    assert entries(clean) == {
        "exception/exception.message": 6,
        "exception/exception.stacktrace": 6,
        "status.description": len(": CANARY"),
    }
    by_scope = finished(scope="openinference.instrumentation.openai", events=[exception_event("CANARY")])
    assert "exception/exception.message" in entries(ContentGuard().span(by_scope))
    by_type = finished(events=[exception_event("CANARY", "openai.BadRequestError")])  # an app span
    assert "exception/exception.message" in entries(ContentGuard().span(by_type))


@pytest.mark.parametrize(
    ("description", "kept"),
    [
        ("BadRequestError: Error code: 400 - {'message': 'CANARY'}", "BadRequestError"),
        ("openai.APITimeoutError: Request timed out.", "openai.APITimeoutError"),
        ("(content_filter) The response was filtered", None),
        ("Error code: 400 - CANARY", None),
        ("CANARY-MESSAGE-7f3a", None),
    ],
)
def test_status_descriptions_of_genai_spans_keep_only_an_exception_name(description: str, kept: Any) -> None:
    clean = ContentGuard().span(finished(attributes=GENAI, status=description))
    assert clean.status.description == kept and clean.status.status_code == StatusCode.ERROR


def test_an_exception_name_alone_is_no_content() -> None:
    span = finished(attributes=GENAI, status="RateLimitError")  # what our own spans carry
    assert ContentGuard().span(span) is span


def test_link_attributes_are_guarded() -> None:
    clean = ContentGuard().span(finished(links=[{"gen_ai.prompt": "hi", "kind": "follows"}]))
    assert dict(clean.links[0].attributes) == {"kind": "follows"} and clean.links[0].context == CONTEXT
    assert entries(clean) == {"link/gen_ai.prompt": 2}


def test_patterns_add_names_and_never_remove_the_guards_own_record() -> None:
    guard_ = ContentGuard(patterns=["app.prompt*", "shop.*.note", "assistant_telemetry.*"])
    span = finished(attributes={"app.prompt.text": "a", "shop.order.note": "b", "app.user_count": 2})
    clean = guard_.span(span)
    assert dict(clean.attributes) == {
        "app.user_count": 2,
        sc.CONTENT_GUARD_REMOVED: ("app.prompt.text:1", "shop.order.note:1"),
    }
    with pytest.raises(TypeError):
        ContentGuard(patterns="app.prompt*")


def test_the_removed_list_is_capped_and_dropped_counts_survive() -> None:
    from opentelemetry.sdk.trace import SpanLimits

    many = {f"llm.input_messages.{i}.message.content": "x" for i in range(100)}
    clean = ContentGuard().span(finished(attributes=many))
    assert len(clean.attributes[sc.CONTENT_GUARD_REMOVED]) == sc.CONTENT_GUARD_REMOVED_CAP
    limited = finished(
        attributes={"gen_ai.prompt": "p", "a": 1, "b": 2}, limits=SpanLimits(max_span_attributes=2)
    )
    assert limited.dropped_attributes == 1
    assert ContentGuard().span(limited).dropped_attributes == 1


def log_item(body: Any, attributes: dict[str, Any], event_name: str | None = None, scope: str = "app") -> Any:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger(scope).emit(LogRecord(body=body, attributes=attributes, event_name=event_name))
    return exporter.get_finished_logs()[0]


def test_log_records_lose_genai_bodies_and_content_attributes() -> None:
    plain = log_item("order shipped", {"exception.message": "disk full"})
    assert ContentGuard().log(plain) is plain
    event = log_item({"content": "Grüße"}, {"gen_ai.system": "openai"}, "gen_ai.user.message")
    clean = ContentGuard().log(event)
    assert clean.log_record.body is None and clean.log_record.event_name == "gen_ai.user.message"
    assert dict(clean.log_record.attributes) == {
        "gen_ai.system": "openai",
        sc.CONTENT_GUARD_REMOVED: ("body:22",),
    }
    assert event.log_record.body == {"content": "Grüße"}  # the original is not touched
    library = log_item(
        "Request options: CANARY", {"exception.message": "CANARY"}, scope="openai._base_client"
    )
    cleaned = ContentGuard().log(library)
    assert cleaned.log_record.body is None and "exception.message" not in cleaned.log_record.attributes
    details = log_item(None, {"gen_ai.input.messages": "[]", "gen_ai.operation.name": "chat"}, "gen_ai.x")
    assert dict(ContentGuard().log(details).log_record.attributes) == {
        "gen_ai.operation.name": "chat",
        sc.CONTENT_GUARD_REMOVED: ("gen_ai.input.messages:2",),
    }


def test_a_span_the_guard_fails_on_is_dropped_not_sent(strict_guard: None) -> None:
    exporter = InMemorySpanExporter()
    guarded_exporter = GuardedSpanExporter(exporter, ContentGuard())
    leaky = finished(attributes={"gen_ai.prompt": "CANARY"})
    clean = finished(attributes={"gen_ai.request.model": "gpt-4o"})
    guarded_exporter.content_guard.span = broken_on(leaky, guarded_exporter.content_guard.span)  # type: ignore[method-assign]
    assert guarded_exporter.export([leaky, clean]) == SpanExportResult.SUCCESS
    assert exporter.get_finished_spans() == (clean,)
    assert [type(e) for e in guard.recorded] == [RuntimeError]
    guard.recorded.clear()


def broken_on(bad: Any, sanitize: Any) -> Any:
    def span(item: Any, tally: Any = None) -> Any:
        if item is bad:
            raise RuntimeError("simulated guard bug")
        return sanitize(item, tally)

    return span


def test_guarded_exporters_pass_flush_and_shutdown_on() -> None:
    exporter = InMemorySpanExporter()
    wrapped = assistant_telemetry.guard_span_exporter(exporter)
    assert assistant_telemetry.guard_span_exporter(wrapped) is wrapped
    assert wrapped.force_flush() is True
    wrapped.shutdown()
    assert wrapped.export([finished()]) == SpanExportResult.FAILURE  # the in-memory exporter is shut
    logs = assistant_telemetry.guard_log_exporter(InMemoryLogRecordExporter())
    assert isinstance(logs, GuardedLogRecordExporter) and logs.force_flush()


# --- wiring: providers, processors, instrument() -------------------------------------------------
def providers() -> tuple[TracerProvider, LoggerProvider, InMemorySpanExporter, InMemoryLogRecordExporter]:
    tracer_provider, logger_provider = TracerProvider(), LoggerProvider()
    spans, logs = InMemorySpanExporter(), InMemoryLogRecordExporter()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    logger_provider.add_log_record_processor(BatchLogRecordProcessor(logs))
    return tracer_provider, logger_provider, spans, logs


def emit_content(tracer_provider: TracerProvider, logger_provider: LoggerProvider) -> None:
    with tracer_provider.get_tracer("peer").start_as_current_span("chat") as span:
        span.set_attributes({"gen_ai.input.messages": "CANARY", "app.note": "CANARY"})
    logger_provider.get_logger("peer").emit(LogRecord(body="CANARY", event_name="gen_ai.user.message"))
    logger_provider.force_flush()


def test_content_guard_wraps_every_exporter_once_and_those_added_later() -> None:
    tracer_provider, logger_provider, spans, logs = providers()
    chosen = assistant_telemetry.content_guard(tracer_provider, logger_provider)
    assert len(chosen.guarded) == 2 and not chosen.unguarded
    again = assistant_telemetry.content_guard(tracer_provider, logger_provider, patterns=["app.note"])
    assert again.guarded == []  # already guarded: not wrapped twice, but the new pattern applies
    later = InMemorySpanExporter()
    tracer_provider.add_span_processor(BatchSpanProcessor(later))
    emit_content(tracer_provider, logger_provider)
    tracer_provider.force_flush()
    for span in (*spans.get_finished_spans(), *later.get_finished_spans()):
        assert "gen_ai.input.messages" not in span.attributes and "app.note" not in span.attributes
    assert len(later.get_finished_spans()) == 1
    assert [log.log_record.body for log in logs.get_finished_logs()] == [None]


class Forwarder(SpanProcessor):
    """A custom processor that sends finished spans somewhere the guard cannot see."""

    def on_end(self, span: ReadableSpan) -> None:
        pass


class Enricher(SpanProcessor):
    """Only sets attributes when spans start: never sees a finished span."""

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        span.set_attribute("tenant", "t1")


def test_processors_the_guard_cannot_see_into_are_refused(caplog: pytest.LogCaptureFixture) -> None:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(Enricher())
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assistant_telemetry.content_guard(tracer_provider, LoggerProvider())  # Enricher is harmless
    tracer_provider.add_span_processor(Forwarder())  # added later: logged
    assert "cannot guard" in caplog.text and "Forwarder" in caplog.text
    with pytest.raises(ContentGuardError, match="Forwarder"):
        assistant_telemetry.content_guard(tracer_provider, LoggerProvider())
    relaxed = assistant_telemetry.content_guard(tracer_provider, LoggerProvider(), strict=False)
    assert relaxed.unguarded == [f"{__name__}.Forwarder"]


def test_azure_monitor_live_metrics_cannot_be_guarded() -> None:
    from azure.monitor.opentelemetry.exporter._quickpulse._processor import _QuickpulseSpanProcessor

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(_QuickpulseSpanProcessor())
    with pytest.raises(ContentGuardError, match="enable_live_metrics=False"):
        assistant_telemetry.content_guard(tracer_provider, LoggerProvider())
    assert azure_monitor_options_guarded({"sampling_ratio": 1.0}) == {
        "sampling_ratio": 1.0,
        "enable_live_metrics": False,
    }
    with pytest.raises(ContentGuardError, match="live metrics"):
        azure_monitor_options_guarded({"enable_live_metrics": True})


def test_the_switch_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_TELEMETRY_CONTENT_GUARD", raising=False)
    assert content_guard_enabled(None) is False
    monkeypatch.setenv("ASSISTANT_TELEMETRY_CONTENT_GUARD", "true")
    assert content_guard_enabled(None) is True and content_guard_enabled(False) is False
    monkeypatch.setenv("ASSISTANT_TELEMETRY_CONTENT_GUARD_PATTERNS", "app.prompt*, shop.note")
    assert assistant_telemetry.content_guard(TracerProvider(), LoggerProvider()).patterns == (
        "app.prompt*",
        "shop.note",
    )


def test_instrument_with_content_guard_guards_the_given_provider(strict_guard: None) -> None:
    tracer_provider, logger_provider, spans, _ = providers()
    session = assistant_telemetry.instrument(tracer_provider=tracer_provider, content_guard=True)
    try:
        assert session.content_guard is not None and not session.content_guard.unguarded
        emit_content(tracer_provider, logger_provider)
        assert "gen_ai.input.messages" not in spans.get_finished_spans()[0].attributes
    finally:
        assistant_telemetry.uninstrument()

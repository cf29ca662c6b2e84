"""An incident to review, recorded once per test session: the plugin on the simulator.

A real openai client (and an AzureOpenAI one) talks to the simulator with
``assistant_telemetry.instrument(message_fingerprint_key=...)`` and ``correlate(...)``; the
same spans leave through three real exporters at once:
- our JSON-lines file exporter (``jsonl``);
- the OTLP/HTTP exporter into the loopback receiver, rewritten as the OpenTelemetry
  Collector's file exporter writes OTLP JSON: one ExportTraceServiceRequest per line, ids hex
  (``otlp_dir``);
- the Azure Monitor exporter into the loopback ingestion receiver, mapped to Application
  Insights ``dependencies`` / ``traces`` rows (``dependencies``, ``traces``).

The clean scenario has two threads: A (Azure, two turns, a tool call, a prompt blocked by
the content filter, correlation ids) and B (a 429 retried, a run that fails). With
``anomalies=True`` it also plants: C a completed run whose messages were never listed, D the
same message submitted twice under one idempotency key, E the same first message from one
user in two new threads (different keys), F a run left queued, G a thread of 12 messages.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import openai
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import assistant_telemetry
from assistant_telemetry import correlate, guard
from assistant_telemetry.file_exporter import JsonLinesSpanExporter
from assistant_telemetry.simulator import Simulator

from receivers import (
    AzureIngestionReceiver,
    OtlpReceiver,
    azure_test_env,
    azure_trace_exporter,
    otlp_trace_exporter,
)

FINGERPRINT_KEY = b"incident-review-test-key"
LONG_THREAD_MESSAGES = 12
# Content: none of it may appear in any output of timeline or check.
TEXTS = {
    "a1": "CANARY-A1 where is my parcel",
    "a2": "CANARY-A2 and the invoice?",
    "blocked": "CANARY-BLOCKED something the filter refuses",
    "b": "CANARY-B hello",
    "c": "CANARY-C nobody reads the answer",
    "d": "CANARY-D cancel my order",
    "e": "CANARY-E first words twice",
    "f": "CANARY-F waiting forever",
    "g": "CANARY-G chatter",
}
USERS = {"a": "alice@example.com", "b": "bob", "d": "dave", "e": "erin"}


@dataclass
class Recording:
    directory: Path
    jsonl: Path
    otlp_dir: Path
    spans: list[ReadableSpan]
    dependencies: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    ids: dict[str, Any] = field(default_factory=dict)

    def of_thread(self, thread_id: str) -> list[ReadableSpan]:
        return [s for s in self.spans if (s.attributes or {}).get("gen_ai.thread.id") == thread_id]


_recorded: dict[bool, Recording] = {}


def recorded(anomalies: bool) -> Recording:
    """The recording (made on first use, then reused by every test of the session)."""
    if anomalies not in _recorded:
        directory = Path(tempfile.mkdtemp(prefix="incident-"))
        _recorded[anomalies] = record(directory, anomalies)
    return _recorded[anomalies]


def record(directory: Path, anomalies: bool) -> Recording:
    jsonl, otlp_dir = directory / "telemetry.jsonl", directory / "otlp"
    otlp_dir.mkdir()
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "incident-review"}))
    provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(jsonl)))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    strict, guard.STRICT = guard.STRICT, True
    try:
        with OtlpReceiver() as otlp, AzureIngestionReceiver() as azure, azure_test_env():
            provider.add_span_processor(BatchSpanProcessor(otlp_trace_exporter(otlp)))
            provider.add_span_processor(
                BatchSpanProcessor(azure_trace_exporter(azure, tracer_provider=provider))
            )
            assistant_telemetry.instrument(
                tracer_provider=provider,
                meter_provider=MeterProvider(),
                message_fingerprint_key=FINGERPRINT_KEY,
            )
            try:
                with Simulator() as sim:
                    ids = conversation(sim, anomalies)
            finally:
                assistant_telemetry.uninstrument()
            provider.force_flush()
            (otlp_dir / "traces.json").write_text("".join(collector_lines(otlp)))
            dependencies, traces = azure.dependencies(), azure.traces()
        provider.shutdown()
        assert not guard.recorded, f"internal instrumentation errors: {guard.recorded!r}"
    finally:
        guard.STRICT = strict
    return Recording(directory, jsonl, otlp_dir, list(memory.get_finished_spans()), dependencies, traces, ids)


def collector_lines(receiver: OtlpReceiver) -> list[str]:
    """What the Collector's file exporter writes: one OTLP JSON request per line, ids in hex."""
    lines = []
    for request in receiver.received:
        if request.path != "/v1/traces" or request.status != 200:
            continue
        message = ExportTraceServiceRequest()
        message.ParseFromString(request.body)
        data = MessageToDict(message, use_integers_for_enums=True)
        for resource_spans in data.get("resourceSpans", []):
            for scope_spans in resource_spans.get("scopeSpans", []):
                for span in scope_spans.get("spans", []):
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if span.get(key):
                            span[key] = _hex(span[key])
        lines.append(json.dumps(data, separators=(",", ":")) + "\n")
    return lines


def _hex(value: str) -> str:
    import base64

    return base64.b64decode(value).hex()


# ------------------------------------------------------------------------- the story


def conversation(sim: Simulator, anomalies: bool) -> dict[str, Any]:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=2)
    azure = openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="sk-test", api_version="2024-05-01-preview", max_retries=2
    )
    assistant = azure.beta.assistants.create(model="gpt-4o-prod", name="incident-helper")
    ids: dict[str, Any] = {"assistant": assistant.id}
    ids.update(_thread_a(azure, sim, assistant.id))
    ids.update(_thread_b(client, sim, assistant.id))
    if anomalies:
        ids.update(_planted(client, sim, assistant.id))
    return ids


def _thread_a(azure: Any, sim: Simulator, assistant_id: str) -> dict[str, Any]:
    beta = azure.beta
    runs = beta.threads.runs
    with correlate(request_id="app-req-a1", idempotency_key="idem-a1", tenant="contoso", user=USERS["a"]):
        thread = beta.threads.create()
        first = beta.threads.messages.create(thread.id, role="user", content=TEXTS["a1"])
        run = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
        beta.threads.messages.list(thread.id)
    with correlate(request_id="app-req-a2", idempotency_key="idem-a2", tenant="contoso", user=USERS["a"]):
        sim.add_fault(kind="content_filter", method="POST", path="/threads/*/messages", times=1)
        with contextlib.suppress(openai.BadRequestError):
            beta.threads.messages.create(thread.id, role="user", content=TEXTS["blocked"])
        second = beta.threads.messages.create(thread.id, role="user", content=TEXTS["a2"])
        sim.next_run_outcome("requires_action", "completed")
        waiting = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
        outputs = [
            {"tool_call_id": call.id, "output": "{}"}
            for call in waiting.required_action.submit_tool_outputs.tool_calls
        ]
        tool_run = runs.submit_tool_outputs_and_poll(
            run_id=waiting.id, thread_id=thread.id, tool_outputs=outputs
        )
        steps = runs.steps.list(tool_run.id, thread_id=thread.id)
        page = beta.threads.messages.list(thread.id)
    replies = [m.id for m in page.data if m.role == "assistant"]
    return {
        "thread_a": thread.id,
        "a_messages": [first.id, second.id],
        "a_runs": [run.id, tool_run.id],
        "a_steps": [s.id for s in steps.data],
        "a_replies": replies,
    }


def _thread_b(client: Any, sim: Simulator, assistant_id: str) -> dict[str, Any]:
    beta = client.beta
    with correlate(request_id="app-req-b1", idempotency_key="idem-b1", tenant="fabrikam", user=USERS["b"]):
        thread = beta.threads.create()
        sim.add_fault(429, method="POST", path="/threads/*/messages", times=1, retry_after=0)
        beta.threads.messages.create(thread.id, role="user", content=TEXTS["b"])
        sim.next_run_outcome("failed")
        failed = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
        beta.threads.messages.list(thread.id)
    return {"thread_b": thread.id, "failed_run": failed.id}


def _planted(client: Any, sim: Simulator, assistant_id: str) -> dict[str, Any]:
    beta = client.beta
    runs = beta.threads.runs
    ids: dict[str, Any] = {}
    # C: the run completes, nobody ever lists (or retrieves) its messages.
    with correlate(request_id="app-req-c1", idempotency_key="idem-c1", user="carol"):
        thread = beta.threads.create()
        beta.threads.messages.create(thread.id, role="user", content=TEXTS["c"])
        silent = runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    ids.update(thread_c=thread.id, silent_run=silent.id)
    # D: the same submission twice (a retried request): same idempotency key, same text.
    thread = beta.threads.create()
    twice = []
    for attempt in (1, 2):
        with correlate(request_id=f"app-req-d{attempt}", idempotency_key="idem-d", user=USERS["d"]):
            twice.append(beta.threads.messages.create(thread.id, role="user", content=TEXTS["d"]).id)
    with correlate(request_id="app-req-d3", idempotency_key="idem-d3", user=USERS["d"]):
        runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
        beta.threads.messages.list(thread.id)
    ids.update(thread_d=thread.id, duplicate_messages=twice)
    # E: one user starts two threads with the same first message (two keys: the app did not notice).
    threads_e = []
    for attempt in (1, 2):
        with correlate(request_id=f"app-req-e{attempt}", idempotency_key=f"idem-e{attempt}", user=USERS["e"]):
            threads_e.append(beta.threads.create(messages=[{"role": "user", "content": TEXTS["e"]}]).id)
    ids.update(threads_e=threads_e)
    # F: a run created and never polled again: it stays queued.
    thread = beta.threads.create()
    beta.threads.messages.create(thread.id, role="user", content=TEXTS["f"])
    stuck = runs.create(thread.id, assistant_id=assistant_id)
    ids.update(thread_f=thread.id, stuck_run=stuck.id)
    # G: a long thread.
    thread = beta.threads.create()
    for number in range(LONG_THREAD_MESSAGES - 1):
        beta.threads.messages.create(thread.id, role="user", content=f"{TEXTS['g']} {number}")
    runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    beta.threads.messages.list(thread.id, limit=100)
    ids.update(thread_g=thread.id)
    return ids

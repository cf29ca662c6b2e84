"""The promise: no content reaches any exported span, event, metric or log.

Unique canary strings go through every content-bearing field of every wrapped call
(message text, instructions, descriptions, tool outputs, metadata values) and through
server error messages that echo the input; nothing exported may contain any of them.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from assistant_telemetry.file_exporter import metric_records, span_record

from scenarios import CANARY_CONTENT as CANARIES
from scenarios import CANARY_STRINGS, every_call, run


def exported_text(telemetry: Any) -> str:
    """Everything an exporter would see: span names, attributes, events, status, metric points."""
    exporter: InMemorySpanExporter = telemetry.exporter
    spans = [json.dumps(span_record(s), default=str) for s in exporter.get_finished_spans()]
    spans += [s.status.description or "" for s in exporter.get_finished_spans()]
    data = telemetry.reader.get_metrics_data()
    metrics = [json.dumps(r, default=str) for r in metric_records(data)] if data else []
    return "\n".join(spans + metrics)


def assert_no_canary(text: str) -> None:
    leaked = [c for c in CANARY_STRINGS if c in text]
    assert not leaked, f"content leaked into telemetry: {leaked}"


@pytest.fixture(params=["sync", "async", "azure"])
def any_client(request: pytest.FixtureRequest, client: Any, async_client: Any, azure_client: Any) -> Any:
    return {"sync": client, "async": async_client, "azure": azure_client}[request.param]


def test_no_canary_in_any_exported_signal(telemetry: Any, sim: Any, any_client: Any) -> None:
    run(every_call(any_client, sim, CANARIES))
    text = exported_text(telemetry)
    assert "create_message" in text and "submit_tool_outputs" in text  # the telemetry is there
    assert_no_canary(text)


def test_canaries_would_be_caught(telemetry: Any, sim: Any, client: Any) -> None:
    """The check above can fail: a span carrying a canary is detected."""
    from opentelemetry import trace

    tracer = trace.get_tracer("leaky", tracer_provider=telemetry.tracer_provider)
    with tracer.start_as_current_span("leaky") as span:
        span.set_attribute("gen_ai.input.messages", CANARIES.message)
    with pytest.raises(AssertionError, match="content leaked"):
        assert_no_canary(exported_text(telemetry))


def test_error_messages_that_echo_input_are_not_recorded(telemetry: Any, sim: Any, client: Any) -> None:
    thread = client.beta.threads.create()
    sim.add_fault(kind="echo_error", method="POST", path="/threads/*/messages", times=1)
    with pytest.raises(openai.BadRequestError) as raised:
        client.beta.threads.messages.create(
            thread.id, role="user", content=CANARIES.message, metadata={"k": CANARIES.metadata_value}
        )
    assert CANARIES.message in str(raised.value)  # the service did echo it
    span = telemetry.one("create_message")
    assert span.attributes["assistant_telemetry.failure_class"] == "bad_request"
    assert_no_canary(exported_text(telemetry))

"""Beside the official OTel openai instrumentation (genai-openai) and azure-ai-projects'
``AIProjectInstrumentor`` on the openai client, in both enable orders: each model call is one GenAI
span in the app's trace (a streamed one too), carrying our ids, and one duration point.

(openai-v2 2.4b0 imports ``httpx`` at module top, which openai 3.x no longer installs: it cannot be
enabled beside openai 3; its wrappers are stepped over like genai-openai's where it can.)

The rule (coexistence.py): the outermost instrumentation owns the span. Theirs outer: ours is a guest
on it and records no duration/token point. Ours outer: their wrapper beneath ours is stepped over.

Their instrumentors use the global providers, so each case runs in a process of its own: this file,
run as a script (``python test_coexistence_openai.py THEIRS ORDER``), is the app.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CANARY = "CANARY-c0e1"
OURS = "assistant_telemetry"
INFERENCE = {"chat", "responses", "text_completion"}


def _enable_theirs(theirs: str, provider: Any, meters: Any) -> Any:
    if theirs == "genai-openai":
        from opentelemetry.instrumentation.genai.openai import OpenAIInstrumentor as GenAIOpenAIInstrumentor

        instrumentor = GenAIOpenAIInstrumentor()
        instrumentor.instrument(tracer_provider=provider, meter_provider=meters)
    else:
        from azure.ai.projects.telemetry import AIProjectInstrumentor
        from azure.core.settings import settings

        settings.tracing_implementation = "opentelemetry"
        instrumentor = AIProjectInstrumentor()
        instrumentor.instrument(enable_content_recording=False)
    return instrumentor


def _calls(theirs: str, client: Any, aclient: Any) -> list[str]:
    """The model calls this instrumentation also wraps, sync then async; returns what they are."""
    made = []
    if theirs != "projects":  # AIProjectInstrumentor wraps Responses and Conversations only
        messages = [{"role": "user", "content": f"{CANARY} hello"}]
        client.chat.completions.create(model="gpt-4o", messages=messages)
        with client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True, stream_options={"include_usage": True}
        ) as stream:
            for _chunk in stream:
                pass
        made += ["chat", "chat-stream"]
    # both wrap responses.create
    client.responses.create(model="gpt-4o", input=f"{CANARY} hello")
    for _event in client.responses.create(model="gpt-4o", input=f"{CANARY} hello", stream=True):
        pass
    made += ["responses", "responses-stream"]
    if theirs == "projects":  # its raw stream, its stream() helper and its Conversations wrappers
        if _their_raw_streams():
            raw = client.responses.with_raw_response.create(model="gpt-4o", input=f"{CANARY} hi", stream=True)
            for _event in raw.parse():
                pass
            made.append("responses-raw-stream")
        with client.responses.stream(model="gpt-4o", input=f"{CANARY} hello") as helper:
            for _event in helper:
                pass
        conversation = client.conversations.create(metadata={"note": CANARY})
        list(client.conversations.items.list(conversation.id))
        made += ["responses-helper", "create_conversation", "list_conversation_items"]
    made += asyncio.run(asyncio.wait_for(_async_calls(theirs, aclient), timeout=60))
    return made


def _their_raw_streams() -> bool:
    """Whether AIProjectInstrumentor keeps ``with_raw_response.create(stream=True)`` working: its
    first 2.x releases wrap the raw response as if it were the stream (``.parse()`` is gone, with or
    without us), later ones proxy it."""
    from azure.ai.projects.telemetry import _responses_instrumentor

    return hasattr(_responses_instrumentor, "_InstrumentedSyncRawResponse")


async def _async_calls(theirs: str, aclient: Any) -> list[str]:
    await aclient.responses.create(model="gpt-4o", input=f"{CANARY} hello")
    async for _event in await aclient.responses.create(model="gpt-4o", input=f"{CANARY} hi", stream=True):
        pass
    made = ["async-responses", "async-responses-stream"]
    if theirs == "projects":
        async with aclient.responses.stream(model="gpt-4o", input=f"{CANARY} hello") as helper:
            async for _event in helper:
                pass
        made.append("async-responses-helper")
    return made


def _operation(call: str) -> str:
    """The span's operation category of a call: ``inference`` for every model call."""
    return call if call.endswith("conversation_items") or call.endswith("conversation") else "inference"


def _app(theirs: str, order: str) -> dict[str, Any]:
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import assistant_telemetry
    from assistant_telemetry import guard
    from assistant_telemetry.simulator import Simulator

    guard.STRICT = True
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    meters = MeterProvider(metric_readers=[reader])
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(meters)
    instrumentor = None
    for step in ("ours", "theirs") if order == "ours-first" else ("theirs", "ours"):
        if step == "ours":
            assistant_telemetry.instrument(tracer_provider=provider, meter_provider=meters)
        else:
            instrumentor = _enable_theirs(theirs, provider, meters)

    import openai

    with Simulator().start() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, timeout=30)
        aclient = openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0, timeout=30)
        with trace.get_tracer("app").start_as_current_span("app request") as parent:
            calls = _calls(theirs, client, aclient)
            app_trace = parent.get_span_context().trace_id
    assert instrumentor is not None
    instrumentor.uninstrument()
    spans = []
    for s in exporter.get_finished_spans():
        spans.append(
            {
                "name": s.name,
                "scope": s.instrumentation_scope.name,
                "trace": s.context.trace_id,
                "attributes": dict(s.attributes or {}),
            }
        )
    points: dict[str, list[list[Any]]] = {
        "gen_ai.client.operation.duration": [],
        "gen_ai.client.token.usage": [],
    }
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points if metric.name in points else ():
                    attrs = point.attributes
                    operation, token_type = attrs.get("gen_ai.operation.name"), attrs.get("gen_ai.token.type")
                    points[metric.name].append([sm.scope.name, operation, token_type, point.count])
    return {
        "calls": calls,
        "spans": spans,
        "app_trace": app_trace,
        "durations": points["gen_ai.client.operation.duration"],
        "tokens": points["gen_ai.client.token.usage"],
        "canary": CANARY in json.dumps(spans, default=str),
        "errors": [repr(e) for e in guard.recorded],
    }


def _run(theirs: str, order: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AZURE_EXPERIMENTAL_ENABLE_GENAI_TRACING": "true",
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    done = subprocess.run(
        [sys.executable, __file__, theirs, order],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


CASES = [
    ("genai-openai", "ours-first"),
    ("genai-openai", "theirs-first"),
    ("projects", "ours-first"),
    ("projects", "theirs-first"),
]
# Calls whose outermost wrapper is theirs in either order: AIProjectInstrumentor wraps
# ``responses.stream``, which we do not (its inner ``create`` is ours).
THEIRS_ALWAYS = {"responses-helper", "async-responses-helper"}


@pytest.mark.timeout(150)
@pytest.mark.parametrize(("theirs", "order"), CASES)
def test_one_span_and_one_duration_point_per_model_call(theirs: str, order: str) -> None:
    result = _run(theirs, order)
    assert result["errors"] == [] and result["canary"] is False
    calls = result["calls"]
    ours_expected = [] if order == "ours-first" else [c for c in calls if c not in THEIRS_ALWAYS]
    operations = {_operation(call) for call in calls}
    spans = [
        s for s in result["spans"] if _category(s["attributes"].get("gen_ai.operation.name")) in operations
    ]
    for operation in operations:  # one span per call, whoever owns it; ours only where we are outer
        mine = [s for s in spans if _category(s["attributes"]["gen_ai.operation.name"]) == operation]
        assert len(mine) == sum(_operation(c) == operation for c in calls), [
            (s["scope"], s["name"]) for s in mine
        ]
        owned = [s for s in mine if s["scope"] == OURS]
        assert len(owned) == sum(_operation(c) == operation for c in ours_expected), operation
    for span in spans:  # in the app's trace, with our ids, whoever owns it
        assert span["trace"] == result["app_trace"]
        assert span["attributes"]["assistant_telemetry.request_id"].startswith("req_")
        if _category(span["attributes"]["gen_ai.operation.name"]) == "inference":
            assert span["attributes"]["gen_ai.response.id"]
    streamed = [s["attributes"] for s in spans if s["attributes"].get("gen_ai.request.stream")]
    assert len(streamed) == sum("stream" in call or "helper" in call for call in calls)
    for attrs in streamed:  # our observer read the stream to its end, before the span ended (a guest's too)
        assert attrs["assistant_telemetry.stream.outcome"] == "finished", attrs
        assert attrs["assistant_telemetry.stream.events"] > 2
    durations = [d for d in result["durations"] if _category(d[1]) in operations]
    assert sum(d[3] for d in durations) == len(calls)  # one point per call, by the span's owner
    assert sum(d[3] for d in durations if d[0] == OURS) == len(ours_expected)
    # tokens: ours once per model call we own, none for a call whose span is theirs (they record
    # theirs; AIProjectInstrumentor 2.10 records a streamed call's twice, without us too)
    our_inputs = [t for t in result["tokens"] if t[0] == OURS and t[2] == "input"]
    assert sum(t[3] for t in our_inputs) == sum(_operation(c) == "inference" for c in ours_expected)
    theirs_inputs = [t for t in result["tokens"] if t[0] != OURS and t[2] == "input"]
    assert len(theirs_inputs) > 0 if len(ours_expected) < len(calls) else not theirs_inputs


def _category(operation: Any) -> str | None:
    return "inference" if operation in INFERENCE else operation


if __name__ == "__main__":
    print(json.dumps(_app(sys.argv[1], sys.argv[2]), default=str))

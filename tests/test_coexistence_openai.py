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


def _calls(theirs: str, client: Any) -> list[str]:
    """The model calls this instrumentation also wraps; returns what they are, in order."""
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
    return made


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
        with trace.get_tracer("app").start_as_current_span("app request") as parent:
            calls = _calls(theirs, client)
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
    durations: list[list[Any]] = []
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "gen_ai.client.operation.duration":
                    for point in metric.data.data_points:
                        durations.append(
                            [sm.scope.name, point.attributes.get("gen_ai.operation.name"), point.count]
                        )
    return {
        "calls": calls,
        "spans": spans,
        "app_trace": app_trace,
        "durations": durations,
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


# AIProjectInstrumentor enabled after us wraps over ours, and does not make its span of a streamed
# ``responses.create`` the current one: our wrapper cannot see it, so that call has two spans.
# Workarounds (docs/attributes.md): enable assistant_telemetry after it, or turn its Responses
# tracing off with its own switch (AZURE_TRACING_GEN_AI_INSTRUMENT_RESPONSES_API=false).
_THEIR_STREAM_SPAN_NOT_CURRENT = pytest.mark.xfail(
    strict=True, reason="AIProjectInstrumentor outer: its stream span is not current, ours cannot join it"
)
CASES = [
    ("genai-openai", "ours-first"),
    ("genai-openai", "theirs-first"),
    pytest.param("projects", "ours-first", marks=_THEIR_STREAM_SPAN_NOT_CURRENT),
    ("projects", "theirs-first"),
]


@pytest.mark.timeout(150)
@pytest.mark.parametrize(("theirs", "order"), CASES)
def test_one_span_and_one_duration_point_per_model_call(theirs: str, order: str) -> None:
    result = _run(theirs, order)
    assert result["errors"] == [] and result["canary"] is False
    calls = result["calls"]
    genai = [s for s in result["spans"] if s["attributes"].get("gen_ai.operation.name") in INFERENCE]
    assert len(genai) == len(calls), [(s["scope"], s["name"]) for s in genai]
    for span in genai:  # in the app's trace, with our ids, whoever owns it
        assert span["trace"] == result["app_trace"]
        assert span["attributes"]["assistant_telemetry.request_id"].startswith("req_")
        assert span["attributes"]["gen_ai.response.id"]
    owners = {s["scope"] for s in genai}
    if order == "ours-first":  # they wrapped over us: theirs is outer and owns the spans
        assert OURS not in owners
    else:  # we wrapped over them: ours, theirs stepped over
        assert owners == {OURS}
    durations = [d for d in result["durations"] if d[1] in INFERENCE]
    assert sum(d[2] for d in durations) == len(calls)  # one point per call, by the span's owner
    assert {d[0] for d in durations} == owners


if __name__ == "__main__":
    print(json.dumps(_app(sys.argv[1], sys.argv[2]), default=str))

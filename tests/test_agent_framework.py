"""Microsoft Agent Framework (agent-framework-core + agent-framework-openai) on the loopback simulator.

``Agent.run`` and ``Agent.run(stream=True)`` with a function tool, through ``OpenAIChatClient`` (the
Responses API; streams go through ``responses.with_raw_response.create(stream=True)``):
- its observability off: our ``invoke_agent`` (INTERNAL) parents our model-call spans and an
  ``execute_tool`` span with the model's call id; one trace per run, streamed or not;
- its observability on: its ``invoke_agent``, ``chat {model}`` and ``execute_tool`` spans are the only
  ones, ours are guests on its ``chat`` spans (our request ids on them), and each model call is one
  duration point and one token point per type, its own.
Canary strings in instructions, input and tool output are never exported.

Agent Framework's tracer and meter are the global ones, so each mode runs in a process of its own:
this file, run as a script (``python test_agent_framework.py MODE``), is the app.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CANARY = "CANARY-af71"
OURS = "assistant_telemetry"


def _app(mode: str) -> dict[str, Any]:
    import asyncio

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
    assistant_telemetry.instrument(tracer_provider=provider, meter_provider=meters)

    from agent_framework import Agent, tool
    from agent_framework.observability import disable_instrumentation, enable_instrumentation
    from agent_framework.openai import OpenAIChatClient
    from openai import AsyncOpenAI

    if mode == "off":
        disable_instrumentation()
    else:
        enable_instrumentation(enable_sensitive_data=False)

    @tool
    def get_weather(city: str) -> str:
        """Tell the weather of a city."""
        return f"{CANARY} tool output: sunny in {city}"

    async def main(sim: Simulator) -> list[str]:
        client = AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        chat = OpenAIChatClient(async_client=client, model="gpt-4o")
        agent = Agent(chat, instructions=f"{CANARY} instructions", name="helper", tools=[get_weather])
        sim.next_run_outcome("requires_action")  # the model calls get_weather, then answers
        answers = [(await agent.run(f"{CANARY} input")).text]
        sim.next_run_outcome("requires_action")
        updates = [update async for update in agent.run(f"{CANARY} input", stream=True)]
        answers.append("".join(update.text for update in updates))
        return answers

    with Simulator().start() as sim:
        answers = asyncio.run(asyncio.wait_for(main(sim), timeout=60))
    spans = [
        {
            "name": s.name,
            "scope": s.instrumentation_scope.name,
            "kind": s.kind.name,
            "trace": s.context.trace_id,
            "id": s.context.span_id,
            "parent": s.parent.span_id if s.parent else None,
            "start": s.start_time,
            "end": s.end_time,
            "attributes": dict(s.attributes or {}),
            "events": [[e.name, dict(e.attributes or {})] for e in s.events],
        }
        for s in exporter.get_finished_spans()
    ]
    points: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name in ("gen_ai.client.operation.duration", "gen_ai.client.token.usage"):
                    for point in metric.data.data_points:
                        attrs = dict(point.attributes)
                        points.setdefault(metric.name, []).append(
                            [
                                sm.scope.name,
                                attrs.get("gen_ai.operation.name"),
                                attrs.get("gen_ai.token.type"),
                                point.count,
                            ]
                        )
    return {
        "answers": answers,
        "spans": spans,
        "points": points,
        "canary": CANARY in json.dumps(spans, default=str),
        "errors": [repr(e) for e in guard.recorded],
    }


def _run(mode: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    env.pop("ENABLE_INSTRUMENTATION", None)
    done = subprocess.run(
        [sys.executable, __file__, mode], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _op(spans: list[dict[str, Any]], operation: str) -> list[dict[str, Any]]:
    return [s for s in spans if s["attributes"].get("gen_ai.operation.name") == operation]


def _count(points: list[list[Any]], scope: str | None = None, operation: str = "chat") -> int:
    return sum(p[3] for p in points if p[1] == operation and (scope is None or p[0] == scope))


def _runs(spans: list[dict[str, Any]]) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Each invoke_agent span (a root) with the spans of its trace."""
    roots = sorted(_op(spans, "invoke_agent"), key=lambda s: s["start"])
    return [(root, [s for s in spans if s["trace"] == root["trace"] and s is not root]) for root in roots]


@pytest.mark.timeout(150)
def test_observability_off_we_make_the_agent_spans() -> None:
    result = _run("off")
    assert result["errors"] == [] and result["canary"] is False
    assert all("simulated model" in answer for answer in result["answers"])
    assert {s["scope"] for s in result["spans"]} == {OURS}  # the framework emitted nothing
    runs = _runs(result["spans"])
    assert len(runs) == 2  # run, then run(stream=True): one trace each
    for root, inside in runs:
        assert root["name"] == "invoke_agent helper" and root["kind"] == "INTERNAL" and root["parent"] is None
        assert root["attributes"]["gen_ai.agent.name"] == "helper" and root["attributes"]["gen_ai.agent.id"]
        chats, tools = _op(inside, "chat"), _op(inside, "execute_tool")
        assert len(chats) == 2 and len(tools) == 1 and len(inside) == 3
        assert all(s["parent"] == root["id"] for s in inside)
        for chat in chats:  # a streamed call's span ends after its last event, with id and usage
            assert chat["kind"] == "CLIENT" and chat["attributes"]["gen_ai.response.id"].startswith("resp_")
            assert chat["attributes"]["gen_ai.usage.output_tokens"] > 0
            assert root["start"] <= chat["start"] and chat["end"] <= root["end"]
        (tool,) = tools
        assert tool["name"] == "execute_tool get_weather" and tool["kind"] == "INTERNAL"
        assert tool["attributes"]["gen_ai.tool.call.id"].startswith("call_")
        assert tool["attributes"]["gen_ai.tool.type"] == "function"
    durations = result["points"]["gen_ai.client.operation.duration"]
    assert _count(durations) == 4 and _count(durations, OURS) == 4  # one point per model call
    tokens = result["points"]["gen_ai.client.token.usage"]
    assert _count(tokens) == 8  # input and output, per model call


@pytest.mark.timeout(150)
def test_observability_on_one_span_and_one_point_per_model_call() -> None:
    result = _run("on")
    assert result["errors"] == [] and result["canary"] is False
    assert all("simulated model" in answer for answer in result["answers"])
    assert not [s for s in result["spans"] if s["scope"] == OURS]  # no second span for anything
    runs = _runs(result["spans"])
    assert len(runs) == 2
    for root, inside in runs:
        assert root["scope"] == "agent_framework" and root["name"] == "invoke_agent helper"
        chats = _op(inside, "chat")
        assert len(chats) == 2 and len(_op(inside, "execute_tool")) == 1
        for chat in chats:  # our ids on their span (the streamed call too: it sits in the run's trace)
            attrs = chat["attributes"]
            assert attrs["assistant_telemetry.request_id"].startswith("req_")
            assert attrs["assistant_telemetry.server_address"] == "127.0.0.1"
            assert attrs["gen_ai.response.id"].startswith("resp_")
    durations = result["points"]["gen_ai.client.operation.duration"]
    assert _count(durations) == 4 and _count(durations, OURS) == 0  # theirs, once per model call
    tokens = result["points"]["gen_ai.client.token.usage"]
    assert _count(tokens, OURS) == 0 and _count(tokens) == 8


if __name__ == "__main__":
    print(json.dumps(_app(sys.argv[1]), default=str))

"""azure-ai-projects' own ``AIProjectInstrumentor`` beside ours, in both orders: one GenAI span and one
duration point per ``project.agents`` call, carrying our ids (request ids, agent id, project).

Their instrumentor traces through azure-core's tracing and the *global* tracer provider, so each order
runs in a process of its own: this file, run as a script (``python test_foundry_coexistence.py ORDER``),
is the app; it prints one JSON line of what was exported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ARM_ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/res/projects/demo-project"
CANARY = "CANARY-c0ex"
AGENT_CALLS = {"create_agent": 2, "get_agent": 1, "get_agent_version": 1, "delete_agent_version": 1}


def _app(order: str) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).parent))
    from azure.ai.projects import AIProjectClient
    from azure.ai.projects.aio import AIProjectClient as AsyncAIProjectClient
    from azure.ai.projects.models import PromptAgentDefinition
    from azure.ai.projects.telemetry import AIProjectInstrumentor
    from azure.core.settings import settings
    from opentelemetry import trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import assistant_telemetry
    from assistant_telemetry import guard
    from assistant_telemetry import semconv as sc
    from assistant_telemetry.simulator import Simulator

    from azure_clients import AllowHttpBearer, AsyncStaticToken, StaticToken

    guard.STRICT = True
    exporter, reader = InMemorySpanExporter(), InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    meters = MeterProvider(metric_readers=[reader])
    settings.tracing_implementation = "opentelemetry"  # what the Azure Monitor distro turns on
    theirs = AIProjectInstrumentor()
    steps = {"ours": ["ours"], "ours-first": ["ours", "theirs"], "theirs-first": ["theirs", "ours"]}[order]
    for step in steps:
        if step == "ours":
            assistant_telemetry.instrument(tracer_provider=provider, meter_provider=meters)
        else:
            theirs.instrument(enable_content_recording=False)

    def definition() -> Any:
        return PromptAgentDefinition(model="gpt-4o", instructions=f"{CANARY} instructions")

    async def aio(sim: Simulator) -> None:
        endpoint = sim.agents_endpoint("demo-project")
        async with AsyncAIProjectClient(
            endpoint, AsyncStaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
        ) as project:
            await project.agents.create_version("helper", definition=definition(), description=f"{CANARY} d")

    import asyncio

    with Simulator().start() as sim:
        endpoint = sim.agents_endpoint("demo-project")
        with AIProjectClient(
            endpoint, StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
        ) as project:
            project.agents.create_version("helper", definition=definition(), description=f"{CANARY} d")
            project.agents.get("helper")
            project.agents.get_version("helper", "1")
            project.agents.delete_version("helper", "1")
        asyncio.run(asyncio.wait_for(aio(sim), timeout=60))
    if order != "ours":
        theirs.uninstrument()
    genai = []
    for span in exporter.get_finished_spans():
        attrs = dict(span.attributes or {})
        if sc.OPERATION_NAME in attrs:
            genai.append({"name": span.name, "scope": span.instrumentation_scope.name, "attributes": attrs})
    durations: dict[str, int] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == sc.METRIC_OPERATION_DURATION:
                    for point in metric.data.data_points:
                        op = point.attributes[sc.OPERATION_NAME]
                        durations[op] = durations.get(op, 0) + point.count
    everything = json.dumps(
        [[s.name, dict(s.attributes or {})] for s in exporter.get_finished_spans()], default=str
    )
    return {
        "spans": genai,
        "durations": durations,
        "canary": CANARY in everything,
        "errors": len(guard.recorded),
    }


def _run(order: str) -> dict[str, Any]:
    env = {
        **os.environ,
        "AZURE_EXPERIMENTAL_ENABLE_GENAI_TRACING": "true",
        "FOUNDRY_PROJECT_ARM_ID": ARM_ID,
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).parents[1] / "src"), os.environ.get("PYTHONPATH", "")]
        ),
    }
    done = subprocess.run(
        [sys.executable, __file__, order], capture_output=True, text=True, timeout=120, env=env, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("order", ["ours", "ours-first", "theirs-first"])
def test_one_span_per_agents_call(order: str) -> None:
    result = _run(order)
    assert result["errors"] == 0 and result["canary"] is False
    by_op: dict[str, list[dict[str, Any]]] = {}
    for span in result["spans"]:
        by_op.setdefault(span["attributes"]["gen_ai.operation.name"], []).append(span)
    assert {op: len(spans) for op, spans in by_op.items()} == AGENT_CALLS
    assert result["durations"] == AGENT_CALLS  # one duration point per call, recorded by us
    for spans in by_op.values():
        for span in spans:  # our ids on the one span, whoever started it
            attrs = span["attributes"]
            assert attrs["assistant_telemetry.request_id"] and attrs["azure.service.request.id"]
            assert attrs["microsoft.foundry.project.id"] == ARM_ID
            assert attrs["gen_ai.provider.name"] == "microsoft.foundry"
    created = [span["attributes"]["gen_ai.agent.id"] for span in by_op["create_agent"]]
    assert sorted(created) == ["helper:1", "helper:1"]  # the aio create made a new agent's first version
    if order == "ours-first":  # their span wrapped ours: it is the one, with our attributes on it
        assert {span["scope"] for span in by_op["create_agent"]} != {"assistant_telemetry"}
    else:  # we wrapped theirs (or they are off): ours is the one
        assert {span["scope"] for span in by_op["create_agent"]} == {"assistant_telemetry"}


if __name__ == "__main__":
    print(json.dumps(_app(sys.argv[1]), default=str))

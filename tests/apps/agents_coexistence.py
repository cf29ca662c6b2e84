"""azure-ai-agents with assistant-telemetry and Azure's own AIAgentsInstrumentor, in one process.

Azure's instrumentor traces through azure-core's tracing and the *global* tracer provider,
so this runs in its own process (tests/test_azure_ai_agents.py starts it). The argument
says which instrumentations are on and in which order:

    ours | ours-first | theirs-first | theirs-then-ours-uninstrumented |
    ours-then-theirs-uninstrumented | theirs-first-then-theirs-uninstrumented

It drives every wrapped AgentsClient method (sync, then aio) and prints one JSON line: what
the app got back, and what each instrumentation emitted.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from azure.core.settings import settings
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

from azure_clients import agents_client, async_agents_client, every_agents_call
from scenarios import Content

OURS = "assistant_telemetry"


def setup(order: str, tracer_provider: Any, meter_provider: Any) -> None:
    from azure.ai.agents.telemetry import AIAgentsInstrumentor

    settings.tracing_implementation = "opentelemetry"  # what the Azure Monitor distro turns on
    theirs = AIAgentsInstrumentor()
    steps = {
        "ours": ["ours"],
        "ours-first": ["ours", "theirs"],
        "theirs-first": ["theirs", "ours"],
        "theirs-then-ours-uninstrumented": ["theirs", "ours", "-ours"],
        "ours-then-theirs-uninstrumented": ["ours", "theirs", "-theirs"],
        "theirs-first-then-theirs-uninstrumented": ["theirs", "ours", "-theirs"],
    }[order]
    for step in steps:
        if step == "ours":
            assistant_telemetry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        elif step == "theirs":
            theirs.instrument(enable_content_recording=False)
        elif step == "-ours":
            assistant_telemetry.uninstrument()
        else:
            theirs.uninstrument()


async def drive(sim: Simulator) -> dict[str, Any]:
    with agents_client(sim) as client:
        sync_ids = await every_agents_call(client, sim, Content())
    async with async_agents_client(sim) as aio:
        async_ids = await every_agents_call(aio, sim, Content())
    return {"sync": sync_ids, "async": async_ids}


def summary(spans: Any, reader: InMemoryMetricReader) -> dict[str, Any]:
    ours = [s for s in spans if s.instrumentation_scope.name == OURS]
    theirs = [s for s in spans if s.attributes.get(sc.SYSTEM) == "az.ai.agents" and s not in ours]
    our_ids = {s.context.span_id for s in ours}
    their_names = {s.context.span_id: s.name for s in theirs}
    points: dict[str, Any] = collections.defaultdict(int)
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "count", None)
                    points[f"{sm.scope.name}:{metric.name}"] += value if value is not None else point.value
                    if metric.name == sc.METRIC_TOKEN_USAGE:
                        points["token_sum"] += point.sum
    return {
        # Ours by operation (span names carry the agent's or tool's name).
        "ours": collections.Counter(s.attributes[sc.OPERATION_NAME] for s in ours),
        "ours_nested_in_ours": sum(1 for s in ours if s.parent and s.parent.span_id in our_ids),
        "ours_without_provider": sum(1 for s in ours if sc.PROVIDER_NAME not in s.attributes),
        "theirs": collections.Counter(s.name for s in theirs),
        # A span of ours beneath one of theirs for another call (an execute_tool span is the app's tool).
        "ours_under_theirs": collections.Counter(
            f"{s.attributes[sc.OPERATION_NAME]} < {their_names[s.parent.span_id]}"
            for s in ours
            if s.parent
            and s.parent.span_id in their_names
            and s.attributes[sc.OPERATION_NAME] != sc.OP_EXECUTE_TOOL
        ),
        "theirs_without_ours": collections.Counter(
            s.name for s in theirs if not any(k.startswith("assistant_telemetry.") for k in s.attributes)
        ),
        "theirs_with_provider": sum(1 for s in theirs if sc.PROVIDER_NAME in s.attributes),
        "theirs_with_ours": sum(
            1 for s in theirs if any(k.startswith("assistant_telemetry.") for k in s.attributes)
        ),
        "metrics": dict(points),
    }


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)
    setup(sys.argv[1], provider, meter_provider)
    with Simulator() as sim:
        ids = asyncio.run(drive(sim))
    print(json.dumps({"ids": ids, **summary(exporter.get_finished_spans(), reader)}))


if __name__ == "__main__":
    main()

"""Concurrency: 50 OS threads, then 500 asyncio tasks, each holding its own conversation at once.

Each worker opens its own parent span, then creates a thread, adds a message and runs it to
completion with ``create_and_poll`` (which polls), against the simulator over loopback HTTP
(real sockets, so threads and tasks genuinely interleave). Afterwards every span of ours must
sit under the worker that made the call, in that worker's trace, and carry the ids that worker
got back: no call's context, span or ids may leak into another's.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.trace import ReadableSpan

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

from guarantees import Pipeline
from mock_api import http_module

THREADS = 50
TASKS = 500
CALLS = ("create_thread", "create_message", sc.OP_INVOKE_AGENT)  # operations, one span each


@pytest.fixture
def pipeline(strict_guard: None, assistant: str) -> Iterator[Pipeline]:
    """Instrumented after the assistant exists: only the workers' calls make spans."""
    pipeline = Pipeline()
    assistant_telemetry.instrument(
        tracer_provider=pipeline.tracer_provider, meter_provider=pipeline.meter_provider
    )
    yield pipeline
    assistant_telemetry.uninstrument()


def _limits() -> Any:
    # A pool smaller than the crowd: the simulator's listen backlog is small, and waiting for a
    # pooled connection is one more place where workers interleave.
    return http_module().Limits(max_connections=16, max_keepalive_connections=16)


def conversation(client: Any, tracer: Any, name: str, barrier: threading.Barrier) -> dict[str, Any]:
    with tracer.start_as_current_span(name) as parent:
        barrier.wait()
        thread = client.beta.threads.create()
        message = client.beta.threads.messages.create(thread.id, role="user", content=f"hello from {name}")
        run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=ASSISTANT[0])
    return {"parent": parent, "thread": thread.id, "message": message.id, "run": run.id, "status": run.status}


async def async_conversation(client: Any, tracer: Any, name: str, go: asyncio.Event) -> dict[str, Any]:
    with tracer.start_as_current_span(name) as parent:
        await go.wait()
        thread = await client.beta.threads.create()
        message = await client.beta.threads.messages.create(
            thread.id, role="user", content=f"hello from {name}"
        )
        run = await client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=ASSISTANT[0])
    return {"parent": parent, "thread": thread.id, "message": message.id, "run": run.id, "status": run.status}


ASSISTANT: list[str] = []


@pytest.fixture
def assistant(sim: Simulator) -> str:
    client = openai.OpenAI(base_url=sim.base_url, api_key="sk-test")
    ASSISTANT[:] = [client.beta.assistants.create(model="gpt-4o").id]
    return ASSISTANT[0]


def check(pipeline: Pipeline, workers: list[dict[str, Any]]) -> None:
    spans = pipeline.spans
    by_parent: dict[int, list[ReadableSpan]] = defaultdict(list)
    for span in spans:
        if span.parent is not None:
            by_parent[span.parent.span_id].append(span)
    assert pipeline.counter.started == pipeline.counter.ended
    ours = [
        s for s in spans if s.instrumentation_scope and s.instrumentation_scope.name == "assistant_telemetry"
    ]
    assert len(ours) == len(CALLS) * len(workers), "one span per call, none lost, none extra"
    for worker in workers:
        parent = worker["parent"].get_span_context()
        children = by_parent[parent.span_id]
        assert sorted(s.attributes[sc.OPERATION_NAME] for s in children) == sorted(CALLS), worker
        by_name = {s.attributes[sc.OPERATION_NAME]: s for s in children}
        for span in children:
            assert span.context.trace_id == parent.trace_id
            assert span.attributes[sc.THREAD_ID] == worker["thread"], (span.name, worker)
        assert by_name["create_message"].attributes[sc.MESSAGE_ID] == worker["message"]
        run_span = by_name[sc.OP_INVOKE_AGENT].attributes
        assert run_span[sc.EXECUTION_DRIVER] == sc.DRIVER_HELPER
        assert run_span[sc.RUN_ID] == worker["run"]
        assert run_span[sc.RUN_STATUS] == worker["status"] == "completed"
        assert run_span[sc.RUN_POLLS] >= 1
    threads = {w["thread"] for w in workers}
    assert len(threads) == len(workers)  # the simulator really gave every worker its own thread
    assert most_open_at_once(ours) > 1, "the calls did not overlap: nothing was tested"


def most_open_at_once(spans: list[ReadableSpan]) -> int:
    edges = sorted([(s.start_time or 0, 1) for s in spans] + [(s.end_time or 0, -1) for s in spans])
    open_now = most = 0
    for _, step in edges:
        open_now += step
        most = max(most, open_now)
    return most


def test_threads(pipeline: Pipeline, sim: Simulator) -> None:
    http = http_module()
    client = openai.OpenAI(
        base_url=sim.base_url, api_key="sk-test", http_client=http.Client(limits=_limits()), max_retries=3
    )
    tracer = pipeline.tracer_provider.get_tracer("test.workers")
    barrier = threading.Barrier(THREADS)
    workers: list[dict[str, Any]] = [{} for _ in range(THREADS)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            workers[index] = conversation(client, tracer, f"worker-{index}", barrier)
        except BaseException as error:  # reported below, with the others
            errors.append(error)
            barrier.abort()

    pool = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    check(pipeline, workers)


def test_asyncio_tasks(pipeline: Pipeline, sim: Simulator) -> None:
    http = http_module()
    tracer = pipeline.tracer_provider.get_tracer("test.workers")

    async def main() -> list[dict[str, Any]]:
        client = openai.AsyncOpenAI(
            base_url=sim.base_url,
            api_key="sk-test",
            http_client=http.AsyncClient(limits=_limits()),
            max_retries=3,
        )
        go = asyncio.Event()
        tasks = [
            asyncio.create_task(async_conversation(client, tracer, f"task-{i}", go)) for i in range(TASKS)
        ]
        await asyncio.sleep(0)
        go.set()
        return await asyncio.gather(*tasks)

    workers = asyncio.run(main())
    check(pipeline, workers)

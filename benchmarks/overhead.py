"""Per-call overhead of the instrumentation, as ratios within one run (machines here are noisy).

Same calls through the real openai client and an in-process mock transport (no network):
uninstrumented vs instrumented, next to the floor, one span with 15 attributes through a
BatchSpanProcessor to a discarding exporter. Usage: python benchmarks/overhead.py [calls]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

import assistant_telemetry

warnings.filterwarnings("ignore", category=DeprecationWarning)

BODIES = {
    "/v1/threads/thread_1/messages": {
        "id": "msg_1", "object": "thread.message", "created_at": 1, "thread_id": "thread_1", "role": "user",
        "status": "completed", "content": [{"type": "text", "text": {"value": "hi", "annotations": []}}],
        "attachments": [], "metadata": {}, "assistant_id": None, "run_id": None,
    },
    "/v1/threads/thread_1/runs/run_1": {
        "id": "run_1", "object": "thread.run", "created_at": 1, "thread_id": "thread_1", "assistant_id": "asst_1",
        "status": "completed", "model": "gpt-4o", "instructions": "", "tools": [], "metadata": {},
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}, "parallel_tool_calls": True,
    },
}  # fmt: skip
HEADERS = {"x-request-id": "req_0123456789abcdef", "openai-processing-ms": "12", "x-ratelimit-remaining-requests": "99"}


class Discard(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def handler(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, content=json.dumps(BODIES[request.url.path]).encode(), headers=HEADERS)


def client() -> Any:
    transport = httpx2.MockTransport(handler)
    return openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", http_client=httpx2.Client(transport=transport))


def per_call_us(fn: Callable[[], Any], calls: int, rounds: int = 5) -> float:
    for _ in range(calls // 10):
        fn()
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(samples)


def main(calls: int = 2000) -> None:
    c = client()
    workloads = {
        "messages.create": lambda: c.beta.threads.messages.create("thread_1", role="user", content="hi"),
        "runs.retrieve": lambda: c.beta.threads.runs.retrieve("run_1", thread_id="thread_1"),
    }
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Discard()))
    tracer = provider.get_tracer("floor")
    attrs = {f"attribute.{i}": f"value-{i}" for i in range(15)}

    def floor() -> None:
        tracer.start_span("floor", attributes=attrs).end()

    floor_us = per_call_us(floor, calls)
    base = {name: per_call_us(fn, calls) for name, fn in workloads.items()}
    assistant_telemetry.instrument(tracer_provider=provider, meter_provider=MeterProvider())
    instrumented = {name: per_call_us(fn, calls) for name, fn in workloads.items()}
    assistant_telemetry.uninstrument()
    sampled_out = TracerProvider(sampler=ALWAYS_OFF)
    assistant_telemetry.instrument(tracer_provider=sampled_out, meter_provider=MeterProvider())
    not_recording = {name: per_call_us(fn, calls) for name, fn in workloads.items()}
    assistant_telemetry.uninstrument()
    print(f"floor (one span, 15 attributes, batch processor): {floor_us:.1f} us")
    print(f"{'call':<18}{'plain us':>10}{'overhead us':>13}{'x floor':>9}{'not-recording us':>18}{'x floor':>9}")
    for name in workloads:
        over = instrumented[name] - base[name]
        idle = not_recording[name] - base[name]
        print(f"{name:<18}{base[name]:>10.1f}{over:>13.1f}{over / floor_us:>9.2f}{idle:>18.1f}{idle / floor_us:>9.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)

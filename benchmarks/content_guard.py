"""Per-span cost of the content guard, as ratios within one run (machines here are noisy).

The same finished spans (real SDK ``ReadableSpan``s, built once) are exported in batches of
512, as ``BatchSpanProcessor`` hands them over, to an exporter that does what the OTLP
exporter does before it sends (encode the batch to protobuf bytes) and then discards them:
directly, and through ``GuardedSpanExporter``. Rounds interleave the two, the order alternating; a
shape's cost is the median over rounds of the paired difference, in CPU time of this
process. "guard alone" is the guard's own work on the batch; the guarded export can cost
less than plain + guard alone, since the encoder then has less to encode. For scale, the
same run measures the floor: making one span with 15 attributes (start, set, end) with a
provider whose processor does nothing.

Shapes: a span of ours (15 attributes, nothing to remove: passed on as the same object),
an OpenLLMetry chat span (input/output messages and tool definitions removed), an
OpenInference chat span (input/output values and 8 message attributes removed, plus an
exception event) and a GenAI event log record (body removed).

Usage: python benchmarks/content_guard.py [rounds] [--markdown]
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from assistant_telemetry.content_guard import ContentGuard, GuardedLogRecordExporter, GuardedSpanExporter

BATCH = 512
MESSAGES = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "What is the weather?" * 20}]}])
OURS = {f"assistant_telemetry.attribute_{i}": f"value-{i}" for i in range(13)} | {
    "gen_ai.operation.name": "create_message",
    "gen_ai.thread.id": "thread_0123456789abcdef",
}
OPENLLMETRY = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o",
    "gen_ai.response.model": "gpt-4o",
    "gen_ai.response.id": "chatcmpl-123",
    "gen_ai.usage.input_tokens": 17,
    "gen_ai.usage.output_tokens": 7,
    "gen_ai.input.messages": MESSAGES,
    "gen_ai.output.messages": MESSAGES,
    "gen_ai.tool.definitions": MESSAGES,
    "server.address": "127.0.0.1",
}
OPENINFERENCE = (
    {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o",
        "llm.token_count.prompt": 17,
        "input.value": MESSAGES,
        "input.mime_type": "application/json",
        "output.value": MESSAGES,
        "output.mime_type": "application/json",
    }
    | {f"llm.input_messages.{i}.message.{k}": "text" * 10 for i in range(3) for k in ("role", "content")}
    | {
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "answer" * 10,
    }
)


class OtlpEncode(SpanExporter):
    """The OTLP exporter's CPU work without the network: encode the batch, drop the bytes."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        encode_spans(spans).SerializeToString()
        return SpanExportResult.SUCCESS


class OtlpEncodeLogs:
    def export(self, batch: Sequence[Any]) -> None:
        encode_logs(batch).SerializeToString()

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 0) -> bool:
        return True


class Nothing(SpanProcessor):
    pass


def finished(attributes: dict[str, Any], error: bool = False) -> ReadableSpan:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("bench").start_as_current_span("chat", record_exception=False) as span:
        span.set_attributes(attributes)
        if error:
            span.add_event(
                "exception", {"exception.type": "openai.BadRequestError", "exception.message": "x" * 200}
            )
            span.set_status(Status(StatusCode.ERROR, "BadRequestError: " + "x" * 200))
    return exporter.get_finished_spans()[0]


def log_record() -> Any:
    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    body = {"content": "What is the weather?" * 20}
    provider.get_logger("bench").emit(LogRecord(event_name="gen_ai.user.message", body=body))
    return exporter.get_finished_logs()[0]


def cpu_per_item(fn: Callable[[], Any], items: int, min_s: float = 0.005) -> float:
    """CPU seconds per item of one block of calls lasting at least ``min_s``."""
    repeat, elapsed = 1, 0.0
    while True:
        start = time.process_time()
        for _ in range(repeat):
            fn()
        elapsed = time.process_time() - start
        if elapsed >= min_s:
            return elapsed / (repeat * items)
        repeat *= 2


def paired(plain: Callable[[], Any], guarded: Callable[[], Any], rounds: int) -> tuple[float, float]:
    """Median plain cost per item and median paired extra cost of the guarded call, over rounds."""
    bases, extras = [], []
    for round_ in range(rounds):
        first, second = (plain, guarded) if round_ % 2 == 0 else (guarded, plain)
        a, b = cpu_per_item(first, BATCH), cpu_per_item(second, BATCH)
        base, with_guard = (a, b) if first is plain else (b, a)
        bases.append(base)
        extras.append(with_guard - base)
    return statistics.median(bases), statistics.median(extras)


def floor_per_span(rounds: int) -> float:
    provider = TracerProvider()
    provider.add_span_processor(Nothing())
    tracer = provider.get_tracer("floor")
    attrs = {f"attribute.{i}": f"value-{i}" for i in range(15)}

    def make() -> None:
        for _ in range(BATCH):
            with tracer.start_as_current_span("op") as span:
                span.set_attributes(attrs)

    return statistics.median(cpu_per_item(make, BATCH) for _ in range(rounds))


def main(rounds: int = 21, markdown: bool = False) -> None:
    guard = ContentGuard(meter_provider=MeterProvider(metric_readers=[InMemoryMetricReader()]))
    discard = OtlpEncode()
    guarded_exporter = GuardedSpanExporter(discard, guard)
    shapes = {
        "ours (nothing to remove)": [finished(OURS)] * BATCH,
        "OpenLLMetry chat (3 removed)": [finished(OPENLLMETRY)] * BATCH,
        "OpenInference chat, failed (13 removed)": [finished(OPENINFERENCE, error=True)] * BATCH,
    }
    floor = floor_per_span(rounds)
    rows = [
        (
            "shape",
            "OTLP encode us/item",
            "guard alone us/item",
            "guarded export adds us/item",
            "guarded / plain",
        )
    ]
    for name, batch in shapes.items():
        alone = statistics.median(
            cpu_per_item(lambda b=batch: guard.clean(b, guard.span, True), BATCH) for _ in range(rounds)
        )
        base, extra = paired(
            lambda b=batch: discard.export(b), lambda b=batch: guarded_exporter.export(b), rounds
        )
        rows.append(row(name, base, alone, extra))
    logs = [log_record()] * BATCH
    log_sink = OtlpEncodeLogs()
    guarded_logs = GuardedLogRecordExporter(log_sink, guard)
    alone = statistics.median(
        cpu_per_item(lambda: guard.clean(logs, guard.log, True), BATCH) for _ in range(rounds)
    )
    base, extra = paired(lambda: log_sink.export(logs), lambda: guarded_logs.export(logs), rounds)
    rows.append(row("GenAI event log record (body removed)", base, alone, extra))
    print(f"span floor (start, 15 attributes, end; no-op processor): {floor * 1e6:.1f} us CPU per span")
    print(f"{rounds} interleaved rounds, batches of {BATCH}; medians of paired differences\n")
    print(render(rows, markdown))


def row(name: str, base: float, alone: float, extra: float) -> tuple[str, ...]:
    us = [f"{value * 1e6:.2f}" for value in (base, alone, extra)]
    return (name, *us, f"{(base + extra) / base:.2f}")


def render(rows: list[tuple[str, ...]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("---" if i == 0 else "---:" for i in range(len(rows[0]))) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 21, markdown="--markdown" in sys.argv)

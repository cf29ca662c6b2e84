"""Interleaved A/B timing for a noisy, shared 2-core machine, and the floor span.

The method (docs/performance.md explains why each step is there):
- CPU time of this process (``time.process_time``), not wall time: another tenant taking the
  core does not count, our own exporter thread does;
- instrumentation is switched on and off *between single calls*: ``Toggle`` flips every
  wrapt wrapper under ``openai`` back to the original function and again (microseconds,
  where ``uninstrument()`` + ``instrument()`` take milliseconds), and ``SwitchSampler``
  turns sampling off and on; so the variants' calls are microseconds apart and the
  machine's drifting speed hits them alike;
- the variants' order cycles through a balanced Latin square (``orders``), round after round:
  every variant at every position, and right after every other variant, equally often;
- a variant's cost is the median over rounds of its block minus the uninstrumented block
  of the same round (paired differences), with a distribution-free 95% interval;
- objects alive after warm-up are frozen (``gc.freeze``): collections scan what the calls
  allocate (ours included), not the SDK's hundred thousand long-lived objects.
"""

from __future__ import annotations

import gc
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    InMemoryMetricReader,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # mock_api: the canned API shared with the tests

FLOOR_ATTRIBUTES = 15
clock = time.process_time


class DiscardSpans(SpanExporter):
    """Accepts, counts and forgets: the floor measures the SDK's work, not an exporter's."""

    def __init__(self) -> None:
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        return SpanExportResult.SUCCESS


class DiscardMetrics(MetricExporter):
    def __init__(self) -> None:
        super().__init__(preferred_temporality={}, preferred_aggregation={})

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


class SwitchSampler(Sampler):
    """ALWAYS_ON or ALWAYS_OFF, switchable at run time (``recording``)."""

    def __init__(self) -> None:
        self.recording = True

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: Any = None,
        attributes: Any = None,
        links: Any = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        sampler = ALWAYS_ON if self.recording else ALWAYS_OFF
        return sampler.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

    def get_description(self) -> str:
        return "SwitchSampler"


@dataclass
class Pipeline:
    """What the application would have: a TracerProvider with the SDK's default BatchSpanProcessor
    (here to a discarding exporter) and a MeterProvider aggregating like production (a periodic
    reader, once a minute).

    ``threads=False``: no SDK thread at all, for counting under callgrind (which counts every
    thread): spans exported as they end, metrics kept for a reader that is never asked.
    """

    sampler: SwitchSampler = field(default_factory=SwitchSampler)
    spans: DiscardSpans = field(default_factory=DiscardSpans)
    threads: bool = True
    tracer_provider: TracerProvider = field(init=False)
    meter_provider: MeterProvider = field(init=False)

    def __post_init__(self) -> None:
        self.tracer_provider = TracerProvider(sampler=self.sampler)
        processor = BatchSpanProcessor if self.threads else SimpleSpanProcessor
        self.tracer_provider.add_span_processor(processor(self.spans))
        reader: MetricReader = InMemoryMetricReader()
        if self.threads:
            reader = PeriodicExportingMetricReader(DiscardMetrics(), export_interval_millis=60_000)
        self.meter_provider = MeterProvider(metric_readers=[reader])

    def exported(self) -> int:
        self.tracer_provider.force_flush()
        return self.spans.exported

    def floor(self, own_provider: bool = True) -> Callable[[], None]:
        """The floor: one span with 15 attributes started and ended.

        On a provider of its own (BatchSpanProcessor to a discarding exporter, nothing else) by
        default; ``own_provider=False`` uses the application's provider, with whatever span
        processors the instrumentation added to it.
        """
        provider = self.tracer_provider
        if own_provider:
            provider = TracerProvider()
            provider.add_span_processor(BatchSpanProcessor(DiscardSpans()))
        tracer = provider.get_tracer("benchmark.floor")
        attrs = {f"benchmark.attribute_{i}": f"value-{i:04d}" for i in range(FLOOR_ATTRIBUTES)}

        def floor() -> None:
            tracer.start_span("floor", attributes=attrs).end()

        return floor

    def floor_around(self) -> Callable[[str, Callable[[], Any]], Callable[[], Any]]:
        """The floor's span (same provider, same 15 attributes) around a real call: what the floor
        costs in the call's own conditions (caches the SDK's work has just churned)."""
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(DiscardSpans()))
        tracer = provider.get_tracer("benchmark.floor")
        attrs = {f"benchmark.attribute_{i}": f"value-{i:04d}" for i in range(FLOOR_ATTRIBUTES)}

        def around(workload: str, call: Callable[[], Any]) -> Callable[[], Any]:
            def spanned() -> Any:
                span = tracer.start_span("floor", attributes=attrs)
                try:
                    return call()
                finally:
                    span.end()

            return spanned

        return around


class Toggle:
    """Every wrapt wrapper found on ``package``'s classes and modules, flipped on and off in place.

    Off puts the original functions back exactly where they were (what ``uninstrument()`` does),
    without the flush and re-setup that make a real uninstrument/instrument take milliseconds.
    """

    def __init__(self, package: str = "openai") -> None:
        self.patches = list(_wrapped(package))
        if not self.patches:
            raise RuntimeError(f"nothing under {package!r} is wrapped: instrument first")

    def set(self, on: bool) -> None:
        for owner, name, wrapper in self.patches:
            setattr(owner, name, wrapper if on else wrapper.__wrapped__)


def _wrapped(package: str) -> Iterator[tuple[Any, str, Any]]:
    seen: set[tuple[int, str]] = set()
    for module_name, module in list(sys.modules.items()):
        if not isinstance(module, ModuleType) or module_name.split(".")[0] != package:
            continue
        owners: list[Any] = [module]
        owners += [v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module_name]
        for owner in owners:
            for name, value in list(vars(owner).items()):
                if isinstance(value, wrapt.FunctionWrapper) and (id(owner), name) not in seen:
                    seen.add((id(owner), name))
                    yield owner, name, value


@dataclass
class Workload:
    name: str
    make: Callable[[Any], Callable[[], Any]]  # client -> the call to time


@dataclass
class Variant:
    """A state of the process: ``enter()`` puts it there (cheaply); ``client()`` builds a client.

    Each variant has its own client, built while in that state: the SDK caches bound methods
    (``with_raw_response``) at first use, so a client first used instrumented stays so.
    """

    name: str
    enter: Callable[[], None]
    client: Callable[[], Any]
    # Wraps every call: (workload name, call) -> the call to time instead.
    around: Callable[[str, Callable[[], Any]], Callable[[], Any]] | None = None
    skip: frozenset[str] = frozenset()  # workloads not timed under this variant (interleave)
    _calls: dict[str, Callable[[], Any]] = field(default_factory=dict, repr=False)

    def calls(self, workloads: Sequence[Workload]) -> dict[str, Callable[[], Any]]:
        if not self._calls:
            self.enter()
            client = self.client()
            self._calls = {w.name: w.make(client) for w in workloads}
            if self.around is not None:
                self._calls = {name: self.around(name, call) for name, call in self._calls.items()}
        return self._calls


@dataclass
class Estimate:
    """Median of paired differences (seconds per call) and a distribution-free 95% interval."""

    median: float
    low: float
    high: float
    samples: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Estimate:
        ordered = sorted(values)
        n = len(ordered)
        half = 0.98 * math.sqrt(n)  # ranks n/2 -+ 1.96*sqrt(n)/2: the median's 95% interval
        low = ordered[max(0, int(n / 2 - half))]
        high = ordered[min(n - 1, math.ceil(n / 2 + half))]
        return cls(statistics.median(ordered), low, high, n)


@dataclass
class Results:
    """Per-call seconds: ``blocks[variant][workload]`` holds one value per round."""

    blocks: dict[str, dict[str, list[float]]]
    floor: list[float]
    baseline: str
    spans_per_call: dict[str, float] = field(default_factory=dict)
    every_span: Estimate | None = None  # what instrument() adds to every span of the app (overhead.py)
    sdk_work: dict[str, str] = field(default_factory=dict)  # what a call asks of the SDK (overhead.py)
    notes: list[str] = field(default_factory=list)  # more lines for the table's head

    def plain(self, workload: str) -> float:
        return statistics.median(self.blocks[self.baseline][workload])

    def overhead(self, variant: str, workload: str) -> Estimate:
        return self.difference(variant, self.baseline, workload)

    def difference(self, variant: str, other: str, workload: str) -> Estimate:
        """``variant`` minus ``other``, paired by round (both blocks timed in the same round)."""
        pairs = zip(self.blocks[variant][workload], self.blocks[other][workload], strict=True)
        return Estimate.of([mine - theirs for mine, theirs in pairs])

    def floor_s(self) -> float:
        return statistics.median(self.floor)

    @property
    def rounds(self) -> int:
        return len(self.floor)


def warm(fn: Callable[[], Any]) -> None:
    """A few calls first: lazy imports, first-call caches, specialized bytecode."""
    for _ in range(3):
        fn()


def block_size(fn: Callable[[], Any], block_s: float) -> int:
    """How many calls fill a block of about ``block_s`` CPU seconds (at least 1)."""
    warm(fn)
    start = clock()
    for _ in range(10):
        fn()
    return max(1, round(block_s / max((clock() - start) / 10, 1e-7)))


def timed(fn: Callable[[], Any], calls: int) -> float:
    start = clock()
    for _ in range(calls):
        fn()
    return (clock() - start) / calls


def orders(n: int) -> list[tuple[int, ...]]:
    """The variants' orders, one per round, cycled: a balanced Latin square (Williams design).

    Each variant is at each position once per cycle and, for even ``n``, right after each other
    variant exactly once (odd ``n`` adds the mirrored square to get there), so the position in
    the round and the variant timed just before (warm or churned caches) weigh on all alike.
    Cycling through every permutation did that too, but only once all ``n!`` had been run: with
    6 variants a 2 s run (~20 rounds) covered 20 of the 720, all with the same two variants
    first, and a 60 s run (~520 rounds) not one cycle. The square's cycle is ``n`` rounds (``2n``
    when odd): 6 in overhead.py.
    """
    first = [0] + [(k + 1) // 2 if k % 2 else n - k // 2 for k in range(1, n)]  # 0, 1, n-1, 2, n-2 ...
    square = [tuple((v + shift) % n for v in first) for shift in range(n)]
    if n % 2:
        square += [row[::-1] for row in square]
    return square


def interleave(
    variants: Sequence[Variant],
    workloads: Sequence[Workload],
    floor: Variant,
    seconds: float,
    block_s: float,
    min_rounds: int = 5,
    progress: Callable[[int, float], None] | None = None,
) -> Results:
    """Round after round for ``seconds`` (wall): every workload under every variant, then the floor.

    ``floor`` is a variant whose client *is* the floor call (``make`` is not used).
    """
    calls = [v.calls(workloads) for v in variants]
    sizes = {}
    for workload in workloads:
        variants[0].enter()
        sizes[workload.name] = block_size(calls[0][workload.name], block_s)
        for variant, fns in zip(variants[1:], calls[1:], strict=True):  # warm the others (the first was)
            if workload.name in variant.skip:
                continue
            variant.enter()
            warm(fns[workload.name])
    floor.enter()
    floor_fn = floor.client()
    floor_calls = block_size(floor_fn, block_s)
    gc.collect()
    gc.freeze()
    blocks: dict[str, dict[str, list[float]]] = {v.name: {w.name: [] for w in workloads} for v in variants}
    floors: list[float] = []
    cycle = orders(len(variants))
    deadline = time.monotonic() + seconds
    while len(floors) < min_rounds or time.monotonic() < deadline:
        order = cycle[len(floors) % len(cycle)]
        for workload in workloads:
            for index in order:
                if workload.name in variants[index].skip:
                    continue
                variants[index].enter()
                blocks[variants[index].name][workload.name].append(
                    timed(calls[index][workload.name], sizes[workload.name])
                )
        floor.enter()
        floors.append(timed(floor_fn, floor_calls))
        if progress is not None:
            progress(len(floors), deadline - time.monotonic())
    gc.unfreeze()
    return Results(blocks, floors, variants[0].name)


def render(rows: Sequence[Sequence[str]], markdown: bool = False, left: int = 1) -> str:
    """A table: the first ``left`` columns flush left, numbers flush right; or markdown."""
    if markdown:
        lines = ["| " + " | ".join(row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("---" if i < left else "---:" for i in range(len(rows[0]))) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]

    def line(row: Sequence[str]) -> str:
        cells = zip(row, widths, strict=True)
        return "  ".join(c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(cells))

    return "\n".join(line(row) for row in rows)

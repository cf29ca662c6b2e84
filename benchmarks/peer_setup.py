"""Several instrumentations in one process, each switchable on alone, and what one call writes.

Used by benchmarks/peers.py. Each instrumentation is applied in turn to the same clean openai,
``agents`` and ``agent_framework`` packages; whatever it changed there (wrapt wrappers, or plain
functions as azure-ai-projects sets them) is recorded as its patch set and the originals are put
back before the next one.
``Patches.activate(peer)`` then puts exactly one peer's functions in place (or none), in
microseconds, so peers can be interleaved call by call like overhead.py's variants.

Each peer gets its own pipeline (``PeerPipeline``): the application's usual providers (a
BatchSpanProcessor to a discarding exporter, a periodic metric reader) whose exporters can be
told to keep what one call produced, so counting spans, attributes and metric records and
serializing them costs nothing while timing.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from opentelemetry.sdk.metrics import Counter, Histogram, MeterProvider, UpDownCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from measure import SwitchSampler

# Where the peers' patches are looked for: openai, and the agent frameworks we and Agent Framework's
# own observability patch (their modules must be imported before recording: see peers.py).
PACKAGES = ("openai", "agents", "agent_framework")
LAZY = ("openai",)  # loads its resource modules lazily: every submodule is imported first
AZURE_CONNECTION = (
    "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
)


class KeepSpans(SpanExporter):
    """Discards, unless ``keep`` is a list: then the spans are appended to it."""

    def __init__(self) -> None:
        self.keep: list[ReadableSpan] | None = None
        self.exported = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exported += len(spans)
        if self.keep is not None:
            self.keep.extend(spans)
        return SpanExportResult.SUCCESS


class KeepMetrics(MetricExporter):
    """Delta temporality, so one collection holds what was recorded since the previous one."""

    def __init__(self) -> None:
        delta = AggregationTemporality.DELTA
        super().__init__(
            preferred_temporality={Counter: delta, UpDownCounter: delta, Histogram: delta},
            preferred_aggregation={},
        )
        self.last: MetricsData | None = None

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        self.last = metrics_data
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


@dataclass
class PeerPipeline:
    """One peer's providers, as an application would have them (see measure.Pipeline)."""

    sampler: SwitchSampler = field(default_factory=SwitchSampler)
    spans: KeepSpans = field(default_factory=KeepSpans)
    metrics: KeepMetrics = field(default_factory=KeepMetrics)
    tracer_provider: TracerProvider = field(init=False)
    meter_provider: MeterProvider = field(init=False)

    def __post_init__(self) -> None:
        self.tracer_provider = TracerProvider(sampler=self.sampler)
        self.tracer_provider.add_span_processor(BatchSpanProcessor(self.spans))
        reader = PeriodicExportingMetricReader(self.metrics, export_interval_millis=60_000)
        self.meter_provider = MeterProvider(metric_readers=[reader])


@dataclass
class Written:
    """What one call wrote: spans, their attributes and events, metric records, bytes."""

    spans: int
    attributes: int
    events: int
    records: int
    otlp_bytes: int
    azure_bytes: int | None
    content: bool  # the canary (the request's text) appeared in an attribute or event


def written(pipeline: PeerPipeline, call: Callable[[], Any], canary: str, azure: Azure | None) -> Written:
    """Run ``call`` once and report what reached ``pipeline``'s exporters because of it."""
    pipeline.tracer_provider.force_flush()
    pipeline.meter_provider.force_flush()  # delta: what came before is collected away
    consumer = pipeline.meter_provider._measurement_consumer  # the SDK's single entry for records
    records = 0
    consume = consumer.consume_measurement

    def counting(measurement: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal records
        records += 1
        return consume(measurement, *args, **kwargs)

    kept: list[ReadableSpan] = []
    pipeline.spans.keep = kept
    consumer.consume_measurement = counting  # type: ignore[method-assign]  # this instance only
    try:
        call()
        pipeline.tracer_provider.force_flush()
    finally:
        del consumer.consume_measurement
        pipeline.spans.keep = None
    pipeline.metrics.last = None
    pipeline.meter_provider.force_flush()
    data = pipeline.metrics.last
    return Written(
        spans=len(kept),
        attributes=sum(len(span.attributes or {}) for span in kept),
        events=sum(len(span.events) for span in kept),
        records=records,
        otlp_bytes=otlp_bytes(kept, data),
        azure_bytes=None if azure is None else azure.size(kept, data),
        content=any(canary in text for text in _texts(kept)),
    )


def _texts(spans: Sequence[ReadableSpan]) -> Iterator[str]:
    for span in spans:
        yield span.name
        for attributes in [span.attributes or {}, *(event.attributes or {} for event in span.events)]:
            for value in attributes.values():
                yield str(value)


def otlp_bytes(spans: Sequence[ReadableSpan], data: MetricsData | None) -> int:
    """Protobuf size of the ExportTraceServiceRequest and ExportMetricsServiceRequest, as the OTLP
    exporters would send them (their own encoders)."""
    from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    size = encode_spans(spans).ByteSize() if spans else 0
    if data is not None and any(_points(data)):
        size += encode_metrics(data).ByteSize()
    return size


def _points(data: MetricsData) -> Iterator[Any]:
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                yield from metric.data.data_points


class Azure:
    """The Azure Monitor exporters' own envelope code and JSON encoder, never their transmit."""

    def __init__(self) -> None:
        os.environ.setdefault("APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL", "true")
        from azure.monitor.opentelemetry.exporter import (
            AzureMonitorMetricExporter,
            AzureMonitorTraceExporter,
        )
        from azure.monitor.opentelemetry.exporter._generated.exporter._utils.model_base import (
            SdkJSONEncoder,
        )

        options = {"connection_string": AZURE_CONNECTION, "disable_offline_storage": True}
        self.traces = AzureMonitorTraceExporter(**options)
        self.metrics = AzureMonitorMetricExporter(**options)
        self.encoder = SdkJSONEncoder

    @classmethod
    def available(cls) -> Azure | None:
        try:
            return cls()
        except ImportError:
            return None

    def size(self, spans: Sequence[ReadableSpan], data: MetricsData | None) -> int:
        """Bytes of the JSON body ``track`` would POST: span envelopes, their event envelopes and
        one envelope per metric point (the per-batch resource envelope left out)."""
        envelopes: list[Any] = []
        for span in spans:
            envelopes.append(self.traces._span_to_envelope(span))
            envelopes.extend(self.traces._span_events_to_envelopes(span))
        if data is not None:
            for resource in data.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        for point in metric.data.data_points:
                            envelope = self.metrics._point_to_envelope(
                                point, metric.name, resource.resource, scope.scope
                            )
                            if envelope is not None:
                                envelopes.append(envelope)
        if not envelopes:
            return 0
        return len(json.dumps(envelopes, cls=self.encoder, exclude_readonly=True).encode())


# --- patch sets --------------------------------------------------------------------------------

Location = tuple[Any, str]  # (module or class, attribute name)


def _snapshot(packages: Sequence[str] = PACKAGES) -> dict[Location, Any]:
    found: dict[Location, Any] = {}
    for module_name, module in list(sys.modules.items()):
        if not isinstance(module, ModuleType) or module_name.split(".")[0] not in packages:
            continue
        owners: list[Any] = [module]
        # issubclass(type(v), type), not isinstance: openai's lazy proxies (numpy ...) load on __class__
        owners += [
            v for v in vars(module).values() if issubclass(type(v), type) and v.__module__ == module_name
        ]
        for owner in owners:
            for name, value in list(vars(owner).items()):
                found[(owner, name)] = value
    return found


_MISSING = object()


def _import_all(packages: Sequence[str] = LAZY) -> None:
    """Import every submodule, so that what an instrumentation imports is not mistaken for a patch
    and what it patches is seen (openai loads its resource modules lazily)."""
    import importlib
    import pkgutil

    for name in packages:
        package = importlib.import_module(name)
        # onerror: a subpackage that needs a missing extra (numpy ...) raises more than ImportError
        for found in pkgutil.walk_packages(package.__path__, name + ".", onerror=lambda _: None):
            try:
                importlib.import_module(found.name)
            except Exception:
                continue


@dataclass
class Patches:
    """Every peer's patches, recorded one peer at a time on the same original functions."""

    originals: dict[Location, Any] = field(default_factory=dict)
    by_peer: dict[str, dict[Location, Any]] = field(default_factory=dict)
    active: str | None = None

    def record(self, peer: str, instrument: Callable[[], None]) -> int:
        """Apply ``instrument``, keep what it changed as ``peer``'s, restore the originals."""
        if not self.by_peer:
            _import_all()
        before = _snapshot()
        instrument()
        after = _snapshot()
        owners = {id(owner) for owner, _ in before}  # a module imported meanwhile is not a patch
        changed = {
            key: value
            for key, value in after.items()
            if id(key[0]) in owners and before.get(key, _MISSING) is not value
        }
        for key in changed:
            self.originals.setdefault(key, before.get(key, _MISSING))
            self._put(key, self.originals[key])
        self.by_peer[peer] = changed
        return len(changed)

    def activate(self, peer: str | None) -> None:
        """Only ``peer``'s functions in place (none when ``peer`` is None)."""
        if peer == self.active:
            return
        mine = self.by_peer.get(peer, {}) if peer is not None else {}
        for key, original in self.originals.items():
            self._put(key, mine.get(key, original))
        self.active = peer

    @staticmethod
    def _put(key: Location, value: Any) -> None:
        owner, name = key
        if value is _MISSING:
            if name in vars(owner):
                delattr(owner, name)
        else:
            setattr(owner, name, value)


@dataclass
class PeerToggle:
    """``measure.Toggle``'s interface (``set(on)``) for one peer of a ``Patches``."""

    patches: Patches
    peer: str

    def set(self, on: bool) -> None:
        self.patches.activate(self.peer if on else None)

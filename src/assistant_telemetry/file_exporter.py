"""The zero-setup destination: spans and metrics appended as JSON lines to a local file.

One JSON object per line, ``{"signal": "span", ...}`` or ``{"signal": "metric", ...}``,
so the CLI (and ``jq``) can stream it later without loading it whole.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

DEFAULT_PATH = "assistant-telemetry.jsonl"
PATH_ENV = "ASSISTANT_TELEMETRY_FILE"


def default_path() -> str:
    """``$ASSISTANT_TELEMETRY_FILE``, else ``assistant-telemetry.jsonl`` in the working directory."""
    return os.environ.get(PATH_ENV) or DEFAULT_PATH


class _JsonLines:
    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        lines = "".join(json.dumps(r, separators=(",", ":"), default=str) + "\n" for r in records)
        if lines:
            with self._lock, open(self.path, "a", encoding="utf-8") as out:
                out.write(lines)


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one ``{"signal": "span"}`` line."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        self._out = _JsonLines(path or default_path())
        self.path = self._out.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self._out.write(span_record(span) for span in spans)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class JsonLinesMetricExporter(MetricExporter):
    """Writes each metric data point as one ``{"signal": "metric"}`` line."""

    def __init__(self, path: str | os.PathLike[str] | None = None):
        super().__init__()
        self._out = _JsonLines(path or default_path())

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            self._out.write(metric_records(metrics_data))
        except OSError:
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


def span_record(span: ReadableSpan) -> dict[str, Any]:
    ctx = span.get_span_context()
    parent = span.parent
    return {
        "signal": "span",
        "name": span.name,
        "trace_id": f"{ctx.trace_id:032x}" if ctx else None,
        "span_id": f"{ctx.span_id:016x}" if ctx else None,
        "parent_span_id": f"{parent.span_id:016x}" if parent else None,
        "kind": span.kind.name,
        "start_time_unix_nano": span.start_time,
        "end_time_unix_nano": span.end_time,
        "status": span.status.status_code.name,
        "attributes": dict(span.attributes or {}),
        "events": [
            {"name": e.name, "time_unix_nano": e.timestamp, "attributes": dict(e.attributes or {})}
            for e in span.events
        ],
        "resource": dict(span.resource.attributes) if span.resource else {},
        "scope": span.instrumentation_scope.name if span.instrumentation_scope else None,
    }


def metric_records(data: MetricsData) -> Iterable[dict[str, Any]]:
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    point_json = json.loads(point.to_json())
                    yield {"signal": "metric", "name": metric.name, "unit": metric.unit, "point": point_json}

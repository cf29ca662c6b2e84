"""The zero-setup destination: spans and metrics appended as JSON lines to a local file.

One JSON object per line, ``{"signal": "span", ...}`` or ``{"signal": "metric", ...}``,
so the CLI (and ``jq``) can stream it later without loading it whole.

Bounded and shareable: the file rotates by size (``config.FileLimits``: ``<path>.1`` ... newest
kept); several processes may write the same path. Each write is whole lines in one ``write()`` on
an ``O_APPEND`` descriptor (so lines never interleave), rotation happens under an ``flock`` on
``<path>.lock`` and a writer whose file was rotated away by another process reopens the path.
Metric points are deltas: an idle process writes none. In a forked child the lock and the
descriptor are made anew (a lock held by another thread at ``fork()`` would stay held forever).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .config import FileLimits

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: rotation is then only safe within one process
    fcntl = None  # type: ignore[assignment]

DEFAULT_PATH = "assistant-telemetry.jsonl"
PATH_ENV = "ASSISTANT_TELEMETRY_FILE"
CHUNK_BYTES = 64 * 1024  # lines per write(): rotation is checked between chunks
_DELTA: dict[type, AggregationTemporality] = {
    Counter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableUpDownCounter: AggregationTemporality.CUMULATIVE,
    ObservableGauge: AggregationTemporality.CUMULATIVE,
}


def default_path() -> str:
    """``$ASSISTANT_TELEMETRY_FILE``, else ``assistant-telemetry.jsonl`` in the working directory."""
    return os.environ.get(PATH_ENV) or DEFAULT_PATH


def rotated_set(path: str) -> list[str]:
    """``path`` and its rotated files that exist, oldest first (``path.2``, ``path.1``, ``path``)."""
    directory, base = os.path.split(path)
    pattern = re.compile(re.escape(base) + r"\.(\d+)")
    try:
        names = os.listdir(directory or ".")
    except OSError:
        names = []
    numbered = sorted(
        ((int(m.group(1)), name) for name in names if (m := pattern.fullmatch(name))), reverse=True
    )
    found = [os.path.join(directory, name) for _, name in numbered]
    return [*found, path] if os.path.exists(path) else found


class _JsonLines:
    def __init__(self, path: str | os.PathLike[str], limits: FileLimits | None = None):
        self.path = os.fspath(path)
        self.limits = limits or FileLimits.build()
        self._lock = threading.Lock()
        self._fd: int | None = None
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        if hasattr(os, "register_at_fork"):
            reinit = weakref.WeakMethod(self._anew_in_child)
            os.register_at_fork(after_in_child=lambda: (method := reinit()) and method())

    def _anew_in_child(self) -> None:
        self._lock = threading.Lock()
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def write(self, records: Iterable[dict[str, Any]]) -> None:
        with self._lock:
            for chunk in _chunks(records, self.limits.max_bytes):
                os.write(self._ready(len(chunk)), chunk)

    def close(self) -> None:
        with self._lock:
            fd, self._fd = self._fd, None
            if fd is not None:
                os.close(fd)

    def _ready(self, incoming: int) -> int:
        """A descriptor on ``path`` with room for ``incoming`` bytes (rotating if there is none)."""
        fd = self._fd
        if fd is None or not self._names_path(fd):
            fd = self._reopen()
        cap = self.limits.max_bytes
        if cap and os.fstat(fd).st_size + incoming > cap:
            fd = self._rotate(fd, cap - incoming)
        return fd

    def _reopen(self) -> int:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.path, flags, 0o644)
        return self._fd

    def _names_path(self, fd: int) -> bool:
        try:
            named, held = os.stat(self.path), os.fstat(fd)
        except OSError:
            return False
        return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)

    def _rotate(self, fd: int, room_below: int) -> int:
        """``path`` -> ``path.1`` -> ... under the cross-process lock; another process may have won."""
        with self._file_lock():
            if not self._names_path(fd):
                return self._reopen()  # rotated by another writer meanwhile
            if os.fstat(fd).st_size <= max(0, room_below):
                return fd
            backups = self.limits.backups
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{self.path}.{max(1, backups)}" if backups else f"{self.path}.1")
            for number in range(backups - 1, 0, -1):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}.{number}", f"{self.path}.{number + 1}")
            if backups:
                os.replace(self.path, f"{self.path}.1")
            else:
                os.remove(self.path)
            return self._reopen()

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(self.path + ".lock", flags, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the lock


def _chunks(records: Iterable[dict[str, Any]], cap: int) -> Iterator[bytes]:
    """Whole lines, up to CHUNK_BYTES a chunk; a single line larger than the cap is dropped."""
    chunk: list[bytes] = []
    size = 0
    most = min(CHUNK_BYTES, cap) if cap else CHUNK_BYTES
    for record in records:
        line = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("utf-8")
        if cap and len(line) > cap:
            continue
        if chunk and size + len(line) > most:
            yield b"".join(chunk)
            chunk, size = [], 0
        chunk.append(line)
        size += len(line)
    if chunk:
        yield b"".join(chunk)


class JsonLinesSpanExporter(SpanExporter):
    """Writes each finished span as one ``{"signal": "span"}`` line."""

    def __init__(self, path: str | os.PathLike[str] | None = None, limits: FileLimits | None = None):
        self._out = _JsonLines(path or default_path(), limits)
        self.path = self._out.path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            self._out.write(span_record(span) for span in spans)
        except OSError:
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


class JsonLinesMetricExporter(MetricExporter):
    """Writes each metric data point as one ``{"signal": "metric"}`` line, as deltas.

    Delta temporality: each export holds what changed since the last one, so an idle process
    writes nothing (cumulative points would repeat every series every interval).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, limits: FileLimits | None = None):
        super().__init__(preferred_temporality=_DELTA)
        self._out = _JsonLines(path or default_path(), limits)

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
        self._out.close()


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
                    yield {
                        "signal": "metric",
                        "name": metric.name,
                        "unit": metric.unit,
                        "temporality": _temporality(metric.data),
                        "point": point_json,
                    }


def _temporality(data: Any) -> str | None:
    temporality = getattr(data, "aggregation_temporality", None)
    return None if temporality is None else str(temporality.name).lower()

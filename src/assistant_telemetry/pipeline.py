"""What ``instrument()`` adds to the OpenTelemetry providers, removable again, and flushed on a deadline.

Why this module exists:
- the SDK cannot take a span processor off a provider, and OpenTelemetry refuses to replace a
  global provider: our processor is a ``DetachableSpanProcessor`` that ``uninstrument()`` empties
  (one per provider, reused by the next ``instrument()``); metric readers come and go through the
  provider's ``add_metric_reader`` / ``remove_metric_reader``;
- the SDK's ``BatchSpanProcessor.force_flush`` ignores its timeout, and a backend that accepts a
  connection and never answers holds an export for the exporter's whole timeout: flushes run in a
  worker thread joined with the time left, shutdowns pass the time left to each component, so one
  deadline covers everything (``deadline()``);
- a ``fork()`` taken while an export holds a lock leaves the child's copy held forever: our metric
  reader re-creates its export lock in the child (the SDK's reader only restarts its thread).
What misses the deadline is dropped and counted in ``assistant_telemetry.instrumentation.errors``
(stage ``flush`` or ``shutdown``, ``error.type`` ``TimeoutError``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.metrics.export import MetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from . import semconv as sc

logger = logging.getLogger("assistant_telemetry")

FLUSH_TIMEOUT_MS = 10_000  # Instrumentation.flush() and uninstrument(), overall
EXIT_TIMEOUT_S = 10.0  # what our exit handler waits for our exporters, overall


class Deadline:
    """A point in time shared by several steps: each gets what is left."""

    __slots__ = ("end",)

    def __init__(self, timeout_millis: float):
        self.end = time.monotonic() + max(0.0, timeout_millis) / 1000

    def left_s(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def left_ms(self) -> float:
        return self.left_s() * 1000

    @property
    def passed(self) -> bool:
        return time.monotonic() >= self.end


class DetachableSpanProcessor(SpanProcessor):
    """Our processor on a provider that outlives ``instrument()``: ``detach()`` leaves a no-op.

    ``_span_processors`` is the name the SDK's multi-processor uses, so the content guard (and any
    tool that walks a provider's processors) sees the exporter behind it.
    """

    def __init__(self) -> None:
        self._span_processors: tuple[SpanProcessor, ...] = ()

    def attach(self, processor: SpanProcessor) -> None:
        self._span_processors = (processor,)

    def detach(self) -> tuple[SpanProcessor, ...]:
        held, self._span_processors = self._span_processors, ()
        return held

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._span_processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._span_processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        """The provider shuts down (at exit, if our own exit handler did not run first)."""
        deadline = Deadline(EXIT_TIMEOUT_S * 1000)
        for processor in self.detach():
            shutdown_span_processor(processor, deadline)

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        held = self._span_processors
        return not held or within(Deadline(timeout_millis), lambda: all(p.force_flush() for p in held))


_DETACHABLE: weakref.WeakKeyDictionary[Any, DetachableSpanProcessor] = weakref.WeakKeyDictionary()


def detachable(tracer_provider: Any) -> DetachableSpanProcessor:
    """The provider's one detachable processor, added on first use."""
    processor = _DETACHABLE.get(tracer_provider)
    if processor is None:
        processor = _DETACHABLE[tracer_provider] = DetachableSpanProcessor()
        tracer_provider.add_span_processor(processor)
    return processor


class ForkSafeMetricReader(PeriodicExportingMetricReader):
    """The SDK's periodic reader, safe across ``fork()`` and shut down once, quietly.

    The SDK's reader restarts its thread in a forked child but keeps the export lock as it was:
    taken mid-export, the child's lock stays taken and its next flush blocks forever. A second
    ``shutdown()`` (``remove_metric_reader`` makes one) returns at once instead of warning.
    """

    def __init__(self, exporter: MetricExporter, **options: Any) -> None:
        super().__init__(exporter, **options)
        self._closed = False
        if hasattr(os, "register_at_fork"):
            reinit = weakref.WeakMethod(self._new_locks_in_child)
            os.register_at_fork(after_in_child=lambda: (method := reinit()) and method())

    def _new_locks_in_child(self) -> None:
        self._export_lock = threading.Lock()

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if self._closed:
            return
        self._closed = True
        super().shutdown(timeout_millis=timeout_millis, **kwargs)


def within(deadline: Deadline, work: Callable[[], Any]) -> bool:
    """Run ``work`` in a daemon thread; True if it returned a truthy value before the deadline.

    At interpreter shutdown (Python 3.12+ starts no threads then) it runs inline: only called there
    with steps that honour their own timeouts.
    """
    global _stuck
    if _stuck is not None and _stuck.is_alive():
        return False  # an earlier flush is still held by the backend: no second thread piles up
    outcome: list[Any] = [False]
    finished = threading.Event()

    def run() -> None:
        try:
            outcome[0] = work()
        except Exception as error:  # an exporter's failure: reported as not flushed
            logger.debug("assistant_telemetry: flush failed", exc_info=error)
        finally:
            finished.set()

    thread = threading.Thread(target=run, name="assistant-telemetry-flush", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # "can't create new thread at interpreter shutdown"
        run()
    if finished.wait(deadline.left_s()):
        return bool(outcome[0])
    _stuck = thread
    return False


_stuck: threading.Thread | None = None  # a flush still running past its deadline


def _forget_stuck_in_child() -> None:
    global _stuck
    _stuck = None  # its thread did not survive the fork


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_stuck_in_child)


def shutdown_span_processor(processor: Any, deadline: Deadline) -> bool:
    """Shut a span (or log) processor down within the deadline; False if something was left behind.

    ``BatchSpanProcessor.shutdown()`` takes no timeout (it waits 30 s): its batch processor does.
    """
    batch = getattr(processor, "_batch_processor", None)
    try:
        if batch is not None and hasattr(batch, "_worker_thread"):
            batch.shutdown(timeout_millis=deadline.left_ms())
            return not batch._worker_thread.is_alive()
        return within(deadline, lambda: processor.shutdown() or True)
    except Exception as error:
        logger.debug("assistant_telemetry: shutdown failed", exc_info=error)
        return False


def shutdown_reader(reader: Any, deadline: Deadline) -> bool:
    """A periodic reader's last collection and export, within the deadline."""
    try:
        reader.shutdown(timeout_millis=deadline.left_ms())
    except Exception as error:
        logger.debug("assistant_telemetry: shutdown failed", exc_info=error)
        return False
    thread = getattr(reader, "_daemon_thread", None)
    return thread is None or not thread.is_alive()


@dataclass
class Added:
    """Exactly what one ``instrument()`` added to providers; ``remove()`` takes it all off again."""

    span_processors: list[tuple[DetachableSpanProcessor, SpanProcessor]] = field(default_factory=list)
    metric_readers: list[tuple[Any, Any]] = field(default_factory=list)  # (meter provider, reader)
    errors: Any = None  # the session's instrumentation.errors counter, for drops at the deadline

    def add_span_processor(self, tracer_provider: Any, processor: SpanProcessor) -> None:
        holder = detachable(tracer_provider)
        holder.attach(processor)
        self.span_processors.append((holder, processor))

    def add_metric_reader(self, meter_provider: Any, reader: Any) -> None:
        meter_provider.add_metric_reader(reader)
        self.metric_readers.append((meter_provider, reader))

    def flush(self, deadline: Deadline) -> bool:
        """Export what is buffered (the batch processors ignore timeouts: ``within`` bounds them)."""
        processors = [processor for _, processor in self.span_processors]
        readers = [reader for _, reader in self.metric_readers]

        def work() -> bool:
            flushed = [p.force_flush() for p in processors]
            flushed += [r.force_flush(timeout_millis=deadline.left_ms()) for r in readers]
            return all(flushed)

        return within(deadline, work)

    def remove(self, deadline: Deadline) -> bool:
        """Detach first (no new spans reach them), then shut each down with the time left."""
        complete = True
        for holder, processor in self.span_processors:
            holder.detach()
            complete = shutdown_span_processor(processor, deadline) and complete
        for meter_provider, reader in self.metric_readers:
            complete = shutdown_reader(reader, deadline) and complete
            try:
                meter_provider.remove_metric_reader(reader)
            except Exception as error:
                logger.debug("assistant_telemetry: remove_metric_reader failed", exc_info=error)
        self.span_processors.clear()
        self.metric_readers.clear()
        if not complete:
            self.count_drop("shutdown")
        return complete

    def count_drop(self, stage: str) -> None:
        count_timeout(self.errors, stage)


def count_timeout(errors: Any, stage: str) -> None:
    """What missed a deadline was dropped: counted, logged at info (an outage is not our bug)."""
    logger.info("assistant_telemetry: %s did not finish before its deadline; what was left is dropped", stage)
    if errors is not None:
        try:
            errors.add(1, {sc.INSTRUMENTATION_STAGE: stage, sc.ERROR_TYPE: TimeoutError.__name__})
        except Exception as error:
            logger.debug("assistant_telemetry: counting failed", exc_info=error)


def flush_providers(providers: Iterable[Any], deadline: Deadline) -> bool:
    """``force_flush`` of providers someone else set up, within one deadline overall."""
    chosen = [p for p in providers if callable(getattr(p, "force_flush", None))]

    def work() -> bool:
        return all([p.force_flush(max(1, int(deadline.left_ms()))) is not False for p in chosen])

    return not chosen or within(deadline, work)


def shutdown_pipeline(
    tracer_provider: Any, meter_provider: Any, logger_provider: Any, deadline: Deadline
) -> bool:
    """Shut down a whole pipeline we had a distro build (configure_azure_monitor), within the deadline.

    Each processor and reader gets the time left; the providers' own exit handlers, which would
    wait 30 s per processor, are unregistered.
    """
    complete = True
    for provider, holder, slot in (
        (tracer_provider, "_active_span_processor", "_span_processors"),
        (logger_provider, "_multi_log_record_processor", "_log_record_processors"),
    ):
        for processor in getattr(getattr(provider, holder, None), slot, ()) or ():
            complete = shutdown_span_processor(processor, deadline) and complete
        _unregister_exit(provider)
    shutdown = getattr(meter_provider, "shutdown", None)
    if shutdown is not None:
        _unregister_exit(meter_provider)
        try:
            shutdown(timeout_millis=deadline.left_ms())
        except Exception as error:  # a reader's failure or a shutdown twice
            logger.debug("assistant_telemetry: shutdown failed", exc_info=error)
    return complete and not deadline.passed


def _unregister_exit(provider: Any) -> None:
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is not None:
        import atexit

        atexit.unregister(shutdown)

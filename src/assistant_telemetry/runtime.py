"""What the wrappers need at call time: tracer, instruments and settings, or None when off.

Wrappers read ``ACTIVE`` on every call. The SDK caches bound methods (``with_raw_response``),
so a wrapper can outlive ``uninstrument()``: ``ACTIVE is None`` makes it a plain pass-through.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace

from . import semconv as sc
from .config import Settings

if TYPE_CHECKING:
    from .calls import Call, Lifecycle

VERSION = "0.1.0"


@dataclass(frozen=True)
class Runtime:
    tracer: trace.Tracer
    duration: metrics.Histogram
    token_usage: metrics.Histogram
    errors: metrics.Counter
    settings: Settings
    _usage_seen: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _usage_lock: threading.Lock = field(default_factory=threading.Lock)

    def first_usage_report(self, attrs: dict[str, Any]) -> bool:
        """Whether these token counts should be recorded: a run's tokens count once.

        Every retrieve of a finished run carries the same usage, and its steps carry shares
        of it: recording each would inflate the histogram's sum. Steps are skipped; a run id
        is remembered (bounded, oldest forgotten first) once its usage has been recorded.
        """
        if sc.USAGE_INPUT_TOKENS not in attrs and sc.USAGE_OUTPUT_TOKENS not in attrs:
            return False
        if sc.RUN_STEP_ID in attrs:
            return False
        run_id = attrs.get(sc.RUN_ID)
        if run_id is None:
            return True
        with self._usage_lock:
            if run_id in self._usage_seen:
                return False
            self._usage_seen[run_id] = None
            if len(self._usage_seen) > sc.TOKEN_USAGE_DEDUP_CAP:
                self._usage_seen.popitem(last=False)
        return True

    @classmethod
    def create(cls, tracer_provider: Any, meter_provider: Any, settings: Settings) -> Runtime:
        tracer = trace.get_tracer("assistant_telemetry", VERSION, tracer_provider)
        meter = metrics.get_meter("assistant_telemetry", VERSION, meter_provider)
        return cls(
            tracer=tracer,
            duration=meter.create_histogram(
                sc.METRIC_OPERATION_DURATION,
                unit="s",
                description="Duration of GenAI client operations",
                explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
            ),
            token_usage=meter.create_histogram(
                sc.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Tokens used per operation, by gen_ai.token.type",
                explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS),
            ),
            errors=meter.create_counter(
                sc.METRIC_INSTRUMENTATION_ERRORS,
                unit="{error}",
                description="Failures inside the instrumentation itself (the application was not affected)",
            ),
            settings=settings,
        )


ACTIVE: Runtime | None = None

# The call whose span the SDK's response hook should annotate (set by the wrappers).
CURRENT_CALL: ContextVar[Call | None] = ContextVar("assistant_telemetry_call", default=None)
# The poll/stream helper that owns the calls made inside it (see calls.Lifecycle).
CURRENT_LIFECYCLE: ContextVar[Lifecycle | None] = ContextVar("assistant_telemetry_lifecycle", default=None)

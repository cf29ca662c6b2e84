"""What the wrappers need at call time: tracer, instruments and settings, or None when off.

Wrappers read ``ACTIVE`` on every call. The SDK caches bound methods (``with_raw_response``),
so a wrapper can outlive ``uninstrument()``: ``ACTIVE is None`` makes it a plain pass-through.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
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

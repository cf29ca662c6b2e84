"""What the wrappers need at call time: tracer, instruments and settings, or None when off.

Wrappers read ``ACTIVE`` on every call. The SDK caches bound methods (``with_raw_response``),
so a wrapper can outlive ``uninstrument()``: ``ACTIVE is None`` makes it a plain pass-through.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import metrics, trace

from . import semconv as sc
from .config import Settings
from .outcomes import Outcomes
from .tools import Tools

if TYPE_CHECKING:
    from .calls import Call, Lifecycle

VERSION = "0.1.0"


@dataclass(frozen=True)
class Runtime:
    tracer: trace.Tracer
    duration: metrics.Histogram
    token_usage: metrics.Histogram
    run_polls: metrics.Histogram
    reply_time: metrics.Histogram
    errors: metrics.Counter
    content_filter: metrics.Counter
    # Executions: runs and responses alike (docs/migration.md).
    executions: metrics.Counter
    execution_duration: metrics.Histogram
    execution_queue_time: metrics.Histogram
    execution_active_time: metrics.Histogram
    # semconv's durations of in-process agent runs and of tool executions (their spans' durations).
    invoke_agent_duration: metrics.Histogram
    execute_tool_duration: metrics.Histogram
    settings: Settings
    names: sc.Names = field(default_factory=sc.Names)
    # The latest conventions' token metrics (semconv mode), name -> instrument; empty in the default mode.
    inference: dict[str, Any] = field(default_factory=dict)  # the latest names' inference metrics
    outcomes: Outcomes = field(default_factory=Outcomes)
    tools: Tools = field(default_factory=Tools)

    @classmethod
    def create(
        cls, tracer_provider: Any, meter_provider: Any, settings: Settings, names: sc.Names | None = None
    ) -> Runtime:
        tracer = trace.get_tracer("assistant_telemetry", VERSION, tracer_provider)
        meter = metrics.get_meter("assistant_telemetry", VERSION, meter_provider)
        names = names or sc.Names()

        def seconds(name: str, description: str, buckets: tuple[float, ...]) -> metrics.Histogram:
            return _histogram(meter, name, "s", description, buckets)

        return cls(
            tracer=tracer,
            duration=seconds(
                sc.METRIC_OPERATION_DURATION, "Duration of GenAI client operations", sc.DURATION_BUCKETS
            ),
            token_usage=_histogram(
                meter,
                sc.METRIC_TOKEN_USAGE,
                "{token}",
                "Tokens used per operation, by gen_ai.token.type",
                sc.TOKEN_BUCKETS,
            ),
            run_polls=_histogram(
                meter,
                sc.METRIC_RUN_POLLS,
                "{poll}",
                "Retrieves a poll helper made before the run stopped",
                sc.POLL_BUCKETS,
            ),
            reply_time=seconds(
                sc.METRIC_REPLY_TIME,
                "The user's message -> the assistant's reply on the same thread, server timestamps",
                sc.RUN_DURATION_BUCKETS,
            ),
            errors=meter.create_counter(
                sc.METRIC_INSTRUMENTATION_ERRORS,
                unit="{error}",
                description="Failures inside the instrumentation itself (the application was not affected)",
            ),
            executions=meter.create_counter(
                sc.METRIC_EXECUTIONS,
                unit="{execution}",
                description="Finished executions (Assistants runs and responses), by kind, status and code",
            ),
            execution_duration=seconds(
                sc.METRIC_EXECUTION_DURATION,
                "Execution created -> finished, server timestamps",
                sc.RUN_DURATION_BUCKETS,
            ),
            execution_queue_time=seconds(
                sc.METRIC_EXECUTION_QUEUE_TIME,
                "Execution created -> started (runs: server timestamps; background responses: observed)",
                sc.RUN_DURATION_BUCKETS,
            ),
            execution_active_time=seconds(
                sc.METRIC_EXECUTION_ACTIVE_TIME, "Execution started -> finished", sc.RUN_DURATION_BUCKETS
            ),
            invoke_agent_duration=seconds(
                sc.METRIC_INVOKE_AGENT_DURATION,
                "Duration of an in-process agent invocation (an invoke_agent INTERNAL span)",
                sc.INVOKE_AGENT_BUCKETS,
            ),
            execute_tool_duration=seconds(
                sc.METRIC_EXECUTE_TOOL_DURATION, "Duration of a tool execution", sc.DURATION_BUCKETS
            ),
            content_filter=meter.create_counter(
                sc.METRIC_CONTENT_FILTER_RESULTS,
                unit="{result}",
                description="Content filter results by category, severity, filtered/detected and source",
            ),
            settings=settings,
            names=names,
            inference=_inference_instruments(meter) if names.inference_metrics else {},
        )


def _histogram(
    meter: metrics.Meter, name: str, unit: str, description: str, buckets: tuple[float, ...]
) -> metrics.Histogram:
    """A histogram with the buckets semconv advises (or ours, where it advises none)."""
    return meter.create_histogram(
        name, unit=unit, description=description, explicit_bucket_boundaries_advisory=list(buckets)
    )


def _inference_instruments(meter: metrics.Meter) -> dict[str, Any]:
    """The inference metrics of the latest conventions, by name: the calls' duration, per-operation
    token histograms, usage counters."""
    instruments: dict[str, Any] = {
        sc.METRIC_INFERENCE_DURATION: _histogram(
            meter, sc.METRIC_INFERENCE_DURATION, "s", "Duration of GenAI inference calls", sc.DURATION_BUCKETS
        )
    }
    for name, brief in (
        (sc.METRIC_OPERATION_INPUT_TOKENS, "Input tokens per operation"),
        (sc.METRIC_OPERATION_OUTPUT_TOKENS, "Output tokens per operation"),
    ):
        instruments[name] = _histogram(meter, name, "{token}", brief, sc.TOKEN_BUCKETS)
    for name, brief in (
        (sc.METRIC_USAGE_INPUT_TOKENS, "Input tokens used, cached ones included"),
        (sc.METRIC_USAGE_OUTPUT_TOKENS, "Output tokens used, reasoning ones included"),
        (sc.METRIC_USAGE_CACHE_READ_INPUT_TOKENS, "Input tokens served from the provider's cache"),
        (sc.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS, "Input tokens written to the provider's cache"),
        (sc.METRIC_USAGE_REASONING_OUTPUT_TOKENS, "Output tokens used for reasoning"),
    ):
        instruments[name] = meter.create_counter(name, unit="{token}", description=brief)
    return instruments


ACTIVE: Runtime | None = None

# The call whose span the SDK's response hook should annotate (set by the wrappers).
CURRENT_CALL: ContextVar[Call | None] = ContextVar("assistant_telemetry_call", default=None)
# The poll helper that owns the calls made inside it (see calls.Lifecycle).
CURRENT_LIFECYCLE: ContextVar[Lifecycle | None] = ContextVar("assistant_telemetry_lifecycle", default=None)

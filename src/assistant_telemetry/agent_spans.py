"""Agent runs and tool executions of agent frameworks: INTERNAL spans (the agent runs in the app).

An ``invoke_agent {agent}`` span parents the model calls the run makes (the openai wrappers' CLIENT
spans) and an ``execute_tool {tool}`` span per function tool it runs. Unlike a ``Call`` these spans
record no client operation duration or token points: the model calls inside them do, and counting a
run again would double every token sum. Each records its span's duration in semconv's own metric
(``gen_ai.invoke_agent.duration``, ``gen_ai.execute_tool.duration``). Never raises; our failures go
to the guard.
"""

from __future__ import annotations

import contextlib
import contextvars
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime
from . import semconv as sc
from .extract.errors import error_attributes
from .guard import internal_error

# Set while a framework's agent run is current: it runs the app's tools (and handoffs) and says so
# itself (execute_tool spans of its tool wrapper), so a response's function_call items make none.
_FRAMEWORK_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "assistant_telemetry_agent_run", default=False
)


def framework_runs_tools() -> bool:
    """Whether an agent framework's run is current (tools.py then leaves client tool calls to it)."""
    return _FRAMEWORK_RUN.get()


class AgentSpan:
    """One open invoke_agent / execute_tool span; ends exactly once."""

    __slots__ = ("attrs", "ended", "events", "span", "started")

    def __init__(self, span: trace.Span, attrs: dict[str, Any]):
        self.span = span
        self.attrs = attrs
        self.events = 0
        self.ended = False
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def current(self) -> Iterator[None]:
        """The span as the current one for the block (attach and detach in the same context)."""
        token = context.attach(trace.set_span_in_context(self.span))
        running = (
            _FRAMEWORK_RUN.set(True) if self.attrs.get(sc.OPERATION_NAME) == sc.OP_INVOKE_AGENT else None
        )
        try:
            yield
        finally:
            if running is not None:
                _FRAMEWORK_RUN.reset(running)
            context.detach(token)

    def event(self, name: str, attrs: dict[str, Any]) -> None:
        if self.events < sc.AGENT_EVENTS_CAP:
            self.events += 1
            self.span.add_event(name, attrs)

    def end(self, attrs: dict[str, Any] | None = None, error: BaseException | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            if error is not None:
                failed = error_attributes(error)
                self.attrs[sc.ERROR_TYPE] = failed[sc.ERROR_TYPE]
                self.span.set_attributes(failed)
                self.span.set_status(Status(StatusCode.ERROR, failed[sc.ERROR_TYPE]))
            if attrs:
                self.attrs.update(attrs)
                self.span.set_attributes(attrs)
        except Exception as internal:
            internal_error(internal, "agent")
        self.span.end()
        try:
            self._record_duration(time.perf_counter() - self.started)
        except Exception as internal:
            internal_error(internal, "metrics")

    def _record_duration(self, seconds: float) -> None:
        """The span's duration in semconv's metric of its operation (once: end() runs once)."""
        active = runtime.ACTIVE
        if active is None:
            return
        if self.attrs.get(sc.OPERATION_NAME) == sc.OP_INVOKE_AGENT:
            histogram, keys = active.invoke_agent_duration, sc.INVOKE_AGENT_METRIC_KEYS
        else:
            histogram, keys = active.execute_tool_duration, sc.EXECUTE_TOOL_METRIC_KEYS
        labels = {key: self.attrs[key] for key in keys if key in self.attrs}
        histogram.record(seconds, labels, trace.set_span_in_context(self.span))


def ran_in_app(call_id: Any) -> None:
    """A framework is about to run this tool call: its execute_tool span is the one (tools.py)."""
    active = runtime.ACTIVE
    if active is not None:
        try:
            active.tools.run_in_app(call_id)
        except Exception as error:
            internal_error(error, "tool")


def open_span(operation: str, name: str | None, attrs: dict[str, Any]) -> AgentSpan | None:
    """Start ``{operation} {name}`` (not yet current), or None when instrumentation is off."""
    active = runtime.ACTIVE
    if active is None or not is_instrumentation_enabled():
        return None
    try:
        attrs[sc.OPERATION_NAME] = operation
        span_name = f"{operation} {name}" if name else operation
        span = active.tracer.start_span(span_name, kind=SpanKind.INTERNAL, attributes=attrs)
        return AgentSpan(span, attrs)
    except Exception as error:
        internal_error(error, "start")
        return None


async def awaited_in(span: AgentSpan | None, make: Callable[[], Awaitable[Any]]) -> Any:
    """Await ``make()`` with ``span`` current and end the span with the outcome (no span: just await)."""
    if span is None:
        return await make()
    with span.current():
        try:
            result = await make()
        except BaseException as error:
            span.end(error=error)
            raise
    span.end()
    return result

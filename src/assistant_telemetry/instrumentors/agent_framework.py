"""Microsoft Agent Framework (``agent-framework-core``): agent runs and tool calls, with or without
the framework's own observability.

With its observability on (the default, once the app has a global tracer provider) the framework
makes ``invoke_agent``, ``chat {model}`` and ``execute_tool`` spans and records the duration and
token metrics itself: we add no span of our own. Its ``chat`` span is the current one when the
openai call is made, so our openai wrappers are its guests (coexistence.py): our ids go onto its
span, no second duration or token point is recorded.

With it off (``disable_instrumentation()``, ``ENABLE_INSTRUMENTATION=false``, or no global tracer
provider for its spans to go to) we make them: ``RawAgent.run`` (below the framework's telemetry
and middleware layers) is an ``invoke_agent {agent}`` span, current while the run makes its model
calls; a streamed run's span is current around each pull of its ``ResponseStream`` (the stream's
own ``with_pull_context_manager`` hook) and ends with the stream's cleanup. ``FunctionTool.invoke``
is an ``execute_tool {tool}`` span with the model's call id.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace

from .. import semconv as sc
from ..agent_spans import AgentSpan, awaited_in, open_span, ran_in_app
from ..extract.agent_framework import agent_attributes, tool_attributes
from ..guard import internal_error
from ..patching import Patcher, Target


def _theirs_on() -> bool:
    """The framework makes its own agent and tool spans: instrumentation enabled, and a global
    tracer provider set (its tracer is the global one; without one its spans go nowhere)."""
    observability = sys.modules.get("agent_framework.observability")
    settings = getattr(observability, "OBSERVABILITY_SETTINGS", None)
    if settings is None or not getattr(settings, "ENABLED", False):
        return False
    return not isinstance(trace.get_tracer_provider(), (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def _open(operation: str, attrs: dict[str, Any], name_key: str) -> AgentSpan | None:
    if operation == sc.OP_EXECUTE_TOOL:
        ran_in_app(attrs.get(sc.TOOL_CALL_ID))
    return None if _theirs_on() else open_span(operation, attrs.get(name_key), attrs)


def run_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps ``RawAgent.run``: returns an awaitable, or a ``ResponseStream`` with ``stream=True``."""
    try:
        run_span = _open(sc.OP_INVOKE_AGENT, agent_attributes(instance, kwargs), sc.AGENT_NAME)
    except Exception as error:
        internal_error(error, "request")
        run_span = None
    if run_span is None:
        return wrapped(*args, **kwargs)
    with run_span.current():
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            run_span.end(error=error)
            raise
    if kwargs.get("stream"):
        return _follow(run_span, result)
    return awaited_in(run_span, lambda: result)


def _follow(run_span: AgentSpan, stream: Any) -> Any:
    """The stream's own hooks: the span is current around each pull and ends with its cleanup (or,
    abandoned, when the stream is garbage-collected)."""
    try:

        def cleanup() -> None:
            run_span.end(error=getattr(stream, "_stream_error", None))

        stream.with_pull_context_manager(run_span.current).with_cleanup_hook(cleanup)
        weakref.finalize(stream, run_span.end)
    except Exception as error:
        internal_error(error, "stream")
        run_span.end()
    return stream


async def tool_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps ``FunctionTool.invoke(arguments=..., tool_call_id=...)``."""
    try:
        tool_span = _open(sc.OP_EXECUTE_TOOL, tool_attributes(instance, kwargs), sc.TOOL_NAME)
    except Exception as error:
        internal_error(error, "request")
        tool_span = None
    return await awaited_in(tool_span, lambda: wrapped(*args, **kwargs))


def targets() -> Iterator[Target]:
    yield Target("agent_framework._agents", "RawAgent", "run", run_wrapper)
    yield Target("agent_framework._tools", "FunctionTool", "invoke", tool_wrapper)


PATCHER = Patcher("agent_framework", targets)

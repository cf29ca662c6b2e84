"""OpenAI Agents SDK (``openai-agents``): one trace per ``Runner.run`` / ``run_sync`` / ``run_streamed``.

``AgentRunner.run`` and ``run_streamed`` open an ``invoke_agent {agent}`` span and make it current
while the run starts, so the model calls it makes (the openai wrappers' spans) are its children;
``run_sync`` runs ``run`` in a task, which inherits the context. ``run_streamed``'s loop runs in a
task created inside the call: the span is current when it is created and ends when it finishes.
Each function tool the SDK runs (``_FunctionToolBatchExecutor._run_single_tool``) is an
``execute_tool {tool}`` span inside it, with the model's call id. Handoffs and guardrail outcomes
are read from the run's result (or the error's ``run_data``) when it ends: events naming agents and
guardrails, never the input or the guardrail's output info.

Why wrapping and not the SDK's trace-processor hook (``add_trace_processor``): a processor sees
nothing once the SDK's tracing is disabled (``OPENAI_AGENTS_DISABLE_TRACING``, ``set_tracing_disabled``,
``RunConfig.tracing_disabled``: what apps do to keep traces from OpenAI's backend), its function spans
carry no call id, and its callbacks cannot make an OTel span current for the openai calls beneath.
The SDK's own tracing and its export to OpenAI stay as the app configured them: nothing is
registered with, or removed from, its trace provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import semconv as sc
from ..agent_spans import AgentSpan, awaited_in, open_span, ran_in_app
from ..extract.openai_agents import (
    final_agent,
    guardrails,
    handoffs,
    run_attributes,
    tool_attributes,
    tripwire,
)
from ..guard import internal_error
from ..patching import Patcher, Target

_RUN = "agents.run"
_TOOLS = "agents.run_internal.tool_execution"


def _starting_agent(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs.get("starting_agent")


def _open_run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> AgentSpan | None:
    try:
        agent = _starting_agent(args, kwargs)
        attrs = run_attributes(agent, kwargs)
    except Exception as error:
        internal_error(error, "request")
        return None
    return open_span(sc.OP_INVOKE_AGENT, attrs.get(sc.AGENT_NAME), attrs)


def _close_run(run_span: AgentSpan, result: Any, error: BaseException | None) -> None:
    """The run's handoffs and guardrail outcomes as events; the agent that answered; the end."""
    final: dict[str, Any] = {}
    try:
        run = result if error is None else getattr(error, "run_data", None)
        outcomes = list(guardrails(run)) if run is not None else []
        if error is not None and not outcomes:
            tripped = tripwire(error)  # raised before the run data was collected
            if tripped is not None:
                outcomes.append(tripped)
        moves = list(handoffs(run)) if run is not None else []
        for move in moves:
            run_span.event(sc.EVENT_AGENT_HANDOFF, move)
        for outcome in outcomes:
            run_span.event(sc.EVENT_GUARDRAIL, outcome)
        final[sc.AGENT_HANDOFFS] = len(moves)
        final[sc.AGENT_GUARDRAILS_TRIPPED] = sum(1 for o in outcomes if o[sc.GUARDRAIL_TRIPPED])
        name = final_agent(run) if run is not None else None
        if name is not None:
            final[sc.AGENT_FINAL_NAME] = name
    except Exception as internal:
        internal_error(internal, "result")
    run_span.end(final, error)


async def run_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps ``AgentRunner.run`` (``Runner.run`` and, through a task, ``Runner.run_sync``)."""
    run_span = _open_run(args, kwargs)
    if run_span is None:
        return await wrapped(*args, **kwargs)
    with run_span.current():
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            _close_run(run_span, None, error)
            raise
    _close_run(run_span, result, None)
    return result


def streamed_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps ``AgentRunner.run_streamed``: the span lives as long as the run's loop task."""
    run_span = _open_run(args, kwargs)
    if run_span is None:
        return wrapped(*args, **kwargs)
    with run_span.current():  # the loop task is created in here and inherits the span
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            _close_run(run_span, None, error)
            raise
    _follow(run_span, result)
    return result


def _follow(run_span: AgentSpan, result: Any) -> None:
    """End the span when the streamed run's loop task is done (then its result holds the outcome)."""
    try:
        task = getattr(result, "run_loop_task", None)
        if task is None:
            _close_run(run_span, result, None)
            return

        def done(finished: Any) -> None:
            error = None if finished.cancelled() else finished.exception()
            stored = getattr(result, "_stored_exception", None)  # how the SDK hands errors to the app
            _close_run(run_span, result, error or stored)

        task.add_done_callback(done)
    except Exception as error:
        internal_error(error, "stream")
        run_span.end()


async def tool_wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps ``_FunctionToolBatchExecutor._run_single_tool(task_state=, func_tool=, tool_call=)``."""
    try:
        attrs = tool_attributes(kwargs.get("func_tool"), kwargs.get("tool_call"))
    except Exception as error:
        internal_error(error, "request")
        return await wrapped(*args, **kwargs)
    ran_in_app(attrs.get(sc.TOOL_CALL_ID))
    tool_span = open_span(sc.OP_EXECUTE_TOOL, attrs.get(sc.TOOL_NAME), attrs)
    return await awaited_in(tool_span, lambda: wrapped(*args, **kwargs))


def targets() -> Iterator[Target]:
    yield Target(_RUN, "AgentRunner", "run", run_wrapper)
    yield Target(_RUN, "AgentRunner", "run_streamed", streamed_wrapper)
    yield Target(_TOOLS, "_FunctionToolBatchExecutor", "_run_single_tool", tool_wrapper)


PATCHER = Patcher("agents", targets)

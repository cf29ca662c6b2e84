"""execute_tool spans: one per tool call of an execution, never its arguments or output.

Three ways a tool call becomes known, each timed as well as it can be:
- the app runs it (``requires_action`` -> ``submit_tool_outputs``, or a response's ``function_call``
  item -> the next request's ``function_call_output``): the span runs from the moment the execution
  was seen waiting to the moment its outputs are sent (timing ``client``);
- the service ran it and a run step says so (``tool_calls`` steps, in a step list, a retrieve or a
  run stream): the span has the step's own ``created_at`` and terminal timestamps (``step_timestamps``);
- the service ran it and only a response's output item says so (``file_search_call``,
  ``code_interpreter_call``, ``web_search_call``, ``mcp_call`` ...): no times are given, so the span
  has the bounds of the span that reported it (``execution``).

Each span is a child of its execution's span (the invoke_agent span, or the span that saw the
execution) and is reported once per tool call id, whichever way it is seen first. A run the app polls
by hand has its invoke_agent span only once a retrieve sees it finished: the calls it
ran wait for that span (at most ``PENDING_TOOLS_CAP`` executions; evicted ones, and those still
waiting at ``uninstrument()``, go under the span that saw the run waiting). Read: the tool's
type, a function's name, ids and statuses; never arguments, inputs, outputs or results.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry import context, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode

from . import semconv as sc
from .extract.fields import code, field, items, text, timestamp

if TYPE_CHECKING:
    from .runtime import Runtime

# gen_ai.tool.type by the API's tool type: the app's functions, the service's own tools.
TOOL_TYPES = {
    "function": "function",
    "custom": "function",
    "code_interpreter": "extension",
    "file_search": "datastore",
    "azure_ai_search": "datastore",
    "fabric_dataagent": "datastore",
    "sharepoint_grounding": "datastore",
    "bing_grounding": "extension",
    "bing_custom_search": "extension",
    "web_search": "extension",
    "web_search_preview": "extension",
    "mcp": "extension",
    "openapi": "extension",
    "connected_agent": "extension",
    "image_generation": "extension",
    "computer": "extension",
    "local_shell": "function",
}
# Responses output items that are tool calls -> the tool's type; the app runs the client ones.
RESPONSE_TOOL_ITEMS = {
    "function_call": "function",
    "custom_tool_call": "custom",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "web_search_call": "web_search",
    "mcp_call": "mcp",
    "image_generation_call": "image_generation",
    "computer_call": "computer",
    "local_shell_call": "local_shell",
}
CLIENT_ITEMS = frozenset({"function_call", "custom_tool_call", "computer_call", "local_shell_call"})
FAILED = frozenset({"failed", "cancelled", "expired", "incomplete"})
TERMINAL = FAILED | {"completed"}
# What a tool span carries over from the span of its execution.
_INHERITED = (
    sc.PROVIDER_NAME,
    sc.SYSTEM,
    sc.AGENT_ID,
    sc.AGENT_NAME,
    sc.AGENT_VERSION,
    sc.CONVERSATION_ID,
    sc.THREAD_ID,
    sc.RUN_ID,
    sc.RESPONSE_ID,
    sc.FOUNDRY_PROJECT_ID,
)


@dataclass(frozen=True)
class ToolCall:
    call_id: str
    kind: str  # the API's tool type: function, code_interpreter, file_search ...
    name: str  # a function's name, else the tool's type
    status: str | None = None

    def attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            sc.OPERATION_NAME: sc.OP_EXECUTE_TOOL,
            sc.TOOL_NAME: self.name,
            sc.TOOL_CALL_ID: self.call_id,
            sc.TOOL_TYPE: TOOL_TYPES.get(self.kind, "extension"),
        }
        if self.status:
            attrs[sc.TOOL_STATUS] = self.status
        return attrs


def _call(obj: Any, kind: Any, status: Any = None) -> ToolCall | None:
    call_id = text(field(obj, "id")) or text(field(obj, "call_id"))
    kind = code(kind)
    if call_id is None or kind is None:
        return None
    name = code(field(field(obj, "function"), "name")) or code(field(obj, "name")) or kind
    return ToolCall(call_id, kind, name, code(status))


def step_calls(step: Any) -> list[ToolCall]:
    """The tool calls of a ``tool_calls`` run step."""
    details = field(step, "step_details")
    status = field(step, "status")
    found = (_call(tool, field(tool, "type"), status) for tool in items(field(details, "tool_calls")))
    return [call for call in found if call is not None]


def required_calls(run: Any) -> list[ToolCall]:
    """The calls a ``requires_action`` run waits for (the app's functions)."""
    action = field(field(run, "required_action"), "submit_tool_outputs")
    found = (_call(tool, field(tool, "type") or "function") for tool in items(field(action, "tool_calls")))
    return [call for call in found if call is not None]


def response_calls(response: Any) -> tuple[list[ToolCall], list[ToolCall]]:
    """A response's tool call items: (the ones the app runs, the ones the service ran)."""
    client: list[ToolCall] = []
    service: list[ToolCall] = []
    for item in items(field(response, "output")):
        item_type = field(item, "type")
        kind = RESPONSE_TOOL_ITEMS.get(item_type) if isinstance(item_type, str) else None
        if kind is None:
            continue
        # A function call is named by its call_id (what its output answers); service calls by their id.
        if item_type in CLIENT_ITEMS:
            call_id = text(field(item, "call_id")) or text(field(item, "id"))
            name = code(field(item, "name")) or kind
            if call_id is not None:
                client.append(ToolCall(call_id, kind, name, code(field(item, "status"))))
        else:
            call = _call(item, kind, field(item, "status"))
            if call is not None:
                service.append(call)
    return client, service


def output_call_ids(value: Any) -> list[str]:
    """The call ids a request's ``input`` answers (``function_call_output`` items): ids only."""
    if not isinstance(value, (list, tuple)):
        return []
    found = []
    for item in value:
        if isinstance(field(item, "type"), str) and str(field(item, "type")).endswith("_call_output"):
            call_id = text(field(item, "call_id"))
            if call_id is not None:
                found.append(call_id)
    return found


@dataclass
class _Waiting:
    """Tool calls the app is running: seen at ``started`` (ns), under the execution span ``parent``."""

    started: int
    parent: SpanContext | None
    calls: list[ToolCall]
    inherited: dict[str, Any]
    owned: bool = True  # ``parent`` is the execution's own span (else a better one may come)


@dataclass
class _Ran:
    """Calls the app ran, their spans held until their execution's own span is known."""

    waiting: _Waiting
    ended: int


class Tools:
    """Per-process memory for tool spans: calls waiting for outputs, ids already reported (bounded)."""

    def __init__(self) -> None:
        self._waiting: OrderedDict[str, _Waiting] = OrderedDict()  # run id or call id -> calls
        self._reported: OrderedDict[str, None] = OrderedDict()
        self._executions: OrderedDict[str, SpanContext] = OrderedDict()
        self._held: OrderedDict[str, list[_Ran]] = OrderedDict()  # execution id -> calls run, not yet emitted
        self._lock = threading.Lock()

    # --- execution spans ------------------------------------------------------------------------

    def execution_span(self, active: Runtime, execution_id: Any, span: trace.Span, owner: bool) -> None:
        """Remember the span of an execution; ``owner``: it is the execution's own span (overrides),
        and the tool calls held for it become its children now."""
        if not isinstance(execution_id, str):
            return
        with self._lock:
            if owner or execution_id not in self._executions:
                self._executions[execution_id] = span.get_span_context()
                self._executions.move_to_end(execution_id)
                _bound(self._executions, sc.EXECUTION_SPANS_CAP)
            held = self._held.pop(execution_id, ()) if owner else ()
        for ran in held:
            _emit_ran(active, ran, span.get_span_context())

    def release(self, active: Runtime) -> None:
        """Emit every held call under the span that saw its run waiting (``uninstrument()``)."""
        with self._lock:
            held, self._held = [ran for rans in self._held.values() for ran in rans], OrderedDict()
        for ran in held:
            _emit_ran(active, ran, ran.waiting.parent)

    def parent_of(self, execution_id: Any, fallback: trace.Span) -> SpanContext:
        with self._lock:
            known = self._executions.get(execution_id) if isinstance(execution_id, str) else None
        return known or fallback.get_span_context()

    # --- the three ways a tool call becomes known -------------------------------------------------

    def waiting(
        self,
        key: str,
        calls: list[ToolCall],
        parent: SpanContext,
        inherited: dict[str, Any],
        owned: bool = True,
    ) -> None:
        """An execution waits for the app's tool outputs (first sighting starts the clock)."""
        if not calls:
            return
        with self._lock:
            if key in self._waiting:
                return
            self._waiting[key] = _Waiting(time.time_ns(), parent, calls, inherited, owned)
            _bound(self._waiting, sc.PENDING_TOOLS_CAP)

    def submitted(self, active: Runtime, keys: Iterable[str]) -> None:
        """The outputs are being sent: the waiting calls' spans end now (or, when their execution's
        own span is yet to come, are held for it: the invoke_agent span of a run polled by hand)."""
        now = time.time_ns()
        for key in keys:
            with self._lock:
                waiting = self._waiting.pop(key, None)
            if waiting is None:
                continue
            waiting.calls = [call for call in waiting.calls if self._first(call.call_id)]
            if not waiting.owned and active.names.agent_operations:
                self._hold(active, key, _Ran(waiting, now))
            else:
                _emit_ran(active, _Ran(waiting, now), waiting.parent)

    def _hold(self, active: Runtime, execution_id: str, ran: _Ran) -> None:
        with self._lock:
            self._held.setdefault(execution_id, []).append(ran)  # each round of tool calls of the run
            self._held.move_to_end(execution_id)
            evicted = []
            while len(self._held) > sc.PENDING_TOOLS_CAP:
                evicted.extend(self._held.popitem(last=False)[1])
        for old in evicted:
            _emit_ran(active, old, old.waiting.parent)

    def ran(
        self,
        active: Runtime,
        calls: list[ToolCall],
        parent: SpanContext,
        inherited: dict[str, Any],
        started: int,
        ended: int,
        timing: str,
    ) -> None:
        """Calls the service ran and reported finished: a span each, the first time each is seen."""
        for call in calls:
            if call.status in TERMINAL and self._first(call.call_id):
                emit(active, parent, call, started, max(ended, started), inherited, timing)

    def run_in_app(self, call_id: Any) -> None:
        """An agent framework runs this call and has its own execute_tool span for it (ours or its
        own): the span this module would make for it, from the response that asked for it, is not."""
        if not isinstance(call_id, str):
            return
        with self._lock:
            self._waiting.pop(call_id, None)
        self._first(call_id)

    def _first(self, call_id: str) -> bool:
        with self._lock:
            if call_id in self._reported:
                return False
            self._reported[call_id] = None
            _bound(self._reported, sc.PENDING_TOOLS_CAP)
            return True


def _bound(memory: OrderedDict[str, Any], cap: int) -> None:
    while len(memory) > cap:
        memory.popitem(last=False)


def _emit_ran(active: Runtime, ran: _Ran, parent: SpanContext | None) -> None:
    waiting = ran.waiting
    for call in waiting.calls:
        emit(active, parent, call, waiting.started, ran.ended, waiting.inherited, "client")


def inherited(attrs: dict[str, Any]) -> dict[str, Any]:
    return {key: attrs[key] for key in _INHERITED if key in attrs}


def step_times(step: Any) -> tuple[int, int] | None:
    """A finished step's created_at and terminal timestamp, in nanoseconds."""
    status = field(step, "status")
    created = timestamp(field(step, "created_at"))
    ended = timestamp(field(step, f"{status}_at")) if isinstance(status, str) else None
    if created is None or ended is None or ended < created:
        return None
    return int(created * 1e9), int(ended * 1e9)


def emit(
    active: Runtime,
    parent: SpanContext | None,
    call: ToolCall,
    started: int,
    ended: int,
    inherited: dict[str, Any],
    timing: str,
) -> None:
    """One execute_tool span, with the given start and end (ns), under ``parent``."""
    attrs = {**inherited, **call.attributes(), sc.TOOL_TIMING: timing}
    names = active.names
    name = names.span_name(sc.OP_EXECUTE_TOOL, attrs)
    ctx = context.get_current()
    if parent is not None:
        ctx = trace.set_span_in_context(NonRecordingSpan(parent), ctx)
    span = active.tracer.start_span(
        name, context=ctx, kind=SpanKind.INTERNAL, attributes=names.attributes(attrs), start_time=started
    )
    if call.status in FAILED:
        attrs[sc.ERROR_TYPE] = call.status
        span.set_attributes({sc.ERROR_TYPE: call.status, sc.FAILURE_CLASS: "tool_" + call.status})
        span.set_status(Status(StatusCode.ERROR, call.status))
    span.end(end_time=ended)
    labels = {key: attrs[key] for key in sc.EXECUTE_TOOL_METRIC_KEYS if key in attrs}
    active.execute_tool_duration.record((ended - started) / 1e9, labels, trace.set_span_in_context(span))

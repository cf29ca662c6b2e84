"""A call in flight: open a span, read the result or error into it, close it. Never raises.

Three shapes share one interface (``annotate``, ``fail``, ``close``):
- ``Call``: one CLIENT span for one SDK method call;
- ``Lifecycle``: a poll helper (``create_and_poll`` ...) that owns one span from create to
  terminal status, counting polls;
- ``InnerCall``: a call a Lifecycle makes (create, each retrieve): no span of its own, its
  ids, status and request id go to the Lifecycle's span (``inner_spans=True`` keeps spans).

A call whose result is a stream hands its span to the stream (see streams.py): the context
is restored when the request returns, the span ends when the stream does.
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime
from . import semconv as sc
from .agent_spans import framework_runs_tools
from .coexistence import owner_records_metrics, their_span
from .cost import span_costs
from .extract.assistants import message_attributes, run_step_attributes
from .extract.content_filter import guardrail_events
from .extract.content_filter import metric_points as content_filter_points
from .extract.errors import error_attributes
from .extract.fields import field, items, parsed, text
from .extract.requests import request_attributes
from .extract.responses import message_item_attributes, produced_messages
from .guard import internal_error
from .spec import LIFECYCLE, LIST, POLL, STREAM, Operation
from .tools import FAILED as FAILED_EXECUTION_STATUSES
from .tools import inherited, output_call_ids, required_calls, response_calls, step_calls, step_times

# The tokens an execution used: on the span that completes it (and in the metrics) once.
USAGE_KEYS = (
    sc.USAGE_INPUT_TOKENS,
    sc.USAGE_OUTPUT_TOKENS,
    sc.USAGE_CACHE_READ_INPUT_TOKENS,
    sc.USAGE_CACHE_CREATION_INPUT_TOKENS,
    sc.USAGE_REASONING_OUTPUT_TOKENS,
)
# Latest inference usage counters: which span attribute feeds which counter.
_USAGE_COUNTERS = (
    (sc.USAGE_INPUT_TOKENS, sc.METRIC_USAGE_INPUT_TOKENS),
    (sc.USAGE_OUTPUT_TOKENS, sc.METRIC_USAGE_OUTPUT_TOKENS),
    (sc.USAGE_CACHE_READ_INPUT_TOKENS, sc.METRIC_USAGE_CACHE_READ_INPUT_TOKENS),
    (sc.USAGE_CACHE_CREATION_INPUT_TOKENS, sc.METRIC_USAGE_CACHE_WRITE_INPUT_TOKENS),
    (sc.USAGE_REASONING_OUTPUT_TOKENS, sc.METRIC_USAGE_REASONING_OUTPUT_TOKENS),
)
# Operations that name an agent: the id -> name they show is remembered for the runs of that agent.
_AGENT_OPERATIONS = frozenset({"create_agent", "get_agent", "update_agent"})
# These operations are the execution when the call turns out to be one (see _agent_operation).
_STREAMED_EXECUTIONS = frozenset({"start_thread_run", "create_thread_and_run"})

# Metric attributes are low-cardinality: copied from the span's attributes by name, never ids.
_METRIC_KEYS = (
    sc.OPERATION_NAME,
    sc.PROVIDER_NAME,
    sc.REQUEST_MODEL,
    sc.RESPONSE_MODEL,
    sc.AZURE_DEPLOYMENT,
    sc.SERVER_ADDRESS,
    sc.RUN_STATUS,
    sc.ERROR_TYPE,
    sc.FAILURE_CLASS,
    sc.EXECUTION_DRIVER,  # invoke_agent: a whole run (helper, stream) or one retrieve (poll)
)
# Poll counts: which service and model, and how the run ended.
_RUN_METRIC_KEYS = (
    sc.PROVIDER_NAME,
    sc.REQUEST_MODEL,
    sc.RESPONSE_MODEL,
    sc.AZURE_DEPLOYMENT,
    sc.SERVER_ADDRESS,
    sc.RUN_STATUS,
    sc.RUN_LAST_ERROR_CODE,
    sc.RUN_INCOMPLETE_REASON,
)
_REPLY_METRIC_KEYS = (sc.PROVIDER_NAME, sc.AZURE_DEPLOYMENT, sc.SERVER_ADDRESS)
# Execution metrics (runs and responses alike): the run labels in the shared vocabulary.
_EXECUTION_METRIC_KEYS = (
    sc.PROVIDER_NAME,
    sc.REQUEST_MODEL,
    sc.RESPONSE_MODEL,
    sc.AZURE_DEPLOYMENT,
    sc.SERVER_ADDRESS,
    sc.EXECUTION_KIND,
    sc.EXECUTION_STATUS,
    sc.EXECUTION_ERROR_CODE,
    sc.EXECUTION_INCOMPLETE_REASON,
)


class Call:
    """One wrapped call: its span, context tokens and the attributes set so far."""

    counts_time = True  # records the duration and token points (a Guest leaves them to the span's owner)

    __slots__ = (
        "attrs",
        "context_token",
        "last_status",
        "lifecycle",
        "newest_first",
        "pending",
        "recording",
        "run_claimed",
        "runtime",
        "span",
        "spec",
        "started",
        "streaming",
        "var_token",
    )

    def __init__(self, active: runtime.Runtime, spec: Operation, span: trace.Span, attrs: dict[str, Any]):
        self.runtime = active
        self.spec = spec
        self.span = span
        self.attrs = attrs  # everything known so far (the span's, once flushed)
        self.pending: dict[str, Any] = {}  # known, not yet on the span: written once, at the end
        self.lifecycle: Lifecycle | None = None  # set when an inner call keeps its own span
        self.newest_first = True  # a page's order, as the request asked (the API's default)
        self.recording = span.is_recording()
        self.last_status: str | None = None
        self.run_claimed = False  # this span is the first to see its execution (run, response) finished
        self.streaming = False  # the span now belongs to a stream (streams.py)
        self.started = time.perf_counter()
        self.context_token = context.attach(trace.set_span_in_context(span))
        self.var_token = runtime.CURRENT_CALL.set(self)

    def annotate(self, attrs: dict[str, Any]) -> None:
        """Attributes for the span. They reach it in one ``set_attributes`` when it ends: the SDK
        locks and validates on every write, and a poll loop would rewrite the same keys each poll."""
        if attrs:
            if sc.EXECUTION_STATUS in attrs:
                outcomes = self.runtime.outcomes
                if not self.run_claimed:
                    creating = sc.RESPONSE_ID not in self.attrs  # a create's first answer: no id asked for
                    self.run_claimed = outcomes.settle(attrs, creating)
                if outcomes.transition(attrs):
                    status = attrs[sc.EXECUTION_STATUS]
                    self.event(sc.EVENT_EXECUTION_STATUS, {sc.EXECUTION_STATUS: status})
            self.pending.update(attrs)
            self.attrs.update(attrs)
            if self.lifecycle is not None:
                self.lifecycle.observe(attrs)

    def record_status(self, status: str | None, attrs: dict[str, Any]) -> None:
        """A run status transition as a span event (repeats of the same status are not news)."""
        if status and status != self.last_status:
            self.event(sc.EVENT_RUN_STATUS, attrs)
            self.last_status = status

    def event(self, name: str, attrs: dict[str, Any]) -> None:
        """A span event, its attributes under the mode's names."""
        self.span.add_event(name, self.runtime.names.attributes(attrs))

    def repeats(self, result: Any) -> bool:
        return False  # a call of its own always has news: only a Lifecycle's polls repeat

    def observe_result(self, obj: Any) -> None:
        """Items of a page become events once each; messages answer earlier user messages."""
        outcomes = self.runtime.outcomes
        kind = field(obj, "object")
        if kind == "list":
            messages = []
            for item in items(field(obj, "data"))[: sc.LIST_IDS_CAP]:
                self.observe_item(item)
                item_kind = field(item, "object")
                if item_kind == "thread.message":
                    messages.append(item)
                elif item_kind == "assistant":
                    outcomes.remember_agent(field(item, "id"), field(item, "name"))
            self.record_replies(outcomes.replies(messages, self.newest_first))
        elif kind == "thread.message":
            outcomes.new_item(obj)  # this span already carries it: no event
            self.record_replies(outcomes.replies((obj,)))
        elif kind == "thread.run.step":
            self.observe_step_tools(obj)
            outcomes.new_item(obj)
        elif kind == "thread.run":
            self.observe_execution(obj)
        elif kind == "response":  # its output messages, with the execution that produced them
            produced_by = {sc.RESPONSE_ID: self.attrs.get(sc.RESPONSE_ID) or field(obj, "id")}
            for message in produced_messages(obj):
                self.observe_item(message, produced_by)
            self.observe_execution(obj)

    # --- tool calls (tools.py): what an execution asked the app to run, or ran itself ----------------

    def owns_execution(self) -> bool:
        """This span is its execution's own: a helper's, a stream's, or the one that saw it finish."""
        return self.streaming or self.run_claimed or isinstance(self, Lifecycle)

    def execution_parent(self, execution_id: Any) -> Any:
        if self.owns_execution():
            return self.span.get_span_context()
        return self.runtime.tools.parent_of(execution_id, self.span)

    def tool_attributes(self) -> dict[str, Any]:
        """What a tool span carries over from this (execution's) span, the agent's name included."""
        shared = inherited(self.attrs)
        if sc.AGENT_ID in shared and sc.AGENT_NAME not in shared:
            name = self.runtime.outcomes.agent_name(shared[sc.AGENT_ID])
            if name is not None:
                shared[sc.AGENT_NAME] = name
        return shared

    def observe_execution(self, obj: Any) -> None:
        """A run waiting for tool outputs, or a response's tool call items."""
        if not self.recording:
            return
        tools = self.runtime.tools
        execution_id = text(field(obj, "id"))
        kind = field(obj, "object")
        if kind == "thread.run":
            if field(obj, "status") == "requires_action" and execution_id is not None:
                parent = self.execution_parent(execution_id)
                owned = self.owns_execution()
                tools.waiting(execution_id, required_calls(obj), parent, self.tool_attributes(), owned)
            return
        client, service = response_calls(obj)
        if not (client or service):
            return
        parent = self.execution_parent(execution_id)
        shared = self.tool_attributes()
        if execution_id is not None:
            shared[sc.RESPONSE_ID] = execution_id
        for call in () if framework_runs_tools() else client:
            tools.waiting(call.call_id, [call], parent, shared)
        if service:
            now = time.time_ns()
            started = getattr(self.span, "start_time", None) or now
            tools.ran(self.runtime, service, parent, shared, started, now, "execution")

    def observe_step_tools(self, step: Any) -> None:
        """A finished run step's tool calls, timed by the step's own timestamps."""
        calls = step_calls(step)
        times = step_times(step) if calls and self.recording else None
        if times is None:
            return
        run_id = text(field(step, "run_id"))
        shared = self.tool_attributes()
        for key, value in (
            (sc.RUN_ID, run_id),
            (sc.RESPONSE_ID, run_id),
            (sc.RUN_STEP_ID, text(field(step, "id"))),
            (sc.THREAD_ID, text(field(step, "thread_id"))),
            (sc.CONVERSATION_ID, text(field(step, "thread_id"))),
            (sc.AGENT_ID, text(field(step, "assistant_id"))),
        ):
            if value is not None:
                shared[key] = value
        parent = self.execution_parent(run_id)
        self.runtime.tools.ran(self.runtime, calls, parent, shared, *times, "step_timestamps")

    def observe_item(self, item: Any, produced_by: dict[str, Any] | None = None) -> None:
        """A step or message (or message item) seen for the first time in its status: a span event."""
        kind = field(item, "object") or field(item, "type")
        if kind == "thread.run.step":
            self.observe_step_tools(item)
        read = _ITEM_EVENTS.get(kind) if isinstance(kind, str) else None
        if read is not None and self.runtime.outcomes.new_item(item):
            attrs: dict[str, Any] = {}
            read(item, attrs, self.runtime.settings)
            if produced_by and produced_by.get(sc.RESPONSE_ID):
                attrs.update(produced_by)
            self.event(sc.EVENT_RUN_STEP if kind == "thread.run.step" else sc.EVENT_MESSAGE, attrs)

    def record_replies(self, replies: list[dict[str, Any]]) -> None:
        if not replies:
            return
        labels = {key: self.attrs[key] for key in _REPLY_METRIC_KEYS if key in self.attrs}
        for reply in replies:
            self.event(sc.EVENT_REPLY, reply)
            status_labels = {**labels, sc.MESSAGE_STATUS: reply[sc.MESSAGE_STATUS]}
            status_labels = self.runtime.names.attributes(status_labels)
            self.runtime.reply_time.record(reply[sc.REPLY_TIME], status_labels, self._metric_context())

    def fail(self, error_type: str) -> None:
        self.span.set_status(Status(StatusCode.ERROR, error_type))

    def close(self) -> None:
        """End the span and restore the context (both, whatever happens to the other)."""
        try:
            self.end()
        finally:
            self.detach()

    def detach(self) -> None:
        """Restore the context the call started in; the span stays open (a stream ends it)."""
        runtime.CURRENT_CALL.reset(self.var_token)
        context.detach(self.context_token)

    def end(self) -> None:
        try:
            self.settle()
        except Exception as error:
            internal_error(error, "end")
        if self.pending:
            self.span.set_attributes(self.runtime.names.attributes(self.pending))
            self.pending = {}
        try:  # the span ends whatever its events do
            self._guardrail_events()
        except Exception as error:
            internal_error(error, "end")
        self.span.end()
        self._record_metrics()

    def _guardrail_events(self) -> None:
        if self.recording and (
            sc.CONTENT_FILTER_OUTCOME in self.attrs or sc.CONTENT_FILTER_ERROR in self.attrs
        ):
            for event in guardrail_events(self.attrs, self.run_claimed):
                self.span.add_event(sc.EVENT_GUARDRAIL_RESULT, event)

    def _put(self, key: str, value: Any) -> None:
        self.attrs[key] = value
        self.pending[key] = value

    def counts_usage(self) -> bool:
        """Whether this span's tokens are counted: not a read of an execution another span counted."""
        attrs = self.attrs
        return self.run_claimed or (sc.RUN_ID not in attrs and sc.EXECUTION_STATUS not in attrs)

    def settle(self) -> None:
        """What the whole call showed decides: usage once, the agent's name, the execution's span, and
        the operation and span name (invoke_agent for the span that is the execution)."""
        attrs = self.attrs
        active = self.runtime
        if not self.counts_usage():
            moved = [key for key in USAGE_KEYS if key in attrs]
            for key in moved:
                del attrs[key]
                self.pending.pop(key, None)
            if moved:
                self._put(sc.USAGE_REPORTED_ELSEWHERE, True)
        agent_id = attrs.get(sc.AGENT_ID)
        if agent_id is not None:
            name = attrs.get(sc.AGENT_NAME)
            if name is None:
                known = active.outcomes.agent_name(agent_id)
                if known is not None:
                    self._put(sc.AGENT_NAME, known)
            elif attrs.get(sc.OPERATION_NAME) in _AGENT_OPERATIONS:
                active.outcomes.remember_agent(agent_id, name)
        if sc.EXECUTION_STATUS in attrs:
            owner = self.owns_execution()
            if owner:
                self._run_model()
            active.tools.execution_span(active, attrs.get(sc.RESPONSE_ID), self.span, owner)
        if active.names.agent_operations:
            self._agent_operation()
            if attrs.get(sc.OPERATION_NAME) == sc.OP_INVOKE_AGENT:
                self._execution_outcome()
        if active.settings.prices is not None:  # no table: this one check
            self.price_usage()

    def price_usage(self) -> None:
        """The usage this span counts, priced by the user's price table (cost.py)."""
        prices = self.runtime.settings.prices
        if prices is not None and self.counts_usage():
            self.annotate(span_costs(self.attrs, prices))

    def _agent_operation(self) -> None:
        """The operation name (invoke_agent when the call is the execution), and the span name
        ``{operation} {agent}`` (latest names: ``{operation} {model}`` too)."""
        attrs = self.attrs
        names = self.runtime.names
        operation = started = names.operation(self.spec.operation, self.spec.agent_operation)
        driver = None
        if (
            # app-driven polling: the read that saw it finish (inside a helper, the helper is the run)
            (operation == POLL and self.run_claimed and self.lifecycle is None)
            or (operation in _STREAMED_EXECUTIONS and self.streaming)
            or (operation == sc.OP_CHAT and sc.AGENT_NAME in attrs and sc.OPENAI_API_TYPE in attrs)
        ):
            driver = sc.DRIVER_POLL if operation == POLL else None
            operation = sc.OP_INVOKE_AGENT
        if attrs.get(sc.OPERATION_NAME) != operation:
            self._put(sc.OPERATION_NAME, operation)
        if operation == sc.OP_INVOKE_AGENT:
            self._put(sc.EXECUTION_DRIVER, driver or self._driver())
        name = names.span_name(operation, attrs)
        if name != started:  # the span started under the operation's name
            self.span.update_name(name)

    def _driver(self) -> str:
        """How the app drove the execution this span is (the operation name no longer tells)."""
        if self.streaming or self.spec.kind == STREAM:
            return sc.DRIVER_STREAM
        return sc.DRIVER_HELPER if self.spec.kind == LIFECYCLE else sc.DRIVER_REQUEST

    def _run_model(self) -> None:
        """A run runs on its model (the assistant's, or the create's override): its own span names it
        as the requested one when the request did not, as token panels group usage by it."""
        attrs = self.attrs
        model = attrs.get(sc.RESPONSE_MODEL)
        if (
            model is not None
            and sc.REQUEST_MODEL not in attrs
            and attrs.get(sc.EXECUTION_KIND) == sc.EXECUTION_KIND_RUN
        ):
            self._put(sc.REQUEST_MODEL, model)

    def _execution_outcome(self) -> None:
        """An invoke_agent execution that ended failed, expired, cancelled or incomplete failed as an
        agent invocation: status ERROR and a failure class (error panels count ``success == false``)."""
        attrs = self.attrs
        failure = execution_failure(attrs)
        if failure is None or sc.ERROR_TYPE in attrs:  # an exception's class, when one was raised, wins
            return
        self._put(sc.ERROR_TYPE, failure)
        self._put(sc.FAILURE_CLASS, failure)
        self.span.set_status(Status(StatusCode.ERROR, failure))

    def _metric_context(self) -> context.Context | None:
        # A stream's span is no longer the current one: name it, so exemplars still link to it.
        return trace.set_span_in_context(self.span) if self.streaming else None

    def _record_metrics(self) -> None:
        attrs = self.attrs
        active = self.runtime
        ctx = self._metric_context()
        names = active.names
        labels = names.attributes({key: attrs[key] for key in _METRIC_KEYS if key in attrs})
        if self.counts_time:  # a guest leaves duration and tokens to its host's span
            seconds = time.perf_counter() - self.started
            inference = attrs.get(sc.OPERATION_NAME) in sc.INFERENCE_OPERATION_NAMES
            if names.replaced_metrics or not inference:
                active.duration.record(seconds, labels, ctx)
            if inference and active.inference:
                active.inference[sc.METRIC_INFERENCE_DURATION].record(seconds, labels, ctx)
        # An execution's tokens count once (settle() took them off every read that repeats them).
        if names.replaced_metrics and self.counts_time:
            for key, token_type in ((sc.USAGE_INPUT_TOKENS, "input"), (sc.USAGE_OUTPUT_TOKENS, "output")):
                tokens = attrs.get(key)
                if tokens is not None:
                    active.token_usage.record(tokens, {**labels, sc.TOKEN_TYPE: token_type}, ctx)
        if active.inference and self.counts_time:
            self._record_inference_tokens(labels, ctx)
        try:  # the execution's metrics below still count
            for point in content_filter_points(attrs, self.run_claimed):
                active.content_filter.add(1, point, ctx)
        except Exception as error:
            internal_error(error, "metrics")
        if self.run_claimed:
            self._record_execution(ctx)

    def _record_inference_tokens(self, labels: dict[str, Any], ctx: context.Context | None) -> None:
        """The latest conventions' token metrics: per-operation histograms and usage counters."""
        attrs = self.attrs
        instruments = self.runtime.inference
        for key, name in (
            (sc.USAGE_INPUT_TOKENS, sc.METRIC_OPERATION_INPUT_TOKENS),
            (sc.USAGE_OUTPUT_TOKENS, sc.METRIC_OPERATION_OUTPUT_TOKENS),
        ):
            tokens = attrs.get(key)
            if tokens is not None:
                instruments[name].record(tokens, labels, ctx)
        usage_labels = {key: value for key, value in labels.items() if key != sc.ERROR_TYPE}
        usage_labels[sc.TOKEN_MODALITY] = sc.TOKEN_MODALITY_UNKNOWN
        for key, name in _USAGE_COUNTERS:
            tokens = attrs.get(key)
            if tokens is not None:
                instruments[name].add(tokens, usage_labels, ctx)

    def _record_execution(self, ctx: context.Context | None) -> None:
        """One finished execution (run or response, one vocabulary): counted, its timings recorded."""
        attrs = self.attrs
        active = self.runtime
        labels = active.names.attributes({key: attrs[key] for key in _EXECUTION_METRIC_KEYS if key in attrs})
        active.executions.add(1, labels, ctx)
        for key, histogram in (
            (sc.EXECUTION_TOTAL_TIME, active.execution_duration),
            (sc.EXECUTION_QUEUE_TIME, active.execution_queue_time),
            (sc.EXECUTION_ACTIVE_TIME, active.execution_active_time),
        ):
            seconds = attrs.get(key)
            if seconds is not None:
                histogram.record(seconds, labels, ctx)


_ITEM_EVENTS = {
    "thread.message": message_attributes,
    "thread.run.step": run_step_attributes,
    "message": message_item_attributes,  # a Responses / Conversations message item
}


class Lifecycle(Call):
    """A helper that drives a run to a terminal status: one span, polls counted, changes as events."""

    __slots__ = ("lifecycle_token", "polls", "request_ids")

    def __init__(self, active: runtime.Runtime, spec: Operation, span: trace.Span, attrs: dict[str, Any]):
        super().__init__(active, spec, span, attrs)
        self.polls = 0
        self.request_ids: list[str] = []
        self.lifecycle_token = runtime.CURRENT_LIFECYCLE.set(self)

    def annotate(self, attrs: dict[str, Any]) -> None:
        super().annotate(attrs)
        self.observe(attrs)

    def observe(self, attrs: dict[str, Any]) -> None:
        """Status transitions and provider request ids of the calls made on the helper's behalf."""
        request_id = attrs.get(sc.REQUEST_ID)
        if request_id and len(self.request_ids) < sc.REQUEST_IDS_CAP and request_id not in self.request_ids:
            self.request_ids.append(request_id)
        status = attrs.get(sc.RUN_STATUS)
        if status:
            self.record_status(status, {sc.RUN_STATUS: status, sc.RUN_POLLS: self.polls})

    def repeats(self, result: Any) -> bool:
        return already_read(result, self.attrs)  # the helper returns the run its last poll read

    def counted_poll(self) -> None:
        self.polls += 1

    def end(self) -> None:
        if self.recording:  # a sampled-out span takes no attributes: only the poll metric below
            final: dict[str, Any] = {sc.RUN_POLLS: self.polls}
            if self.request_ids:
                final[sc.REQUEST_IDS] = list(self.request_ids)
            self.annotate(final)
        super().end()
        labels = {key: self.attrs[key] for key in _RUN_METRIC_KEYS if key in self.attrs}
        self.runtime.run_polls.record(self.polls, self.runtime.names.attributes(labels))

    def detach(self) -> None:
        runtime.CURRENT_LIFECYCLE.reset(self.lifecycle_token)
        super().detach()


class Guest(Call):
    """Our reading of a call whose span is another instrumentation's (coexistence.py): our attributes
    go onto that span when we finish, before it ends; we never end it nor set its status, and leave
    the duration and token points to it."""

    __slots__ = ()
    counts_time = False

    def end(self) -> None:
        if self.runtime.settings.prices is not None:  # the owner's span carries the usage: its cost too
            try:
                self.price_usage()
            except Exception as error:
                internal_error(error, "end")
        if self.pending:
            if self.span.is_recording():
                self.span.set_attributes(self.runtime.names.attributes(self.pending))
            self.pending = {}
        if sc.EXECUTION_STATUS in self.attrs and self.owns_execution():
            try:  # their span saw the run finish: the tool calls held for its execution go under it
                self.runtime.tools.execution_span(
                    self.runtime, self.attrs.get(sc.RESPONSE_ID), self.span, True
                )
            except Exception as error:
                internal_error(error, "tool")
        self._record_metrics()

    def fail(self, error_type: str) -> None:
        pass  # theirs records the exception on its span


class CountingGuest(Guest):
    """A guest on a span whose owner records no duration or token points for the call
    (AIAgentsInstrumentor's agents operations): ours are the call's only ones."""

    __slots__ = ()
    counts_time = True


class InnerCall:
    """A call made inside a Lifecycle: reported to the Lifecycle's span, no span of its own."""

    __slots__ = ("attrs", "lifecycle", "recording", "runtime", "spec")
    streaming = False

    def __init__(self, lifecycle: Lifecycle, spec: Operation):
        self.lifecycle = lifecycle
        self.spec = spec
        self.runtime = lifecycle.runtime
        self.recording = lifecycle.recording
        self.attrs = lifecycle.attrs  # what the helper's span knows (deployment, run, status)

    def annotate(self, attrs: dict[str, Any]) -> None:
        self.lifecycle.annotate(attrs)

    def observe_result(self, obj: Any) -> None:
        self.lifecycle.observe_result(obj)

    def repeats(self, result: Any) -> bool:
        return already_read(result, self.attrs)

    def detach(self) -> None:
        pass

    def fail(self, error_type: str) -> None:
        pass  # the exception reaches the Lifecycle, which records it

    def close(self) -> None:
        pass


Active = Call | InnerCall


# An execution's error code or incomplete reason, as the failure class the call errors use.
_EXECUTION_FAILURE_CLASSES = {"rate_limit_exceeded": "rate_limited"}


def execution_failure(attrs: dict[str, Any]) -> str | None:
    """The failure class of an execution that did not complete: its error code, its incomplete
    reason, else its status (identifiers only: ``code()`` read them)."""
    status = attrs.get(sc.EXECUTION_STATUS)
    if status not in FAILED_EXECUTION_STATUSES:
        return None
    reason = attrs.get(sc.EXECUTION_ERROR_CODE) or attrs.get(sc.EXECUTION_INCOMPLETE_REASON) or status
    return _EXECUTION_FAILURE_CLASSES.get(reason, reason)


def already_read(result: Any, known: dict[str, Any]) -> bool:
    """The run a helper's span has read, in the status it read it in: nothing new to read (a
    poll's request id came with its headers, and the poll is counted). Most polls of a long run
    find it still in_progress, and the helper returns the run its last poll read."""
    status = known.get(sc.RUN_STATUS)
    if status is None:
        return False
    run = parsed(result)
    return field(run, "status") == status and field(run, "id") == known.get(sc.RUN_ID)


def start(spec: Operation, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Active | None:
    """Open the span for one call, or None when instrumentation is off or suppressed."""
    active = runtime.ACTIVE
    if active is None or not is_instrumentation_enabled():
        return None
    lifecycle = runtime.CURRENT_LIFECYCLE.get()
    if lifecycle is not None and spec.operation == POLL:
        lifecycle.counted_poll()
    # A helper nested in a helper (create_and_poll -> poll) is always folded in.
    if lifecycle is not None and (spec.kind == LIFECYCLE or not active.settings.inner_spans):
        # A sampled-out helper's span takes nothing from its calls: they only count (above).
        if not lifecycle.recording:
            return None
        if "tool_outputs" in kwargs:  # a helper submitting its tools' outputs (create_and_process)
            try:
                _outputs_sent(
                    active, request_attributes(spec.positional, args, kwargs, active.settings), kwargs
                )
            except Exception as error:  # the folded call still runs, and counts
                internal_error(error, "request")
        return InnerCall(lifecycle, spec)
    try:
        attrs = spec.client(getattr(instance, "_client", None), active.settings)
        operation = active.names.operation(spec.operation, spec.agent_operation)
        attrs[sc.OPERATION_NAME] = operation
        theirs = their_span(spec.operation) if lifecycle is None else None
        if theirs is not None:  # another instrumentation's span for this very call: we are its guest
            host = Guest if owner_records_metrics(spec.operation, theirs) else CountingGuest
            call: Call = host(active, spec, theirs, attrs)
            call.pending = dict(attrs)
        else:
            span = active.tracer.start_span(
                operation, kind=SpanKind.CLIENT, attributes=active.names.attributes(attrs)
            )
            call = (Lifecycle if spec.kind == LIFECYCLE else Call)(active, spec, span, attrs)
        call.lifecycle = lifecycle
        if spec.kind == LIST:
            call.newest_first = kwargs.get("order") != "asc"
    except Exception as error:
        internal_error(error, "start")
        return None
    # The span is open from here on: a failure below loses attributes, never the span.
    try:
        if call.recording:
            requested = request_attributes(spec.positional, args, kwargs, active.settings)
            call.annotate(requested)
            _outputs_sent(active, requested, kwargs)
    except Exception as error:
        internal_error(error, "request")
    return call


def _outputs_sent(active: runtime.Runtime, requested: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """Tool outputs in this request: the tool calls they answer end now (tools.py)."""
    run_id = requested.get(sc.RUN_ID)
    if run_id is not None and sc.TOOL_OUTPUTS in requested:
        active.tools.submitted(active, (run_id,))
    if "input" in kwargs:
        answered = output_call_ids(kwargs["input"])
        if answered:
            active.tools.submitted(active, answered)


def finish(call: Active, result: Any) -> None:
    """Read the result into the span, end it, record metrics, restore the context."""
    if not call.streaming:  # else what the app holds (a stream, a raw body) reads it later
        read_result(call, result)
    _close(call)


def read_result(call: Active, result: Any) -> None:
    """The result's attributes (and the items it carries) onto the span."""
    try:
        if call.recording and not call.repeats(result):
            attrs: dict[str, Any] = {}
            read = call.spec.result(result, attrs, call.runtime.settings)
            azure_deployment_from_model(call.attrs, attrs)
            call.annotate(attrs)
            if read is not None:
                call.observe_result(read)
    except Exception as error:
        internal_error(error, "result")


def azure_deployment_from_model(known: dict[str, Any], attrs: dict[str, Any]) -> None:
    """On Azure the ``model`` an app names *is* the deployment (Assistants' and Responses' URLs carry
    none); a run answers with it too, a response with the model the deployment serves, so the
    request's ``model`` argument comes first."""
    if known.get(sc.PROVIDER_NAME) != sc.PROVIDER_AZURE_OPENAI or sc.AZURE_DEPLOYMENT in known:
        return
    model = known.get(sc.REQUEST_MODEL) or attrs.get(sc.RESPONSE_MODEL) or attrs.get(sc.REQUEST_MODEL)
    if model:
        attrs[sc.AZURE_DEPLOYMENT] = model


def fail(call: Active, error: BaseException) -> None:
    """Record an exception's class and codes (never its message), end the span."""
    record_error(call, error)
    _close(call)


def record_error(call: Active, error: BaseException) -> None:
    try:
        attrs = error_attributes(error)
        azure_deployment_from_model(call.attrs, attrs)  # a failed call was made to a deployment too
        if call.recording:
            call.annotate(attrs)
        else:
            call.attrs[sc.ERROR_TYPE] = attrs[sc.ERROR_TYPE]
        call.fail(attrs[sc.ERROR_TYPE])
    except Exception as internal:
        internal_error(internal, "error")


def _close(call: Active) -> None:
    try:
        if call.streaming:
            call.detach()  # the stream ends the span
        else:
            call.close()
    except Exception as error:
        internal_error(error, "end")

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
from .coexistence import their_span
from .extract.assistants import message_attributes, run_step_attributes
from .extract.content_filter import metric_points as content_filter_points
from .extract.errors import error_attributes
from .extract.fields import field, items, parsed
from .extract.requests import request_attributes
from .extract.responses import message_item_attributes, produced_messages
from .guard import internal_error
from .spec import LIFECYCLE, LIST, POLL, Operation

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
                    self.span.add_event(sc.EVENT_EXECUTION_STATUS, {sc.EXECUTION_STATUS: status})
            self.pending.update(attrs)
            self.attrs.update(attrs)
            if self.lifecycle is not None:
                self.lifecycle.observe(attrs)

    def record_status(self, status: str | None, attrs: dict[str, Any]) -> None:
        """A run status transition as a span event (repeats of the same status are not news)."""
        if status and status != self.last_status:
            self.span.add_event(sc.EVENT_RUN_STATUS, attrs)
            self.last_status = status

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
                if field(item, "object") == "thread.message":
                    messages.append(item)
            self.record_replies(outcomes.replies(messages, self.newest_first))
        elif kind == "thread.message":
            outcomes.new_item(obj)  # this span already carries it: no event
            self.record_replies(outcomes.replies((obj,)))
        elif kind == "thread.run.step":
            outcomes.new_item(obj)
        elif kind == "response":  # its output messages, with the execution that produced them
            produced_by = {sc.RESPONSE_ID: self.attrs.get(sc.RESPONSE_ID) or field(obj, "id")}
            for message in produced_messages(obj):
                self.observe_item(message, produced_by)

    def observe_item(self, item: Any, produced_by: dict[str, Any] | None = None) -> None:
        """A step or message (or message item) seen for the first time in its status: a span event."""
        kind = field(item, "object") or field(item, "type")
        read = _ITEM_EVENTS.get(kind) if isinstance(kind, str) else None
        if read is not None and self.runtime.outcomes.new_item(item):
            attrs: dict[str, Any] = {}
            read(item, attrs, self.runtime.settings)
            if produced_by and produced_by.get(sc.RESPONSE_ID):
                attrs.update(produced_by)
            self.span.add_event(sc.EVENT_RUN_STEP if kind == "thread.run.step" else sc.EVENT_MESSAGE, attrs)

    def record_replies(self, replies: list[dict[str, Any]]) -> None:
        if not replies:
            return
        labels = {key: self.attrs[key] for key in _REPLY_METRIC_KEYS if key in self.attrs}
        for reply in replies:
            self.span.add_event(sc.EVENT_REPLY, reply)
            status_labels = {**labels, sc.MESSAGE_STATUS: reply[sc.MESSAGE_STATUS]}
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
        if self.pending:
            self.span.set_attributes(self.pending)
            self.pending = {}
        self.span.end()
        self._record_metrics()

    def _metric_context(self) -> context.Context | None:
        # A stream's span is no longer the current one: name it, so exemplars still link to it.
        return trace.set_span_in_context(self.span) if self.streaming else None

    def _record_metrics(self) -> None:
        attrs = self.attrs
        active = self.runtime
        ctx = self._metric_context()
        labels = {key: attrs[key] for key in _METRIC_KEYS if key in attrs}
        if self.counts_time:
            active.duration.record(time.perf_counter() - self.started, labels, ctx)
        # An execution's tokens count once (every retrieve repeats them); a step's are a share.
        once = self.run_claimed or (sc.RUN_ID not in attrs and sc.EXECUTION_STATUS not in attrs)
        if once and self.counts_time and sc.RUN_STEP_ID not in attrs:
            for key, token_type in ((sc.USAGE_INPUT_TOKENS, "input"), (sc.USAGE_OUTPUT_TOKENS, "output")):
                tokens = attrs.get(key)
                if tokens is not None:
                    active.token_usage.record(tokens, {**labels, sc.TOKEN_TYPE: token_type}, ctx)
        for point in content_filter_points(attrs, self.run_claimed):
            active.content_filter.add(1, point, ctx)
        if self.run_claimed:
            self._record_execution(ctx)

    def _record_execution(self, ctx: context.Context | None) -> None:
        """One finished execution (run or response, one vocabulary): counted, its timings recorded."""
        attrs = self.attrs
        active = self.runtime
        labels = {key: attrs[key] for key in _EXECUTION_METRIC_KEYS if key in attrs}
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
        self.runtime.run_polls.record(self.polls, labels)

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
        if self.pending:
            if self.span.is_recording():
                self.span.set_attributes(self.pending)
            self.pending = {}
        self._record_metrics()

    def fail(self, error_type: str) -> None:
        pass  # theirs records the exception on its span


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
        return InnerCall(lifecycle, spec) if lifecycle.recording else None
    try:
        attrs = spec.client(getattr(instance, "_client", None), active.settings)
        attrs[sc.OPERATION_NAME] = spec.operation
        theirs = their_span(spec.operation) if lifecycle is None else None
        if theirs is not None:  # another instrumentation's span for this very call: we are its guest
            call: Call = Guest(active, spec, theirs, attrs)
            call.pending = dict(attrs)
        else:
            span = active.tracer.start_span(spec.operation, kind=SpanKind.CLIENT, attributes=attrs)
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
            call.annotate(request_attributes(spec.positional, args, kwargs, active.settings))
    except Exception as error:
        internal_error(error, "request")
    return call


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

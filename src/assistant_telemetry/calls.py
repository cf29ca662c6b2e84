"""A call in flight: open a span, read the result or error into it, close it. Never raises.

Three shapes share one interface (``annotate``, ``fail``, ``close``):
- ``Call``: one CLIENT span for one SDK method call;
- ``Lifecycle``: a poll or stream helper (``create_and_poll`` ...) that owns one span from
  create to terminal status, counting polls and recording each status change as an event;
- ``InnerCall``: a call a Lifecycle makes (create, each retrieve): no span of its own, its
  ids, status and request id go to the Lifecycle's span (``inner_spans=True`` keeps spans).
"""

from __future__ import annotations

import time
from typing import Any

from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime
from . import semconv as sc
from .extract.errors import error_attributes
from .extract.requests import request_attributes
from .guard import internal_error
from .spec import LIFECYCLE, Operation

# Metric attributes are low-cardinality: copied from the span's attributes by name, never ids.
_METRIC_KEYS = (
    sc.OPERATION_NAME,
    sc.PROVIDER_NAME,
    sc.REQUEST_MODEL,
    sc.RESPONSE_MODEL,
    sc.AZURE_DEPLOYMENT,
    sc.SERVER_ADDRESS,
    sc.ERROR_TYPE,
    sc.FAILURE_CLASS,
)


class Call:
    """One wrapped call: its span, context tokens and the attributes set so far."""

    __slots__ = (
        "attrs",
        "context_token",
        "lifecycle",
        "recording",
        "runtime",
        "span",
        "spec",
        "started",
        "var_token",
    )

    def __init__(self, active: runtime.Runtime, spec: Operation, span: trace.Span, attrs: dict[str, Any]):
        self.runtime = active
        self.spec = spec
        self.span = span
        self.attrs = attrs
        self.lifecycle: Lifecycle | None = None  # set when an inner call keeps its own span
        self.recording = span.is_recording()
        self.started = time.perf_counter()
        self.context_token = context.attach(trace.set_span_in_context(span))
        self.var_token = runtime.CURRENT_CALL.set(self)

    def annotate(self, attrs: dict[str, Any]) -> None:
        if attrs:
            self.span.set_attributes(attrs)
            self.attrs.update(attrs)
            if self.lifecycle is not None:
                self.lifecycle.observe(attrs)

    def fail(self, error_type: str) -> None:
        self.span.set_status(Status(StatusCode.ERROR, error_type))

    def close(self) -> None:
        try:
            self.span.end()
            self._record_metrics()
        finally:
            self._restore()

    def _restore(self) -> None:
        runtime.CURRENT_CALL.reset(self.var_token)
        context.detach(self.context_token)

    def _record_metrics(self) -> None:
        attrs = self.attrs
        labels = {key: attrs[key] for key in _METRIC_KEYS if key in attrs}
        # Recorded while the span's context is still current, so exemplars link to it.
        self.runtime.duration.record(time.perf_counter() - self.started, labels)
        if self.runtime.first_usage_report(attrs):
            for key, token_type in ((sc.USAGE_INPUT_TOKENS, "input"), (sc.USAGE_OUTPUT_TOKENS, "output")):
                tokens = attrs.get(key)
                if tokens is not None:
                    self.runtime.token_usage.record(tokens, {**labels, sc.TOKEN_TYPE: token_type})


class Lifecycle(Call):
    """A helper that drives a run to a terminal status: one span, polls counted, changes as events."""

    __slots__ = ("last_status", "lifecycle_token", "polls", "request_ids")

    def __init__(self, active: runtime.Runtime, spec: Operation, span: trace.Span, attrs: dict[str, Any]):
        super().__init__(active, spec, span, attrs)
        self.polls = 0
        self.last_status: str | None = None
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
        if status and status != self.last_status:
            self.span.add_event(sc.EVENT_RUN_STATUS, {sc.RUN_STATUS: status, sc.RUN_POLLS: self.polls})
            self.last_status = status

    def counted_poll(self) -> None:
        self.polls += 1

    def close(self) -> None:
        final = {sc.RUN_POLLS: self.polls}
        if self.request_ids:
            final[sc.REQUEST_IDS] = list(self.request_ids)  # type: ignore[assignment]
        self.span.set_attributes(final)
        super().close()

    def _restore(self) -> None:
        runtime.CURRENT_LIFECYCLE.reset(self.lifecycle_token)
        super()._restore()


class InnerCall:
    """A call made inside a Lifecycle: reported to the Lifecycle's span, no span of its own."""

    __slots__ = ("attrs", "lifecycle", "recording", "runtime", "spec")

    def __init__(self, lifecycle: Lifecycle, spec: Operation):
        self.lifecycle = lifecycle
        self.spec = spec
        self.runtime = lifecycle.runtime
        self.recording = lifecycle.recording
        self.attrs: dict[str, Any] = {}

    def annotate(self, attrs: dict[str, Any]) -> None:
        self.lifecycle.annotate(attrs)

    def fail(self, error_type: str) -> None:
        pass  # the exception reaches the Lifecycle, which records it

    def close(self) -> None:
        pass


Active = Call | InnerCall


def start(spec: Operation, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Active | None:
    """Open the span for one call, or None when instrumentation is off or suppressed."""
    active = runtime.ACTIVE
    if active is None or not is_instrumentation_enabled():
        return None
    lifecycle = runtime.CURRENT_LIFECYCLE.get()
    if lifecycle is not None and spec.operation == "get_thread_run":
        lifecycle.counted_poll()
    # A helper nested in a helper (create_and_poll -> poll) is always folded in.
    if lifecycle is not None and (spec.kind == LIFECYCLE or not active.settings.inner_spans):
        return InnerCall(lifecycle, spec)
    try:
        attrs = spec.client(getattr(instance, "_client", None), active.settings)
        attrs[sc.OPERATION_NAME] = spec.operation
        span = active.tracer.start_span(spec.operation, kind=SpanKind.CLIENT, attributes=attrs)
        call = (Lifecycle if spec.kind == LIFECYCLE else Call)(active, spec, span, attrs)
        call.lifecycle = lifecycle
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
    try:
        if call.recording:
            attrs: dict[str, Any] = {}
            call.spec.result(result, attrs, call.runtime.settings)
            azure_deployment_from_model(call.attrs, attrs)
            call.annotate(attrs)
    except Exception as error:
        internal_error(error, "result")
    _close(call)


def azure_deployment_from_model(known: dict[str, Any], attrs: dict[str, Any]) -> None:
    """On Azure, Assistants' ``model`` *is* the deployment name (their URLs carry none)."""
    if known.get(sc.PROVIDER_NAME) != sc.PROVIDER_AZURE_OPENAI or sc.AZURE_DEPLOYMENT in known:
        return
    model = attrs.get(sc.RESPONSE_MODEL) or attrs.get(sc.REQUEST_MODEL) or known.get(sc.REQUEST_MODEL)
    if model:
        attrs[sc.AZURE_DEPLOYMENT] = model


def fail(call: Active, error: BaseException) -> None:
    """Record an exception's class and codes (never its message), end the span."""
    try:
        attrs = error_attributes(error)
        if call.recording:
            call.annotate(attrs)
        else:
            call.attrs[sc.ERROR_TYPE] = attrs[sc.ERROR_TYPE]
        call.fail(attrs[sc.ERROR_TYPE])
    except Exception as internal:
        internal_error(internal, "error")
    _close(call)


def _close(call: Active) -> None:
    try:
        call.close()
    except Exception as error:
        internal_error(error, "end")

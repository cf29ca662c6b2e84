"""The few generic wrapt wrappers: sync, async, async paginator, and the HTTP response hook.

Every wrapper follows one order: bail out if off -> start span -> call through (only the
API call sits in the ``try``) -> finish inside the guard -> return the very same object.
The application's result and exceptions never change because of us.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any

import wrapt
from opentelemetry import context, trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import SpanKind, Status, StatusCode

from . import runtime
from . import semconv as sc
from .extract.errors import error_attributes
from .extract.http import response_attributes
from .extract.requests import request_attributes
from .guard import internal_error
from .spec import Operation

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]

# Metric attributes are low-cardinality: copied from the span's attributes by name, never ids.
_METRIC_KEYS = (
    sc.OPERATION_NAME,
    sc.PROVIDER_NAME,
    sc.REQUEST_MODEL,
    sc.RESPONSE_MODEL,
    sc.AZURE_DEPLOYMENT,
    sc.SERVER_ADDRESS,
    sc.ERROR_TYPE,
)


class Call:
    """One wrapped call in flight: its span, context tokens and the attributes set so far."""

    __slots__ = ("attrs", "context_token", "recording", "runtime", "span", "spec", "started", "var_token")

    def __init__(self, active: runtime.Runtime, spec: Operation, span: trace.Span, attrs: dict[str, Any]):
        self.runtime = active
        self.spec = spec
        self.span = span
        self.attrs = attrs
        self.recording = span.is_recording()
        self.started = time.perf_counter()
        self.context_token = context.attach(trace.set_span_in_context(span))
        self.var_token = runtime.CURRENT_CALL.set(self)

    def annotate(self, attrs: dict[str, Any]) -> None:
        if attrs:
            self.span.set_attributes(attrs)
            self.attrs.update(attrs)


def start(spec: Operation, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
    """Open the span for one call, or None when instrumentation is off or suppressed."""
    active = runtime.ACTIVE
    if active is None or not is_instrumentation_enabled():
        return None
    try:
        attrs = spec.client(getattr(instance, "_client", None), active.settings)
        attrs[sc.OPERATION_NAME] = spec.operation
        span = active.tracer.start_span(spec.operation, kind=SpanKind.CLIENT, attributes=attrs)
        call = Call(active, spec, span, attrs)
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


def finish(call: Call, result: Any) -> None:
    """Read the result into the span, end it, record metrics, restore the context."""
    try:
        if call.recording:
            attrs: dict[str, Any] = {}
            call.spec.result(result, attrs, call.runtime.settings)
            call.annotate(attrs)
    except Exception as error:
        internal_error(error, "result")
    _end(call)


def fail(call: Call, error: BaseException) -> None:
    """Record an exception's class and codes (never its message), end the span."""
    try:
        attrs = error_attributes(error)
        if call.recording:
            call.annotate(attrs)
        else:
            call.attrs[sc.ERROR_TYPE] = attrs[sc.ERROR_TYPE]
        call.span.set_status(Status(StatusCode.ERROR, attrs[sc.ERROR_TYPE]))
    except Exception as internal:
        internal_error(internal, "error")
    _end(call)


def _end(call: Call) -> None:
    try:
        call.span.end()
        _record_metrics(call)
    except Exception as error:
        internal_error(error, "end")
    finally:
        _restore(call)


def _restore(call: Call) -> None:
    try:
        runtime.CURRENT_CALL.reset(call.var_token)
        context.detach(call.context_token)
    except Exception as error:  # a token from another context: nothing to restore
        internal_error(error, "detach")


def _record_metrics(call: Call) -> None:
    attrs = call.attrs
    labels = {key: attrs[key] for key in _METRIC_KEYS if key in attrs}
    # Recorded while the span's context is still current, so exemplars link to it.
    call.runtime.duration.record(time.perf_counter() - call.started, labels)
    for key, token_type in ((sc.USAGE_INPUT_TOKENS, "input"), (sc.USAGE_OUTPUT_TOKENS, "output")):
        tokens = attrs.get(key)
        if tokens is not None:
            call.runtime.token_usage.record(tokens, {**labels, sc.TOKEN_TYPE: token_type})


def sync_wrapper(spec: Operation) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(spec, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, result)
        return result

    return wrapper


def async_wrapper(spec: Operation) -> Wrapper:
    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(spec, instance, args, kwargs)
        if call is None:
            return await wrapped(*args, **kwargs)
        try:
            result = await wrapped(*args, **kwargs)
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, result)
        return result

    return wrapper


class _PaginatorProxy(wrapt.ObjectProxy):
    """An ``AsyncPaginator`` whose first-page fetch (``await`` or ``async for``) is one span.

    Later pages fetched while iterating make no spans: a long listing stays one span.
    """

    def __init__(self, paginator: Any, spec: Operation, instance: Any, args: Any, kwargs: Any):
        super().__init__(paginator)
        self._self_call_args = (spec, instance, args, kwargs)

    def __await__(self) -> Generator[Any, None, Any]:
        return self._self_first_page().__await__()

    async def __aiter__(self) -> AsyncIterator[Any]:
        page = await self._self_first_page()
        async for item in page:
            yield item

    async def _self_first_page(self) -> Any:
        call = start(*self._self_call_args)
        if call is None:
            return await self.__wrapped__
        try:
            page = await self.__wrapped__
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, page)
        return page


def paginator_wrapper(spec: Operation) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        paginator = wrapped(*args, **kwargs)
        if runtime.ACTIVE is None:
            return paginator
        return _PaginatorProxy(paginator, spec, instance, args, kwargs)

    return wrapper


def response_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps the SDK's ``_process_response``: the one place every HTTP response's headers pass."""
    call = runtime.CURRENT_CALL.get()
    if call is not None and call.recording:
        try:
            response = kwargs.get("response")
            if response is not None:
                attrs: dict[str, Any] = {}
                response_attributes(response, attrs)
                call.annotate(attrs)
        except Exception as error:
            internal_error(error, "headers")
    return wrapped(*args, **kwargs)

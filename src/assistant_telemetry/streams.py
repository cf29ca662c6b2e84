"""Streams: one span for as long as an SSE stream lives, however the app consumes it.

Every streamed call reaches the SDK's ``_process_response`` once with ``stream=True``; the
response hook (wrappers.py) puts the ``Stream`` it returns into a ``StreamProxy`` that owns
the call's span. The app, the SDK's event handlers and ``until_done()`` all iterate that
proxy, so each event passes one observer; nothing is buffered. The span ends exactly once:
- ``finished``: the stream reached its end, or the run stopped (terminal or requires_action);
- ``abandoned``: closed, or garbage-collected, before that;
- ``dropped``: reading failed (connection cut, timeout); the error is recorded;
- ``error``: the service sent an ``error`` event.

Stream helpers (``runs.stream`` ...) return a manager whose ``with`` block makes the request:
``StreamManagerProxy`` opens the span on enter; the stream's close (the manager's exit) ends it.

Raw bodies (``with_raw_response`` with ``stream=True``, every ``with_streaming_response``) reach the
app unread: a ``BodyProxy`` owns the span until the app reads the body. ``.parse()`` of a stream
returns it observed (the same proxy each time, as the SDK returns the same stream); a parsed JSON
body is read like a plain call's result, the very object the SDK parsed (``.read()``, ``.json()``
and ``.text()`` end it too). Closed or garbage-collected unread, the span ends ``abandoned``.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import wrapt

from . import semconv as sc
from .calls import Call, Guest, azure_deployment_from_model, fail, finish, read_result, record_error, start
from .extract.assistants import (
    TERMINAL_ITEM_STATUSES,
    TERMINAL_RUN_STATUSES,
    run_attributes,
    thread_attributes,
)
from .extract.chat import (
    chunk_adds_nothing,
    chunk_attributes,
    first_wins_missing,
    remember_filters,
)
from .extract.fields import code, field, items, text
from .extract.responses import TERMINAL_RESPONSE_STATUSES
from .extract.responses import object_attributes as response_object_attributes
from .guard import internal_error
from .spec import Operation

FINISHED, ABANDONED, DROPPED, ERROR = "finished", "abandoned", "dropped", "error"
_SETTLED_RUN_STATUSES = TERMINAL_RUN_STATUSES | {"requires_action"}  # the stream ends there


class StreamObserver:
    """Reads a stream's events into its call's span and ends that span exactly once."""

    __slots__ = ("call", "ended", "events", "saw_delta", "settled", "stopped")

    def __init__(self, call: Call):
        self.call = call
        self.events = 0
        self.saw_delta = False
        self.settled = False  # the run stopped: closing now is a normal end
        self.stopped: str | None = None  # ERROR once the service reported an error event
        self.ended = False
        if getattr(call, "recording", False):  # a streamed call: semconv's gen_ai.request.stream
            call.annotate({sc.REQUEST_STREAM: True})

    def item(self, item: Any) -> None:
        if self.ended:
            return
        self.events += 1
        call = self.call
        if not call.recording:
            return
        try:
            if self.events == 1:
                call.annotate({sc.STREAM_TIME_TO_FIRST_EVENT: time.perf_counter() - call.started})
            self.read(item)
        except Exception as error:
            internal_error(error, "stream")

    def read(self, item: Any) -> None:
        """What one event means; subclasses know their API's events."""

    def first_delta(self) -> None:
        if not self.saw_delta:
            self.saw_delta = True
            elapsed = time.perf_counter() - self.call.started
            self.call.annotate({sc.STREAM_TIME_TO_FIRST_DELTA: elapsed})

    def final_attributes(self) -> dict[str, Any]:
        return {}

    def end(self, outcome: str) -> None:
        if self.ended:
            return
        self.ended = True
        try:
            if outcome == ABANDONED and self.settled:
                outcome = FINISHED
            outcome = self.stopped or outcome
            attrs: dict[str, Any] = {sc.STREAM_EVENTS: self.events, sc.STREAM_OUTCOME: outcome}
            attrs.update(self.final_attributes())
            self.call.annotate(attrs)
        except Exception as error:
            internal_error(error, "stream")
        try:
            self.call.end()
        except Exception as error:
            internal_error(error, "end")

    def fail(self, error: BaseException) -> None:
        if not self.ended:
            record_error(self.call, error)
            self.end(DROPPED)

    def annotate_object(self, read: Callable[[Any, dict[str, Any], Any], Any], obj: Any) -> dict[str, Any]:
        """An object an event carries (a run, a response), read onto the span like a retrieve."""
        call = self.call
        attrs: dict[str, Any] = {}
        read(obj, attrs, call.runtime.settings)
        azure_deployment_from_model(call.attrs, attrs)
        call.annotate(attrs)
        return attrs

    def service_error(self, error_code: Any) -> None:
        """The service's ``error`` event: its code (never its message), and the span fails."""
        self.call.annotate({sc.ERROR_CODE: code(error_code) or "error"})
        self.call.attrs[sc.ERROR_TYPE] = "stream_error"
        self.call.fail("stream_error")
        self.stopped = ERROR


def note_id(ids: list[str], obj: Any, cap: int) -> None:
    """Remember an item's id once, up to ``cap`` ids."""
    item_id = text(field(obj, "id"))
    if item_id is not None and item_id not in ids and len(ids) < cap:
        ids.append(item_id)


class RunEvents(StreamObserver):
    """Assistants run events: the run's statuses, its steps and messages, the first text delta."""

    __slots__ = ("message_ids", "step_ids")

    def __init__(self, call: Call):
        super().__init__(call)
        self.message_ids: list[str] = []
        self.step_ids: list[str] = []

    def read(self, event: Any) -> None:
        name = field(event, "event")
        if not isinstance(name, str):
            return
        if name.endswith(".delta"):  # most events: text and tool argument deltas
            if not self.saw_delta and name == "thread.message.delta":
                self.first_delta()
        elif name.startswith("thread.run.step."):
            self.item_event(field(event, "data"), self.step_ids)
        elif name.startswith("thread.run."):
            self.run_event(field(event, "data"))
        elif name.startswith("thread.message."):
            message = field(event, "data")
            if self.item_event(message, self.message_ids):
                self.call.record_replies(self.call.runtime.outcomes.replies((message,)))
        elif name == "thread.created":
            self.annotate_object(thread_attributes, field(event, "data"))
        elif name == "error":
            self.service_error(field(field(event, "data"), "code"))

    def run_event(self, run: Any) -> None:
        status = self.annotate_object(run_attributes, run).get(sc.RUN_STATUS)
        self.call.record_status(status, {sc.RUN_STATUS: status} if status else {})
        self.call.observe_execution(run)  # a run waiting for tool outputs (tools.py)
        if status in _SETTLED_RUN_STATUSES:
            self.settled = True

    def item_event(self, obj: Any, ids: list[str]) -> bool:
        """Note a step's or message's id; once it stops changing, an event. True if it stopped."""
        note_id(ids, obj, sc.RUN_CREATED_IDS_CAP)
        if field(obj, "status") not in TERMINAL_ITEM_STATUSES:
            return False
        self.call.observe_item(obj)
        return True

    def final_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        if self.message_ids:
            attrs[sc.RUN_MESSAGE_IDS] = list(self.message_ids)
        if self.step_ids:
            attrs[sc.RUN_STEP_IDS] = list(self.step_ids)
        return attrs


class ResponseEvents(StreamObserver):
    """Responses events (``responses.create(stream=True)``, ``responses.stream``, a resumed retrieve).

    The response's own events (``response.created`` ... ``response.completed``) carry the whole
    response: read like a retrieve, the last one wins. Output items are noted as they are added;
    a message item that is done becomes an ``assistant_telemetry.message`` event. The span ends at
    the response's final event: the SDK's ``ResponseStream.close()`` closes the HTTP response, not
    this stream, so waiting for the stream's end would leave an app that stops reading after
    ``response.completed`` with a span ended by the garbage collector.
    """

    __slots__ = ("item_ids",)

    def __init__(self, call: Call):
        super().__init__(call)
        self.item_ids: list[str] = []

    def read(self, event: Any) -> None:
        kind = field(event, "type")
        if not isinstance(kind, str):
            return
        if kind.endswith(".delta"):  # most events: text and tool argument deltas
            if not self.saw_delta and kind == "response.output_text.delta":
                self.first_delta()
        elif kind.startswith("response.output_item."):
            self.output_item(field(event, "item"))
        elif kind in _RESPONSE_EVENTS:
            self.response_event(field(event, "response"))
        elif kind == "error":
            self.service_error(field(event, "code"))
            self.end(ERROR)

    def response_event(self, response: Any) -> None:
        attrs = self.annotate_object(response_object_attributes, response)
        if attrs.get(sc.EXECUTION_STATUS) in TERMINAL_RESPONSE_STATUSES:
            self.call.observe_execution(response)  # its tool call items (tools.py)
            self.settled = True
            self.end(FINISHED)

    def output_item(self, item: Any) -> None:
        note_id(self.item_ids, item, sc.RESPONSE_OUTPUT_ITEMS_CAP)
        if field(item, "type") == "message" and field(item, "status") in TERMINAL_ITEM_STATUSES:
            self.call.observe_item(item, {sc.RESPONSE_ID: self.call.attrs.get(sc.RESPONSE_ID)})

    def final_attributes(self) -> dict[str, Any]:
        if self.item_ids and sc.RESPONSE_OUTPUT_ITEM_IDS not in self.call.attrs:
            return {sc.RESPONSE_OUTPUT_ITEM_IDS: list(self.item_ids)}
        return {}


_RESPONSE_EVENTS = frozenset(
    {
        "response.created",
        "response.queued",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)


class ChatChunks(StreamObserver):
    """``chat.completions`` chunks: ids, model, finish reasons, usage and Azure filter annotations.

    Merged into one dict that reaches the span when the stream ends. Once the first text arrived,
    a chunk that can add nothing (``chunk_adds_nothing``: text only, filter results as before) is
    not merged: most chunks of a long stream cost a few dict lookups.
    """

    __slots__ = ("filters", "merged", "missing")

    def __init__(self, call: Call):
        super().__init__(call)
        self.merged: dict[str, Any] = {}
        self.filters: list[Any] = []  # filter results merged so far (the newest few)
        self.missing = first_wins_missing(self.merged)  # ids and model still to be taken

    def item(self, chunk: Any) -> None:
        if self.ended or not self.saw_delta:  # (a first delta was seen: the span records)
            StreamObserver.item(self, chunk)
            return
        self.events += 1  # the long middle of the stream: one call per chunk, to the test below
        try:
            if not chunk_adds_nothing(chunk, self.missing, self.filters):
                self.merge(chunk)
        except Exception as error:
            internal_error(error, "stream")

    def read(self, chunk: Any) -> None:
        if any(field(field(choice, "delta"), "content") for choice in items(field(chunk, "choices"))):
            self.first_delta()
        self.merge(chunk)

    def merge(self, chunk: Any) -> None:
        chunk_attributes(chunk, self.merged)
        remember_filters(chunk, self.filters)
        self.missing = first_wins_missing(self.merged)

    def final_attributes(self) -> dict[str, Any]:
        return dict(self.merged)


def adopt(call: Call, stream: Any) -> Any:
    """Give ``call``'s span to ``stream`` (the SDK's Stream or AsyncStream): a proxy owns it now."""
    if call.spec.stream is None or call.streaming:
        return stream
    proxy = _observed(call, stream, call.spec.stream)
    if proxy is not stream:
        call.streaming = True
    return proxy


def _observed(call: Call, stream: Any, make_observer: Callable[[Call], StreamObserver]) -> Any:
    try:
        observer = make_observer(call)
        return (AsyncStreamProxy if hasattr(stream, "__anext__") else StreamProxy)(stream, observer)
    except Exception as error:
        internal_error(error, "stream")
        return stream


class _ObservedStream(wrapt.ObjectProxy):
    """The SDK's stream, unchanged to its users (isinstance, attributes, helpers), observed."""

    def __init__(self, stream: Any, observer: StreamObserver):
        super().__init__(stream)
        self._self_observer = observer
        # A stream dropped without close() or exhaustion still ends its span.
        self._self_finalizer = weakref.finalize(self, observer.end, ABANDONED)

    def _self_end(self, outcome: str) -> None:
        self._self_finalizer.detach()
        self._self_observer.end(outcome)

    def _self_fail(self, error: BaseException) -> None:
        self._self_finalizer.detach()
        self._self_observer.fail(error)


class StreamProxy(_ObservedStream):
    def __iter__(self) -> Iterator[Any]:
        # ``for`` runs a generator: one step per item, no proxy dispatch (``next()`` still has __next__).
        return _observing(self)

    def __next__(self) -> Any:
        try:
            item = self.__wrapped__.__next__()
        except StopIteration:
            self._self_end(FINISHED)
            raise
        except BaseException as error:
            self._self_fail(error)
            raise
        self._self_observer.item(item)
        return item

    def __enter__(self) -> StreamProxy:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_end(ABANDONED)


_NEVER = object()


def _observing(proxy: StreamProxy) -> Iterator[Any]:
    """Iterating a StreamProxy: the stream's own ``__iter__``, each item shown to the observer first.

    The generator holds ``proxy`` until it ends: in ``for event in client.responses.create(...,
    stream=True)`` nothing else does, and the proxy's finalizer would end the span ``abandoned``
    before the first event. A sampled-out span reads nothing: the items pass by (``yield from``),
    and the end still counts.
    """
    stream, observer, finalizer = proxy.__wrapped__, proxy._self_observer, proxy._self_finalizer
    items = iter(stream) if hasattr(stream, "__iter__") else iter(stream.__next__, _NEVER)
    try:
        if getattr(observer.call, "recording", False):
            observe = observer.item
            for item in items:
                observe(item)
                yield item
        else:
            yield from items
    except GeneratorExit:  # the app stopped iterating: close() or the finalizer ends the span
        raise
    except BaseException as error:
        finalizer.detach()
        observer.fail(error)
        raise
    finalizer.detach()
    observer.end(FINISHED)


class AsyncStreamProxy(_ObservedStream):
    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            item = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_end(FINISHED)
            raise
        except BaseException as error:
            self._self_fail(error)
            raise
        self._self_observer.item(item)
        return item

    async def __aenter__(self) -> AsyncStreamProxy:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.close()

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_end(ABANDONED)


class StreamManagerProxy(wrapt.ObjectProxy):
    """A stream helper's manager: entering it makes the request inside the call's span."""

    def __init__(self, manager: Any, call_args: tuple[Operation, Any, tuple[Any, ...], dict[str, Any]]):
        super().__init__(manager)
        self._self_call_args = call_args

    def __enter__(self) -> Any:
        call = start(*self._self_call_args)
        if call is None:
            return self.__wrapped__.__enter__()
        try:
            handler = self.__wrapped__.__enter__()
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, None)  # the stream, adopted by the response hook, now owns the span
        return handler

    def __exit__(self, *exc_info: Any) -> Any:
        return self.__wrapped__.__exit__(*exc_info)


class AsyncStreamManagerProxy(wrapt.ObjectProxy):
    """The async twin: ``async with`` makes the request inside the call's span."""

    def __init__(self, manager: Any, call_args: tuple[Operation, Any, tuple[Any, ...], dict[str, Any]]):
        super().__init__(manager)
        self._self_call_args = call_args

    async def __aenter__(self) -> Any:
        call = start(*self._self_call_args)
        if call is None:
            return await self.__wrapped__.__aenter__()
        try:
            handler = await self.__wrapped__.__aenter__()
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, None)
        return handler

    async def __aexit__(self, *exc_info: Any) -> Any:
        return await self.__wrapped__.__aexit__(*exc_info)


_UNKNOWN: Any = object()
_BODY_HOLDERS = (Call, Guest)  # a guest on another instrumentation's span reads the body too
_BODY_KINDS: dict[type, Any] = {}  # result class -> the proxy its unread body gets (None: not a raw body)


def adopt_body(call: Any, response: Any, sse: bool) -> Any:
    """``call``'s span waits for the app to read ``response`` (a raw SSE stream or unread JSON body).

    ``with_raw_response`` without a stream read its body already (``finish`` parses it; the SDK
    caches the model it returns): it is left alone.
    """
    if type(call) not in _BODY_HOLDERS or call.streaming:  # a poll helper's, a stream's: not ours to hold
        return response
    kind = _BODY_KINDS.get(type(response), _UNKNOWN)
    if kind is _UNKNOWN:  # every call's result passes here: its class is looked at once
        kind = _BODY_KINDS[type(response)] = _body_kind(type(response))
    if kind is None or (kind is BodyProxy and not sse):
        return response
    try:
        proxy = kind(response, _Body(call, sse))
    except Exception as error:
        internal_error(error, "stream")
        return response
    call.streaming = True
    return proxy


def _body_kind(cls: type) -> type[BodyProxy] | None:
    names = {base.__name__ for base in cls.__mro__}
    if "AsyncAPIResponse" in names:
        return AsyncStreamingBodyProxy
    if "APIResponse" in names:
        return StreamingBodyProxy
    return BodyProxy if "LegacyAPIResponse" in names else None


class _Body:
    """What a raw body's span knows: the stream parsed from it, or whether it was read."""

    __slots__ = ("call", "ended", "observer", "source", "sse", "stream")

    def __init__(self, call: Call, sse: bool):
        self.call = call
        self.sse = sse
        self.ended = False
        self.source: Any = None  # the SDK's stream parse() returned first
        self.stream: Any = None  # ... and the observed proxy the app got for it
        self.observer: StreamObserver | None = None

    def parsed(self, result: Any) -> Any:
        """What ``parse()`` returned, given to the app: a stream observed, a model read into the span."""
        if not self.sse:
            self.read(result)
            return result
        if self.source is None and not self.ended:
            try:  # an observer that cannot be made is ours to count, not the app's to catch
                self.observer = (self.call.spec.stream or StreamObserver)(self.call)
                proxy = (AsyncStreamProxy if hasattr(result, "__anext__") else StreamProxy)(
                    result, self.observer
                )
            except Exception as error:
                internal_error(error, "stream")
                return result
            self.source, self.stream = result, proxy
        return self.stream if result is self.source else result

    def read(self, result: Any) -> None:
        if not self.ended:
            read_result(self.call, result)
            self.end("read")

    def end(self, outcome: str) -> None:
        """The body's end: a stream's observer decides (it may have settled); else the span ends here."""
        if self.ended:
            return
        self.ended = True
        if self.sse:
            (self.observer or StreamObserver(self.call)).end(outcome)
            return
        try:
            self.call.annotate({sc.BODY_OUTCOME: outcome})
            self.call.end()
        except Exception as error:
            internal_error(error, "end")

    def fail(self, error: BaseException) -> None:
        if not self.ended:
            record_error(self.call, error)
            self.end(DROPPED)

    def abandoned(self) -> None:
        """The raw response was garbage-collected: a stream parsed from it lives on, and ends itself."""
        if self.source is None:
            self.end(ABANDONED)


class BodyProxy(wrapt.ObjectProxy):
    """``with_raw_response``'s ``LegacyAPIResponse`` of a stream: ``parse()`` (sync, also on the async
    client) returns the stream, observed."""

    def __init__(self, response: Any, body: _Body):
        super().__init__(response)
        self._self_body = body
        weakref.finalize(self, body.abandoned)

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_body.fail(error)
            raise
        return self._self_body.parsed(result)


class StreamingBodyProxy(BodyProxy):
    """``with_streaming_response``'s ``APIResponse``: the body is read by parse/read/json/text; the
    manager's exit closes it."""

    def _self_reading(self, name: str, *args: Any, **kwargs: Any) -> Any:
        try:
            value = getattr(self.__wrapped__, name)(*args, **kwargs)
        except BaseException as error:
            self._self_body.fail(error)
            raise
        if not self._self_body.sse:  # the body is in memory now: the SDK parses it once (cached)
            self._self_body.read(self.__wrapped__.parse())
        return value

    def read(self) -> Any:
        return self._self_reading("read")

    def text(self) -> Any:
        return self._self_reading("text")

    def json(self) -> Any:
        return self._self_reading("json")

    def close(self) -> None:
        try:
            self.__wrapped__.close()
        finally:
            self._self_body.end(ABANDONED)


class AsyncStreamingBodyProxy(BodyProxy):
    """The async twin: ``parse()``, ``read()``, ``json()``, ``text()`` and ``close()`` are awaited."""

    async def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = await self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_body.fail(error)
            raise
        return self._self_body.parsed(result)

    async def _self_reading(self, name: str) -> Any:
        try:
            value = await getattr(self.__wrapped__, name)()
        except BaseException as error:
            self._self_body.fail(error)
            raise
        if not self._self_body.sse:
            self._self_body.read(await self.__wrapped__.parse())
        return value

    async def read(self) -> Any:
        return await self._self_reading("read")

    async def text(self) -> Any:
        return await self._self_reading("text")

    async def json(self) -> Any:
        return await self._self_reading("json")

    async def close(self) -> None:
        try:
            await self.__wrapped__.close()
        finally:
            self._self_body.end(ABANDONED)

"""azure-ai-agents run streams: the span of ``runs.stream`` lives as long as the stream and reads its events.

``runs.stream`` returns an ``AgentRunStream`` whose ``with`` block hands back the event handler
(the app's own object, or the SDK's default ``AgentEventHandler``); iterating the handler splits
the HTTP response's bytes into server-sent events and parses each. The handler is the app's to
subclass, parsing included (``BaseAgentEventHandler._process_event``), and
``submit_tool_outputs_stream`` chains a second response onto the same handler. So the events
are read where all of them pass whatever the handler does: the response's byte iterator, taken
at its birth (the generated ``create`` / ``submit_tool_outputs`` that the hand-written
``stream`` / ``submit_tool_outputs_stream`` call with ``stream=True``) and put in a proxy that
owns the call's span, as streams.py does for openai's ``Stream``. The handler, the stream and
what iterating yields stay the SDK's own objects.

``AgentRunEvents`` splits the bytes into events as the SDK does and reads each with the openai
path's ``RunEvents`` (same attributes, events and outcomes): each event exactly once, however
the app reads it (iterating, ``until_done()``, its handler's callbacks). The span ends
``finished`` at the response's end (or once the run stopped), ``abandoned`` when the ``with``
block is left (or the stream is dropped) before that, ``dropped`` when reading fails. The sync
SDK closes the byte iterator on exit; the aio SDK does not (an async generator has no
``close``), so ``AsyncAgentRunStream`` gets a proxy whose ``__aexit__`` ends the span.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import AsyncIterator
from typing import Any

import wrapt

from .. import runtime
from ..calls import Call
from ..guard import internal_error
from ..spec import Operation
from ..streams import ABANDONED, FINISHED, RunEvents, StreamObserver, adopt
from ..wrappers import Wrapper, async_wrapper

# Where the byte iterator of a run stream is born: what the hand-written methods reach via super().
STREAM_SOURCES = (("RunsOperations", "create"), ("RunsOperations", "submit_tool_outputs"))


def sse_event(raw: bytes) -> dict[str, Any] | None:
    """One event, read as the SDK's ``_parse_event`` reads it: the ``event:`` name and ``data:`` JSON.

    Deltas' data (text, tool arguments) is not parsed: only their name is read.
    """
    name: str | None = None
    data: bytes | None = None
    for line in raw.split(b"\n"):
        if line.startswith(b"event:"):
            name = line[6:].strip().decode("utf-8", "replace")
        elif line.startswith(b"data:"):
            data = line[5:]
    if not name:
        return None
    if data is None or name == "done" or name.endswith(".delta"):
        return {"event": name}
    try:
        return {"event": name, "data": json.loads(data)}
    except ValueError:
        return {"event": name}


class AgentRunEvents(RunEvents):
    """``RunEvents`` fed with the response's bytes: complete events are read as they arrive."""

    __slots__ = ("pending",)

    def __init__(self, call: Call):
        super().__init__(call)
        self.pending = bytearray()

    def item(self, chunk: Any) -> None:
        if self.ended or not self.call.recording:
            return
        try:
            events = self.complete_events(chunk)
        except Exception as error:
            internal_error(error, "stream")
            return
        for event in events:
            super().item(event)

    def complete_events(self, chunk: bytes) -> list[dict[str, Any]]:
        """The events ``chunk`` completes; a partial one waits for the next chunk (as the SDK's buffer)."""
        pending = self.pending
        start = max(len(pending) - 1, 0)  # a separator may straddle the chunks
        pending += chunk
        events = []
        while (end := pending.find(b"\n\n", start)) >= 0:
            event = sse_event(bytes(pending[:end]).strip())
            del pending[: end + 2]
            start = 0
            if event is not None:
                events.append(event)
        return events

    def annotate_object(self, read: Any, obj: Any) -> dict[str, Any]:
        # Read as the operation reads a returned object (the Agent Service's model is a deployment).
        return super().annotate_object(self.call.spec.result, obj)

    def end(self, outcome: str) -> None:
        if outcome == FINISHED and not self.ended and self.call.recording and self.pending.strip():
            try:  # the response ended without a final separator: the SDK reads the rest as one event
                event = sse_event(bytes(self.pending).strip())
            except Exception as error:
                internal_error(error, "stream")
                event = None
            if event is not None:
                super().item(event)
        super().end(outcome)


class AsyncEventBytes(wrapt.ObjectProxy):
    """The aio response's byte iterator, observed (the sync one goes to streams' ``StreamProxy``).

    No ``close`` of its own: the SDK's ``__aexit__`` calls one only if the iterator has it.
    """

    def __init__(self, chunks: Any, observer: StreamObserver):
        super().__init__(chunks)
        self._self_observer = observer
        # A stream dropped without exit or exhaustion still ends its span.
        self._self_finalizer = weakref.finalize(self, observer.end, ABANDONED)

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            self._self_end(FINISHED)
            raise
        except BaseException as error:
            self._self_finalizer.detach()
            self._self_observer.fail(error)
            raise
        self._self_observer.item(chunk)
        return chunk

    def _self_end(self, outcome: str) -> None:
        self._self_finalizer.detach()
        self._self_observer.end(outcome)


class AsyncRunStreamProxy(wrapt.ObjectProxy):
    """An ``AsyncAgentRunStream`` whose ``async with`` exit ends its span, read or not."""

    def __init__(self, stream: Any, chunks: AsyncEventBytes):
        super().__init__(stream)
        self._self_chunks = chunks

    async def __aenter__(self) -> Any:
        return await self.__wrapped__.__aenter__()

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_chunks._self_end(ABANDONED)


def _adopt_async(call: Call, chunks: Any) -> Any:
    """``streams.adopt`` for the aio byte iterator (an async generator: no ``close`` to proxy)."""
    if call.spec.stream is None or call.streaming:
        return chunks
    try:
        proxy = AsyncEventBytes(chunks, call.spec.stream(call))
    except Exception as error:
        internal_error(error, "stream")
        return chunks
    call.streaming = True
    return proxy


def stream_source_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps a generated method a stream is born in: with ``stream=True``, the call's span adopts it."""
    call = runtime.CURRENT_CALL.get()
    result = wrapped(*args, **kwargs)
    if call is None or not kwargs.get("stream") or not hasattr(result, "__next__"):
        return result
    return adopt(call, result)


async def async_stream_source_hook(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    call = runtime.CURRENT_CALL.get()
    result = await wrapped(*args, **kwargs)
    if call is None or not kwargs.get("stream") or not hasattr(result, "__anext__"):
        return result
    return _adopt_async(call, result)


def async_stream_wrapper(spec: Operation) -> Wrapper:
    """An aio method that streams: as ``async_wrapper``, and an ``AsyncAgentRunStream`` it returns
    (``runs.stream``'s) ends the span on ``async with`` exit too."""
    call_through = async_wrapper(spec)

    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stream = await call_through(wrapped, instance, args, kwargs)
        chunks = getattr(stream, "response_iterator", None)
        return AsyncRunStreamProxy(stream, chunks) if isinstance(chunks, AsyncEventBytes) else stream

    return wrapper

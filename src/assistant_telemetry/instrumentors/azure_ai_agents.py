"""The azure-ai-agents SDK (``AgentsClient`` and its ``aio`` twin): what is wrapped, how it is read.

Same span model, operation names and attribute names as the openai Assistants path:
the Agent Service speaks the Assistants wire format. Provider ``azure.ai.agents`` (semconv
has no value for the Agent Service; this follows its ``azure.ai.*`` pattern), and
``gen_ai.system = az.ai.agents``, as Azure's own ``AIAgentsInstrumentor`` emits it.

Where this SDK differs from openai, and what that means here:
- It sends requests through azure-core pipelines: headers (request ids, region, rate limits),
  the host and the api-version are read where every request passes, ``Pipeline.run`` (and
  ``AsyncPipeline.run``), for the pipelines of agents clients only (the other azure-core
  clients of the process, an Azure Monitor exporter for one, are passed through untouched).
- Its ``list`` methods return a lazy ``ItemPaged`` / ``AsyncItemPaged``: iterating it makes
  the request, so the span covers fetching the first page when iteration starts.
- Its models are mappings: ``extract.fields.field`` reads them by attribute, else by wire name.
- A method is wrapped on the class that defines it (generated or hand-written ``_patch``), so
  the hand-written ``runs.create`` calling the generated one through ``super()`` is one span.
- ``runs.stream`` returns an ``AgentRunStream`` whose handler parses the response's bytes: the
  span lives as long as that response and reads its events (azure_ai_agents_streams.py).
"""

from __future__ import annotations

import importlib
import itertools
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import wrapt

from .. import runtime
from .. import semconv as sc
from ..calls import Active, fail, finish, start
from ..coexistence import beneath
from ..config import Settings
from ..extract.assistants import object_attributes
from ..extract.azure_ai_projects import project_keys
from ..extract.fields import Attributes
from ..extract.http import response_attributes
from ..guard import internal_error
from ..patching import Patcher, Target
from ..spec import CALL, LIFECYCLE, LIST, Operation
from ..wrappers import async_wrapper, sync_wrapper
from .azure_ai_agents_streams import (
    STREAM_SOURCES,
    AgentRunEvents,
    async_stream_source_hook,
    async_stream_wrapper,
    stream_source_hook,
)

logger = logging.getLogger("assistant_telemetry")

# Public class -> where its sync and async versions live.
_MODULES = {
    "AgentsClient": ("azure.ai.agents", "azure.ai.agents.aio"),
    "ops": ("azure.ai.agents.operations", "azure.ai.agents.aio.operations"),
}
_PIPELINE_HOOKS = (
    ("azure.core.pipeline._base", "Pipeline", "run"),
    ("azure.core.pipeline._base_async", "AsyncPipeline", "run"),
)
# The pipelines of agents clients seen by a span (weakly: a client's pipeline dies with it).
_PIPELINES: weakref.WeakSet[Any] = weakref.WeakSet()


def client_attributes(client: Any, settings: Settings) -> dict[str, Any]:
    """Provider attributes; ``client`` is the SDK's ``PipelineClient``, remembered for the hook.

    The endpoint is not known here (the client keeps it elsewhere): server.address and
    server.port come from the first request's URL (see ``pipeline_hook``).
    """
    pipeline = getattr(client, "_pipeline", None)
    if pipeline is not None:
        _PIPELINES.add(pipeline)
    return {
        sc.PROVIDER_NAME: sc.PROVIDER_AZURE_AI_AGENTS,
        sc.SYSTEM: sc.SYSTEM_AZURE_AI_AGENTS,
        sc.AZURE_RESOURCE_PROVIDER_NAMESPACE: sc.AZURE_NAMESPACE_COGNITIVE_SERVICES,
    }


def result_attributes(result: Any, attrs: Attributes, settings: Settings) -> Any:
    """An agent, thread, message, run, step, a first page, or nothing (deletes, streams)."""
    if result is None or type(result).__name__ in ("AgentRunStream", "AsyncAgentRunStream"):
        return None  # a stream: its events are read as the app reads them (AgentRunEvents)
    object_attributes(result, attrs, settings)
    # The Agent Service's ``model`` is a deployment name of the project's resource.
    deployment = attrs.get(sc.RESPONSE_MODEL) or attrs.get(sc.REQUEST_MODEL)
    if deployment:
        attrs[sc.AZURE_DEPLOYMENT] = deployment
    return result


def _op(
    owner: str,
    method: str,
    operation: str,
    *positional: str,
    kind: str = CALL,
    stream: Callable[[Any], Any] | None = None,
) -> Operation:
    module = _MODULES["AgentsClient" if owner == "AgentsClient" else "ops"][0]
    return Operation(
        module=module,
        owner=owner,
        method=method,
        operation=operation,
        positional=positional,
        kind=kind,
        stream=stream,
        client=client_attributes,
        result=result_attributes,
        async_owner=owner,  # same class name, in the aio module
    )


PROCESS_RUN = "process_thread_run"
_THREAD, _RUN, _MESSAGE, _STEP = "thread_id", "run_id", "message_id", "step_id"

# Names as on the openai path (and Azure AI agent tracing's where it has one).
OPERATIONS: tuple[Operation, ...] = (
    _op("AgentsClient", "create_agent", "create_agent"),
    _op("AgentsClient", "get_agent", "get_agent", "agent_id"),
    _op("AgentsClient", "update_agent", "update_agent", "agent_id"),
    _op("AgentsClient", "delete_agent", "delete_agent", "agent_id"),
    _op("AgentsClient", "list_agents", "list_agents", kind=LIST),
    _op("AgentsClient", "create_thread_and_run", "create_thread_and_run"),
    _op("AgentsClient", "create_thread_and_process_run", PROCESS_RUN, kind=LIFECYCLE),
    _op("ThreadsOperations", "create", "create_thread"),
    _op("ThreadsOperations", "get", "get_thread", _THREAD),
    _op("ThreadsOperations", "update", "update_thread", _THREAD),
    _op("ThreadsOperations", "delete", "delete_thread", _THREAD),
    _op("ThreadsOperations", "list", "list_threads", kind=LIST),
    _op("MessagesOperations", "create", "create_message", _THREAD),
    _op("MessagesOperations", "get", "get_message", _THREAD, _MESSAGE),
    _op("MessagesOperations", "update", "update_message", _THREAD, _MESSAGE),
    _op("MessagesOperations", "list", "list_messages", _THREAD, kind=LIST),
    _op("RunsOperations", "create", "start_thread_run", _THREAD),
    _op("RunsOperations", "get", "get_thread_run", _THREAD, _RUN),
    _op("RunsOperations", "update", "update_thread_run", _THREAD, _RUN),
    _op("RunsOperations", "list", "list_thread_runs", _THREAD, kind=LIST),
    _op("RunsOperations", "cancel", "cancel_thread_run", _THREAD, _RUN),
    _op("RunsOperations", "submit_tool_outputs", "submit_tool_outputs", _THREAD, _RUN),
    _op("RunsOperations", "create_and_process", PROCESS_RUN, _THREAD, kind=LIFECYCLE),
    # Streams: the span lives as long as the response's events (each read once), not just the call.
    _op("RunsOperations", "stream", PROCESS_RUN, _THREAD, stream=AgentRunEvents),
    # The tool outputs' response, chained onto the same handler: its own span, for its own events.
    _op(
        "RunsOperations",
        "submit_tool_outputs_stream",
        "submit_tool_outputs",
        _THREAD,
        _RUN,
        stream=AgentRunEvents,
    ),
    _op("RunStepsOperations", "get", "get_run_step", _THREAD, _RUN, _STEP),
    _op("RunStepsOperations", "list", "list_run_steps", _THREAD, _RUN, kind=LIST),
)


# --- lists: the first page fetch is the span ---------------------------------------------------


def _page(items: list[Any]) -> dict[str, Any]:
    """The first page as the Assistants list shape the extractors read (``has_more`` unknown)."""
    return {"object": "list", "data": items}


class _ItemPagedProxy(wrapt.ObjectProxy):
    """An ``ItemPaged``: starting to iterate it fetches the first page inside one span."""

    def __init__(self, paged: Any, call_args: tuple[Any, ...]):
        super().__init__(paged)
        self._self_call_args = call_args
        self._self_items: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        if self._self_items is None:
            self._self_items = self._self_first_page()
        return next(self._self_items)

    def _self_first_page(self) -> Iterator[Any]:
        pages = _pages(self.__wrapped__)
        call: Active | None = start(*self._self_call_args)
        if pages is None:
            return self._self_first_item(call)
        if call is None:
            return itertools.chain.from_iterable(pages)
        try:
            first = list(next(pages, ()))
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, _page(first))
        return itertools.chain(first, itertools.chain.from_iterable(pages))

    def _self_first_item(self, call: Active | None) -> Iterator[Any]:
        """A pager without pages (another instrumentation's wrapper): the span fetches one item."""
        items = iter(self.__wrapped__)
        if call is None:
            return items
        try:
            first = list(itertools.islice(items, 1))
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, None)
        return itertools.chain(first, items)


class _AsyncItemPagedProxy(wrapt.ObjectProxy):
    """An ``AsyncItemPaged``: ``async for`` fetches the first page inside one span."""

    def __init__(self, paged: Any, call_args: tuple[Any, ...]):
        super().__init__(paged)
        self._self_call_args = call_args
        self._self_items: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        return self

    async def __anext__(self) -> Any:
        if self._self_items is None:
            self._self_items = await self._self_first_page()
        return await self._self_items.__anext__()

    async def _self_first_page(self) -> AsyncIterator[Any]:
        pages = _pages(self.__wrapped__)
        call: Active | None = start(*self._self_call_args)
        if pages is None:
            return await self._self_first_item(call)
        if call is None:
            return _chain([], pages)
        try:
            first = [item async for item in await pages.__anext__()]
        except StopAsyncIteration:
            first = []
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, _page(first))
        return _chain(first, pages)

    async def _self_first_item(self, call: Active | None) -> AsyncIterator[Any]:
        items = self.__wrapped__.__aiter__()
        if call is None:
            return items
        try:
            first = [await items.__anext__()]
        except StopAsyncIteration:
            first = []
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, None)
        return _chain(first, None, items)


def _pages(paged: Any) -> Any:
    """The pager's page iterator; None when ``by_page`` cannot build one.

    Azure's own ``AIAgentsInstrumentor`` returns ``ItemPaged`` subclasses that delegate
    iteration but inherit a ``by_page`` without the SDK's arguments: iterate those by item.
    Building the page iterator makes no request.
    """
    try:
        return paged.by_page()
    except Exception:
        return None


async def _chain(first: list[Any], pages: Any, items: Any = None) -> AsyncIterator[Any]:
    for item in first:
        yield item
    if pages is not None:
        async for page in pages:
            async for item in page:
                yield item
    if items is not None:
        async for item in items:
            yield item


def _paged_wrapper(spec: Operation, proxy: type[_ItemPagedProxy] | type[_AsyncItemPagedProxy]) -> Any:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if runtime.ACTIVE is None:
            return wrapped(*args, **kwargs)
        # Ours owns the listing's span: AIAgentsInstrumentor's pager beneath ours is stepped over
        # (coexistence.py), or its own span would open on iteration beside ours.
        paged = beneath(wrapped, instance)(*args, **kwargs)
        return proxy(paged, (spec, instance, args, kwargs))

    return wrapper


# --- the HTTP seam: azure-core's pipeline --------------------------------------------------------


def _our_call(pipeline: Any) -> Any:
    call = runtime.CURRENT_CALL.get()
    if call is None or pipeline not in _PIPELINES:
        return None
    return call


def _read_request(call: Any, request: Any) -> None:
    """Host and port of the request (the endpoint), known before any response."""
    try:
        url = urlsplit(getattr(request, "url", "") or "")
        host = url.hostname
        if host:
            port = url.port or (443 if url.scheme == "https" else 80)
            call.annotate({sc.SERVER_ADDRESS: host, sc.SERVER_HOST: host, sc.SERVER_PORT: port})
        call.annotate(project_keys(host, url.path))  # a project endpoint: the Foundry portal's keys
    except Exception as error:
        internal_error(error, "headers")


def _read_response(call: Any, pipeline_response: Any) -> None:
    """Status, request ids, region, rate limits, api-version and retries of the final response."""
    if not call.recording:
        return
    try:
        attrs: dict[str, Any] = {}
        response_attributes(getattr(pipeline_response, "http_response", None), attrs)
        context = getattr(pipeline_response, "context", None)
        history = context.get("history") if context is not None else None
        if isinstance(history, list) and history:
            attrs[sc.RETRIES] = len(history)
        call.annotate(attrs)
    except Exception as error:
        internal_error(error, "headers")


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs.get("request")


def pipeline_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps azure-core's ``Pipeline.run``: every request of an agents client, and its response."""
    call = _our_call(instance)
    if call is None:
        return wrapped(*args, **kwargs)
    _read_request(call, _request_of(args, kwargs))
    response = wrapped(*args, **kwargs)
    _read_response(call, response)
    return response


async def async_pipeline_hook(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    call = _our_call(instance)
    if call is None:
        return await wrapped(*args, **kwargs)
    _read_request(call, _request_of(args, kwargs))
    response = await wrapped(*args, **kwargs)
    _read_response(call, response)
    return response


# --- targets ---------------------------------------------------------------------------------------


def _defining_class(module: str, owner: str, method: str, depth: int = 0) -> tuple[str, str] | None:
    """The class in the public class's MRO whose ``__dict__`` holds ``method`` (what a call hits);
    ``depth=1``: the next one, which ``super().method`` reaches (the generated method a hand-written
    one calls)."""
    try:
        public = getattr(importlib.import_module(module), owner)
    except (ImportError, AttributeError) as error:
        logger.debug("assistant_telemetry: skipping %s.%s: %s", module, owner, error)
        return None
    classes = [cls for cls in public.__mro__ if method in cls.__dict__]
    if len(classes) > depth:
        return classes[depth].__module__, classes[depth].__name__
    logger.debug("assistant_telemetry: skipping %s.%s.%s: not found", module, owner, method)
    return None


def _wrapper(op: Operation, asynchronous: bool) -> Any:
    if op.kind == LIST:
        return _paged_wrapper(op, _AsyncItemPagedProxy if asynchronous else _ItemPagedProxy)
    if asynchronous:
        return async_stream_wrapper(op) if op.stream is not None else async_wrapper(op)
    return sync_wrapper(op)


def targets() -> Iterator[Target]:
    for op in OPERATIONS:
        modules = _MODULES["AgentsClient" if op.owner == "AgentsClient" else "ops"]
        for module, asynchronous in zip(modules, (False, True), strict=True):
            found = _defining_class(module, op.owner, op.method)
            if found is not None:
                yield Target(*found, op.method, _wrapper(op, asynchronous))
    hooks = (stream_source_hook, async_stream_source_hook)
    for owner, method in STREAM_SOURCES:
        for module, hook in zip(_MODULES["ops"], hooks, strict=True):
            found = _defining_class(module, owner, method, depth=1)
            if found is not None:
                yield Target(*found, method, hook)
    for (module, owner, method), hook in zip(
        _PIPELINE_HOOKS, (pipeline_hook, async_pipeline_hook), strict=True
    ):
        yield Target(module, owner, method, hook)


PATCHER = Patcher("azure.ai.agents", targets)

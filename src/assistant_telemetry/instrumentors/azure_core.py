"""azure-core, shared by the azure-ai-agents and azure-ai-projects instrumentors.

Both SDKs are azure-core clients: their requests pass ``Pipeline.run`` / ``AsyncPipeline.run``
(where status, request ids, region, rate limits, host and api-version are read), their ``list``
methods return lazy ``ItemPaged`` / ``AsyncItemPaged`` pagers (the span covers the first page's
fetch), and their methods live on generated or hand-written (``_patch``) classes of the public one.
"""

from __future__ import annotations

import importlib
import itertools
import logging
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import wrapt

from .. import runtime
from .. import semconv as sc
from ..calls import Active, fail, finish, start
from ..coexistence import beneath
from ..extract.azure_ai_projects import project_keys
from ..extract.http import response_attributes
from ..guard import internal_error
from ..patching import Target
from ..spec import Operation
from ..wrappers import Wrapper

logger = logging.getLogger("assistant_telemetry")


# --- lists: the first page fetch is the span ---------------------------------------------------


def _page(items: list[Any]) -> dict[str, Any]:
    """The first page as the Assistants list shape the extractors read (``has_more`` unknown)."""
    return {"object": "list", "data": items}


class ItemPagedProxy(wrapt.ObjectProxy):
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


class AsyncItemPagedProxy(wrapt.ObjectProxy):
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


def paged_wrapper(spec: Operation, asynchronous: bool) -> Wrapper:
    """A ``list`` returning a lazy pager: the proxy opens the span when iteration starts."""
    proxy = AsyncItemPagedProxy if asynchronous else ItemPagedProxy

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if runtime.ACTIVE is None:
            return wrapped(*args, **kwargs)
        # Ours owns the listing's span: AIAgentsInstrumentor's pager beneath ours is stepped over
        # (coexistence.py), or its own span would open on iteration beside ours.
        paged = beneath(wrapped, instance)(*args, **kwargs)
        return proxy(paged, (spec, instance, args, kwargs))

    return wrapper


# --- the HTTP seam: azure-core's pipeline --------------------------------------------------------

_PIPELINE_RUN = (
    ("azure.core.pipeline._base", "Pipeline", "run"),
    ("azure.core.pipeline._base_async", "AsyncPipeline", "run"),
)


class PipelineSeam:
    """``Pipeline.run`` for the pipelines of one SDK's clients: each request of such a client made
    inside one of our spans, and its final response, are read onto that span. Every other azure-core
    client of the process (an Azure Monitor exporter, for one) passes through untouched. One seam
    per SDK, each with its own pipelines, so two instrumented SDKs never read a request twice."""

    def __init__(self) -> None:
        # Pipelines of the clients seen by a span (weakly: a client's pipeline dies with it).
        self._pipelines: weakref.WeakSet[Any] = weakref.WeakSet()

    def remember(self, client: Any) -> None:
        """``client`` is the SDK's ``PipelineClient``: its pipeline's requests are ours to read."""
        pipeline = getattr(client, "_pipeline", None)
        if pipeline is not None:
            self._pipelines.add(pipeline)

    def _call(self, pipeline: Any) -> Any:
        call = runtime.CURRENT_CALL.get()
        if call is None or pipeline not in self._pipelines:
            return None
        return call

    def hook(self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = self._call(instance)
        if call is None:
            return wrapped(*args, **kwargs)
        _read_request(call, _request_of(args, kwargs))
        response = wrapped(*args, **kwargs)
        _read_response(call, response)
        return response

    async def async_hook(
        self, wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        call = self._call(instance)
        if call is None:
            return await wrapped(*args, **kwargs)
        _read_request(call, _request_of(args, kwargs))
        response = await wrapped(*args, **kwargs)
        _read_response(call, response)
        return response

    def targets(self) -> Iterator[Target]:
        for (module, owner, method), hook in zip(_PIPELINE_RUN, (self.hook, self.async_hook), strict=True):
            yield Target(module, owner, method, hook)


def _request_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    return args[0] if args else kwargs.get("request")


def _read_request(call: Any, request: Any) -> None:
    """Host and port of the request (the endpoint), known before any response; on a Foundry
    project endpoint, the portal's project keys."""
    try:
        url = urlsplit(getattr(request, "url", "") or "")
        host = url.hostname
        if host:
            port = url.port or (443 if url.scheme == "https" else 80)
            call.annotate({sc.SERVER_ADDRESS: host, sc.SERVER_HOST: host, sc.SERVER_PORT: port})
        call.annotate(project_keys(host, url.path))
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


# --- methods: the class that defines them -----------------------------------------------------------


def defining_class(module: str, owner: str, method: str, depth: int = 0) -> tuple[str, str] | None:
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

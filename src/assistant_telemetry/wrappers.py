"""The few generic wrapt wrappers: sync, async, async paginator, stream helper, response hooks.

Every wrapper follows one order: bail out if off -> start span -> call through (only the
API call sits in the ``try``) -> finish inside the guard -> return the very same object.
The application's result and exceptions never change because of us.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from typing import Any

import wrapt

from . import runtime
from .calls import Active, fail, finish, start
from .coexistence import beneath
from .extract.http import response_attributes
from .guard import internal_error
from .spec import Operation
from .streams import adopt, adopt_body

Wrapper = Callable[[Any, Any, tuple[Any, ...], dict[str, Any]], Any]


def sync_wrapper(spec: Operation) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(spec, instance, args, kwargs)
        if call is None:
            return wrapped(*args, **kwargs)
        wrapped = beneath(wrapped, instance)  # ours is the span: another GenAI wrapper below steps aside
        try:
            result = wrapped(*args, **kwargs)
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, result)
        return result

    return wrapper


async def _awaited(call: Active | None, make: Callable[[], Awaitable[Any]]) -> Any:
    """Await what the SDK returns (coroutine or paginator) inside ``call``'s span."""
    if call is None:
        return await make()
    try:
        result = await make()
    except BaseException as error:
        fail(call, error)
        raise
    finish(call, result)
    return result


def async_wrapper(spec: Operation) -> Wrapper:
    async def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(spec, instance, args, kwargs)
        target = wrapped if call is None else beneath(wrapped, instance)  # as in sync_wrapper
        return await _awaited(call, lambda: target(*args, **kwargs))

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
        return await _awaited(start(*self._self_call_args), lambda: self.__wrapped__)


def paginator_wrapper(spec: Operation) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        paginator = wrapped(*args, **kwargs)
        if runtime.ACTIVE is None:
            return paginator
        return _PaginatorProxy(paginator, spec, instance, args, kwargs)

    return wrapper


def stream_manager_wrapper(spec: Operation, proxy: Callable[..., Any]) -> Wrapper:
    """A stream helper returns a manager and makes no request yet: the proxy's enter does."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = wrapped(*args, **kwargs)
        if runtime.ACTIVE is None:
            return manager
        return proxy(manager, (spec, instance, args, kwargs))

    return wrapper


def _read_response(call: Any, kwargs: dict[str, Any]) -> None:
    try:
        response = kwargs.get("response")
        if response is not None:
            attrs: dict[str, Any] = {}
            response_attributes(response, attrs)
            call.annotate(attrs)
    except Exception as error:
        internal_error(error, "headers")


def response_hook(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Wraps the SDK's ``_process_response``: the one place every HTTP response's headers pass."""
    call = runtime.CURRENT_CALL.get()
    if call is None:
        return wrapped(*args, **kwargs)
    if call.recording:
        _read_response(call, kwargs)
    result = wrapped(*args, **kwargs)
    return _owner(call, result, bool(kwargs.get("stream")), "__next__")


async def async_response_hook(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    call = runtime.CURRENT_CALL.get()
    if call is None:
        return await wrapped(*args, **kwargs)
    if call.recording:
        _read_response(call, kwargs)
    result = await wrapped(*args, **kwargs)
    return _owner(call, result, bool(kwargs.get("stream")), "__anext__")


def _owner(call: Any, result: Any, sse: bool, step: str) -> Any:
    """What the app gets, owning the span while it reads: the stream, or a raw body still unread."""
    if sse and hasattr(result, step):
        return adopt(call, result)
    return adopt_body(call, result, sse)

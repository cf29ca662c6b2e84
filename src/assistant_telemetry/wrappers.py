"""The few generic wrapt wrappers: sync, async, async paginator, stream helper, response hooks.

Every wrapper follows one order: bail out if off -> start span -> call through (only the
API call sits in the ``try``) -> finish inside the guard -> return the very same object.
The application's result and exceptions never change because of us.
"""

from __future__ import annotations

import os
import sys
import warnings
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

# --- warnings keep the app's frame ---------------------------------------------------------------
# A method marked ``@deprecated`` (typing_extensions / warnings) warns with a stacklevel that names
# its caller: wrapped, that is our wrapper, so the warning would point here and Python's default
# filters (which show DeprecationWarning only for __main__) would hide it. For such a method the
# wrapper warns itself, naming the first frame outside this package and wrapt, and calls the
# undecorated function. Thread-safe (catch_warnings is not) and one dict lookup for other methods.
_SKIPPED = (os.path.dirname(os.path.abspath(__file__)), os.path.dirname(os.path.abspath(wrapt.__file__)))
_DEPRECATED: dict[Any, tuple[str, type[Warning], int, Callable[..., Any]] | None] = {}


def _deprecation(function: Any) -> tuple[str, type[Warning], int, Callable[..., Any]] | None:
    """(message, category, stacklevel, undecorated function) of a ``@deprecated`` wrapper, else None."""
    try:
        return _DEPRECATED[function]
    except KeyError:
        pass
    except TypeError:  # unhashable
        return None
    found = None
    original = getattr(function, "__wrapped__", None)
    code, closure = getattr(function, "__code__", None), getattr(function, "__closure__", None)
    if original is not None and code is not None and closure and hasattr(function, "__deprecated__"):
        try:
            cells = dict(zip(code.co_freevars, (cell.cell_contents for cell in closure), strict=False))
        except ValueError:  # an empty cell
            cells = {}
        category, message, level = cells.get("category"), cells.get("msg"), cells.get("stacklevel")
        if isinstance(category, type) and issubclass(category, Warning) and isinstance(message, str):
            found = (message, category, level if isinstance(level, int) else 1, original)
    if len(_DEPRECATED) > 4096:
        _DEPRECATED.clear()
    _DEPRECATED[function] = found
    return found


def _target(wrapped: Any) -> Any:
    """What to call for ``wrapped``: itself, or (deprecated) its undecorated function once we warned."""
    found = _deprecation(getattr(wrapped, "__func__", wrapped))
    if found is None:
        return wrapped
    message, category, level, original = found
    frame, depth = sys._getframe(1), 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_SKIPPED):
        frame, depth = frame.f_back, depth + 1
    warnings.warn(message, category, stacklevel=depth + level - 1)
    owner = getattr(wrapped, "__self__", None)
    return original if owner is None else original.__get__(owner, type(owner))


def sync_wrapper(spec: Operation) -> Wrapper:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target = _target(wrapped)
        call = start(spec, instance, args, kwargs)
        if call is None:
            return target(*args, **kwargs)
        target = beneath(target, instance)  # ours is the span: another GenAI wrapper below steps aside
        try:
            result = target(*args, **kwargs)
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
    async def awaited(target: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        call = start(spec, instance, args, kwargs)
        if call is not None:
            target = beneath(target, instance)  # as in sync_wrapper
        return await _awaited(call, lambda: target(*args, **kwargs))

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # A plain function returning the coroutine: a deprecation warns at the call, as unwrapped.
        return awaited(_target(wrapped), instance, args, kwargs)

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
        paginator = _target(wrapped)(*args, **kwargs)
        if runtime.ACTIVE is None:
            return paginator
        return _PaginatorProxy(paginator, spec, instance, args, kwargs)

    return wrapper


def stream_manager_wrapper(spec: Operation, proxy: Callable[..., Any]) -> Wrapper:
    """A stream helper returns a manager and makes no request yet: the proxy's enter does."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        manager = _target(wrapped)(*args, **kwargs)
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

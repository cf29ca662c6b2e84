"""azure-ai-projects 2.x (Foundry agents v2): ``project.agents`` operations, sync and ``aio``.

One CLIENT span per operation, provider ``microsoft.foundry`` (the value azure-ai-projects' own
``AIProjectInstrumentor`` emits). Like azure-ai-agents, the SDK sends requests through azure-core
pipelines: status, request ids (``x-ms-request-id`` is azure-core's, ``apim-request-id`` the
gateway's, ``x-ms-client-request-id`` the client's), host and api-version are read where every
request of a projects client passes (``Pipeline.run``), and so is the project the URL names.
``list`` / ``list_versions`` return a lazy ``ItemPaged``: the span covers the first page's fetch.

The Responses and Conversations calls of ``project.get_openai_client()`` are the openai wrappers'
(extract/http.py names their provider and project).

Beside ``AIProjectInstrumentor`` (docs/attributes.md, "Coexistence"): one span per call. When its
span for the same operation is the current one (it wrapped over us), ours is not started: our
attributes go onto its span and our metrics are recorded once. When we wrapped over it, its wrapper
is stepped over (it keeps the original as ``_original``), so only our span exists.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from .. import runtime
from .. import semconv as sc
from ..calls import CountingGuest, fail, finish, start
from ..config import Settings
from ..extract.azure_ai_projects import result_attributes, url_project_attributes
from ..extract.http import response_attributes
from ..extract.requests import request_attributes
from ..guard import internal_error
from ..patching import Patcher, Target
from ..spec import CALL, LIST, Operation
from ..wrappers import Wrapper
from .azure_ai_agents import (
    _AsyncItemPagedProxy,
    _defining_class,
    _ItemPagedProxy,
    _paged_wrapper,
    _read_request,
)

_MODULES = ("azure.ai.projects.operations", "azure.ai.projects.aio.operations")
_PIPELINE_HOOKS = (
    ("azure.core.pipeline._base", "Pipeline", "run"),
    ("azure.core.pipeline._base_async", "AsyncPipeline", "run"),
)
# The pipelines of projects clients seen by a span (weakly: a client's pipeline dies with it).
_PIPELINES: weakref.WeakSet[Any] = weakref.WeakSet()


def client_attributes(client: Any, settings: Settings) -> dict[str, Any]:
    """Provider attributes; ``client`` is the SDK's ``PipelineClient`` (its pipeline is remembered).

    The endpoint is a template here (``{endpoint}``): project, server address and port come from
    the first request's URL (``pipeline_hook``).
    """
    pipeline = getattr(client, "_pipeline", None)
    if pipeline is not None:
        _PIPELINES.add(pipeline)
    return {
        sc.PROVIDER_NAME: sc.PROVIDER_MICROSOFT_FOUNDRY,
        sc.SYSTEM: sc.SYSTEM_AZURE_AI_AGENTS,
        sc.AZURE_RESOURCE_PROVIDER_NAMESPACE: sc.AZURE_NAMESPACE_COGNITIVE_SERVICES,
    }


def _op(method: str, operation: str, *positional: str, kind: str = CALL) -> Operation:
    return Operation(
        module=_MODULES[0],
        owner="AgentsOperations",
        method=method,
        operation=operation,
        positional=positional,
        kind=kind,
        client=client_attributes,
        result=result_attributes,
        async_owner="AgentsOperations",
    )


_NAME, _VERSION = "agent_name", "agent_version"

# Methods missing from the installed version (2.0 has create/update, 2.10 update_details) are skipped.
OPERATIONS: tuple[Operation, ...] = (
    _op("create", sc.OP_CREATE_AGENT, _NAME),
    _op("create_version", sc.OP_CREATE_AGENT, _NAME),
    _op("create_version_from_manifest", sc.OP_CREATE_AGENT, _NAME),
    _op("create_version_from_code", sc.OP_CREATE_AGENT, _NAME),
    _op("update", sc.OP_UPDATE_AGENT, _NAME),
    _op("update_details", sc.OP_UPDATE_AGENT, _NAME),
    _op("get", sc.OP_GET_AGENT, _NAME),
    _op("list", sc.OP_LIST_AGENTS, kind=LIST),
    _op("delete", sc.OP_DELETE_AGENT, _NAME),
    _op("get_version", sc.OP_GET_AGENT_VERSION, _NAME, _VERSION),
    _op("list_versions", sc.OP_LIST_AGENT_VERSIONS, _NAME, kind=LIST),
    _op("delete_version", sc.OP_DELETE_AGENT_VERSION, _NAME, _VERSION),
)


# --- coexistence with AIProjectInstrumentor ------------------------------------------------------


def _their_span(operation: str) -> trace.Span | None:
    """The current span when it is AIProjectInstrumentor's for this operation (recording, ours not)."""
    span = trace.get_current_span()
    attrs = getattr(span, "attributes", None)
    if not span.is_recording() or not attrs or runtime.CURRENT_CALL.get() is not None:
        return None
    if (
        attrs.get(sc.OPERATION_NAME) == operation
        and attrs.get(sc.PROVIDER_NAME) == sc.PROVIDER_MICROSOFT_FOUNDRY
    ):
        return span
    return None


def _guest(spec: Operation, span: trace.Span, instance: Any, args: Any, kwargs: Any) -> CountingGuest | None:
    """``calls.start`` without a span of our own: the same attributes, destined for theirs."""
    active = runtime.ACTIVE
    if active is None or not is_instrumentation_enabled():
        return None
    try:
        attrs = spec.client(getattr(instance, "_client", None), active.settings)
        attrs[sc.OPERATION_NAME] = spec.operation
        guest = CountingGuest(active, spec, span, attrs)  # its agents operations record no metrics
        guest.pending = dict(attrs)
    except Exception as error:
        internal_error(error, "start")
        return None
    try:
        guest.annotate(request_attributes(spec.positional, args, kwargs, active.settings))
    except Exception as error:
        internal_error(error, "request")
    return guest


def _stepped_over(wrapped: Any) -> Any:
    """AIProjectInstrumentor's wrapper keeps the SDK's method as ``_original``: call that."""
    original = getattr(wrapped, "_original", None)
    return original if callable(original) and runtime.ACTIVE is not None else None


def _call_wrapper(spec: Operation, asynchronous: bool) -> Wrapper:
    def opened(instance: Any, args: Any, kwargs: Any) -> Any:
        theirs = _their_span(spec.operation)
        if theirs is not None:
            return _guest(spec, theirs, instance, args, kwargs)
        return start(spec, instance, args, kwargs)

    def sync(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        target = _bound(_stepped_over(wrapped), instance) or wrapped
        call = opened(instance, args, kwargs)
        if call is None:
            return target(*args, **kwargs)
        try:
            result = target(*args, **kwargs)
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, result)
        return result

    async def asynchronous_(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        target = _bound(_stepped_over(wrapped), instance) or wrapped
        call = opened(instance, args, kwargs)
        if call is None:
            return await target(*args, **kwargs)
        try:
            result = await target(*args, **kwargs)
        except BaseException as error:
            fail(call, error)
            raise
        finish(call, result)
        return result

    return asynchronous_ if asynchronous else sync


def _bound(function: Any, instance: Any) -> Any:
    """Their wrapper was a plain function on the class: its original wants ``self`` first."""
    if function is None:
        return None
    return function.__get__(instance, type(instance)) if hasattr(function, "__get__") else function


# --- the HTTP seam: azure-core's pipeline --------------------------------------------------------


def _our_call(pipeline: Any) -> Any:
    call = runtime.CURRENT_CALL.get()
    if call is None or pipeline not in _PIPELINES:
        return None
    return call


def _read(call: Any, request: Any, pipeline_response: Any) -> None:
    if not call.recording:
        return
    try:
        attrs: dict[str, Any] = url_project_attributes(getattr(request, "url", None))
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
    """Wraps azure-core's ``Pipeline.run``: every request of a projects client, and its response."""
    call = _our_call(instance)
    if call is None:
        return wrapped(*args, **kwargs)
    request = _request_of(args, kwargs)
    _read_request(call, request)
    response = wrapped(*args, **kwargs)
    _read(call, request, response)
    return response


async def async_pipeline_hook(
    wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    call = _our_call(instance)
    if call is None:
        return await wrapped(*args, **kwargs)
    request = _request_of(args, kwargs)
    _read_request(call, request)
    response = await wrapped(*args, **kwargs)
    _read(call, request, response)
    return response


# --- targets ---------------------------------------------------------------------------------------


def _wrapper(op: Operation, asynchronous: bool) -> Any:
    if op.kind == LIST:
        return _paged_wrapper(op, _AsyncItemPagedProxy if asynchronous else _ItemPagedProxy)
    return _call_wrapper(op, asynchronous)


def targets() -> Iterator[Target]:
    for op in OPERATIONS:
        for module, asynchronous in zip(_MODULES, (False, True), strict=True):
            found = _defining_class(module, op.owner, op.method)
            if found is not None:
                yield Target(*found, op.method, _wrapper(op, asynchronous))
    for (module, owner, method), hook in zip(
        _PIPELINE_HOOKS, (pipeline_hook, async_pipeline_hook), strict=True
    ):
        yield Target(module, owner, method, hook)


PATCHER = Patcher("azure.ai.projects", targets)

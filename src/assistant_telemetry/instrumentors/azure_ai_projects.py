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

from collections.abc import Iterator
from typing import Any

from .. import semconv as sc
from ..config import Settings
from ..extract.azure_ai_projects import result_attributes
from ..patching import Patcher, Target
from ..spec import CALL, LIST, Operation
from ..wrappers import async_wrapper, sync_wrapper
from .azure_core import PipelineSeam, defining_class, paged_wrapper

_MODULES = ("azure.ai.projects.operations", "azure.ai.projects.aio.operations")
PIPELINE = PipelineSeam()


def client_attributes(client: Any, settings: Settings) -> dict[str, Any]:
    """Provider attributes; ``client`` is the SDK's ``PipelineClient`` (its pipeline is remembered).

    The endpoint is a template here (``{endpoint}``): project, server address and port come from
    the first request's URL (``PipelineSeam``).
    """
    PIPELINE.remember(client)
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


# --- targets ---------------------------------------------------------------------------------------


def _wrapper(op: Operation, asynchronous: bool) -> Any:
    if op.kind == LIST:
        return paged_wrapper(op, asynchronous)
    return async_wrapper(op) if asynchronous else sync_wrapper(op)


def targets() -> Iterator[Target]:
    for op in OPERATIONS:
        for module, asynchronous in zip(_MODULES, (False, True), strict=True):
            found = defining_class(module, op.owner, op.method)
            if found is not None:
                yield Target(*found, op.method, _wrapper(op, asynchronous))
    yield from PIPELINE.targets()


PATCHER = Patcher("azure.ai.projects", targets)

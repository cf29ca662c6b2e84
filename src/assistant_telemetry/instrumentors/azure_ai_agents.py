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

import logging
from collections.abc import Callable, Iterator
from typing import Any

from .. import semconv as sc
from ..config import Settings
from ..extract.assistants import object_attributes
from ..extract.fields import Attributes
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
from .azure_core import PipelineSeam, defining_class, paged_wrapper

logger = logging.getLogger("assistant_telemetry")

# Public class -> where its sync and async versions live.
_MODULES = {
    "AgentsClient": ("azure.ai.agents", "azure.ai.agents.aio"),
    "ops": ("azure.ai.agents.operations", "azure.ai.agents.aio.operations"),
}
PIPELINE = PipelineSeam()


def client_attributes(client: Any, settings: Settings) -> dict[str, Any]:
    """Provider attributes; ``client`` is the SDK's ``PipelineClient``, remembered for the hook.

    The endpoint is not known here (the client keeps it elsewhere): server.address and
    server.port come from the first request's URL (``PipelineSeam``).
    """
    PIPELINE.remember(client)
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


# --- targets ---------------------------------------------------------------------------------------


def _wrapper(op: Operation, asynchronous: bool) -> Any:
    if op.kind == LIST:
        return paged_wrapper(op, asynchronous)
    if asynchronous:
        return async_stream_wrapper(op) if op.stream is not None else async_wrapper(op)
    return sync_wrapper(op)


def targets() -> Iterator[Target]:
    for op in OPERATIONS:
        modules = _MODULES["AgentsClient" if op.owner == "AgentsClient" else "ops"]
        for module, asynchronous in zip(modules, (False, True), strict=True):
            found = defining_class(module, op.owner, op.method)
            if found is not None:
                yield Target(*found, op.method, _wrapper(op, asynchronous))
    hooks = (stream_source_hook, async_stream_source_hook)
    for owner, method in STREAM_SOURCES:
        for module, hook in zip(_MODULES["ops"], hooks, strict=True):
            found = defining_class(module, owner, method, depth=1)
            if found is not None:
                yield Target(*found, method, hook)
    yield from PIPELINE.targets()


PATCHER = Patcher("azure.ai.agents", targets)

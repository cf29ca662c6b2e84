"""The openai SDK: what is wrapped (one table), and how its results are read.

Works on openai 1.x-3.x: a method or class missing from the installed version is
skipped. Sync classes ``X`` and their ``AsyncX`` twins share one row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .. import semconv as sc
from ..config import Settings
from ..extract.assistants import object_attributes
from ..extract.chat import completion_attributes
from ..extract.fields import Attributes, parsed
from ..extract.http import client_attributes
from ..extract.responses import object_attributes as responses_object_attributes
from ..patching import Patcher, Target
from ..spec import CALL, LIFECYCLE, LIST, STREAM, Operation
from ..streams import AsyncStreamManagerProxy, ChatChunks, ResponseEvents, RunEvents, StreamManagerProxy
from ..wrappers import (
    async_response_hook,
    async_wrapper,
    paginator_wrapper,
    response_hook,
    stream_manager_wrapper,
    sync_wrapper,
)

_BETA = "openai.resources.beta"
ASSISTANTS = f"{_BETA}.assistants"
THREADS = f"{_BETA}.threads.threads"
MESSAGES = f"{_BETA}.threads.messages"
RUNS = f"{_BETA}.threads.runs.runs"
STEPS = f"{_BETA}.threads.runs.steps"


def result_attributes(result: Any, attrs: Attributes, settings: Settings) -> Any:
    """An Assistants object or page, plain or raw."""
    result = parsed(result)
    if result is not None:
        object_attributes(result, attrs, settings)
    return result


def chat_result_attributes(result: Any, attrs: Attributes, settings: Settings) -> Any:
    """A ``ChatCompletion`` (raw or parsed); a ``stream=True`` Stream is returned to the app unread."""
    completion_attributes(result_attributes(result, attrs, settings), attrs, settings)
    return None


def _op(
    module: str,
    owner: str,
    method: str,
    operation: str,
    *positional: str,
    kind: str = CALL,
    stream: Callable[[Any], Any] | None = None,
    client: Callable[[Any, Settings], dict[str, Any]] = client_attributes,
    result: Callable[[Any, Attributes, Settings], Any] = result_attributes,
    agent: str | None = None,
) -> Operation:
    return Operation(
        module=module,
        owner=owner,
        method=method,
        operation=operation,
        positional=positional,
        kind=kind,
        stream=stream,
        client=client,
        result=result,
        agent_operation=agent,
    )


# --- Responses and Conversations: the Assistants API's successors, in its id model (docs/migration.md).
RESPONSES = "openai.resources.responses.responses"
INPUT_ITEMS = "openai.resources.responses.input_items"
CONVERSATIONS = "openai.resources.conversations.conversations"
CONVERSATION_ITEMS = "openai.resources.conversations.items"


def responses_client_attributes(client: Any, settings: Settings) -> dict[str, Any]:
    attrs = client_attributes(client, settings)
    attrs[sc.OPENAI_API_TYPE] = sc.API_TYPE_RESPONSES
    return attrs


def responses_result_attributes(result: Any, attrs: Attributes, settings: Settings) -> Any:
    """A response, conversation, item or page (raw or parsed); a ``stream=True`` Stream is left to its
    observer, and ``responses.delete`` returns None."""
    result = parsed(result)
    responses_object_attributes(result, attrs, settings)
    return result


def _responses_op(
    module: str, owner: str, method: str, operation: str, *positional: str, **kw: Any
) -> Operation:
    return _op(
        module,
        owner,
        method,
        operation,
        *positional,
        client=responses_client_attributes,
        result=responses_result_attributes,
        **kw,
    )


# ``responses.create`` is semconv's ``chat`` (with ``openai.api.type`` = ``responses``). ``responses.stream``
# has no row: the manager it returns calls ``create(stream=True)`` (or ``retrieve(stream=True)`` to
# resume) when entered, and that call's span, which lives as long as the stream, is the helper's.
RESPONSES_OPERATIONS: tuple[Operation, ...] = (
    _responses_op(RESPONSES, "Responses", "create", "chat", stream=ResponseEvents),
    _responses_op(RESPONSES, "Responses", "parse", "chat"),
    _responses_op(RESPONSES, "Responses", "retrieve", "get_response", "response_id", stream=ResponseEvents),
    _responses_op(RESPONSES, "Responses", "cancel", "cancel_response", "response_id"),
    _responses_op(RESPONSES, "Responses", "delete", "delete_response", "response_id"),
    _responses_op(INPUT_ITEMS, "InputItems", "list", "list_response_input_items", "response_id", kind=LIST),
    _responses_op(CONVERSATIONS, "Conversations", "create", "create_conversation"),
    _responses_op(CONVERSATIONS, "Conversations", "retrieve", "get_conversation", "conversation_id"),
    _responses_op(CONVERSATIONS, "Conversations", "update", "update_conversation", "conversation_id"),
    _responses_op(CONVERSATIONS, "Conversations", "delete", "delete_conversation", "conversation_id"),
    _responses_op(CONVERSATION_ITEMS, "Items", "create", "create_conversation_items", "conversation_id"),
    _responses_op(CONVERSATION_ITEMS, "Items", "retrieve", "get_conversation_item", "item_id"),
    _responses_op(
        CONVERSATION_ITEMS, "Items", "list", "list_conversation_items", "conversation_id", kind=LIST
    ),
    _responses_op(CONVERSATION_ITEMS, "Items", "delete", "delete_conversation_item", "item_id"),
)

PROCESS_RUN = "process_thread_run"
SUBMIT = sc.OP_SUBMIT_TOOL_OUTPUTS

# Operation names follow Azure AI agent tracing where it has one (create_thread,
# create_message, list_messages, start_thread_run, get_thread_run, submit_tool_outputs,
# list_run_steps) and semconv's create_agent; the rest extend the same pattern.
OPERATIONS: tuple[Operation, ...] = (
    _op(ASSISTANTS, "Assistants", "create", "create_agent"),
    _op(ASSISTANTS, "Assistants", "retrieve", "get_agent", "assistant_id"),
    _op(ASSISTANTS, "Assistants", "update", "update_agent", "assistant_id"),
    _op(ASSISTANTS, "Assistants", "delete", "delete_agent", "assistant_id"),
    _op(ASSISTANTS, "Assistants", "list", "list_agents", kind=LIST),
    _op(THREADS, "Threads", "create", "create_thread"),
    _op(THREADS, "Threads", "retrieve", "get_thread", "thread_id"),
    _op(THREADS, "Threads", "update", "update_thread", "thread_id"),
    _op(THREADS, "Threads", "delete", "delete_thread", "thread_id"),
    _op(THREADS, "Threads", "create_and_run", "create_thread_and_run", stream=RunEvents),
    _op(MESSAGES, "Messages", "create", "create_message", "thread_id"),
    _op(MESSAGES, "Messages", "retrieve", "get_message", "message_id"),
    _op(MESSAGES, "Messages", "update", "update_message", "message_id"),
    _op(MESSAGES, "Messages", "delete", "delete_message", "message_id"),
    _op(MESSAGES, "Messages", "list", "list_messages", "thread_id", kind=LIST),
    _op(RUNS, "Runs", "create", "start_thread_run", "thread_id", stream=RunEvents),
    _op(RUNS, "Runs", "retrieve", "get_thread_run", "run_id"),
    _op(RUNS, "Runs", "update", "update_thread_run", "run_id"),
    _op(RUNS, "Runs", "list", "list_thread_runs", "thread_id", kind=LIST),
    _op(RUNS, "Runs", "cancel", "cancel_thread_run", "run_id"),
    _op(RUNS, "Runs", "submit_tool_outputs", "submit_tool_outputs", "run_id", stream=RunEvents),
    _op(STEPS, "Steps", "retrieve", "get_run_step", "step_id"),
    _op(STEPS, "Steps", "list", "list_run_steps", "run_id", kind=LIST),
    # Helpers that drive a run to a terminal status: one span each, their inner calls folded in.
    _op(RUNS, "Runs", "create_and_poll", PROCESS_RUN, kind=LIFECYCLE),
    _op(RUNS, "Runs", "poll", PROCESS_RUN, "run_id", "thread_id", kind=LIFECYCLE),
    # Resuming a run after its tool outputs continues the execution invoke_agent started.
    _op(RUNS, "Runs", "submit_tool_outputs_and_poll", PROCESS_RUN, kind=LIFECYCLE, agent=SUBMIT),
    _op(THREADS, "Threads", "create_and_run_poll", PROCESS_RUN, kind=LIFECYCLE),
    # Stream helpers: the span opens with the manager's ``with`` and ends with the stream.
    _op(RUNS, "Runs", "stream", PROCESS_RUN, kind=STREAM, stream=RunEvents),
    _op(RUNS, "Runs", "create_and_stream", PROCESS_RUN, kind=STREAM, stream=RunEvents),
    _op(RUNS, "Runs", "submit_tool_outputs_stream", PROCESS_RUN, kind=STREAM, stream=RunEvents, agent=SUBMIT),
    _op(THREADS, "Threads", "create_and_run_stream", PROCESS_RUN, kind=STREAM, stream=RunEvents),
    # --- chat.completions: Assistants apps mix it in; on Azure it carries the content filter results.
    Operation(
        module="openai.resources.chat.completions.completions",
        owner="Completions",
        method="create",
        operation="chat",
        client=client_attributes,
        result=chat_result_attributes,
        stream=ChatChunks,
    ),
    # --- Responses and Conversations (defined above).
    *RESPONSES_OPERATIONS,
)

# Every HTTP response, success or not, passes here with its headers (request ids, Azure region ...).
# A streamed call's ``Stream`` is born here too: the hook hands it the call's span.
RESPONSE_HOOKS = (
    ("openai._base_client", "SyncAPIClient", "_process_response", response_hook),
    ("openai._base_client", "AsyncAPIClient", "_process_response", async_response_hook),
)


def targets() -> Iterator[Target]:
    for op in OPERATIONS:
        if op.kind == STREAM:
            yield Target(op.module, op.owner, op.method, stream_manager_wrapper(op, StreamManagerProxy))
            if op.async_class is not None:
                wrapper = stream_manager_wrapper(op, AsyncStreamManagerProxy)
                yield Target(op.module, op.async_class, op.method, wrapper)
            continue
        yield Target(op.module, op.owner, op.method, sync_wrapper(op))
        if op.async_class is not None:
            wrapper = paginator_wrapper(op) if op.kind == LIST else async_wrapper(op)
            yield Target(op.module, op.async_class, op.method, wrapper)
    for module, owner, method, hook in RESPONSE_HOOKS:
        yield Target(module, owner, method, hook)


PATCHER = Patcher("openai", targets)

"""Responses and Conversations objects -> attributes, in the vocabulary runs share (docs/migration.md).

A response is an *execution*, like an Assistants run: its id is ``gen_ai.response.id``, its
status, error code and incomplete reason go to ``assistant_telemetry.execution.*``, and the
conversation it belongs to to ``gen_ai.conversation.id``. Its agent is a Foundry agent
reference or a reusable prompt (``gen_ai.agent.*``); the message it produced is an output
item of type ``message`` (``gen_ai.message.id``).

Read: ids, statuses, codes, model, agent name / prompt id and versions, usage (with its cached
and reasoning parts), tool and output item types, metadata keys, the shape of message items
(role, status, part types, text length), and Azure's ``content_filters`` (booleans, severities
and blocklist ids, as chat's: content_filter.py). Never read: ``input``, ``instructions``,
output text, tool call arguments and outputs, prompt ``variables``, reasoning summaries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import semconv as sc
from ..config import Settings
from .assistants import (
    content_shape_attributes,
    metadata_attributes,
    page_attributes,
    token_counts,
    tool_types,
)
from .content_filter import COMPLETION, CONTENT_FILTER, blocked, response_filters_attributes
from .fields import Attributes, code, field, field_reader, integer, items, put, strings, text, timestamp

TERMINAL_RESPONSE_STATUSES = frozenset({"completed", "failed", "cancelled", "incomplete"})


def object_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    """Attributes of any Responses or Conversations object or page (unknown shapes add nothing)."""
    kind = field(obj, "object")
    handler = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        handler(obj, attrs, settings)
    elif isinstance(field(obj, "data"), list):
        page_attributes(obj, attrs, settings)
    elif isinstance(field(obj, "type"), str):
        item_attributes(obj, attrs, settings)


def response_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    get = field_reader(obj)
    put(attrs, sc.RESPONSE_ID, text(get("id")))
    status = code(get("status"))
    if status is not None:
        attrs[sc.EXECUTION_KIND] = sc.EXECUTION_KIND_RESPONSE
        attrs[sc.EXECUTION_STATUS] = status
    put(attrs, sc.RESPONSE_MODEL, text(get("model")))
    put(attrs, sc.CONVERSATION_ID, conversation_id(get("conversation")))
    put(attrs, sc.RESPONSE_PREVIOUS_ID, text(get("previous_response_id")))
    background = get("background")
    if isinstance(background, bool):
        attrs[sc.RESPONSE_BACKGROUND] = background
    put(attrs, sc.EXECUTION_ERROR_CODE, code(field(get("error"), "code")))
    reason = code(field(get("incomplete_details"), "reason"))
    put(attrs, sc.EXECUTION_INCOMPLETE_REASON, reason)
    if reason == CONTENT_FILTER:
        blocked(attrs, COMPLETION)  # the same outcome a run or message cut by the filter gets
    # Azure's filter results, per source: the names chat's annotations get (a streamed response
    # is read here too, from the response its response.* events carry).
    response_filters_attributes(get("content_filters"), attrs)
    agent_attributes(get("agent_reference") or get("agent"), get("prompt"), attrs)
    usage_attributes(get("usage"), attrs)
    output_attributes(get("output"), attrs)
    types = tool_types(get("tools"))
    if types:
        attrs[sc.TOOL_TYPES] = types
    metadata_attributes(get("metadata"), attrs, settings)
    if status == "completed":  # the only end the service timestamps (completed_at)
        created, ended = timestamp(get("created_at")), timestamp(get("completed_at"))
        if created is not None and ended is not None and ended >= created:
            attrs[sc.EXECUTION_TOTAL_TIME] = float(ended - created)


def conversation_id(value: Any) -> str | None:
    """A conversation as requests and responses name it: its id, or an object with an ``id``."""
    return text(value) or text(field(value, "id"))


def _version(value: Any) -> str | None:
    return str(value) if integer(value) is not None else text(value)


def agent_attributes(agent: Any, prompt: Any, attrs: Attributes) -> None:
    """The agent: a Foundry agent reference (``{"type": "agent_reference", "name", "version"}``), else
    a reusable prompt (``{"id", "version"}``; its ``variables`` are content and never read)."""
    name = text(field(agent, "name"))
    version = _version(field(agent, "version"))
    # Foundry names an agent version ``{name}:{version}``: the gen_ai.agent.id its portal matches.
    agent_id = text(field(agent, "id")) or (f"{name}:{version}" if name and version else name)
    if agent_id is not None:
        attrs[sc.AGENT_ID] = agent_id
        put(attrs, sc.AGENT_NAME, name)
        put(attrs, sc.AGENT_VERSION, version)
        return
    prompt_id = text(field(prompt, "id"))
    if prompt_id is not None:
        attrs[sc.AGENT_ID] = prompt_id
        put(attrs, sc.AGENT_VERSION, _version(field(prompt, "version")))


def usage_attributes(usage: Any, attrs: Attributes) -> None:
    """Input and output tokens, and the parts of them the service reports: cached, reasoning.

    Reads the Responses shape (``input_tokens_details``) and the chat shape (``prompt_tokens_details``).
    """
    get = field_reader(usage)
    token_counts(get, attrs)
    inputs = get("input_tokens_details") or get("prompt_tokens_details")
    outputs = get("output_tokens_details") or get("completion_tokens_details")
    put(attrs, sc.USAGE_CACHE_READ_INPUT_TOKENS, integer(field(inputs, "cached_tokens")))
    put(attrs, sc.USAGE_CACHE_CREATION_INPUT_TOKENS, integer(field(inputs, "cache_write_tokens")))
    put(attrs, sc.USAGE_REASONING_OUTPUT_TOKENS, integer(field(outputs, "reasoning_tokens")))


def output_attributes(output: Any, attrs: Attributes) -> None:
    listed = items(output)
    if not listed:
        return
    cap = sc.RESPONSE_OUTPUT_ITEMS_CAP
    ids = strings((field(item, "id") for item in listed), limit=cap)
    if ids:
        attrs[sc.RESPONSE_OUTPUT_ITEM_IDS] = ids
    types = strings((field(item, "type") for item in listed), limit=cap)
    if types:
        attrs[sc.RESPONSE_OUTPUT_ITEM_TYPES] = types


def produced_messages(response: Any) -> list[Any]:
    """The output items of type ``message``: what this execution said."""
    return [item for item in items(field(response, "output")) if field(item, "type") == "message"]


def item_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    """A conversation, input or output item: its id and type; a message's shape too."""
    put(attrs, sc.CONVERSATION_ITEM_ID, text(field(obj, "id")))
    kind = code(field(obj, "type"))
    put(attrs, sc.CONVERSATION_ITEM_TYPE, kind)
    if kind == "message":
        message_item_attributes(obj, attrs, settings)


def message_item_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    """A message item, read as an Assistants message is (what its events carry)."""
    put(attrs, sc.MESSAGE_ID, text(field(obj, "id")))
    put(attrs, sc.MESSAGE_ROLE, code(field(obj, "role")))
    put(attrs, sc.MESSAGE_STATUS, code(field(obj, "status")))
    content_shape_attributes(field(obj, "content"), attrs)


def conversation_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    put(attrs, sc.CONVERSATION_ID, text(field(obj, "id")))
    metadata_attributes(field(obj, "metadata"), attrs, settings)


def deleted_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    key = sc.CONVERSATION_ID if field(obj, "object") == "conversation.deleted" else sc.RESPONSE_ID
    put(attrs, key, text(field(obj, "id")))
    deleted = field(obj, "deleted")
    if isinstance(deleted, bool):
        attrs[sc.DELETED] = deleted


# --- request arguments (see extract/requests.py) ------------------------------------------------


def input_count(value: Any, attrs: Attributes, key: str = sc.RESPONSE_INPUT_ITEMS) -> None:
    """How many items ``input`` (a string is one message) or ``items`` holds, never what they say."""
    if isinstance(value, str):
        attrs[key] = 1
    elif isinstance(value, (list, tuple)):  # sized containers only: never consume an app's iterator
        attrs[key] = len(value)


def extra_body_attributes(value: Any, attrs: Attributes) -> None:
    """``extra_body``: only the Foundry agent reference is read (``{"agent_reference": {"name",
    "version", "type"}}``, azure-ai-projects 2.x; ``{"agent": ...}`` before)."""
    if isinstance(value, dict):
        agent_attributes(value.get("agent_reference") or value.get("agent"), None, attrs)


_BY_KIND: dict[str, Callable[[Any, Attributes, Settings], None]] = {
    "response": response_attributes,
    "conversation": conversation_attributes,
    "conversation.deleted": deleted_attributes,
    "response.deleted": deleted_attributes,
    "list": page_attributes,
}

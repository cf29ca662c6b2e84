"""Assistants API objects (assistant, thread, message, run, run step, list, deleted) -> attributes.

Dispatch is on the object's own ``object`` field, so the same functions serve every
method, ``with_raw_response`` results and (later) stream events carrying these objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import semconv as sc
from ..config import Settings
from .content_filter import incomplete_reason_attributes
from .fields import Attributes, code, field, field_reader, integer, items, put, strings, text, timestamp

TERMINAL_RUN_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})
# Steps and messages: what a run leaves behind once they stop changing.
TERMINAL_ITEM_STATUSES = frozenset({"completed", "failed", "cancelled", "expired", "incomplete"})


def object_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    """Attributes of any Assistants API object or page of objects (unknown shapes add nothing)."""
    kind = field(obj, "object")
    handler = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        handler(obj, attrs, settings)
    elif isinstance(field(obj, "data"), list):
        page_attributes(obj, attrs, settings)
    elif isinstance(kind, str) and kind.endswith(".deleted"):
        deleted_attributes(obj, attrs, settings)


def thread_id_attributes(thread_id: Any, attrs: Attributes) -> None:
    """A thread is the conversation: both the semconv and the Azure agent name."""
    thread_id = text(thread_id)
    if thread_id is not None:
        attrs[sc.CONVERSATION_ID] = thread_id
        attrs[sc.THREAD_ID] = thread_id


def metadata_attributes(metadata: Any, attrs: Attributes, settings: Settings) -> None:
    """Metadata keys always; values only for allowlisted keys (values may be content)."""
    if not isinstance(metadata, dict) or not metadata:
        return
    keys = strings(sorted(k for k in metadata if isinstance(k, str)))
    if keys:
        attrs[sc.METADATA_KEYS] = keys
    for key in settings.metadata_allowlist.intersection(keys):
        put(attrs, sc.METADATA_VALUE_PREFIX + key, text(metadata[key]))


def tool_types(tools: Any) -> list[str]:
    return strings(field(tool, "type") for tool in items(tools))


def assistant_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    put(attrs, sc.AGENT_ID, text(field(obj, "id")))
    put(attrs, sc.AGENT_NAME, text(field(obj, "name")))
    put(attrs, sc.REQUEST_MODEL, text(field(obj, "model")))
    types = tool_types(field(obj, "tools"))
    if types:
        attrs[sc.TOOL_TYPES] = types
    metadata_attributes(field(obj, "metadata"), attrs, settings)


def thread_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    thread_id_attributes(field(obj, "id"), attrs)
    metadata_attributes(field(obj, "metadata"), attrs, settings)


def message_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    get = field_reader(obj)
    put(attrs, sc.MESSAGE_ID, text(get("id")))
    thread_id_attributes(get("thread_id"), attrs)
    run_id = text(get("run_id"))
    put(attrs, sc.RUN_ID, run_id)
    put(attrs, sc.RESPONSE_ID, run_id)  # the execution that produced it, as for a response's output
    put(attrs, sc.AGENT_ID, text(get("assistant_id")))
    put(attrs, sc.MESSAGE_ROLE, code(get("role")))
    put(attrs, sc.MESSAGE_STATUS, code(get("status")))
    put(attrs, sc.MESSAGE_INCOMPLETE_REASON, code(field(get("incomplete_details"), "reason")))
    content_shape_attributes(get("content"), attrs)
    attachment_attributes(get("attachments"), attrs)
    metadata_attributes(get("metadata"), attrs, settings)
    incomplete_reason_attributes(attrs)  # cut short by the content filter: a blocked output


def content_shape_attributes(content: Any, attrs: Attributes) -> None:
    """Part types, part count and text length: the shape of a message, never its words."""
    if isinstance(content, str):
        attrs[sc.MESSAGE_CONTENT_TYPES] = ["text"]
        attrs[sc.MESSAGE_CONTENT_PARTS] = 1
        attrs[sc.MESSAGE_TEXT_LENGTH] = len(content)
        return
    parts = items(content)
    if not parts:
        return
    attrs[sc.MESSAGE_CONTENT_PARTS] = len(parts)
    attrs[sc.MESSAGE_CONTENT_TYPES] = strings(field(part, "type") for part in parts)
    length = sum(_text_length(part) for part in parts)
    if length:
        attrs[sc.MESSAGE_TEXT_LENGTH] = length


def _text_length(part: Any) -> int:
    value = field(part, "text")  # a string in requests, {value, annotations} in responses
    if not isinstance(value, str):
        value = field(value, "value")
    return len(value) if isinstance(value, str) else 0


def attachment_attributes(attachments: Any, attrs: Attributes) -> None:
    listed = items(attachments)
    if listed:
        attrs[sc.MESSAGE_ATTACHMENTS] = len(listed)
        file_ids = strings(field(a, "file_id") for a in listed)
        if file_ids:
            attrs[sc.MESSAGE_FILE_IDS] = file_ids


def run_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    get = field_reader(obj)
    run_id = text(get("id"))
    put(attrs, sc.RUN_ID, run_id)
    put(attrs, sc.RESPONSE_ID, run_id)
    thread_id_attributes(get("thread_id"), attrs)
    put(attrs, sc.AGENT_ID, text(get("assistant_id")))
    status = code(get("status"))
    put(attrs, sc.RUN_STATUS, status)
    put(attrs, sc.RESPONSE_MODEL, text(get("model")))
    if status in TERMINAL_RUN_STATUSES:
        attrs.update(run_timings(get, status))
    put(attrs, sc.RUN_LAST_ERROR_CODE, code(field(get("last_error"), "code")))
    put(attrs, sc.RUN_INCOMPLETE_REASON, code(field(get("incomplete_details"), "reason")))
    usage_attributes(get("usage"), attrs)
    required_action_attributes(get("required_action"), attrs)
    types = tool_types(get("tools"))
    if types:
        attrs[sc.TOOL_TYPES] = types
    metadata_attributes(get("metadata"), attrs, settings)
    incomplete_reason_attributes(attrs)  # cut short by the content filter: a blocked output
    execution_twins(attrs)


# A run in the vocabulary it shares with responses (docs/migration.md): the same values again under
# the surface-neutral names, so one query reads both the Assistants API and its successors.
_EXECUTION_TWINS = (
    (sc.RUN_STATUS, sc.EXECUTION_STATUS),
    (sc.RUN_LAST_ERROR_CODE, sc.EXECUTION_ERROR_CODE),
    (sc.RUN_INCOMPLETE_REASON, sc.EXECUTION_INCOMPLETE_REASON),
    (sc.RUN_QUEUE_TIME, sc.EXECUTION_QUEUE_TIME),
    (sc.RUN_EXECUTION_TIME, sc.EXECUTION_ACTIVE_TIME),
    (sc.RUN_TOTAL_TIME, sc.EXECUTION_TOTAL_TIME),
)


def execution_twins(attrs: Attributes) -> None:
    if sc.RUN_STATUS in attrs:
        attrs[sc.EXECUTION_KIND] = sc.EXECUTION_KIND_RUN
    for run_key, key in _EXECUTION_TWINS:
        if run_key in attrs:
            attrs[key] = attrs[run_key]


def run_timings(get: Callable[[str], Any], status: str | None) -> dict[str, float]:
    """Queue, execution and total time of a finished run (read by ``get``, its ``field_reader``),
    from the server's own timestamps."""
    created = timestamp(get("created_at"))
    started = timestamp(get("started_at"))
    ended = (
        timestamp(get("completed_at"))
        or timestamp(get("failed_at"))
        or timestamp(get("cancelled_at"))
        or (timestamp(get("expires_at")) if status == "expired" else None)
    )
    timings: dict[str, float] = {}
    # A timestamp earlier than the one it follows is the service's oddity: that timing is skipped.
    if created is not None and started is not None and started >= created:
        timings[sc.RUN_QUEUE_TIME] = float(started - created)
    if started is not None and ended is not None and ended >= started:
        timings[sc.RUN_EXECUTION_TIME] = float(ended - started)
    if created is not None and ended is not None and ended >= created:
        timings[sc.RUN_TOTAL_TIME] = float(ended - created)
    return timings


def required_action_attributes(action: Any, attrs: Attributes) -> None:
    """How many tool calls the run waits for and which functions: never their arguments."""
    calls = items(field(field(action, "submit_tool_outputs"), "tool_calls"))
    if calls:
        attrs[sc.RUN_REQUIRED_TOOL_CALLS] = len(calls)
        names = strings(field(field(call, "function"), "name") for call in calls)
        if names:
            attrs[sc.RUN_REQUIRED_FUNCTIONS] = names


def usage_attributes(usage: Any, attrs: Attributes) -> None:
    token_counts(field_reader(usage), attrs)


def token_counts(get: Callable[[str], Any], attrs: Attributes) -> None:
    """Input and output tokens of a usage object read by ``get`` (its ``field_reader``)."""
    put(attrs, sc.USAGE_INPUT_TOKENS, _first_count(get, _INPUT_TOKEN_NAMES))
    put(attrs, sc.USAGE_OUTPUT_TOKENS, _first_count(get, _OUTPUT_TOKEN_NAMES))


# Assistants report prompt/completion tokens; Responses and chat report input/output.
_INPUT_TOKEN_NAMES = ("prompt_tokens", "input_tokens")
_OUTPUT_TOKEN_NAMES = ("completion_tokens", "output_tokens")


def _first_count(get: Callable[[str], Any], names: tuple[str, ...]) -> int | None:
    for name in names:
        count = integer(get(name))
        if count is not None:  # 0 is a real count
            return count
    return None


def run_step_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    put(attrs, sc.RUN_STEP_ID, text(field(obj, "id")))
    put(attrs, sc.RUN_ID, text(field(obj, "run_id")))
    thread_id_attributes(field(obj, "thread_id"), attrs)
    put(attrs, sc.AGENT_ID, text(field(obj, "assistant_id")))
    put(attrs, sc.RUN_STEP_TYPE, code(field(obj, "type")))
    status = code(field(obj, "status"))
    put(attrs, sc.RUN_STEP_STATUS, status)
    if status in TERMINAL_ITEM_STATUSES:
        created = timestamp(field(obj, "created_at"))
        ended = timestamp(field(obj, f"{status}_at"))
        if created is not None and ended is not None and ended >= created:
            attrs[sc.RUN_STEP_DURATION] = float(ended - created)
    put(attrs, sc.RUN_LAST_ERROR_CODE, code(field(field(obj, "last_error"), "code")))
    details = field(obj, "step_details")
    put(attrs, sc.MESSAGE_ID, text(field(field(details, "message_creation"), "message_id")))
    types = tool_types(field(details, "tool_calls"))
    if types:
        attrs[sc.RUN_STEP_TOOL_TYPES] = types
    # A share of the run's tokens: not gen_ai.usage.*, which the run carries (counted once).
    usage = field_reader(field(obj, "usage"))
    put(attrs, sc.RUN_STEP_INPUT_TOKENS, _first_count(usage, _INPUT_TOKEN_NAMES))
    put(attrs, sc.RUN_STEP_OUTPUT_TOKENS, _first_count(usage, _OUTPUT_TOKEN_NAMES))


def page_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    """One fetched page: its size, first/last ids, up to LIST_IDS_CAP ids, and the thread."""
    data = items(field(obj, "data"))
    attrs[sc.LIST_COUNT] = len(data)
    has_more = field(obj, "has_more")
    if isinstance(has_more, bool):
        attrs[sc.LIST_HAS_MORE] = has_more
    if not data:
        return
    ids = strings((field(item, "id") for item in data), limit=sc.LIST_IDS_CAP)
    if ids:
        attrs[sc.LIST_IDS] = ids
    put(attrs, sc.LIST_FIRST_ID, text(field(data[0], "id")))
    put(attrs, sc.LIST_LAST_ID, text(field(data[-1], "id")))
    thread_id_attributes(field(data[0], "thread_id"), attrs)


_DELETED_ID_KEY = {
    "assistant.deleted": sc.AGENT_ID,
    "thread.deleted": sc.THREAD_ID,
    "thread.message.deleted": sc.MESSAGE_ID,
}


def deleted_attributes(obj: Any, attrs: Attributes, settings: Settings) -> None:
    key = _DELETED_ID_KEY.get(field(obj, "object"))
    object_id = text(field(obj, "id"))
    if key == sc.THREAD_ID:
        thread_id_attributes(object_id, attrs)
    elif key is not None:
        put(attrs, key, object_id)
    deleted = field(obj, "deleted")
    if isinstance(deleted, bool):
        attrs[sc.DELETED] = deleted


_BY_KIND: dict[str, Callable[[Any, Attributes, Settings], None]] = {
    "assistant": assistant_attributes,
    "thread": thread_attributes,
    "thread.message": message_attributes,
    "thread.run": run_attributes,
    "thread.run.step": run_step_attributes,
    "list": page_attributes,
    "assistant.deleted": deleted_attributes,
    "thread.deleted": deleted_attributes,
    "thread.message.deleted": deleted_attributes,
}

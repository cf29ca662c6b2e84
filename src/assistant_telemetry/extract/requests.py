"""Request arguments -> attributes, driven by an allowlist of parameter names.

The openai and azure-ai-agents methods share parameter names (``thread_id``,
``assistant_id``, ``metadata`` ...), so one table of "parameter -> how to record it"
serves every wrapped method. Parameters not in the table (``content`` text, ``instructions``,
tool output text ...) are never looked at, except for their shape where noted, and, only
when a fingerprint key is configured, a keyed HMAC of message text (``fingerprint``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any

from .. import semconv as sc
from ..config import Settings
from .assistants import (
    attachment_attributes,
    content_shape_attributes,
    metadata_attributes,
    thread_id_attributes,
    tool_types,
)
from .fields import Attributes, code, field, items, put, text
from .responses import agent_attributes, conversation_id, extra_body_attributes, input_count

Recorder = Callable[[Any, Attributes, Settings], None]


def _as(key: str, convert: Callable[[Any], Any] = text) -> Recorder:
    def record(value: Any, attrs: Attributes, settings: Settings) -> None:
        value = convert(value)
        if value is not None:
            attrs[key] = value

    return record


def _thread(value: Any, attrs: Attributes, settings: Settings) -> None:
    thread_id_attributes(value, attrs)


def _tools(value: Any, attrs: Attributes, settings: Settings) -> None:
    types = tool_types(value)
    if types:
        attrs[sc.TOOL_TYPES] = types


def _tool_outputs(value: Any, attrs: Attributes, settings: Settings) -> None:
    # Only sized containers: iterating an app's generator would consume it.
    if isinstance(value, (list, tuple)):
        attrs[sc.TOOL_OUTPUTS] = len(value)


def _content(value: Any, attrs: Attributes, settings: Settings) -> None:
    content_shape_attributes(value, attrs)
    if settings.message_fingerprint_key is not None:
        found = fingerprint(settings.message_fingerprint_key, value)
        if found is not None:
            attrs[sc.MESSAGE_FINGERPRINT] = found


def _messages(value: Any, attrs: Attributes, settings: Settings) -> None:
    """``messages`` / ``additional_messages`` / ``thread={"messages": ...}``: fingerprints only."""
    key = settings.message_fingerprint_key
    if key is None:
        return  # without a key nothing here is read at all
    messages = value if isinstance(value, (list, tuple)) else field(value, "messages")
    found = [fingerprint(key, field(message, "content")) for message in items(messages)]
    prints = [f for f in found if f is not None]
    if prints:
        attrs[sc.MESSAGE_FINGERPRINTS] = prints[:64]


def message_text(content: Any) -> str | None:
    """The text a fingerprint covers: a plain string, or the text parts joined by a newline."""
    if isinstance(content, str):
        return content
    texts = []
    for part in items(content):
        value = field(part, "text")
        if not isinstance(value, str):
            value = field(value, "value")
        if isinstance(value, str):
            texts.append(value)
    return "\n".join(texts) if texts else None


def fingerprint(key: bytes, content: Any) -> str | None:
    """Hex HMAC-SHA256(key, UTF-8 text), first ``FINGERPRINT_HEX_CHARS``: equal texts, equal prints."""
    message = message_text(content)
    if message is None:
        return None
    digest = hmac.new(key, message.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
    return digest[: sc.FINGERPRINT_HEX_CHARS]


def _attachments(value: Any, attrs: Attributes, settings: Settings) -> None:
    attachment_attributes(value, attrs)


def _deployment_model(value: Any, attrs: Attributes, settings: Settings) -> None:
    model = text(value)
    if model is not None:
        attrs[sc.REQUEST_MODEL] = model


# --- Responses and Conversations: what their requests name (never input, instructions, prompt variables).


def _conversation(value: Any, attrs: Attributes, settings: Settings) -> None:
    put(attrs, sc.CONVERSATION_ID, conversation_id(value))


def _input(value: Any, attrs: Attributes, settings: Settings) -> None:
    """Responses ``input``: a string is the user's message (its shape); a list, how many items."""
    input_count(value, attrs)
    if isinstance(value, str):
        _content(value, attrs, settings)
    else:
        _messages(value, attrs, settings)


def _items(value: Any, attrs: Attributes, settings: Settings) -> None:
    input_count(value, attrs, sc.CONVERSATION_ITEMS_ADDED)
    _messages(value, attrs, settings)


def _prompt(value: Any, attrs: Attributes, settings: Settings) -> None:
    if sc.AGENT_ID not in attrs:  # a Foundry agent reference names the agent first
        agent_attributes(None, value, attrs)


def _extra_body(value: Any, attrs: Attributes, settings: Settings) -> None:
    extra_body_attributes(value, attrs)


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


PARAMETERS: Mapping[str, Recorder] = {
    "thread_id": _thread,
    "run_id": _as(sc.RUN_ID),
    "message_id": _as(sc.MESSAGE_ID),
    "step_id": _as(sc.RUN_STEP_ID),
    "assistant_id": _as(sc.AGENT_ID),
    "agent_id": _as(sc.AGENT_ID),  # azure-ai-agents names the assistant id so
    "model": _deployment_model,
    "name": _as(sc.AGENT_NAME),
    "role": _as(sc.MESSAGE_ROLE, code),
    "content": _content,
    "attachments": _attachments,
    "metadata": metadata_attributes,
    "tools": _tools,
    "tool_outputs": _tool_outputs,
    "messages": _messages,
    "additional_messages": _messages,
    "thread": _messages,
    # Responses and Conversations
    "response_id": _as(sc.RESPONSE_ID),
    "previous_response_id": _as(sc.RESPONSE_PREVIOUS_ID),
    "conversation": _conversation,
    "conversation_id": _as(sc.CONVERSATION_ID),
    "item_id": _as(sc.CONVERSATION_ITEM_ID),
    "background": _as(sc.RESPONSE_BACKGROUND, _flag),
    "input": _input,
    "items": _items,
    "prompt": _prompt,
    "extra_body": _extra_body,
    # azure-ai-projects 2.x agents operations (Foundry agents v2)
    "agent_name": _as(sc.AGENT_NAME),
    "agent_version": _as(sc.AGENT_VERSION),
}


def request_attributes(
    positional: tuple[str, ...], args: tuple[Any, ...], kwargs: Mapping[str, Any], settings: Settings
) -> dict[str, Any]:
    """Attributes from a call's arguments; ``positional`` names the method's positional parameters."""
    attrs: dict[str, Any] = {}
    for name, value in zip(positional, args, strict=False):
        _record(name, value, attrs, settings)
    for name, value in kwargs.items():
        _record(name, value, attrs, settings)
    return attrs


def _record(name: str, value: Any, attrs: Attributes, settings: Settings) -> None:
    recorder = PARAMETERS.get(name)
    if recorder is not None and value is not None and type(value).__name__ not in ("NotGiven", "Omit"):
        recorder(value, attrs, settings)

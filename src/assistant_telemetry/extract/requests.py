"""Request arguments -> attributes, driven by an allowlist of parameter names.

The openai and azure-ai-agents methods share parameter names (``thread_id``,
``assistant_id``, ``metadata`` ...), so one table of "parameter -> how to record it"
serves every wrapped method. Parameters not in the table (``content`` text, ``instructions``,
tool output text ...) are never looked at, except for their shape where noted.
"""

from __future__ import annotations

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
from .fields import Attributes, code, text

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


def _attachments(value: Any, attrs: Attributes, settings: Settings) -> None:
    attachment_attributes(value, attrs)


def _deployment_model(value: Any, attrs: Attributes, settings: Settings) -> None:
    model = text(value)
    if model is not None:
        attrs[sc.REQUEST_MODEL] = model


PARAMETERS: Mapping[str, Recorder] = {
    "thread_id": _thread,
    "run_id": _as(sc.RUN_ID),
    "message_id": _as(sc.MESSAGE_ID),
    "step_id": _as(sc.RUN_STEP_ID),
    "assistant_id": _as(sc.AGENT_ID),
    "model": _deployment_model,
    "name": _as(sc.AGENT_NAME),
    "role": _as(sc.MESSAGE_ROLE, code),
    "content": _content,
    "attachments": _attachments,
    "metadata": metadata_attributes,
    "tools": _tools,
    "tool_outputs": _tool_outputs,
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

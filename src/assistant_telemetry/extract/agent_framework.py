"""Microsoft Agent Framework objects -> attributes: agent name and id, tool name and call id.

Names and ids only: never messages, instructions, descriptions, tool arguments or results.
"""

from __future__ import annotations

from typing import Any

from .. import semconv as sc
from .fields import field, put, text


def agent_attributes(agent: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``agent.run(messages, session=..., ...)``: the agent, its model, the service's conversation."""
    attrs: dict[str, Any] = {}
    put(attrs, sc.AGENT_NAME, text(field(agent, "name")))
    put(attrs, sc.AGENT_ID, text(field(agent, "id")))
    client = field(agent, "client") or field(agent, "chat_client")
    model = field(client, "model") or field(client, "model_id")
    put(attrs, sc.REQUEST_MODEL, text(model))
    put(attrs, sc.CONVERSATION_ID, text(field(kwargs.get("session"), "service_session_id")))
    return attrs


def tool_attributes(tool: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``FunctionTool.invoke(arguments=..., tool_call_id=...)``."""
    attrs: dict[str, Any] = {sc.TOOL_TYPE: sc.TOOL_TYPE_FUNCTION}
    put(attrs, sc.TOOL_NAME, text(field(tool, "name")))
    put(attrs, sc.TOOL_CALL_ID, text(kwargs.get("tool_call_id")))
    return attrs

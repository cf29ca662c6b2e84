"""OpenAI Agents SDK objects -> attributes: agent and tool names, ids, handoffs, guardrail outcomes.

Reads names the developer gave (agent, tool, guardrail) and ids the model or service made (call id,
conversation, previous response); never inputs, instructions, tool arguments, outputs or a
guardrail's ``output_info``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .. import semconv as sc
from .fields import field, items, put, text


def run_attributes(agent: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """``Runner.run(starting_agent, input, **kwargs)``: the agent, its model, the conversation."""
    attrs: dict[str, Any] = {}
    put(attrs, sc.AGENT_NAME, text(field(agent, "name")))
    model = field(agent, "model")
    put(attrs, sc.REQUEST_MODEL, text(model) if isinstance(model, str) else text(field(model, "model")))
    put(attrs, sc.CONVERSATION_ID, text(kwargs.get("conversation_id")))
    put(attrs, sc.RESPONSE_PREVIOUS_ID, text(kwargs.get("previous_response_id")))
    return attrs


def tool_attributes(tool: Any, tool_call: Any) -> dict[str, Any]:
    """A function tool about to run for the model's call (``ResponseFunctionToolCall``)."""
    attrs: dict[str, Any] = {sc.TOOL_TYPE: sc.TOOL_TYPE_FUNCTION}
    put(attrs, sc.TOOL_NAME, text(field(tool, "name")) or text(field(tool_call, "name")))
    put(attrs, sc.TOOL_CALL_ID, text(field(tool_call, "call_id")))
    return attrs


def _name(agent: Any) -> str | None:
    return text(field(agent, "name"))


def handoffs(run: Any) -> Iterator[dict[str, Any]]:
    """Each ``HandoffOutputItem`` of a result (or of an error's ``run_data``): who handed to whom."""
    for item in items(field(run, "new_items")):
        if type(item).__name__ == "HandoffOutputItem":
            event: dict[str, Any] = {}
            put(event, sc.HANDOFF_FROM_AGENT, _name(field(item, "source_agent")))
            put(event, sc.HANDOFF_TO_AGENT, _name(field(item, "target_agent")))
            yield event


_GUARDRAIL_LISTS = (
    ("input_guardrail_results", "input"),
    ("output_guardrail_results", "output"),
    ("tool_input_guardrail_results", "tool_input"),
    ("tool_output_guardrail_results", "tool_output"),
)


def guardrail_outcome(result: Any, kind: str) -> dict[str, Any]:
    """One guardrail result: name and whether it tripped (agent guardrails: ``tripwire_triggered``;
    tool guardrails: a behavior other than ``allow``)."""
    guardrail = field(result, "guardrail")
    get_name = getattr(guardrail, "get_name", None)
    name = text(get_name()) if callable(get_name) else text(field(guardrail, "name"))
    output = field(result, "output")
    tripped = field(output, "tripwire_triggered")
    if tripped is None:
        behavior = text(field(field(output, "behavior"), "type"))
        tripped = behavior is not None and behavior != "allow"
    event: dict[str, Any] = {sc.GUARDRAIL_KIND: kind, sc.GUARDRAIL_TRIPPED: bool(tripped)}
    put(event, sc.GUARDRAIL_NAME, name)
    return event


def guardrails(run: Any) -> Iterator[dict[str, Any]]:
    for attribute, kind in _GUARDRAIL_LISTS:
        for result in items(field(run, attribute)):
            yield guardrail_outcome(result, kind)


_TRIPWIRES = {
    "InputGuardrailTripwireTriggered": "input",
    "OutputGuardrailTripwireTriggered": "output",
    "ToolInputGuardrailTripwireTriggered": "tool_input",
    "ToolOutputGuardrailTripwireTriggered": "tool_output",
}


def tripwire(error: BaseException) -> dict[str, Any] | None:
    """The guardrail a ``...TripwireTriggered`` exception names (agent and tool guardrails alike)."""
    kind = _TRIPWIRES.get(type(error).__name__)
    if kind is None:
        return None
    result = getattr(error, "guardrail_result", None) or error  # tool tripwires carry guardrail, output
    return guardrail_outcome(result, kind)


def final_agent(run: Any) -> str | None:
    try:
        agent = getattr(run, "last_agent", None)
    except Exception:  # a released weak reference: the SDK raises instead of returning None
        return None
    return _name(agent)  # outside the try: our own failures reach the guard

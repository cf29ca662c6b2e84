"""Other GenAI instrumentations next to ours, content capture on, and a conversation full of canaries.

Shared by tests/test_content_guard.py (in-process, its own providers) and
tests/apps/guarded_conversation.py (a real app process using ``instrument()``).
OpenInference and OpenLLMetry (traceloop's ``opentelemetry-instrumentation-openai``) both
record prompts and answers by default; OpenLLMetry can put them on spans (its default) or
emit them as GenAI events through the logs pipeline. Azure's ``AIAgentsInstrumentor``
(azure-ai-agents) records them as span events when content recording is on; it traces
through azure-core, that is through the *global* tracer provider only. ``semconv_events``
emits GenAI events the way OpenTelemetry's contrib instrumentations do (their openai-v2
package imports ``httpx`` at module level and cannot load beside openai 3.x, which uses
``httpx2``).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from typing import Any

from opentelemetry._logs import LogRecord, SeverityNumber

from assistant_telemetry.simulator.chat import CHAT_REPLY

CANARIES = {
    "system": "CANARY-SYSTEM-3d1e",
    "user": "CANARY-USER-8b2c",
    "tool_arguments": "CANARY-TOOL-ARGS-a41f",
    "tool_result": "CANARY-TOOL-RESULT-77e0",
    "tool_definition": "CANARY-TOOL-DEF-0c9b",
    "echo": "CANARY-ECHO-51aa",  # the simulator quotes it back in an error message
    "event": "CANARY-EVENT-6d2f",  # in GenAI events emitted through the logs API
    "output": CHAT_REPLY,  # what the simulator answers: content coming back
    "agent_instructions": "CANARY-AGENT-INSTRUCTIONS-19fa",  # through azure-ai-agents
    "agent_description": "CANARY-AGENT-DESCRIPTION-2b70",
    "agent_message": "CANARY-AGENT-MESSAGE-c3d8",
    "agent_tool_output": "CANARY-AGENT-TOOL-OUTPUT-e5a4",
}
ORDINARY = "ordinary-telemetry-4f2a"  # non-content the guard must let through


def chat_request() -> dict[str, Any]:
    """A chat call with a canary in every content field: instructions, turns, tool call, result, tool."""
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": CANARIES["tool_arguments"]})},
    }
    weather = {
        "name": "get_weather",
        "description": CANARIES["tool_definition"],
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
    return {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": CANARIES["system"]},
            {"role": "user", "content": CANARIES["user"]},
            {"role": "assistant", "content": None, "tool_calls": [tool_call]},
            {"role": "tool", "tool_call_id": "call_1", "content": CANARIES["tool_result"]},
        ],
        "tools": [{"type": "function", "function": weather}],
    }


def assistants_flow(client: Any, content: Any) -> None:
    """The Assistants calls OpenLLMetry wraps (it breaks ``runs.create(stream=True)``, so no streams)."""
    beta = client.beta
    assistant = beta.assistants.create(model="gpt-4o", name="weather", instructions=content.instructions)
    thread = beta.threads.create()
    beta.threads.messages.create(thread_id=thread.id, role="user", content=content.message)
    beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, instructions=content.instructions
    )
    beta.threads.messages.list(thread_id=thread.id)


@contextlib.contextmanager
def peers(
    tracer_provider: Any = None,
    logger_provider: Any = None,
    meter_provider: Any = None,
    *,
    events: bool = False,
) -> Iterator[None]:
    """OpenInference and OpenLLMetry instrumenting openai; OpenLLMetry emits GenAI events if ``events``."""
    from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor as OpenLLMetry

    saved = os.environ.get("TRACELOOP_TRACE_CONTENT")
    os.environ["TRACELOOP_TRACE_CONTENT"] = "true"  # its default, made explicit
    providers = {"tracer_provider": tracer_provider, "meter_provider": meter_provider}
    providers = {key: value for key, value in providers.items() if value is not None}
    openinference, openllmetry = OpenInference(), OpenLLMetry(use_attributes=not events)
    openinference.instrument(**providers)
    if logger_provider is not None:
        providers["logger_provider"] = logger_provider
    openllmetry.instrument(**providers)
    try:
        yield
    finally:
        openllmetry.uninstrument()
        openinference.uninstrument()
        _unwrap_openllmetry_leftovers()
        if saved is None:
            os.environ.pop("TRACELOOP_TRACE_CONTENT", None)
        else:
            os.environ["TRACELOOP_TRACE_CONTENT"] = saved


def _unwrap_openllmetry_leftovers() -> None:
    """Undo what OpenLLMetry 0.62's ``uninstrument()`` leaves wrapped.

    It calls ``unwrap("openai.resources.chat.completions", "Completions.create")``, which
    opentelemetry-instrumentation 0.66's ``unwrap`` reads as module ``openai.resources.chat``,
    class ``completions``, so nothing is unwrapped; instrumenting again would then wrap twice.
    """
    import sys

    for module_name, module in list(sys.modules.items()):
        if module is None or not module_name.startswith("openai"):
            continue
        for owner in [
            v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module_name
        ]:
            for name, attribute in list(vars(owner).items()):
                while getattr(getattr(attribute, "_self_wrapper", None), "__module__", "").startswith(
                    "opentelemetry.instrumentation.openai"
                ):
                    attribute = attribute.__wrapped__
                    setattr(owner, name, attribute)


def semconv_events(logger_provider: Any) -> None:
    """GenAI events as log records, shaped as the contrib instrumentations emit them."""
    logger = logger_provider.get_logger("genai.events.example")
    messages = [{"role": "user", "parts": [{"type": "text", "content": CANARIES["event"]}]}]
    logger.emit(
        LogRecord(
            event_name="gen_ai.client.inference.operation.details",
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.input.messages": json.dumps(messages),
                "gen_ai.system_instructions": json.dumps([{"type": "text", "content": CANARIES["event"]}]),
            },
        )
    )
    logger.emit(  # the older shape: content in the body, as openai-v2 up to 2.1 emitted it
        LogRecord(
            event_name="gen_ai.user.message",
            attributes={"gen_ai.system": "openai"},
            body={"content": CANARIES["event"]},
        )
    )
    app_logger = logger_provider.get_logger("shop.app")  # an ordinary log line: not GenAI, kept as is
    app_logger.emit(LogRecord(body=f"order {ORDINARY} shipped", severity_number=SeverityNumber.INFO))


@contextlib.contextmanager
def azure_agents_tracing() -> Iterator[None]:
    """Azure's AIAgentsInstrumentor with content recording on, owning the agents calls (spans go to
    the global provider).

    The Azure Monitor distro turns it on (content off) inside ``instrument()``, before we wrap the
    SDK: ours is then outer and steps over it (coexistence.py), so it would trace nothing. Turned
    off and on again it is outermost, with its content; its uninstrument puts back the SDK's own
    methods, ours included (docs/attributes.md), so the agents calls below are its alone.
    """
    from azure.ai.agents.telemetry import AIAgentsInstrumentor
    from azure.core.settings import settings

    settings.tracing_implementation = "opentelemetry"
    instrumentor = AIAgentsInstrumentor()
    if instrumentor.is_instrumented():
        instrumentor.uninstrument()
    instrumentor.instrument(enable_content_recording=True)
    try:
        yield
    finally:
        instrumentor.uninstrument()


def azure_agents_flow(sim: Any) -> None:
    """An agent with instructions, a message, a run that calls a function tool, the reply listed."""
    from azure.ai.agents.models import FunctionTool

    from azure_clients import agents_client, tool_functions

    client = agents_client(sim)
    functions = tool_functions(CANARIES["agent_tool_output"])
    client.enable_auto_function_calls(functions)
    agent = client.create_agent(
        model="gpt-4o",
        name="weather",
        instructions=CANARIES["agent_instructions"],
        description=CANARIES["agent_description"],
        tools=FunctionTool(functions).definitions,
    )
    thread = client.threads.create()
    client.messages.create(thread_id=thread.id, role="user", content=CANARIES["agent_message"])
    sim.next_run_outcome("requires_action", "completed")
    client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id)
    list(client.messages.list(thread_id=thread.id))

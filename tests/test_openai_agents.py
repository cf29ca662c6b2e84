"""OpenAI Agents SDK (openai-agents) on the loopback simulator: one trace per run.

``Runner.run``, ``run_sync`` and ``run_streamed`` each give an ``invoke_agent {agent}`` span (INTERNAL)
parenting the model calls' CLIENT spans and an ``execute_tool {tool}`` span per function tool call
(name, the model's call id, type); handoffs and guardrail outcomes are events naming agents and
guardrails. Canary strings in every content field (instructions, input, tool output, guardrail info)
never reach an exported span. The SDK's own tracing is left as it was, on or off.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrailTripwireTriggered,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    function_tool,
    input_guardrail,
    output_guardrail,
)
from agents.tracing import TracingProcessor, get_trace_provider, set_trace_processors
from opentelemetry.trace import SpanKind

from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

CANARY = "CANARY-a9e1"
TIMEOUT_S = 60
NO_SDK_TRACING = RunConfig(tracing_disabled=True)


@function_tool
def get_weather(city: str) -> str:
    """Tell the weather of a city."""
    return f"{CANARY} tool output: sunny in {city}"


def _model(async_client: Any) -> OpenAIResponsesModel:
    return OpenAIResponsesModel(model="gpt-4o", openai_client=async_client)


def _agent(async_client: Any, **kw: Any) -> Agent:
    kw.setdefault("tools", [get_weather])
    return Agent(name="helper", instructions=f"{CANARY} instructions", model=_model(async_client), **kw)


def _attrs(span: Any) -> dict[str, Any]:
    return dict(span.attributes or {})


def _by_op(telemetry: Any, operation: str) -> list[Any]:
    return [s for s in telemetry.spans if _attrs(s).get(sc.OPERATION_NAME) == operation]


def _no_canary(telemetry: Any) -> None:
    exported = [
        [s.name, _attrs(s), [[e.name, dict(e.attributes or {})] for e in s.events]] for s in telemetry.spans
    ]
    assert CANARY not in json.dumps(exported, default=str)


def _tool_call_ids(result: Any) -> list[str]:
    """The call ids the simulated model made, as the SDK's result holds them."""
    return [item.raw_item.call_id for item in result.new_items if type(item).__name__ == "ToolCallItem"]


def _assert_one_run_trace(telemetry: Any, result: Any, model_calls: int = 2) -> Any:
    (run,) = _by_op(telemetry, sc.OP_INVOKE_AGENT)
    chats = _by_op(telemetry, "chat")
    (tool,) = _by_op(telemetry, sc.OP_EXECUTE_TOOL)
    assert run.name == "invoke_agent helper" and run.kind is SpanKind.INTERNAL and run.parent is None
    assert _attrs(run)[sc.AGENT_NAME] == "helper" and _attrs(run)[sc.REQUEST_MODEL] == "gpt-4o"
    assert len(chats) == model_calls
    trace_id = run.context.trace_id
    for span in [*chats, tool]:  # one trace, every span directly under the run
        assert span.context.trace_id == trace_id and span.parent.span_id == run.context.span_id
    for chat in chats:  # the model calls are complete spans inside the run
        assert _attrs(chat)[sc.RESPONSE_ID].startswith("resp_") and _attrs(chat)[sc.USAGE_OUTPUT_TOKENS] > 0
        assert run.start_time <= chat.start_time and chat.end_time <= run.end_time
    assert tool.name == "execute_tool get_weather" and tool.kind is SpanKind.INTERNAL
    attrs = _attrs(tool)
    assert attrs[sc.TOOL_NAME] == "get_weather" and attrs[sc.TOOL_TYPE] == "function"
    assert [attrs[sc.TOOL_CALL_ID]] == _tool_call_ids(result)
    assert chats[0].end_time <= tool.start_time and tool.end_time <= max(c.start_time for c in chats)
    # One client duration point per model call; the run and the tool each one of semconv's own,
    # their span's duration (gen_ai.invoke_agent.duration, gen_ai.execute_tool.duration).
    durations = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert sum(p.count for p in durations) == model_calls
    assert {p.attributes[sc.OPERATION_NAME] for p in durations} == {"chat"}
    for span, metric, labels in (
        (run, sc.METRIC_INVOKE_AGENT_DURATION, {sc.AGENT_NAME: "helper", sc.REQUEST_MODEL: "gpt-4o"}),
        (tool, sc.METRIC_EXECUTE_TOOL_DURATION, {sc.TOOL_NAME: "get_weather", sc.TOOL_TYPE: "function"}),
    ):
        (point,) = telemetry.metric_points(metric)
        assert point.count == 1 and dict(point.attributes).items() >= labels.items()
        assert not any(str(v).startswith(("call_", "resp_")) for v in point.attributes.values())
        assert abs(point.sum - (span.end_time - span.start_time) / 1e9) < 0.05
    _no_canary(telemetry)
    return run


@pytest.mark.timeout(TIMEOUT_S)
def test_run_is_one_trace_with_the_tool_call(telemetry: Any, sim: Simulator, async_client: Any) -> None:
    sim.next_run_outcome("requires_action")  # the model calls get_weather, then answers
    result = asyncio.run(Runner.run(_agent(async_client), f"{CANARY} input", run_config=NO_SDK_TRACING))
    assert "simulated model" in result.final_output
    run = _assert_one_run_trace(telemetry, result)
    assert _attrs(run)[sc.AGENT_FINAL_NAME] == "helper" and _attrs(run)[sc.AGENT_HANDOFFS] == 0


@pytest.mark.timeout(TIMEOUT_S)
def test_run_sync_is_one_trace(telemetry: Any, sim: Simulator, async_client: Any) -> None:
    sim.next_run_outcome("requires_action")
    result = Runner.run_sync(_agent(async_client), f"{CANARY} input", run_config=NO_SDK_TRACING)
    _assert_one_run_trace(telemetry, result)


@pytest.mark.timeout(TIMEOUT_S)
def test_run_streamed_is_one_trace_ending_with_the_run(
    telemetry: Any, sim: Simulator, async_client: Any
) -> None:
    sim.next_run_outcome("requires_action")

    async def consume() -> Any:
        streamed = Runner.run_streamed(_agent(async_client), f"{CANARY} input", run_config=NO_SDK_TRACING)
        events = [event async for event in streamed.stream_events()]
        assert streamed.is_complete and events
        await asyncio.sleep(0)  # the loop task's done callbacks run on the next turn
        return streamed

    run = _assert_one_run_trace(telemetry, asyncio.run(consume()))
    for chat in _by_op(telemetry, "chat"):  # streamed model calls: ended after their last event
        assert (
            _attrs(chat)[sc.STREAM_OUTCOME] == "finished" and _attrs(chat)[sc.EXECUTION_STATUS] == "completed"
        )
    assert _attrs(run)[sc.AGENT_FINAL_NAME] == "helper"


@pytest.mark.timeout(TIMEOUT_S)
def test_handoff_is_an_event_naming_both_agents(telemetry: Any, sim: Simulator, async_client: Any) -> None:
    specialist = Agent(name="specialist", instructions=f"{CANARY} specialist", model=_model(async_client))
    triage = Agent(
        name="triage", instructions=f"{CANARY} triage", model=_model(async_client), handoffs=[specialist]
    )
    sim.next_run_outcome("requires_action")  # the only function tool is the handoff: transfer_to_specialist
    result = asyncio.run(Runner.run(triage, f"{CANARY} input", run_config=NO_SDK_TRACING))
    assert result.last_agent.name == "specialist"
    (run,) = _by_op(telemetry, sc.OP_INVOKE_AGENT)
    assert run.name == "invoke_agent triage"
    assert _attrs(run)[sc.AGENT_HANDOFFS] == 1 and _attrs(run)[sc.AGENT_FINAL_NAME] == "specialist"
    (handoff,) = [e for e in run.events if e.name == sc.EVENT_AGENT_HANDOFF]
    assert dict(handoff.attributes) == {sc.HANDOFF_FROM_AGENT: "triage", sc.HANDOFF_TO_AGENT: "specialist"}
    assert len(_by_op(telemetry, "chat")) == 2 and not _by_op(telemetry, sc.OP_EXECUTE_TOOL)
    _no_canary(telemetry)


@input_guardrail
def no_secrets(context: Any, agent: Any, input: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=f"{CANARY} info", tripwire_triggered="secret" in str(input))


@output_guardrail
def polite(context: Any, agent: Any, output: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=f"{CANARY} info", tripwire_triggered=False)


@pytest.mark.timeout(TIMEOUT_S)
def test_guardrail_outcomes_without_content(telemetry: Any, sim: Simulator, async_client: Any) -> None:
    agent = _agent(async_client, tools=[], input_guardrails=[no_secrets], output_guardrails=[polite])
    asyncio.run(Runner.run(agent, f"{CANARY} hello", run_config=NO_SDK_TRACING))
    with pytest.raises(InputGuardrailTripwireTriggered):
        asyncio.run(Runner.run(agent, f"{CANARY} a secret", run_config=NO_SDK_TRACING))
    passed, tripped = sorted(_by_op(telemetry, sc.OP_INVOKE_AGENT), key=lambda s: s.start_time)
    outcomes = [dict(e.attributes) for e in passed.events if e.name == sc.EVENT_GUARDRAIL]
    assert sorted(outcomes, key=lambda o: o[sc.GUARDRAIL_KIND]) == [
        {sc.GUARDRAIL_KIND: "input", sc.GUARDRAIL_NAME: "no_secrets", sc.GUARDRAIL_TRIPPED: False},
        {sc.GUARDRAIL_KIND: "output", sc.GUARDRAIL_NAME: "polite", sc.GUARDRAIL_TRIPPED: False},
    ]
    assert _attrs(passed)[sc.AGENT_GUARDRAILS_TRIPPED] == 0 and passed.status.is_ok
    assert [dict(e.attributes) for e in tripped.events if e.name == sc.EVENT_GUARDRAIL] == [
        {sc.GUARDRAIL_KIND: "input", sc.GUARDRAIL_NAME: "no_secrets", sc.GUARDRAIL_TRIPPED: True}
    ]
    assert _attrs(tripped)[sc.AGENT_GUARDRAILS_TRIPPED] == 1
    assert _attrs(tripped)[sc.ERROR_TYPE] == "InputGuardrailTripwireTriggered" and not tripped.status.is_ok
    _no_canary(telemetry)


class _Collector(TracingProcessor):
    """The SDK's own tracing, as an app's processor sees it."""

    def __init__(self) -> None:
        self.kinds: list[str] = []

    def on_trace_start(self, trace: Any) -> None:
        self.kinds.append("trace")

    def on_trace_end(self, trace: Any) -> None:
        pass

    def on_span_start(self, span: Any) -> None:
        pass

    def on_span_end(self, span: Any) -> None:
        self.kinds.append(span.span_data.type)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass


@pytest.mark.timeout(TIMEOUT_S)
def test_sdk_tracing_on_is_left_alone(telemetry: Any, sim: Simulator, async_client: Any) -> None:
    """With the SDK's tracing on, its processors (the app's here: nothing leaves 127.0.0.1) still get the
    run, and ours is still one trace: instrumenting registers nothing with the SDK's trace provider."""
    provider = get_trace_provider()
    before = provider._multi_processor._processors  # type: ignore[attr-defined]
    assert not any(type(p).__module__.startswith("assistant_telemetry") for p in before)
    collector = _Collector()
    set_trace_processors([collector])
    try:
        sim.next_run_outcome("requires_action")
        result = asyncio.run(Runner.run(_agent(async_client), f"{CANARY} input"))
        assert provider._multi_processor._processors == (collector,)  # type: ignore[attr-defined]
    finally:
        set_trace_processors(list(before))
    assert (
        collector.kinds.count("trace") == 1 and "function" in collector.kinds and "agent" in collector.kinds
    )
    _assert_one_run_trace(telemetry, result)

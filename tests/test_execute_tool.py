"""execute_tool spans and invoke_agent executions on the real SDKs: openai Assistants and Responses,
azure-ai-agents, and Foundry agents v2 (azure-ai-projects), against the simulator.

A tool call is one span, a child of its execution's span, with its name, call id and type, timed
from the run waiting to its outputs being sent (the app ran it) or by the run step's own timestamps
(learned afterwards); never its arguments or output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator
from assistant_telemetry.simulator.runs import TOOL_CALLS

from azure_clients import AllowHttpBearer, StaticToken, tool_functions
from conftest import Telemetry

CANARY = "CANARY-TOOL-9d2e"
FUNCTIONS = {name for name, _ in TOOL_CALLS}


@pytest.fixture(params=[sc.MODE_DEFAULT, sc.MODE_LATEST])
def latest(request: pytest.FixtureRequest, strict_guard: None) -> Iterator[Telemetry]:
    """Instrumented in the default and the latest mode: invoke_agent / execute_tool are every mode's."""
    telemetry = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        semconv=request.param,
    )
    telemetry.mode = request.param  # type: ignore[attr-defined]
    yield telemetry
    assistant_telemetry.uninstrument()


def tools(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.spans if s.attributes.get(sc.OPERATION_NAME) == sc.OP_EXECUTE_TOOL]


def exported(telemetry: Telemetry) -> str:
    parts = [
        [s.name, dict(s.attributes or {}), [dict(e.attributes or {}) for e in s.events]]
        for s in telemetry.spans
    ]
    return json.dumps(parts, default=str)


def tool_loop(client: Any, sim: Simulator) -> tuple[Any, Any]:
    beta = client.beta
    assistant = beta.assistants.create(model="gpt-4o", name="weather-helper")
    thread = beta.threads.create()
    beta.threads.messages.create(thread.id, role="user", content="weather?")
    sim.next_run_outcome("requires_action", "completed")
    waiting = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    calls = waiting.required_action.submit_tool_outputs.tool_calls
    outputs = [{"tool_call_id": c.id, "output": CANARY} for c in calls]
    done = beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=waiting.id, thread_id=thread.id, tool_outputs=outputs
    )
    return done, calls


@pytest.mark.timeout(120)
def test_assistants_tool_loop_is_invoke_agent_with_execute_tool_children(
    latest: Telemetry, sim: Simulator, client: Any
) -> None:
    done, calls = tool_loop(client, sim)
    (invoked,) = [s for s in latest.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT]
    assert invoked.name == "invoke_agent weather-helper" and invoked.kind.name == "CLIENT"
    assert invoked.attributes[sc.RUN_ID] == done.id and invoked.attributes[sc.RUN_STATUS] == "requires_action"
    resumed = next(s for s in latest.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_SUBMIT_TOOL_OUTPUTS)
    assert resumed.attributes[sc.RUN_STATUS] == "completed" and resumed.attributes[sc.USAGE_INPUT_TOKENS] > 0
    spans = tools(latest)
    assert {s.attributes[sc.TOOL_CALL_ID] for s in spans} == {c.id for c in calls}
    for span in spans:
        attrs = span.attributes
        assert span.name == f"execute_tool {attrs[sc.TOOL_NAME]}" and attrs[sc.TOOL_NAME] in FUNCTIONS
        assert span.kind.name == "INTERNAL" and span.parent.span_id == invoked.context.span_id
        assert (attrs[sc.TOOL_TYPE], attrs[sc.TOOL_TIMING]) == ("function", "client")
        assert attrs[sc.RUN_ID] == done.id and attrs[sc.AGENT_NAME] == "weather-helper"
        # From the run seen waiting (inside the helper's span) to the outputs sent (inside the submit's).
        assert invoked.start_time <= span.start_time <= invoked.end_time
        assert resumed.start_time <= span.end_time <= resumed.end_time
    # gen_ai.execute_tool.duration: one point per tool span, its duration, by tool (never call ids).
    points = {p.attributes[sc.TOOL_NAME]: p for p in latest.metric_points(sc.METRIC_EXECUTE_TOOL_DURATION)}
    assert set(points) == {s.attributes[sc.TOOL_NAME] for s in spans} and len(points) == len(spans)
    for span in spans:
        point = points[span.attributes[sc.TOOL_NAME]]
        assert point.count == 1 and point.attributes[sc.AGENT_NAME] == "weather-helper"
        assert point.sum == pytest.approx((span.end_time - span.start_time) / 1e9)
        assert sc.TOOL_CALL_ID not in point.attributes
    assert not latest.metric_points(sc.METRIC_INVOKE_AGENT_DURATION)  # a service-side run: a client operation
    assert CANARY not in exported(latest)


def polled_by_hand(client: Any, sim: Simulator, finish: bool = True) -> tuple[Any, Any]:
    """The app creates the run, polls it with retrieve, submits the outputs with the plain call."""
    runs = client.beta.threads.runs
    assistant = client.beta.assistants.create(model="gpt-4o", name="weather-helper")
    thread = client.beta.threads.create()
    sim.next_run_outcome("requires_action", "completed")
    run = runs.create(thread.id, assistant_id=assistant.id)
    while run.status != "requires_action":
        run = runs.retrieve(run.id, thread_id=thread.id)
    calls = run.required_action.submit_tool_outputs.tool_calls
    outputs = [{"tool_call_id": c.id, "output": CANARY} for c in calls]
    run = runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=outputs)
    while finish and run.status != "completed":
        run = runs.retrieve(run.id, thread_id=thread.id)
    return run, calls


@pytest.mark.timeout(120)
def test_a_run_polled_by_hand_has_its_tools_under_its_invoke_agent(
    latest: Telemetry, sim: Simulator, client: Any
) -> None:
    """The execution's span is the retrieve that sees it finish: the tool calls the app ran before
    wait for it, keeping the times they ran at (the Agents view's tool panel joins on the parent)."""
    done, calls = polled_by_hand(client, sim)
    (invoked,) = [s for s in latest.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT]
    assert invoked.attributes[sc.RUN_ID] == done.id and invoked.attributes[sc.RUN_STATUS] == "completed"
    submitted = next(s for s in latest.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_SUBMIT_TOOL_OUTPUTS)
    spans = tools(latest)
    assert {s.attributes[sc.TOOL_CALL_ID] for s in spans} == {c.id for c in calls}
    for span in spans:
        assert span.parent.span_id == invoked.context.span_id
        assert span.context.trace_id == invoked.context.trace_id
        assert (
            span.attributes[sc.TOOL_TIMING] == "client" and span.attributes[sc.AGENT_NAME] == "weather-helper"
        )
        assert submitted.start_time <= span.end_time <= submitted.end_time  # the outputs sent
        assert span.end_time < invoked.start_time  # they ran before the span that saw the run finish
    assert CANARY not in exported(latest)


@pytest.mark.timeout(120)
def test_held_tool_calls_are_not_lost_when_the_run_is_never_read_finished(
    sim: Simulator, client: Any, strict_guard: None
) -> None:
    """The app stops reading after the submit: uninstrument() emits the calls under the span they
    would have had without waiting (the run's first span)."""
    telemetry = Telemetry()
    assistant_telemetry.instrument(tracer_provider=telemetry.tracer_provider, semconv=sc.MODE_LATEST)
    try:
        _, calls = polled_by_hand(client, sim, finish=False)
        assert not tools(telemetry)  # held for the invoke_agent span still to come
    finally:
        assistant_telemetry.uninstrument()
    spans = tools(telemetry)
    assert {s.attributes[sc.TOOL_CALL_ID] for s in spans} == {c.id for c in calls}
    started = next(s for s in telemetry.spans if s.attributes[sc.OPERATION_NAME] == "start_thread_run")
    assert {s.parent.span_id for s in spans} == {started.context.span_id}  # the run's first span


@pytest.mark.timeout(120)
def test_steps_learned_afterwards_have_the_steps_times(
    sim: Simulator, client: Any, strict_guard: None
) -> None:
    """Another process (or a restarted one) lists a finished run's steps: the service-reported tool
    calls become spans with the step's own created_at / completed_at."""
    first = Telemetry()
    assistant_telemetry.instrument(tracer_provider=first.tracer_provider, meter_provider=first.meter_provider)
    try:
        done, calls = tool_loop(client, sim)
    finally:
        assistant_telemetry.uninstrument()
    later = Telemetry()
    assistant_telemetry.instrument(tracer_provider=later.tracer_provider, meter_provider=later.meter_provider)
    try:
        steps = list(client.beta.threads.runs.steps.list(done.id, thread_id=done.thread_id))
    finally:
        assistant_telemetry.uninstrument()
    step = next(s for s in steps if s.type == "tool_calls")
    spans = tools(later)
    assert {s.attributes[sc.TOOL_CALL_ID] for s in spans} == {c.id for c in calls}
    listed = later.one("list_run_steps")
    for span in spans:
        assert span.name == "execute_tool " + span.attributes[sc.TOOL_NAME]  # every mode: semconv's name
        assert span.attributes[sc.TOOL_TIMING] == "step_timestamps"
        assert span.attributes[sc.RUN_STEP_ID] == step.id and span.attributes[sc.TOOL_STATUS] == "completed"
        assert (span.start_time, span.end_time) == (step.created_at * 10**9, step.completed_at * 10**9)
        assert span.parent.span_id == listed.context.span_id  # the execution's own span is not known here


@pytest.mark.timeout(120)
def test_responses_function_calls(latest: Telemetry, sim: Simulator, client: Any) -> None:
    sim.next_run_outcome("requires_action")
    asked = client.responses.create(model="gpt-4o", input="weather?")
    outputs = [
        {"type": "function_call_output", "call_id": item.call_id, "output": CANARY}
        for item in asked.output
        if item.type == "function_call"
    ]
    assert outputs
    client.responses.create(model="gpt-4o", input=outputs, previous_response_id=asked.id)
    first, answer = [s for s in latest.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_CHAT]
    spans = tools(latest)
    assert {s.attributes[sc.TOOL_CALL_ID] for s in spans} == {o["call_id"] for o in outputs}
    for span in spans:
        assert span.parent.span_id == first.context.span_id
        assert span.attributes[sc.RESPONSE_ID] == asked.id and span.attributes[sc.TOOL_TIMING] == "client"
        assert first.start_time <= span.start_time <= first.end_time  # the call seen in its reply
        assert answer.start_time <= span.end_time <= answer.end_time  # its output sent
    assert CANARY not in exported(latest)


@pytest.mark.timeout(120)
def test_azure_ai_agents_auto_function_calls(latest: Telemetry, sim: Simulator) -> None:
    from azure.ai.agents import AgentsClient

    with AgentsClient(
        sim.agents_endpoint(), StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    ) as client:
        client.enable_auto_function_calls(tool_functions(CANARY))
        agent = client.create_agent(model="gpt-4o", name="helper")
        thread = client.threads.create()
        client.messages.create(thread.id, role="user", content="weather?")
        sim.next_run_outcome("requires_action", "completed")
        run = client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id, polling_interval=0)
    invoked = latest.one("invoke_agent helper")
    assert invoked.attributes[sc.RUN_ID] == run.id and invoked.attributes[sc.USAGE_INPUT_TOKENS] > 0
    # The Agent Service's provider: our value in the default mode, the registry's in the latest.
    provider = (
        sc.PROVIDER_AZURE_AI_AGENTS if latest.mode == sc.MODE_DEFAULT else sc.PROVIDER_MICROSOFT_FOUNDRY
    )  # type: ignore[attr-defined]
    assert invoked.attributes[sc.PROVIDER_NAME] == provider
    spans = tools(latest)
    assert {s.attributes[sc.TOOL_NAME] for s in spans} == FUNCTIONS
    for span in spans:
        assert span.parent.span_id == invoked.context.span_id
        assert span.attributes[sc.PROVIDER_NAME] == provider
        assert invoked.start_time <= span.start_time <= span.end_time <= invoked.end_time
    assert CANARY not in exported(latest)


@pytest.mark.timeout(120)
def test_foundry_agent_response_is_invoke_agent(latest: Telemetry, sim: Simulator) -> None:
    from azure.ai.projects import AIProjectClient
    from azure.ai.projects.models import PromptAgentDefinition

    project = AIProjectClient(
        sim.agents_endpoint("demo-project"),
        StaticToken(),
        per_call_policies=[AllowHttpBearer()],
        retry_total=0,
    )
    with project:
        project.agents.create_version("tool-helper", definition=PromptAgentDefinition(model="gpt-4o"))
        openai = project.get_openai_client()
        conversation = openai.conversations.create()
        reference = {"agent_reference": {"name": "tool-helper", "version": "1", "type": "agent_reference"}}
        response = openai.responses.create(input="hi", conversation=conversation.id, extra_body=reference)
        project.agents.delete("tool-helper")  # the session's simulator is shared: leave no agent behind
    invoked = latest.one("invoke_agent tool-helper")
    attrs = invoked.attributes
    assert invoked.kind.name == "CLIENT" and attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT
    assert (attrs[sc.AGENT_NAME], attrs[sc.AGENT_VERSION], attrs[sc.AGENT_ID]) == (
        "tool-helper",
        "1",
        "tool-helper:1",
    )
    assert attrs[sc.CONVERSATION_ID] == conversation.id and attrs[sc.RESPONSE_ID] == response.id
    assert (
        attrs[sc.PROVIDER_NAME] == sc.PROVIDER_MICROSOFT_FOUNDRY
        and attrs[sc.RESPONSE_STATUS if latest.mode == sc.MODE_LATEST else sc.EXECUTION_STATUS] == "completed"  # type: ignore[attr-defined]
    )
    assert attrs[sc.USAGE_INPUT_TOKENS] == response.usage.input_tokens

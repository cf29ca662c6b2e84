"""The semconv switch: today's names, the latest development names, or both, span by span.

Each mode runs the same scenario on the real SDKs (openai Assistants and Responses, azure-ai-agents)
against the simulator. Every mode has the released agent names: runs are ``invoke_agent {agent}``,
tool calls ``execute_tool {tool}``. The default keeps today's attribute, other operation and metric
names; the latest (``gen_ai_latest_experimental``) uses semantic-conventions-genai's; ``/dup`` emits
both names of every renamed attribute and both token metrics.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

from conftest import Telemetry

OLD_ONLY = (sc.EXECUTION_STATUS, sc.RESPONSE_PREVIOUS_ID, sc.STREAM_TIME_TO_FIRST_EVENT)
NEW_ONLY = (sc.RESPONSE_STATUS, sc.REQUEST_PREVIOUS_RESPONSE_ID, sc.RESPONSE_TIME_TO_FIRST_CHUNK)


def instrumented(mode: str | None) -> Telemetry:
    telemetry = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider, semconv=mode
    )
    return telemetry


@pytest.fixture
def modal(request: pytest.FixtureRequest, strict_guard: None) -> Iterator[Telemetry]:
    telemetry = instrumented(request.param)
    telemetry.mode = request.param  # type: ignore[attr-defined]
    yield telemetry
    assistant_telemetry.uninstrument()


def scenario(client: Any, sim: Simulator) -> dict[str, str]:
    """An assistant's run through a poll helper, a bare run polled by the app, a streamed response
    chained to a stored one and read back."""
    beta = client.beta
    assistant = beta.assistants.create(model="gpt-4o", name="weather-helper")
    thread = beta.threads.create()
    beta.threads.messages.create(thread.id, role="user", content="hello")
    polled = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    bare = beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    while bare.status not in ("completed", "failed"):
        bare = beta.threads.runs.retrieve(bare.id, thread_id=thread.id)
    first = client.responses.create(model="gpt-4o", input="hello", background=True)
    while first.status in ("queued", "in_progress"):
        first = client.responses.retrieve(first.id)
    client.responses.retrieve(first.id)  # a read of a finished response: fetch_response, no usage
    streamed = client.responses.create(
        model="gpt-4o", input="again", previous_response_id=first.id, stream=True
    )
    drain_sync(streamed)
    return {"assistant": assistant.id, "polled": polled.id, "bare": bare.id, "first": first.id}


def drain_sync(stream: Any) -> None:
    for _ in stream:
        pass


def attrs_of(telemetry: Telemetry) -> list[dict[str, Any]]:
    return [dict(span.attributes or {}) for span in telemetry.spans]


def metric_names(telemetry: Telemetry) -> set[str]:
    data = telemetry.reader.get_metrics_data()
    return {
        metric.name
        for rm in (data.resource_metrics if data else [])
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }


def emitted_keys(telemetry: Telemetry) -> set[str]:
    keys = {key for attrs in attrs_of(telemetry) for key in attrs}
    for span in telemetry.spans:
        for event in span.events:
            keys.update(event.attributes or {})
    return keys


# --- resolving the mode ---------------------------------------------------------------------------


def test_the_argument_wins_then_the_environment_then_the_default() -> None:
    assert sc.resolve_mode(None, {}) == sc.MODE_DEFAULT
    assert (
        sc.resolve_mode(None, {sc.SEMCONV_OPT_IN_ENV: "http, gen_ai_latest_experimental"}) == sc.MODE_LATEST
    )
    both = {sc.SEMCONV_OPT_IN_ENV: "gen_ai_latest_experimental,gen_ai_latest_experimental/dup"}
    assert sc.resolve_mode(None, both) == sc.MODE_DUP
    assert sc.resolve_mode(None, {sc.SEMCONV_OPT_IN_ENV: "database"}) == sc.MODE_DEFAULT
    assert sc.resolve_mode(sc.MODE_DEFAULT, both) == sc.MODE_DEFAULT
    with pytest.raises(ValueError, match="semconv="):
        sc.resolve_mode("latest")


def test_tables_are_resolved_once_per_mode() -> None:
    default, latest, dup = (sc.Names.for_mode(mode) for mode in sc.MODES)
    attrs = {sc.EXECUTION_STATUS: "completed", sc.PROVIDER_NAME: sc.PROVIDER_AZURE_AI_AGENTS}
    assert default.attributes(attrs) is attrs  # nothing to translate: the very dict
    assert latest.attributes(attrs) == {
        sc.RESPONSE_STATUS: "completed",
        sc.PROVIDER_NAME: sc.PROVIDER_MICROSOFT_FOUNDRY,
    }
    assert dup.attributes(attrs) == {
        sc.EXECUTION_STATUS: "completed",
        sc.RESPONSE_STATUS: "completed",
        sc.PROVIDER_NAME: sc.PROVIDER_MICROSOFT_FOUNDRY,
    }
    assert (default.replaced_metrics, default.inference_metrics) == (True, False)
    assert (latest.replaced_metrics, latest.inference_metrics) == (False, True)
    assert (dup.replaced_metrics, dup.inference_metrics) == (True, True)
    assert latest.span_name(sc.OP_CHAT, {sc.REQUEST_MODEL: "gpt-4o"}) == "chat gpt-4o"
    assert latest.span_name(sc.OP_FETCH_RESPONSE, {sc.RESPONSE_ID: "resp_1"}) == "fetch_response"
    # The released agent names in every mode; fetch_response and {operation} {model} only in the latest.
    for names in (default, latest, dup):
        assert names.agent_operations
        assert names.operation("process_thread_run") == sc.OP_INVOKE_AGENT
        assert names.operation("process_thread_run", sc.OP_SUBMIT_TOOL_OUTPUTS) == sc.OP_SUBMIT_TOOL_OUTPUTS
        assert names.span_name(sc.OP_INVOKE_AGENT, {sc.AGENT_ID: "asst_1"}) == "invoke_agent asst_1"
        assert (
            names.span_name(sc.OP_EXECUTE_TOOL, {sc.TOOL_NAME: "get_weather"}) == "execute_tool get_weather"
        )
    assert default.operation("get_response") == "get_response" and not default.latest
    assert latest.operation("get_response") == dup.operation("get_response") == sc.OP_FETCH_RESPONSE
    assert default.span_name(sc.OP_CHAT, {sc.REQUEST_MODEL: "gpt-4o"}) == "chat"


# --- span by span, per mode -------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("modal", [None], indirect=True)
def test_default_mode_invokes_agents_and_keeps_todays_other_names(
    modal: Telemetry, sim: Simulator, client: Any
) -> None:
    ids = scenario(client, sim)
    operations = {span.attributes[sc.OPERATION_NAME] for span in modal.spans}
    assert {sc.OP_INVOKE_AGENT, "get_thread_run", "chat", "get_response"} <= operations
    assert not {"process_thread_run", sc.OP_FETCH_RESPONSE} & operations
    agents = modal.runs()
    # The helper's span, and the app's retrieve that saw the bare run finish: one per execution.
    assert [(s.attributes[sc.RUN_ID], s.attributes[sc.EXECUTION_DRIVER]) for s in agents] == [
        (ids["polled"], sc.DRIVER_HELPER),
        (ids["bare"], sc.DRIVER_POLL),
    ]
    for span in agents:
        assert span.name == "invoke_agent weather-helper" and span.kind.name == "CLIENT"
        assert span.attributes[sc.AGENT_NAME] == "weather-helper"  # remembered from assistants.create
        assert span.attributes[sc.EXECUTION_STATUS] == "completed"  # today's attribute names
        assert span.attributes[sc.USAGE_INPUT_TOKENS] > 0 and sc.RUN_TOTAL_TIME in span.attributes
    for span in modal.spans:
        if span not in agents:  # the other operations keep their fixed span names
            assert span.name == span.attributes[sc.OPERATION_NAME]
    keys = emitted_keys(modal)
    assert set(OLD_ONLY) <= keys and not set(NEW_ONLY) & keys
    assert {sc.METRIC_TOKEN_USAGE} <= metric_names(modal)
    assert not {sc.METRIC_USAGE_INPUT_TOKENS, sc.METRIC_OPERATION_INPUT_TOKENS} & metric_names(modal)
    assert sc.METRIC_INFERENCE_DURATION not in metric_names(modal)
    assert "chat" in durations_by_operation(modal, sc.METRIC_OPERATION_DURATION)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("modal", [sc.MODE_LATEST], indirect=True)
def test_latest_mode_speaks_the_latest_conventions(modal: Telemetry, sim: Simulator, client: Any) -> None:
    ids = scenario(client, sim)
    names = [span.name for span in modal.spans]
    assert not {"process_thread_run", "get_response"} & set(names)
    agents = [s for s in modal.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT]
    # The helper's span, and the app's retrieve that saw the bare run finish: one per execution.
    assert sorted(s.attributes[sc.RUN_ID] for s in agents) == sorted([ids["polled"], ids["bare"]])
    for span in agents:
        assert span.name == "invoke_agent weather-helper" and span.kind.name == "CLIENT"
        assert span.attributes[sc.AGENT_ID] == ids["assistant"]
        assert span.attributes[sc.RESPONSE_STATUS] == "completed"
        assert span.attributes[sc.USAGE_INPUT_TOKENS] > 0
        assert sc.THREAD_ID in span.attributes and sc.RUN_TOTAL_TIME in span.attributes  # kept
    fetches = [s for s in modal.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_FETCH_RESPONSE]
    assert fetches and all(s.name == "fetch_response" for s in fetches)
    last_read = fetches[-1].attributes
    assert last_read[sc.RESPONSE_STATUS] == "completed" and sc.USAGE_INPUT_TOKENS not in last_read
    assert last_read[sc.USAGE_REPORTED_ELSEWHERE] is True
    chats = [s for s in modal.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_CHAT]
    assert chats and all(s.name == "chat gpt-4o" for s in chats)
    streamed = next(s for s in chats if s.attributes.get(sc.REQUEST_STREAM))
    assert streamed.attributes[sc.REQUEST_PREVIOUS_RESPONSE_ID] == ids["first"]
    assert streamed.attributes[sc.RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    keys = emitted_keys(modal)
    assert set(NEW_ONLY) <= keys and not set(OLD_ONLY) & keys
    metrics = metric_names(modal)
    assert sc.METRIC_TOKEN_USAGE not in metrics
    assert {
        sc.METRIC_OPERATION_INPUT_TOKENS,
        sc.METRIC_USAGE_INPUT_TOKENS,
        sc.METRIC_USAGE_CACHE_READ_INPUT_TOKENS,
    } <= metrics
    counted = modal.metric_points(sc.METRIC_USAGE_INPUT_TOKENS)
    assert counted and all(p.attributes[sc.TOKEN_MODALITY] == "unknown" for p in counted)
    # Inference calls' duration moved to its own metric; the other operations keep theirs.
    inference = durations_by_operation(modal, sc.METRIC_INFERENCE_DURATION)
    operations = durations_by_operation(modal, sc.METRIC_OPERATION_DURATION)
    assert inference == {"chat": len(chats)}
    assert "chat" not in operations and {sc.OP_INVOKE_AGENT, sc.OP_FETCH_RESPONSE} <= set(operations)
    executions = modal.metric_points(sc.METRIC_EXECUTIONS)
    assert executions and all(sc.RESPONSE_STATUS in p.attributes for p in executions)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("modal", [sc.MODE_DUP], indirect=True)
def test_dup_mode_emits_both_names(modal: Telemetry, sim: Simulator, client: Any) -> None:
    scenario(client, sim)
    keys = emitted_keys(modal)
    assert set(OLD_ONLY) | set(NEW_ONLY) <= keys
    for attrs in attrs_of(modal):
        if sc.EXECUTION_STATUS in attrs:
            assert attrs[sc.RESPONSE_STATUS] == attrs[sc.EXECUTION_STATUS]
    assert any(s.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT for s in modal.spans)
    metrics = metric_names(modal)
    assert {sc.METRIC_TOKEN_USAGE, sc.METRIC_OPERATION_INPUT_TOKENS, sc.METRIC_USAGE_OUTPUT_TOKENS} <= metrics
    # One count of the same tokens in each vocabulary.
    old = sum(
        p.sum for p in modal.metric_points(sc.METRIC_TOKEN_USAGE) if p.attributes[sc.TOKEN_TYPE] == "input"
    )
    new = sum(p.value for p in modal.metric_points(sc.METRIC_USAGE_INPUT_TOKENS))
    assert old == new > 0
    # And one duration of each inference call in each.
    chats = durations_by_operation(modal, sc.METRIC_OPERATION_DURATION)["chat"]
    assert durations_by_operation(modal, sc.METRIC_INFERENCE_DURATION) == {"chat": chats} and chats > 0


def durations_by_operation(telemetry: Telemetry, metric: str) -> dict[str, int]:
    """Calls recorded in a duration histogram, by gen_ai.operation.name."""
    counts: dict[str, int] = {}
    for point in telemetry.metric_points(metric):
        operation = point.attributes[sc.OPERATION_NAME]
        counts[operation] = counts.get(operation, 0) + point.count
    return counts


@pytest.mark.timeout(120)
def test_the_environment_switches_modes(
    sim: Simulator, client: Any, strict_guard: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sc.SEMCONV_OPT_IN_ENV, sc.MODE_LATEST)
    telemetry = instrumented(None)
    try:
        client.responses.retrieve(client.responses.create(model="gpt-4o", input="hi").id)
    finally:
        assistant_telemetry.uninstrument()
    assert [s.attributes[sc.OPERATION_NAME] for s in telemetry.spans] == [sc.OP_CHAT, sc.OP_FETCH_RESPONSE]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("modal", [None, sc.MODE_LATEST, sc.MODE_DUP], indirect=True)
def test_agent_service_provider_per_mode(modal: Telemetry, sim: Simulator, agents_client: Any) -> None:
    agent = agents_client.create_agent(model="gpt-4o", name="helper")
    thread = agents_client.threads.create()
    agents_client.messages.create(thread.id, role="user", content="hi")
    run = agents_client.runs.create_and_process(thread_id=thread.id, agent_id=agent.id)
    providers = {s.attributes[sc.PROVIDER_NAME] for s in modal.spans}
    if modal.mode is not None:  # type: ignore[attr-defined]  # the Agent Service is Foundry's: never our own value
        assert providers == {sc.PROVIDER_MICROSOFT_FOUNDRY}
    else:
        assert providers == {sc.PROVIDER_AZURE_AI_AGENTS}
    invoked = modal.one_run(sc.DRIVER_HELPER)  # invoke_agent in every mode
    assert invoked.name == "invoke_agent helper" and invoked.attributes[sc.RUN_ID] == run.id
    assert invoked.attributes[sc.AGENT_NAME] == "helper"
    assert all(s.attributes[sc.SYSTEM] == sc.SYSTEM_AZURE_AI_AGENTS for s in modal.spans)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("modal", [None, sc.MODE_LATEST, sc.MODE_DUP], indirect=True)
@pytest.mark.parametrize(
    ("outcome", "failure"),
    [("failed", "server_error"), ("expired", "expired"), ("content_filter", "content_filter")],
)
def test_an_execution_that_did_not_complete_fails_its_invoke_agent_span(
    modal: Telemetry, sim: Simulator, client: Any, outcome: str, failure: str
) -> None:
    """Every mode: the invoke_agent span of a failed, expired or cut-short run is ERROR with a
    failure class (error panels count ``success == false``)."""
    sim.next_run_outcome(outcome)
    assistant = client.beta.assistants.create(model="gpt-4o", name="billing")
    thread = client.beta.threads.create()
    run = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    (span,) = [s for s in modal.spans if s.attributes.get(sc.RUN_ID) == run.id]
    attrs = span.attributes
    assert attrs[sc.RUN_STATUS] == run.status != "completed"  # the outcome stays readable in every mode
    assert attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT and span.name == "invoke_agent billing"
    assert span.status.status_code.name == "ERROR" and span.status.description == failure
    assert (attrs[sc.FAILURE_CLASS], attrs[sc.ERROR_TYPE]) == (failure, failure)
    (duration,) = [
        p
        for p in modal.metric_points(sc.METRIC_OPERATION_DURATION)
        if p.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT
    ]
    assert duration.attributes[sc.ERROR_TYPE] == failure  # the metric's failed calls, by class


@pytest.mark.timeout(120)
@pytest.mark.parametrize("modal", [None, sc.MODE_LATEST], indirect=True)
def test_a_runs_own_span_names_its_model(modal: Telemetry, sim: Simulator, client: Any) -> None:
    """Runs are created from an assistant (no ``model`` argument): the span that completes the run
    names the run's model as the requested one, so token panels group its usage by model."""
    scenario(client, sim)
    executions = [s.attributes for s in modal.spans if s.attributes.get(sc.USAGE_INPUT_TOKENS)]
    runs = [a for a in executions if sc.RUN_ID in a]
    assert len(runs) == 2  # the helper's, and the retrieve that saw the bare run finish
    for attrs in runs:
        assert attrs[sc.REQUEST_MODEL] == attrs[sc.RESPONSE_MODEL] == "gpt-4o"
    reads = [s.attributes for s in modal.spans if s.attributes.get(sc.RUN_STATUS) == "queued"]
    assert reads and all(sc.REQUEST_MODEL not in a for a in reads)  # a read names only what it read

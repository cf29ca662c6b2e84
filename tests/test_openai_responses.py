"""Responses and Conversations: every method, sync, async and raw, makes one span in the shared id model."""

from __future__ import annotations

from collections import Counter
from typing import Any

import openai
import pytest

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.instrumentors.openai import RESPONSES_OPERATIONS

from conftest import Telemetry
from scenarios import every_responses_call, poll_response, resolver, run

OPERATION_NAMES = {op.operation for op in RESPONSES_OPERATIONS}


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


def events(span: Any, name: str = sc.EVENT_MESSAGE) -> list[dict[str, Any]]:
    return [dict(e.attributes) for e in span.events if e.name == name]


def by_response(telemetry: Telemetry, name: str, response_id: str) -> list[Any]:
    return [s for s in telemetry.named(name) if s.attributes.get(sc.RESPONSE_ID) == response_id]


def test_every_method_sync_and_async(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    ids = run(every_responses_call(either_client, sim))
    # The function calls the app ran between two requests (tests/test_execute_tool.py).
    tools = [s for s in telemetry.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_EXECUTE_TOOL]
    assert {s.attributes[sc.TOOL_TIMING] for s in tools} == {"client"}
    assert all(s.name == "execute_tool " + s.attributes[sc.TOOL_NAME] for s in tools)
    spans = [s for s in telemetry.spans if s not in tools]
    # A response naming a Foundry agent is that agent's invocation: invoke_agent {agent} (every mode).
    assert {s.attributes[sc.OPERATION_NAME] for s in spans} == OPERATION_NAMES | {sc.OP_INVOKE_AGENT}
    for span in spans:
        attrs = span.attributes
        expected_name = (
            "invoke_agent weather-agent" if attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT else None
        )
        assert (
            span.name == (expected_name or attrs[sc.OPERATION_NAME])
            and attrs[sc.OPENAI_API_TYPE] == "responses"
        )
        assert attrs[sc.PROVIDER_NAME] == "openai" and attrs[sc.REQUEST_ID].startswith("req_")
        assert span.status.status_code.name != "ERROR"
    conversation = ids["conversation"]

    created = telemetry.one("create_conversation").attributes
    assert created[sc.CONVERSATION_ID] == conversation and created[sc.CONVERSATION_ITEMS_ADDED] == 1
    assert created[sc.METADATA_KEYS] == ("customer",)
    for name in ("get_conversation", "update_conversation", "delete_conversation", "list_conversation_items"):
        assert telemetry.one(name).attributes[sc.CONVERSATION_ID] == conversation
    assert telemetry.one("delete_conversation").attributes[sc.DELETED] is True
    added = telemetry.one("create_conversation_items").attributes
    assert added[sc.CONVERSATION_ID] == conversation and added[sc.LIST_IDS] == (ids["item"],)
    item = telemetry.one("get_conversation_item").attributes
    assert item[sc.CONVERSATION_ITEM_ID] == item[sc.MESSAGE_ID] == ids["item"]
    assert item[sc.CONVERSATION_ITEM_TYPE] == "message" and item[sc.MESSAGE_ROLE] == "user"
    removed = telemetry.one("delete_conversation_item").attributes
    assert removed[sc.CONVERSATION_ITEM_ID] == ids["item"] and removed[sc.CONVERSATION_ID] == conversation

    (first,) = by_response(telemetry, "chat", ids["response"])
    attrs = first.attributes
    assert attrs[sc.CONVERSATION_ID] == conversation
    assert attrs[sc.EXECUTION_KIND] == "response" and attrs[sc.EXECUTION_STATUS] == "completed"
    assert attrs[sc.AGENT_ID] == "pmpt_weather" and attrs[sc.AGENT_VERSION] == "2"  # a reusable prompt
    assert (attrs[sc.REQUEST_MODEL], attrs[sc.RESPONSE_MODEL]) == ("gpt-4o", "gpt-4o")
    assert attrs[sc.USAGE_INPUT_TOKENS] == 120 and attrs[sc.USAGE_OUTPUT_TOKENS] == 11
    assert attrs[sc.USAGE_CACHE_READ_INPUT_TOKENS] == 64 and attrs[sc.USAGE_REASONING_OUTPUT_TOKENS] == 4
    assert attrs[sc.USAGE_CACHE_CREATION_INPUT_TOKENS] == 0
    assert attrs[sc.RESPONSE_OUTPUT_ITEM_TYPES] == ("message",)
    assert attrs[sc.MESSAGE_CONTENT_TYPES] == ("text",) and attrs[sc.RESPONSE_INPUT_ITEMS] == 1
    (produced,) = events(first)
    assert produced[sc.RESPONSE_ID] == ids["response"] and produced[sc.MESSAGE_ROLE] == "assistant"
    assert produced[sc.MESSAGE_ID] == attrs[sc.RESPONSE_OUTPUT_ITEM_IDS][0]

    (retrieved,) = by_response(telemetry, "get_response", ids["response"])
    assert not events(retrieved)  # the output message was reported once, by the create
    inputs = telemetry.one("list_response_input_items").attributes
    assert inputs[sc.RESPONSE_ID] == ids["response"] and inputs[sc.LIST_COUNT] == 1
    asked = by_response(telemetry, "chat", ids["asked"])[0].attributes
    assert asked[sc.RESPONSE_PREVIOUS_ID] == ids["response"]  # the chain, without a conversation
    assert asked[sc.RESPONSE_OUTPUT_ITEM_TYPES] == ("function_call", "function_call")
    foundry = by_response(telemetry, "invoke_agent weather-agent", ids["foundry"])[0].attributes
    assert foundry[sc.EXECUTION_DRIVER] == sc.DRIVER_REQUEST
    assert (foundry[sc.AGENT_ID], foundry[sc.AGENT_NAME], foundry[sc.AGENT_VERSION]) == (
        "weather-agent:3",  # Foundry's id of an agent version
        "weather-agent",
        "3",
    )
    cancelled = telemetry.one("cancel_response").attributes
    assert cancelled[sc.RESPONSE_ID] == ids["cancelled"] and cancelled[sc.EXECUTION_STATUS] == "cancelled"
    assert telemetry.one("delete_response").attributes[sc.RESPONSE_ID] == ids["response"]
    assert by_response(telemetry, "chat", ids["raw"])  # with_raw_response: the same span, read


RAW_CALLS = {
    "get_response": lambda c, cid, rid: c.responses.with_raw_response.retrieve(rid),
    "list_response_input_items": lambda c, cid, rid: c.responses.input_items.with_raw_response.list(rid),
    "get_conversation": lambda c, cid, rid: c.conversations.with_raw_response.retrieve(cid),
    "list_conversation_items": lambda c, cid, rid: c.conversations.items.with_raw_response.list(cid),
}


@pytest.mark.parametrize("name", sorted(RAW_CALLS))
def test_with_raw_response_reads_the_parsed_body(
    telemetry: Telemetry, sim: Any, either_client: Any, name: str
) -> None:
    async def scenario() -> Any:
        resolve = resolver(either_client)
        said = [{"role": "user", "content": "hi"}]
        conversation = await resolve(either_client.conversations.create(items=said))
        response = await resolve(
            either_client.responses.create(model="gpt-4o", input="x", conversation=conversation.id)
        )
        raw = await resolve(RAW_CALLS[name](either_client, conversation.id, response.id))
        return conversation, raw

    conversation, raw = run(scenario())
    assert raw.http_response.status_code == 200
    attrs = telemetry.one(name).attributes
    assert attrs[sc.REQUEST_ID] == raw.headers["x-request-id"]
    if name == "get_response":
        assert attrs[sc.EXECUTION_STATUS] == "completed" and attrs[sc.CONVERSATION_ID] == conversation.id
    elif name.startswith("list_"):
        assert attrs[sc.LIST_COUNT] >= 1
    else:
        assert attrs[sc.CONVERSATION_ID] == conversation.id


@pytest.mark.parametrize(
    ("outcome", "status", "error_code", "reason"),
    [
        ("failed", "failed", "server_error", None),
        ("incomplete", "incomplete", None, "max_output_tokens"),
        ("content_filter", "incomplete", None, "content_filter"),
    ],
)
def test_an_unfinished_response_is_an_outcome_not_an_error(
    telemetry: Telemetry, sim: Any, client: Any, outcome: str, status: str, error_code: Any, reason: Any
) -> None:
    sim.next_run_outcome(outcome)
    response = client.responses.create(model="gpt-4o", input="x")
    span = telemetry.one("chat")
    attrs = span.attributes
    assert response.status == attrs[sc.EXECUTION_STATUS] == status
    assert attrs.get(sc.EXECUTION_ERROR_CODE) == error_code
    assert attrs.get(sc.EXECUTION_INCOMPLETE_REASON) == reason
    assert (attrs.get(sc.CONTENT_FILTER_OUTCOME) == "blocked_output") == (reason == "content_filter")
    assert sc.EXECUTION_TOTAL_TIME not in attrs  # the service timestamps only a completed end
    assert span.status.status_code.name != "ERROR"
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.attributes[sc.EXECUTION_STATUS] == status
    assert finished.attributes.get(sc.EXECUTION_ERROR_CODE) == error_code
    assert finished.attributes.get(sc.EXECUTION_INCOMPLETE_REASON) == reason


def test_a_response_is_measured_once_whoever_sees_it(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """create, retrieve twice: tokens, the execution counter and its duration count it once."""
    sim.run_timing(queue_s=2, execution_s=6)
    response = client.responses.create(model="gpt-4o", input="x")
    client.responses.retrieve(response.id)
    client.responses.retrieve(response.id)
    create = telemetry.one("chat").attributes
    assert create[sc.EXECUTION_TOTAL_TIME] == 8.0
    for retrieved in telemetry.named("get_response"):
        assert sc.EXECUTION_TOTAL_TIME not in retrieved.attributes
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_KIND] == "response"
    (duration,) = telemetry.metric_points(sc.METRIC_EXECUTION_DURATION)
    assert duration.count == 1 and duration.sum == 8
    tokens = Counter(
        (p.attributes[sc.TOKEN_TYPE], p.attributes[sc.OPERATION_NAME], p.sum)
        for p in telemetry.metric_points(sc.METRIC_TOKEN_USAGE)
    )
    assert tokens == Counter({("input", "chat", 120): 1, ("output", "chat", 11): 1})
    for name in (sc.METRIC_EXECUTIONS, sc.METRIC_EXECUTION_DURATION, sc.METRIC_OPERATION_DURATION):
        for point in telemetry.metric_points(name):
            assert not any(key.endswith(".id") for key in point.attributes)  # never ids on metrics


def test_background_response_polled_by_the_app(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    """queued -> in_progress -> completed across the app's own retrieves: one outcome, its timings."""
    sim.run_timing(queue_s=3, execution_s=7)

    async def scenario() -> tuple[Any, Any]:
        resolve = resolver(either_client)
        started = await resolve(either_client.responses.create(model="gpt-4o", input="x", background=True))
        done = await poll_response(resolve, either_client, started.id)
        await resolve(either_client.responses.retrieve(started.id))
        return started, done

    started, done = run(scenario())
    assert started.status == "queued" and done.status == "completed"
    create = telemetry.one("chat").attributes
    assert create[sc.EXECUTION_STATUS] == "queued" and create[sc.RESPONSE_BACKGROUND] is True
    statuses = [s.attributes[sc.EXECUTION_STATUS] for s in telemetry.named("get_response")]
    assert statuses == ["in_progress", "completed", "completed"]
    measured = [s.attributes for s in telemetry.spans if sc.EXECUTION_TOTAL_TIME in s.attributes]
    (claim,) = measured  # the first retrieve that saw it finished, only
    assert claim[sc.EXECUTION_TOTAL_TIME] == 10.0  # server timestamps: created_at -> completed_at
    # No started_at on a response: the queue is what this process saw (queued -> in_progress).
    assert 0 <= claim[sc.EXECUTION_QUEUE_TIME] < 5
    assert claim[sc.EXECUTION_ACTIVE_TIME] == pytest.approx(10.0 - claim[sc.EXECUTION_QUEUE_TIME])
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == "completed"
    assert telemetry.metric_points(sc.METRIC_EXECUTION_QUEUE_TIME)[0].count == 1
    assert telemetry.metric_points(sc.METRIC_EXECUTION_ACTIVE_TIME)[0].count == 1


def test_queue_time_only_for_responses_this_process_created(
    telemetry: Telemetry, sim: Any, client: Any
) -> None:
    """A resumed stream replays a response's old events: only the create's answer starts the clock."""
    created = client.responses.create(model="gpt-4o", input="x", background=True)
    with client.responses.with_streaming_response.create(model="gpt-4o", input="y", background=True) as raw:
        # created here, but read as bytes by the app: the instrumentation never saw its body
        unseen = openai.types.responses.Response.model_validate_json(b"".join(raw.iter_bytes()))
    for response_id in (created.id, unseen.id):
        list(client.responses.retrieve(response_id, stream=True))
    resumed = {s.attributes[sc.RESPONSE_ID]: s.attributes for s in telemetry.named("get_response")}
    assert resumed[created.id][sc.EXECUTION_STATUS] == resumed[unseen.id][sc.EXECUTION_STATUS] == "completed"
    assert resumed[created.id][sc.EXECUTION_QUEUE_TIME] >= 0
    assert sc.EXECUTION_QUEUE_TIME not in resumed[unseen.id]
    assert resumed[unseen.id][sc.EXECUTION_TOTAL_TIME] >= 0  # the server-timed total still is


def test_cancelled_background_response(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    async def scenario() -> Any:
        resolve = resolver(either_client)
        started = await resolve(either_client.responses.create(model="gpt-4o", input="x", background=True))
        await resolve(either_client.responses.cancel(started.id))
        return await resolve(either_client.responses.retrieve(started.id))

    assert run(scenario()).status == "cancelled"
    assert telemetry.one("cancel_response").attributes[sc.EXECUTION_STATUS] == "cancelled"
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == "cancelled"


def test_errors_keep_their_class_and_never_their_message(telemetry: Telemetry, sim: Any, client: Any) -> None:
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve("resp_missing")
    sim.add_fault(status=429, method="POST", path="/responses", times=3)
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model="gpt-4o", input="x")
    missing = telemetry.one("get_response")
    assert (
        missing.attributes[sc.FAILURE_CLASS] == "not_found"
        and missing.attributes[sc.RESPONSE_ID] == "resp_missing"
    )
    limited = telemetry.one("chat")
    assert (
        limited.attributes[sc.FAILURE_CLASS] == "rate_limited" and limited.status.status_code.name == "ERROR"
    )
    assert limited.attributes[sc.ERROR_CODE] == "rate_limit_exceeded" and limited.attributes[sc.RETRIES] == 2


def test_azure_openai_client(telemetry: Telemetry, sim: Any, azure_client: Any) -> None:
    """The model argument names the deployment; a response answers with the model it serves."""
    sim.deploy("chat-prod", "gpt-4o-2024-08-06")
    conversation = azure_client.conversations.create()
    response = azure_client.responses.create(model="chat-prod", input="x", conversation=conversation.id)
    azure_client.responses.retrieve(response.id)
    for name in ("chat", "get_response"):
        attrs = telemetry.one(name).attributes
        assert attrs[sc.PROVIDER_NAME] == "azure.ai.openai" and attrs[sc.SYSTEM] == "az.ai.openai"
        assert attrs[sc.AZURE_API_VERSION] == "2024-05-01-preview"
        assert attrs[sc.AZURE_REGION] == "Sweden Central" and attrs[sc.AZURE_SERVICE_REQUEST_ID]
        assert attrs[sc.RESPONSE_MODEL] == "gpt-4o-2024-08-06"
    assert telemetry.one("chat").attributes[sc.AZURE_DEPLOYMENT] == "chat-prod"
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.attributes[sc.AZURE_DEPLOYMENT] == "chat-prod"
    assert telemetry.one("create_conversation").attributes[sc.PROVIDER_NAME] == "azure.ai.openai"


def test_azure_v1_endpoint_through_the_openai_client(telemetry: Telemetry, sim: Any) -> None:
    """Azure's /openai/v1 API with a plain OpenAI client: the host names the provider."""
    assistant_telemetry.uninstrument()
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        azure_hosts=["127.0.0.1"],
    )
    client = openai.OpenAI(base_url=f"{sim.azure_endpoint}/openai/v1", api_key="k", max_retries=0)
    client.responses.create(model="chat-prod", input="x")
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.PROVIDER_NAME] == "azure.ai.openai" and attrs[sc.AZURE_DEPLOYMENT] == "chat-prod"


def test_uninstrument_leaves_no_spans(telemetry: Telemetry, sim: Any, client: Any) -> None:
    raw = client.responses.with_raw_response  # cached by the SDK before uninstrument()
    assistant_telemetry.uninstrument()
    client.responses.create(model="gpt-4o", input="x")
    raw.create(model="gpt-4o", input="x")
    client.conversations.create()
    assert telemetry.spans == []


def test_azure_blocked_prompt(telemetry: Telemetry, sim: Any, azure_client: Any) -> None:
    """Azure's 400 for a filtered prompt: the categories and the outcome, never the prompt."""
    sim.add_fault(kind="content_filter", method="POST", path="/responses")
    with pytest.raises(openai.BadRequestError):
        azure_client.responses.create(model="chat-prod", input="x")
    attrs = telemetry.one("chat").attributes
    assert (
        attrs[sc.FAILURE_CLASS] == "content_filter" and attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"
    )
    assert attrs[sc.CONTENT_FILTER_PREFIX + "prompt.jailbreak.detected"] is True
    assert attrs[sc.REQUEST_MODEL] == "chat-prod"  # the deployment; failed calls get no deployment attribute

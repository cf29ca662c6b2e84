"""Every wrapped Assistants method, sync and async, OpenAI and Azure, against the simulator."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.instrumentors.openai import OPERATIONS

from scenarios import every_call, run

# The operation names every mode emits: run helpers and streams are invoke_agent, submit helpers
# submit_tool_outputs (semconv.AGENT_OPERATIONS).
EXPECTED_OPERATIONS = {
    sc.Names().operation(op.operation, op.agent_operation)
    for op in OPERATIONS
    if op.module.startswith("openai.resources.beta")
}


@pytest.fixture(params=["sync", "async", "azure"])
def any_client(request: pytest.FixtureRequest, client: Any, async_client: Any, azure_client: Any) -> Any:
    return {"sync": client, "async": async_client, "azure": azure_client}[request.param]


def test_every_method_makes_one_linked_span(telemetry: Any, sim: Any, any_client: Any) -> None:
    ids = run(every_call(any_client, sim))
    # The app's function calls (tests/test_execute_tool.py): execute_tool {function}.
    tools = [s for s in telemetry.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_EXECUTE_TOOL]
    spans = [s for s in telemetry.spans if s not in tools]
    assert {s.attributes[sc.OPERATION_NAME] for s in spans} == EXPECTED_OPERATIONS
    assert tools and all(t.kind.name == "INTERNAL" for t in tools)
    assert {t.name for t in tools} == {"execute_tool get_weather", "execute_tool lookup_order"}
    for span in spans:
        attrs = span.attributes
        assert span.kind.name == "CLIENT"
        if attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT:  # named by the agent (semconv's span name)
            assert span.name == "invoke_agent weather-helper"
        else:
            assert attrs[sc.OPERATION_NAME] == span.name
        assert attrs[sc.REQUEST_ID].startswith("req_"), span.name
        assert attrs[sc.HTTP_STATUS_CODE] == 200
        assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1"
        assert attrs[sc.SYSTEM] in ("openai", "az.ai.openai")

    message = telemetry.one("create_message").attributes
    assert message[sc.MESSAGE_ID] == ids["message"]
    assert message[sc.CONVERSATION_ID] == message[sc.THREAD_ID] == ids["thread"]
    assert message[sc.MESSAGE_ROLE] == "user"
    assert message[sc.MESSAGE_CONTENT_TYPES] == ("text",)
    assert message[sc.MESSAGE_TEXT_LENGTH] == len("What is the weather in Stockholm?")
    assert message[sc.METADATA_KEYS] == ("customer",)

    started = telemetry.named("start_thread_run")[0].attributes
    assert started[sc.RUN_ID] == ids["run"] and started[sc.AGENT_ID] == ids["assistant"]
    assert started[sc.RUN_STATUS] == "queued"
    polled = [
        s.attributes for s in telemetry.named("get_thread_run") if s.attributes[sc.RUN_ID] == ids["run"]
    ]
    assert [p[sc.RUN_STATUS] for p in polled] == ["in_progress"]
    # The app's own retrieve that saw the run finish is its invoke_agent span, with the tokens.
    finished = [s.attributes for s in telemetry.runs(sc.DRIVER_POLL) if s.attributes[sc.RUN_ID] == ids["run"]]
    assert [f[sc.RUN_STATUS] for f in finished] == ["completed"]
    assert finished[0][sc.USAGE_INPUT_TOKENS] > 0 and finished[0][sc.USAGE_OUTPUT_TOKENS] > 0

    step = telemetry.one("get_run_step").attributes
    assert step[sc.RUN_STEP_ID] == ids["step"] and step[sc.RUN_ID] == ids["run"]
    assert step[sc.RUN_STEP_TYPE] == "message_creation"
    assert step[sc.MESSAGE_ID] == ids["reply"]  # the step links the run to the assistant's message

    listed = [s.attributes for s in telemetry.named("list_messages")][-1]
    assert ids["reply"] in listed[sc.LIST_IDS] and ids["message"] in listed[sc.LIST_IDS]
    assert listed[sc.LIST_COUNT] == len(listed[sc.LIST_IDS]) == 2

    waiting = [
        s.attributes for s in telemetry.named("get_thread_run") if s.attributes[sc.RUN_ID] == ids["tool_run"]
    ]
    needs_tools = next(w for w in waiting if w[sc.RUN_STATUS] == "requires_action")
    assert needs_tools[sc.RUN_REQUIRED_TOOL_CALLS] == 2
    assert needs_tools[sc.RUN_REQUIRED_FUNCTIONS] == ("get_weather", "lookup_order")
    # The plain submit, the poll helper's and the stream helper's: each resumes its run.
    submits = [s.attributes for s in telemetry.named("submit_tool_outputs")]
    assert [a[sc.TOOL_OUTPUTS] for a in submits] == [2, 2, 2]
    assert [sc.RUN_POLLS in a for a in submits] == [False, True, False]
    assert [a.get(sc.STREAM_OUTCOME) for a in submits] == [None, None, "finished"]
    assert [a[sc.RUN_STATUS] for a in submits] == ["queued", "completed", "completed"]
    # The poll helper invokes the tool loop's second run; stream helpers the third and the last.
    (helper,) = [s.attributes for s in telemetry.runs(sc.DRIVER_HELPER)]
    assert helper[sc.RUN_STATUS] == "requires_action" and helper[sc.RUN_ID] == submits[1][sc.RUN_ID]
    streamed = [s.attributes for s in telemetry.runs(sc.DRIVER_STREAM)]
    assert [h[sc.RUN_STATUS] for h in streamed] == ["requires_action", "completed", "completed"]
    assert all(h[sc.STREAM_OUTCOME] == "finished" and h[sc.STREAM_EVENTS] > 3 for h in streamed)
    assert streamed[0][sc.RUN_ID] == submits[2][sc.RUN_ID]  # one run, paused for tools, resumed
    assert len(submits[2][sc.RUN_MESSAGE_IDS]) == 1 and len(streamed[2][sc.RUN_MESSAGE_IDS]) == 1
    raw = streamed[1]  # runs.create(stream=True): the span lives on with the stream
    assert raw[sc.RUN_STATUS] == "completed" and sc.RUN_POLLS not in raw
    assert telemetry.one("cancel_thread_run").attributes[sc.RUN_STATUS] == "cancelling"
    both = telemetry.one("create_thread_and_run").attributes
    assert both[sc.RUN_ID] == ids["created_and_run"] and both[sc.THREAD_ID] == ids["created_thread"]
    agent = telemetry.one("create_agent").attributes
    assert agent[sc.TOOL_TYPES] == ("code_interpreter", "function")
    assert agent[sc.REQUEST_MODEL] == "gpt-4o"
    assert telemetry.one("delete_agent").attributes[sc.DELETED] is True


def test_azure_client_is_attributed_to_azure(telemetry: Any, azure_client: Any) -> None:
    thread = azure_client.beta.threads.create()
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[sc.SYSTEM] == "az.ai.openai"
    assert attrs[sc.AZURE_API_VERSION] == "2024-05-01-preview"
    assert attrs[sc.AZURE_REGION] == "Sweden Central"
    assert len(attrs[sc.AZURE_SERVICE_REQUEST_ID]) == 36  # apim-request-id, a uuid
    assert attrs[sc.THREAD_ID] == thread.id


def test_openai_client_on_configured_azure_host(strict_guard: None, sim: Any) -> None:
    import assistant_telemetry

    from conftest import Telemetry

    telemetry = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        azure_hosts=["127.0.0.1"],
    )
    try:
        openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
    finally:
        assistant_telemetry.uninstrument()
    assert telemetry.one("create_thread").attributes[sc.PROVIDER_NAME] == "azure.ai.openai"


def test_with_raw_response_is_one_span_with_ids(telemetry: Any, client: Any) -> None:
    raw = client.beta.threads.with_raw_response.create()
    thread = raw.parse()
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.THREAD_ID] == thread.id
    assert attrs[sc.REQUEST_ID] == raw.headers["x-request-id"]


def test_with_streaming_response_reads_the_body_the_app_parses(telemetry: Any, client: Any) -> None:
    with client.beta.threads.with_streaming_response.create() as response:
        thread = response.parse()
        assert response.parse() is thread  # the SDK's own parse, not a copy
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.REQUEST_ID] == response.headers["x-request-id"]
    assert attrs[sc.THREAD_ID] == thread.id and attrs[sc.BODY_OUTCOME] == "read"


def test_list_span_covers_first_page_only(telemetry: Any, client: Any) -> None:
    thread = client.beta.threads.create()
    for text in ("one", "two", "three"):
        client.beta.threads.messages.create(thread.id, role="user", content=text)
    seen = [m.id for m in client.beta.threads.messages.list(thread.id, limit=1)]  # auto-paging: 3 requests
    assert len(seen) == 3
    listed = telemetry.one("list_messages").attributes  # later pages make no spans
    assert listed[sc.LIST_COUNT] == 1 and listed[sc.LIST_HAS_MORE] is True
    assert listed[sc.LIST_IDS] == (seen[0],)


def test_async_list_awaited_and_iterated(telemetry: Any, async_client: Any) -> None:
    async def scenario() -> list[str]:
        thread = await async_client.beta.threads.create()
        for text in ("one", "two"):
            await async_client.beta.threads.messages.create(thread.id, role="user", content=text)
        page = await async_client.beta.threads.messages.list(thread.id)
        assert isinstance(page, openai.pagination.AsyncCursorPage)
        return [m.id async for m in async_client.beta.threads.messages.list(thread.id, limit=1)]

    ids = run(scenario())
    assert len(ids) == 2
    spans = telemetry.named("list_messages")
    assert len(spans) == 2
    assert spans[1].attributes[sc.LIST_IDS] == (ids[0],)


def test_retried_rate_limit_is_recorded(telemetry: Any, sim: Any, client: Any) -> None:
    sim.add_fault(429, method="POST", path="/threads", times=1, retry_after=0)
    client.beta.threads.create()
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.RETRIES] == 1
    assert attrs[sc.HTTP_STATUS_CODE] == 200


@pytest.mark.parametrize(
    ("fault", "error", "failure_class", "status"),
    [
        ({"status": 429}, openai.RateLimitError, "rate_limited", 429),
        ({"status": 500}, openai.InternalServerError, "server_error", 500),
        ({"kind": "content_filter"}, openai.BadRequestError, "content_filter", 400),
    ],
)
def test_failed_call_records_failure_class(
    telemetry: Any, sim: Any, client: Any, fault: dict[str, Any], error: type, failure_class: str, status: int
) -> None:
    sim.add_fault(**fault, method="POST", path="/threads", times=None, retry_after=0)
    with pytest.raises(error):
        client.with_options(max_retries=0).beta.threads.create()
    span = telemetry.one("create_thread")
    assert span.status.status_code.name == "ERROR"
    assert span.status.description == error.__name__
    attrs = span.attributes
    assert attrs[sc.ERROR_TYPE] == error.__name__
    assert attrs[sc.FAILURE_CLASS] == failure_class
    assert attrs[sc.HTTP_STATUS_CODE] == status
    assert attrs[sc.REQUEST_ID].startswith("req_")


def test_metrics_are_low_cardinality(telemetry: Any, sim: Any, client: Any) -> None:
    run(every_call(client, sim))
    points = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    operations = {p.attributes[sc.OPERATION_NAME] for p in points}
    assert operations == EXPECTED_OPERATIONS
    for point in points:
        assert not any(
            str(v).startswith(("thread_", "run_", "msg_", "asst_", "req_")) for v in point.attributes.values()
        )
    tokens = telemetry.metric_points(sc.METRIC_TOKEN_USAGE)
    assert {p.attributes[sc.TOKEN_TYPE] for p in tokens} == {"input", "output"}


def test_azure_assistants_deployment_is_the_model(telemetry: Any, azure_client: Any) -> None:
    azure_client.beta.assistants.create(model="gpt4o-prod")
    assert telemetry.one("create_agent").attributes[sc.AZURE_DEPLOYMENT] == "gpt4o-prod"


def test_metadata_allowlist_end_to_end(strict_guard: None, client: Any) -> None:
    import assistant_telemetry

    from conftest import Telemetry

    telemetry = Telemetry()
    assistant_telemetry.instrument(tracer_provider=telemetry.tracer_provider, metadata_allowlist=["channel"])
    try:
        client.beta.threads.create(metadata={"channel": "web", "customer_email": "a@example.com"})
    finally:
        assistant_telemetry.uninstrument()
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.METADATA_KEYS] == ("channel", "customer_email")
    assert attrs["assistant_telemetry.metadata.value.channel"] == "web"
    assert "a@example.com" not in str(dict(attrs))

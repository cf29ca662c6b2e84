"""The azure-ai-agents SDK: the real AgentsClient (sync and aio) against the simulator's project endpoint.

Every wrapped method makes one span with the openai path's names and ids; helpers that poll
a run are one span; lists are one span for the first page; Azure's headers are read at
azure-core's pipeline for agents clients only; and Azure's own AIAgentsInstrumentor can be
on at the same time (see ``test_coexistence_with_azure_ai_agents_instrumentor``).
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from azure.core import PipelineClient
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.pipeline import Pipeline
from azure.core.rest import HttpRequest

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.instrumentors.azure_ai_agents import OPERATIONS

from azure_clients import agents_client, async_agents_client, every_agents_call, tool_functions
from scenarios import Content

EXPECTED_OPERATIONS = {sc.Names().operation(op.operation, op.agent_operation) for op in OPERATIONS}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
APP = Path(__file__).parent / "apps" / "agents_coexistence.py"


def every_call_sync(sim: Any) -> dict[str, str]:
    with agents_client(sim) as client:
        return asyncio.run(every_agents_call(client, sim, Content()))


def every_call_async(sim: Any) -> dict[str, str]:
    async def main() -> dict[str, str]:
        async with async_agents_client(sim) as client:
            return await every_agents_call(client, sim, Content())

    return asyncio.run(main())


@pytest.fixture(params=["sync", "aio"])
def every_call(request: pytest.FixtureRequest) -> Any:
    return every_call_sync if request.param == "sync" else every_call_async


def by_run(telemetry: Any, operation: str, run_id: str) -> list[dict[str, Any]]:
    return [
        dict(s.attributes)
        for s in telemetry.spans
        if s.attributes.get(sc.OPERATION_NAME) == operation and s.attributes.get(sc.RUN_ID) == run_id
    ]


def test_every_method_makes_one_span_with_ids(telemetry: Any, sim: Any, every_call: Any) -> None:
    ids = every_call(sim)
    # The functions auto-called (tests/test_execute_tool.py): execute_tool {function}.
    tools = [s for s in telemetry.spans if s.attributes[sc.OPERATION_NAME] == sc.OP_EXECUTE_TOOL]
    assert tools and all(t.attributes[sc.PROVIDER_NAME] == "azure.ai.agents" for t in tools)
    assert {t.name for t in tools} == {"execute_tool get_weather", "execute_tool lookup_order"}
    spans = [s for s in telemetry.spans if s not in tools]
    assert {s.attributes[sc.OPERATION_NAME] for s in spans} == EXPECTED_OPERATIONS
    for span in spans:
        attrs = span.attributes
        assert span.kind.name == "CLIENT"
        if attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT:  # named by the agent
            assert span.name == "invoke_agent weather-helper", span.name
        else:
            assert attrs[sc.OPERATION_NAME] == span.name
        assert (attrs[sc.PROVIDER_NAME], attrs[sc.SYSTEM]) == ("azure.ai.agents", "az.ai.agents")
        assert attrs[sc.AZURE_RESOURCE_PROVIDER_NAMESPACE] == "Microsoft.CognitiveServices"
        assert (attrs[sc.SERVER_ADDRESS], attrs[sc.SERVER_PORT]) == ("127.0.0.1", sim.port)
        assert attrs[sc.SERVER_HOST] == "127.0.0.1"
        assert attrs[sc.REQUEST_ID].startswith("req_"), span.name
        assert UUID.fullmatch(attrs[sc.AZURE_SERVICE_REQUEST_ID]), span.name
        assert UUID.fullmatch(attrs[sc.CLIENT_REQUEST_ID]), span.name  # azure-core's, echoed back
        assert attrs[sc.AZURE_REGION] == "Sweden Central"
        assert attrs[sc.AZURE_API_VERSION] == "v1"
        assert attrs[sc.HTTP_STATUS_CODE] == 200
        if attrs.get(sc.RUN_ID) == ids["cancelled"] and attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT:
            # the app's retrieve that saw the cancelled run end: an agent invocation that failed
            assert span.status.status_code.name == "ERROR" and attrs[sc.FAILURE_CLASS] == "cancelled"
        else:
            assert span.status.status_code.name == "UNSET", span.name

    agent = telemetry.one("create_agent").attributes
    assert agent[sc.AGENT_ID] == ids["agent"] and agent[sc.AGENT_NAME] == "weather-helper"
    assert agent[sc.REQUEST_MODEL] == agent[sc.AZURE_DEPLOYMENT] == "gpt-4o"
    assert agent[sc.TOOL_TYPES] == ("code_interpreter", "function")
    assert telemetry.one("get_agent").attributes[sc.AGENT_ID] == ids["agent"]
    assert telemetry.one("delete_agent").attributes[sc.AGENT_ID] == ids["agent"]

    message = telemetry.one("create_message").attributes
    assert message[sc.MESSAGE_ID] == ids["message"]
    assert message[sc.CONVERSATION_ID] == message[sc.THREAD_ID] == ids["thread"]
    assert message[sc.MESSAGE_ROLE] == "user"  # a plain string, not the SDK's MessageRole enum
    assert message[sc.MESSAGE_TEXT_LENGTH] == len(Content().message)
    assert message[sc.METADATA_KEYS] == ("customer",)
    assert telemetry.one("get_message").attributes[sc.MESSAGE_ID] == ids["message"]

    started = by_run(telemetry, "start_thread_run", ids["run"])[0]
    assert started[sc.AGENT_ID] == ids["agent"] and started[sc.RUN_STATUS] == "queued"
    assert started[sc.AZURE_DEPLOYMENT] == "gpt-4o"
    polled = by_run(telemetry, "get_thread_run", ids["run"])
    assert [p[sc.RUN_STATUS] for p in polled] == ["in_progress"]
    # The app's retrieve that saw the run finish is its invoke_agent span.
    (finished,) = by_run(telemetry, sc.OP_INVOKE_AGENT, ids["run"])
    assert finished[sc.RUN_STATUS] == "completed" and finished[sc.EXECUTION_DRIVER] == sc.DRIVER_POLL
    assert finished[sc.USAGE_INPUT_TOKENS] == 120 and finished[sc.USAGE_OUTPUT_TOKENS] == 11
    step = telemetry.one("get_run_step").attributes
    assert (step[sc.RUN_STEP_ID], step[sc.RUN_ID], step[sc.MESSAGE_ID]) == (
        ids["step"],
        ids["run"],
        ids["reply"],
    )
    assert step[sc.RUN_STEP_TYPE] == "message_creation"

    listed = telemetry.one("list_messages").attributes
    assert {ids["message"], ids["reply"]} <= set(listed[sc.LIST_IDS])
    assert listed[sc.LIST_COUNT] == len(listed[sc.LIST_IDS]) and listed[sc.THREAD_ID] == ids["thread"]
    assert telemetry.one("list_threads").attributes[sc.LIST_COUNT] >= 1
    assert telemetry.one("list_run_steps").attributes[sc.RUN_ID] == ids["run"]

    waiting = by_run(telemetry, "get_thread_run", ids["tool_run"])
    needs_tools = next(w for w in waiting if w[sc.RUN_STATUS] == "requires_action")
    assert needs_tools[sc.RUN_REQUIRED_FUNCTIONS] == ("get_weather", "lookup_order")
    submitted = [s.attributes for s in telemetry.named("submit_tool_outputs")]
    assert len(submitted) == 2  # runs.submit_tool_outputs, then submit_tool_outputs_stream in the stream
    assert all(s[sc.TOOL_OUTPUTS] == 2 for s in submitted)
    assert submitted[0][sc.RUN_ID] == ids["tool_run"]
    assert telemetry.one("cancel_thread_run").attributes[sc.RUN_STATUS] == "cancelling"
    both = telemetry.one("create_thread_and_run").attributes
    assert (both[sc.RUN_ID], both[sc.THREAD_ID]) == (ids["both"], ids["both_thread"])
    assert len(telemetry.named("delete_thread")) == 3


def test_helpers_are_one_span_each(telemetry: Any, sim: Any, every_call: Any) -> None:
    """create_and_process and create_thread_and_process_run: their creates and polls fold in."""
    ids = every_call(sim)
    helpers = {s.attributes.get(sc.RUN_ID): s for s in telemetry.runs(sc.DRIVER_HELPER)}
    assert len(helpers) == 2
    for run_id in (ids["processed"], ids["processed_both"]):
        span = helpers[run_id]
        attrs = span.attributes
        assert attrs[sc.RUN_STATUS] == "completed"
        assert attrs[sc.RUN_POLLS] >= 2
        assert len(attrs[sc.REQUEST_IDS]) >= 3 and attrs[sc.REQUEST_ID] == attrs[sc.REQUEST_IDS][-1]
        statuses = [e.attributes[sc.RUN_STATUS] for e in span.events if e.name == sc.EVENT_RUN_STATUS]
        assert statuses[-1] == "completed" and "queued" in statuses
        assert not by_run(telemetry, "get_thread_run", run_id)  # the polls made no spans of their own
    assert helpers[ids["processed"]].attributes[sc.RUN_REQUIRED_FUNCTIONS] == ("get_weather", "lookup_order")
    assert not by_run(telemetry, "create_thread_and_run", ids["processed_both"])
    streamed = telemetry.runs(sc.DRIVER_STREAM)
    assert len(streamed) == 1  # runs.stream: lives as long as its events, read up to requires_action
    attrs = streamed[0].attributes
    assert attrs[sc.THREAD_ID] == ids["thread"] and attrs[sc.REQUEST_ID].startswith("req_")
    assert attrs[sc.RUN_STATUS] == "requires_action" and attrs[sc.STREAM_OUTCOME] == "finished"
    assert attrs[sc.RUN_ID] not in (ids["processed"], ids["processed_both"])


def test_streams_reach_the_app_unchanged(telemetry: Any, sim: Any, every_call: Any) -> None:
    events = every_call(sim)["stream_events"].split(",")
    assert events.count("done") == 2  # the run stream, then the tool outputs' stream
    assert "thread.run.requires_action" in events and events[-2] == "thread.run.completed"
    assert events.count("thread.message.delta") == len(sim_reply_words())


def sim_reply_words() -> list[str]:
    from assistant_telemetry.simulator.runs import REPLY_TEXT

    return REPLY_TEXT.split()


def test_lists_yield_every_item_and_fetch_the_first_page_in_the_span(
    telemetry: Any, sim: Any, agents_client: Any
) -> None:
    thread = agents_client.threads.create()
    created = [agents_client.messages.create(thread.id, role="user", content=f"m{i}").id for i in range(5)]
    assert [m.id for m in agents_client.messages.list(thread.id, limit=2, order="asc")] == created
    span = telemetry.one("list_messages")
    assert span.attributes[sc.LIST_COUNT] == 2  # the first page; later pages make no spans
    assert span.attributes[sc.LIST_IDS] == tuple(created[:2])
    paged = agents_client.messages.list(thread.id)
    assert len(telemetry.named("list_messages")) == 1  # nothing is fetched before iterating
    assert next(iter(paged)).id == created[-1]
    assert len(telemetry.named("list_messages")) == 2


def test_async_lists(telemetry: Any, sim: Any, async_agents_client: Any) -> None:
    async def main() -> tuple[list[str], list[str]]:
        async with async_agents_client as client:
            thread = await client.threads.create()
            created = [
                (await client.messages.create(thread.id, role="user", content="x")).id for _ in range(3)
            ]
            listed = [m.id async for m in client.messages.list(thread.id, limit=2, order="asc")]
            return created, listed

    created, listed = asyncio.run(main())
    assert listed == created
    assert telemetry.one("list_messages").attributes[sc.LIST_IDS] == tuple(created[:2])


def test_errors_keep_the_class_status_and_request_ids(telemetry: Any, sim: Any, agents_client: Any) -> None:
    with pytest.raises(ResourceNotFoundError):
        agents_client.threads.get("thread_missing")
    span = telemetry.one("get_thread")
    attrs = span.attributes
    assert span.status.status_code.name == "ERROR" and span.status.description == "ResourceNotFoundError"
    assert attrs[sc.ERROR_TYPE] == "ResourceNotFoundError" and attrs[sc.FAILURE_CLASS] == "not_found"
    assert attrs[sc.HTTP_STATUS_CODE] == 404 and attrs[sc.THREAD_ID] == "thread_missing"
    assert attrs[sc.REQUEST_ID].startswith("req_") and UUID.fullmatch(attrs[sc.AZURE_SERVICE_REQUEST_ID])


def test_429_records_retry_after(telemetry: Any, sim: Any, agents_client: Any) -> None:
    sim.add_fault(status=429, method="POST", path="/threads", retry_after=7)
    with pytest.raises(HttpResponseError):
        agents_client.threads.create()
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.FAILURE_CLASS] == "rate_limited" and attrs[sc.RETRY_AFTER_S] == 7
    assert attrs[sc.ERROR_CODE] == "rate_limit_exceeded"
    assert attrs[sc.RATELIMIT_REMAINING_REQUESTS] == 0


def test_azure_core_retries_are_counted(telemetry: Any, sim: Any) -> None:
    sim.add_fault(status=503, method="POST", path="/threads", retry_after=0, times=2)
    with agents_client(sim, retry_total=3, retry_backoff_factor=0) as client:
        client.threads.create()
    attrs = telemetry.one("create_thread").attributes
    assert attrs[sc.RETRIES] == 2 and attrs[sc.HTTP_STATUS_CODE] == 200


def test_runs_cut_short_by_the_content_filter(telemetry: Any, sim: Any, agents_client: Any) -> None:
    agent = agents_client.create_agent(model="prod-gpt4o")
    thread = agents_client.threads.create(messages=[{"role": "user", "content": "hi"}])
    sim.next_run_outcome("content_filter")
    run = agents_client.runs.create_and_process(thread.id, agent_id=agent.id, polling_interval=0)
    assert run.incomplete_details.reason == "content_filter"
    reply = next(iter(agents_client.messages.list(thread.id, run_id=run.id)))
    agents_client.messages.get(thread.id, reply.id)
    helper = telemetry.one_run(sc.DRIVER_HELPER).attributes
    assert helper[sc.RUN_STATUS] == "incomplete" and helper[sc.RUN_INCOMPLETE_REASON] == "content_filter"
    assert helper[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert helper[sc.AZURE_DEPLOYMENT] == "prod-gpt4o"
    message = telemetry.one("get_message").attributes
    assert message[sc.MESSAGE_INCOMPLETE_REASON] == "content_filter"
    assert message[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    # Counted once, by the helper that saw the run end; the message's repeat is not counted.
    (point,) = telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS)
    assert point.value == 1 and point.attributes[sc.CONTENT_FILTER_CATEGORY] == "unspecified"
    assert point.attributes[sc.CONTENT_FILTER_SOURCE] == "completion"
    assert point.attributes[sc.PROVIDER_NAME] == "azure.ai.agents"
    assert point.attributes[sc.AZURE_DEPLOYMENT] == "prod-gpt4o"


def test_other_azure_core_clients_are_not_read(telemetry: Any, sim: Any, agents_client: Any) -> None:
    """A tool function's own azure-core call, made inside create_and_process, stays out of our span."""
    seen: list[str] = []
    other: PipelineClient[Any, Any] = PipelineClient(base_url=sim.base_url)

    def get_weather(location: str, unit: str = "celsius") -> str:
        response = other.send_request(HttpRequest("GET", f"{sim.base_url}/assistants"))
        seen.append(response.headers["x-request-id"])
        return "sunny"

    def lookup_order(order_id: str) -> str:
        return "shipped"

    agents_client.enable_auto_function_calls({get_weather, lookup_order})
    agent = agents_client.create_agent(model="gpt-4o")
    thread = agents_client.threads.create()
    sim.next_run_outcome("requires_action", "completed")
    agents_client.runs.create_and_process(thread.id, agent_id=agent.id, polling_interval=0)
    helper = telemetry.one_run(sc.DRIVER_HELPER).attributes
    assert seen and seen[0] not in helper[sc.REQUEST_IDS]
    assert helper[sc.AZURE_API_VERSION] == "v1"  # the other client's URL has none


def test_uninstrument_restores_the_sdk(telemetry: Any, sim: Any) -> None:
    from azure.ai.agents.operations import _operations

    assistant_telemetry.uninstrument()
    assert not hasattr(Pipeline.__dict__["run"], "__wrapped__")
    assert not hasattr(_operations.RunsOperations.__dict__["get"], "_self_wrapper")
    with agents_client(sim) as client:
        client.threads.create()
        client.enable_auto_function_calls(tool_functions("x"))
    assert telemetry.spans == []


def test_sampled_out_calls_still_count(strict_guard: None, sim: Any) -> None:
    """A span that is not recorded reads nothing, yet its duration is measured with its endpoint."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from conftest import Telemetry

    telemetry = Telemetry()
    telemetry.tracer_provider.sampler = ALWAYS_OFF
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        with agents_client(sim) as client:
            client.threads.create()
    finally:
        assistant_telemetry.uninstrument()
    assert telemetry.spans == []
    (point,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.SERVER_ADDRESS] == "127.0.0.1"
    assert point.attributes[sc.PROVIDER_NAME] == "azure.ai.agents"


# --- next to Azure's own AIAgentsInstrumentor ------------------------------------------------------


def coexistence(order: str, tmp_path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(APP), order], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_coexistence_with_azure_ai_agents_instrumentor(tmp_path: Path) -> None:
    """Both on, in either order: nothing breaks, the outermost instrumentation of a call owns its
    span (docs/attributes.md, "Other GenAI instrumentations of a model call"), and the metrics are
    those of ours alone (AIAgentsInstrumentor records none, so a guest of its spans records ours).

    "Nothing breaks": the app's calls return the same objects (the same conversation runs to the
    same end) as with ours alone.
    """
    alone = coexistence("ours", tmp_path)
    # 78 SDK calls and 12 execute_tool spans (the functions auto-called in the app's tool runs).
    assert alone["theirs"] == {} and sum(alone["ours"].values()) == 90
    assert alone["ours"][sc.OP_EXECUTE_TOOL] == 12
    duration = f"assistant_telemetry:{sc.METRIC_OPERATION_DURATION}"
    assert alone["metrics"][duration] == sum(alone["ours"].values()) - 12  # one point per SDK call

    # Theirs first, ours outer: theirs is stepped over on every method, listings included.
    outer = coexistence("theirs-first", tmp_path)
    assert outer["ours"] == alone["ours"] and outer["theirs"] == {}
    # Ours first, theirs outer: the calls it wraps are its spans, with our attributes on them.
    inner = coexistence("ours-first", tmp_path)
    owned = {"create_message", "create_thread", "start_thread_run", "get_thread_run", "submit_tool_outputs"}
    assert not owned & set(inner["ours"]) and "create_agent" not in inner["ours"]
    for operation in owned:
        assert inner["theirs"][operation] > inner["theirs_without_ours"].get(operation, 0), operation
    assert inner["theirs_with_ours"] > 0 and inner["theirs_with_provider"] == inner["theirs_with_ours"]
    assert inner["ours"]["get_thread"] == 2 and inner["ours"][sc.OP_EXECUTE_TOOL] == 12
    # Known gaps (documented), asserted exactly so a fix shows: Azure names create_and_process
    # start_thread_run and create_thread_and_run process_thread_run, so our helper span (invoke_agent)
    # sits beneath theirs; its listings make one span per item read, after our listing's request.
    assert inner["ours_under_theirs"] == {
        "invoke_agent < start_thread_run": 2,
        "create_thread_and_run < process_thread_run": 2,
    }
    assert inner["theirs"]["list_messages"] == 4 and inner["theirs"]["list_run_steps"] == 2
    for both in (outer, inner):
        assert both["metrics"] == alone["metrics"]  # one duration and token record per call
        assert both["ours_without_provider"] == 0
        for flavour in ("sync", "async"):
            assert both["ids"][flavour]["stream_events"] == alone["ids"][flavour]["stream_events"]
            assert set(both["ids"][flavour]) == set(alone["ids"][flavour])

    # Uninstrumenting either one leaves the other working.
    theirs_only = coexistence("theirs-then-ours-uninstrumented", tmp_path)
    assert theirs_only["ours"] == {} and theirs_only["theirs"]["create_message"] == 2
    assert theirs_only["theirs_with_ours"] == 0 and theirs_only["theirs"]["process_thread_run"] >= 2
    ours_only = coexistence("ours-then-theirs-uninstrumented", tmp_path)
    assert ours_only["ours"] == alone["ours"] and ours_only["theirs"] == {}
    # Known limit (documented): uninstrumenting Azure's instrumentor when it was on *before* ours
    # puts back the SDK's own methods where it had wrapped them, ours included, until
    # assistant_telemetry is instrumented again. The app still works; the rest is still traced.
    limited = coexistence("theirs-first-then-theirs-uninstrumented", tmp_path)
    assert Counter(limited["ours"]) < Counter(alone["ours"]) and limited["ours"]["get_thread"] == 2
    assert "create_message" not in limited["ours"]


def test_every_operation_is_documented() -> None:
    text = (Path(__file__).parents[1] / "docs" / "attributes.md").read_text(encoding="utf-8")
    section = text.split("### Azure AI Agents (`azure-ai-agents`)", 1)[1].split("\n## ", 1)[0]
    for op in OPERATIONS:
        assert f"`{sc.Names().operation(op.operation, op.agent_operation)}`" in section, op
        assert op.method in section, op
    assert "`azure.ai.agents`" in section and "`az.ai.agents`" in section


def test_polled_runs_are_timed_and_replies_paired(telemetry: Any, sim: Any, agents_client: Any) -> None:
    """azure-ai-agents models carry their unix timestamps as datetimes: read as seconds all the same."""
    sim.run_timing(queue_s=2, execution_s=5)
    agent = agents_client.create_agent(model="prod-gpt4o")
    thread = agents_client.threads.create()
    question = agents_client.messages.create(thread.id, role="user", content="hi")
    agents_client.runs.create_and_process(thread.id, agent_id=agent.id, polling_interval=0)
    list(agents_client.messages.list(thread.id))
    helper = telemetry.one_run(sc.DRIVER_HELPER).attributes
    assert helper[sc.RUN_QUEUE_TIME] == 2 and helper[sc.RUN_EXECUTION_TIME] == 5
    assert helper[sc.EXECUTION_TOTAL_TIME] == 7
    (duration,) = telemetry.metric_points(sc.METRIC_EXECUTION_DURATION)
    assert duration.count == 1 and duration.sum == 7
    (listing,) = telemetry.named("list_messages")
    (reply,) = [e.attributes for e in listing.events if e.name == sc.EVENT_REPLY]
    assert reply[sc.REPLY_TO_MESSAGE_ID] == question.id and reply[sc.REPLY_TIME] >= 5

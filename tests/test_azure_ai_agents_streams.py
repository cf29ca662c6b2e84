"""azure-ai-agents run streams: the real AgentsClient (sync and aio) streaming from the simulator.

``runs.stream``'s span lives as long as the stream and reads its events as the openai path's run
streams do (same names); ``submit_tool_outputs_stream`` continues the run in its own span; an
early exit, an unread stream and a cut connection each end the span once, with their outcome;
the app's handler (its own subclass too) gets every event, as the very object it passed.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from azure.ai.agents.models import (
    AgentEventHandler,
    AgentRunStream,
    AsyncAgentEventHandler,
    AsyncAgentRunStream,
    BaseAgentEventHandler,
    BaseAsyncAgentEventHandler,
    ThreadMessage,
    ThreadRun,
)
from azure.ai.agents.models._patch import _parse_event
from azure.core.exceptions import HttpResponseError

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.instrumentors.azure_ai_agents_streams import AgentRunEvents, sse_event
from assistant_telemetry.simulator.server import DROP_AFTER_EVENTS
from assistant_telemetry.simulator.streaming import DONE, encode

from azure_clients import agents_client, async_agents_client, read_stream, resolve
from conftest import Telemetry

# simulator outcome -> (final run status, last_error code, incomplete reason, output tokens or None)
TERMINAL = {
    "completed": ("completed", None, None, 11),
    "failed": ("failed", "server_error", None, None),
    "incomplete": ("incomplete", None, "max_completion_tokens", 3),
    "content_filter": ("incomplete", None, "content_filter", 3),
    "expired": ("expired", None, None, None),
    "cancelled": ("cancelled", None, None, None),
}
Scenario = Callable[[Any], Coroutine[Any, Any, Any]]


@pytest.fixture(params=["sync", "aio"])
def flavour(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def drive(sim: Any, flavour: str, scenario: Scenario) -> Any:
    """``scenario(client)`` with a real sync or aio AgentsClient on the simulator."""
    if flavour == "sync":
        with agents_client(sim) as client:
            return asyncio.run(scenario(client))

    async def main() -> Any:
        async with async_agents_client(sim) as client:
            return await scenario(client)

    return asyncio.run(main())


async def conversation(client: Any) -> tuple[str, str]:
    agent = await resolve(client.create_agent(model="gpt-4o"))
    thread = await resolve(client.threads.create())
    await resolve(client.messages.create(thread.id, role="user", content="hello"))
    return agent.id, thread.id


def stream_span(telemetry: Telemetry) -> Any:
    """runs.stream's span: the run's invoke_agent span, driven as a stream."""
    (span,) = [
        s
        for s in telemetry.spans
        if sc.STREAM_OUTCOME in (s.attributes or {})
        and s.attributes[sc.OPERATION_NAME] != sc.OP_SUBMIT_TOOL_OUTPUTS
    ]
    assert span.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT
    assert span.attributes[sc.EXECUTION_DRIVER] == sc.DRIVER_STREAM
    assert span.name.startswith("invoke_agent asst_")  # no run read yet: the agent id of the request
    return span


def statuses(span: Any) -> list[str]:
    return [e.attributes[sc.RUN_STATUS] for e in span.events if e.name == sc.EVENT_RUN_STATUS]


def token_points(telemetry: Telemetry, token_type: str) -> list[Any]:
    points = telemetry.metric_points(sc.METRIC_TOKEN_USAGE)
    return [p for p in points if p.attributes[sc.TOKEN_TYPE] == token_type]


@pytest.mark.parametrize("outcome", sorted(TERMINAL))
def test_run_stream_span_reads_the_run_to_its_end(
    telemetry: Telemetry, sim: Any, flavour: str, outcome: str
) -> None:
    sim.run_timing(queue_s=4, execution_s=9)
    runs: list[Any] = []
    messages: list[Any] = []

    def keep(handler: Any, data: Any) -> None:
        if isinstance(data, ThreadRun):
            runs.append(data)
        elif isinstance(data, ThreadMessage):
            messages.append(data)

    async def scenario(client: Any) -> list[str]:
        agent_id, thread_id = await conversation(client)
        sim.next_run_outcome(outcome)
        stream = await resolve(client.runs.stream(thread_id, agent_id=agent_id))
        assert not telemetry.spans[3:]  # the stream's span is open while the app has not read it
        return await read_stream(stream, keep)

    names = drive(sim, flavour, scenario)
    status, error_code, incomplete_reason, output_tokens = TERMINAL[outcome]
    final = runs[-1]
    assert final.status == status and names[-1] == "done"

    span = stream_span(telemetry)
    attrs = span.attributes
    assert attrs[sc.RUN_ID] == final.id and attrs[sc.THREAD_ID] == final.thread_id
    assert attrs[sc.AGENT_ID] == final.agent_id and attrs[sc.AZURE_DEPLOYMENT] == "gpt-4o"
    assert attrs[sc.RUN_STATUS] == attrs[sc.EXECUTION_STATUS] == status
    assert attrs.get(sc.RUN_LAST_ERROR_CODE) == error_code
    assert attrs.get(sc.RUN_INCOMPLETE_REASON) == incomplete_reason
    assert attrs[sc.STREAM_OUTCOME] == "finished" and attrs[sc.STREAM_EVENTS] == len(names)
    assert attrs[sc.REQUEST_ID].startswith("req_")
    assert (attrs[sc.RUN_QUEUE_TIME], attrs[sc.RUN_EXECUTION_TIME], attrs[sc.RUN_TOTAL_TIME]) == (4, 9, 13)
    duration = (span.end_time - span.start_time) / 1e9
    assert 0 < attrs[sc.STREAM_TIME_TO_FIRST_EVENT] <= duration
    changes = statuses(span)
    assert changes[0] == "queued" and changes[-1] == status and len(changes) == len(set(changes))
    if status == "completed":
        assert span.status.status_code.name == "UNSET" and sc.FAILURE_CLASS not in attrs
    else:  # an agent invocation that did not complete failed
        assert span.status.status_code.name == "ERROR"
        assert attrs[sc.FAILURE_CLASS] == (error_code or incomplete_reason or status)
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)  # the run, counted once
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == status

    if output_tokens is None:
        assert sc.STREAM_TIME_TO_FIRST_DELTA not in attrs and sc.RUN_MESSAGE_IDS not in attrs
        assert not token_points(telemetry, "output")
        return
    assert attrs[sc.STREAM_TIME_TO_FIRST_EVENT] < attrs[sc.STREAM_TIME_TO_FIRST_DELTA] <= duration
    assert attrs[sc.RUN_MESSAGE_IDS] == (messages[-1].id,)
    assert (attrs[sc.USAGE_INPUT_TOKENS], attrs[sc.USAGE_OUTPUT_TOKENS]) == (120, output_tokens)
    (output_point,) = token_points(telemetry, "output")  # counted once, by the stream's span
    assert output_point.sum == output_tokens
    assert output_point.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT
    step_events = [e.attributes for e in span.events if e.name == sc.EVENT_RUN_STEP]
    assert step_events[-1][sc.MESSAGE_ID] == messages[-1].id  # the step links run -> message
    assert attrs[sc.RUN_STEP_IDS] == (step_events[-1][sc.RUN_STEP_ID],)
    (message_event,) = [e.attributes for e in span.events if e.name == sc.EVENT_MESSAGE]
    assert message_event[sc.MESSAGE_STATUS] == messages[-1].status
    if incomplete_reason == "content_filter":
        assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"  # as a polled run's
        assert message_event[sc.MESSAGE_INCOMPLETE_REASON] == "content_filter"
        (point,) = telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS)
        assert point.value == 1 and point.attributes[sc.CONTENT_FILTER_SOURCE] == "completion"
        assert point.attributes[sc.PROVIDER_NAME] == "azure.ai.agents"


def test_tool_outputs_stream_continues_the_run_in_its_own_span(
    telemetry: Telemetry, sim: Any, flavour: str
) -> None:
    """The app submits from its loop; the second response is chained onto the same handler."""
    submitted: list[str] = []

    async def scenario(client: Any) -> list[str]:
        agent_id, thread_id = await conversation(client)
        sim.next_run_outcome("requires_action", "completed")

        def submit(handler: Any, data: Any) -> Any:
            if not (isinstance(data, ThreadRun) and data.status == "requires_action"):
                return None
            submitted.append(data.id)
            calls = data.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
            outputs = [{"tool_call_id": call.id, "output": "sunny"} for call in calls]
            return client.runs.submit_tool_outputs_stream(
                thread_id, data.id, tool_outputs=outputs, event_handler=handler
            )

        return await read_stream(await resolve(client.runs.stream(thread_id, agent_id=agent_id)), submit)

    names = drive(sim, flavour, scenario)
    (run_id,) = submitted
    first = names.index("done") + 1
    assert names.count("done") == 2 and names[first - 2] == "thread.run.requires_action"

    waiting = stream_span(telemetry).attributes
    assert waiting[sc.RUN_ID] == run_id and waiting[sc.RUN_STATUS] == "requires_action"
    assert waiting[sc.RUN_REQUIRED_FUNCTIONS] == ("get_weather", "lookup_order")
    assert waiting[sc.STREAM_OUTCOME] == "finished" and waiting[sc.STREAM_EVENTS] == first
    assert sc.USAGE_INPUT_TOKENS not in waiting and sc.RUN_TOTAL_TIME not in waiting

    span: Any = telemetry.one("submit_tool_outputs")
    resumed = span.attributes
    assert resumed[sc.RUN_ID] == run_id and resumed[sc.TOOL_OUTPUTS] == 2
    assert resumed[sc.RUN_STATUS] == "completed" and resumed[sc.STREAM_OUTCOME] == "finished"
    assert resumed[sc.STREAM_EVENTS] == len(names) - first
    assert (resumed[sc.USAGE_INPUT_TOKENS], resumed[sc.USAGE_OUTPUT_TOKENS]) == (205, 35)
    assert len(resumed[sc.RUN_MESSAGE_IDS]) == 1 and sc.STREAM_TIME_TO_FIRST_DELTA in resumed
    assert statuses(span) == ["queued", "in_progress", "completed"]
    # The run's tokens count once: the span that saw it finish.
    (input_point,) = token_points(telemetry, "input")
    assert input_point.sum == 205 and input_point.attributes[sc.OPERATION_NAME] == "submit_tool_outputs"
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == "completed"


def test_leaving_the_with_block_early_abandons_the_stream(
    telemetry: Telemetry, sim: Any, flavour: str
) -> None:
    async def scenario(client: Any) -> tuple[list[str], Any]:
        agent_id, thread_id = await conversation(client)
        stream = await resolve(client.runs.stream(thread_id, agent_id=agent_id))
        names = await read_stream(stream, limit=1)
        # Ended by the exit itself: the stream and its handler are still referenced here.
        assert stream.event_handler is not None and stream_span(telemetry)
        return names, stream

    names, _ = drive(sim, flavour, scenario)
    attrs = stream_span(telemetry).attributes
    assert names == ["thread.run.created"]
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and 1 <= attrs[sc.STREAM_EVENTS] < 10
    assert attrs[sc.RUN_ID].startswith("run_") and attrs[sc.RUN_STATUS] in ("queued", "in_progress")
    assert sc.RUN_TOTAL_TIME not in attrs and not telemetry.metric_points(sc.METRIC_EXECUTIONS)


def test_a_stream_dropped_unread_ends_its_span(telemetry: Telemetry, sim: Any, flavour: str) -> None:
    async def scenario(client: Any) -> None:
        agent_id, thread_id = await conversation(client)
        stream = await resolve(client.runs.stream(thread_id, agent_id=agent_id))
        gc.collect()
        assert not telemetry.spans[3:]  # the stream's span is alive while the stream is
        del stream
        gc.collect()

    drive(sim, flavour, scenario)
    attrs = stream_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and attrs[sc.STREAM_EVENTS] == 0
    assert attrs[sc.THREAD_ID].startswith("thread_") and attrs[sc.HTTP_STATUS_CODE] == 200


def test_a_connection_cut_mid_stream_is_dropped(telemetry: Telemetry, sim: Any, flavour: str) -> None:
    names: list[str] = []

    async def scenario(client: Any) -> None:
        agent_id, thread_id = await conversation(client)
        sim.add_fault(kind="drop_stream", method="POST", path="/threads/*/runs")
        stream = await resolve(client.runs.stream(thread_id, agent_id=agent_id))
        await read_stream(stream, lambda handler, data: names.append(type(data).__name__))

    with pytest.raises(HttpResponseError) as raised:
        drive(sim, flavour, scenario)
    span = stream_span(telemetry)
    attrs = span.attributes
    assert attrs[sc.STREAM_OUTCOME] == "dropped"
    assert attrs[sc.STREAM_EVENTS] == len(names) == DROP_AFTER_EVENTS
    assert attrs[sc.ERROR_TYPE] == type(raised.value).__name__
    assert span.status.status_code.name == "ERROR" and attrs[sc.RUN_STATUS] == "queued"


def test_the_apps_own_handler_gets_every_event(telemetry: Telemetry, sim: Any, flavour: str) -> None:
    """A subclass with callbacks, drained by until_done(): the same object, every event once."""
    seen: list[tuple[str, ...]] = []

    class Handler(AgentEventHandler[None]):
        def on_thread_run(self, run: ThreadRun) -> None:
            seen.append(("run", run.status))

        def on_thread_message(self, message: ThreadMessage) -> None:
            seen.append(("message", message.id, message.status))

        def on_message_delta(self, delta: Any) -> None:
            seen.append(("delta",))

        def on_run_step(self, step: Any) -> None:
            seen.append(("step",))

        def on_done(self) -> None:
            seen.append(("done",))

    class AsyncHandler(AsyncAgentEventHandler[None]):
        async def on_thread_run(self, run: ThreadRun) -> None:
            seen.append(("run", run.status))

        async def on_thread_message(self, message: ThreadMessage) -> None:
            seen.append(("message", message.id, message.status))

        async def on_message_delta(self, delta: Any) -> None:
            seen.append(("delta",))

        async def on_run_step(self, step: Any) -> None:
            seen.append(("step",))

        async def on_done(self) -> None:
            seen.append(("done",))

    async def scenario(client: Any) -> None:
        agent_id, thread_id = await conversation(client)
        mine = Handler() if flavour == "sync" else AsyncHandler()
        stream = await resolve(client.runs.stream(thread_id, agent_id=agent_id, event_handler=mine))
        if flavour == "sync":
            assert isinstance(stream, AgentRunStream)
            with stream as handler:
                assert handler is mine and type(handler) is Handler
                handler.until_done()
        else:
            assert isinstance(stream, AsyncAgentRunStream)
            async with stream as handler:
                assert handler is mine and type(handler) is AsyncHandler
                await handler.until_done()

    drive(sim, flavour, scenario)
    attrs = stream_span(telemetry).attributes
    assert attrs[sc.STREAM_EVENTS] == len(seen) and seen[-2:] == [("run", "completed"), ("done",)]
    assert seen.count(("delta",)) == 7 and attrs[sc.RUN_STATUS] == "completed"
    (message_id,) = attrs[sc.RUN_MESSAGE_IDS]
    assert ("message", message_id, "completed") in seen


def test_a_handler_that_parses_events_its_own_way(telemetry: Telemetry, sim: Any, flavour: str) -> None:
    """A ``BaseAgentEventHandler`` with its own ``_process_event``: the span reads the same events."""

    class Names(BaseAgentEventHandler[str]):
        def _process_event(self, event_data_str: str) -> str:
            return event_data_str.split("\n", 1)[0].removeprefix("event: ")

    class AsyncNames(BaseAsyncAgentEventHandler[str]):
        async def _process_event(self, event_data_str: str) -> str:
            return event_data_str.split("\n", 1)[0].removeprefix("event: ")

    async def scenario(client: Any) -> list[str]:
        agent_id, thread_id = await conversation(client)
        if flavour == "sync":
            with client.runs.stream(thread_id, agent_id=agent_id, event_handler=Names()) as handler:
                return list(handler)
        stream = await client.runs.stream(thread_id, agent_id=agent_id, event_handler=AsyncNames())
        async with stream as handler:
            return [name async for name in handler]

    names = drive(sim, flavour, scenario)
    attrs = stream_span(telemetry).attributes
    assert names[-2:] == ["thread.run.completed", "done"]
    assert attrs[sc.STREAM_EVENTS] == len(names) and attrs[sc.RUN_STATUS] == "completed"
    assert attrs[sc.STREAM_OUTCOME] == "finished" and len(attrs[sc.RUN_MESSAGE_IDS]) == 1


def test_uninstrumented_streams_are_the_sdks_alone(telemetry: Telemetry, sim: Any) -> None:
    from azure.ai.agents.operations import _operations

    assistant_telemetry.uninstrument()
    assert not hasattr(_operations.RunsOperations.__dict__["create"], "_self_wrapper")

    async def scenario(client: Any) -> list[str]:
        agent_id, thread_id = await conversation(client)
        stream = await resolve(client.runs.stream(thread_id, agent_id=agent_id))
        assert type(stream.response_iterator).__name__ == "generator"
        return await read_stream(stream)

    assert drive(sim, "sync", scenario)[-1] == "done"
    assert telemetry.spans == []


# --- the bytes: events split as the SDK splits them, whatever the chunking -------------------------


def test_events_are_read_once_however_the_bytes_are_chunked() -> None:
    run = {"id": "run_1", "object": "thread.run", "status": "in_progress", "thread_id": "thread_1"}
    final = {**run, "status": "completed"}
    delta = {"id": "msg_1", "object": "thread.message.delta", "delta": {"content": []}}
    body = b"".join(
        [encode(("thread.run.created", run)), encode(("thread.message.delta", delta)), DONE]
    ) + encode(("thread.run.completed", final)).rstrip(b"\n")
    expected = [_parse_event(part.decode())[0] for part in body.split(b"\n\n")]
    for size in (1, 2, 3, 5, 17, 64, len(body)):
        observer = AgentRunEvents(None)  # type: ignore[arg-type]  # splitting needs no span
        events = []
        for start in range(0, len(body), size):
            events += observer.complete_events(body[start : start + size])
        assert [e["event"] for e in events] == expected[:-1], size
        assert events[0]["data"] == run and "data" not in events[1]  # a delta's text is not parsed
        # The last one has no separator: it waits for the stream's end, which reads it as the SDK does.
        assert sse_event(bytes(observer.pending).strip()) == {"event": expected[-1], "data": final}

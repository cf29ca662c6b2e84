"""Run streams: one span as long as the stream, however the app consumes or abandons it."""

from __future__ import annotations

import gc
from typing import Any

import openai
import pytest
from openai.lib.streaming import AssistantEventHandler, AsyncAssistantEventHandler

from assistant_telemetry import semconv as sc

from conftest import Telemetry
from scenarios import consume, drain, resolver, run

# simulator outcome -> (final run status, last_error code, incomplete reason, a message is made)
TERMINAL = {
    "completed": ("completed", None, None, True),
    "failed": ("failed", "server_error", None, False),
    "incomplete": ("incomplete", None, "max_completion_tokens", True),
    "content_filter": ("incomplete", None, "content_filter", True),
    "expired": ("expired", None, None, False),
    "cancelled": ("cancelled", None, None, False),
    "requires_action": ("requires_action", None, None, False),
}
HELPERS = ("stream", "create_and_stream", "create_and_run_stream", "submit_tool_outputs_stream")


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


async def conversation(client: Any) -> tuple[str, str]:
    resolve = resolver(client)
    assistant = await resolve(client.beta.assistants.create(model="gpt-4o"))
    thread = await resolve(client.beta.threads.create())
    await resolve(client.beta.threads.messages.create(thread.id, role="user", content="hello"))
    return assistant.id, thread.id


async def through_helper(client: Any, sim: Any, helper: str, outcome: str) -> Any:
    """Drive one stream helper to its end; returns the final run the SDK's handler saw."""
    runs = client.beta.threads.runs
    assistant_id, thread_id = await conversation(client)
    if helper == "create_and_run_stream":
        sim.next_run_outcome(outcome)
        return await consume(client, client.beta.threads.create_and_run_stream(assistant_id=assistant_id))
    if helper == "submit_tool_outputs_stream":
        sim.next_run_outcome("requires_action", outcome)
        waiting = await resolver(client)(runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id))
        calls = waiting.required_action.submit_tool_outputs.tool_calls
        outputs = [{"tool_call_id": c.id, "output": "ok"} for c in calls]
        manager = runs.submit_tool_outputs_stream(
            run_id=waiting.id, thread_id=thread_id, tool_outputs=outputs
        )
        return await consume(client, manager)
    sim.next_run_outcome(outcome)
    return await consume(client, getattr(runs, helper)(thread_id=thread_id, assistant_id=assistant_id))


def stream_span(telemetry: Telemetry) -> Any:
    """The one span a stream helper made (invoke_agent, or submit_tool_outputs for the submit helper)."""
    streamed = [s for s in telemetry.spans if sc.STREAM_OUTCOME in (s.attributes or {})]
    assert len(streamed) == 1, [s.name for s in telemetry.spans]
    assert not telemetry.named("start_thread_run")  # the helper's request is the stream span itself
    return streamed[0]


@pytest.mark.parametrize(
    ("helper", "outcome"),
    # submit_tool_outputs_stream's run already asked for tools once: its outcomes are the rest.
    [(h, o) for h in HELPERS for o in sorted(TERMINAL) if (h, o) != (HELPERS[3], "requires_action")],
)
def test_every_stream_helper_through_every_terminal_status(
    telemetry: Telemetry, sim: Any, either_client: Any, helper: str, outcome: str
) -> None:
    sim.run_timing(queue_s=4, execution_s=9)
    final = run(through_helper(either_client, sim, helper, outcome))
    status, error_code, incomplete_reason, makes_message = TERMINAL[outcome]
    assert final.status == status

    span = stream_span(telemetry)
    attrs = span.attributes
    if helper == "submit_tool_outputs_stream":  # it resumes the execution create_and_poll invoked
        assert attrs[sc.OPERATION_NAME] == sc.OP_SUBMIT_TOOL_OUTPUTS and span.name == "submit_tool_outputs"
    else:
        assert attrs[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT and span.name.startswith("invoke_agent asst_")
        assert attrs[sc.EXECUTION_DRIVER] == sc.DRIVER_STREAM
    assert attrs[sc.RUN_ID] == final.id and attrs[sc.THREAD_ID] == final.thread_id
    assert attrs[sc.RUN_STATUS] == status
    assert attrs.get(sc.RUN_LAST_ERROR_CODE) == error_code
    assert attrs.get(sc.RUN_INCOMPLETE_REASON) == incomplete_reason
    if incomplete_reason == "content_filter":
        assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"  # streamed runs, as retrieved ones
    assert attrs[sc.STREAM_OUTCOME] == "finished"
    assert attrs[sc.REQUEST_ID].startswith("req_")
    duration = (span.end_time - span.start_time) / 1e9
    assert 0 < attrs[sc.STREAM_TIME_TO_FIRST_EVENT] <= duration
    changes = [e.attributes[sc.RUN_STATUS] for e in span.events if e.name == sc.EVENT_RUN_STATUS]
    assert changes[-1] == status and len(changes) == len(set(changes))
    if makes_message:
        assert attrs[sc.STREAM_TIME_TO_FIRST_EVENT] < attrs[sc.STREAM_TIME_TO_FIRST_DELTA] <= duration
        (message_id,) = attrs[sc.RUN_MESSAGE_IDS]
        assert attrs[sc.USAGE_OUTPUT_TOKENS] > 0
        creation = [e.attributes for e in span.events if e.name == sc.EVENT_RUN_STEP]
        assert creation[-1][sc.MESSAGE_ID] == message_id  # the step links run -> message
        assert creation[-1][sc.RUN_STEP_TYPE] == "message_creation"
    else:
        assert sc.STREAM_TIME_TO_FIRST_DELTA not in attrs and sc.RUN_MESSAGE_IDS not in attrs
    if status == "requires_action":
        assert attrs[sc.RUN_REQUIRED_FUNCTIONS] == ("get_weather", "lookup_order")
        assert sc.RUN_TOTAL_TIME not in attrs  # the run has not finished
    else:
        assert attrs[sc.RUN_QUEUE_TIME] == 4 and attrs[sc.RUN_EXECUTION_TIME] == 9
        assert attrs[sc.RUN_TOTAL_TIME] == 13
    invocation_failed = helper != "submit_tool_outputs_stream" and status not in (
        "completed",
        "requires_action",
    )
    assert span.status.status_code.name == ("ERROR" if invocation_failed else "UNSET")
    assert (sc.FAILURE_CLASS in attrs) is invocation_failed


def test_stream_is_the_sdks_own_objects(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """Same handler object, same type checks, same helper methods, nothing missing."""
    assistant_id, thread_id = run(conversation(client))
    seen: list[str] = []

    class Handler(AssistantEventHandler):
        def on_text_delta(self, delta: Any, snapshot: Any) -> None:
            seen.append("delta")

        def on_message_done(self, message: Any) -> None:
            seen.append(message.id)

    handler = Handler()
    manager = client.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
    )
    with manager as stream:
        assert stream is handler
        text = "".join(stream.text_deltas)
        messages = stream.get_final_messages()
        final = stream.get_final_run()
    assert text and messages[0].id in seen and "delta" in seen
    assert final.status == "completed"
    assert stream_span(telemetry).attributes[sc.RUN_MESSAGE_IDS] == (messages[0].id,)


def test_async_custom_handler_and_iteration(telemetry: Telemetry, sim: Any, async_client: Any) -> None:
    done: list[str] = []

    class Handler(AsyncAssistantEventHandler):
        async def on_end(self) -> None:
            done.append("end")

    async def scenario() -> list[str]:
        assistant_id, thread_id = await conversation(async_client)
        handler = Handler()
        runs = async_client.beta.threads.runs
        async with runs.stream(
            thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
        ) as stream:
            assert stream is handler
            return [event.event async for event in stream]

    events = run(scenario())
    assert done == ["end"] and events[-1] == "thread.run.completed"
    assert stream_span(telemetry).attributes[sc.STREAM_EVENTS] == len(events)


@pytest.mark.parametrize("api", ["runs.create", "threads.create_and_run", "runs.submit_tool_outputs"])
def test_raw_stream_true_span_lives_as_long_as_the_stream(
    telemetry: Telemetry, sim: Any, either_client: Any, api: str
) -> None:
    # A run started as a stream is the execution; a submit resumes it.
    operation = sc.OP_SUBMIT_TOOL_OUTPUTS if api == "runs.submit_tool_outputs" else sc.OP_INVOKE_AGENT

    async def scenario() -> tuple[Any, list[Any]]:
        resolve = resolver(either_client)
        runs = either_client.beta.threads.runs
        assistant_id, thread_id = await conversation(either_client)
        if api == "threads.create_and_run":
            stream = await resolve(
                either_client.beta.threads.create_and_run(assistant_id=assistant_id, stream=True)
            )
        elif api == "runs.create":
            stream = await resolve(runs.create(thread_id, assistant_id=assistant_id, stream=True))
        else:
            sim.next_run_outcome("requires_action", "completed")
            waiting = await resolve(runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id))
            calls = waiting.required_action.submit_tool_outputs.tool_calls
            outputs = [{"tool_call_id": c.id, "output": "ok"} for c in calls]
            stream = await resolve(
                runs.submit_tool_outputs(waiting.id, thread_id=thread_id, tool_outputs=outputs, stream=True)
            )
        assert isinstance(stream, (openai.Stream, openai.AsyncStream))
        assert not [s for s in telemetry.spans if sc.STREAM_OUTCOME in s.attributes]  # open while unread
        return stream, await drain(stream)

    _, events = run(scenario())
    (span,) = [s for s in telemetry.spans if s.attributes.get(sc.STREAM_OUTCOME)]
    attrs = span.attributes
    assert attrs[sc.OPERATION_NAME] == operation
    if operation == sc.OP_INVOKE_AGENT:
        assert attrs[sc.EXECUTION_DRIVER] == sc.DRIVER_STREAM and span.name.startswith("invoke_agent asst_")
    assert attrs[sc.STREAM_OUTCOME] == "finished" and attrs[sc.STREAM_EVENTS] == len(events)
    assert attrs[sc.RUN_STATUS] == "completed" and attrs[sc.RUN_ID] == events[-1].data.id
    assert len(attrs[sc.RUN_MESSAGE_IDS]) == 1


def test_stream_abandoned_early_still_ends_its_span(telemetry: Telemetry, sim: Any, client: Any) -> None:
    assistant_id, thread_id = run(conversation(client))
    with client.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        for event in stream:
            if event.event == "thread.run.in_progress":
                break
    attrs = stream_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned"
    assert attrs[sc.RUN_STATUS] == "in_progress" and attrs[sc.STREAM_EVENTS] == 3


def test_raw_stream_dropped_without_close_ends_when_collected(
    telemetry: Telemetry, sim: Any, client: Any
) -> None:
    assistant_id, thread_id = run(conversation(client))
    stream = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id, stream=True)
    next(iter(stream))
    assert not telemetry.spans[3:]  # the assistant's, the thread's and the message's only
    del stream
    gc.collect()
    attrs = telemetry.one_run(sc.DRIVER_STREAM).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and attrs[sc.STREAM_EVENTS] == 1


def test_connection_dropped_mid_stream(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    """The app sees the SDK's own error; the span ends with the outcome and the error class."""

    async def scenario() -> BaseException:
        assistant_id, thread_id = await conversation(either_client)
        sim.add_fault(kind="drop_stream", method="POST", path="*/runs")
        runs = either_client.beta.threads.runs
        with pytest.raises(Exception) as caught:
            await consume(either_client, runs.stream(thread_id=thread_id, assistant_id=assistant_id))
        return caught.value

    error = run(scenario())
    span = stream_span(telemetry)
    attrs = span.attributes
    assert attrs[sc.STREAM_OUTCOME] == "dropped"
    # openai 3.x's stream raises APIConnectionError and its helper hands the app the cause;
    # openai 1.x/2.x streams raise the transport's error itself. The span names what the stream raised.
    assert attrs[sc.ERROR_TYPE] in {"APIConnectionError", type(error).__name__}
    assert attrs[sc.FAILURE_CLASS] == "connection"
    assert span.status.status_code.name == "ERROR"


def test_run_metrics_once_per_run_with_exemplars(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """A streamed run, then the app retrieves and lists it again: every run metric counts it once."""
    sim.run_timing(queue_s=2, execution_s=30)
    assistant_id, thread_id = run(conversation(client))
    runs = client.beta.threads.runs
    with runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
        stream.until_done()
        run_id = stream.current_run.id
    runs.retrieve(run_id, thread_id=thread_id)
    runs.retrieve(run_id, thread_id=thread_id)
    client.beta.threads.messages.list(thread_id)

    span = stream_span(telemetry)
    (total,) = telemetry.metric_points(sc.METRIC_EXECUTION_DURATION)
    assert total.count == 1 and total.sum == 32
    assert total.attributes[sc.EXECUTION_STATUS] == "completed" and sc.RUN_ID not in total.attributes
    assert total.attributes[sc.EXECUTION_KIND] == "thread.run"
    assert [e.span_id for e in total.exemplars] == [span.context.span_id]
    assert telemetry.metric_points(sc.METRIC_EXECUTION_QUEUE_TIME)[0].sum == 2
    assert telemetry.metric_points(sc.METRIC_EXECUTION_ACTIVE_TIME)[0].sum == 30
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1
    tokens = telemetry.metric_points(sc.METRIC_TOKEN_USAGE)
    assert sum(p.count for p in tokens) == 2  # input and output, once
    (reply,) = telemetry.metric_points(sc.METRIC_REPLY_TIME)
    assert reply.count == 1 and reply.sum >= 32
    for retrieved in telemetry.named("get_thread_run"):
        assert sc.RUN_TOTAL_TIME not in retrieved.attributes  # timings on the first span only

"""Response streams: one span as long as the stream, ended by the response's final event."""

from __future__ import annotations

import gc
from typing import Any

import openai
import pytest
from openai.lib.streaming.responses import AsyncResponseStream, ResponseStream

import assistant_telemetry
from assistant_telemetry import semconv as sc

from conftest import Telemetry
from scenarios import consume_response, drain, resolver, run, sync_resolve

# simulator outcome -> (final status, error code, incomplete reason, text deltas, output item types)
OUTCOMES = {
    "completed": ("completed", None, None, True, ("message",)),
    "requires_action": ("completed", None, None, False, ("function_call", "function_call")),
    "failed": ("failed", "server_error", None, False, ()),
    "incomplete": ("incomplete", None, "max_output_tokens", True, ("message",)),
    "content_filter": ("incomplete", None, "content_filter", True, ("message",)),
}


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


def stream_span(telemetry: Telemetry, name: str = "chat") -> Any:
    streamed = [s for s in telemetry.named(name) if sc.STREAM_OUTCOME in s.attributes]
    assert len(streamed) == 1, [(s.name, dict(s.attributes)) for s in telemetry.spans]
    return streamed[0]


@pytest.mark.parametrize("how", ["create", "helper"])
@pytest.mark.parametrize("outcome", sorted(OUTCOMES))
def test_every_outcome_through_a_stream(
    telemetry: Telemetry, sim: Any, either_client: Any, outcome: str, how: str
) -> None:
    sim.run_timing(queue_s=1, execution_s=4)
    sim.next_run_outcome(outcome)

    async def scenario() -> list[Any]:
        responses = either_client.responses
        if how == "helper":
            seen: list[Any] = []
            manager = responses.stream(model="gpt-4o", input="hello")
            if resolver(either_client) is sync_resolve:
                with manager as stream:
                    assert isinstance(stream, ResponseStream)  # the SDK's own helper object
                    seen.extend(stream)
            else:
                async with manager as stream:
                    assert isinstance(stream, AsyncResponseStream)
                    seen.extend([event async for event in stream])
            return seen
        stream = await resolver(either_client)(responses.create(model="gpt-4o", input="hello", stream=True))
        assert isinstance(stream, (openai.Stream, openai.AsyncStream))
        assert not telemetry.spans  # the span lives while the app reads
        return await drain(stream)

    seen = run(scenario())
    status, error_code, reason, deltas, item_types = OUTCOMES[outcome]
    span = stream_span(telemetry)
    assert len(telemetry.spans) == 1  # a stream helper is the span of the create it makes
    attrs = span.attributes
    final = seen[-1].response
    assert attrs[sc.RESPONSE_ID] == final.id and attrs[sc.EXECUTION_STATUS] == status == final.status
    assert attrs[sc.OPERATION_NAME] == "chat" and attrs[sc.REQUEST_MODEL] == "gpt-4o"
    assert attrs.get(sc.EXECUTION_ERROR_CODE) == error_code
    assert attrs.get(sc.EXECUTION_INCOMPLETE_REASON) == reason
    assert attrs[sc.STREAM_OUTCOME] == "finished" and attrs[sc.REQUEST_ID].startswith("req_")
    duration = (span.end_time - span.start_time) / 1e9
    assert 0 < attrs[sc.STREAM_TIME_TO_FIRST_EVENT] <= duration
    assert (sc.STREAM_TIME_TO_FIRST_DELTA in attrs) == deltas
    if deltas:
        assert attrs[sc.STREAM_TIME_TO_FIRST_EVENT] < attrs[sc.STREAM_TIME_TO_FIRST_DELTA] <= duration
    assert attrs.get(sc.RESPONSE_OUTPUT_ITEM_TYPES, ()) == item_types
    if item_types:
        assert attrs[sc.RESPONSE_OUTPUT_ITEM_IDS] == tuple(item.id for item in final.output)
        assert attrs[sc.USAGE_OUTPUT_TOKENS] > 0 and attrs[sc.USAGE_CACHE_READ_INPUT_TOKENS] == 64
    messages = [e.attributes for e in span.events if e.name == sc.EVENT_MESSAGE]
    assert [m[sc.MESSAGE_ID] for m in messages] == [i.id for i in final.output if i.type == "message"]
    for message in messages:
        assert message[sc.RESPONSE_ID] == final.id  # which execution produced which message
    if status == "completed":
        assert attrs[sc.EXECUTION_TOTAL_TIME] == 5.0
    assert span.status.status_code.name != "ERROR"
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == status
    if item_types:
        assert sum(p.count for p in telemetry.metric_points(sc.METRIC_TOKEN_USAGE)) == 2


def test_helper_final_response_and_text(telemetry: Telemetry, sim: Any, client: Any) -> None:
    with client.responses.stream(model="gpt-4o", input="hello") as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text and final.status == "completed"
    attrs = stream_span(telemetry).attributes
    assert attrs[sc.RESPONSE_ID] == final.id and attrs[sc.STREAM_EVENTS] > 10


def test_span_ends_at_the_final_event_even_if_the_app_stops_reading(
    telemetry: Telemetry, sim: Any, client: Any
) -> None:
    """``ResponseStream.close()`` never reaches the SDK's raw stream: the final event ends the span."""
    with client.responses.stream(model="gpt-4o", input="hello") as stream:
        for event in stream:
            if event.type == "response.completed":
                break
        ended = stream_span(telemetry)  # not waiting for the garbage collector
    assert ended.attributes[sc.STREAM_OUTCOME] == "finished"
    assert ended.attributes[sc.EXECUTION_STATUS] == "completed"


def test_stream_abandoned_before_the_end(telemetry: Telemetry, sim: Any, client: Any) -> None:
    stream = client.responses.create(model="gpt-4o", input="hello", stream=True)
    for event in stream:
        if event.type == "response.output_text.delta":
            break
    stream.close()
    attrs = stream_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and attrs[sc.EXECUTION_STATUS] == "in_progress"
    assert sc.STREAM_TIME_TO_FIRST_DELTA in attrs
    assert len(attrs[sc.RESPONSE_OUTPUT_ITEM_IDS]) == 1  # the items added so far
    assert not telemetry.metric_points(sc.METRIC_EXECUTIONS)  # it never finished here


def unnamed_stream(client: Any, api: str) -> Any:
    if api == "chat":
        messages = [{"role": "user", "content": "hello"}]
        options = {"include_usage": True}
        return client.chat.completions.create(
            model="gpt-4o", messages=messages, stream=True, stream_options=options
        )
    return client.responses.create(model="gpt-4o", input="hello", stream=True)


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_a_for_over_the_call_itself_keeps_its_span_to_the_end(
    telemetry: Telemetry, sim: Any, client: Any, api: str
) -> None:
    """``for event in client.responses.create(..., stream=True)``: only the loop's iterator holds the
    stream. (Once it did not hold the proxy, whose finalizer ended the span at once: abandoned, no events.)"""
    seen = 0
    for _event in unnamed_stream(client, api):
        if not seen:
            gc.collect()
            assert not [s for s in telemetry.spans if sc.STREAM_OUTCOME in s.attributes]  # open mid-stream
        seen += 1
    attrs = stream_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "finished" and attrs[sc.STREAM_EVENTS] == seen > 2
    assert attrs[sc.RESPONSE_ID].startswith("chatcmpl-" if api == "chat" else "resp_")
    assert attrs[sc.USAGE_INPUT_TOKENS] > 0 and sc.STREAM_TIME_TO_FIRST_DELTA in attrs
    if api == "chat":
        assert attrs[sc.RESPONSE_FINISH_REASONS] == ("stop",)


def test_a_sampled_out_unnamed_stream_records_its_duration_at_its_end(
    strict_guard: None, sim: Any, client: Any
) -> None:
    """Sampled out, the items pass by (``yield from``) and the end still counts: when the stream ends."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    telemetry = Telemetry()
    telemetry.tracer_provider.sampler = ALWAYS_OFF
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    durations = (sc.METRIC_OPERATION_DURATION, sc.METRIC_INFERENCE_DURATION)
    try:
        seen = 0
        for _event in unnamed_stream(client, "chat"):
            if not seen:
                gc.collect()
                assert not [p for name in durations for p in telemetry.metric_points(name)]
            seen += 1
    finally:
        assistant_telemetry.uninstrument()
    assert telemetry.spans == [] and seen > 2
    assert [p.count for name in durations for p in telemetry.metric_points(name)] == [1]


def test_helper_abandoned_ends_when_collected(telemetry: Telemetry, sim: Any, client: Any) -> None:
    def read_a_little() -> None:
        with client.responses.stream(model="gpt-4o", input="hello") as stream:
            next(iter(stream))

    read_a_little()
    gc.collect()
    assert stream_span(telemetry).attributes[sc.STREAM_OUTCOME] == "abandoned"


def test_connection_dropped_mid_stream(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    async def scenario() -> BaseException:
        sim.add_fault(kind="drop_stream", method="POST", path="/responses")
        with pytest.raises(openai.APIConnectionError) as caught:
            await consume_response(either_client, either_client.responses.stream(model="gpt-4o", input="x"))
        return caught.value

    run(scenario())
    span = stream_span(telemetry)
    assert span.attributes[sc.STREAM_OUTCOME] == "dropped"
    assert span.attributes[sc.FAILURE_CLASS] == "connection" and span.status.status_code.name == "ERROR"


def test_background_stream_then_resume(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    """A background stream's events show the queue as it happens; resuming replays it, counted once."""
    sim.run_timing(queue_s=2, execution_s=3)

    async def scenario() -> Any:
        responses = either_client.responses
        stream = await resolver(either_client)(
            responses.create(model="gpt-4o", input="x", background=True, stream=True)
        )
        events = await drain(stream)
        final = await consume_response(either_client, responses.stream(response_id=events[0].response.id))
        return events, final

    events, final = run(scenario())
    assert [e.type for e in events[:3]] == ["response.created", "response.queued", "response.in_progress"]
    created, resumed = stream_span(telemetry, "chat"), stream_span(telemetry, "get_response")
    assert created.attributes[sc.RESPONSE_BACKGROUND] is True
    assert created.attributes[sc.EXECUTION_TOTAL_TIME] == 5.0
    assert (
        0 <= created.attributes[sc.EXECUTION_QUEUE_TIME] <= created.attributes[sc.STREAM_TIME_TO_FIRST_DELTA]
    )
    assert resumed.attributes[sc.RESPONSE_ID] == final.id == created.attributes[sc.RESPONSE_ID]
    assert sc.EXECUTION_TOTAL_TIME not in resumed.attributes  # measured once, by the first to see it end
    assert not [e for e in resumed.events if e.name == sc.EVENT_MESSAGE]  # reported once, too
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1


def test_error_event_ends_the_span_as_an_error(telemetry: Telemetry, sim: Any) -> None:
    """The service's ``error`` event: its code is kept, never its message."""
    from assistant_telemetry import runtime
    from assistant_telemetry.calls import start
    from assistant_telemetry.instrumentors.openai import RESPONSES_OPERATIONS
    from assistant_telemetry.streams import ResponseEvents

    spec = next(op for op in RESPONSES_OPERATIONS if op.method == "create" and op.owner == "Responses")
    call = start(spec, None, (), {"model": "gpt-4o"})
    assert call is not None and runtime.ACTIVE is not None
    observer = ResponseEvents(call)
    call.streaming = True
    call.detach()
    observer.item(
        {
            "type": "response.created",
            "response": {"id": "resp_1", "object": "response", "status": "in_progress"},
        }
    )
    observer.item(
        {"type": "error", "code": "server_error", "message": "CANARY the input was ...", "param": None}
    )
    observer.item({"type": "response.output_text.delta", "delta": "late"})  # after the end: ignored
    span = telemetry.one("chat")
    attrs = span.attributes
    assert attrs[sc.STREAM_OUTCOME] == "error" and attrs[sc.ERROR_CODE] == "server_error"
    assert attrs[sc.STREAM_EVENTS] == 2 and span.status.status_code.name == "ERROR"
    assert "CANARY" not in str(dict(attrs)) and "CANARY" not in (span.status.description or "")

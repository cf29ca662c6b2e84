"""``with_raw_response`` and ``with_streaming_response``: the span lives as long as the app reads the body.

Every combination of wrapper (raw, streaming) x body (JSON, ``stream=True``) x client (sync, async) x
API (Responses, chat) is one span that ends after the last chunk (or the parsed body), with the
response id, status / finish reason and usage, and one duration point covering the body. The
simulator paces its answers (real sleeps after the headers), so a span or a duration that stopped at
the headers is measurably too short. Also: the call shapes of the Microsoft Agent Framework
(``with_raw_response.create(stream=True)`` then ``async with raw.parse()``) and of the OpenAI Agents
SDK (``with_streaming_response.create(stream=True)`` entered by hand), ``.parse()`` identity, bodies
abandoned unread or half-read, and canary content never exported.
"""

from __future__ import annotations

import gc
import time
from typing import Any

import openai
import pytest

from assistant_telemetry import semconv as sc

from conftest import Telemetry
from scenarios import async_resolve, resolver, run

CANARY = "CANARY-RAW-BODY-4b2e"
BODY_S = 0.25  # the simulator's pause between the headers and a JSON body
EVENT_S = 0.02  # ... and between two events of a stream


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


@pytest.fixture
def paced(sim: Any) -> Any:
    sim.pace(body_s=BODY_S, event_s=EVENT_S)
    yield sim
    sim.pace()


def request(client: Any, api: str, stream: bool) -> tuple[Any, dict[str, Any]]:
    if api == "responses":
        return client.responses, {
            "model": "gpt-4o",
            "input": CANARY,
            "instructions": CANARY,
            "stream": stream,
        }
    kwargs: dict[str, Any] = {"model": "gpt-4o", "messages": [{"role": "user", "content": CANARY}]}
    if stream:
        kwargs.update(stream=True, stream_options={"include_usage": True})
    else:
        kwargs["stream"] = False
    return client.chat.completions, kwargs


async def call(client: Any, api: str, wrapper: str, stream: bool) -> tuple[Any, list[Any], int]:
    """Make the call as an app would; what ``.parse()`` gave, the events read, when the last arrived."""
    resolve = resolver(client)
    asynchronous = resolve is async_resolve
    resource, kwargs = request(client, api, stream)
    events: list[Any] = []
    arrivals: list[int] = []

    async def drain(stream: Any) -> list[Any]:  # timestamps each event as the app receives it
        received = []
        if hasattr(stream, "__anext__"):
            async for event in stream:
                received.append(event)
                arrivals.append(time.time_ns())
        else:
            for event in stream:
                received.append(event)
                arrivals.append(time.time_ns())
        return received

    def last_chunk(fallback: int) -> int:
        # The span ends while the final event passes the proxy, just before the app holds it: it must
        # end no earlier than the event before that (a span that stopped at the headers ends far earlier).
        return arrivals[-2] if len(arrivals) >= 2 else fallback

    if wrapper == "raw":
        returned = time.time_ns()  # the SDK reads a raw JSON body inside the call
        raw = await resolve(resource.with_raw_response.create(**kwargs))
        parsed = raw.parse()  # sync on both clients (LegacyAPIResponse)
        assert raw.parse() is parsed  # the SDK's cache: the same object, not a copy
        if stream:
            events = await drain(parsed)
        return parsed, events, last_chunk(returned)
    manager = resource.with_streaming_response.create(**kwargs)
    if asynchronous:
        async with manager as response:
            done = time.time_ns()  # a JSON body is read by parse(): the span ends inside it
            parsed = await response.parse()
            assert await response.parse() is parsed
            if stream:
                events = await drain(parsed)
    else:
        with manager as response:
            done = time.time_ns()
            parsed = response.parse()
            assert response.parse() is parsed
            if stream:
                events = await drain(parsed)
    return parsed, events, last_chunk(done)


def the_span(telemetry: Telemetry) -> Any:
    (span,) = telemetry.named("chat")
    assert len(telemetry.spans) == 1, [s.name for s in telemetry.spans]
    return span


def assert_no_canary(telemetry: Telemetry) -> None:
    for span in telemetry.spans:
        exported = [dict(span.attributes), span.status.description, [dict(e.attributes) for e in span.events]]
        assert CANARY not in repr(exported)


@pytest.mark.parametrize("api", ["responses", "chat"])
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("wrapper", ["raw", "streaming"])
def test_one_span_until_the_body_is_read(
    telemetry: Telemetry, paced: Any, either_client: Any, api: str, stream: bool, wrapper: str
) -> None:
    started = time.time_ns()
    parsed, events, done = run(call(either_client, api, wrapper, stream))
    span = the_span(telemetry)
    attrs = span.attributes

    if stream:
        assert isinstance(parsed, (openai.Stream, openai.AsyncStream))  # the SDK's own stream, observed
        assert len(events) > 5 and attrs[sc.STREAM_EVENTS] == len(events)
        assert attrs[sc.STREAM_OUTCOME] == "finished"
        body_time = (len(events) - 1) * EVENT_S
        response_id = events[-1].response.id if api == "responses" else events[0].id
    else:
        assert type(parsed).__module__.startswith("openai.types")  # the model itself, no proxy
        body_time = BODY_S
        response_id = parsed.id
        if wrapper == "streaming":
            assert attrs[sc.BODY_OUTCOME] == "read"
    assert attrs[sc.RESPONSE_ID] == response_id and attrs[sc.REQUEST_ID].startswith("req_")
    if api == "responses":
        assert attrs[sc.EXECUTION_STATUS] == "completed"
        assert attrs[sc.RESPONSE_OUTPUT_ITEM_TYPES] == ("message",) or stream
    else:
        assert attrs[sc.RESPONSE_FINISH_REASONS] == ("stop",)
    assert attrs[sc.USAGE_INPUT_TOKENS] > 0 and attrs[sc.USAGE_OUTPUT_TOKENS] > 0

    # The span ends after the app had its last chunk, and lasts at least as long as the body took.
    assert span.end_time >= done
    assert (span.end_time - span.start_time) / 1e9 >= body_time * 0.9
    assert span.start_time >= started
    (duration,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert duration.count == 1 and duration.sum >= body_time * 0.9
    tokens = sorted(p.attributes[sc.TOKEN_TYPE] for p in telemetry.metric_points(sc.METRIC_TOKEN_USAGE))
    assert tokens == ["input", "output"]
    assert all(p.count == 1 for p in telemetry.metric_points(sc.METRIC_TOKEN_USAGE))
    assert_no_canary(telemetry)


def test_agent_framework_call_shape(telemetry: Telemetry, paced: Any, async_client: Any) -> None:
    """agent_framework_openai: ``with_raw_response.create(stream=True)``, headers read, then
    ``async with raw.parse() as stream`` iterated; non-streamed: ``raw.parse()`` of ``stream=False``."""

    async def scenario() -> tuple[list[Any], Any]:
        responses = async_client.responses
        raw = await responses.with_raw_response.create(stream=True, model="gpt-4o", input=CANARY)
        assert raw.headers.get("x-request-id")
        seen = []
        async with raw.parse() as stream:
            async for chunk in stream:
                seen.append(chunk)
        plain = await responses.with_raw_response.create(stream=False, model="gpt-4o", input=CANARY)
        response = plain.parse()
        assert plain.parse() is response
        return seen, response

    seen, response = run(scenario())
    streamed, answered = telemetry.named("chat")
    assert streamed.attributes[sc.RESPONSE_ID] == seen[-1].response.id
    assert streamed.attributes[sc.STREAM_OUTCOME] == "finished"
    assert streamed.attributes[sc.USAGE_OUTPUT_TOKENS] > 0
    assert (streamed.end_time - streamed.start_time) / 1e9 >= (len(seen) - 1) * EVENT_S * 0.9
    assert answered.attributes[sc.RESPONSE_ID] == response.id
    assert answered.attributes[sc.EXECUTION_STATUS] == "completed"
    assert len(telemetry.metric_points(sc.METRIC_OPERATION_DURATION)) == 1  # one series ...
    assert telemetry.metric_points(sc.METRIC_OPERATION_DURATION)[0].count == 2  # ... two calls
    assert_no_canary(telemetry)


def test_openai_agents_call_shape(telemetry: Telemetry, paced: Any, async_client: Any) -> None:
    """openai-agents ``run_streamed``: the streaming-response manager entered by hand, ``await
    parse()`` iterated, the request id read, the manager exited by a cleanup callback later."""

    async def scenario() -> tuple[list[Any], Any]:
        manager = async_client.responses.with_streaming_response.create(
            stream=True, model="gpt-4o", input=CANARY
        )
        api_response = await manager.__aenter__()
        stream = await api_response.parse()
        seen = [event async for event in stream]
        request_id = api_response.request_id
        await manager.__aexit__(None, None, None)
        return seen, request_id

    seen, request_id = run(scenario())
    span = the_span(telemetry)
    assert span.attributes[sc.REQUEST_ID] == request_id
    assert span.attributes[sc.RESPONSE_ID] == seen[-1].response.id
    assert span.attributes[sc.EXECUTION_STATUS] == "completed"
    assert span.attributes[sc.STREAM_OUTCOME] == "finished"
    assert (span.end_time - span.start_time) / 1e9 >= (len(seen) - 1) * EVENT_S * 0.9
    assert_no_canary(telemetry)


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_raw_stream_never_parsed_is_abandoned(telemetry: Telemetry, sim: Any, client: Any, api: str) -> None:
    resource, kwargs = request(client, api, True)
    raw = resource.with_raw_response.create(**kwargs)
    assert not telemetry.spans  # waiting for the app
    del raw
    gc.collect()
    attrs = the_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and attrs[sc.STREAM_EVENTS] == 0


@pytest.mark.parametrize("api", ["responses", "chat"])
def test_raw_stream_dropped_half_read_is_abandoned(
    telemetry: Telemetry, sim: Any, client: Any, api: str
) -> None:
    resource, kwargs = request(client, api, True)
    raw = resource.with_raw_response.create(**kwargs)
    stream = raw.parse()
    next(stream), next(stream)
    assert not telemetry.spans
    del raw
    gc.collect()
    assert not telemetry.spans  # the raw response is gone, the stream it gave still lives
    del stream
    gc.collect()
    attrs = the_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and attrs[sc.STREAM_EVENTS] == 2


def test_async_raw_stream_never_iterated_is_abandoned(
    telemetry: Telemetry, sim: Any, async_client: Any
) -> None:
    async def scenario() -> None:
        raw = await async_client.responses.with_raw_response.create(model="gpt-4o", input="x", stream=True)
        stream = raw.parse()
        del raw, stream
        gc.collect()

    run(scenario())
    assert the_span(telemetry).attributes[sc.STREAM_OUTCOME] == "abandoned"


def test_streaming_response_exited_unread(telemetry: Telemetry, sim: Any, either_client: Any) -> None:
    """The manager's exit closes a body the app never read: JSON and stream both end ``abandoned``."""

    async def scenario() -> None:
        for stream in (False, True):
            manager = either_client.responses.with_streaming_response.create(
                model="gpt-4o", input="x", stream=stream
            )
            if resolver(either_client) is async_resolve:
                async with manager:
                    pass
            else:
                with manager:
                    pass

    run(scenario())
    json_span, stream_span = telemetry.named("chat")
    assert json_span.attributes[sc.BODY_OUTCOME] == "abandoned" and sc.RESPONSE_ID not in json_span.attributes
    assert stream_span.attributes[sc.STREAM_OUTCOME] == "abandoned"
    assert stream_span.attributes[sc.STREAM_EVENTS] == 0


def test_streaming_response_stream_left_early(telemetry: Telemetry, sim: Any, client: Any) -> None:
    with client.chat.completions.with_streaming_response.create(
        model="gpt-4o", messages=[{"role": "user", "content": "x"}], stream=True
    ) as response:
        for _ in response.parse():
            break
    attrs = the_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "abandoned" and attrs[sc.STREAM_EVENTS] == 1


def test_streaming_response_read_as_json(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """``.json()`` reads the body too: the span has what ``.parse()`` would have given it."""
    with client.responses.with_streaming_response.create(model="gpt-4o", input="x") as response:
        body = response.json()
    attrs = the_span(telemetry).attributes
    assert attrs[sc.RESPONSE_ID] == body["id"] and attrs[sc.EXECUTION_STATUS] == "completed"
    assert attrs[sc.BODY_OUTCOME] == "read"


def test_streaming_response_entered_and_dropped(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """Never exited, never read, garbage-collected: the span still ends."""
    manager = client.responses.with_streaming_response.retrieve(
        client.responses.create(model="gpt-4o", input="x").id
    )
    manager.__enter__()
    del manager
    gc.collect()
    retrieved = telemetry.one("get_response").attributes
    assert retrieved[sc.BODY_OUTCOME] == "abandoned"


def test_plain_raw_response_is_unchanged(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """``with_raw_response`` of a JSON body: read when returned (the SDK read it), its ``parse()``
    the model the span was read from."""
    raw = client.responses.with_raw_response.create(model="gpt-4o", input="x")
    span = the_span(telemetry)  # ended already
    assert type(raw).__name__ == "LegacyAPIResponse"  # no proxy: nothing is left to wait for
    assert span.attributes[sc.RESPONSE_ID] == raw.parse().id
    assert sc.BODY_OUTCOME not in span.attributes


@pytest.mark.parametrize("wrapper", ["raw", "streaming"])
def test_azure_content_filter_outcomes_through_raw_streams(
    telemetry: Telemetry, sim: Any, azure_client: Any, wrapper: str
) -> None:
    """A streamed Azure chat read through either wrapper gets the filter outcome the plain path gets."""
    sim.next_content_filter("blocked_output", "annotated")
    kwargs: dict[str, Any] = {
        "model": "chat-raw",
        "messages": [{"role": "user", "content": CANARY}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for _ in range(2):
        if wrapper == "raw":
            list(azure_client.chat.completions.with_raw_response.create(**kwargs).parse())
        else:
            with azure_client.chat.completions.with_streaming_response.create(**kwargs) as response:
                list(response.parse())
    blocked, annotated = (s.attributes for s in telemetry.named("chat"))
    assert blocked[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert blocked[sc.RESPONSE_FINISH_REASONS] == ("content_filter",)
    assert annotated[sc.CONTENT_FILTER_OUTCOME] == "annotated"
    for attrs in (blocked, annotated):
        assert attrs[sc.AZURE_DEPLOYMENT] == "chat-raw" and attrs[sc.STREAM_OUTCOME] == "finished"
        assert attrs[sc.USAGE_OUTPUT_TOKENS] > 0
    points = telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS)
    flagged = {
        (p.attributes[sc.CONTENT_FILTER_SOURCE], p.attributes[sc.CONTENT_FILTER_FILTERED]) for p in points
    }
    assert ("completion", True) in flagged and ("completion", False) in flagged  # blocked, annotated
    assert_no_canary(telemetry)


def test_azure_responses_filter_results_match_the_plain_path(
    telemetry: Telemetry, sim: Any, azure_client: Any
) -> None:
    """Azure's ``content_filters`` of a response read through either wrapper, JSON or stream, are the
    attributes and metric points the plain call gets."""
    responses = azure_client.responses
    kwargs = {"model": "resp-raw", "input": CANARY}

    paths = {
        "plain": lambda: responses.create(**kwargs),
        "plain_stream": lambda: list(responses.create(**kwargs, stream=True)),
        "raw": lambda: responses.with_raw_response.create(**kwargs).parse(),
        "raw_stream": lambda: list(responses.with_raw_response.create(**kwargs, stream=True).parse()),
    }
    for path in paths.values():
        sim.next_content_filter("annotated")
        path()
    for stream in (False, True):
        sim.next_content_filter("annotated")
        with responses.with_streaming_response.create(**kwargs, stream=stream) as response:
            parsed = response.parse()
            if stream:
                list(parsed)
    spans = telemetry.named("chat")
    assert len(spans) == 6
    filters = [
        {k: v for k, v in s.attributes.items() if k.startswith(sc.CONTENT_FILTER_PREFIX)} for s in spans
    ]
    assert filters[0][sc.CONTENT_FILTER_OUTCOME] == "annotated"
    assert all(found == filters[0] for found in filters), filters
    per_call = len(telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS))
    assert per_call > 0
    assert sum(p.value for p in telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS)) == 6 * per_call
    assert_no_canary(telemetry)


@pytest.mark.parametrize("wrapper", ["raw", "streaming"])
def test_connection_cut_mid_body_is_dropped(
    telemetry: Telemetry, sim: Any, client: Any, wrapper: str
) -> None:
    """The connection dies while the app reads a raw stream: ``dropped``, with the error's class."""
    sim.add_fault(kind="drop_stream", method="POST", path="/responses")
    kwargs = {"model": "gpt-4o", "input": "x", "stream": True}
    with pytest.raises(Exception) as caught:  # the SDK's (1.x-2.x: httpx's) connection error
        if wrapper == "raw":
            list(client.responses.with_raw_response.create(**kwargs).parse())
        else:
            with client.responses.with_streaming_response.create(**kwargs) as response:
                list(response.parse())
    attrs = the_span(telemetry).attributes
    assert attrs[sc.STREAM_OUTCOME] == "dropped" and attrs[sc.ERROR_TYPE] == type(caught.value).__qualname__
    assert the_span(telemetry).status.status_code.name == "ERROR"

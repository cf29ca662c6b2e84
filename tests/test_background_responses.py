"""Background responses are one execution each, like a polled Assistants run, whatever the polling.

``responses.create(background=True)`` answers ``queued``; the app polls ``responses.retrieve`` (plain
or ``with_raw_response``, as the Agent Framework does) until the response ends, or cancels it, or
streams it (``background=True, stream=True``). Whatever the app's pattern (polls per status, extra
retrieves after the end), each response gets: one ``assistant_telemetry.execution.status_change``
event per status it went through, on the span that first saw it; one finished-execution count;
its queue, active and total time and its tokens once, on the first span that saw it finished.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from assistant_telemetry import semconv as sc

from conftest import Telemetry
from scenarios import drain, resolver, run

CANARY = "CANARY-BACKGROUND-9d1c"


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


def transitions(telemetry: Telemetry) -> list[tuple[str, str]]:
    """(span name, status) of every status-change event, in the order the spans started."""
    found = []
    for span in sorted(telemetry.spans, key=lambda s: s.start_time):
        for event in span.events:
            if event.name == sc.EVENT_EXECUTION_STATUS:
                found.append((span.name, event.attributes[sc.EXECUTION_STATUS]))
    return found


def measured(telemetry: Telemetry) -> list[Any]:
    return [s for s in telemetry.spans if sc.EXECUTION_TOTAL_TIME in s.attributes]


def counts(telemetry: Telemetry, name: str) -> int:
    return sum(p.count for p in telemetry.metric_points(name))


def tokens(telemetry: Telemetry) -> Counter[str]:
    return Counter(
        {p.attributes[sc.TOKEN_TYPE]: p.count for p in telemetry.metric_points(sc.METRIC_TOKEN_USAGE)}
    )


def assert_no_canary(telemetry: Telemetry) -> None:
    for span in telemetry.spans:
        assert CANARY not in repr([dict(span.attributes), [dict(e.attributes) for e in span.events]])


def create(client: Any, **extra: Any) -> Any:
    return client.responses.create(
        model="gpt-4o",
        input=CANARY,
        instructions=CANARY,
        metadata={"ticket": CANARY},
        background=True,
        **extra,
    )


@pytest.mark.parametrize("raw", [False, True], ids=["retrieve", "raw_retrieve"])
@pytest.mark.parametrize("per_status", [1, 3])
def test_polled_to_the_end_is_one_execution(
    telemetry: Telemetry, sim: Any, either_client: Any, per_status: int, raw: bool
) -> None:
    sim.run_timing(queue_s=2, execution_s=6)
    sim.background_polls(per_status)

    async def scenario() -> tuple[Any, list[str]]:
        resolve = resolver(either_client)
        started = await resolve(create(either_client))
        seen = [started.status]

        async def retrieve() -> Any:
            if raw:
                return (await resolve(either_client.responses.with_raw_response.retrieve(started.id))).parse()
            return await resolve(either_client.responses.retrieve(started.id))

        while seen[-1] not in ("completed", "failed", "cancelled", "incomplete"):
            seen.append((await retrieve()).status)
            assert len(seen) < 20
        for _ in range(3):  # the app keeps reading the finished response: nothing more counts
            await retrieve()
        return started, seen

    started, seen = run(scenario())
    assert seen == ["queued"] * per_status + ["in_progress"] * per_status + ["completed"]
    assert transitions(telemetry) == [
        ("chat", "queued"),
        ("get_response", "in_progress"),
        ("get_response", "completed"),
    ]
    polls = telemetry.named("get_response")
    assert len(polls) == len(seen) - 1 + 3
    assert [s.attributes[sc.EXECUTION_STATUS] for s in polls] == seen[1:] + ["completed"] * 3
    (claim,) = measured(telemetry)
    assert claim is polls[len(seen) - 2]  # the first retrieve that saw it completed
    assert claim.attributes[sc.EXECUTION_TOTAL_TIME] == 8.0  # server timestamps
    queue = claim.attributes[sc.EXECUTION_QUEUE_TIME]
    assert 0 <= queue < 5 and claim.attributes[sc.EXECUTION_ACTIVE_TIME] == pytest.approx(8.0 - queue)
    assert claim.attributes[sc.RESPONSE_ID] == started.id
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == "completed"
    assert finished.attributes[sc.EXECUTION_KIND] == "response"
    for name in (
        sc.METRIC_EXECUTION_DURATION,
        sc.METRIC_EXECUTION_QUEUE_TIME,
        sc.METRIC_EXECUTION_ACTIVE_TIME,
    ):
        assert counts(telemetry, name) == 1, name
    assert tokens(telemetry) == Counter({"input": 1, "output": 1})  # once, whatever the retrieves
    assert counts(telemetry, sc.METRIC_OPERATION_DURATION) == len(polls) + 1  # every call is a call
    assert_no_canary(telemetry)


@pytest.mark.parametrize("polls_before_cancel", [0, 1])
def test_cancelled_is_one_execution(
    telemetry: Telemetry, sim: Any, either_client: Any, polls_before_cancel: int
) -> None:
    sim.background_polls(2)

    async def scenario() -> Any:
        resolve = resolver(either_client)
        started = await resolve(create(either_client))
        for _ in range(polls_before_cancel * 2):  # queued, then in_progress
            await resolve(either_client.responses.retrieve(started.id))
        await resolve(either_client.responses.cancel(started.id))
        await resolve(either_client.responses.cancel(started.id))  # cancelling again changes nothing
        return await resolve(either_client.responses.retrieve(started.id))

    assert run(scenario()).status == "cancelled"
    went = [status for _, status in transitions(telemetry)]
    assert went == ["queued", *(["in_progress"] * polls_before_cancel), "cancelled"]
    first_cancel = telemetry.named("cancel_response")[0]
    assert [e.attributes[sc.EXECUTION_STATUS] for e in first_cancel.events] == ["cancelled"]
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == "cancelled"
    assert not measured(telemetry)  # the service timestamps only a completed end
    assert not tokens(telemetry)


@pytest.mark.parametrize(
    ("outcome", "status", "key", "value"),
    [
        ("failed", "failed", sc.EXECUTION_ERROR_CODE, "server_error"),
        ("incomplete", "incomplete", sc.EXECUTION_INCOMPLETE_REASON, "max_output_tokens"),
    ],
)
def test_unsuccessful_ends_counted_once(
    telemetry: Telemetry, sim: Any, client: Any, outcome: str, status: str, key: str, value: str
) -> None:
    sim.next_run_outcome(outcome)
    started = create(client)
    for _ in range(4):
        client.responses.retrieve(started.id)
    assert [s for _, s in transitions(telemetry)] == ["queued", "in_progress", status]
    (finished,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert finished.value == 1 and finished.attributes[sc.EXECUTION_STATUS] == status
    assert finished.attributes[key] == value
    expected = Counter({"input": 1, "output": 1}) if outcome == "incomplete" else Counter()
    assert tokens(telemetry) == expected  # a failed response reports no usage


@pytest.mark.parametrize("how", ["stream", "streaming_response"])
def test_streamed_background_response(telemetry: Telemetry, sim: Any, async_client: Any, how: str) -> None:
    """``background=True, stream=True``: the one stream span sees every transition as it happens;
    retrieving the finished response afterwards repeats nothing."""
    sim.run_timing(queue_s=1, execution_s=3)

    async def scenario() -> list[Any]:
        kwargs = {"model": "gpt-4o", "input": CANARY, "background": True, "stream": True}
        if how == "stream":
            events = await drain(await async_client.responses.create(**kwargs))
        else:  # the OpenAI Agents SDK's shape
            async with async_client.responses.with_streaming_response.create(**kwargs) as response:
                events = await drain(await response.parse())
        await async_client.responses.retrieve(events[-1].response.id)
        return events

    events = run(scenario())
    assert events[-1].type == "response.completed"
    stream_span = telemetry.one("chat")
    went = [
        e.attributes[sc.EXECUTION_STATUS] for e in stream_span.events if e.name == sc.EVENT_EXECUTION_STATUS
    ]
    assert went == ["queued", "in_progress", "completed"]
    assert stream_span.attributes[sc.STREAM_OUTCOME] == "finished"
    assert stream_span.attributes[sc.EXECUTION_TOTAL_TIME] == 4.0
    assert stream_span.attributes[sc.EXECUTION_QUEUE_TIME] >= 0
    retrieved = telemetry.one("get_response")
    assert not retrieved.events and sc.EXECUTION_TOTAL_TIME not in retrieved.attributes
    assert telemetry.metric_points(sc.METRIC_EXECUTIONS)[0].value == 1
    assert tokens(telemetry) == Counter({"input": 1, "output": 1})
    assert_no_canary(telemetry)


def test_seen_only_finished_is_counted_without_a_queue(telemetry: Telemetry, sim: Any, client: Any) -> None:
    """A response created elsewhere (another process, before a restart) and only retrieved here:
    counted once, its server-timed total kept, no queue time guessed."""
    import assistant_telemetry

    sim.run_timing(queue_s=1, execution_s=2)
    assistant_telemetry.uninstrument()
    try:
        started = create(client)
    finally:
        assistant_telemetry.instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
    for _ in range(4):
        client.responses.retrieve(started.id)
    (claim,) = measured(telemetry)
    assert claim.attributes[sc.EXECUTION_TOTAL_TIME] == 3.0
    assert sc.EXECUTION_QUEUE_TIME not in claim.attributes
    assert [s for _, s in transitions(telemetry)] == ["in_progress", "completed"]  # as seen here
    assert telemetry.metric_points(sc.METRIC_EXECUTIONS)[0].value == 1


def test_resumed_through_a_raw_stream(telemetry: Telemetry, sim: Any, async_client: Any) -> None:
    """The Agent Framework's continuation: a background create, then ``with_raw_response.retrieve(
    stream=True)`` parsed in ``async with``. The resumed stream replays ``queued``: not news."""
    sim.run_timing(queue_s=1, execution_s=2)

    async def scenario() -> list[Any]:
        started = await create(async_client)
        raw = await async_client.responses.with_raw_response.retrieve(started.id, stream=True)
        async with raw.parse() as stream:
            return [event async for event in stream]

    events = run(scenario())
    assert events[-1].type == "response.completed"
    resumed = telemetry.one("get_response")
    assert resumed.attributes[sc.STREAM_OUTCOME] == "finished"
    assert resumed.attributes[sc.RESPONSE_ID] == events[-1].response.id
    assert transitions(telemetry) == [
        ("chat", "queued"),
        ("get_response", "in_progress"),
        ("get_response", "completed"),
    ]
    assert resumed.attributes[sc.EXECUTION_TOTAL_TIME] == 3.0  # it saw the end first
    assert tokens(telemetry) == Counter({"input": 1, "output": 1})
    assert_no_canary(telemetry)

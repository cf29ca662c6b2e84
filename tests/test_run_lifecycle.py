"""Poll helpers: one invoke_agent span per helper call, from create to terminal status."""

from __future__ import annotations

from typing import Any

import pytest

import assistant_telemetry
from assistant_telemetry import semconv as sc

from conftest import Telemetry
from scenarios import resolver, run

TERMINAL = {
    "completed": ("completed", None, None),
    "failed": ("failed", "server_error", None),
    "incomplete": ("incomplete", None, "max_completion_tokens"),
    "content_filter": ("incomplete", None, "content_filter"),
    "expired": ("expired", None, None),
    "cancelled": ("cancelled", None, None),
    "requires_action": ("requires_action", None, None),
}


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


async def setup_thread(client: Any) -> tuple[str, str]:
    resolve = resolver(client)
    assistant = await resolve(client.beta.assistants.create(model="gpt-4o"))
    thread = await resolve(client.beta.threads.create())
    return assistant.id, thread.id


def lifecycle_span(telemetry: Telemetry) -> Any:
    spans = telemetry.spans
    helpers = telemetry.runs(sc.DRIVER_HELPER)
    assert len(helpers) == 1, [s.name for s in spans]
    assert helpers[0].name.startswith("invoke_agent asst_")  # named by the agent (no name: its id)
    assert not [s for s in spans if s.name in ("start_thread_run", "get_thread_run")]  # folded in
    return helpers[0]


@pytest.mark.parametrize("outcome", sorted(TERMINAL))
def test_create_and_poll_through_every_terminal_status(
    telemetry: Telemetry, sim: Any, either_client: Any, outcome: str
) -> None:
    async def scenario() -> Any:
        assistant_id, thread_id = await setup_thread(either_client)
        sim.next_run_outcome(outcome)
        return await resolver(either_client)(
            either_client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
        )

    result = run(scenario())
    status, error_code, incomplete_reason = TERMINAL[outcome]
    assert result.status == status
    span = lifecycle_span(telemetry)
    attrs = span.attributes
    assert attrs[sc.RUN_ID] == result.id and attrs[sc.THREAD_ID] == result.thread_id
    assert attrs[sc.RUN_STATUS] == status
    assert attrs.get(sc.RUN_LAST_ERROR_CODE) == error_code
    assert attrs.get(sc.RUN_INCOMPLETE_REASON) == incomplete_reason
    assert attrs[sc.RUN_POLLS] >= 2
    assert len(attrs[sc.REQUEST_IDS]) == attrs[sc.RUN_POLLS] + 1  # the create and each retrieve
    changes = [e.attributes[sc.RUN_STATUS] for e in span.events if e.name == sc.EVENT_RUN_STATUS]
    assert changes[0] == "queued" and changes[-1] == status
    assert len(changes) == len(set(changes))  # one event per transition, not per poll
    if outcome == "requires_action":
        assert attrs[sc.RUN_REQUIRED_TOOL_CALLS] == 2
        assert attrs[sc.RUN_REQUIRED_FUNCTIONS] == ("get_weather", "lookup_order")
    if status in ("completed", "requires_action"):
        assert span.status.status_code.name == "UNSET"
        assert sc.FAILURE_CLASS not in attrs
    else:  # an agent invocation that did not complete failed (error panels count it)
        assert span.status.status_code.name == "ERROR"
        expected = error_code or incomplete_reason or status
        assert attrs[sc.FAILURE_CLASS] == attrs[sc.ERROR_TYPE] == expected


def test_tool_loop_with_submit_tool_outputs_and_poll(
    telemetry: Telemetry, sim: Any, either_client: Any
) -> None:
    async def scenario() -> Any:
        resolve = resolver(either_client)
        runs = either_client.beta.threads.runs
        assistant_id, thread_id = await setup_thread(either_client)
        sim.next_run_outcome("requires_action", "completed")
        waiting = await resolve(runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id))
        outputs = [
            {"tool_call_id": c.id, "output": "{}"}
            for c in waiting.required_action.submit_tool_outputs.tool_calls
        ]
        return await resolve(
            runs.submit_tool_outputs_and_poll(run_id=waiting.id, thread_id=thread_id, tool_outputs=outputs)
        )

    done = run(scenario())
    # The run's invoke_agent span, then the helper that resumes it: one submit_tool_outputs span,
    # the plain submit it makes folded in.
    (invoked,) = telemetry.runs(sc.DRIVER_HELPER)
    (resumed,) = telemetry.named("submit_tool_outputs")
    assert invoked.attributes[sc.RUN_STATUS] == "requires_action"
    assert resumed.attributes[sc.RUN_STATUS] == "completed" and resumed.attributes[sc.RUN_POLLS] >= 1
    assert resumed.attributes[sc.TOOL_OUTPUTS] == 2
    assert {invoked.attributes[sc.RUN_ID], resumed.attributes[sc.RUN_ID]} == {done.id}


def test_poll_and_create_and_run_poll(telemetry: Telemetry, sim: Any, client: Any) -> None:
    assistant_id, thread_id = run(setup_thread(client))
    started = client.beta.threads.runs.create(thread_id, assistant_id=assistant_id)
    polled = client.beta.threads.runs.poll(started.id, thread_id)
    both = client.beta.threads.create_and_run_poll(assistant_id=assistant_id)
    helpers = telemetry.runs(sc.DRIVER_HELPER)
    assert [h.attributes[sc.RUN_ID] for h in helpers] == [polled.id, both.id]
    assert helpers[0].attributes[sc.THREAD_ID] == thread_id
    assert helpers[1].attributes[sc.THREAD_ID] == both.thread_id
    assert all(h.attributes[sc.RUN_STATUS] == "completed" for h in helpers)


def test_failed_poll_ends_the_helper_span_with_the_error(telemetry: Telemetry, sim: Any, client: Any) -> None:
    import openai

    assistant_id, thread_id = run(setup_thread(client))
    sim.add_fault(500, method="GET", path="/threads/*/runs/*", times=None)
    with pytest.raises(openai.InternalServerError):
        client.with_options(max_retries=0).beta.threads.runs.create_and_poll(
            thread_id=thread_id, assistant_id=assistant_id
        )
    span = lifecycle_span(telemetry)
    assert span.status.status_code.name == "ERROR"
    assert span.attributes[sc.FAILURE_CLASS] == "server_error"
    assert span.attributes[sc.RUN_STATUS] == "queued"  # the last status seen before the failure


def test_inner_spans_setting_keeps_child_spans(strict_guard: None, sim: Any, client: Any) -> None:
    telemetry = Telemetry()
    assistant_telemetry.instrument(tracer_provider=telemetry.tracer_provider, inner_spans=True)
    try:
        assistant_id, thread_id = run(setup_thread(client))
        client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    finally:
        assistant_telemetry.uninstrument()
    helper = telemetry.one_run(sc.DRIVER_HELPER)
    children = [s for s in telemetry.spans if s.parent and s.parent.span_id == helper.context.span_id]
    assert [c.name for c in children] == ["start_thread_run", "get_thread_run", "get_thread_run"]
    assert helper.attributes[sc.RUN_POLLS] == 2
    assert [e.attributes[sc.RUN_STATUS] for e in helper.events] == ["queued", "in_progress", "completed"]


def test_token_usage_metric_counts_each_run_once(telemetry: Telemetry, sim: Any, client: Any) -> None:
    assistant_id, thread_id = run(setup_thread(client))
    done = client.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    for _ in range(3):  # the app re-reads the finished run and its steps
        client.beta.threads.runs.retrieve(done.id, thread_id=thread_id)
    for step in client.beta.threads.runs.steps.list(done.id, thread_id=thread_id):
        client.beta.threads.runs.steps.retrieve(step.id, thread_id=thread_id, run_id=done.id)
    points = {p.attributes[sc.TOKEN_TYPE]: p for p in telemetry.metric_points(sc.METRIC_TOKEN_USAGE)}
    assert points["input"].count == 1 and points["input"].sum == done.usage.prompt_tokens
    assert points["output"].count == 1 and points["output"].sum == done.usage.completion_tokens


def test_a_poll_that_repeats_the_last_status_is_not_read_again(
    telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long run is mostly polls that find it still in_progress: their request ids and the count
    are kept, their bodies (the same run again) are not read."""
    from assistant_telemetry.extract import assistants

    from mock_api import MockApi

    reads: list[str] = []
    read_run = assistants._BY_KIND["thread.run"]

    def counting(obj: Any, attrs: Any, settings: Any) -> None:
        reads.append(obj.status)
        read_run(obj, attrs, settings)

    monkeypatch.setitem(assistants._BY_KIND, "thread.run", counting)
    runs = MockApi(polls=5).client().beta.threads.runs
    done = runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1")
    assert done.status == "completed"
    # 4 polls find it in_progress: 1 read. The run the helper returns is the last poll's: not reread.
    assert reads == ["queued", "in_progress", "completed"]
    span = lifecycle_span(telemetry)
    assert span.attributes[sc.RUN_POLLS] == 5
    assert len(span.attributes[sc.REQUEST_IDS]) == 6  # the create and every poll, repeats included
    assert [e.attributes[sc.RUN_STATUS] for e in span.events] == ["queued", "in_progress", "completed"]
    assert span.attributes[sc.RUN_TOTAL_TIME] >= 0 and span.attributes[sc.USAGE_INPUT_TOKENS] > 0


def test_a_sampled_out_helper_still_counts_its_polls(strict_guard: None) -> None:
    """Metrics count every run whatever the trace sampler decides; the helper's calls read nothing."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

    from mock_api import MockApi

    telemetry = Telemetry()
    telemetry.tracer_provider.sampler = ALWAYS_OFF
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    try:
        runs = MockApi(polls=4).client().beta.threads.runs
        assert runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1").status == "completed"
    finally:
        assistant_telemetry.uninstrument()
    assert telemetry.spans == []
    (polls,) = telemetry.metric_points(sc.METRIC_RUN_POLLS)
    assert polls.count == 1 and polls.sum == 4
    (duration,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)  # the helper's, not its calls'
    assert duration.count == 1 and duration.attributes[sc.OPERATION_NAME] == sc.OP_INVOKE_AGENT
    assert duration.attributes[sc.EXECUTION_DRIVER] == sc.DRIVER_HELPER

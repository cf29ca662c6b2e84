"""Server-timestamp timings, replies and run steps, whichever way the app drives its runs."""

from __future__ import annotations

from typing import Any

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.outcomes import Outcomes, Remembered

from conftest import Telemetry
from scenarios import resolver, run, until


@pytest.fixture(params=["sync", "async"])
def either_client(request: pytest.FixtureRequest, client: Any, async_client: Any) -> Any:
    return client if request.param == "sync" else async_client


def test_own_polling_loop_gets_the_same_timings_once(
    telemetry: Telemetry, sim: Any, either_client: Any
) -> None:
    """No helper: create, the app's retrieve loop, list messages and steps, retrieve again."""
    sim.run_timing(queue_s=3, execution_s=12)

    async def scenario() -> tuple[Any, Any, Any]:
        resolve = resolver(either_client)
        threads = either_client.beta.threads
        assistant = await resolve(either_client.beta.assistants.create(model="gpt-4o"))
        thread = await resolve(threads.create())
        asked = await resolve(threads.messages.create(thread.id, role="user", content="hi"))
        started = await resolve(threads.runs.create(thread.id, assistant_id=assistant.id))
        done = await until(
            resolve, lambda: threads.runs.retrieve(started.id, thread_id=thread.id), {"completed"}
        )
        await resolve(threads.runs.retrieve(started.id, thread_id=thread.id))
        await resolve(threads.messages.list(thread.id))
        await resolve(threads.messages.list(thread.id))
        steps = await resolve(threads.runs.steps.list(started.id, thread_id=thread.id))
        return asked, done, steps

    asked, done, steps = run(scenario())
    # The retrieve that first saw the run finish is its invoke_agent span; the next one a plain read.
    (claimed,) = telemetry.runs(sc.DRIVER_POLL)
    retrieves = [s.attributes for s in telemetry.named("get_thread_run")]
    finished = [claimed.attributes] + [a for a in retrieves if a[sc.RUN_STATUS] == "completed"]
    assert len(finished) == 2
    assert finished[0][sc.RUN_QUEUE_TIME] == 3 and finished[0][sc.RUN_EXECUTION_TIME] == 12
    assert finished[0][sc.RUN_TOTAL_TIME] == 15
    assert sc.RUN_TOTAL_TIME not in finished[1]  # the same run seen again: measured once
    assert telemetry.metric_points(sc.METRIC_EXECUTIONS)[0].value == 1
    assert telemetry.metric_points(sc.METRIC_EXECUTION_DURATION)[0].count == 1

    first_list, second_list = telemetry.named("list_messages")
    replies = [e.attributes for e in first_list.events if e.name == sc.EVENT_REPLY]
    (reply,) = replies
    answer = next(
        e.attributes
        for e in first_list.events
        if e.name == sc.EVENT_MESSAGE and e.attributes[sc.MESSAGE_ROLE] == "assistant"
    )
    assert reply[sc.REPLY_TO_MESSAGE_ID] == asked.id
    assert reply[sc.MESSAGE_ID] == answer[sc.MESSAGE_ID]
    assert answer[sc.RUN_ID] == done.id  # the page tells which run produced which message
    assert reply[sc.REPLY_TIME] >= 15
    assert not second_list.events  # nothing new on the second look
    (reply_metric,) = telemetry.metric_points(sc.METRIC_REPLY_TIME)
    assert reply_metric.count == 1 and reply_metric.attributes[sc.MESSAGE_STATUS] == "completed"

    step_events = [
        e.attributes for e in telemetry.one("list_run_steps").events if e.name == sc.EVENT_RUN_STEP
    ]
    assert [e[sc.RUN_STEP_ID] for e in step_events] == [s.id for s in steps.data]
    assert step_events[0][sc.RUN_STEP_TYPE] == "message_creation"
    assert step_events[0][sc.MESSAGE_ID] == answer[sc.MESSAGE_ID]
    assert step_events[0][sc.RUN_STEP_DURATION] >= 0


def test_poll_helper_records_poll_count_and_run_metrics(telemetry: Telemetry, sim: Any, client: Any) -> None:
    sim.run_timing(queue_s=1, execution_s=5)
    sim.next_run_outcome("failed")
    assistant = client.beta.assistants.create(model="gpt-4o")
    thread = client.beta.threads.create()
    result = client.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    span = telemetry.one_run(sc.DRIVER_HELPER)
    assert span.attributes[sc.RUN_TOTAL_TIME] == 6
    (polls,) = telemetry.metric_points(sc.METRIC_RUN_POLLS)
    assert polls.count == 1 and polls.sum == span.attributes[sc.RUN_POLLS] >= 2
    assert polls.attributes[sc.RUN_STATUS] == result.status == "failed"
    (runs,) = telemetry.metric_points(sc.METRIC_EXECUTIONS)
    assert runs.attributes[sc.EXECUTION_STATUS] == "failed"
    assert runs.attributes[sc.EXECUTION_ERROR_CODE] == "server_error"
    for point in telemetry.metric_points(sc.METRIC_OPERATION_DURATION):
        assert not any(key.endswith(".id") for key in point.attributes)  # never ids on metrics


def test_remembered_is_bounded_and_forgets_the_oldest() -> None:
    seen = Remembered(3)
    assert [seen.first(k) for k in "abca"] == [True, True, True, False]
    assert seen.first("d") and len(seen) == 3
    assert seen.first("a")  # forgotten when d arrived, so news again


def test_reply_pairs_by_thread_in_time_order_whatever_the_page_order() -> None:
    outcomes = Outcomes()

    def message(mid: str, role: str, created: int, status: str = "completed", **extra: Any) -> dict[str, Any]:
        return {"id": mid, "thread_id": "t1", "role": role, "created_at": created, "status": status, **extra}

    page = [  # newest first, as the API lists
        message("a2", "assistant", 50, completed_at=58),
        message("u2", "user", 40),
        message("a1b", "assistant", 21, completed_at=22),
        message("a1", "assistant", 20, completed_at=25),
        message("u1", "user", 10),
    ]
    replies = outcomes.replies(page)
    assert [(r[sc.REPLY_TO_MESSAGE_ID], r[sc.MESSAGE_ID], r[sc.REPLY_TIME]) for r in replies] == [
        ("u1", "a1", 15.0),
        ("u2", "a2", 18.0),
    ]
    assert outcomes.replies(page) == []  # each question is answered once
    late = message("u0", "user", 5)
    assert outcomes.replies([late, message("a9", "assistant", 60, completed_at=61)]) == []
    odd = message("a3", "assistant", 70, status="in_progress")
    outcomes.replies([message("u3", "user", 65)])
    assert outcomes.replies([odd]) == []  # not an answer until it stops changing


def test_replies_within_one_second_pair_by_the_pages_order() -> None:
    """Two questions and two answers in the same server second: the page's order decides."""

    def message(mid: str, role: str) -> dict[str, Any]:
        return {"id": mid, "thread_id": "t1", "role": role, "created_at": 10, "status": "completed"}

    oldest_first = [
        message("u1", "user"),
        message("a1", "assistant"),
        message("u2", "user"),
        message("a2", "assistant"),
    ]
    for page, newest_first in ((oldest_first[::-1], True), (oldest_first, False)):
        pairs = [
            (r[sc.REPLY_TO_MESSAGE_ID], r[sc.MESSAGE_ID]) for r in Outcomes().replies(page, newest_first)
        ]
        assert pairs == [("u1", "a1"), ("u2", "a2")]

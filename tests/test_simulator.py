"""The Assistants API simulator, driven by the real openai SDK and checked against the published schemas."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import openai
import pytest
from openai import AssistantEventHandler, AsyncAssistantEventHandler
from openai.types.beta.threads.run_submit_tool_outputs_params import ToolOutput
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from assistant_telemetry.simulator import Simulator

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SCHEMAS = Path(__file__).parent / "data" / "openapi_assistants.json"
REPLY = "The simulated assistant has finished this run."
AZURE_VERSION = "2024-05-01-preview"


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim


@pytest.fixture(autouse=True)
def _reset(simulator: Simulator) -> Iterator[None]:
    yield
    simulator.clear_faults()
    simulator.clear_run_outcomes()


@pytest.fixture
def sdk(simulator: Simulator) -> openai.OpenAI:
    return openai.OpenAI(base_url=simulator.base_url, api_key="x", max_retries=2)


@pytest.fixture
def azure(simulator: Simulator) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=simulator.azure_endpoint, api_version=AZURE_VERSION, api_key="x", max_retries=2
    )


@pytest.fixture
def assistant_id(sdk: openai.OpenAI) -> str:
    return sdk.beta.assistants.create(model="gpt-4o", name="Helper", instructions="Be brief.").id


@pytest.fixture
def thread_id(sdk: openai.OpenAI) -> str:
    return sdk.beta.threads.create(messages=[{"role": "user", "content": "What's the weather?"}]).id


def raw(sim: Simulator, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    """Plain HTTP (no SDK), for raw JSON and for requests the SDK would never send."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(sim.azure_endpoint + path, data=data, method=method)
    request.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, headers, payload = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as err:
        status, headers, payload = err.code, dict(err.headers), err.read()
    text = payload.decode()
    is_json = headers.get("content-type", "").startswith("application/json")
    return status, {k.lower(): v for k, v in headers.items()}, json.loads(text) if is_json else text


def sse(text: str) -> list[tuple[str, Any]]:
    events = re.findall(r"event: (\S+)\ndata: (.*)\n\n", text)
    return [(name, data if data == "[DONE]" else json.loads(data)) for name, data in events]


# core flow


def test_run_completes_and_reply_is_linked(sdk: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"
    assert run.id.startswith("run_") and len(run.id) == len("run_") + 24
    assert run.model == "gpt-4o" and run.instructions == "Be brief."
    assert run.started_at is not None and run.completed_at is not None
    assert run.created_at <= run.started_at <= run.completed_at <= time.time()
    assert (
        run.usage is not None
        and run.usage.total_tokens == run.usage.prompt_tokens + run.usage.completion_tokens
    )
    newest, oldest = sdk.beta.threads.messages.list(thread_id)
    assert (oldest.role, newest.role) == ("user", "assistant")
    assert (newest.run_id, newest.assistant_id, newest.status) == (run.id, assistant_id, "completed")
    assert newest.content[0].type == "text" and newest.content[0].text.value == REPLY


def test_messages_auto_paging(sdk: openai.OpenAI, simulator: Simulator) -> None:
    thread = sdk.beta.threads.create()
    created = [sdk.beta.threads.messages.create(thread.id, role="user", content=f"m{i}").id for i in range(3)]
    before = len(simulator.requests)
    paged = [m.id for m in sdk.beta.threads.messages.list(thread.id, limit=1, order="asc")]
    assert paged == created
    assert len(simulator.requests) - before == 3  # one page per message; has_more=false ends it
    page = sdk.beta.threads.messages.list(thread.id, limit=2, before=created[2], order="asc")
    assert ([m.id for m in page.data], page.has_more) == (created[:2], False)
    desc = sdk.beta.threads.messages.list(thread.id, limit=2)
    assert [m.id for m in desc.data] == created[:0:-1] and desc.has_more


def test_requires_action_then_tool_outputs(
    sdk: openai.OpenAI, simulator: Simulator, assistant_id: str
) -> None:
    thread = sdk.beta.threads.create()
    simulator.next_run_outcome("requires_action")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == "requires_action" and run.required_action is not None
    calls = run.required_action.submit_tool_outputs.tool_calls
    assert [c.function.name for c in calls] == ["get_weather", "lookup_order"]
    assert json.loads(calls[0].function.arguments) == {"location": "Stockholm", "unit": "celsius"}
    assert all(c.id.startswith("call_") for c in calls)
    with pytest.raises(openai.BadRequestError):  # every call needs an output
        sdk.beta.threads.runs.submit_tool_outputs(
            run.id, thread_id=thread.id, tool_outputs=[{"tool_call_id": calls[0].id, "output": "x"}]
        )
    outputs: list[ToolOutput] = [{"tool_call_id": c.id, "output": f"out-{c.function.name}"} for c in calls]
    done = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=outputs
    )
    assert done.status == "completed" and done.required_action is None
    steps = list(sdk.beta.threads.runs.steps.list(run.id, thread_id=thread.id, order="asc"))
    assert [s.type for s in steps] == ["tool_calls", "message_creation"]
    tool_step = steps[0].step_details
    assert tool_step.type == "tool_calls"
    assert [(c.id, c.function.output) for c in tool_step.tool_calls] == [  # type: ignore[union-attr]
        (c.id, f"out-{c.function.name}") for c in calls
    ]
    assert done.usage is not None
    assert done.usage.total_tokens == sum(s.usage.total_tokens for s in steps if s.usage)


def test_two_tool_rounds(sdk: openai.OpenAI, simulator: Simulator, assistant_id: str, thread_id: str) -> None:
    simulator.next_run_outcome("requires_action", "requires_action", "completed")
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    for expected in ("requires_action", "completed"):
        assert run.required_action is not None
        outputs: list[ToolOutput] = [
            {"tool_call_id": c.id, "output": "ok"} for c in run.required_action.submit_tool_outputs.tool_calls
        ]
        run = sdk.beta.threads.runs.submit_tool_outputs_and_poll(
            run_id=run.id, thread_id=thread_id, tool_outputs=outputs
        )
        assert run.status == expected
    steps = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id, order="asc")
    assert [s.type for s in steps] == ["tool_calls", "tool_calls", "message_creation"]


TERMINAL = {
    "failed": lambda run, msgs: run.last_error.code == "server_error" and run.failed_at and not msgs,
    "incomplete": lambda run, msgs: (
        run.incomplete_details.reason == "max_completion_tokens"
        and msgs[0].status == "incomplete"
        and msgs[0].incomplete_details.reason == "max_tokens"
    ),
    "content_filter": lambda run, msgs: (
        run.status == "incomplete"
        and run.incomplete_details.reason == "content_filter"
        and msgs[0].status == "incomplete"
        and msgs[0].incomplete_details.reason == "content_filter"
        and msgs[0].incomplete_at
    ),
    "expired": lambda run, msgs: run.status == "expired" and run.expires_at and not msgs,
    "cancelled": lambda run, msgs: run.status == "cancelled" and run.cancelled_at and not msgs,
}


@pytest.mark.parametrize("outcome", sorted(TERMINAL))
def test_terminal_outcomes(sdk: openai.OpenAI, simulator: Simulator, assistant_id: str, outcome: str) -> None:
    thread = sdk.beta.threads.create()
    simulator.next_run_outcome(outcome)
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant_id)
    assert run.status == ("incomplete" if outcome == "content_filter" else outcome)
    replies = list(sdk.beta.threads.messages.list(thread.id, run_id=run.id))
    assert TERMINAL[outcome](run, replies)


def test_cancel(sdk: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    run = sdk.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    with pytest.raises(openai.BadRequestError, match="already has an active run"):
        sdk.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id)
    cancelling = sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)
    assert cancelling.status == "cancelling"
    cancelled = sdk.beta.threads.runs.poll(run.id, thread_id=thread_id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    with pytest.raises(openai.BadRequestError, match="Cannot cancel run with status 'cancelled'"):
        sdk.beta.threads.runs.cancel(run.id, thread_id=thread_id)


def test_run_steps_link_the_reply(sdk: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    (step,) = sdk.beta.threads.runs.steps.list(run.id, thread_id=thread_id)
    again = sdk.beta.threads.runs.steps.retrieve(step.id, thread_id=thread_id, run_id=run.id)
    assert again.id == step.id and step.id.startswith("step_")
    assert (step.type, step.status, step.run_id, step.assistant_id) == (
        "message_creation",
        "completed",
        run.id,
        assistant_id,
    )
    assert step.step_details.type == "message_creation"
    message = sdk.beta.threads.messages.retrieve(
        step.step_details.message_creation.message_id, thread_id=thread_id
    )
    assert message.run_id == run.id and message.role == "assistant"
    assert (
        step.usage is not None and run.usage is not None and step.usage.total_tokens == run.usage.total_tokens
    )


def test_crud_and_not_found(sdk: openai.OpenAI) -> None:
    assistant = sdk.beta.assistants.create(model="gpt-4o", metadata={"team": "a"})
    updated = sdk.beta.assistants.update(assistant.id, name="Renamed", temperature=0)
    assert (updated.name, updated.temperature, updated.metadata) == ("Renamed", 0, {"team": "a"})
    assert assistant.id in [a.id for a in sdk.beta.assistants.list(limit=100)]
    thread = sdk.beta.threads.create(metadata={"k": "v"})
    message = sdk.beta.threads.messages.create(
        thread.id, role="user", content=[{"type": "text", "text": "hi"}]
    )
    assert sdk.beta.threads.messages.update(
        message.id, thread_id=thread.id, metadata={"x": "y"}
    ).metadata == {"x": "y"}
    assert sdk.beta.threads.messages.delete(message.id, thread_id=thread.id).deleted
    assert sdk.beta.threads.delete(thread.id).deleted
    assert sdk.beta.assistants.delete(assistant.id).deleted
    with pytest.raises(openai.NotFoundError, match="No assistant found"):
        sdk.beta.assistants.retrieve(assistant.id)
    with pytest.raises(openai.NotFoundError):
        sdk.beta.threads.retrieve(thread.id)
    with pytest.raises(openai.BadRequestError):
        sdk.beta.assistants.create(model="gpt-4o", metadata={"k": 1})  # type: ignore[dict-item]


def test_create_and_run_poll(sdk: openai.OpenAI, assistant_id: str) -> None:
    run = sdk.beta.threads.create_and_run_poll(
        assistant_id=assistant_id, thread={"messages": [{"role": "user", "content": "hi"}]}
    )
    assert run.status == "completed"
    assert [m.role for m in sdk.beta.threads.messages.list(run.thread_id)] == ["assistant", "user"]


# faults


def test_rate_limit_is_retried_immediately(
    sdk: openai.OpenAI, simulator: Simulator, assistant_id: str
) -> None:
    thread = sdk.beta.threads.create()
    simulator.add_fault(status=429, method="POST", path="/threads/*/runs", times=1, retry_after=0)
    started = time.monotonic()
    run = sdk.beta.threads.runs.create(thread_id=thread.id, assistant_id=assistant_id)
    assert time.monotonic() - started < 0.4  # SDK backoff without retry-after-ms would be >= 0.375 s
    posts = [h for m, p, h in simulator.requests if m == "POST" and p == f"/v1/threads/{thread.id}/runs"]
    assert [h["x-stainless-retry-count"] for h in posts] == ["0", "1"]
    assert run.status == "queued"


def test_rate_limit_error_shape(sdk: openai.OpenAI, simulator: Simulator) -> None:
    simulator.add_fault(status=429, path="/assistants", retry_after=2)
    with pytest.raises(openai.RateLimitError) as caught:
        sdk.with_options(max_retries=0).beta.assistants.list()
    err = caught.value
    assert err.code == "rate_limit_exceeded" and err.type == "requests"
    assert err.response.headers["retry-after"] == "2" and err.response.headers["retry-after-ms"] == "2000"
    assert err.response.headers["x-ratelimit-remaining-requests"] == "0"


def test_server_errors_then_success(sdk: openai.OpenAI, simulator: Simulator) -> None:
    simulator.add_fault(status=500, method="GET", path="/assistants", times=2)
    assert sdk.beta.assistants.list().has_more is not None
    simulator.add_fault(status=500, method="GET", path="/assistants", times=None)
    with pytest.raises(openai.InternalServerError) as caught:
        sdk.beta.assistants.list()
    assert caught.value.code == "server_error"
    simulator.clear_faults()
    assert sdk.beta.assistants.list().has_more is not None


def test_content_filter_fault(azure: openai.AzureOpenAI, simulator: Simulator) -> None:
    simulator.add_fault(kind="content_filter", method="POST", path="/threads")
    with pytest.raises(openai.BadRequestError) as caught:
        azure.beta.threads.create(messages=[{"role": "user", "content": "something nasty"}])
    err = caught.value
    assert err.code == "content_filter" and err.param == "prompt" and err.type is None
    assert "content management policy" in err.message
    body: Any = err.body
    assert body["innererror"]["content_filter_result"]["jailbreak"] == {"filtered": True, "detected": True}
    assert azure.beta.threads.create().object == "thread"  # times=1 by default


def test_echo_error_leaks_request_text(sdk: openai.OpenAI, simulator: Simulator, thread_id: str) -> None:
    simulator.add_fault(kind="echo_error", path="/threads/*/messages")
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.beta.threads.messages.create(
            thread_id, role="user", content="my card is 4111", metadata={"note": "secret-note"}
        )
    assert "'my card is 4111'" in caught.value.message and "'secret-note'" in caught.value.message
    assert "Invalid content:" in caught.value.message


def test_fault_matching(simulator: Simulator) -> None:
    simulator.add_fault(status=503, method="DELETE", path="/assistants/*", times=None)
    assert raw(simulator, "GET", "/v1/assistants")[0] == 200
    assert raw(simulator, "DELETE", "/v1/assistants/asst_1")[0] == 503
    assert raw(simulator, "DELETE", "/openai/assistants/asst_1?api-version=1")[0] == 503
    with pytest.raises(ValueError, match="unknown fault kind"):
        simulator.add_fault(kind="nope")
    with pytest.raises(ValueError, match="unknown run outcome"):
        simulator.next_run_outcome("done")


# headers


def test_openai_headers(sdk: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    created = sdk.beta.threads.runs.with_raw_response.create(thread_id=thread_id, assistant_id=assistant_id)
    headers = created.headers
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    assert int(headers["openai-processing-ms"]) >= 1
    for name in (
        "limit-requests",
        "remaining-requests",
        "remaining-tokens",
        "reset-requests",
        "reset-tokens",
    ):
        assert headers[f"x-ratelimit-{name}"]
    polled = sdk.beta.threads.runs.with_raw_response.retrieve(created.parse().id, thread_id=thread_id)
    assert polled.headers["openai-poll-after-ms"] == "1" and polled.parse().status == "in_progress"
    assert "apim-request-id" not in headers


def test_azure_flavour(azure: openai.AzureOpenAI, simulator: Simulator) -> None:
    response = azure.beta.assistants.with_raw_response.create(
        model="gpt-4o", extra_headers={"x-ms-client-request-id": "client-123"}
    )
    headers = response.headers
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["apim-request-id"])
    assert headers["x-ms-region"] == "Sweden Central" and headers["x-ms-client-request-id"] == "client-123"
    assert re.fullmatch(r"req_[0-9a-f]{32}", headers["x-request-id"])
    assistant = response.parse()
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    run = azure.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    assert run.status == "completed"
    assert simulator.requests[-1].path == f"/openai/threads/{thread.id}/runs/{run.id}"
    status, _, body = raw(simulator, "GET", "/openai/assistants")
    assert status == 400 and body["error"]["code"] == "MissingApiVersionParameter"


def test_chat_completions(azure: openai.AzureOpenAI, sdk: openai.OpenAI) -> None:
    response = azure.chat.completions.with_raw_response.create(
        model="my-gpt4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert response.headers["x-ms-deployment-name"] == "my-gpt4o"
    completion = response.parse()
    assert completion.id.startswith("chatcmpl-") and completion.model == "my-gpt4o"
    assert completion.choices[0].finish_reason == "stop" and completion.choices[0].message.content
    assert completion.usage is not None and completion.usage.total_tokens > 0
    extra: Any = completion.model_extra
    assert extra["prompt_filter_results"][0]["content_filter_results"]["jailbreak"]["detected"] is False
    choice_extra: Any = completion.choices[0].model_extra
    assert choice_extra["content_filter_results"]["protected_material_code"] == {
        "filtered": False,
        "detected": False,
    }
    plain = sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert plain.choices[0].message.role == "assistant" and "prompt_filter_results" not in (
        plain.model_extra or {}
    )


# streaming


class Recorder(AssistantEventHandler):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []
        self.deltas: list[str] = []
        self.texts: list[str] = []
        self.tool_calls: list[str] = []

    def on_event(self, event: Any) -> None:
        self.events.append(event.event)

    def on_text_delta(self, delta: Any, snapshot: Any) -> None:
        self.deltas.append(delta.value)

    def on_text_done(self, text: Any) -> None:
        self.texts.append(text.value)

    def on_tool_call_created(self, tool_call: Any) -> None:
        self.tool_calls.append(tool_call.function.name)


def test_stream_with_event_handler(sdk: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    handler = Recorder()
    with sdk.beta.threads.runs.stream(
        thread_id=thread_id, assistant_id=assistant_id, event_handler=handler
    ) as s:
        s.until_done()
        run = s.get_final_run()
        messages = s.get_final_messages()
    assert run.status == "completed" and run.usage is not None
    assert handler.events[:3] == ["thread.run.created", "thread.run.queued", "thread.run.in_progress"]
    assert handler.events[-3:] == [
        "thread.message.completed",
        "thread.run.step.completed",
        "thread.run.completed",
    ]
    assert "".join(handler.deltas) == REPLY and handler.texts == [REPLY]
    assert messages[0].run_id == run.id
    stored = sdk.beta.threads.runs.retrieve(run.id, thread_id=thread_id)
    assert stored.status == "completed"  # streamed and polled runs end in the same state


def test_stream_plain_iteration(sdk: openai.OpenAI, assistant_id: str, thread_id: str) -> None:
    stream = sdk.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, stream=True)
    names = [event.event for event in stream]
    assert names[0] == "thread.run.created" and names[-1] == "thread.run.completed"
    assert names.count("thread.message.delta") == len(REPLY.split())


def test_stream_tool_round_trip(sdk: openai.OpenAI, simulator: Simulator, assistant_id: str) -> None:
    simulator.next_run_outcome("requires_action")
    first = Recorder()
    with sdk.beta.threads.create_and_run_stream(
        assistant_id=assistant_id,
        thread={"messages": [{"role": "user", "content": "hi"}]},
        event_handler=first,
    ) as s:
        run = s.get_final_run()
    assert first.events[0] == "thread.created" and first.events[-1] == "thread.run.requires_action"
    assert run.status == "requires_action" and run.required_action is not None
    assert first.tool_calls == ["get_weather", "lookup_order"]
    outputs: list[ToolOutput] = [
        {"tool_call_id": c.id, "output": "ok"} for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    second = Recorder()
    with sdk.beta.threads.runs.submit_tool_outputs_stream(
        tool_outputs=outputs, run_id=run.id, thread_id=run.thread_id, event_handler=second
    ) as s:
        final = s.get_final_run()
    assert second.events[0] == "thread.run.step.completed" and final.status == "completed"
    assert second.texts == [REPLY]


def test_drop_stream_raises(
    sdk: openai.OpenAI, simulator: Simulator, assistant_id: str, thread_id: str
) -> None:
    simulator.add_fault(kind="drop_stream", path="/threads/*/runs")
    seen: list[str] = []
    # The helpers re-raise the transport error itself ("legacy" behaviour), not APIConnectionError.
    with pytest.raises(httpx2.RemoteProtocolError):  # noqa: SIM117 - the raise happens while iterating
        with sdk.beta.threads.runs.stream(thread_id=thread_id, assistant_id=assistant_id) as stream:
            seen.extend(event.event for event in stream)
    assert seen == ["thread.run.created", "thread.run.queued"]
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread_id, assistant_id=assistant_id)
    assert run.status == "completed"  # the fault was used up, and the dropped run had finished anyway
    simulator.add_fault(kind="drop_stream")
    plain = sdk.beta.threads.runs.create(thread_id=thread_id, assistant_id=assistant_id, stream=True)
    with pytest.raises(openai.APIConnectionError):
        seen = [event.event for event in plain]


def test_async_client(simulator: Simulator) -> None:
    class AsyncRecorder(AsyncAssistantEventHandler):
        text = ""

        async def on_text_done(self, text: Any) -> None:
            self.text = text.value

    async def scenario() -> tuple[str, str, str]:
        async with openai.AsyncOpenAI(base_url=simulator.base_url, api_key="x") as client:
            assistant = await client.beta.assistants.create(model="gpt-4o")
            thread = await client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
            polled = await client.beta.threads.runs.create_and_poll(
                thread_id=thread.id, assistant_id=assistant.id
            )
            handler = AsyncRecorder()
            async with client.beta.threads.runs.stream(
                thread_id=thread.id, assistant_id=assistant.id, event_handler=handler
            ) as stream:
                streamed = await stream.get_final_run()
            return polled.status, streamed.status, handler.text

    assert asyncio.run(scenario()) == ("completed", "completed", REPLY)


def test_module_entry_point() -> None:
    cmd = [sys.executable, "-m", "assistant_telemetry.simulator", "--port", "0"]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            base_url = process.stdout.readline().split()[-1]
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v1", base_url)
            with urllib.request.urlopen(base_url + "/assistants", timeout=5) as response:
                assert json.load(response)["object"] == "list"
        finally:
            process.terminate()


# schemas


def openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` (still used inside this 3.1 document) as JSON Schema anyOf-null."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi_to_json_schema(value) for key, value in node.items()}
    # ``allOf: [{$ref}, {nullable: true}]`` makes the whole allOf nullable, not the empty branch.
    if any(branch == {"nullable": True} for branch in node.get("allOf", [])):
        node["allOf"] = [branch for branch in node["allOf"] if branch != {"nullable": True}]
        node["nullable"] = True
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


@pytest.fixture(scope="module")
def validate() -> Any:
    document = openapi_to_json_schema(json.loads(SCHEMAS.read_text()))
    registry: Registry = Registry().with_resource(
        "urn:openai-openapi", Resource.from_contents(document, default_specification=DRAFT202012)
    )

    def errors(name: str, instance: Any) -> list[jsonschema.ValidationError]:
        schema = {"$ref": f"urn:openai-openapi#/components/schemas/{name}"}
        return list(jsonschema.Draft202012Validator(schema, registry=registry).iter_errors(instance))

    return errors


def valid(validate: Any, name: str, instance: Any) -> None:
    problems = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validate(name, instance)]
    assert not problems, f"{name} does not match the OpenAPI schema: {problems}"


def _run_statuses(sim: Simulator, thread_id: str, assistant_id: str, outcome: str) -> list[Any]:
    sim.next_run_outcome(outcome)
    _, _, run = raw(sim, "POST", f"/v1/threads/{thread_id}/runs", {"assistant_id": assistant_id})
    seen = [run]
    while seen[-1]["status"] in ("queued", "in_progress", "cancelling"):
        seen.append(raw(sim, "GET", f"/v1/threads/{thread_id}/runs/{run['id']}")[2])
    return seen


def test_responses_match_openapi_schemas(simulator: Simulator, validate: Any) -> None:
    _, _, assistant = raw(
        simulator,
        "POST",
        "/v1/assistants",
        {"model": "gpt-4o", "tools": [{"type": "function", "function": {"name": "f"}}]},
    )
    valid(validate, "AssistantObject", assistant)
    _, _, thread = raw(simulator, "POST", "/v1/threads", {"messages": [{"role": "user", "content": "hi"}]})
    valid(validate, "ThreadObject", thread)
    tid, aid = thread["id"], assistant["id"]
    statuses = set()
    for outcome in ("requires_action", "completed", "failed", "incomplete", "expired", "cancelled"):
        for run in _run_statuses(simulator, tid, aid, outcome):
            valid(validate, "RunObject", run)
            statuses.add(run["status"])
        if run["status"] == "requires_action":
            calls = run["required_action"]["submit_tool_outputs"]["tool_calls"]
            body = {"tool_outputs": [{"tool_call_id": c["id"], "output": "ok"} for c in calls]}
            valid(
                validate,
                "RunObject",
                raw(simulator, "POST", f"/v1/threads/{tid}/runs/{run['id']}/submit_tool_outputs", body)[2],
            )
            while run["status"] != "completed":
                run = raw(simulator, "GET", f"/v1/threads/{tid}/runs/{run['id']}")[2]
                valid(validate, "RunObject", run)
            steps = raw(simulator, "GET", f"/v1/threads/{tid}/runs/{run['id']}/steps")[2]
            assert {s["type"] for s in steps["data"]} == {"tool_calls", "message_creation"}
            valid(validate, "ListRunStepsResponse", steps)
            valid(validate, "RunStepObject", steps["data"][0])
    assert statuses == {
        "queued",
        "in_progress",
        "requires_action",
        "cancelling",
        "completed",
        "failed",
        "incomplete",
        "expired",
        "cancelled",
    }
    messages = raw(simulator, "GET", f"/v1/threads/{tid}/messages?limit=2")[2]
    assert messages["has_more"] and {m["status"] for m in messages["data"]} <= {"completed", "incomplete"}
    valid(validate, "ListMessagesResponse", messages)
    valid(validate, "MessageObject", messages["data"][0])
    valid(validate, "ListRunsResponse", raw(simulator, "GET", f"/v1/threads/{tid}/runs")[2])
    valid(validate, "ListAssistantsResponse", raw(simulator, "GET", "/v1/assistants?limit=1")[2])
    message_id = messages["data"][0]["id"]
    valid(
        validate,
        "DeleteMessageResponse",
        raw(simulator, "DELETE", f"/v1/threads/{tid}/messages/{message_id}")[2],
    )
    valid(validate, "DeleteThreadResponse", raw(simulator, "DELETE", f"/v1/threads/{tid}")[2])
    valid(validate, "DeleteAssistantResponse", raw(simulator, "DELETE", f"/v1/assistants/{aid}")[2])
    status, _, error = raw(simulator, "GET", f"/v1/assistants/{aid}")
    assert status == 404
    valid(validate, "ErrorResponse", error)
    simulator.add_fault(status=429)
    valid(validate, "ErrorResponse", raw(simulator, "GET", "/v1/assistants")[2])


def _event_schema(event: str) -> str:
    exact = {
        "thread.created": "ThreadObject",
        "thread.message.delta": "MessageDeltaObject",
        "thread.run.step.delta": "RunStepDeltaObject",
    }
    if event in exact:
        return exact[event]
    if event.startswith("thread.message."):
        return "MessageObject"
    return "RunStepObject" if event.startswith("thread.run.step.") else "RunObject"


def test_stream_payloads_match_openapi_schemas(simulator: Simulator, validate: Any) -> None:
    aid = raw(simulator, "POST", "/v1/assistants", {"model": "gpt-4o"})[2]["id"]
    for outcome in ("requires_action", "completed"):
        simulator.next_run_outcome(outcome)
        status, headers, text = raw(
            simulator, "POST", "/v1/threads/runs", {"assistant_id": aid, "stream": True}
        )
        assert status == 200 and headers["content-type"].startswith("text/event-stream")
        events = sse(text)
        assert events[-1] == ("done", "[DONE]")
        for name, data in events[:-1]:
            valid(validate, _event_schema(name), data)


def test_schema_check_can_fail(simulator: Simulator, validate: Any) -> None:
    aid = raw(simulator, "POST", "/v1/assistants", {"model": "gpt-4o"})[2]["id"]
    tid = raw(simulator, "POST", "/v1/threads", {})[2]["id"]
    run = _run_statuses(simulator, tid, aid, "content_filter")[-1]
    # Known deviation, asked for on purpose: the spec's run enum lacks Azure's "content_filter" reason.
    assert [list(e.absolute_path) for e in validate("RunObject", run)] == [["incomplete_details"]]
    good = raw(simulator, "GET", f"/v1/threads/{tid}/runs/{run['id']}")[2]
    good["incomplete_details"] = None
    valid(validate, "RunObject", good)
    broken = [
        ("RunObject", {**good, "status": "running"}),
        ("RunObject", {**good, "usage": {"prompt_tokens": 1}}),
        ("RunObject", {key: value for key, value in good.items() if key != "thread_id"}),
        ("RunObject", {**good, "truncation_strategy": {"type": "sometimes"}}),
        (
            "ThreadObject",
            {
                "id": tid,
                "object": "thread",
                "created_at": "yesterday",
                "metadata": {},
                "tool_resources": None,
            },
        ),
        ("ErrorResponse", {"error": {"message": "x"}}),
    ]
    for name, instance in broken:
        assert validate(name, instance), f"{name} accepted a broken object: {instance}"

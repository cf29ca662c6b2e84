"""The simulator's Responses and Conversations answer in OpenAI's published shapes (OpenAPI schemas).

The schemas are carried in tests/data/openapi_responses.json (regenerate with
tests/data/extract_openapi_responses.py), so this runs where /work/shared does not exist.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from assistant_telemetry.simulator import Simulator

SCHEMAS = Path(__file__).parent / "data" / "openapi_responses.json"
EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.queued": "ResponseQueuedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
}


@pytest.fixture(scope="module")
def simulator() -> Iterator[Simulator]:
    with Simulator() as sim:
        yield sim


def raw(sim: Simulator, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{sim.port}{path}",
        data=data,
        method=method,
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, headers, text = response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        status, headers, text = error.code, dict(error.headers), error.read().decode()
    if headers.get("content-type", "").startswith("text/event-stream"):
        return status, headers, sse(text)
    return status, headers, json.loads(text)


def sse(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        data = fields["data"]
        events.append((fields.get("event", ""), data if data == "[DONE]" else json.loads(data)))
    return events


def openapi_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` (still used inside this 3.1 document) as JSON Schema anyOf-null."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: openapi_to_json_schema(value) for key, value in node.items()}
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


OUTCOMES = ("completed", "requires_action", "failed", "incomplete", "content_filter")


@pytest.mark.parametrize("outcome", OUTCOMES)
def test_responses_match_openapi(simulator: Simulator, validate: Any, outcome: str) -> None:
    conversation = raw(
        simulator, "POST", "/v1/conversations", {"items": [{"role": "user", "content": "hi"}]}
    )[2]
    simulator.next_run_outcome(outcome)
    status, _, response = raw(
        simulator,
        "POST",
        "/v1/responses",
        {"model": "gpt-4o", "input": "hello", "conversation": conversation["id"]},
    )
    assert status == 200 and response["status"] in ("completed", "failed", "incomplete")
    valid(validate, "Response", response)
    valid(
        validate, "ResponseItemList", raw(simulator, "GET", f"/v1/responses/{response['id']}/input_items")[2]
    )
    items = raw(simulator, "GET", f"/v1/conversations/{conversation['id']}/items")[2]
    valid(validate, "ConversationItemList", items)
    for item in items["data"]:
        valid(validate, "ConversationItem", item)


def test_background_lifecycle_matches_openapi(simulator: Simulator, validate: Any) -> None:
    simulator.run_timing(queue_s=2, execution_s=5)
    try:
        created = raw(
            simulator, "POST", "/v1/responses", {"model": "gpt-4o", "input": "x", "background": True}
        )[2]
        seen = [created]
        while seen[-1]["status"] not in ("completed", "failed", "incomplete", "cancelled"):
            seen.append(raw(simulator, "GET", f"/v1/responses/{created['id']}")[2])
    finally:
        simulator.clear_run_outcomes()
    assert [r["status"] for r in seen] == ["queued", "in_progress", "completed"]
    for response in seen:
        valid(validate, "Response", response)
    assert seen[-1]["completed_at"] - seen[-1]["created_at"] == 7  # the server's timestamps moved
    stopped = raw(simulator, "POST", "/v1/responses", {"model": "gpt-4o", "input": "x", "background": True})[
        2
    ]
    cancelled = raw(simulator, "POST", f"/v1/responses/{stopped['id']}/cancel")[2]
    assert cancelled["status"] == "cancelled"
    valid(validate, "Response", cancelled)
    assert raw(simulator, "POST", f"/v1/responses/{seen[-1]['id']}/cancel")[2]["status"] == "completed"


@pytest.mark.parametrize("background", [False, True])
@pytest.mark.parametrize("outcome", OUTCOMES)
def test_stream_events_match_openapi(
    simulator: Simulator, validate: Any, outcome: str, background: bool
) -> None:
    simulator.next_run_outcome(outcome)
    body = {"model": "gpt-4o", "input": "x", "stream": True, "background": background}
    status, headers, events = raw(simulator, "POST", "/v1/responses", body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert events[-1] == ("done", "[DONE]")
    names = [name for name, _ in events[:-1]]
    assert names[:2] == ["response.created", "response.queued" if background else "response.in_progress"]
    for number, (name, data) in enumerate(events[:-1]):
        assert data["type"] == name and data["sequence_number"] == number
        valid(validate, EVENT_SCHEMAS[name], data)
    resumed = raw(simulator, "GET", f"/v1/responses/{events[0][1]['response']['id']}?stream=true")[2]
    assert resumed == events  # a resumed stream replays every event, numbered alike


def test_conversations_match_openapi(simulator: Simulator, validate: Any) -> None:
    said = [{"role": "user", "content": "hi"}]
    conversation = raw(simulator, "POST", "/v1/conversations", {"items": said, "metadata": {"k": "v"}})[2]
    cid = conversation["id"]
    valid(validate, "ConversationResource", conversation)
    valid(validate, "ConversationResource", raw(simulator, "GET", f"/v1/conversations/{cid}")[2])
    updated = raw(simulator, "POST", f"/v1/conversations/{cid}", {"metadata": {"k": "w"}})[2]
    assert updated["metadata"] == {"k": "w"}
    valid(validate, "ConversationResource", updated)
    added = raw(simulator, "POST", f"/v1/conversations/{cid}/items", {"items": said})[2]
    valid(validate, "ConversationItemList", added)
    item_id = added["data"][0]["id"]
    valid(validate, "ConversationItem", raw(simulator, "GET", f"/v1/conversations/{cid}/items/{item_id}")[2])
    after = raw(simulator, "DELETE", f"/v1/conversations/{cid}/items/{item_id}")[2]
    valid(validate, "ConversationResource", after)
    assert raw(simulator, "GET", f"/v1/conversations/{cid}/items/{item_id}")[0] == 404
    valid(validate, "DeletedConversationResource", raw(simulator, "DELETE", f"/v1/conversations/{cid}")[2])
    status, _, error = raw(simulator, "GET", f"/v1/conversations/{cid}")
    assert status == 404
    valid(validate, "ErrorResponse", error)


def test_requests_the_service_refuses(simulator: Simulator, validate: Any) -> None:
    conversation = raw(simulator, "POST", "/v1/conversations", {})[2]
    first = raw(simulator, "POST", "/v1/responses", {"model": "gpt-4o", "input": "x"})[2]
    refused = [
        ({"input": "x"}, 400),  # no model
        ({"model": "gpt-4o", "input": "x", "conversation": "conv_missing"}, 404),
        ({"model": "gpt-4o", "input": "x", "previous_response_id": "resp_missing"}, 404),
        (
            {
                "model": "gpt-4o",
                "input": "x",
                "conversation": conversation["id"],
                "previous_response_id": first["id"],
            },
            400,
        ),
        ({"model": "gpt-4o", "input": [{"type": "mystery"}]}, 400),
    ]
    for body, expected in refused:
        status, _, error = raw(simulator, "POST", "/v1/responses", body)
        assert status == expected, body
        valid(validate, "ErrorResponse", error)
    assert raw(simulator, "POST", f"/v1/responses/{first['id']}/cancel")[0] == 400  # not a background one
    assert raw(simulator, "DELETE", f"/v1/responses/{first['id']}")[2]["deleted"] is True
    assert raw(simulator, "GET", f"/v1/responses/{first['id']}")[0] == 404


@pytest.mark.parametrize("path", ["/openai/v1/responses", "/openai/responses?api-version=2025-04-01-preview"])
def test_azure_paths(simulator: Simulator, validate: Any, path: str) -> None:
    simulator.deploy("chat-prod", "gpt-4o-2024-08-06")
    status, _, response = raw(simulator, "POST", path, {"model": "chat-prod", "input": "x"})
    assert status == 200 and response["model"] == "gpt-4o-2024-08-06"  # the model the deployment serves
    valid(validate, "Response", response)
    assert raw(simulator, "POST", "/openai/responses", {"model": "chat-prod", "input": "x"})[0] == 400


def test_schema_check_can_fail(simulator: Simulator, validate: Any) -> None:
    good = raw(simulator, "POST", "/v1/responses", {"model": "gpt-4o", "input": "x"})[2]
    valid(validate, "Response", good)
    broken = [
        ("Response", {**good, "status": "running"}),
        ("Response", {**good, "usage": {"input_tokens": 1}}),
        ("Response", {key: value for key, value in good.items() if key != "output"}),
        ("ResponseTextDeltaEvent", {"type": "response.output_text.delta", "delta": "x"}),
        (
            "ConversationResource",
            {"id": "conv_1", "object": "conversation", "metadata": {}, "created_at": "now"},
        ),
    ]
    for name, instance in broken:
        assert validate(name, instance), f"{name} accepted a broken object: {instance}"

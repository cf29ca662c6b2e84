"""Foundry agents v2: the real azure-ai-projects 2.x SDK (sync and aio) against the loopback simulator.

One span and one duration point per ``project.agents`` operation, with agent name/version/id, request
ids, status and failure class; Responses calls through ``project.get_openai_client()`` naming an
``agent_reference`` carry the agent and the project; no content (instructions, tool definitions,
descriptions, metadata values, input text) is ever exported.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from azure.ai.projects import AIProjectClient
from azure.ai.projects.aio import AIProjectClient as AsyncAIProjectClient
from azure.ai.projects.models import FunctionTool, PromptAgentDefinition

from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator
from example_runs import run_example

from azure_clients import AllowHttpBearer, AsyncStaticToken, StaticToken

PROJECT = "agents-v2-project"  # its own project: other tests' agents are not listed here
ARM_ID = f"/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.CognitiveServices/accounts/res-1/projects/{PROJECT}"
CANARY = "CANARY-7f3a"
AGENT_OPS = (
    sc.OP_CREATE_AGENT,
    sc.OP_GET_AGENT,
    sc.OP_LIST_AGENTS,
    sc.OP_GET_AGENT_VERSION,
    sc.OP_LIST_AGENT_VERSIONS,
    sc.OP_DELETE_AGENT_VERSION,
    sc.OP_DELETE_AGENT,
)


def _definition() -> PromptAgentDefinition:
    tool = FunctionTool(
        name="lookup", description=f"{CANARY} tool description", parameters={"type": "object"}, strict=True
    )
    return PromptAgentDefinition(model="gpt-4o", instructions=f"{CANARY} instructions", tools=[tool])


def _create_kwargs() -> dict[str, Any]:
    return {
        "definition": _definition(),
        "description": f"{CANARY} description",
        "metadata": {"team": f"{CANARY} metadata value"},
    }


def _reference(version: str) -> dict[str, Any]:
    return {"agent_reference": {"name": "helper", "version": version, "type": "agent_reference"}}


def _exported_text(telemetry: Any) -> str:
    """Everything exported: span names, attributes, events, and every metric point's attributes."""
    parts: list[Any] = []
    for span in telemetry.spans:
        parts += [span.name, dict(span.attributes or {})]
        parts += [(event.name, dict(event.attributes or {})) for event in span.events]
    data = telemetry.reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                parts += [dict(point.attributes or {}) for point in metric.data.data_points]
    return json.dumps(parts, default=str)


def _sync_scenario(sim: Simulator) -> dict[str, Any]:
    project = AIProjectClient(
        sim.agents_endpoint(PROJECT), StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    )
    with project:
        project.agents.create_version("helper", **_create_kwargs())
        version = project.agents.create_version("helper", **_create_kwargs())
        project.agents.get("helper")
        assert [agent.name for agent in project.agents.list()] == ["helper"]
        assert len(list(project.agents.list_versions("helper"))) == 2
        project.agents.get_version("helper", "1")
        openai = project.get_openai_client()
        conversation = openai.conversations.create()
        response = openai.responses.create(
            input=f"{CANARY} input", conversation=conversation.id, extra_body=_reference("2")
        )
        legacy = openai.responses.create(
            input=f"{CANARY} input", extra_body={"agent": _reference("1")["agent_reference"]}
        )
        project.agents.delete_version("helper", "1")
        project.agents.delete("helper")
        with pytest.raises(Exception) as missing:
            project.agents.get("helper")
    return {
        "version": version.id,
        "response": response.id,
        "legacy": legacy.id,
        "conversation": conversation.id,
        "error": type(missing.value).__name__,
    }


async def _async_scenario(sim: Simulator) -> dict[str, Any]:
    project = AsyncAIProjectClient(
        sim.agents_endpoint(PROJECT), AsyncStaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    )
    async with project:
        await project.agents.create_version("helper", **_create_kwargs())
        version = await project.agents.create_version("helper", **_create_kwargs())
        await project.agents.get("helper")
        assert [agent.name async for agent in project.agents.list()] == ["helper"]
        assert len([v async for v in project.agents.list_versions("helper")]) == 2
        await project.agents.get_version("helper", "1")
        openai = project.get_openai_client()
        conversation = await openai.conversations.create()
        response = await openai.responses.create(
            input=f"{CANARY} input", conversation=conversation.id, extra_body=_reference("2")
        )
        legacy = await openai.responses.create(
            input=f"{CANARY} input", extra_body={"agent": _reference("1")["agent_reference"]}
        )
        await openai.close()
        await project.agents.delete_version("helper", "1")
        await project.agents.delete("helper")
        with pytest.raises(Exception) as missing:
            await project.agents.get("helper")
    return {
        "version": version.id,
        "response": response.id,
        "legacy": legacy.id,
        "conversation": conversation.id,
        "error": type(missing.value).__name__,
    }


def _check(telemetry: Any, ids: dict[str, Any]) -> None:
    spans = telemetry.spans
    by_op: dict[str, list[Any]] = {}
    for span in spans:
        by_op.setdefault(span.attributes.get(sc.OPERATION_NAME), []).append(span)
    # One span per call: 2 creates, 2 gets (one failed), the rest once each.
    expected = {
        sc.OP_CREATE_AGENT: 2,
        sc.OP_GET_AGENT: 2,
        sc.OP_LIST_AGENTS: 1,
        sc.OP_LIST_AGENT_VERSIONS: 1,
        sc.OP_GET_AGENT_VERSION: 1,
        sc.OP_DELETE_AGENT_VERSION: 1,
        sc.OP_DELETE_AGENT: 1,
        "create_conversation": 1,
        sc.OP_INVOKE_AGENT: 2,  # the responses naming an agent (every mode)
    }
    assert {op: len(found) for op, found in by_op.items()} == expected
    for span in spans:  # every call went to the project endpoint: provider and project on each
        attrs = span.attributes
        assert attrs[sc.PROVIDER_NAME] == sc.PROVIDER_MICROSOFT_FOUNDRY, span.name
        assert attrs[sc.FOUNDRY_PROJECT_ID] == ARM_ID and attrs[sc.FOUNDRY_PROJECT_NAME] == PROJECT
        assert attrs[sc.AZURE_SERVICE_REQUEST_ID] and attrs[sc.REQUEST_ID], span.name
    for op in AGENT_OPS:
        for span in by_op[op]:
            assert span.attributes[sc.AZURE_MS_REQUEST_ID] and span.attributes[sc.CLIENT_REQUEST_ID]
            assert span.attributes[sc.AZURE_API_VERSION] == "v1"
    created = by_op[sc.OP_CREATE_AGENT][1].attributes
    assert (created[sc.AGENT_NAME], created[sc.AGENT_VERSION], created[sc.AGENT_ID]) == (
        "helper",
        "2",
        ids["version"],
    )
    assert created[sc.METADATA_KEYS] == ("team",)
    got, failed = by_op[sc.OP_GET_AGENT]
    assert got.attributes[sc.AGENT_ID] == "helper:2" and got.attributes[sc.AGENT_VERSION] == "2"
    assert failed.attributes[sc.ERROR_TYPE] == ids["error"] == "ResourceNotFoundError"
    assert (
        failed.attributes[sc.FAILURE_CLASS] == "not_found" and failed.attributes[sc.HTTP_STATUS_CODE] == 404
    )
    version = by_op[sc.OP_GET_AGENT_VERSION][0].attributes
    assert (version[sc.AGENT_ID], version[sc.AGENT_VERSION]) == ("helper:1", "1")
    assert by_op[sc.OP_LIST_AGENT_VERSIONS][0].attributes[sc.LIST_IDS] == ("helper:1", "helper:2")
    deleted = by_op[sc.OP_DELETE_AGENT_VERSION][0].attributes
    assert deleted[sc.AGENT_ID] == "helper:1" and deleted[sc.DELETED] is True
    assert all(span.name == "invoke_agent helper" for span in by_op[sc.OP_INVOKE_AGENT])
    assert {span.attributes[sc.EXECUTION_DRIVER] for span in by_op[sc.OP_INVOKE_AGENT]} == {sc.DRIVER_REQUEST}
    chats = {span.attributes[sc.RESPONSE_ID]: span.attributes for span in by_op[sc.OP_INVOKE_AGENT]}
    current, legacy = chats[ids["response"]], chats[ids["legacy"]]
    assert (current[sc.AGENT_NAME], current[sc.AGENT_VERSION], current[sc.AGENT_ID]) == (
        "helper",
        "2",
        "helper:2",
    )
    assert current[sc.CONVERSATION_ID] == ids["conversation"]
    assert (legacy[sc.AGENT_NAME], legacy[sc.AGENT_ID]) == ("helper", "helper:1")  # the pre-2.0 key
    # One duration point per call, by operation (the metric carries the provider, never an id).
    points = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    counts: dict[str, int] = {}
    for point in points:  # one series per outcome: the failed get is a series of its own
        assert point.attributes[sc.PROVIDER_NAME] == sc.PROVIDER_MICROSOFT_FOUNDRY
        op = point.attributes[sc.OPERATION_NAME]
        counts[op] = counts.get(op, 0) + point.count
    assert counts == expected
    assert CANARY not in _exported_text(telemetry)


def test_sync_agents_and_responses(telemetry: Any, sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sc.FOUNDRY_PROJECT_ARM_ID_ENV, ARM_ID)
    _check(telemetry, _sync_scenario(sim))


def test_async_agents_and_responses(telemetry: Any, sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sc.FOUNDRY_PROJECT_ARM_ID_ENV, ARM_ID)
    _check(telemetry, asyncio.run(asyncio.wait_for(_async_scenario(sim), timeout=60)))


def test_project_id_only_for_the_project_it_names(
    telemetry: Any, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(sc.FOUNDRY_PROJECT_ARM_ID_ENV, ARM_ID.replace(PROJECT, "other-project"))
    project = AIProjectClient(
        sim.agents_endpoint(PROJECT), StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    )
    with project:
        project.agents.create_version("solo", definition=_definition())
    attrs = telemetry.one(sc.OP_CREATE_AGENT).attributes
    assert sc.FOUNDRY_PROJECT_ID not in attrs and attrs[sc.FOUNDRY_PROJECT_NAME] == PROJECT
    assert attrs[sc.AGENT_ID] == "solo:1"


def test_uninstrumented_makes_no_spans(telemetry: Any, sim: Simulator) -> None:
    import assistant_telemetry

    assistant_telemetry.uninstrument()
    project = AIProjectClient(
        sim.agents_endpoint(PROJECT), StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    )
    with project:
        project.agents.create_version("quiet", definition=_definition())
        project.agents.get("quiet")
    assert telemetry.spans == []
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )


@pytest.mark.timeout(150)
def test_example_runs_against_the_simulator() -> None:
    out = run_example("foundry_agents.py")
    for name in (
        '"name": "create_agent"',
        '"name": "invoke_agent weather-helper"',
        '"gen_ai.agent.id": "weather-helper:1"',
    ):
        assert name in out
    assert "Answer briefly" not in out and "Will it rain" not in out

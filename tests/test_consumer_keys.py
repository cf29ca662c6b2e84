"""Consumers' keys (issue 19.5): guardrail results in the GenAI conventions' words, Foundry project
ids on every call to a project endpoint, gen_ai.system beside every provider, no empty metric labels.

The end-to-end proof on Microsoft's own workbook queries is tests/test_agents_workbook.py.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.extract import content_filter as cf
from assistant_telemetry.extract.azure_ai_projects import project_attributes, project_keys
from assistant_telemetry.extract.chat import completion_attributes
from assistant_telemetry.simulator import Simulator
from assistant_telemetry.simulator import chat as sim_chat

from azure_clients import agents_client

ARM = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/{}/projects/{}"
COMPONENT = sc.GUARDRAIL_COMPONENT_AZURE_CONTENT_SAFETY


def completion(profile: str) -> dict[str, Any]:
    request = {"model": "prod", "messages": [{"role": "user", "content": "hi"}]}
    return sim_chat.chat_completion(request, deployment="prod", azure=True, profile=profile)


def events_of(profile: str) -> list[dict[str, Any]]:
    attrs: dict[str, Any] = {sc.PROVIDER_NAME: sc.PROVIDER_AZURE_OPENAI}
    completion_attributes(completion(profile), attrs, None)
    return cf.guardrail_events(attrs)


def results(events: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (
            e.get(sc.GUARDRAIL_SOURCE),
            e.get(sc.GUARDRAIL_RISK_CATEGORY),
            e[sc.GUARDRAIL_RESULT_TYPE],
            e[sc.GUARDRAIL_RESULT_VALUE],
            e.get(sc.CONTENT_FILTER_FILTERED),
        )
        for e in events
    }


def test_guardrail_results_keep_azures_words_one_per_flagged_category() -> None:
    events = events_of("annotated")
    assert results(events) == {
        ("prompt", "hate", "severity", "low", False),
        ("prompt", "violence", "severity", "low", False),
        ("prompt", "jailbreak", "detected", "true", False),
        ("prompt", "indirect_attack", "detected", "true", False),
        ("completion", "sexual", "severity", "low", False),
        ("completion", "violence", "severity", "medium", False),
        ("completion", "self_harm", "severity", "low", False),
        ("completion", "protected_material_text", "detected", "true", False),
        ("completion", "protected_material_code", "detected", "true", False),
        ("completion", "profanity", "detected", "true", False),
    }
    for event in events:
        assert event[sc.GUARDRAIL_COMPONENT_NAME] == COMPONENT
        assert event[sc.PROVIDER_NAME] == sc.PROVIDER_AZURE_OPENAI
        # the conventions forbid a verdict inferred from a severity: none is recorded
        assert not {"allow", "deny", "block"} & {str(v) for v in event.values()}


def test_safe_results_make_no_guardrail_event() -> None:
    assert events_of("safe") == []
    assert cf.guardrail_events({}) == []


def test_a_filtered_category_says_so() -> None:
    filtered = {r for r in results(events_of("blocked_output")) if r[4]}
    assert ("completion", "violence", "severity", "high", True) in filtered


def test_blocks_no_category_explains_name_the_field_that_reported_them() -> None:
    output = {sc.RESPONSE_FINISH_REASONS: ("content_filter",)}
    cf.blocked(output, "completion")
    run = {sc.RUN_ID: "run_1", sc.RUN_INCOMPLETE_REASON: "content_filter"}
    cf.incomplete_reason_attributes(run)
    prompt: dict[str, Any] = {sc.ERROR_CODE: "content_filter"}
    cf.error_body_attributes({"error": {"code": "content_filter"}}, prompt)
    assert results(cf.guardrail_events(output)) == {
        ("completion", None, "finish_reason", "content_filter", True)
    }
    assert results(cf.guardrail_events(run)) == {
        ("completion", None, "incomplete_details.reason", "content_filter", True)
    }
    assert results(cf.guardrail_events(prompt)) == {("prompt", None, "error.code", "content_filter", True)}
    # a run's results repeat on every retrieve: only the span that claims its end reports them
    assert cf.guardrail_events(run, run_claimed=False) == []


def test_a_filter_that_did_not_run_is_an_error_result() -> None:
    attrs: dict[str, Any] = {}
    cf.results_attributes(
        {"error": {"code": "content_filter_error", "message": "CANARY"}}, "completion", attrs
    )
    assert results(cf.guardrail_events(attrs)) == {(None, None, "error", "content_filter_error", None)}


@pytest.mark.timeout(60)
def test_guardrail_events_on_real_chat_spans(telemetry: Any, sim: Simulator) -> None:
    sim.deploy("prod", "gpt-4o")
    sim.next_content_filter("annotated", "safe", "blocked_prompt")
    azure = openai.AzureOpenAI(azure_endpoint=sim.azure_endpoint, api_key="k", api_version="2024-10-21")
    for _ in range(2):
        azure.chat.completions.create(model="prod", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        azure.chat.completions.create(model="prod", messages=[{"role": "user", "content": "hi"}])
    annotated, safe, blocked = telemetry.named("chat")
    named = [[e for e in s.events if e.name == sc.EVENT_GUARDRAIL_RESULT] for s in (annotated, safe, blocked)]
    assert len(named[0]) == 10 and named[1] == []
    assert {e.attributes[sc.GUARDRAIL_SOURCE] for e in named[2]} == {"prompt"}
    assert any(e.attributes[sc.CONTENT_FILTER_FILTERED] for e in named[2])


# --- Foundry project ids --------------------------------------------------------------------------


def test_several_arm_ids_each_label_only_their_project(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = ARM.format("res-a", "alpha"), ARM.format("res-b", "beta")
    monkeypatch.setenv(sc.FOUNDRY_PROJECT_ARM_ID_ENV, f"{first}, {second}")
    alpha = project_attributes("res-a.services.ai.azure.com", "/api/projects/alpha/openai/v1")
    beta = project_attributes("res-b.services.ai.azure.com", "/api/projects/beta/openai/v1")
    assert alpha[sc.FOUNDRY_PROJECT_ID] == first and beta[sc.FOUNDRY_PROJECT_ID] == second
    assert alpha[sc.FOUNDRY_RESOURCE_NAME] == "res-a" and alpha[sc.FOUNDRY_PROJECT_NAME] == "alpha"
    assert alpha[sc.PROVIDER_NAME] == sc.PROVIDER_MICROSOFT_FOUNDRY


def test_an_arm_id_of_another_resource_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sc.FOUNDRY_PROJECT_ARM_ID_ENV, ARM.format("res-a", "alpha"))
    other = project_attributes("res-z.services.ai.azure.com", "/api/projects/alpha")
    assert sc.FOUNDRY_PROJECT_ID not in other and other[sc.FOUNDRY_RESOURCE_NAME] == "res-z"
    # a custom host (an APIM front) names no account: the project alone decides
    custom = project_attributes("ai.contoso.example", "/api/projects/alpha")
    assert custom[sc.FOUNDRY_PROJECT_ID] == ARM.format("res-a", "alpha")


def test_project_keys_carry_no_provider() -> None:
    keys = project_keys("res-a.services.ai.azure.com", "/api/projects/alpha/threads")
    assert keys == {sc.FOUNDRY_PROJECT_NAME: "alpha", sc.FOUNDRY_RESOURCE_NAME: "res-a"}
    assert project_keys("api.openai.com", "/v1/chat/completions") == {}


@pytest.mark.timeout(60)
def test_agents_client_calls_carry_the_project(
    telemetry: Any, sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    arm_id = ARM.format("res-a", "demo-project")
    monkeypatch.setenv(sc.FOUNDRY_PROJECT_ARM_ID_ENV, arm_id)
    with agents_client(sim) as client:
        agent = client.create_agent(model="agents-gpt4o", name="helper")
        client.threads.create()
        client.delete_agent(agent.id)
    assert len(telemetry.spans) == 3
    for span in telemetry.spans:
        attrs = span.attributes or {}
        assert attrs[sc.FOUNDRY_PROJECT_ID] == arm_id and attrs[sc.FOUNDRY_PROJECT_NAME] == "demo-project"
        assert sc.SYSTEM in attrs and sc.PROVIDER_NAME in attrs


# --- every provider has its gen_ai.system; no metric label is an empty string ---------------------


@pytest.mark.timeout(60)
def test_system_beside_provider_and_no_empty_labels(telemetry: Any, sim: Simulator) -> None:
    sim.deploy("prod", "gpt-4o")
    plain = openai.OpenAI(base_url=sim.base_url, api_key="k")
    azure = openai.AzureOpenAI(azure_endpoint=sim.azure_endpoint, api_key="k", api_version="2024-10-21")
    plain.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    azure.chat.completions.create(model="prod", messages=[{"role": "user", "content": "hi"}])
    plain.responses.create(model="gpt-4o", input="hi")
    thread = plain.beta.threads.create()
    plain.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=_assistant(plain))
    with agents_client(sim) as client:
        client.create_agent(model="agents-gpt4o")
    assert telemetry.spans
    for span in telemetry.spans:
        attrs = span.attributes or {}
        assert attrs.get(sc.SYSTEM), f"{span.name} has no gen_ai.system"
        assert attrs.get(sc.PROVIDER_NAME), f"{span.name} has no gen_ai.provider.name"
    data = telemetry.reader.get_metrics_data()
    labels = [
        (metric.name, key)
        for rm in data.resource_metrics
        for scope in rm.scope_metrics
        for metric in scope.metrics
        for point in metric.data.data_points
        for key, value in (point.attributes or {}).items()
        if value == "" or value is None
    ]
    assert labels == []


def _assistant(client: openai.OpenAI) -> str:
    return client.beta.assistants.create(model="gpt-4o", name="keys").id

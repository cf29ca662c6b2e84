"""Azure's content filter on Responses API responses (``content_filters``), real Azure clients.

Azure puts a ``content_filters`` array on a response: ``{blocked, source_type,
content_filter_results}`` per source. Its results must become the attributes and counter points
chat's annotations become (same names, same outcome words), from a plain create, a stream (the
response its ``response.completed`` / ``response.incomplete`` event carries), a background
create polled with retrieve, and a response the filter cut short. The counter counts a
response's results once, like a run's: where the response is first seen finished.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import openai
import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator.chat import BLOCKLIST_ID

from conftest import Telemetry

API_VERSION = "2025-04-01-preview"
DEPLOYMENT, MODEL = "prod-responses", "gpt-4o-2024-11-20"
PREFIX = sc.CONTENT_FILTER_PREFIX

# The "annotated" profile, as the counter must see it: (source, category, severity, filtered, detected).
ANNOTATED_POINTS = {
    ("prompt", "hate", "low", False, None),
    ("prompt", "violence", "low", False, None),
    ("prompt", "jailbreak", None, False, True),
    ("prompt", "indirect_attack", None, False, True),
    ("completion", "sexual", "low", False, None),
    ("completion", "violence", "medium", False, None),
    ("completion", "self_harm", "low", False, None),
    ("completion", "protected_material_text", None, False, True),
    ("completion", "protected_material_code", None, False, True),
    ("completion", "profanity", None, False, True),
}
BLOCKED_OUTPUT_POINTS = {
    ("completion", "violence", "high", True, None),
    ("completion", "self_harm", "medium", True, None),
    ("completion", "protected_material_code", None, True, True),
    ("completion", "profanity", None, True, True),
    ("completion", "custom_blocklists", None, True, True),
}


def key(source: str, category: str, field: str) -> str:
    return f"{PREFIX}{source}.{category}.{field}"


def filter_attributes(attrs: Any) -> dict[str, Any]:
    return {name: value for name, value in attrs.items() if name.startswith(PREFIX)}


def counted(telemetry: Telemetry) -> Counter[tuple[Any, ...]]:
    """The counter's points: (source, category, severity, filtered, detected) -> count."""
    found: Counter[tuple[Any, ...]] = Counter()
    for point in telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS):
        labels = point.attributes
        assert labels[sc.PROVIDER_NAME] == "azure.ai.openai"  # low cardinality: never ids
        assert not any(name.endswith(".id") for name in labels)
        found[
            (
                labels.get(sc.CONTENT_FILTER_SOURCE),
                labels[sc.CONTENT_FILTER_CATEGORY],
                labels.get(sc.CONTENT_FILTER_SEVERITY),
                labels[sc.CONTENT_FILTER_FILTERED],
                labels.get(sc.CONTENT_FILTER_DETECTED),
            )
        ] += point.value
    return found


@pytest.fixture(autouse=True)
def _deployment(sim: Any) -> None:
    sim.deploy(DEPLOYMENT, MODEL)


@pytest.fixture
def azure(sim: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="k", api_version=API_VERSION, max_retries=0
    )


def async_azure(sim: Any) -> openai.AsyncAzureOpenAI:
    return openai.AsyncAzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="k", api_version=API_VERSION, max_retries=0
    )


def assert_annotated(attrs: Any) -> None:
    """Every category the "annotated" profile flags, on either source."""
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "annotated"
    assert attrs[key("prompt", "hate", "severity")] == "low"
    assert attrs[key("prompt", "hate", "filtered")] is False
    assert attrs[key("prompt", "violence", "severity")] == "low"
    assert attrs[key("prompt", "jailbreak", "detected")] is True
    assert attrs[key("prompt", "indirect_attack", "detected")] is True
    assert key("prompt", "profanity", "detected") not in attrs  # not detected, not filtered: safe
    assert attrs[key("completion", "sexual", "severity")] == "low"
    assert attrs[key("completion", "violence", "severity")] == "medium"
    assert attrs[key("completion", "self_harm", "severity")] == "low"
    for category in ("protected_material_text", "protected_material_code", "profanity"):
        assert attrs[key("completion", category, "detected")] is True
        assert attrs[key("completion", category, "filtered")] is False
    assert key("completion", "hate", "severity") not in attrs  # safe: not recorded
    assert key("prompt", "sexual", "severity") not in attrs


def assert_blocked_output(attrs: Any) -> None:
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert attrs[sc.EXECUTION_STATUS] == "incomplete"
    assert attrs[sc.EXECUTION_INCOMPLETE_REASON] == "content_filter"
    assert attrs[key("completion", "violence", "filtered")] is True
    assert attrs[key("completion", "violence", "severity")] == "high"
    assert attrs[key("completion", "self_harm", "filtered")] is True
    assert attrs[key("completion", "self_harm", "severity")] == "medium"
    for category in ("protected_material_code", "profanity", "custom_blocklists"):
        assert attrs[key("completion", category, "filtered")] is True
        assert attrs[key("completion", category, "detected")] is True
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == (BLOCKLIST_ID,)
    assert not any(name.startswith(f"{PREFIX}prompt.") for name in attrs)  # a safe prompt


# --- a plain create ---------------------------------------------------------------------------


def test_every_category_on_a_plain_create(telemetry: Telemetry, sim: Any, azure: Any) -> None:
    sim.next_content_filter("annotated")
    response = azure.responses.create(model=DEPLOYMENT, input="hello")
    assert response.status == "completed" and response.output_text  # the app's answer, untouched
    sources = [entry["source_type"] for entry in response.model_extra["content_filters"]]
    assert sources == ["prompt", "completion"]
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.RESPONSE_ID] == response.id and attrs[sc.PROVIDER_NAME] == "azure.ai.openai"
    assert_annotated(attrs)
    assert counted(telemetry) == Counter(ANNOTATED_POINTS)


@pytest.mark.parametrize("profile", ["safe", "annotated", "blocked_output", "filter_error"])
def test_a_response_gets_the_attributes_a_chat_completion_gets(
    telemetry: Telemetry, sim: Any, azure: Any, profile: str
) -> None:
    """Same profile, same filter results: the same names and values on both surfaces."""
    sim.next_content_filter(profile, profile)
    azure.chat.completions.create(model=DEPLOYMENT, messages=[{"role": "user", "content": "hello"}])
    azure.responses.create(model=DEPLOYMENT, input="hello")
    chat, response = (filter_attributes(span.attributes) for span in telemetry.named("chat"))
    assert response == chat and response  # never empty: an Azure answer always says something
    if profile == "filter_error":
        assert response[sc.CONTENT_FILTER_ERROR] is True
        assert counted(telemetry) == Counter({(None, "filter_error", None, False, None): 2})
    if profile == "safe":
        assert response == {sc.CONTENT_FILTER_OUTCOME: "safe"}


def test_openai_routes_carry_no_filter_results(telemetry: Telemetry, sim: Any, client: Any) -> None:
    sim.next_content_filter("annotated")  # an Azure profile: OpenAI's routes neither serve nor take it
    response = client.responses.create(model="gpt-4o", input="hello")
    assert "content_filters" not in (response.model_extra or {})
    assert filter_attributes(telemetry.one("chat").attributes) == {}
    assert counted(telemetry) == Counter()


# --- streams -----------------------------------------------------------------------------------


def test_a_streamed_create_reads_the_response_its_last_event_carries(
    telemetry: Telemetry, sim: Any, azure: Any
) -> None:
    sim.next_content_filter("annotated")
    stream = azure.responses.create(model=DEPLOYMENT, input="hello", stream=True)
    events = [event.type for event in stream]
    assert events[-1] == "response.completed"
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.STREAM_OUTCOME] == "finished" and attrs[sc.EXECUTION_STATUS] == "completed"
    assert_annotated(attrs)
    assert counted(telemetry) == Counter(ANNOTATED_POINTS)


def test_the_stream_helper_and_the_async_client(telemetry: Telemetry, sim: Any, azure: Any) -> None:
    sim.next_content_filter("blocked_output")
    with azure.responses.stream(model=DEPLOYMENT, input="hello") as stream:
        last = [event for event in stream][-1]  # get_final_response() wants response.completed
    assert last.type == "response.incomplete"
    assert last.response.incomplete_details.reason == "content_filter"

    async def main() -> list[str]:
        async with async_azure(sim) as client:
            sim.next_content_filter("annotated")
            stream = await client.responses.create(model=DEPLOYMENT, input="hello", stream=True)
            return [event.type async for event in stream]

    assert asyncio.run(main())[-1] == "response.completed"
    helper, streamed = (span.attributes for span in telemetry.named("chat"))
    assert_blocked_output(helper)
    assert_annotated(streamed)
    assert counted(telemetry) == Counter(BLOCKED_OUTPUT_POINTS | ANNOTATED_POINTS)


# --- retrieve: every retrieve carries the results, the counter counts them once ----------------------


def test_retrieve_repeats_the_results_and_counts_them_once(
    telemetry: Telemetry, sim: Any, azure: Any
) -> None:
    sim.next_content_filter("annotated")
    created = azure.responses.create(model=DEPLOYMENT, input="hello")
    for _ in range(2):
        azure.responses.retrieve(created.id)
    for retrieved in telemetry.named("get_response"):
        assert retrieved.attributes[sc.RESPONSE_ID] == created.id
        assert_annotated(retrieved.attributes)
    assert counted(telemetry) == Counter(ANNOTATED_POINTS)  # 1 each, not 3: seen finished at create


def test_a_background_response_polled_with_retrieve(telemetry: Telemetry, sim: Any, azure: Any) -> None:
    sim.next_content_filter("annotated")
    created = azure.responses.create(model=DEPLOYMENT, input="hello", background=True)
    assert created.status == "queued"
    statuses = [azure.responses.retrieve(created.id).status for _ in range(3)]
    assert statuses == ["in_progress", "completed", "completed"]
    create = telemetry.one("chat").attributes
    assert create[sc.CONTENT_FILTER_OUTCOME] == "annotated"  # the prompt's results, from the start
    assert create[key("prompt", "jailbreak", "detected")] is True
    assert not any(name.startswith(f"{PREFIX}completion.") for name in create)  # no output yet
    in_progress, finished, again = (span.attributes for span in telemetry.named("get_response"))
    assert in_progress[key("prompt", "hate", "severity")] == "low"
    assert key("completion", "violence", "severity") not in in_progress
    assert_annotated(finished)
    assert_annotated(again)
    assert counted(telemetry) == Counter(ANNOTATED_POINTS)  # once, by the retrieve that saw it finish


def test_async_retrieve(telemetry: Telemetry, sim: Any) -> None:
    async def main() -> str:
        async with async_azure(sim) as client:
            sim.next_content_filter("blocked_output")
            created = await client.responses.create(model=DEPLOYMENT, input="hello", background=True)
            while (await client.responses.retrieve(created.id)).status not in ("completed", "incomplete"):
                pass
            return created.id

    response_id = asyncio.run(main())
    finished = telemetry.named("get_response")[-1].attributes
    assert finished[sc.RESPONSE_ID] == response_id
    assert_blocked_output(finished)
    assert counted(telemetry) == Counter(BLOCKED_OUTPUT_POINTS)


# --- the filter cuts the answer, blocks the prompt, or does not run ----------------------------------


def test_blocked_output(telemetry: Telemetry, sim: Any, azure: Any) -> None:
    sim.next_content_filter("blocked_output")
    response = azure.responses.create(model=DEPLOYMENT, input="hello")
    assert response.status == "incomplete" and response.incomplete_details.reason == "content_filter"
    completion = response.model_extra["content_filters"][-1]
    assert (completion["source_type"], completion["blocked"]) == ("completion", True)
    attrs = telemetry.one("chat").attributes
    assert_blocked_output(attrs)
    assert telemetry.one("chat").status.status_code.name == "UNSET"  # an outcome, not a failed call
    assert counted(telemetry) == Counter(BLOCKED_OUTPUT_POINTS)  # flagged categories: no "unspecified"


def test_the_content_filter_outcome_is_served_with_what_blocked_it(
    telemetry: Telemetry, sim: Any, azure: Any
) -> None:
    sim.next_run_outcome("content_filter")  # the outcome queue, no filter profile: Azure still says why
    response = azure.responses.create(model=DEPLOYMENT, input="hello")
    assert response.incomplete_details.reason == "content_filter"
    assert_blocked_output(telemetry.one("chat").attributes)


def test_blocked_prompt(telemetry: Telemetry, sim: Any, azure: Any) -> None:
    sim.next_content_filter("blocked_prompt")
    with pytest.raises(openai.BadRequestError) as raised:
        azure.responses.create(model=DEPLOYMENT, input="hello")
    assert raised.value.code == "content_filter"
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"
    assert (
        attrs[key("prompt", "hate", "filtered")] is True
        and attrs[key("prompt", "hate", "severity")] == "high"
    )
    assert counted(telemetry)[("prompt", "jailbreak", None, True, True)] == 1


def test_filter_error(telemetry: Telemetry, sim: Any, azure: Any) -> None:
    sim.next_content_filter("filter_error")
    azure.responses.create(model=DEPLOYMENT, input="hello")
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.CONTENT_FILTER_ERROR] is True and sc.CONTENT_FILTER_OUTCOME not in attrs
    assert counted(telemetry) == Counter({(None, "filter_error", None, False, None): 1})

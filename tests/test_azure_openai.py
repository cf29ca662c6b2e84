"""Azure OpenAI with the real openai clients (AzureOpenAI, AsyncAzureOpenAI, OpenAI at an Azure host).

Checked on spans: deployment (URL, header, client setting) apart from the model, api-version,
region, apim-request-id, the client's own request id, rate limits, retry-after on 429, and
every content filter category from 200s (plain and streamed), the 400 that blocks a prompt,
and Assistants runs and messages the filter cut short.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import openai
import pytest

import assistant_telemetry
from assistant_telemetry import semconv as sc
from assistant_telemetry.extract.chat import chunk_attributes
from assistant_telemetry.extract.content_filter import metric_points
from assistant_telemetry.simulator.chat import BLOCKLIST_ID, CHAT_REPLY

from conftest import Telemetry

API_VERSION = "2024-10-21"
DEPLOYMENT, MODEL = "prod-chat", "gpt-4o-2024-11-20"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MESSAGES = [{"role": "user", "content": "Hello"}]
PREFIX = sc.CONTENT_FILTER_PREFIX


def key(source: str, category: str, field: str) -> str:
    return f"{PREFIX}{source}.{category}.{field}"


@pytest.fixture(autouse=True)
def _deployment(sim: Any) -> None:
    sim.deploy(DEPLOYMENT, MODEL)


@pytest.fixture
def azure(sim: Any) -> openai.AzureOpenAI:
    return openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="k", api_version=API_VERSION, max_retries=0
    )


def chat(client: Any, **kwargs: Any) -> Any:
    return client.chat.completions.create(model=DEPLOYMENT, messages=MESSAGES, **kwargs)


def test_deployment_region_and_request_ids(telemetry: Any, azure: openai.AzureOpenAI) -> None:
    raw = azure.chat.completions.with_raw_response.create(
        model=DEPLOYMENT, messages=MESSAGES, extra_headers={"x-ms-client-request-id": "my-correlation-7"}
    )
    completion = raw.parse()
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.OPERATION_NAME] == "chat"
    assert (attrs[sc.PROVIDER_NAME], attrs[sc.SYSTEM]) == ("azure.ai.openai", "az.ai.openai")
    assert attrs[sc.AZURE_RESOURCE_PROVIDER_NAMESPACE] == "Microsoft.CognitiveServices"
    # The deployment and the model it serves are two attributes.
    assert attrs[sc.AZURE_DEPLOYMENT] == DEPLOYMENT == attrs[sc.REQUEST_MODEL]
    assert attrs[sc.RESPONSE_MODEL] == MODEL == completion.model
    assert attrs[sc.AZURE_API_VERSION] == API_VERSION
    assert attrs[sc.AZURE_REGION] == "Sweden Central"
    assert attrs[sc.AZURE_SERVICE_REQUEST_ID] == raw.headers["apim-request-id"]
    assert UUID.fullmatch(attrs[sc.AZURE_SERVICE_REQUEST_ID])
    assert attrs[sc.REQUEST_ID] == raw.headers["x-request-id"] == completion._request_id
    assert attrs[sc.CLIENT_REQUEST_ID] == "my-correlation-7"
    assert attrs[sc.RESPONSE_ID] == completion.id
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ("stop",)
    assert (attrs[sc.USAGE_INPUT_TOKENS], attrs[sc.USAGE_OUTPUT_TOKENS]) == (17, 7)
    assert attrs[sc.RESPONSE_SYSTEM_FINGERPRINT] == "fp_simulator"
    assert attrs[sc.RATELIMIT_REMAINING_REQUESTS] > 0 and attrs[sc.RATELIMIT_REMAINING_TOKENS] > 0
    assert (attrs[sc.RATELIMIT_RESET_REQUESTS], attrs[sc.RATELIMIT_RESET_TOKENS]) == ("1s", "6ms")
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "safe"
    assert attrs[sc.HTTP_STATUS_CODE] == 200


def test_deployment_from_the_client_setting(telemetry: Any, sim: Any) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, azure_deployment=DEPLOYMENT, api_key="k", api_version=API_VERSION
    )
    chat(client)
    span = telemetry.one("chat")
    assert span.attributes[sc.AZURE_DEPLOYMENT] == DEPLOYMENT
    assert sim.requests[-1].path == f"/openai/deployments/{DEPLOYMENT}/chat/completions"


@pytest.fixture
def azure_host_telemetry(strict_guard: None) -> Iterator[Telemetry]:
    """127.0.0.1 configured as an Azure host, as an API Management front would be."""
    telemetry = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider,
        meter_provider=telemetry.meter_provider,
        azure_hosts=["127.0.0.1"],
    )
    yield telemetry
    assistant_telemetry.uninstrument()


def test_openai_client_on_an_azure_host(azure_host_telemetry: Telemetry, sim: Any) -> None:
    """``OpenAI()`` on Azure's /openai/v1 API: the host says Azure, the header the deployment."""
    client = openai.OpenAI(base_url=f"{sim.azure_endpoint}/openai/v1", api_key="k", max_retries=0)
    chat(client)
    attrs = azure_host_telemetry.one("chat").attributes
    assert attrs[sc.PROVIDER_NAME] == "azure.ai.openai"
    assert attrs[sc.AZURE_DEPLOYMENT] == DEPLOYMENT  # x-ms-deployment-name
    assert attrs[sc.RESPONSE_MODEL] == MODEL
    assert UUID.fullmatch(attrs[sc.AZURE_SERVICE_REQUEST_ID])
    assert sc.AZURE_API_VERSION not in attrs  # the v1 API has none


def test_openai_client_without_the_setting_stays_openai(telemetry: Any, sim: Any) -> None:
    chat(openai.OpenAI(base_url=sim.base_url, api_key="k"))
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.PROVIDER_NAME] == "openai" and sc.AZURE_DEPLOYMENT not in attrs
    assert not any(name.startswith(PREFIX) for name in attrs)


def test_429_records_retry_after_and_the_failure_class(telemetry: Any, sim: Any, azure: Any) -> None:
    sim.add_fault(status=429, method="POST", path="/deployments/*/chat/completions", retry_after=3)
    with pytest.raises(openai.RateLimitError):
        chat(azure)
    span = telemetry.one("chat")
    attrs = span.attributes
    assert attrs[sc.RETRY_AFTER_S] == 3
    assert attrs[sc.FAILURE_CLASS] == "rate_limited" and attrs[sc.HTTP_STATUS_CODE] == 429
    assert attrs[sc.RATELIMIT_REMAINING_REQUESTS] == 0
    assert UUID.fullmatch(attrs[sc.AZURE_SERVICE_REQUEST_ID])  # on failed responses too
    assert attrs[sc.AZURE_DEPLOYMENT] == DEPLOYMENT
    assert span.status.status_code.name == "ERROR"


def test_a_retried_call_counts_its_retries(telemetry: Any, sim: Any) -> None:
    client = openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="k", api_version=API_VERSION, max_retries=2
    )
    sim.add_fault(status=429, method="POST", path="/deployments/*/chat/completions", retry_after=0)
    chat(client)
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.RETRIES] == 1 and attrs[sc.HTTP_STATUS_CODE] == 200


# --- the content filter ----------------------------------------------------------------------


def test_every_category_annotated_on_a_200(telemetry: Any, sim: Any, azure: Any) -> None:
    sim.next_content_filter("annotated")
    completion = chat(azure)
    assert completion.choices[0].message.content == CHAT_REPLY  # the app's answer, untouched
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "annotated"
    assert attrs[key("prompt", "hate", "severity")] == "low"
    assert attrs[key("prompt", "violence", "severity")] == "low"
    assert attrs[key("prompt", "jailbreak", "detected")] is True
    assert attrs[key("prompt", "indirect_attack", "detected")] is True
    assert attrs[key("completion", "sexual", "severity")] == "low"
    assert attrs[key("completion", "violence", "severity")] == "medium"
    assert attrs[key("completion", "self_harm", "severity")] == "low"
    for category in ("protected_material_text", "protected_material_code", "profanity"):
        assert attrs[key("completion", category, "detected")] is True
        assert attrs[key("completion", category, "filtered")] is False
    assert key("completion", "hate", "severity") not in attrs  # safe: not recorded


def test_blocked_output_on_a_200(telemetry: Any, sim: Any, azure: Any) -> None:
    sim.next_content_filter("blocked_output")
    completion = chat(azure)
    assert completion.choices[0].finish_reason == "content_filter"
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ("content_filter",)
    assert attrs[key("completion", "violence", "filtered")] is True
    assert attrs[key("completion", "violence", "severity")] == "high"
    assert attrs[key("completion", "self_harm", "filtered")] is True
    assert attrs[key("completion", "protected_material_code", "filtered")] is True
    assert attrs[key("completion", "profanity", "filtered")] is True
    assert attrs[key("completion", "custom_blocklists", "filtered")] is True
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == (BLOCKLIST_ID,)
    assert span_status(telemetry) == "UNSET"  # a blocked answer is an outcome, not a failed call


def span_status(telemetry: Any) -> str:
    return str(telemetry.one("chat").status.status_code.name)


def test_blocked_prompt_400(telemetry: Any, sim: Any, azure: Any) -> None:
    sim.next_content_filter("blocked_prompt")
    with pytest.raises(openai.BadRequestError) as raised:
        chat(azure)
    assert raised.value.code == "content_filter"
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.FAILURE_CLASS] == "content_filter" and attrs[sc.ERROR_CODE] == "content_filter"
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"
    assert (
        attrs[key("prompt", "hate", "filtered")] is True
        and attrs[key("prompt", "hate", "severity")] == "high"
    )
    assert attrs[key("prompt", "sexual", "severity")] == "low"
    assert attrs[key("prompt", "violence", "filtered")] is True
    assert attrs[key("prompt", "jailbreak", "filtered")] is True
    assert attrs[key("prompt", "indirect_attack", "detected")] is True
    assert attrs[key("prompt", "profanity", "filtered")] is True
    assert attrs[key("prompt", "custom_blocklists", "filtered")] is True
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == (BLOCKLIST_ID,)
    assert attrs[sc.AZURE_DEPLOYMENT] == DEPLOYMENT and attrs[sc.HTTP_STATUS_CODE] == 400
    assert span_status(telemetry) == "ERROR"


def test_the_filter_not_running_is_recorded(telemetry: Any, sim: Any, azure: Any) -> None:
    sim.next_content_filter("filter_error")
    chat(azure)
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.CONTENT_FILTER_ERROR] is True
    assert sc.CONTENT_FILTER_OUTCOME not in attrs


def test_async_client(telemetry: Any, sim: Any) -> None:
    async def main() -> Any:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=sim.azure_endpoint, api_key="k", api_version=API_VERSION, max_retries=0
        ) as client:
            sim.next_content_filter("blocked_output", "blocked_prompt")
            first = await chat(client)
            with pytest.raises(openai.BadRequestError):
                await chat(client)
            return first

    completion = asyncio.run(main())
    blocked_output, blocked_prompt = (s.attributes for s in telemetry.named("chat"))
    assert blocked_output[sc.RESPONSE_ID] == completion.id
    assert blocked_output[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert blocked_output[sc.AZURE_DEPLOYMENT] == DEPLOYMENT and blocked_output[sc.RESPONSE_MODEL] == MODEL
    assert UUID.fullmatch(blocked_output[sc.AZURE_SERVICE_REQUEST_ID])
    assert blocked_prompt[sc.FAILURE_CLASS] == "content_filter"
    assert blocked_prompt[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"


# --- streams ------------------------------------------------------------------------------------


def test_streamed_chat_works_unchanged_and_its_chunks_carry_the_annotations(
    telemetry: Any, sim: Any, azure: Any
) -> None:
    sim.next_content_filter("annotated")
    stream = chat(azure, stream=True, stream_options={"include_usage": True})
    attrs: dict[str, Any] = {}
    text = []
    for chunk in stream:  # the SDK's own ChatCompletionChunk models, Azure's extras included
        chunk_attributes(chunk, attrs)
        text.extend(choice.delta.content or "" for choice in chunk.choices if choice.delta)
    assert "".join(text) == CHAT_REPLY
    assert attrs[sc.RESPONSE_MODEL] == MODEL and attrs[sc.RESPONSE_ID].startswith("chatcmpl-")
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ["stop"]
    assert attrs[sc.USAGE_OUTPUT_TOKENS] == 7
    assert attrs[key("prompt", "jailbreak", "detected")] is True  # from the first, id-less chunk
    assert attrs[key("completion", "violence", "severity")] == "medium"  # from the annotation chunk
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "annotated"
    span = telemetry.one("chat").attributes  # the call's span lived with the stream and read it too
    assert span[sc.AZURE_DEPLOYMENT] == DEPLOYMENT and UUID.fullmatch(span[sc.AZURE_SERVICE_REQUEST_ID])
    assert span[sc.RESPONSE_FINISH_REASONS] == ("stop",) and span[sc.USAGE_OUTPUT_TOKENS] == 7
    assert span[sc.CONTENT_FILTER_OUTCOME] == "annotated"


def test_async_stream_works_unchanged(telemetry: Any, sim: Any) -> None:
    async def main() -> str:
        async with openai.AsyncAzureOpenAI(
            azure_endpoint=sim.azure_endpoint, api_key="k", api_version=API_VERSION
        ) as client:
            stream = await chat(client, stream=True)
            deltas = [choice.delta async for chunk in stream for choice in chunk.choices]
            return "".join(delta.content or "" for delta in deltas if delta)  # annotation chunks: none

    assert asyncio.run(main()) == CHAT_REPLY
    assert telemetry.one("chat").attributes[sc.AZURE_DEPLOYMENT] == DEPLOYMENT


# --- Assistants runs and messages cut short by the filter -------------------------------------


def test_assistants_run_and_message_blocked_by_the_filter(
    telemetry: Any, sim: Any, azure_client: Any
) -> None:
    assistant = azure_client.beta.assistants.create(model=DEPLOYMENT)
    thread = azure_client.beta.threads.create(messages=[{"role": "user", "content": "hi"}])
    sim.next_run_outcome("content_filter")
    run = azure_client.beta.threads.runs.create_and_poll(
        thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=1
    )
    assert run.incomplete_details.reason == "content_filter"
    reply = azure_client.beta.threads.messages.list(thread.id, run_id=run.id).data[0]
    azure_client.beta.threads.messages.retrieve(reply.id, thread_id=thread.id)
    helper = telemetry.one_run(sc.DRIVER_HELPER).attributes
    assert helper[sc.RUN_INCOMPLETE_REASON] == "content_filter"
    assert helper[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert helper[sc.AZURE_DEPLOYMENT] == DEPLOYMENT
    message = telemetry.one("get_message").attributes
    assert message[sc.MESSAGE_INCOMPLETE_REASON] == "content_filter"
    assert message[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    # Counted once, on the span that saw the run finish; the message repeats it, uncounted.
    points = metric_points(dict(helper), run_claimed=True)
    assert [p[sc.CONTENT_FILTER_CATEGORY] for p in points] == ["unspecified"]
    assert metric_points(dict(message), run_claimed=False) == []


# --- the counter (recorded at span close, once per finished run or call) -----------------------


def test_content_filter_counter(telemetry: Any, sim: Any, azure: Any) -> None:
    sim.next_content_filter("blocked_output", "blocked_prompt")
    chat(azure)
    with pytest.raises(openai.BadRequestError):
        chat(azure)
    points = telemetry.metric_points(sc.METRIC_CONTENT_FILTER_RESULTS)
    counted = {
        (p.attributes[sc.CONTENT_FILTER_SOURCE], p.attributes[sc.CONTENT_FILTER_CATEGORY]): p.value
        for p in points
    }
    assert counted[("completion", "violence")] == 1 and counted[("prompt", "jailbreak")] == 1
    for point in points:
        assert point.attributes[sc.AZURE_DEPLOYMENT] == DEPLOYMENT
        assert point.attributes[sc.PROVIDER_NAME] == "azure.ai.openai"


def test_a_failed_call_names_its_deployment_from_the_model(telemetry: Any, sim: Any, azure: Any) -> None:
    """Responses' URLs carry no deployment: the model argument names it, failed or not."""
    sim.add_fault(status=500, method="POST", path="*/responses", times=3)
    with pytest.raises(openai.InternalServerError):
        azure.with_options(max_retries=0).responses.create(model="prod-deploy", input="hi")
    attrs = telemetry.one("chat").attributes
    assert attrs[sc.HTTP_STATUS_CODE] == 500 and attrs[sc.AZURE_DEPLOYMENT] == "prod-deploy"
    (point,) = telemetry.metric_points(sc.METRIC_OPERATION_DURATION)
    assert point.attributes[sc.AZURE_DEPLOYMENT] == "prod-deploy"

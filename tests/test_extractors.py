"""The pure extraction functions, one behaviour at a time."""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.config import Settings
from assistant_telemetry.extract.assistants import (
    content_shape_attributes,
    metadata_attributes,
    object_attributes,
)
from assistant_telemetry.extract.errors import error_attributes
from assistant_telemetry.extract.fields import code
from assistant_telemetry.extract.http import client_attributes, response_attributes, url_attributes
from assistant_telemetry.extract.requests import request_attributes


def test_deployment_and_api_version_from_azure_url() -> None:
    attrs: dict[str, Any] = {}
    url_attributes(
        httpx2.URL(
            "https://x.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
        ),
        attrs,
    )
    assert attrs == {sc.AZURE_DEPLOYMENT: "gpt4o-prod", sc.AZURE_API_VERSION: "2024-10-21"}


def test_headers_read_in_one_pass() -> None:
    request = httpx2.Request(
        "POST",
        "https://x/v1/threads",
        headers={"x-stainless-retry-count": "2", "x-ms-client-request-id": "cli-1"},
    )
    response = httpx2.Response(
        429,
        request=request,
        headers={
            "X-Request-Id": "req_1",
            "apim-request-id": "apim-1",
            "x-ms-region": "East US",
            "x-ms-deployment-name": "gpt4o-prod",
            "openai-processing-ms": "12.5",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "6s",
            "retry-after": "3",
            "authorization": "Bearer never-read",
        },
    )
    attrs: dict[str, Any] = {}
    response_attributes(response, attrs)
    assert attrs == {
        sc.HTTP_STATUS_CODE: 429,
        sc.REQUEST_ID: "req_1",
        sc.AZURE_SERVICE_REQUEST_ID: "apim-1",
        sc.AZURE_REGION: "East US",
        sc.AZURE_DEPLOYMENT: "gpt4o-prod",
        sc.PROCESSING_MS: 12.5,
        sc.RATELIMIT_REMAINING_REQUESTS: 0,
        sc.RATELIMIT_RESET_REQUESTS: "6s",
        sc.RETRY_AFTER_S: 3,
        sc.RETRIES: 2,
        sc.CLIENT_REQUEST_ID: "cli-1",
    }


@pytest.mark.parametrize(
    ("base_url", "settings", "provider"),
    [
        ("https://api.openai.com/v1", Settings(), "openai"),
        ("https://contoso.openai.azure.com/openai", Settings(), "azure.ai.openai"),
        ("https://contoso.services.ai.azure.com/openai", Settings(), "azure.ai.openai"),
        (
            "https://apim.contoso.com/openai",
            Settings(azure_hosts=frozenset({"apim.contoso.com"})),
            "azure.ai.openai",
        ),
        ("https://apim.contoso.com/openai", Settings(), "openai"),
    ],
)
def test_provider_by_host(base_url: str, settings: Settings, provider: str) -> None:
    client = openai.OpenAI(base_url=base_url, api_key="k")
    attrs = client_attributes(client, settings)
    assert attrs[sc.PROVIDER_NAME] == provider
    assert attrs[sc.SERVER_PORT] == 443


def test_azure_client_settings() -> None:
    client = openai.AzureOpenAI(
        azure_endpoint="https://c.openai.azure.com",
        azure_deployment="dep-1",
        api_version="2024-10-21",
        api_key="k",
    )
    attrs = client_attributes(client, Settings())
    assert (attrs[sc.AZURE_DEPLOYMENT], attrs[sc.AZURE_API_VERSION], attrs[sc.SYSTEM]) == (
        "dep-1",
        "2024-10-21",
        "az.ai.openai",
    )


def test_metadata_values_only_for_allowlisted_keys() -> None:
    attrs: dict[str, Any] = {}
    metadata_attributes(
        {"tenant": "contoso", "email": "a@b.c", "n": 3},
        attrs,
        Settings(metadata_allowlist=frozenset({"tenant", "n"})),
    )
    assert attrs == {
        sc.METADATA_KEYS: ["email", "n", "tenant"],
        sc.METADATA_VALUE_PREFIX + "tenant": "contoso",
    }


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "hello",
            {sc.MESSAGE_CONTENT_TYPES: ["text"], sc.MESSAGE_CONTENT_PARTS: 1, sc.MESSAGE_TEXT_LENGTH: 5},
        ),
        (
            [{"type": "text", "text": "hi"}, {"type": "image_file", "image_file": {"file_id": "f"}}],
            {
                sc.MESSAGE_CONTENT_TYPES: ["text", "image_file"],
                sc.MESSAGE_CONTENT_PARTS: 2,
                sc.MESSAGE_TEXT_LENGTH: 2,
            },
        ),
        (
            [{"type": "MessageContent"}],
            {sc.MESSAGE_CONTENT_TYPES: ["MessageContent"], sc.MESSAGE_CONTENT_PARTS: 1},
        ),
        ([], {}),
    ],
)
def test_content_shape_never_text(content: Any, expected: dict[str, Any]) -> None:
    attrs: dict[str, Any] = {}
    content_shape_attributes(content, attrs)
    assert attrs == expected


def test_request_arguments_by_allowlist_only() -> None:
    attrs = request_attributes(
        ("thread_id",),
        ("thread_1",),
        {
            "role": "user",
            "content": "secret words",
            "instructions": "secret instructions",
            "attachments": [{"file_id": "file_1"}],
        },
        Settings(),
    )
    assert attrs == {
        sc.CONVERSATION_ID: "thread_1",
        sc.THREAD_ID: "thread_1",
        sc.MESSAGE_ROLE: "user",
        sc.MESSAGE_CONTENT_TYPES: ["text"],
        sc.MESSAGE_CONTENT_PARTS: 1,
        sc.MESSAGE_TEXT_LENGTH: 12,
        sc.MESSAGE_ATTACHMENTS: 1,
        sc.MESSAGE_FILE_IDS: ["file_1"],
    }


def test_codes_must_look_like_identifiers() -> None:
    assert code("rate_limit_exceeded") == "rate_limit_exceeded"
    assert code("Invalid value: 'my secret'") is None
    assert code("x" * 65) is None


def test_unknown_status_and_wrong_types_are_tolerated() -> None:
    attrs: dict[str, Any] = {}
    object_attributes(
        {"object": "thread.run", "id": 5, "status": "warp_speed", "usage": {"prompt_tokens": "many"}},
        attrs,
        Settings(),
    )
    # The run's status, and its twin in the execution vocabulary shared with responses.
    assert attrs == {
        sc.RUN_STATUS: "warp_speed",
        sc.EXECUTION_STATUS: "warp_speed",
        sc.EXECUTION_KIND: "thread.run",
    }


@pytest.mark.parametrize(
    ("status", "body", "failure_class"),
    [
        (429, {"error": {"code": "rate_limit_exceeded"}}, "rate_limited"),
        (400, {"error": {"code": "content_filter"}}, "content_filter"),
        (400, {"error": {"code": "invalid_value"}}, "bad_request"),
        (401, None, "auth"),
        (404, None, "not_found"),
        (503, None, "server_error"),
    ],
)
def test_failure_classes(status: int, body: Any, failure_class: str) -> None:
    response = httpx2.Response(
        status, request=httpx2.Request("GET", "https://x/v1/threads/t"), json=body or {}
    )
    error = openai.OpenAI(api_key="k", base_url="https://x/v1")._make_status_error_from_response(response)
    attrs = error_attributes(error)
    assert attrs[sc.FAILURE_CLASS] == failure_class
    assert attrs[sc.HTTP_STATUS_CODE] == status


def test_connection_and_timeout_errors() -> None:
    request = httpx2.Request("GET", "https://x/v1")
    assert error_attributes(openai.APIConnectionError(request=request))[sc.FAILURE_CLASS] == "connection"
    assert error_attributes(openai.APITimeoutError(request=request))[sc.FAILURE_CLASS] == "timeout"
    assert (
        error_attributes(ValueError("Expected a non-empty value for `thread_id`"))[sc.FAILURE_CLASS]
        == "client_error"
    )


_MESSAGE = {
    "id": "msg_1",
    "object": "thread.message",
    "thread_id": "thread_1",
    "run_id": "run_1",
    "assistant_id": "asst_1",
    "role": "assistant",
    "status": "incomplete",
    "incomplete_details": {"reason": "content_filter"},
    "content": [{"type": "text", "text": {"value": "four", "annotations": []}}],
    "attachments": [{"file_id": "file_1", "tools": []}],
    "metadata": {"topic": "x"},
    "created_at": 1,
}


class _OlderMessage(openai.BaseModel):
    """An older SDK's model, which declares fewer fields: the service's others land in its extras."""

    id: str
    object: str


def _attributes(obj: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    object_attributes(obj, attrs, Settings())
    return attrs


def test_a_message_reads_the_same_from_every_shape() -> None:
    """Dicts, the SDK's models (fields read from the instance's own dict) and plain objects alike."""
    from types import SimpleNamespace

    from openai.types.beta.threads import Message

    expected = _attributes(_MESSAGE)
    assert expected[sc.MESSAGE_STATUS] == "incomplete"
    assert expected[sc.MESSAGE_INCOMPLETE_REASON] == "content_filter"
    assert expected[sc.MESSAGE_TEXT_LENGTH] == 4
    assert expected[sc.MESSAGE_FILE_IDS] == ["file_1"]
    assert _attributes(Message.model_validate(_MESSAGE)) == expected
    assert _attributes(_OlderMessage.model_validate(_MESSAGE)) == expected  # extras read too
    as_object = SimpleNamespace(
        **{**_MESSAGE, "incomplete_details": SimpleNamespace(reason="content_filter")}
    )
    as_object.content = [SimpleNamespace(type="text", text=SimpleNamespace(value="four"))]
    as_object.attachments = [SimpleNamespace(file_id="file_1")]
    assert _attributes(as_object) == expected


def test_a_request_s_not_given_values_are_skipped() -> None:
    attrs: dict[str, Any] = {}
    from assistant_telemetry.extract.assistants import message_attributes

    request = {"role": "user", "content": "hi", "attachments": openai.NOT_GIVEN, "metadata": openai.omit}
    message_attributes(request, attrs, Settings())
    assert attrs == {
        sc.MESSAGE_ROLE: "user",
        sc.MESSAGE_CONTENT_TYPES: ["text"],
        sc.MESSAGE_CONTENT_PARTS: 1,
        sc.MESSAGE_TEXT_LENGTH: 2,
    }

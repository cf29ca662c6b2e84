"""Never break the app: same objects back, same exceptions, and our own failures stay ours."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
import wrapt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import assistant_telemetry
from assistant_telemetry import calls, guard, wrappers
from assistant_telemetry import semconv as sc
from assistant_telemetry.config import Settings
from assistant_telemetry.extract import assistants

from conftest import Telemetry


@pytest.fixture
def lenient() -> Any:
    """Instrumented with the production guard: internal errors are swallowed and counted."""
    telemetry = Telemetry()
    assistant_telemetry.instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry
    assistant_telemetry.uninstrument()


def spy_on_post(client: Any) -> list[Any]:
    """Capture what the SDK itself returned or raised beneath our wrapper."""
    seen: list[Any] = []

    def spy(wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            result = wrapped(*args, **kwargs)
        except Exception as error:
            seen.append(error)
            raise
        seen.append(result)
        return result

    wrapt.wrap_function_wrapper(client, "post", spy)
    return seen


def test_same_result_object(telemetry: Telemetry, client: Any) -> None:
    seen = spy_on_post(client)
    thread = client.beta.threads.create()
    assert thread is seen[0]


def test_same_exception_object(telemetry: Telemetry, sim: Any, client: Any) -> None:
    no_retries = client.with_options(max_retries=0)
    seen = spy_on_post(no_retries)
    sim.add_fault(500, method="POST", path="/threads", times=None)
    with pytest.raises(openai.InternalServerError) as raised:
        no_retries.beta.threads.create()
    assert raised.value is seen[0]
    assert raised.value.__traceback__ is not None


def explode(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("instrumentation bug")


@pytest.mark.parametrize("stage", ["request", "headers", "result"])
def test_internal_failure_is_counted_not_raised(
    lenient: Telemetry, client: Any, monkeypatch: Any, stage: str
) -> None:
    if stage == "result":
        monkeypatch.setitem(assistants._BY_KIND, "thread", explode)
    else:
        module, name = {
            "request": (calls, "request_attributes"),
            "headers": (wrappers, "response_attributes"),
        }[stage]
        monkeypatch.setattr(module, name, explode)
    thread = client.beta.threads.create()
    assert thread.id.startswith("thread_")
    span = lenient.one("create_thread")  # still ended and exported
    assert span.attributes[sc.OPERATION_NAME] == "create_thread"
    (point,) = lenient.metric_points(sc.METRIC_INSTRUMENTATION_ERRORS)
    assert point.value == 1


def test_internal_failure_while_recording_an_error_keeps_the_apps_exception(
    lenient: Telemetry, sim: Any, client: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(calls, "error_attributes", explode)
    sim.add_fault(429, method="POST", path="/threads", times=None)
    with pytest.raises(openai.RateLimitError):
        client.with_options(max_retries=0).beta.threads.create()
    assert len(lenient.spans) == 1
    assert guard.errors_seen > 0


def test_strict_guard_surfaces_bugs_in_tests(telemetry: Telemetry, client: Any, monkeypatch: Any) -> None:
    """The suite runs strict: internal errors are kept and fail the test at teardown."""
    monkeypatch.setitem(assistants._BY_KIND, "thread", explode)
    client.beta.threads.create()
    assert [str(e) for e in guard.recorded] == ["instrumentation bug"]
    guard.recorded.clear()  # expected here; any other test with an entry fails


# --- odd responses from the service, through the real client -------------------------------

ODD_BODIES = [
    {"id": "msg_1", "object": "thread.message", "status": "teleported", "role": 7, "content": "not-a-list"},
    {"id": "msg_2", "object": "thread.message", "content": [{"type": "MessageContent"}], "attachments": None},
    {
        "id": "msg_3",
        "object": "thread.message",
        "status": "in_progress",
        "incomplete_details": {"reason": "content_filter"},
    },
    {"id": None, "object": "thread.message", "metadata": {"k": {"nested": True}}, "thread_id": 12},
    {"object": "thread.message"},
    {"unexpected": "shape"},
]


@pytest.mark.parametrize("body", ODD_BODIES)
def test_odd_response_still_ends_the_span(telemetry: Telemetry, body: dict[str, Any]) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, json=body, headers={"x-request-id": "req_odd"})

    client = openai.OpenAI(
        api_key="k",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )
    message = client.beta.threads.messages.retrieve("msg_1", thread_id="thread_1")
    assert message is not None
    span = telemetry.one("get_message")
    assert span.end_time is not None
    assert span.attributes[sc.REQUEST_ID] == "req_odd"
    json.dumps(dict(span.attributes))  # every value is a valid attribute type


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=30,
)
OBJECT_KINDS = st.sampled_from(
    ["assistant", "thread", "thread.message", "thread.run", "thread.run.step", "list", "x.deleted"]
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=OBJECT_KINDS,
    body=st.dictionaries(
        st.sampled_from(
            [
                "id",
                "status",
                "content",
                "usage",
                "data",
                "metadata",
                "step_details",
                "required_action",
                "last_error",
                "tools",
                "attachments",
                "role",
                "thread_id",
            ]
        ),
        JSONISH,
    ),
)
def test_extractors_accept_any_json(kind: str, body: dict[str, Any]) -> None:
    attrs: dict[str, Any] = {}
    assistants.object_attributes(
        {**body, "object": kind}, attrs, Settings(metadata_allowlist=frozenset({"k"}))
    )
    for key, value in attrs.items():
        assert isinstance(key, str)
        assert isinstance(value, (str, bool, int, float, list, tuple)), (key, value)

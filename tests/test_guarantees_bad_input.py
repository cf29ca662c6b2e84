"""Bad input from the service: whatever a response looks like, the app sees what it would have
seen uninstrumented, no exception escapes from us, every span ends, and no internal error occurs.

Responses are the mock API's realistic bodies (checked here against OpenAI's published schemas)
with fields removed, nulled, given the wrong type, or given odd values (unknown statuses,
huge metadata, odd unicode, huge and negative numbers), nested objects too, plus extra fields;
and the oddities seen in the wild, as fixed cases.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import ReadableSpan
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

import assistant_telemetry
from assistant_telemetry import guard
from assistant_telemetry import semconv as sc

import mock_api
from guarantees import USER, Pipeline, outcome, unwrapped, wrapped_methods
from mock_api import MockApi

MISSING = object()  # "remove this field"
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # pydantic, serializing mangled models
SCHEMAS = Path(__file__).parent / "data" / "openapi_assistants.json"

# --- what a body may turn into ------------------------------------------------------------------

ODD_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "\u202eevil",  # right-to-left override
        "e\u0301\u0301\u0301",  # stacked combining marks
        "\U0001f9d1\u200d\U0001f4bb",  # zero-width-joined emoji
        "\ud800",  # a lone surrogate (valid JSON escape, invalid Unicode)
        "\ufeffBOM",
        "x" * 100_000,
    ]
) | st.text(max_size=30)
HUGE_METADATA = st.integers(100, 3000).map(lambda n: {f"key_{i}": "v" * 512 for i in range(n)})
NUMBERS = st.sampled_from([-1, 0, 2**63, 2**70, -(2**40), 1.5, math.inf, -math.inf, math.nan])
STATUSES = st.sampled_from(
    ["teleported", "COMPLETED", "completed ", "in_progress\n", "requires_action", "content_filter", "null"]
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | ODD_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
WRONG = st.one_of(st.just(MISSING), st.none(), JSONISH, NUMBERS, ODD_TEXT)


def _merge(kept: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    body = {**extra, **{key: value for key, value in kept.items() if value is not MISSING}}
    return body


def mutated(value: Any, key: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    """``value`` itself most often; else the same shape with mutated parts, or something else."""
    if isinstance(value, dict) and depth < 4:
        fields = {k: mutated(v, k, depth + 1) for k, v in value.items()}
        extras = st.dictionaries(st.text(min_size=1, max_size=12), JSONISH, max_size=3)
        shaped = st.builds(_merge, st.fixed_dictionaries(fields), extras)
    elif isinstance(value, list) and value and depth < 4:
        shaped = st.lists(mutated(value[0], key, depth + 1), max_size=4)
    else:
        shaped = st.just(value)
    odd = WRONG
    if key == "status":
        odd = STATUSES | WRONG
    elif key == "metadata":
        odd = HUGE_METADATA | WRONG
    return st.just(value) | shaped | odd


# --- the calls, one per kind of body -------------------------------------------------------------


def _calls(c: Any, az: Any) -> dict[str, Callable[[], Any]]:
    beta = c.beta
    return {
        "message": lambda: beta.threads.messages.retrieve("msg_1", thread_id="thread_1"),
        "run": lambda: beta.threads.runs.retrieve("run_1", thread_id="thread_1"),
        "step": lambda: beta.threads.runs.steps.retrieve("step_1", thread_id="thread_1", run_id="run_1"),
        "thread": lambda: beta.threads.create(),
        "assistant": lambda: beta.assistants.retrieve("asst_1"),
        "list": lambda: beta.threads.messages.list("thread_1"),
        "response": lambda: c.responses.create(model="gpt-4o", input="Hello?"),
        "chat.completion": lambda: az.chat.completions.create(model="deployment-1", messages=USER),
    }


BASE = {
    "message": mock_api.message("msg_1", "thread_1", {}),
    "run": mock_api.run("run_1", "thread_1", "completed", {}),
    "step": mock_api.run_step("step_1", "run_1", "thread_1"),
    "thread": mock_api.thread("thread_1", {}),
    "assistant": mock_api.assistant("asst_1", {}),
    "list": mock_api.page(
        [mock_api.message("msg_1", "thread_1", {}), mock_api.run("run_1", "thread_1", "failed", {})]
    ),
    "response": mock_api.response("resp_1", {}),
    "chat.completion": mock_api.chat_completion("chatcmpl_1", {}, azure=True),
}


class Harness:
    """One instrumented process; each example is called plain (wrappers off) and instrumented."""

    def __init__(self) -> None:
        self.api = MockApi()
        self.pipeline = Pipeline()
        assistant_telemetry.instrument(
            tracer_provider=self.pipeline.tracer_provider, meter_provider=self.pipeline.meter_provider
        )
        self.calls = _calls(self.api.client(max_retries=0), self.api.azure_client(max_retries=0))
        self.spans_per_call = {}  # 0 for a surface not instrumented (yet)
        for kind, call in self.calls.items():
            started = self.pipeline.counter.started
            call()
            self.spans_per_call[kind] = self.pipeline.counter.started - started
        assert self.spans_per_call["message"] == 1
        self.wrapped = wrapped_methods()  # the same for every example: found once
        assert len(self.wrapped) > 40

    def check(self, kind: str, body: Any) -> list[ReadableSpan]:
        self.api.rewrite = lambda got, default: body if got == kind else default
        started = self.pipeline.counter.started
        with unwrapped(self.wrapped):
            plain = outcome(self.calls[kind])
        assert self.pipeline.counter.started == started, "the plain call went through a wrapper"
        before, started = len(self.pipeline.spans), self.pipeline.counter.started
        guard.recorded[:] = []
        instrumented = outcome(self.calls[kind])
        assert instrumented == plain, "the app saw something else because of us"
        assert self.pipeline.counter.started == started + self.spans_per_call[kind], "one span per call"
        assert self.pipeline.counter.ended == self.pipeline.counter.started, "the span ended"
        assert not guard.recorded, f"internal errors: {guard.recorded!r}"
        spans = self.pipeline.spans[before:]
        for span in spans:
            for key, value in (span.attributes or {}).items():
                assert isinstance(value, (str, bool, int, float, tuple)), (key, value)
        return spans


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    guard.STRICT = True
    try:
        yield Harness()
    finally:
        assistant_telemetry.uninstrument()
        guard.STRICT = False
        guard.recorded[:] = []


@st.composite
def kind_and_body(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(sorted(BASE)))
    return kind, draw(mutated(copy.deepcopy(BASE[kind])) | WRONG.filter(lambda v: v is not MISSING))


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=kind_and_body())
@example(case=("message", {**BASE["message"], "content": [{"type": "MessageContent"}]}))
@example(case=("run", {**BASE["run"], "created_at": 1_795_000_100, "completed_at": 1_795_000_000}))
@example(
    case=(
        "message",
        {**BASE["message"], "status": "in_progress", "incomplete_details": {"reason": "max_tokens"}},
    )
)
def test_any_response_body(harness: Harness, case: tuple[str, Any]) -> None:
    kind, body = case
    harness.check(kind, body)


# --- the oddities seen in the wild, with what we record for them -----------------------------------


def test_content_part_without_text(harness: Harness) -> None:
    body = {
        **BASE["message"],
        "content": [{"type": "MessageContent"}, {"type": "text", "text": {"value": "ab"}}],
    }
    (span,) = harness.check("message", body)
    assert span.attributes[sc.MESSAGE_CONTENT_PARTS] == 2
    assert span.attributes[sc.MESSAGE_TEXT_LENGTH] == 2


def test_run_completed_before_it_was_created(harness: Harness) -> None:
    body = {
        **BASE["run"],
        "created_at": 1_795_000_100,
        "started_at": 1_795_000_050,
        "completed_at": 1_795_000_000,
    }
    (span,) = harness.check("run", body)
    assert span.attributes[sc.RUN_STATUS] == "completed"
    durations = {k: v for k, v in span.attributes.items() if k.endswith(("_time", "_s", "duration"))}
    assert all(v >= 0 for v in durations.values() if isinstance(v, (int, float))), durations
    for point in _histogram_points(harness):
        assert point.min >= 0, f"a negative duration was recorded: {point}"


def test_incomplete_details_on_an_in_progress_message(harness: Harness) -> None:
    body = {**BASE["message"], "status": "in_progress", "incomplete_details": {"reason": "content_filter"}}
    (span,) = harness.check("message", body)
    assert span.attributes[sc.MESSAGE_STATUS] == "in_progress"


def test_huge_metadata_is_bounded(harness: Harness) -> None:
    metadata = {f"key_{i:05d}": "v" * 512 for i in range(20_000)}
    (span,) = harness.check("thread", {**BASE["thread"], "metadata": metadata})
    keys = span.attributes.get(sc.METADATA_KEYS, ())
    assert 0 < len(keys) <= 64  # the keys are listed, a bounded number of them
    assert sum(len(str(v)) for v in span.attributes.values()) < 64_000


def _histogram_points(harness: Harness) -> list[Any]:
    data = harness.pipeline.reader.get_metrics_data()
    points = []
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.unit == "s":
                    points.extend(p for p in metric.data.data_points if hasattr(p, "min"))
    return points


# --- the bodies are realistic: OpenAI's published schemas accept the unmutated ones ---------------


def _openapi_to_jsonschema(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _openapi_to_jsonschema(v) for k, v in node.items() if k != "nullable"}
        if "$ref" in out:
            out["$ref"] = out["$ref"].replace("#/components/schemas/", "urn:schema:")
        return {"anyOf": [out, {"type": "null"}]} if node.get("nullable") else out
    if isinstance(node, list):
        return [_openapi_to_jsonschema(item) for item in node]
    return node


@pytest.mark.parametrize(
    ("kind", "schema"),
    [
        ("message", "MessageObject"),
        ("run", "RunObject"),
        ("step", "RunStepObject"),
        ("thread", "ThreadObject"),
        ("assistant", "AssistantObject"),
    ],
)
def test_base_bodies_match_the_published_schemas(kind: str, schema: str) -> None:
    schemas = json.loads(SCHEMAS.read_text(encoding="utf-8"))["components"]["schemas"]
    registry: Registry[Any] = Registry().with_resources(
        (f"urn:schema:{name}", Resource(contents=_openapi_to_jsonschema(body), specification=DRAFT202012))
        for name, body in schemas.items()
    )
    validator = jsonschema.Draft202012Validator({"$ref": f"urn:schema:{schema}"}, registry=registry)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(BASE[kind])]
    assert not errors
    broken = {key: value for key, value in BASE[kind].items() if key != "id"}
    assert list(validator.iter_errors(broken)), "the schema check can fail"

"""The content filter and chat extractors as pure functions: dicts and SDK models in, attributes out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.extract import content_filter as cf
from assistant_telemetry.extract.chat import chunk_attributes, completion_attributes
from assistant_telemetry.extract.errors import error_attributes
from assistant_telemetry.extract.responses import response_attributes
from assistant_telemetry.simulator import chat as sim_chat
from assistant_telemetry.simulator.chat import CITATION_URL, FILTER_PROFILES

PREFIX = sc.CONTENT_FILTER_PREFIX
SETTINGS: Any = None  # the chat extractor takes settings for the table's signature, never reads them


def key(source: str, category: str, field: str) -> str:
    return f"{PREFIX}{source}.{category}.{field}"


def read(results: Any, source: str = "completion") -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    cf.results_attributes(results, source, attrs)
    return attrs


def test_harm_categories_record_filtered_and_severity() -> None:
    attrs = read(
        {"hate": {"filtered": False, "severity": "low"}, "violence": {"filtered": True, "severity": "high"}}
    )
    assert attrs == {
        key("completion", "hate", "filtered"): False,
        key("completion", "hate", "severity"): "low",
        key("completion", "violence", "filtered"): True,
        key("completion", "violence", "severity"): "high",
        sc.CONTENT_FILTER_OUTCOME: "blocked_output",
    }


def test_detection_categories_record_detected_and_filtered() -> None:
    categories = sc.CONTENT_FILTER_DETECTION_CATEGORIES
    attrs = read({name: {"filtered": False, "detected": True} for name in categories}, "prompt")
    for name in categories:
        assert attrs[key("prompt", name, "detected")] is True
        assert attrs[key("prompt", name, "filtered")] is False
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "annotated"


def test_safe_results_add_only_the_outcome() -> None:
    safe, _, _ = FILTER_PROFILES["safe"]
    assert read(safe, "prompt") == {sc.CONTENT_FILTER_OUTCOME: "safe"}


def test_merging_keeps_the_most_severe_result() -> None:
    attrs: dict[str, Any] = {}
    for severity, filtered in (("medium", False), ("low", False), ("high", True), ("safe", False)):
        cf.results_attributes({"sexual": {"filtered": filtered, "severity": severity}}, "completion", attrs)
    cf.results_attributes({"jailbreak": {"filtered": False, "detected": True}}, "prompt", attrs)
    cf.results_attributes({"jailbreak": {"filtered": False, "detected": False}}, "prompt", attrs)
    assert attrs[key("completion", "sexual", "severity")] == "high"
    assert attrs[key("completion", "sexual", "filtered")] is True
    assert attrs[key("prompt", "jailbreak", "detected")] is True
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"  # never lowered by a later result


@pytest.mark.parametrize("spelling", ["self_harm", "self-harm", "selfharm"])
def test_self_harm_spellings(spelling: str) -> None:
    attrs = read({spelling: {"filtered": True, "severity": "Medium"}})
    assert attrs[key("completion", "self_harm", "severity")] == "medium"
    assert attrs[key("completion", "self_harm", "filtered")] is True


def test_severity_words_outside_the_scale_are_dropped() -> None:
    attrs = read({"hate": {"filtered": False, "severity": "very bad, see 'the prompt'"}})
    assert attrs == {sc.CONTENT_FILTER_OUTCOME: "safe"}


@pytest.mark.parametrize(
    "blocklists",
    [
        {
            "filtered": True,
            "details": [{"filtered": True, "id": "bl-one"}, {"filtered": False, "id": "bl-two"}],
        },
        [{"filtered": True, "id": "bl-one"}, {"filtered": False, "id": "bl-two"}],  # older api-versions
    ],
)
def test_custom_blocklists_both_shapes(blocklists: Any) -> None:
    attrs = read({"custom_blocklists": blocklists}, "prompt")
    assert attrs[key("prompt", "custom_blocklists", "filtered")] is True
    assert attrs[key("prompt", "custom_blocklists", "detected")] is True
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == ["bl-one", "bl-two"]
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"


def test_blocklist_ids_merge_without_repeats_and_refuse_free_text() -> None:
    attrs: dict[str, Any] = {}
    cf.results_attributes({"custom_blocklists": [{"filtered": True, "id": "a"}]}, "prompt", attrs)
    cf.results_attributes(
        {"custom_blocklists": [{"filtered": True, "id": "a"}, {"filtered": True, "id": "not an id!"}]},
        "completion",
        attrs,
    )
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == ["a"]


def test_empty_blocklist_result_is_not_flagged() -> None:
    assert read({"custom_blocklists": {"filtered": False, "details": []}}) == {
        sc.CONTENT_FILTER_OUTCOME: "safe"
    }


def test_a_filter_that_did_not_run_is_a_flag_not_an_outcome() -> None:
    attrs = read({"error": {"code": "content_filter_error", "message": "The contents are not filtered"}})
    assert attrs == {sc.CONTENT_FILTER_ERROR: True}


def test_protected_material_citations_are_never_read() -> None:
    results = {
        "protected_material_code": {"filtered": False, "detected": True, "citation": {"URL": CITATION_URL}}
    }
    attrs = read(results)
    assert attrs[key("completion", "protected_material_code", "detected")] is True
    assert CITATION_URL not in json.dumps(attrs)


def test_unknown_categories_and_shapes_are_ignored() -> None:
    assert read({"ungrounded_material": {"detected": True, "details": ["some text"]}}) == {}
    assert read(None) == {} and read("text") == {} and read([1, 2]) == {}


def test_sdk_models_are_read_like_dicts() -> None:
    """azure-ai-agents models are mappings; pydantic extras are plain dicts: both work."""
    from azure.ai.agents._utils.model_base import Model

    class Results(Model):  # a mapping model, as the Agents SDK's are
        pass

    results = Results({"violence": {"filtered": True, "severity": "high"}})
    assert read(results)[key("completion", "violence", "severity")] == "high"


# --- blocked prompts, blocked outputs ---------------------------------------------------------


def content_filter_body() -> dict[str, Any]:
    body: dict[str, Any] = sim_chat.content_filter_error(FILTER_PROFILES["blocked_prompt"][0]).body
    return body


def test_error_body_blocks_the_prompt_with_every_category() -> None:
    attrs: dict[str, Any] = {}
    cf.error_body_attributes(content_filter_body(), attrs)
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"
    assert attrs[key("prompt", "hate", "severity")] == "high" and attrs[key("prompt", "hate", "filtered")]
    assert attrs[key("prompt", "sexual", "severity")] == "low"
    assert attrs[key("prompt", "violence", "filtered")] is True
    assert key("prompt", "self_harm", "severity") not in attrs  # safe
    assert attrs[key("prompt", "jailbreak", "filtered")] and attrs[key("prompt", "jailbreak", "detected")]
    assert attrs[key("prompt", "indirect_attack", "detected")] is True
    assert attrs[key("prompt", "profanity", "filtered")] is True
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == [sim_chat.BLOCKLIST_ID]
    assert "content management" not in json.dumps(attrs)  # the message is never read


def test_error_body_without_details_still_blocks_the_prompt() -> None:
    attrs: dict[str, Any] = {}
    cf.error_body_attributes({"code": "content_filter", "message": "blocked: 'the prompt'"}, attrs)
    assert attrs == {sc.CONTENT_FILTER_OUTCOME: "blocked_prompt"}


class FakeStatusError(Exception):
    """The attributes openai's ``APIStatusError`` has: the body is the error object."""

    def __init__(self, body: Any) -> None:
        super().__init__("The response was filtered ... 'the prompt'")
        self.body = body
        self.code = body.get("code")
        self.status_code = 400


def test_error_attributes_turn_a_content_filter_400_into_a_blocked_prompt() -> None:
    attrs = error_attributes(FakeStatusError(content_filter_body()["error"]))
    assert attrs[sc.FAILURE_CLASS] == "content_filter"
    assert attrs[sc.ERROR_CODE] == "content_filter"
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"
    assert attrs[key("prompt", "jailbreak", "detected")] is True


def test_other_errors_say_nothing_about_the_filter() -> None:
    attrs = error_attributes(FakeStatusError({"code": "invalid_value", "message": "x"}))
    assert not any(name.startswith(PREFIX) for name in attrs)


@pytest.mark.parametrize("reason_key", [sc.MESSAGE_INCOMPLETE_REASON, sc.RUN_INCOMPLETE_REASON])
def test_incomplete_content_filter_is_a_blocked_output(reason_key: str) -> None:
    attrs: dict[str, Any] = {reason_key: "content_filter"}
    cf.incomplete_reason_attributes(attrs)
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    other: dict[str, Any] = {reason_key: "max_tokens"}
    cf.incomplete_reason_attributes(other)
    assert sc.CONTENT_FILTER_OUTCOME not in other


# --- chat completions and chunks ------------------------------------------------------------


def completion(profile: str, **body: Any) -> dict[str, Any]:
    request = {"model": "prod", "messages": [{"role": "user", "content": "hi"}], **body}
    return sim_chat.chat_completion(request, deployment="prod", azure=True, profile=profile)


def test_completion_reads_ids_reasons_usage_and_both_sources() -> None:
    attrs: dict[str, Any] = {}
    completion_attributes(completion("annotated"), attrs, SETTINGS)
    assert attrs[sc.RESPONSE_ID].startswith("chatcmpl-")
    assert attrs[sc.RESPONSE_MODEL] == "prod"
    assert attrs[sc.RESPONSE_SYSTEM_FINGERPRINT] == "fp_simulator"
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ["stop"]
    assert (attrs[sc.USAGE_INPUT_TOKENS], attrs[sc.USAGE_OUTPUT_TOKENS]) == (17, 7)
    assert attrs[key("prompt", "jailbreak", "detected")] is True
    assert attrs[key("completion", "violence", "severity")] == "medium"
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "annotated"
    assert sim_chat.CHAT_REPLY not in json.dumps(attrs)


def test_finish_reason_content_filter_blocks_the_output() -> None:
    attrs: dict[str, Any] = {}
    completion_attributes(completion("blocked_output"), attrs, SETTINGS)
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ["content_filter"]
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert attrs[key("completion", "violence", "filtered")] is True


def test_older_prompt_annotations_are_read_too() -> None:
    old = completion("safe")
    old["prompt_annotations"] = old.pop("prompt_filter_results")
    old["prompt_annotations"][0]["content_filter_results"]["hate"] = {"filtered": False, "severity": "low"}
    attrs: dict[str, Any] = {}
    completion_attributes(old, attrs, SETTINGS)
    assert attrs[key("prompt", "hate", "severity")] == "low"


def test_several_choices_give_one_reason_each_and_the_worst_result() -> None:
    body = completion("safe")
    second = json.loads(json.dumps(body["choices"][0]))
    second.update(index=1, finish_reason="content_filter")
    second["content_filter_results"]["hate"] = {"filtered": True, "severity": "high"}
    body["choices"].append(second)
    attrs: dict[str, Any] = {}
    completion_attributes(body, attrs, SETTINGS)
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ["stop", "content_filter"]
    assert attrs[key("completion", "hate", "severity")] == "high"


def test_a_stream_object_is_not_read() -> None:
    class Stream:
        def __iter__(self) -> Any:
            raise AssertionError("consumed")

    attrs: dict[str, Any] = {}
    assert completion_attributes(Stream(), attrs, SETTINGS) is None and attrs == {}


def test_chunks_merge_into_the_completion_they_make_up() -> None:
    request = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    chunks = sim_chat.chat_chunks(
        {**request, "stream_options": {"include_usage": True}},
        deployment="prod",
        azure=True,
        profile="blocked_output",
    )
    assert chunks[0]["id"] == "" and chunks[0]["prompt_filter_results"]  # Azure's first chunk
    assert "content_filter_offsets" in chunks[-2]["choices"][0]  # the annotation chunk
    attrs: dict[str, Any] = {}
    for chunk in chunks:
        chunk_attributes(chunk, attrs)
    assert attrs[sc.RESPONSE_ID] == chunks[1]["id"]  # the blank first chunk's "" is no id
    assert attrs[sc.RESPONSE_MODEL] == "prod"
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ["content_filter"]
    assert attrs[sc.USAGE_INPUT_TOKENS] == 17
    assert attrs[key("completion", "violence", "severity")] == "high"
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == [sim_chat.BLOCKLIST_ID]
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    text = json.dumps(attrs)
    assert "simulated" not in text and CITATION_URL not in text


def test_plain_openai_chunks_have_no_filter_attributes() -> None:
    chunks = sim_chat.chat_chunks(
        {"messages": [{"role": "user", "content": "hi"}]}, deployment=None, azure=False
    )
    attrs: dict[str, Any] = {}
    for chunk in chunks:
        chunk_attributes(chunk, attrs)
    assert attrs[sc.RESPONSE_FINISH_REASONS] == ["stop"]
    assert not any(name.startswith(PREFIX) for name in attrs)


# --- the counter's measurements ----------------------------------------------------------------


def labels(points: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {
        (
            p.get(sc.CONTENT_FILTER_SOURCE),
            p[sc.CONTENT_FILTER_CATEGORY],
            p[sc.CONTENT_FILTER_FILTERED],
            p.get(sc.CONTENT_FILTER_SEVERITY),
            p.get(sc.CONTENT_FILTER_DETECTED),
        )
        for p in points
    }


def test_metric_points_one_per_flagged_category() -> None:
    attrs: dict[str, Any] = {
        sc.PROVIDER_NAME: "azure.ai.openai",
        sc.AZURE_DEPLOYMENT: "prod",
        sc.RESPONSE_ID: "x",
    }
    completion_attributes(completion("annotated"), attrs, SETTINGS)
    points = cf.metric_points(attrs)
    assert labels(points) == {
        ("prompt", "hate", False, "low", None),
        ("prompt", "violence", False, "low", None),
        ("prompt", "jailbreak", False, None, True),
        ("prompt", "indirect_attack", False, None, True),
        ("completion", "sexual", False, "low", None),
        ("completion", "violence", False, "medium", None),
        ("completion", "self_harm", False, "low", None),
        ("completion", "protected_material_text", False, None, True),
        ("completion", "protected_material_code", False, None, True),
        ("completion", "profanity", False, None, True),
    }
    for point in points:  # low cardinality: provider and deployment, never ids
        assert point[sc.PROVIDER_NAME] == "azure.ai.openai" and point[sc.AZURE_DEPLOYMENT] == "prod"
        assert "x" not in point.values()


def test_metric_points_for_blocks_without_categories_and_filter_errors() -> None:
    blocked: dict[str, Any] = {sc.MESSAGE_INCOMPLETE_REASON: "content_filter"}
    cf.incomplete_reason_attributes(blocked)
    assert labels(cf.metric_points(blocked)) == {("completion", "unspecified", True, None, None)}
    failed = read({"error": {"code": "content_filter_error"}})
    assert labels(cf.metric_points(failed)) == {(None, "filter_error", False, None, None)}
    assert cf.metric_points(read(FILTER_PROFILES["safe"][0])) == []  # safe: nothing to count
    assert cf.metric_points({}) == []


def test_run_results_count_once_where_the_run_is_claimed() -> None:
    attrs: dict[str, Any] = {sc.RUN_ID: "run_1", sc.RUN_INCOMPLETE_REASON: "content_filter"}
    cf.incomplete_reason_attributes(attrs)
    assert cf.metric_points(attrs, run_claimed=False) == []
    assert len(cf.metric_points(attrs, run_claimed=True)) == 1
    prompt: dict[str, Any] = {sc.RUN_ID: "run_1"}  # a blocked submit on a run counts regardless
    cf.error_body_attributes(content_filter_body(), prompt)
    assert cf.metric_points(prompt, run_claimed=False)


# --- Responses API: a response's content_filters -------------------------------------------------


def response_filters(*entries: tuple[str, bool, Any]) -> list[dict[str, Any]]:
    return [
        {"blocked": blocked, "source_type": source, "content_filter_results": results}
        for source, blocked, results in entries
    ]


def read_response(body: dict[str, Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    response_attributes({"object": "response", "id": "resp_1", **body}, attrs, SETTINGS)
    return attrs


def test_response_content_filters_read_as_chat_annotations_are() -> None:
    prompt, completion, _ = FILTER_PROFILES["annotated"]
    attrs = read_response(
        {
            "status": "completed",
            "content_filters": response_filters(("prompt", False, prompt), ("completion", False, completion)),
        }
    )
    chat: dict[str, Any] = {}
    completion_attributes(
        sim_chat.chat_completion(
            {"messages": [{"role": "user", "content": "hi"}]}, deployment="d", azure=True, profile="annotated"
        ),
        chat,
        SETTINGS,
    )
    assert {k: v for k, v in attrs.items() if k.startswith(PREFIX)} == {
        k: v for k, v in chat.items() if k.startswith(PREFIX)
    }
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "annotated"


def test_a_blocked_entry_blocks_its_source_even_without_a_flagged_category() -> None:
    safe_prompt, safe_completion, _ = FILTER_PROFILES["safe"]
    output = read_response(
        {
            "status": "completed",
            "content_filters": response_filters(
                ("prompt", False, safe_prompt), ("completion", True, safe_completion)
            ),
        }
    )
    assert output[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"
    assert labels(cf.metric_points(output)) == {("completion", "unspecified", True, None, None)}
    prompt = read_response({"status": "failed", "content_filters": response_filters(("Prompt", True, {}))})
    assert prompt[sc.CONTENT_FILTER_OUTCOME] == "blocked_prompt"


def test_unknown_sources_and_shapes_in_content_filters_are_ignored() -> None:
    flagged = {"violence": {"filtered": True, "severity": "high"}}
    for filters in (
        response_filters(("tool_output", True, flagged)),  # a source this project does not name
        response_filters(("", True, flagged)),
        [{"blocked": True, "content_filter_results": flagged}],  # no source
        "content_filters",
        {"prompt": flagged},
        [None, 3, "x"],
    ):
        attrs = read_response({"content_filters": filters})
        assert not any(name.startswith(PREFIX) for name in attrs), filters


def test_openai_sdk_response_extras_are_read() -> None:
    from openai.types.responses import Response

    _, completion, _ = FILTER_PROFILES["blocked_output"]
    response = Response.construct(
        id="resp_1",
        object="response",
        status="incomplete",
        content_filters=response_filters(("completion", True, completion)),
    )
    assert "content_filters" in (response.model_extra or {})  # an extra: no field of the model
    attrs: dict[str, Any] = {}
    response_attributes(response, attrs, SETTINGS)
    assert attrs[key("completion", "violence", "severity")] == "high"
    assert attrs[sc.CONTENT_FILTER_BLOCKLIST_IDS] == [sim_chat.BLOCKLIST_ID]
    assert attrs[sc.CONTENT_FILTER_OUTCOME] == "blocked_output"


def test_response_results_count_once_where_the_response_is_claimed() -> None:
    """Every retrieve repeats a response's results (a blocked prompt entry too): counted once."""
    _, completion, _ = FILTER_PROFILES["blocked_output"]
    output = read_response(
        {
            "status": "incomplete",
            "incomplete_details": {"reason": "content_filter"},
            "content_filters": response_filters(("completion", True, completion)),
        }
    )
    assert cf.metric_points(output, run_claimed=False) == []
    assert len(cf.metric_points(output, run_claimed=True)) == 5
    prompt = read_response({"status": "failed", "content_filters": response_filters(("prompt", True, {}))})
    assert cf.metric_points(prompt, run_claimed=False) == []
    assert labels(cf.metric_points(prompt, run_claimed=True)) == {("prompt", "unspecified", True, None, None)}

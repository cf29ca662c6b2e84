"""Chat completions, plain or streamed, with Azure's content filter annotations when on /openai.

What Azure's filter says is chosen per request from ``FILTER_PROFILES`` (queued with
``Simulator.next_content_filter``, one per Azure chat call or response: responses.py serves
them too; ``safe`` when none is queued): every category, severities, detections, a custom
blocklist hit, a blocked output, a blocked prompt (the 400 with
``innererror.content_filter_result``) and a filter that failed to run.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from .errors import ApiError, Json, bad_request
from .store import now, snapshot

CHAT_REPLY = "This is a simulated chat completion."
PROMPT_TOKENS, COMPLETION_TOKENS = 17, 7
# What a blocked or flagged result points at: no telemetry may ever carry these.
CITATION_URL = "https://github.com/example/protected-sample-7c1d"
BLOCKLIST_ID = "contoso-blocked-terms"

_SAFE = {"filtered": False, "severity": "safe"}
_NOT_DETECTED = {"filtered": False, "detected": False}
_HARM_CATEGORIES = ("hate", "self_harm", "sexual", "violence")


def _category_results(**extra: Json) -> Json:
    return {**{name: dict(_SAFE) for name in _HARM_CATEGORIES}, **extra}


def _harm(severity: str, filtered: bool = False) -> Json:
    return {"filtered": filtered, "severity": severity}


def _detection(detected: bool, filtered: bool = False) -> Json:
    return {"filtered": filtered, "detected": detected}


def _blocklist(filtered: bool) -> Json:
    return {"filtered": filtered, "details": [{"filtered": filtered, "id": BLOCKLIST_ID}]}


_FILTER_ERROR = {"error": {"code": "content_filter_error", "message": "The contents are not filtered"}}
_CODE_CITATION = {"URL": CITATION_URL, "license": "EPL-1.0"}

# profile -> (prompt results, completion results, finish reason); blocked_prompt answers 400.
FILTER_PROFILES: dict[str, tuple[Json, Json, str]] = {
    "safe": (
        _category_results(jailbreak=dict(_NOT_DETECTED)),
        _category_results(
            protected_material_text=dict(_NOT_DETECTED), protected_material_code=dict(_NOT_DETECTED)
        ),
        "stop",
    ),
    "annotated": (  # flagged below the blocking thresholds: annotated, not filtered
        {
            **_category_results(hate=_harm("low"), violence=_harm("low")),
            "jailbreak": _detection(True),
            "indirect_attack": _detection(True),
            "profanity": _detection(False),
        },
        {
            **_category_results(sexual=_harm("low"), violence=_harm("medium"), self_harm=_harm("low")),
            "protected_material_text": _detection(True),
            "protected_material_code": {**_detection(True), "citation": dict(_CODE_CITATION)},
            "profanity": _detection(True),
        },
        "stop",
    ),
    "blocked_output": (  # the answer was cut: finish_reason content_filter
        _category_results(jailbreak=dict(_NOT_DETECTED)),
        {
            **_category_results(violence=_harm("high", True), self_harm=_harm("medium", True)),
            "protected_material_code": {**_detection(True, True), "citation": dict(_CODE_CITATION)},
            "profanity": _detection(True, True),
            "custom_blocklists": _blocklist(True),
        },
        "content_filter",
    ),
    "blocked_prompt": (  # 400 content_filter: every prompt category has a say
        {
            "hate": _harm("high", True),
            "sexual": _harm("low"),
            "violence": _harm("medium", True),
            "self_harm": _harm("safe"),
            "jailbreak": _detection(True, True),
            "indirect_attack": _detection(True),
            "profanity": _detection(True, True),
            "custom_blocklists": _blocklist(True),
        },
        {},
        "content_filter",
    ),
    "filter_error": (dict(_FILTER_ERROR), dict(_FILTER_ERROR), "stop"),
}


def content_filter_error(results: Json) -> ApiError:
    """The 400 Azure answers when the prompt is blocked; the message is the service's own words."""
    message = (
        "The response was filtered due to the prompt triggering Azure OpenAI's content management "
        "policy. Please modify your prompt and retry. To learn more about our content filtering "
        "policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766"
    )
    body = {
        "error": {
            "message": message,
            "type": None,
            "param": "prompt",
            "code": "content_filter",
            "status": 400,
            "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": results},
        }
    }
    return ApiError(400, message, body=body)


def chat_completion(
    body: Json,
    *,
    deployment: str | None,
    azure: bool,
    profile: str = "safe",
    models: Mapping[str, str] | None = None,
) -> Json:
    """The completion object; ``models`` maps Azure deployments to the model they serve."""
    _check(body)
    prompt_results, completion_results, finish_reason = filter_profile(profile)
    if azure and profile == "blocked_prompt":
        raise content_filter_error(prompt_results)
    if not azure:
        finish_reason = "stop"
    choice: Json = {
        "index": 0,
        "message": {"role": "assistant", "content": CHAT_REPLY, "refusal": None},
        "finish_reason": finish_reason,
        "logprobs": None,
    }
    completion: Json = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
        "object": "chat.completion",
        "created": now(),
        "model": _model(body, deployment, models),
        "system_fingerprint": "fp_simulator",
        "choices": [choice],
        "usage": _usage(),
    }
    if azure:
        completion["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": prompt_results}]
        choice["content_filter_results"] = completion_results
    return completion


def chat_chunks(
    body: Json,
    *,
    deployment: str | None,
    azure: bool,
    profile: str = "safe",
    models: Mapping[str, str] | None = None,
) -> list[Json]:
    """``stream: true``: the chunks, Azure's way when on /openai: prompt results first, then the
    deltas, then the output's results in an annotation chunk (asynchronous filtering)."""
    _check(body)
    prompt_results, completion_results, finish_reason = filter_profile(profile)
    if azure and profile == "blocked_prompt":
        raise content_filter_error(prompt_results)
    if not azure:
        finish_reason = "stop"
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
        "object": "chat.completion.chunk",
        "created": now(),
        "model": _model(body, deployment, models),
        "system_fingerprint": "fp_simulator",
    }
    extra: Json = {"content_filter_results": {}} if azure else {}

    def chunk(delta: Json, reason: str | None = None) -> Json:
        return {
            **base,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason, **extra}],
        }

    chunks: list[Json] = []
    if azure:
        blank = {"id": "", "object": "", "created": 0, "model": "", "choices": []}
        chunks.append(
            {
                **blank,
                "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": prompt_results}],
            }
        )
    chunks.append(chunk({"role": "assistant", "content": ""}))
    chunks.extend(chunk({"content": word}) for word in re.findall(r"\S+\s*", CHAT_REPLY))
    chunks.append(chunk({}, finish_reason))
    if azure:
        offsets = {"check_offset": 0, "start_offset": 0, "end_offset": len(CHAT_REPLY)}
        annotation = {"index": 0, "finish_reason": None, "content_filter_offsets": offsets}
        chunks.append({**blank, "choices": [{**annotation, "content_filter_results": completion_results}]})
    options = body.get("stream_options")
    if isinstance(options, dict) and options.get("include_usage"):
        chunks.append({**base, "choices": [], "usage": _usage()})
    return chunks


def filter_profile(name: str) -> tuple[Json, Json, str]:
    """A profile's (prompt results, completion results, finish reason), fresh copies (responses.py too)."""
    prompt_results, completion_results, finish_reason = FILTER_PROFILES[name]
    return snapshot(prompt_results), snapshot(completion_results), finish_reason  # answers are mutable


def _check(body: Json) -> None:
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise bad_request("Missing required parameter: 'messages'.", "messages")


def _model(body: Json, deployment: str | None, models: Mapping[str, str] | None) -> str:
    name = deployment or body.get("model")
    if models and isinstance(name, str) and name in models:
        return models[name]  # Azure answers with the model the deployment serves
    return str(body.get("model") or deployment or "gpt-4o")


def _usage() -> Json:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }

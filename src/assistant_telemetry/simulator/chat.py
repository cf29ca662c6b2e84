"""A minimal non-streaming chat completion, with Azure's content filter annotations when on /openai."""

from __future__ import annotations

import uuid

from .errors import Json, bad_request
from .store import now

CHAT_REPLY = "This is a simulated chat completion."
PROMPT_TOKENS, COMPLETION_TOKENS = 17, 7

_SAFE = {"filtered": False, "severity": "safe"}
_NOT_DETECTED = {"filtered": False, "detected": False}
_HARM_CATEGORIES = ("hate", "self_harm", "sexual", "violence")


def _category_results(**extra: Json) -> Json:
    return {**{name: dict(_SAFE) for name in _HARM_CATEGORIES}, **extra}


def chat_completion(body: Json, *, deployment: str | None, azure: bool) -> Json:
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        raise bad_request("Missing required parameter: 'messages'.", "messages")
    if body.get("stream"):
        raise bad_request("The simulator only answers non-streaming chat completions.", "stream")
    model = body.get("model") or deployment or "gpt-4o"
    choice: Json = {
        "index": 0,
        "message": {"role": "assistant", "content": CHAT_REPLY, "refusal": None},
        "finish_reason": "stop",
        "logprobs": None,
    }
    completion: Json = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:29]}",
        "object": "chat.completion",
        "created": now(),
        "model": model,
        "system_fingerprint": "fp_simulator",
        "choices": [choice],
        "usage": {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        },
    }
    if azure:
        completion["prompt_filter_results"] = [
            {"prompt_index": 0, "content_filter_results": _category_results(jailbreak=dict(_NOT_DETECTED))}
        ]
        choice["content_filter_results"] = _category_results(
            protected_material_text=dict(_NOT_DETECTED), protected_material_code=dict(_NOT_DETECTED)
        )
    return completion

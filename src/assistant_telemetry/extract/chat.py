"""Chat completions (a ``ChatCompletion`` or each streamed ``chat.completion.chunk``) -> attributes.

Read: the response id, model, system fingerprint, each choice's finish reason, token usage
and Azure's content filter results. Never read: message text, deltas, refusals, tool call
names or arguments, logprobs.

One function serves both shapes because a completion is what its chunks add up to: called
on a completion with an empty dict it reads the completion; called on each chunk with the
same dict it merges them (the first id and model win, finish reasons are appended per
choice, filter results keep their most severe value). Azure streams send the prompt's
filter results in a first chunk with no id, and the output's in later annotation chunks.
"""

from __future__ import annotations

from typing import Any

from .. import semconv as sc
from ..config import Settings
from .assistants import usage_attributes
from .content_filter import COMPLETION, CONTENT_FILTER, blocked, prompt_results_attributes, results_attributes
from .fields import Attributes, code, field, items, text

CHAT_KINDS = frozenset({"chat.completion", "chat.completion.chunk"})


def chat_attributes(obj: Any, attrs: Attributes) -> None:
    """One completion, or one chunk merged into what earlier chunks of its stream gave."""
    for key, name in _FIRST_WINS:
        if key not in attrs:
            value = text(field(obj, name))
            if value is not None:
                attrs[key] = value
    reasons = []
    for choice in items(field(obj, "choices")):
        reason = code(field(choice, "finish_reason"))
        if reason is not None:
            reasons.append(reason)
        results_attributes(field(choice, "content_filter_results"), COMPLETION, attrs)
    if reasons:
        attrs[sc.RESPONSE_FINISH_REASONS] = [*attrs.get(sc.RESPONSE_FINISH_REASONS, ()), *reasons]
        if CONTENT_FILTER in reasons:
            blocked(attrs, COMPLETION)
    usage_attributes(field(obj, "usage"), attrs)
    prompt_results_attributes(field(obj, "prompt_filter_results") or field(obj, "prompt_annotations"), attrs)


_FIRST_WINS = (
    (sc.RESPONSE_ID, "id"),
    (sc.RESPONSE_MODEL, "model"),
    (sc.RESPONSE_SYSTEM_FINGERPRINT, "system_fingerprint"),
)


def completion_attributes(obj: Any, attrs: Attributes, settings: Settings) -> Any:
    """A ``ChatCompletion``; anything else (a ``Stream`` of chunks) is left alone, unread."""
    if field(obj, "object") != "chat.completion":
        return None
    chat_attributes(obj, attrs)
    return None


def chunk_attributes(chunk: Any, attrs: Attributes) -> None:
    """One streamed ``chat.completion.chunk`` (or Azure's annotation chunk) merged into ``attrs``."""
    chat_attributes(chunk, attrs)

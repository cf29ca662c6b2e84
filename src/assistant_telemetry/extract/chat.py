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
from .fields import MODEL_KINDS, PYDANTIC, Attributes, code, field, field_reader, items, text

CHAT_KINDS = frozenset({"chat.completion", "chat.completion.chunk"})


def chat_attributes(obj: Any, attrs: Attributes) -> None:
    """One completion, or one chunk merged into what earlier chunks of its stream gave."""
    get = field_reader(obj)
    for key, name in _FIRST_WINS:
        if key not in attrs:
            value = text(get(name))
            if value is not None:
                attrs[key] = value
    reasons = []
    for choice in items(get("choices")):
        reason = code(field(choice, "finish_reason"))
        if reason is not None:
            reasons.append(reason)
        results_attributes(field(choice, "content_filter_results"), COMPLETION, attrs)
    if reasons:
        attrs[sc.RESPONSE_FINISH_REASONS] = [*attrs.get(sc.RESPONSE_FINISH_REASONS, ()), *reasons]
        if CONTENT_FILTER in reasons:
            blocked(attrs, COMPLETION)
    usage_attributes(get("usage"), attrs)
    prompt_results_attributes(get(_PROMPT_RESULTS[0]) or get(_PROMPT_RESULTS[1]), attrs)


_PROMPT_RESULTS = ("prompt_filter_results", "prompt_annotations")  # the current name, the older one


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


# --- the long middle of a stream: chunks that carry nothing but text --------------------------------
# Every name chat_attributes reads from a chunk or a choice. A model class that has one of them as a
# class attribute (a property: field() would read it) is always merged the slow way.
_CHUNK_NAMES = frozenset({"id", "model", "system_fingerprint", "choices", "usage", *_PROMPT_RESULTS})
_CHOICE_NAMES = frozenset({"finish_reason", "content_filter_results"})
_FILTERS_KEPT = 8  # distinct filter results remembered per stream (one per choice, usually one)


class _Direct(dict[type, bool]):
    """Model class -> may ``chunk_adds_nothing`` read it from its own dicts? Worked out once per class."""

    def __missing__(self, cls: type) -> bool:
        if len(self) > 256:
            self.clear()
            _DIRECT_TYPES.clear()
        names = _CHUNK_NAMES | _CHOICE_NAMES
        direct = self[cls] = MODEL_KINDS[cls] is PYDANTIC and not any(hasattr(cls, name) for name in names)
        if direct:
            _DIRECT_TYPES.add(cls)
        return direct


_DIRECT = _Direct()
# The classes _DIRECT found direct: the test per chunk and choice is a set lookup (a dict subclass's
# subscript costs callgrind about 500 instructions, the set about 300; benchmarks/chunk_instructions.py).
_DIRECT_TYPES: set[type] = set()


def first_wins_missing(attrs: Attributes) -> tuple[str, ...]:
    """The chunk fields whose first value ``chat_attributes`` would still take into ``attrs``."""
    return tuple(name for key, name in _FIRST_WINS if key not in attrs)


def chunk_adds_nothing(chunk: Any, missing: tuple[str, ...], filters: list[Any]) -> bool:
    """True when ``chunk_attributes(chunk, attrs)`` would leave ``attrs`` as it is: a chunk of text.

    Tested on the models' own dicts, as ``field()`` would read them, conservatively (a name present
    in extras, a value of an odd type: False, and the chunk is merged). ``missing`` is
    ``first_wins_missing(attrs)`` and ``filters`` the filter results already merged
    (``remember_filters``), both kept by the caller between merges: merging equal results again
    changes nothing, as every merge keeps the most severe value, so Azure's per-chunk results are
    read once per change. It runs on every chunk of a long stream, so each read here is counted
    (benchmarks/chunk_instructions.py): about 5,200 instructions a text chunk.
    """
    if type(chunk) not in _DIRECT_TYPES and not _DIRECT[type(chunk)]:
        return False
    extra = chunk.__pydantic_extra__
    if extra and not _CHUNK_NAMES.isdisjoint(extra):
        return False
    own = chunk.__dict__
    if (
        own.get("usage") is not None
        or own.get("prompt_filter_results") is not None  # _PROMPT_RESULTS, spelled out: no lookups
        or own.get("prompt_annotations") is not None
    ):
        return False
    for name in missing:  # usually none: the first chunk had them
        if own.get(name):  # a value chat_attributes might take (or refuse)
            return False
    choices = own.get("choices")
    if type(choices) is not list and not isinstance(choices, tuple):
        return True  # read as no choices
    for choice in choices:
        if type(choice) not in _DIRECT_TYPES and not _DIRECT[type(choice)]:
            return False
        extra = choice.__pydantic_extra__
        fields = choice.__dict__
        if fields.get("finish_reason") is not None:
            return False
        results = fields.get("content_filter_results")
        if extra:
            if "finish_reason" in extra:
                return False
            if results is None and "content_filter_results" not in fields:
                results = extra.get("content_filter_results")
        if results is not None and (type(results) is not dict or results not in filters):
            return False
    return True


def remember_filters(chunk: Any, filters: list[Any]) -> None:
    """Note the filter results of a chunk just merged, for ``chunk_adds_nothing`` (the newest few)."""
    for choice in items(field(chunk, "choices")):
        results = field(choice, "content_filter_results")
        if type(results) is dict and results not in filters:
            if len(filters) >= _FILTERS_KEPT:
                del filters[0]
            filters.append(results)

"""A chat stream's chunks skipped as text-only (``chunk_adds_nothing``) change nothing the span gets.

The stream observer merges a chunk only when it can add something; every other chunk is tested on
the model's own dicts. These tests merge the same streams (parsed by the openai SDK's own
``construct_type``, as its ``Stream`` parses each event) both ways, every chunk and skipping, and
require the same attributes, with the skip actually taken on most chunks.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from openai._models import construct_type
from openai.types.chat import ChatCompletionChunk

from assistant_telemetry import semconv as sc
from assistant_telemetry.extract.chat import (
    chunk_adds_nothing,
    chunk_attributes,
    first_wins_missing,
    remember_filters,
)

BASE = {"object": "chat.completion.chunk", "created": 1}
SAFE = {name: {"filtered": False, "severity": "safe"} for name in ("hate", "self_harm", "sexual", "violence")}


def chunk(**fields: Any) -> Any:
    return construct_type(type_=ChatCompletionChunk, value={**BASE, **fields})


def results(rng: random.Random) -> dict[str, Any]:
    """Mostly the safe results Azure repeats on every chunk; now and then a flagged or odd one."""
    found = {name: dict(value) for name, value in SAFE.items()}
    roll = rng.random()
    if roll < 0.05:
        found["violence"] = {"filtered": False, "severity": rng.choice(["low", "medium", "high"])}
    elif roll < 0.08:
        found["profanity"] = {"filtered": False, "detected": True}
    elif roll < 0.10:
        found["custom_blocklists"] = {
            "filtered": True,
            "details": [{"filtered": True, "id": f"list{rng.randint(1, 3)}"}],
        }
    elif roll < 0.11:
        found = {"error": {"code": "content_filter_error", "message": "CANARY"}}
    return found


def stream(rng: random.Random, azure: bool, choices: int, chunks: int) -> list[Any]:
    ident = {"id": "chatcmpl-1", "model": "gpt-4o"}
    if rng.random() < 0.5:
        ident["system_fingerprint"] = "fp_1"
    out = []
    if azure:
        prompt = [{"prompt_index": 0, "content_filter_results": results(rng)}]
        out.append(chunk(id="", model="", choices=[], prompt_filter_results=prompt))
    out.append(
        chunk(
            **ident,
            choices=[{"index": i, "delta": {"role": "assistant", "content": ""}} for i in range(choices)],
        )
    )
    for n in range(chunks):
        fields: dict[str, Any] = dict(ident)
        if n == chunks // 2 and "system_fingerprint" not in ident:
            fields["system_fingerprint"] = "fp_late"  # a first-wins value that turns up mid-stream
        listed = []
        for i in range(choices):
            choice: dict[str, Any] = {"index": i, "delta": {"content": "CANARY "}, "finish_reason": None}
            if azure and rng.random() < 0.9:
                choice["content_filter_results"] = results(rng)
            listed.append(choice)
        out.append(chunk(**fields, choices=listed))
    reasons = ["stop", "length", "content_filter"]
    out.append(
        chunk(
            **ident,
            choices=[{"index": i, "delta": {}, "finish_reason": rng.choice(reasons)} for i in range(choices)],
        )
    )
    out.append(
        chunk(**ident, choices=[], usage={"prompt_tokens": 3, "completion_tokens": chunks, "total_tokens": 9})
    )
    return out


def merged_every_chunk(chunks: list[Any]) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for item in chunks:
        chunk_attributes(item, attrs)
    return attrs


def merged_skipping(chunks: list[Any]) -> tuple[dict[str, Any], int]:
    """As ChatChunks merges: once text arrived, only chunks that may add something."""
    attrs: dict[str, Any] = {}
    filters: list[Any] = []
    skipped = 0
    text = False
    for item in chunks:
        if text and chunk_adds_nothing(item, first_wins_missing(attrs), filters):
            skipped += 1
            continue
        text = text or any(choice.delta.content for choice in item.choices)
        chunk_attributes(item, attrs)
        remember_filters(item, filters)
    return attrs, skipped


@pytest.mark.parametrize("seed", range(40))
def test_skipping_text_chunks_merges_the_same(seed: int) -> None:
    rng = random.Random(seed)
    azure, choices = seed % 2 == 0, 1 + seed % 3
    chunks = stream(rng, azure, choices, 60)
    expected = merged_every_chunk(chunks)
    got, skipped = merged_skipping(chunks)
    assert got == expected
    assert skipped >= 30  # most text chunks were not merged
    assert expected[sc.RESPONSE_ID] == "chatcmpl-1"
    assert len(expected[sc.RESPONSE_FINISH_REASONS]) == choices
    if azure:
        assert sc.CONTENT_FILTER_OUTCOME in expected


def test_a_flagged_result_mid_stream_is_merged() -> None:
    """The skip is not "same as before by shape": a changed severity on one chunk reaches the span."""
    flagged = {**SAFE, "violence": {"filtered": False, "severity": "medium"}}
    text = [{"index": 0, "delta": {"content": "x"}, "content_filter_results": SAFE}]
    chunks = [chunk(id="c", model="m", choices=text) for _ in range(20)]
    chunks[10] = chunk(id="c", model="m", choices=[{**text[0], "content_filter_results": flagged}])
    got, skipped = merged_skipping(chunks)
    assert got[sc.CONTENT_FILTER_PREFIX + "completion.violence.severity"] == "medium"
    assert got == merged_every_chunk(chunks)
    assert skipped == 18


def test_odd_chunks_are_merged_not_skipped() -> None:
    """Dict chunks, tuples of choices and unknown extras take the merge, never the skip."""
    none_missing = first_wins_missing(
        {sc.RESPONSE_ID: "c", sc.RESPONSE_MODEL: "m", sc.RESPONSE_SYSTEM_FINGERPRINT: "f"}
    )
    assert none_missing == ()
    as_dict = {"id": "c", "choices": [{"delta": {"content": "x"}}]}
    assert not chunk_adds_nothing(as_dict, none_missing, [])
    with_usage = chunk(
        id="c", model="m", choices=[], usage={"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    )
    assert not chunk_adds_nothing(with_usage, none_missing, [])
    extra_prompt = chunk(id="c", model="m", choices=[], prompt_annotations=[])
    assert not chunk_adds_nothing(extra_prompt, none_missing, [])
    plain = chunk(id="c", model="m", choices=[{"index": 0, "delta": {"content": "x"}}])
    assert chunk_adds_nothing(plain, none_missing, [])
    assert not chunk_adds_nothing(plain, first_wins_missing({}), [])  # the id is still to be taken
    assert chunk_adds_nothing(plain, ("system_fingerprint",), [])  # a fingerprint the chunk lacks

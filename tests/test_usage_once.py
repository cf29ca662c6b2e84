"""Usage once per execution: the sum of gen_ai.usage.* over every exported span is the true usage.

The scenarios read finished executions again and again (retrieves, updates, step reads, response
retrieves), as apps do; the truth is what the service reported for each execution, read from the
objects the app got back.
"""

from __future__ import annotations

from typing import Any

import pytest

from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

from conftest import Telemetry
from scenarios import every_call, run


def span_sum(telemetry: Telemetry, key: str) -> int:
    return sum(int(span.attributes.get(key, 0)) for span in telemetry.spans)


def metric_sum(telemetry: Telemetry, token_type: str) -> int:
    points = telemetry.metric_points(sc.METRIC_TOKEN_USAGE)
    return sum(p.sum for p in points if p.attributes[sc.TOKEN_TYPE] == token_type)


def runs_usage(client: Any, thread_ids: set[str]) -> tuple[int, int]:
    """Each run's usage as the service reports it (read uninstrumented: telemetry is off by then)."""
    prompt = completion = 0
    for thread_id in thread_ids:
        for listed in client.beta.threads.runs.list(thread_id):
            if listed.usage is not None:
                prompt += listed.usage.prompt_tokens
                completion += listed.usage.completion_tokens
    return prompt, completion


@pytest.mark.timeout(120)
def test_assistants_usage_sums_to_the_runs_usage(telemetry: Telemetry, sim: Simulator, client: Any) -> None:
    beta = client.beta
    assistant = beta.assistants.create(model="gpt-4o", name="helper")
    thread = beta.threads.create()
    beta.threads.messages.create(thread.id, role="user", content="hi")
    polled = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    bare = beta.threads.runs.create(thread.id, assistant_id=assistant.id)
    while bare.status != "completed":
        bare = beta.threads.runs.retrieve(bare.id, thread_id=thread.id)
    sim.next_run_outcome("requires_action", "completed")
    waiting = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    outputs = [
        {"tool_call_id": c.id, "output": "21"} for c in waiting.required_action.submit_tool_outputs.tool_calls
    ]
    beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=waiting.id, thread_id=thread.id, tool_outputs=outputs
    )
    for run_id in (polled.id, bare.id, waiting.id):  # reads of finished runs, twice each
        beta.threads.runs.retrieve(run_id, thread_id=thread.id)
        beta.threads.runs.update(run_id, thread_id=thread.id, metadata={"k": "v"})
        for step in beta.threads.runs.steps.list(run_id, thread_id=thread.id):
            beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run_id)
    prompt, completion = runs_usage(client, {thread.id})
    assert prompt > 0 and completion > 0
    assert span_sum(telemetry, sc.USAGE_INPUT_TOKENS) == prompt == metric_sum(telemetry, "input")
    assert span_sum(telemetry, sc.USAGE_OUTPUT_TOKENS) == completion == metric_sum(telemetry, "output")
    reads = [s for s in telemetry.named("get_thread_run") if s.attributes.get(sc.USAGE_REPORTED_ELSEWHERE)]
    assert len(reads) >= 3 and all(sc.USAGE_INPUT_TOKENS not in s.attributes for s in reads)
    steps = telemetry.named("get_run_step")
    assert steps and all(sc.USAGE_INPUT_TOKENS not in s.attributes for s in steps)
    assert any(sc.RUN_STEP_INPUT_TOKENS in s.attributes for s in steps)  # the step's share, own name


@pytest.mark.timeout(120)
def test_responses_usage_sums_to_the_responses_usage(
    telemetry: Telemetry, sim: Simulator, client: Any
) -> None:
    truth = {"input": 0, "output": 0, "cache_read": 0}

    def count(response: Any) -> None:
        truth["input"] += response.usage.input_tokens
        truth["output"] += response.usage.output_tokens
        truth["cache_read"] += response.usage.input_tokens_details.cached_tokens

    plain = client.responses.create(model="gpt-4o", input="hi")
    count(plain)
    background = client.responses.create(model="gpt-4o", input="hi", background=True)
    while background.status in ("queued", "in_progress"):
        background = client.responses.retrieve(background.id)
    count(background)
    stream = client.responses.create(model="gpt-4o", input="hi", stream=True)
    final = None
    for event in stream:
        if event.type == "response.completed":
            final = event.response
    assert final is not None
    count(final)
    chat = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    truth["input"] += chat.usage.prompt_tokens
    truth["output"] += chat.usage.completion_tokens
    for response_id in (plain.id, background.id, final.id):  # reads of finished responses
        client.responses.retrieve(response_id)
        client.responses.retrieve(response_id)
    assert truth["input"] > 0
    assert span_sum(telemetry, sc.USAGE_INPUT_TOKENS) == truth["input"] == metric_sum(telemetry, "input")
    assert span_sum(telemetry, sc.USAGE_OUTPUT_TOKENS) == truth["output"] == metric_sum(telemetry, "output")
    assert span_sum(telemetry, sc.USAGE_CACHE_READ_INPUT_TOKENS) == truth["cache_read"]


@pytest.mark.timeout(300)
def test_every_call_scenario_counts_each_run_once(telemetry: Telemetry, sim: Simulator, client: Any) -> None:
    """The suite's scenario of every Assistants method (helpers, streams, tool loops, raw streams)."""
    ids = run(every_call(client, sim))
    per_run: dict[str, int] = {}
    for span in telemetry.spans:
        if sc.USAGE_INPUT_TOKENS in span.attributes and sc.RUN_ID in span.attributes:
            run_id = span.attributes[sc.RUN_ID]
            assert run_id not in per_run, f"run {run_id} counted on two spans"
            per_run[run_id] = span.attributes[sc.USAGE_INPUT_TOKENS]
    # Every finished run of the scenario is counted (the app's own, the tool loop's, the helpers').
    assert {ids["run"], ids["tool_run"]} <= per_run.keys()
    assert sum(per_run.values()) == metric_sum(telemetry, "input")

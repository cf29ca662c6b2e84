"""``assistant-telemetry demo``: a real openai client talks to the local simulator, instrumented.

Shows, in one command, what the instrumentation records: a user message, a run polled to
completion (the first request meets a 429 and is retried), a tool call, the assistant's
reply listed; then a per-thread summary read back from the exported JSON-lines file.
"""

from __future__ import annotations

import warnings

from .. import instrument, uninstrument
from ..file_exporter import default_path
from ..simulator import Simulator
from .spans import of_threads, read_spans
from .summary import render_thread


def run_demo(file_path: str | None = None) -> int:
    import openai

    warnings.filterwarnings(
        "ignore", category=DeprecationWarning
    )  # the Assistants API is deprecated upstream
    path = file_path or default_path()
    session = instrument(exporter="file", file_path=path, service_name="assistant-telemetry-demo")
    with Simulator() as sim:
        print(f"simulator listening on {sim.base_url}")
        client = openai.OpenAI(base_url=sim.base_url, api_key="sk-demo")
        thread_id = _conversation(client, sim)
    session.flush()
    uninstrument()
    print(f"telemetry written to {path}\n")
    for line in render_thread(thread_id, of_threads(read_spans(path), {thread_id})[thread_id]):
        print(line)
    return 0


def _conversation(client: object, sim: Simulator) -> str:
    beta = client.beta  # type: ignore[attr-defined]
    assistant = beta.assistants.create(model="gpt-4o", name="demo-helper", instructions="Be brief.")
    thread = beta.threads.create()
    sim.add_fault(429, method="POST", path="/threads/*/messages", times=1, retry_after=0)
    beta.threads.messages.create(thread.id, role="user", content="What is the weather in Stockholm?")
    run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    print(f"run {run.id} finished: {run.status}")
    sim.next_run_outcome("requires_action", "completed")
    beta.threads.messages.create(thread.id, role="user", content="And tomorrow?")
    run = beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id)
    outputs = [
        {"tool_call_id": c.id, "output": "{}"} for c in run.required_action.submit_tool_outputs.tool_calls
    ]
    run = beta.threads.runs.submit_tool_outputs_and_poll(
        run_id=run.id, thread_id=thread.id, tool_outputs=outputs
    )
    print(f"run {run.id} finished after a tool call: {run.status}")
    steps = beta.threads.runs.steps.list(run.id, thread_id=thread.id)
    for step in steps.data:
        beta.threads.runs.steps.retrieve(step.id, thread_id=thread.id, run_id=run.id)
    beta.threads.messages.list(thread.id)
    return str(thread.id)

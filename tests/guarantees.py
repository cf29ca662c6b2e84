"""Shared by the guarantee tests: a broad openai scenario, its comparable outcomes, span counting.

``run_scenario(api)`` makes every kind of call the openai instrumentation wraps (sync and
async, pages, raw responses, poll and stream helpers, Responses, chat, Azure, and the
errors 404 / 429 / 500 / content filter) against a deterministic ``MockApi`` and returns
what the application saw, as plain comparable values: results as their JSON, exceptions
as class, status, request id, message and body. Two runs on fresh ``MockApi()``s give equal
lists, so "instrumented" can be compared with "not instrumented" by ``==``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
from collections.abc import Awaitable, Callable, Iterator
from types import ModuleType
from typing import Any

import wrapt
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from assistant_telemetry import semconv as sc

from mock_api import MockApi, content_filter_error

Outcome = tuple[Any, ...]


class SpanCounter(SpanProcessor):
    """Counts spans started and ended (an unended span is never exported, so export alone can't tell)."""

    def __init__(self) -> None:
        self.started = 0
        self.ended = 0

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.started += 1

    def on_end(self, span: ReadableSpan) -> None:
        self.ended += 1


class Pipeline:
    """In-memory spans and metrics, plus a start/end counter."""

    def __init__(self, **tracer_options: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.counter = SpanCounter()
        self.tracer_provider = TracerProvider(**tracer_options)
        self.tracer_provider.add_span_processor(self.counter)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def errors_counted(self) -> int:
        """The sum of ``assistant_telemetry.instrumentation.errors`` over its points."""
        data = self.reader.get_metrics_data()
        total = 0
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == sc.METRIC_INSTRUMENTATION_ERRORS:
                        total += sum(int(point.value) for point in metric.data.data_points)
        return total


Patches = list[tuple[type, str, Any]]


def wrapped_methods(package: str = "openai") -> Patches:
    """Every wrapt wrapper on ``package``'s classes: (class, attribute, wrapper).

    ``package.types`` is not searched: the SDK's data models (900 of openai's 1,000 modules) hold
    no method anyone wraps, and walking them took 90 of the 130 ms of a search.
    """
    patches = []
    for module_name, module in list(sys.modules.items()):
        top, _, rest = module_name.partition(".")
        if not isinstance(module, ModuleType) or top != package or rest.partition(".")[0] == "types":
            continue
        for owner in [
            v for v in vars(module).values() if isinstance(v, type) and v.__module__ == module_name
        ]:
            for name, value in list(vars(owner).items()):
                if isinstance(value, wrapt.FunctionWrapper):
                    patches.append((owner, name, value))
    return patches


@contextlib.contextmanager
def unwrapped(patches: Patches) -> Iterator[None]:
    """Inside: each of ``wrapped_methods()``'s wrappers is swapped for the function it wraps.

    What ``uninstrument()`` does, without re-patching, so a test can compare instrumented and plain
    calls example by example, finding the wrappers once.
    """
    for owner, name, wrapper in patches:
        setattr(owner, name, wrapper.__wrapped__)
    try:
        yield
    finally:
        for owner, name, wrapper in patches:
            setattr(owner, name, wrapper)


def describe(value: Any) -> Any:
    """A comparable stand-in for what a call returned."""
    if hasattr(value, "as_dict"):  # azure-ai-agents models
        return (type(value).__name__, json.dumps(value.as_dict(), sort_keys=True, default=str))
    if hasattr(value, "http_response") and hasattr(value, "parse"):  # with_raw_response
        return ("raw", value.http_response.status_code, value.http_response.text)
    if hasattr(value, "model_dump_json"):
        return (type(value).__name__, value.model_dump_json())
    if isinstance(value, list):
        return [describe(item) for item in value]
    return (type(value).__name__, repr(value))


def raised(error: BaseException) -> Outcome:
    return (
        "raised",
        type(error).__name__,
        getattr(error, "status_code", None),
        getattr(error, "request_id", None),
        str(error),
        repr(getattr(error, "body", None)),
    )


def outcome(call: Callable[[], Any]) -> Outcome:
    try:
        return ("ok", describe(call()))
    except Exception as error:
        return raised(error)


async def async_outcome(call: Callable[[], Awaitable[Any]]) -> Outcome:
    try:
        return ("ok", describe(await call()))
    except Exception as error:
        return raised(error)


USER = [{"role": "user", "content": "Hello?"}]


def _output_filtered(kind: str, body: Any) -> Any:
    """Azure cut the completion short with no category flagged: the block is named by its field."""
    if kind == "chat.completion":
        body["choices"][0]["finish_reason"] = "content_filter"
    return body


def sync_calls(api: MockApi) -> list[Callable[[], Any]]:
    c = api.client(max_retries=0)
    az = api.azure_client(max_retries=0)
    filtered = MockApi(rewrite=_output_filtered).azure_client(max_retries=0)
    beta = c.beta
    tool = [{"type": "function", "function": {"name": "lookup"}}]

    def stream_run() -> Any:
        with beta.threads.runs.stream(thread_id="thread_s", assistant_id="asst_1") as stream:
            stream.until_done()
            return [stream.get_final_run(), *stream.get_final_messages()]

    def streamed_body(resource: Any, **kwargs: Any) -> Any:
        """``with_streaming_response``: the body read inside the block (parsed, or its events)."""
        with resource.with_streaming_response.create(**kwargs) as response:
            parsed = response.parse()
            return list(parsed) if kwargs.get("stream") else parsed

    def fail_then(status: int, body: Any, path: str, call: Callable[[], Any]) -> Callable[[], Any]:
        def failing() -> Any:
            api.fail(status, body, path=path, times=1)
            return call()

        return failing

    return [
        lambda: beta.assistants.create(model="gpt-4o", name="helper", tools=tool, metadata={"team": "a"}),
        lambda: beta.assistants.retrieve("asst_1"),
        lambda: beta.assistants.update("asst_1", name="renamed"),
        lambda: beta.assistants.list(limit=5),
        lambda: beta.assistants.delete("asst_1"),
        lambda: beta.threads.create(metadata={"channel": "web"}),
        lambda: beta.threads.retrieve("thread_1"),
        lambda: beta.threads.update("thread_1", metadata={"k": "v"}),
        lambda: beta.threads.messages.create(
            "thread_1",
            role="user",
            content="Hello?",
            attachments=[{"file_id": "file_1", "tools": [{"type": "file_search"}]}],
        ),
        lambda: beta.threads.messages.retrieve("msg_1", thread_id="thread_1"),
        lambda: beta.threads.messages.update("msg_1", thread_id="thread_1", metadata={"k": "v"}),
        lambda: beta.threads.messages.list("thread_1"),
        lambda: list(beta.threads.messages.list("thread_1")),
        lambda: beta.threads.messages.delete("msg_1", thread_id="thread_1"),
        lambda: beta.threads.runs.create(thread_id="thread_1", assistant_id="asst_1", model="gpt-4o"),
        lambda: beta.threads.runs.retrieve("run_1", thread_id="thread_1"),
        lambda: beta.threads.runs.update("run_1", thread_id="thread_1", metadata={"k": "v"}),
        lambda: beta.threads.runs.list("thread_1"),
        lambda: beta.threads.runs.cancel("run_1", thread_id="thread_1"),
        lambda: beta.threads.runs.submit_tool_outputs(
            "run_1", thread_id="thread_1", tool_outputs=[{"tool_call_id": "call_1", "output": "42"}]
        ),
        lambda: beta.threads.runs.steps.list("run_1", thread_id="thread_1"),
        lambda: beta.threads.runs.steps.retrieve("step_1", thread_id="thread_1", run_id="run_1"),
        lambda: beta.threads.runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1"),
        lambda: beta.threads.runs.poll("run_1", thread_id="thread_1"),
        lambda: beta.threads.runs.submit_tool_outputs_and_poll(
            run_id="run_2", thread_id="thread_1", tool_outputs=[{"tool_call_id": "call_1", "output": "42"}]
        ),
        lambda: beta.threads.create_and_run_poll(assistant_id="asst_1"),
        lambda: beta.threads.create_and_run(assistant_id="asst_1"),
        lambda: list(beta.threads.runs.create(thread_id="thread_1", assistant_id="asst_1", stream=True)),
        stream_run,
        lambda: beta.threads.with_raw_response.retrieve("thread_1"),
        lambda: beta.threads.delete("thread_1"),
        lambda: c.responses.create(model="gpt-4o", input="Hello?", metadata={"k": "v"}),
        lambda: list(c.responses.create(model="gpt-4o", input="Hello?", stream=True)),
        lambda: c.responses.retrieve("resp_1"),
        lambda: c.responses.create(
            model="gpt-4o",
            input=[{"role": "user", "content": "Hello?"}],
            conversation="conv_1",
            prompt={"id": "pmpt_1", "version": "2"},
            background=True,
            extra_body={"agent": {"name": "helper", "type": "agent_reference"}},
        ),
        lambda: c.responses.input_items.list("resp_1"),
        lambda: c.responses.delete("resp_1"),
        lambda: c.conversations.create(metadata={"k": "v"}, items=[{"role": "user", "content": "Hello?"}]),
        lambda: c.conversations.retrieve("conv_1"),
        lambda: c.conversations.update("conv_1", metadata={"k": "v"}),
        lambda: c.conversations.items.list("conv_1"),
        lambda: c.conversations.items.retrieve("msg_1", conversation_id="conv_1"),
        lambda: c.conversations.items.create("conv_1", items=[{"role": "user", "content": "Hello?"}]),
        lambda: c.conversations.delete("conv_1"),
        lambda: c.chat.completions.create(model="gpt-4o", messages=USER),
        # Raw bodies the span waits for: a raw stream, a streaming-response body and stream.
        lambda: list(
            c.responses.with_raw_response.create(model="gpt-4o", input="Hello?", stream=True).parse()
        ),
        lambda: streamed_body(c.responses, model="gpt-4o", input="Hello?"),
        lambda: streamed_body(c.chat.completions, model="gpt-4o", messages=USER, stream=True),
        lambda: az.chat.completions.create(model="deployment-1", messages=USER),
        lambda: list(
            az.chat.completions.create(
                model="deployment-1", messages=USER, stream=True, stream_options={"include_usage": True}
            )
        ),
        lambda: az.beta.threads.runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1"),
        lambda: filtered.chat.completions.create(model="deployment-1", messages=USER),
        fail_then(404, None, "/threads/thread_gone$", lambda: beta.threads.retrieve("thread_gone")),
        fail_then(429, None, "/runs$", lambda: beta.threads.runs.create(thread_id="t", assistant_id="a")),
        fail_then(500, None, "/messages$", lambda: beta.threads.messages.list("thread_1")),
        fail_then(
            400,
            content_filter_error(),
            "/chat/completions$",
            lambda: az.chat.completions.create(model="deployment-1", messages=USER),
        ),
        fail_then(
            500, None, "/runs/", lambda: beta.threads.runs.create_and_poll(thread_id="t", assistant_id="a")
        ),
    ]


def async_calls(api: MockApi) -> list[Callable[[], Awaitable[Any]]]:
    c = api.async_client(max_retries=0)
    beta = c.beta

    async def paged() -> Any:
        return [message async for message in beta.threads.messages.list("thread_1")]

    async def streamed() -> Any:
        stream = await c.chat.completions.create(model="gpt-4o", messages=USER, stream=True)
        return [chunk async for chunk in stream]

    async def failing() -> Any:
        api.fail(404, None, path="/assistants/asst_gone$", times=1)
        return await beta.assistants.retrieve("asst_gone")

    return [
        lambda: beta.threads.create(),
        lambda: beta.threads.messages.create("thread_1", role="user", content="Hello?"),
        lambda: beta.threads.messages.list("thread_1"),
        paged,
        lambda: beta.threads.runs.create_and_poll(thread_id="thread_1", assistant_id="asst_1"),
        lambda: c.responses.create(model="gpt-4o", input="Hello?"),
        streamed,
        failing,
    ]


_IDS = re.compile(r"\b(asst|thread|msg|run|step|call|req|resp|conv|fco|fc)_[A-Za-z0-9]+|\b1[6-9]\d{8}\b")


def masked(value: Any) -> Any:
    """An outcome with the simulator's random ids and clock times replaced, so runs compare."""
    return json.loads(_IDS.sub(lambda m: f"{m.group(1) or 'time'}_*", json.dumps(value, default=repr)))


def agents_calls(sim: Any) -> list[Callable[[], Any]]:
    """azure-ai-agents' AgentsClient against the simulator: create, read, list, run, fail."""
    from azure_clients import agents_client

    client = agents_client(sim)
    state: dict[str, Any] = {}

    def keep(key: str, value: Any) -> Any:
        state[key] = value
        return value

    def until_done() -> Any:
        run = client.runs.get(state["thread"].id, state["run"].id)
        while run.status in ("queued", "in_progress"):
            run = client.runs.get(state["thread"].id, run.id)
        return run

    return [
        lambda: keep("agent", client.create_agent(model="gpt-4o", name="helper", metadata={"k": "v"})),
        lambda: client.get_agent(state["agent"].id),
        lambda: list(client.list_agents(limit=3)),
        lambda: keep("thread", client.threads.create(metadata={"k": "v"})),
        lambda: client.threads.get(state["thread"].id),
        lambda: client.messages.create(state["thread"].id, role="user", content="Hello?"),
        lambda: list(client.messages.list(state["thread"].id)),
        lambda: keep("run", client.runs.create(state["thread"].id, agent_id=state["agent"].id)),
        until_done,
        lambda: list(client.run_steps.list(state["thread"].id, state["run"].id)),
        lambda: client.runs.create_and_process(
            state["thread"].id, agent_id=state["agent"].id, polling_interval=0
        ),
        lambda: client.threads.get("thread_missing"),
        lambda: client.threads.delete(state["thread"].id),
        lambda: client.delete_agent(state["agent"].id),
    ]


def run_agents_scenario(sim: Any) -> list[Outcome]:
    return [masked(outcome(call)) for call in agents_calls(sim)]


def projects_calls(sim: Any) -> list[Callable[[], Any]]:
    """azure-ai-projects 2.x (Foundry agents v2): versions, reads, an agent_reference response, fail."""
    from azure.ai.projects import AIProjectClient
    from azure.ai.projects.models import PromptAgentDefinition

    from azure_clients import AllowHttpBearer, StaticToken

    project = AIProjectClient(
        sim.agents_endpoint("guarantees"), StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    )
    definition = PromptAgentDefinition(model="gpt-4o", instructions="Be brief.")
    reference = {"agent_reference": {"name": "helper", "version": "1", "type": "agent_reference"}}
    openai = project.get_openai_client()
    return [
        lambda: project.agents.create_version("helper", definition=definition, metadata={"k": "v"}),
        lambda: project.agents.get("helper"),
        lambda: project.agents.get_version("helper", "1"),
        lambda: list(project.agents.list()),
        lambda: list(project.agents.list_versions("helper")),
        lambda: openai.responses.create(input="Hello?", extra_body=reference),
        lambda: project.agents.get("missing"),
        lambda: project.agents.delete_version("helper", "1"),
        lambda: project.agents.delete("helper"),
    ]


def run_projects_scenario(sim: Any) -> list[Outcome]:
    return [masked(outcome(call)) for call in projects_calls(sim)]


def run_scenario(api: MockApi | None = None) -> list[Outcome]:
    """What the application saw, call by call (sync calls, then async ones)."""
    api = api or MockApi()
    seen = [outcome(call) for call in sync_calls(api)]

    async def run_async() -> list[Outcome]:
        return [await async_outcome(call) for call in async_calls(api)]

    return seen + asyncio.run(run_async())


def _agents_run(result: Any) -> Any:
    """An Agents SDK run as the app reads it: the answer, who gave it, what happened on the way."""
    return (
        result.final_output,
        result.last_agent.name,
        [type(item).__name__ for item in result.new_items],
        [g.output.tripwire_triggered for g in result.input_guardrail_results],
    )


def openai_agents_calls(sim: Any) -> list[Callable[[], Any]]:
    """openai-agents' Runner against the simulator: a function tool, a handoff, guardrails that pass
    and trip, a streamed run."""
    import openai
    from agents import (
        Agent,
        GuardrailFunctionOutput,
        OpenAIResponsesModel,
        RunConfig,
        Runner,
        ToolGuardrailFunctionOutput,
        function_tool,
        input_guardrail,
        output_guardrail,
        tool_input_guardrail,
    )

    config = RunConfig(tracing_disabled=True)

    @function_tool
    def get_weather(city: str) -> str:
        """Tell the weather of a city."""
        return f"sunny in {city}"

    @tool_input_guardrail
    def halt(data: Any) -> ToolGuardrailFunctionOutput:
        return ToolGuardrailFunctionOutput.raise_exception(output_info="halted")

    @function_tool(tool_input_guardrails=[halt])
    def get_secret(city: str) -> str:
        """Tell a secret about a city."""
        return f"no secret in {city}"

    @input_guardrail
    def no_secrets(context: Any, agent: Any, input: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info="checked", tripwire_triggered="secret" in str(input))

    @output_guardrail
    def polite(context: Any, agent: Any, output: Any) -> GuardrailFunctionOutput:
        return GuardrailFunctionOutput(output_info="checked", tripwire_triggered=False)

    def agents() -> dict[str, Any]:
        """Fresh per call: an async client stays bound to the event loop of its first request."""
        client = openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        model = OpenAIResponsesModel(model="gpt-4o", openai_client=client)
        specialist = Agent(name="specialist", instructions="Be exact.", model=model)
        return {
            "helper": Agent(name="helper", instructions="Be brief.", model=model, tools=[get_weather]),
            "halted": Agent(name="halted", instructions="Be brief.", model=model, tools=[get_secret]),
            "triage": Agent(name="triage", instructions="Route.", model=model, handoffs=[specialist]),
            "guarded": Agent(
                name="guarded",
                instructions="Be kind.",
                model=model,
                input_guardrails=[no_secrets],
                output_guardrails=[polite],
            ),
        }

    def run(agent: str, text: str, outcome: str | None = None) -> Callable[[], Any]:
        def call() -> Any:
            if outcome:
                sim.next_run_outcome(outcome)
            return _agents_run(Runner.run_sync(agents()[agent], text, run_config=config))

        return call

    def streamed() -> Any:
        async def consume() -> Any:
            result = Runner.run_streamed(agents()["helper"], "Weather?", run_config=config)
            events = [type(event).__name__ async for event in result.stream_events()]
            await asyncio.sleep(0)  # the loop task's done callbacks run on the next turn
            return [events, _agents_run(result)]

        sim.next_run_outcome("requires_action")
        return asyncio.run(consume())

    return [
        run("helper", "Weather in Paris?", "requires_action"),  # the model calls get_weather, then answers
        run("triage", "Route me.", "requires_action"),  # the only tool is the handoff
        run("halted", "A secret?", "requires_action"),  # ToolInputGuardrailTripwireTriggered, in the tool
        run("guarded", "Hello?"),
        run("guarded", "a secret"),  # InputGuardrailTripwireTriggered
        streamed,
    ]


def run_openai_agents_scenario(sim: Any) -> list[Outcome]:
    return [masked(outcome(call)) for call in openai_agents_calls(sim)]


def agent_framework_calls(sim: Any) -> list[Callable[[], Any]]:
    """Agent Framework's Agent over OpenAIChatClient against the simulator: a run calling a function
    tool, the same streamed."""
    from agent_framework import Agent, tool
    from agent_framework.openai import OpenAIChatClient
    from openai import AsyncOpenAI

    @tool
    def get_weather(city: str) -> str:
        """Tell the weather of a city."""
        return f"sunny in {city}"

    def agent() -> Any:
        """Fresh per call: an async client stays bound to the event loop of its first request."""
        client = AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=0)
        return Agent(
            OpenAIChatClient(async_client=client, model="gpt-4o"), name="helper", tools=[get_weather]
        )

    def ran() -> Any:
        sim.next_run_outcome("requires_action")  # the model calls get_weather, then answers
        return asyncio.run(agent().run("Weather in Paris?")).text

    def streamed() -> Any:
        async def consume() -> Any:
            return "".join([update.text async for update in agent().run("Weather?", stream=True)])

        sim.next_run_outcome("requires_action")
        return asyncio.run(consume())

    return [ran, streamed]


def run_agent_framework_scenario(sim: Any) -> list[Outcome]:
    return [masked(outcome(call)) for call in agent_framework_calls(sim)]

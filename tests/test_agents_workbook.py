"""Microsoft's Agents view lights up on our data: its panels' keys, run on real exported rows.

A realistic scenario runs once through the real Azure Monitor exporter into the loopback ingestion
endpoint: two Assistants runs on Azure OpenAI (one polled by the app with a tool call, one failing in
``create_and_poll``), a Foundry agent response (``agent_reference`` through the project's openai
client, then fetched again), chats (one alone, two inside an in-process agent turn, one of them
blocked by the content filter). The envelopes become Application Insights ``dependencies`` and
``traces`` rows; the queries in tests/data/agents_workbook key on what each panel of Application
Insights' "Agents (preview)" workbook keys on (read from Microsoft's file, not copied: see the README
there) and run on DuckDB with duckdb-kql. Each panel must return the scenario's rows, and the token
panels must sum to the usage the app was told.

It runs with ``semconv="gen_ai_latest_experimental/dup"``: agent executions are ``invoke_agent`` in
the latest names only (the default keeps the names existing dashboards read, docs/attributes.md
section 8), and ``/dup`` is the mode a deployment moving to the Agents view runs in.

The in-process agent turn is the app's own ``invoke_agent`` INTERNAL span around its chat calls, as
agent frameworks (Agent Framework, the OpenAI Agents SDK's OTel bridges) make one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb_kql
import openai
import pytest
from azure.ai.projects import AIProjectClient
from azure.ai.projects.models import PromptAgentDefinition
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

import assistant_telemetry
from assistant_telemetry import guard
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator

from azure_clients import AllowHttpBearer, StaticToken
from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, azure_trace_exporter

QUERIES = Path(__file__).parent / "data" / "agents_workbook"
PRELUDES = {"agent_costs": ("cost_overview", "cost_by_model", "cost_per_trace")}
PRELUDES["token_attribution"] = ("tokens_by_model", "input_output_tokens", "agents")
ALL = "__ALL__"
DEPLOYMENT, MODEL = "gpt-4o-prod", "gpt-4o-2024-11-20"
PLANNER, BILLING, FOUNDRY_AGENT, CONCIERGE = "Travel Planner", "Billing Helper", "support-bot", "Concierge"
PROJECT = "workbook-project"  # its own project: its agents are not the other tests'
ARM_ID = f"/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.CognitiveServices/accounts/res-1/projects/{PROJECT}"
CANARY = "CANARY-wb-5d1e"
TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
    {"type": "function", "function": {"name": "lookup_order", "parameters": {"type": "object"}}},
]


@dataclass
class Truth:
    """What the app itself was told: ids, and the usage the service reported (the true total)."""

    input_tokens: int = 0
    output_tokens: int = 0
    by_model: dict[str, int] = field(default_factory=dict)
    ids: dict[str, Any] = field(default_factory=dict)
    # model -> [input, output, cached input] tokens (what a price table weighs)
    usage: dict[str, list[int]] = field(default_factory=dict)

    def add(self, model: str, input_tokens: int | None, output_tokens: int | None, cached: int = 0) -> None:
        self.input_tokens += input_tokens or 0
        self.output_tokens += output_tokens or 0
        self.by_model[model] = self.by_model.get(model, 0) + (input_tokens or 0) + (output_tokens or 0)
        counts = self.usage.setdefault(model, [0, 0, 0])
        for i, tokens in enumerate((input_tokens, output_tokens, cached)):
            counts[i] += tokens or 0


@dataclass
class Exported:
    truth: Truth
    dependencies: list[dict[str, Any]]
    traces: list[dict[str, Any]]
    leaked: bool

    def run(self, panel: str, agent: str = ALL) -> list[dict[str, Any]]:
        """The panel's query on the exported rows, ``{SelectedAgent}`` set as the picker would."""
        text = (QUERIES / f"{panel}.kql").read_text(encoding="utf-8")
        prelude = next((name for name, panels in PRELUDES.items() if panel in panels), None)
        if prelude:
            text = (QUERIES / f"{prelude}.kql").read_text(encoding="utf-8") + "\n" + text
        text = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//"))
        relation = duckdb_kql.query(_database(self), text.replace("{SelectedAgent}", agent))
        return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def _database(exported: Exported) -> Any:
    con = duckdb_kql.connect()
    con.sql(
        "CREATE TABLE dependencies (timestamp TIMESTAMP, id VARCHAR, operation_Id VARCHAR, "
        "operation_ParentId VARCHAR, name VARCHAR, type VARCHAR, target VARCHAR, duration DOUBLE, "
        "success BOOLEAN, resultCode VARCHAR, customDimensions JSON, itemCount INTEGER)"
    )
    con.sql(
        "CREATE TABLE traces (timestamp TIMESTAMP, operation_Id VARCHAR, operation_ParentId VARCHAR, "
        "message VARCHAR, customDimensions JSON, itemCount INTEGER)"
    )
    columns = ("timestamp", "id", "operation_Id", "operation_ParentId", "name", "type", "target")
    rows = [
        [
            *(row[c] for c in columns),
            *(row["duration"], row["success"], row["resultCode"]),
            *(json.dumps(row["customDimensions"]), row["itemCount"]),
        ]
        for row in exported.dependencies
    ]
    con.executemany(f"INSERT INTO dependencies VALUES ({', '.join('?' * 12)})", rows)
    traces = [
        [
            *(r["timestamp"], r["operation_Id"], r["operation_ParentId"], r["message"]),
            *(json.dumps(r["customDimensions"]), r["itemCount"]),
        ]
        for r in exported.traces
    ]
    if traces:
        con.executemany(f"INSERT INTO traces VALUES ({', '.join('?' * 6)})", traces)
    return con


def _rows(receiver: AzureIngestionReceiver) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """App Insights rows; itemCount from the envelope's sampleRate as ingestion computes it."""
    counts = {
        e["data"]["baseData"].get("id"): round(100 / float(e.get("sampleRate") or 100))
        for e in receiver.envelopes
        if e.get("data", {}).get("baseType") == "RemoteDependencyData"
    }
    dependencies = [row | {"itemCount": counts.get(row["id"], 1)} for row in receiver.dependencies()]
    traces = [row | {"itemCount": 1} for row in receiver.traces()]
    for row in (*dependencies, *traces):
        row["timestamp"] = row["timestamp"].replace("Z", "+00:00")[:26]
    return dependencies, traces


# --- the scenario ------------------------------------------------------------------------------------


def _poll(client: openai.AzureOpenAI, run: Any, until: set[str]) -> Any:
    for _ in range(20):
        if run.status in until:
            return run
        run = client.beta.threads.runs.retrieve(run.id, thread_id=run.thread_id)
    raise AssertionError(f"run stuck in {run.status}")


def _assistants_runs(sim: Simulator, azure: openai.AzureOpenAI, truth: Truth) -> None:
    planner = azure.beta.assistants.create(model=DEPLOYMENT, name=PLANNER, tools=TOOLS)  # type: ignore[arg-type]
    billing = azure.beta.assistants.create(model=DEPLOYMENT, name=BILLING)
    thread = azure.beta.threads.create(messages=[{"role": "user", "content": f"{CANARY} a trip"}])
    # 1: the app polls by hand, runs the two requested tools, polls again, reads the steps and the
    # finished run once more (reads of a finished run must not count its tokens again).
    sim.next_run_outcome("requires_action", "completed")
    run = azure.beta.threads.runs.create(thread_id=thread.id, assistant_id=planner.id)
    run = _poll(azure, run, {"requires_action"})
    calls = run.required_action.submit_tool_outputs.tool_calls  # type: ignore[union-attr]
    outputs = [{"tool_call_id": call.id, "output": f"{CANARY} sunny"} for call in calls]
    run = azure.beta.threads.runs.submit_tool_outputs(run.id, thread_id=thread.id, tool_outputs=outputs)
    run = _poll(azure, run, {"completed"})
    list(azure.beta.threads.runs.steps.list(run.id, thread_id=thread.id))
    azure.beta.threads.runs.retrieve(run.id, thread_id=thread.id)
    azure.beta.threads.messages.list(thread_id=thread.id)
    truth.add(DEPLOYMENT, run.usage.prompt_tokens, run.usage.completion_tokens)  # type: ignore[union-attr]
    truth.ids.update(planner=planner.id, run=run.id, tools=sorted(c.function.name for c in calls))
    # 2: a run that fails, driven by the helper.
    sim.next_run_outcome("failed")
    other = azure.beta.threads.create(messages=[{"role": "user", "content": f"{CANARY} my bill"}])
    failed = azure.beta.threads.runs.create_and_poll(thread_id=other.id, assistant_id=billing.id)
    assert failed.status == "failed"
    usage = failed.usage
    truth.add(DEPLOYMENT, usage and usage.prompt_tokens, usage and usage.completion_tokens)
    truth.ids.update(billing=billing.id, failed_run=failed.id)


def _foundry_response(sim: Simulator, truth: Truth) -> None:
    project = AIProjectClient(
        sim.agents_endpoint(PROJECT), StaticToken(), per_call_policies=[AllowHttpBearer()], retry_total=0
    )
    with project:
        version = project.agents.create_version(
            FOUNDRY_AGENT, definition=PromptAgentDefinition(model="gpt-4o", instructions=f"{CANARY} be kind")
        )
        client = project.get_openai_client()
        conversation = client.conversations.create()
        reference = {"name": FOUNDRY_AGENT, "version": version.version, "type": "agent_reference"}
        response = client.responses.create(
            input=f"{CANARY} help", conversation=conversation.id, extra_body={"agent_reference": reference}
        )
        client.responses.retrieve(response.id)  # fetched again: no second count of its tokens
    assert response.usage is not None
    cached = response.usage.input_tokens_details.cached_tokens
    truth.add(response.model, response.usage.input_tokens, response.usage.output_tokens, cached)
    truth.ids.update(response=response.id, foundry_agent=version.id, foundry_model=response.model)


def _chats(sim: Simulator, azure: openai.AzureOpenAI, tracer_provider: TracerProvider, truth: Truth) -> None:
    messages: Any = [{"role": "user", "content": f"{CANARY} hello"}]
    alone = azure.chat.completions.create(model=DEPLOYMENT, messages=messages)
    assert alone.usage is not None
    truth.add(DEPLOYMENT, alone.usage.prompt_tokens, alone.usage.completion_tokens)
    truth.ids["agentless_tokens"] = alone.usage.prompt_tokens + alone.usage.completion_tokens
    tracer = tracer_provider.get_tracer("concierge-app")
    attributes = {
        sc.OPERATION_NAME: "invoke_agent",
        sc.AGENT_NAME: CONCIERGE,
        sc.AGENT_ID: "concierge",
        sc.PROVIDER_NAME: "microsoft.agent_framework",
    }
    sim.next_content_filter("annotated", "blocked_prompt")
    with tracer.start_as_current_span(
        f"invoke_agent {CONCIERGE}", kind=SpanKind.INTERNAL, attributes=attributes
    ):
        inside = azure.chat.completions.create(model=DEPLOYMENT, messages=messages)
        assert inside.usage is not None
        truth.add(DEPLOYMENT, inside.usage.prompt_tokens, inside.usage.completion_tokens)
        truth.ids["concierge_tokens"] = inside.usage.prompt_tokens + inside.usage.completion_tokens
        truth.ids["concierge_usage"] = (inside.usage.prompt_tokens, inside.usage.completion_tokens)
        with pytest.raises(openai.BadRequestError):
            azure.chat.completions.create(model=DEPLOYMENT, messages=messages)


@contextmanager
def export_scenario(sim: Simulator, **options: Any) -> Iterator[Exported]:
    """The scenario through the real Azure Monitor exporter; ``options`` go to ``instrument()``."""
    saved = {name: os.environ.get(name) for name in (*AZURE_TEST_ENV, sc.FOUNDRY_PROJECT_ARM_ID_ENV)}
    os.environ.update({**AZURE_TEST_ENV, sc.FOUNDRY_PROJECT_ARM_ID_ENV: ARM_ID})
    guard.STRICT, recorded = True, guard.recorded
    recorded.clear()
    truth = Truth()
    try:
        with AzureIngestionReceiver() as receiver:
            tracer_provider = TracerProvider()
            exporter = azure_trace_exporter(receiver, tracer_provider=tracer_provider)
            tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
            # The Agents view keys on invoke_agent: the latest names (dup keeps ours beside them).
            assistant_telemetry.instrument(tracer_provider=tracer_provider, semconv=sc.MODE_DUP, **options)
            try:
                sim.deploy(DEPLOYMENT, MODEL)
                azure = openai.AzureOpenAI(
                    azure_endpoint=sim.azure_endpoint, api_key="k", api_version="2024-10-21", max_retries=0
                )
                _assistants_runs(sim, azure, truth)
                _foundry_response(sim, truth)
                _chats(sim, azure, tracer_provider, truth)
            finally:
                assistant_telemetry.uninstrument()
            assert tracer_provider.force_flush(10_000)
            dependencies, traces = _rows(receiver)
            yield Exported(truth, dependencies, traces, receiver.body_contains(CANARY))
            tracer_provider.shutdown()
    finally:
        guard.STRICT = False
        errors, recorded[:] = list(recorded), []
        sim.clear_run_outcomes()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        assert not errors, f"internal instrumentation errors: {errors!r}"


@pytest.fixture(scope="module")
def exported(sim: Simulator) -> Iterator[Exported]:
    with export_scenario(sim) as result:
        yield result


def _by(rows: list[dict[str, Any]], key: str) -> dict[Any, dict[str, Any]]:
    return {row[key]: row for row in rows}


# --- the panels ---------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_scenario_exported_without_content(exported: Exported) -> None:
    assert exported.dependencies and not exported.leaked
    checks = exported.run("data_checks")[0]
    assert checks["GenAIRows"] >= 15  # the dashboard's data check finds GenAI rows
    # Every GenAI row carries gen_ai.system beside gen_ai.provider.name: the exporter types it from it.
    genai = [r for r in exported.dependencies if sc.OPERATION_NAME in r["customDimensions"]]
    ours = [r for r in genai if r["name"] != f"invoke_agent {CONCIERGE}"]
    for row in ours:
        dims = row["customDimensions"]
        assert dims.get(sc.SYSTEM) and dims.get(sc.PROVIDER_NAME), row["name"]
        assert row["type"] == f"GenAI | {dims[sc.SYSTEM]}"


@pytest.mark.timeout(120)
def test_agent_picker_lists_every_agent(exported: Exported) -> None:
    names = [row["AgentName"] for row in exported.run("agent_picker")]
    assert names == sorted([BILLING, CONCIERGE, PLANNER, FOUNDRY_AGENT])


@pytest.mark.timeout(120)
def test_agent_runs_one_invocation_per_execution(exported: Exported) -> None:
    runs = {row["AgentName"]: row["Invocations"] for row in exported.run("agent_runs")}
    assert runs == {PLANNER: 1, BILLING: 1, FOUNDRY_AGENT: 1, CONCIERGE: 1}
    assert {row["AgentName"] for row in exported.run("agent_runs", PLANNER)} == {PLANNER}


@pytest.mark.timeout(120)
def test_invoke_agent_rows_carry_the_agent_and_the_project(exported: Exported) -> None:
    agents = [
        r["customDimensions"]
        for r in exported.dependencies
        if r["customDimensions"].get(sc.OPERATION_NAME) == "invoke_agent"
    ]
    by_name = {dims[sc.AGENT_NAME]: dims for dims in agents}
    ids = exported.truth.ids
    assert by_name[PLANNER][sc.AGENT_ID] == ids["planner"]
    assert by_name[BILLING][sc.AGENT_ID] == ids["billing"]
    foundry = by_name[FOUNDRY_AGENT]
    assert foundry[sc.AGENT_ID] == ids["foundry_agent"]
    assert foundry[sc.FOUNDRY_PROJECT_ID] == ARM_ID  # the Foundry portal's filter
    assert foundry[sc.PROVIDER_NAME] == sc.PROVIDER_MICROSOFT_FOUNDRY


@pytest.mark.timeout(120)
def test_every_call_to_the_project_endpoint_carries_the_project(exported: Exported) -> None:
    project_rows = [
        r for r in exported.dependencies if r["customDimensions"].get(sc.FOUNDRY_PROJECT_NAME) == PROJECT
    ]
    assert len(project_rows) >= 4  # create_version, conversation, response, fetch
    for row in project_rows:
        dims = row["customDimensions"]
        assert dims[sc.FOUNDRY_PROJECT_ID] == ARM_ID, row["name"]
        assert dims[sc.PROVIDER_NAME] == sc.PROVIDER_MICROSOFT_FOUNDRY and dims[sc.SYSTEM]


@pytest.mark.timeout(120)
def test_errors_panel_sees_the_failed_run_and_the_blocked_chat(exported: Exported) -> None:
    errors = {row["ErrorType"]: row["Errors"] for row in exported.run("errors")}
    # error.type never survives the exporter: the panel's fallback class is what it shows
    assert errors == {"invoke_agent: Other": 1, "chat: Other": 1}
    assert {row["ErrorType"] for row in exported.run("errors", CONCIERGE)} == {"chat: Other"}
    assert {row["ErrorType"] for row in exported.run("errors", BILLING)} == {"invoke_agent: Other"}
    assert exported.run("errors", PLANNER) == []


@pytest.mark.timeout(120)
def test_failed_rows_keep_a_failure_class_that_survives(exported: Exported) -> None:
    failed = [r for r in exported.dependencies if r["success"] is False]
    assert failed and all(sc.ERROR_TYPE not in r["customDimensions"] for r in failed)
    classes = {
        r["customDimensions"].get(sc.OPERATION_NAME): r["customDimensions"].get(sc.FAILURE_CLASS)
        for r in failed
    }
    assert classes.get("chat") == "content_filter"
    assert classes.get("invoke_agent"), "the failed run's row has no failure class"
    # resultCode: the exporter writes "0" for every non-HTTP dependency; no panel reads it
    assert {r["resultCode"] for r in failed} == {"0"}


@pytest.mark.timeout(120)
def test_tool_calls_panel_lists_the_runs_tools(exported: Exported) -> None:
    tools = _by(exported.run("tool_calls"), "Tool")
    assert sorted(tools) == exported.truth.ids["tools"]
    assert all(row["Calls"] == 1 and row["Errors"] == 0 for row in tools.values())
    # with the picker on the agent, the tool rows must hang under its invoke_agent row
    assert sorted(_by(exported.run("tool_calls", PLANNER), "Tool")) == exported.truth.ids["tools"]


@pytest.mark.timeout(120)
def test_models_panel_counts_calls_and_errors_per_model(exported: Exported) -> None:
    models = _by(exported.run("models"), "Model")
    assert DEPLOYMENT in models
    assert models[DEPLOYMENT]["Errors"] >= 1  # the blocked chat (and the failed run, once invoke_agent)
    concierge = _by(exported.run("models", CONCIERGE), "Model")
    assert concierge[DEPLOYMENT]["Calls"] == 2 and concierge[DEPLOYMENT]["Errors"] == 1


@pytest.mark.timeout(120)
def test_token_panels_sum_to_the_true_usage(exported: Exported) -> None:
    truth = exported.truth
    totals = exported.run("input_output_tokens")[0]
    assert (totals["InputTokens"], totals["OutputTokens"]) == (truth.input_tokens, truth.output_tokens)
    by_model = {row["Model"]: row["TokenConsumption"] for row in exported.run("tokens_by_model")}
    # Azure requests name the deployment; the Foundry response names no model in its request
    expected = dict(truth.by_model)
    foundry_tokens = expected.pop(truth.ids["foundry_model"], 0)
    assert (
        by_model.pop("", 0) + by_model.pop(None, 0) + by_model.pop(truth.ids["foundry_model"], 0)
        == foundry_tokens
    )
    assert by_model == expected
    concierge = exported.run("input_output_tokens", CONCIERGE)[0]
    assert concierge["InputTokens"] + concierge["OutputTokens"] == truth.ids["concierge_tokens"]


@pytest.mark.timeout(120)
def test_agents_list_platform_errors_and_tokens(exported: Exported) -> None:
    agents = _by(exported.run("agents"), "Name")
    assert set(agents) == {PLANNER, BILLING, FOUNDRY_AGENT, CONCIERGE}
    assert agents[FOUNDRY_AGENT]["Platform"] == "Microsoft Foundry"
    assert (
        agents[BILLING]["Errors"] == 1 and agents[CONCIERGE]["Errors"] == 1 and agents[PLANNER]["Errors"] == 0
    )
    assert agents[CONCIERGE]["Tokens"] == exported.truth.ids["concierge_tokens"]
    assert agents[PLANNER]["Tokens"] > 0 and agents[FOUNDRY_AGENT]["Tokens"] > 0
    # every token is some agent's, but the chat made outside any agent's span
    everything = sum(exported.truth.by_model.values())
    assert (
        sum(row["Tokens"] for row in agents.values()) == everything - exported.truth.ids["agentless_tokens"]
    )


@pytest.mark.timeout(120)
def test_cost_panels_weigh_the_chats_under_an_agent(exported: Exported) -> None:
    tokens = exported.truth.ids["concierge_tokens"]
    overview = _by(exported.run("cost_overview"), "AgentName")
    # Remote executions carry their own usage on their invoke_agent row (0 hops): the cost queries
    # look 1+ hops up, so only chats made inside an agent span weigh here.
    assert set(overview) == {CONCIERGE} and overview[CONCIERGE]["TotalTokens"] == tokens
    assert _by(exported.run("cost_by_model"), "Model")[DEPLOYMENT]["Tokens"] == tokens
    traces = exported.run("cost_per_trace", CONCIERGE)
    assert len(traces) == 1 and traces[0]["InputTokens"] + traces[0]["OutputTokens"] == tokens
    # No microsoft.gen_ai.cost.* is emitted (no prices): the workbook's cost tab data check says so.
    assert exported.run("data_checks")[0]["PricedRows"] == 0
    dims = [r["customDimensions"] for r in exported.dependencies]
    assert not [d for d in dims if sc.COST_INPUT in d or sc.COST_OUTPUT in d]


@pytest.mark.timeout(120)
def test_guardrail_results_arrive_as_traces_rows(exported: Exported) -> None:
    results = [r for r in exported.traces if r["message"] == sc.EVENT_GUARDRAIL_RESULT]
    assert results
    # chat rows by operation: their names are "chat {model}" in the latest names
    chats = [r for r in exported.dependencies if r["customDimensions"].get(sc.OPERATION_NAME) == "chat"]
    chat_ids = {r["id"] for r in chats}
    for row in results:
        dims = row["customDimensions"]
        assert row["operation_ParentId"] in chat_ids
        assert dims[sc.GUARDRAIL_SOURCE] in ("prompt", "completion")
        assert dims[sc.GUARDRAIL_COMPONENT_NAME] == sc.GUARDRAIL_COMPONENT_AZURE_CONTENT_SAFETY


# --- the queries themselves, on rows whose answers are known --------------------------------------------


def _row(span_id: str, parent: str | None, ok: bool = True, **dims: Any) -> dict[str, Any]:
    custom = {key.replace("__", "."): value for key, value in dims.items()}
    return {
        "timestamp": "2026-11-20T10:00:00.000000",
        "id": span_id,
        "operation_Id": "op-" + (parent or span_id)[:1],
        "operation_ParentId": parent,
        "name": span_id,
        "type": "GenAI | test",
        "target": "test",
        "duration": 10.0,
        "success": ok,
        "resultCode": "0",
        "customDimensions": {k: str(v) for k, v in custom.items()},
        "itemCount": 1,
    }


def test_queries_answer_known_rows() -> None:
    """An agent with a tool and a chat below it (its own total must not count twice), a failed agent
    with only its own usage, a chat outside any agent: what each panel must say is known."""
    op, name, model = "gen_ai__operation__name", "gen_ai__agent__name", "gen_ai__request__model"
    tin, tout = "gen_ai__usage__input_tokens", "gen_ai__usage__output_tokens"
    rows = [
        _row("a", None, **{op: "invoke_agent", name: "A", model: "m1", tin: 10, tout: 5}),
        _row("a-tool", "a", **{op: "execute_tool", "gen_ai__tool__name": "t1"}),
        _row("a-chat", "a", **{op: "chat", model: "m1", tin: 7, tout: 3}),
        _row("b", None, ok=False, **{op: "invoke_agent", name: "B", model: "m2", tin: 4, tout: 1}),
        _row("c", None, **{op: "chat", model: "m1", tin: 2, tout: 2}),
    ]
    known = Exported(Truth(), rows, [], leaked=False)
    assert [r["AgentName"] for r in known.run("agent_picker")] == ["A", "B"]
    assert {r["AgentName"]: r["Invocations"] for r in known.run("agent_runs")} == {"A": 1, "B": 1}
    assert {r["ErrorType"]: r["Errors"] for r in known.run("errors")} == {"invoke_agent: Other": 1}
    assert [r["Tool"] for r in known.run("tool_calls", "A")] == ["t1"] and known.run("tool_calls", "B") == []
    assert _by(known.run("models"), "Model")["m1"]["Calls"] == 3
    totals = known.run("input_output_tokens")[0]
    assert (totals["InputTokens"], totals["OutputTokens"]) == (7 + 4 + 2, 3 + 1 + 2)
    assert {r["Model"]: r["TokenConsumption"] for r in known.run("tokens_by_model")} == {"m1": 14, "m2": 5}
    agents = _by(known.run("agents"), "Name")
    assert (agents["A"]["Tokens"], agents["B"]["Tokens"], agents["B"]["Errors"]) == (10, 5, 1)
    overview = _by(known.run("cost_overview"), "AgentName")
    assert set(overview) == {"A"} and overview["A"]["TotalTokens"] == 10  # the chat below A, not A's own
    assert not overview["A"]["EstimatedCost"]  # no prices on these rows

"""One conversation through the Assistants API and through Responses + Conversations: same answers.

Each app asks the same question three times (the answer completes, fails, is cut by the content
filter). The normalized fields a dashboard reads must be present on both surfaces and mean the
same; docs/migration.md's KQL runs on the rows the real Azure Monitor exporter sent (DuckDB with
duckdb-kql) and must give each surface the same answer; its PromQL must parse (promtool) and name
only metrics and labels both surfaces' metric points carry.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from assistant_telemetry import semconv as sc

from conftest import Telemetry
from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, azure_trace_exporter
from scenarios import resolver, run

duckdb_kql = pytest.importorskip("duckdb_kql", reason="duckdb-kql needs Python 3.11+")

MIGRATION = Path(__file__).resolve().parents[1] / "docs" / "migration.md"
QUESTION = "Will it rain in Stockholm tomorrow?"
PROMPT_ID = "pmpt_weather_helper"
OUTCOMES = ("completed", "failed", "content_filter")
RUN, RESPONSE = "thread.run", "response"


@dataclass
class Story:
    """What the app itself knows after one turn: the ids a dashboard must find again."""

    kind: str
    outcome: str
    conversation: str
    execution: str
    status: str
    agent: str
    produced: list[str]


async def assistants_app(client: Any, sim: Any, outcome: str) -> Story:
    resolve, beta = resolver(client), client.beta
    assistant = await resolve(beta.assistants.create(model="gpt-4o", name="weather-helper"))
    thread = await resolve(beta.threads.create())
    await resolve(beta.threads.messages.create(thread.id, role="user", content=QUESTION))
    sim.next_run_outcome(outcome)
    done = await resolve(beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id))
    page = await resolve(beta.threads.messages.list(thread.id))
    produced = [m.id for m in page.data if m.role == "assistant"]
    return Story(RUN, outcome, thread.id, done.id, done.status, assistant.id, produced)


async def responses_app(client: Any, sim: Any, outcome: str) -> Story:
    resolve = resolver(client)
    conversation = await resolve(client.conversations.create())
    sim.next_run_outcome(outcome)
    done = await resolve(
        client.responses.create(
            model="gpt-4o",
            input=QUESTION,
            conversation=conversation.id,
            prompt={"id": PROMPT_ID, "version": "1"},
        )
    )
    page = await resolve(client.conversations.items.list(conversation.id))
    produced = [i.id for i in page.data if i.type == "message" and i.role == "assistant"]
    return Story(RESPONSE, outcome, conversation.id, done.id, done.status, PROMPT_ID, produced)


@pytest.fixture
def azure(monkeypatch: pytest.MonkeyPatch) -> Iterator[AzureIngestionReceiver]:
    for key, value in AZURE_TEST_ENV.items():
        monkeypatch.setenv(key, value)
    with AzureIngestionReceiver() as receiver:
        yield receiver


@pytest.fixture(params=["sync", "async"])
def played(
    request: pytest.FixtureRequest,
    telemetry: Telemetry,
    sim: Any,
    client: Any,
    async_client: Any,
    azure: AzureIngestionReceiver,
) -> list[Story]:
    """Both apps through every outcome, exported to memory and through the real Azure Monitor exporter."""
    provider = telemetry.tracer_provider
    provider.add_span_processor(SimpleSpanProcessor(azure_trace_exporter(azure, tracer_provider=provider)))
    either = client if request.param == "sync" else async_client
    sim.run_timing(queue_s=3, execution_s=7)

    async def both_apps() -> list[Story]:  # one event loop: the async client's connections live in it
        stories = []
        for outcome in OUTCOMES:
            stories.append(await assistants_app(either, sim, outcome))
            stories.append(await responses_app(either, sim, outcome))
        return stories

    return run(both_apps())


# --- the normalized fields, read from the spans -------------------------------------------------


def normalized(telemetry: Telemetry, story: Story) -> dict[str, Any]:
    """The dashboard's view of one turn; ids are replaced by "the app's own id?" checks."""
    execution = [s.attributes for s in telemetry.spans if s.attributes.get(sc.RESPONSE_ID) == story.execution]
    final = [a for a in execution if a.get(sc.EXECUTION_STATUS) == story.status]
    assert final, f"no span shows {story.kind} {story.execution} as {story.status}"
    last = final[-1]
    measured = [a for a in execution if sc.EXECUTION_TOTAL_TIME in a]
    produced = [
        dict(e.attributes)
        for s in telemetry.spans
        for e in s.events
        if e.name == sc.EVENT_MESSAGE and e.attributes.get(sc.RESPONSE_ID) == story.execution
    ]
    return {
        "conversation": {a.get(sc.CONVERSATION_ID) for a in final} == {story.conversation},
        "execution": last[sc.RESPONSE_ID] == story.execution,
        "kind": last[sc.EXECUTION_KIND] == story.kind,
        "status": last[sc.EXECUTION_STATUS],
        "error_code": last.get(sc.EXECUTION_ERROR_CODE),
        "incomplete_reason": last.get(sc.EXECUTION_INCOMPLETE_REASON),
        "filtered": last.get(sc.CONTENT_FILTER_OUTCOME),
        "agent": last.get(sc.AGENT_ID) == story.agent,
        "total_time_s": [
            a[sc.EXECUTION_TOTAL_TIME] for a in measured if a[sc.EXECUTION_STATUS] == "completed"
        ],
        "measured_once": len(measured) <= 1,
        "produced": [p[sc.MESSAGE_ID] for p in produced] == story.produced,
        "produced_status": [p[sc.MESSAGE_STATUS] for p in produced],
        "input_tokens": last.get(sc.USAGE_INPUT_TOKENS),
        "output_tokens": last.get(sc.USAGE_OUTPUT_TOKENS),
    }


def test_normalized_fields_are_present_and_equivalent(telemetry: Telemetry, played: list[Story]) -> None:
    for outcome in OUTCOMES:
        old, new = (s for s in played if s.outcome == outcome)
        assert (old.kind, new.kind) == (RUN, RESPONSE)
        seen_old, seen_new = normalized(telemetry, old), normalized(telemetry, new)
        assert seen_old == seen_new, outcome
        assert all(value is True for key, value in seen_old.items() if isinstance(value, bool)), seen_old
    by_outcome = {s.outcome: normalized(telemetry, s) for s in played if s.kind == RESPONSE}
    assert by_outcome["completed"]["status"] == "completed" and by_outcome["completed"]["total_time_s"] == [
        10.0
    ]
    assert (by_outcome["failed"]["status"], by_outcome["failed"]["error_code"]) == ("failed", "server_error")
    filtered = by_outcome["content_filter"]
    assert (filtered["incomplete_reason"], filtered["filtered"]) == ("content_filter", "blocked_output")
    assert filtered["produced_status"] == ["incomplete"]


def test_metric_labels_are_the_same_on_both_surfaces(telemetry: Telemetry, played: list[Story]) -> None:
    """One point per (kind, outcome) on each execution metric; same labels, same values but the kind."""
    shared = (sc.PROVIDER_NAME, sc.RESPONSE_MODEL, sc.SERVER_ADDRESS)
    for metric in (sc.METRIC_EXECUTIONS, sc.METRIC_EXECUTION_DURATION):
        points = telemetry.metric_points(metric)
        surfaces: dict[str, dict[tuple[Any, ...], float]] = {RUN: {}, RESPONSE: {}}
        for point in points:
            labels = point.attributes
            assert not any(key.endswith(".id") for key in labels)
            key = tuple(
                labels.get(k)
                for k in (
                    *shared,
                    sc.EXECUTION_STATUS,
                    sc.EXECUTION_ERROR_CODE,
                    sc.EXECUTION_INCOMPLETE_REASON,
                )
            )
            surfaces[labels[sc.EXECUTION_KIND]][key] = (
                point.value if metric == sc.METRIC_EXECUTIONS else point.sum
            )
        completed = [key for key in surfaces[RESPONSE] if key[3] == "completed"]
        assert completed, surfaces
        if metric == sc.METRIC_EXECUTIONS:
            assert surfaces[RUN] == surfaces[RESPONSE] and len(surfaces[RUN]) == len(OUTCOMES)
            assert set(surfaces[RUN].values()) == {1}
        else:  # a response has a server-timed end only when completed: compare those
            assert {k: v for k, v in surfaces[RUN].items() if k[3] == "completed"} == surfaces[RESPONSE]


# --- docs/migration.md's queries, run ----------------------------------------------------------

QUERY = re.compile(r"<!-- query: (\w+) -->\n```(kusto|promql)\n(.*?)\n```", re.S)


def doc_queries(language: str) -> dict[str, str]:
    found = {name: text for name, lang, text in QUERY.findall(MIGRATION.read_text()) if lang == language}
    assert found, f"no {language} queries in {MIGRATION.name}"
    return found


COLUMNS = {
    "dependencies": {
        "id": "VARCHAR",
        "name": "VARCHAR",
        "operation_Id": "VARCHAR",
        "customDimensions": "JSON",
    },
    "traces": {"operation_ParentId": "VARCHAR", "message": "VARCHAR", "customDimensions": "JSON"},
}


def log_analytics(azure: AzureIngestionReceiver) -> Any:
    import json

    con = duckdb_kql.connect()
    tables = {"dependencies": azure.dependencies(), "traces": azure.traces()}
    for table, columns in COLUMNS.items():
        con.sql(f"CREATE TABLE {table} ({', '.join(f'{c} {t}' for c, t in columns.items())})")
        rows = [
            [json.dumps(row[c]) if t == "JSON" else row[c] for c, t in columns.items()]
            for row in tables[table]
        ]
        con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", rows)
    return con


def kql(con: Any, query: str) -> list[dict[str, Any]]:
    relation = duckdb_kql.query(con, query)
    names = relation.columns
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def test_every_kql_query_answers_both_surfaces_alike(
    played: list[Story], azure: AzureIngestionReceiver
) -> None:
    queries = doc_queries("kusto")
    assert set(queries) == {"latency", "failures", "filtered", "produced", "agents", "conversation"}
    con = log_analytics(azure)

    latency = kql(con, queries["latency"])
    assert [(r["surface"], r["executions"], r["p50_s"], r["p95_s"]) for r in latency] == [
        (RESPONSE, 1, 10.0, 10.0),
        (RUN, 1, 10.0, 10.0),
    ]
    failures = {
        (r["surface"], r["status"], r["error_code"]): r["executions"] for r in kql(con, queries["failures"])
    }
    assert failures == {
        (RESPONSE, "failed", "server_error"): 1,
        (RESPONSE, "incomplete", ""): 1,
        (RUN, "failed", "server_error"): 1,
        (RUN, "incomplete", ""): 1,
    }
    filtered = kql(con, queries["filtered"])
    assert [(r["surface"], r["executions"], r["blocked_output"]) for r in filtered] == [
        (RESPONSE, 1, 1),
        (RUN, 1, 1),
    ]
    produced = {
        (r["conversation"], r["execution"], r["message_id"], r["status"])
        for r in kql(con, queries["produced"])
    }
    expected = {
        (s.conversation, s.execution, message_id, "completed" if s.outcome == "completed" else "incomplete")
        for s in played
        for message_id in s.produced
    }
    assert produced == expected and len(expected) == 4  # the completed and the filtered answer, per surface
    agents = {(r["surface"], r["agent"]): r["executions"] for r in kql(con, queries["agents"])}
    assert agents == Counter((s.kind, s.agent) for s in played)
    for story in played:
        query = re.sub(
            r'let conversation_id = "[^"]*";',
            f'let conversation_id = "{story.conversation}";',
            queries["conversation"],
        )
        rows = kql(con, query)
        assert {
            (r["execution"], r["status"])
            for r in rows
            if r["status"] in ("completed", "failed", "incomplete")
        } == {(story.execution, story.status)}
        assert all(r["request_id"].startswith("req_") for r in rows)


METRIC_NAMES = {  # the default Prometheus translation (docs/attributes.md, section 7)
    "assistant_telemetry_executions_total": sc.METRIC_EXECUTIONS,
    "assistant_telemetry_execution_duration_seconds_bucket": sc.METRIC_EXECUTION_DURATION,
    "assistant_telemetry_execution_duration_seconds_sum": sc.METRIC_EXECUTION_DURATION,
    "assistant_telemetry_execution_duration_seconds_count": sc.METRIC_EXECUTION_DURATION,
}
PROMQL_WORDS = {"sum", "by", "rate", "increase", "histogram_quantile", "le", "without", "avg", "max"}


def test_every_promql_query_names_what_both_surfaces_carry(
    telemetry: Telemetry, played: list[Story], tmp_path: Path
) -> None:
    queries = doc_queries("promql")
    assert set(queries) == {"latency", "failures", "filtered"}
    labels_by_kind: dict[str, dict[str, set[str]]] = {RUN: {}, RESPONSE: {}}
    for metric in set(METRIC_NAMES.values()):
        for point in telemetry.metric_points(metric):
            keys = {key.replace(".", "_") for key in point.attributes}
            labels_by_kind[point.attributes[sc.EXECUTION_KIND]].setdefault(metric, set()).update(keys)
    for name, query in queries.items():
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?=\s*[{(\[=!,)])", query)) - PROMQL_WORDS
        metrics = {word for word in words if word in METRIC_NAMES}
        assert metrics, f"{name}: no known metric in {query}"
        labels = words - metrics
        for metric in metrics:
            for kind in (RUN, RESPONSE):
                missing = labels - labels_by_kind[kind][METRIC_NAMES[metric]]
                assert not missing, f"{name}: {kind} points of {metric} lack {missing}"
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian's prometheus package) is not installed: syntax not checked")
    rules = tmp_path / "rules.yml"
    lines = ["groups:", "  - name: migration", "    rules:"]
    for name, query in queries.items():
        lines += [f"      - record: migration:{name}", f"        expr: '{query}'"]
    rules.write_text("\n".join(lines) + "\n")
    done = subprocess.run(
        [promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr

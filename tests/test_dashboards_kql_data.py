"""Every workbook query, run with duckdb-kql on what the real Azure Monitor exporter sent.

tests/apps/dashboard_scenario.py (an instrumented app on the simulator, exported through the
azure-monitor-opentelemetry distro) is mapped to App Insights rows and loaded into DuckDB;
each query of the shipped workbook, with its parameters expanded as the workbook expands
them, must return exactly what the scenario implies. The standalone files in dashboards/kql
and the Grafana Azure Monitor panels carry the same queries: they must return the same rows.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

import dashboard_data
import dashboard_tools as tools
from assistant_telemetry import semconv as sc

sys.path.insert(0, str(Path(__file__).parent / "apps"))
from dashboard_scenario import DUPLICATE_KEY, EXPECTED, LONG_THREAD_MESSAGES, MINI, PROD

duckdb_kql = pytest.importorskip("duckdb_kql", reason="duckdb-kql needs Python 3.11+")


@pytest.fixture(scope="module")
def data() -> dashboard_data.Scenario:
    return dashboard_data.scenario()


@pytest.fixture(scope="module")
def con(data: dashboard_data.Scenario) -> Any:
    return dashboard_data.duckdb(data.tables)


@pytest.fixture(scope="module")
def window(data: dashboard_data.Scenario) -> tuple[str, str]:
    stamps = [row["timestamp"] for row in data.tables["dependencies"]]
    start, end = min(stamps) - timedelta(minutes=5), max(stamps) + timedelta(minutes=5)
    return start.strftime("%Y-%m-%dT%H:%M:%S.000Z"), end.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture(scope="module")
def workbook() -> dict[str, str]:
    return tools.workbook_queries(tools.load(tools.WORKBOOK))


def run(con: Any, query: str) -> list[dict[str, Any]]:
    relation = duckdb_kql.query(con, query)
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def rows(
    con: Any, workbook: dict[str, str], window: tuple[str, str], name: str, **params: str
) -> list[dict[str, Any]]:
    """The workbook item ``name`` with the pickers set to ``params`` (defaults: everything)."""
    values = tools.workbook_values(*window, **params)
    return run(con, tools.substitute_workbook(workbook[name], values))


def by(result: list[dict[str, Any]], *keys: str) -> dict[Any, dict[str, Any]]:
    index = {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in result}
    assert len(index) == len(result), f"duplicate keys {keys} in {result}"
    return index


def test_every_workbook_query_is_tested_here(workbook: dict[str, str]) -> None:
    tested = {name for name in globals() if name.startswith("test_")}
    for item in workbook:
        slug = item.replace("parameter:", "picker_").replace("-", "_").lower()
        assert f"test_{slug}" in tested, f"workbook query {item} has no test on data"


def test_picker_service(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    assert [r["cloud_RoleName"] for r in rows(con, workbook, window, "parameter:Service")] == [
        EXPECTED["service"]
    ]


def test_picker_deployment(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    assert [r["deployment"] for r in rows(con, workbook, window, "parameter:Deployment")] == EXPECTED[
        "deployments"
    ]


def test_picker_model(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    assert [r["model"] for r in rows(con, workbook, window, "parameter:Model")] == ["gpt-4o", MINI, PROD]


def test_health_calls(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = {r["operation"]: (r["calls"], r["failed"]) for r in rows(con, workbook, window, "health-calls")}
    assert got == {
        "create_agent": (2, 0),
        "create_thread": (EXPECTED["threads"], 0),
        "create_message": (21, 1),  # 2 + 1 + 1 blocked + 1 + 2 (the duplicate) + 1 + 1 + 12
        # every create_and_poll: the failed run and the one the filter cut are failed invocations
        "invoke_agent": (7, 2),
        "start_thread_run": (1, 0),
        "list_messages": (6, 0),
        "list_thread_runs": (1, 1),
        "list_run_steps": (1, 0),
        "chat": (2, 0),
    }


def test_health_calls_filters(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    assert rows(con, workbook, window, "health-calls", Service="'another-service'") == []
    same = rows(con, workbook, window, "health-calls", Service=f"'{EXPECTED['service']}'")
    assert sum(r["calls"] for r in same) == 49
    mini = rows(con, workbook, window, "health-calls", Deployment=f"'{MINI}'")
    assert {r["operation"]: r["calls"] for r in mini} == {"create_agent": 1, "invoke_agent": 2}
    model = rows(con, workbook, window, "health-calls", Model="'gpt-4o'")
    assert {r["operation"]: r["calls"] for r in model} == {"chat": 2}  # the model the deployment serves


def test_health_failures_by_class(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = rows(con, workbook, window, "health-failures-by-class")
    assert {
        (r["failureClass"], r["operation"], r["httpStatus"], r["errorCode"], r["failures"]) for r in got
    } == {
        ("content_filter", "create_message", "400", "content_filter", 1),
        ("rate_limited", "list_thread_runs", "429", "rate_limit_exceeded", 1),
        # runs that did not complete: their invoke_agent spans failed (the calls answered 200)
        ("content_filter", "invoke_agent", "200", "", 1),
        ("server_error", "invoke_agent", "200", "", 1),
    }


def test_health_failures_over_time(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = rows(con, workbook, window, "health-failures-over-time")
    totals: dict[str, int] = {}
    for r in got:
        totals[r["failureClass"]] = totals.get(r["failureClass"], 0) + r["failures"]
    assert totals == EXPECTED["failed_calls_by_class"]
    assert all(
        r["timestamp"].minute % 5 == 0 and r["timestamp"].second == 0 for r in got
    )  # {TimeRange:grain} bins


def test_health_latency(
    con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    got = by(rows(con, workbook, window, "health-latency"), "operation", "driver", "deployment")
    helper = sc.DRIVER_HELPER  # create_and_poll: from the run's create to its end
    assert (
        got[("invoke_agent", helper, PROD)]["calls"] == 5
        and got[("invoke_agent", helper, MINI)]["calls"] == 2
    )
    assert got[("create_message", "", "")]["calls"] == 21
    for r in got.values():
        assert 0 < r["p50Ms"] <= r["p95Ms"] <= r["p99Ms"] <= r["maxMs"]
    ours = [d for d in data.tables["dependencies"] if d["name"] == "create_message"]
    assert got[("create_message", "", "")]["maxMs"] == max(d["duration"] for d in ours)


def test_health_throttling(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = by(rows(con, workbook, window, "health-throttling"), "operation")
    assert {op: (r["throttled"], r["retriedCalls"], r["retries"]) for op, r in got.items()} == {
        "list_thread_runs": (1, 1, 2),  # three 429s: the SDK retried twice, then gave up
        "create_message": (0, 1, 1),  # one 429, retried once, then succeeded
    }
    assert sum(r["throttled"] for r in got.values()) == EXPECTED["throttled_calls"]
    assert sum(r["retriedCalls"] for r in got.values()) == EXPECTED["retried_calls"]
    assert sum(r["retries"] for r in got.values()) == EXPECTED["retries"]


def test_runs_status(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = {
        (r["status"], r["reason"], r["deployment"]): r["runs"]
        for r in rows(con, workbook, window, "runs-status")
    }
    assert got == {
        ("completed", "", PROD): 3,
        ("completed", "", MINI): 2,
        ("failed", "server_error", PROD): 1,
        ("incomplete", "content_filter", PROD): 1,
    }
    totals: dict[str, int] = {}
    for (status, _, _), runs in got.items():
        totals[status] = totals.get(status, 0) + runs
    assert totals == EXPECTED["runs_by_status"]
    mini = rows(con, workbook, window, "runs-status", Deployment=f"'{MINI}'")
    assert [(r["status"], r["runs"]) for r in mini] == [("completed", 2)]


def test_runs_timing(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = by(rows(con, workbook, window, "runs-timing"), "deployment")
    queue, execution = EXPECTED["run_timing"]["queue_s"], EXPECTED["run_timing"]["execution_s"]
    slow = EXPECTED["slow_run_timing"]
    prod = got[PROD]
    assert (prod["runs"], prod["avgQueueS"], prod["maxQueueS"], prod["avgExecutionS"], prod["maxTotalS"]) == (
        5,
        queue,
        queue,
        execution,
        queue + execution,
    )
    mini = got[MINI]  # the long thread's run and the slow, silent one
    assert mini["runs"] == 2
    assert mini["avgQueueS"] == (queue + slow["queue_s"]) / 2 and mini["maxQueueS"] == slow["queue_s"]
    assert mini["avgExecutionS"] == (execution + slow["execution_s"]) / 2
    assert mini["maxTotalS"] == slow["queue_s"] + slow["execution_s"]


def test_runs_reply_time(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = by(rows(con, workbook, window, "runs-reply-time"), "replyStatus")
    assert {status: r["replies"] for status, r in got.items()} == EXPECTED["replies_by_status"]
    total = EXPECTED["run_timing"]["queue_s"] + EXPECTED["run_timing"]["execution_s"]
    for r in got.values():  # server timestamps are whole seconds: a second may tick in between
        assert total <= r["p50S"] <= r["p95S"] <= r["maxS"] <= total + 1


def test_runs_tokens(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = {
        (r["deployment"], r["model"], r["operation"]): (r["calls"], r["inputTokens"], r["outputTokens"])
        for r in rows(con, workbook, window, "runs-tokens")
    }
    # The simulator's usage: 120 in / 11 out per answered run (3 out when cut), 17 / 7 per chat.
    assert got == {
        (PROD, PROD, "invoke_agent"): (4, 3 * 120 + 120, 3 * 11 + 3),  # the failed run used none
        (MINI, MINI, "invoke_agent"): (2, 2 * 120, 2 * 11),
        (PROD, "gpt-4o", "chat"): (2, 2 * 17, 2 * 7),
    }


def test_safety_outcomes_over_time(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    totals: dict[str, int] = {}
    for r in rows(con, workbook, window, "safety-outcomes-over-time"):
        totals[r["outcome"]] = totals.get(r["outcome"], 0) + r["calls"]
    assert totals == {
        "annotated": EXPECTED["annotated_calls"],
        "blocked_prompt": EXPECTED["blocked_prompts"],
        "blocked_output": EXPECTED["blocked_outputs"],
    }


def test_safety_categories(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = {
        (r["source"], r["category"], r["severity"]): (r["results"], r["detected"], r["filtered"])
        for r in rows(con, workbook, window, "safety-categories")
    }
    assert got == {
        # the blocked prompt (400) and the annotated chat's prompt
        ("prompt", "jailbreak", ""): (2, 2, 1),
        ("prompt", "violence", "medium"): (1, 0, 1),
        ("prompt", "violence", "low"): (1, 0, 0),
        ("prompt", "hate", "low"): (1, 0, 0),
        ("prompt", "indirect_attack", ""): (1, 1, 0),
        # the annotated chat's answer and the blocked one (the blocked run names no category)
        ("completion", "violence", "medium"): (1, 0, 0),
        ("completion", "violence", "high"): (1, 0, 1),
        ("completion", "sexual", "low"): (1, 0, 0),
        ("completion", "self_harm", "low"): (1, 0, 0),
        ("completion", "self_harm", "medium"): (1, 0, 1),
        ("completion", "protected_material_text", ""): (1, 1, 0),
        ("completion", "protected_material_code", ""): (2, 2, 1),
        ("completion", "profanity", ""): (2, 2, 1),
        ("completion", "custom_blocklists", ""): (1, 1, 1),
    }


def test_safety_blocked(con: Any, workbook: dict[str, str], window: tuple[str, str]) -> None:
    got = {
        (r["operation"], r["deployment"]): (r["blockedPrompts"], r["blockedOutputs"])
        for r in rows(con, workbook, window, "safety-blocked")
    }
    assert got == {
        ("create_message", ""): (1, 0),
        ("chat", PROD): (0, 1),
        ("invoke_agent", PROD): (0, 1),
    }
    assert sum(p for p, _ in got.values()) == EXPECTED["blocked_prompts"]
    assert sum(o for _, o in got.values()) == EXPECTED["blocked_outputs"]


def _happy_thread_ids(data: dashboard_data.Scenario) -> dict[str, str]:
    thread = data.ids["threads"]["happy"]
    deps = [d for d in data.tables["dependencies"] if d["customDimensions"].get("gen_ai.thread.id") == thread]
    poll = next(d for d in deps if d["customDimensions"].get("gen_ai.operation.name") == "invoke_agent")
    inner = poll["customDimensions"]["assistant_telemetry.request_ids"]  # "('req_a', 'req_b', ...)"
    reply = next(
        t["customDimensions"]["gen_ai.message.id"]
        for t in data.tables["traces"]
        if t["message"] == "assistant_telemetry.message"
        and t["customDimensions"].get("gen_ai.thread.id") == thread
    )
    return {
        "thread": thread,
        "run": data.ids["runs"]["happy_2"],
        "assistant message": reply,
        "provider request id of a poll": inner.split("'")[1],
        "azure apim-request-id": next(d for d in deps if d["name"] == "create_message")["customDimensions"][
            "azure.service.request.id"
        ],
        "app request id": "web-2",
        "run step": data.ids["steps"][0],
    }


def test_thread_timeline(
    con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    """Any id of thread T1 shows all of T1: 8 calls and 11 events, in order."""
    for kind, value in _happy_thread_ids(data).items():
        got = rows(con, workbook, window, "thread-timeline", LookupId=value)
        calls = [r["what"] for r in got if r["item"] == "call"]
        events = [r["what"] for r in got if r["item"] == "event"]
        run_names = [c for c in calls if c.startswith("invoke_agent ")]  # invoke_agent {agent}
        assert run_names and set(run_names) == {"invoke_agent support-prod"}, calls  # the assistant's name
        turn = ["create_message", run_names[0], "list_messages"]
        assert calls == ["create_thread", *turn, "list_run_steps", *turn], kind
        assert events.count("assistant_telemetry.run.status_change") == 6, kind
        assert events.count("assistant_telemetry.message") == 2, kind
        # the first run's message_creation step, from the step list
        assert events.count("assistant_telemetry.run_step") == 1, kind
        assert events.count("assistant_telemetry.reply") == 2 and len(events) == 11, kind
        assert [r["timestamp"] for r in got] == sorted(r["timestamp"] for r in got)
        assert {r["thread"] for r in got} == {data.ids["threads"]["happy"]}
        statuses = [r["status"] for r in got if r["what"] == "assistant_telemetry.run.status_change"]
        assert statuses == ["queued", "in_progress", "completed"] * 2
        polls = [r for r in got if r["what"] in run_names]
        assert all(r["requestId"].startswith("req_") and r["durationMs"] > 0 and r["success"] for r in polls)
    blocked = rows(con, workbook, window, "thread-timeline", LookupId=data.ids["threads"]["blocked_prompt"])
    refused = next(r for r in blocked if r["what"] == "create_message")
    assert (refused["success"], refused["failureClass"], refused["httpStatus"], refused["contentFilter"]) == (
        False,
        "content_filter",
        "400",
        "blocked_prompt",
    )
    assert rows(con, workbook, window, "thread-timeline", LookupId="thread_unknown") == []
    assert rows(con, workbook, window, "thread-timeline", LookupId="") == []  # nothing entered yet


def test_anomaly_completed_without_reply(
    con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    got = rows(con, workbook, window, "anomaly-completed-without-reply")
    assert [(r["run"], r["thread"]) for r in got] == [
        (data.ids["runs"]["silent"], data.ids["threads"]["silent"])
    ]
    assert len(got) == EXPECTED["completed_without_reply"]


def test_anomaly_duplicate_submissions(
    con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    got = rows(con, workbook, window, "anomaly-duplicate-submissions")
    assert [(r["thread"], r["submission"], r["submissions"]) for r in got] == [
        (data.ids["threads"]["duplicate"], f"idempotency_key:{DUPLICATE_KEY}", 2)
    ]
    assert sorted(json.loads(got[0]["appRequestIds"])) == ["web-6", "web-7"]
    assert len(json.loads(got[0]["messages"])) == 2  # two messages in the thread: the duplicate landed


def test_anomaly_stuck_runs(
    con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    assert rows(con, workbook, window, "anomaly-stuck-runs") == []  # nothing is 15 minutes old yet
    got = rows(con, workbook, window, "anomaly-stuck-runs", StuckAfter="0s")
    assert [(r["run"], r["status"], r["lastOperation"]) for r in got] == [
        (data.ids["runs"]["stuck"], "queued", "start_thread_run")
    ]
    assert len(got) == EXPECTED["stuck_runs"]


def test_anomaly_long_threads(
    con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    assert rows(con, workbook, window, "anomaly-long-threads") == []
    got = rows(con, workbook, window, "anomaly-long-threads", LongThreadMessages="10")
    assert [(r["thread"], r["messages"], r["runs"]) for r in got] == [
        (data.ids["threads"]["long"], LONG_THREAD_MESSAGES + 1, 1)  # twelve questions, one answer
    ]
    assert len(got) == EXPECTED["long_threads"]


def test_counts_use_item_count(data: dashboard_data.Scenario) -> None:
    """Every row carries the itemCount App Insights derives from the envelope's sample rate."""
    assert all(r["itemCount"] == 1 for table in data.tables.values() for r in table)  # always_on sampler
    rates = {e.get("sampleRate") for e in data.envelopes}
    assert rates <= {None, 100.0}


@pytest.mark.parametrize("source", ["kql", "grafana"])
def test_same_answers_from_kql_files_and_grafana(
    source: str, con: Any, workbook: dict[str, str], window: tuple[str, str], data: dashboard_data.Scenario
) -> None:
    """dashboards/kql/*.kql (parameters edited as a person would) and the Grafana Azure Monitor
    panels return what the workbook returns."""
    lookup = data.ids["threads"]["happy"]
    grafana = {
        p["title"]: t["azureLogAnalytics"]["query"]
        for p, t in tools.grafana_targets(tools.load(tools.GRAFANA_AZURE))
    }
    start, end = window
    for kql in tools.kql_files():
        expected = rows(con, workbook, window, kql.name, LookupId=lookup)
        if source == "kql":
            query = tools.set_lets(
                kql.text,
                {"startTime": f"datetime({start})", "endTime": f"datetime({end})"}
                | ({"lookupId": f"'{lookup}'"} if "let lookupId" in kql.text else {}),
            )
        else:
            values = {
                "__timeFrom()": f"datetime({start})",
                "__timeTo()": f"datetime({end})",
                "__interval": "5m",
                "service:singlequote": "",
                "deployment:singlequote": "",
                "model:singlequote": "",
                "lookup_id": lookup,
                "stuck_after": "15m",
                "long_thread_messages": "50",
            }
            query = tools.substitute_grafana(grafana[kql.title], values)
        assert run(con, query) == expected, kql.name

"""Every TraceQL query of the Grafana dashboard parses with Grafana's own TraceQL grammar.

@grafana/lezer-traceql is the parser Grafana's Tempo query editor uses; a query is valid when
its syntax tree has no error node. The queries name span attributes the plugin really sets
(checked against the attributes of the scenario's spans as the OTLP exporter sends them).
"""

from __future__ import annotations

import re

import dashboard_data
import dashboard_tools as tools
from assistant_telemetry import semconv as sc

VALUES = {
    "service": "support-bot",
    "thread_id": "thread_abc",
    "run_id": "run_abc",
    "message_id": "msg_abc",
    "request_id": "req_abc",
    "slow_run_seconds": "60",
}


def traceql_queries() -> dict[str, str]:
    dashboard = tools.load(tools.GRAFANA_PROMETHEUS)
    return {
        panel["title"]: target["query"]
        for panel, target in tools.grafana_targets(dashboard)
        if target.get("queryType") == "traceql"
    }


def test_every_traceql_query_parses() -> None:
    queries = traceql_queries()
    assert len(queries) == 7
    expanded = {name: tools.substitute_grafana(query, VALUES) for name, query in queries.items()}
    assert tools.traceql_errors(expanded) == {name: [] for name in expanded}


def test_the_parser_catches_mistakes() -> None:
    broken = {
        "unclosed": '{ span.gen_ai.thread.id = "thread_abc" ',
        "no value": "{ span.gen_ai.thread.id = }",
        "bad operator": '{ span.gen_ai.thread.id === "x" }',
    }
    assert all(tools.traceql_errors(broken).values())


def test_queries_name_attributes_the_plugin_sets() -> None:
    """Each span./event. attribute a query reads is a semconv.py name the scenario's spans carry."""
    known = {value for value in vars(sc).values() if isinstance(value, str)}
    seen: set[str] = set()
    for rows in dashboard_data.scenario().tables.values():
        for row in rows:
            seen.update(row.get("customDimensions") or {})
    for name, query in traceql_queries().items():
        for attribute in re.findall(r"\b(?:span|event)\.([a-z_][\w.]*[a-z_])", query):
            assert attribute in known, f"{name}: {attribute} is not a name in semconv.py"
            # server-side names Azure Monitor drops have twins; the rest must reach App Insights too
            assert attribute in seen, f"{name}: the scenario's telemetry never carries {attribute}"

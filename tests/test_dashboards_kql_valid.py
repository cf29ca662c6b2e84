"""Every KQL query we ship passes Microsoft's Kusto language service with zero diagnostics.

@kusto/language-service-next (the engine behind the Kusto editors) parses and analyses each
query against the Application Insights tables as declared in tests/dashboard_data.SCHEMA:
unknown columns, wrong types, bad operators or functions are errors. Workbook and Grafana
parameters are expanded first, with every picker both on "all" and on chosen values, so the
expanded text is what Log Analytics receives. ``success`` is declared both as bool and as the
string some App Insights views use: the queries read it through tobool() and must pass both.
"""

from __future__ import annotations

from typing import Any

import pytest

import dashboard_data
import dashboard_tools as tools

START, END = "2026-11-21T10:00:00.000Z", "2026-11-21T11:00:00.000Z"
WORKBOOK_CHOICES = {
    "all": tools.workbook_values(START, END, LookupId="thread_abc"),
    "chosen": tools.workbook_values(
        START,
        END,
        Service="'support-bot','billing-bot'",
        Deployment="'gpt-4o-prod'",
        Model="'gpt-4o'",
        LookupId="req_0123456789abcdef",
        StuckAfter="1h",
        LongThreadMessages="10",
    ),
}
GRAFANA_CHOICES = {
    "all": {
        "__timeFrom()": f"datetime({START})",
        "__timeTo()": f"datetime({END})",
        "__interval": "1m",
        "service:singlequote": "",
        "deployment:singlequote": "",
        "model:singlequote": "",
        "lookup_id": "run_abc",
        "stuck_after": "15m",
        "long_thread_messages": "50",
        "resource": "",
    },
    "chosen": {
        "__timeFrom()": f"datetime({START})",
        "__timeTo()": f"datetime({END})",
        "__interval": "30s",
        "service:singlequote": "'support-bot'",
        "deployment:singlequote": "'gpt-4o-prod','gpt-4o-mini-eu'",
        "model:singlequote": "'gpt-4o'",
        "lookup_id": "msg_abc",
        "stuck_after": "1d",
        "long_thread_messages": "200",
        "resource": "",
    },
}


def _schema(success_type: str) -> dict[str, dict[str, str]]:
    schema = {table: dict(columns) for table, columns in dashboard_data.SCHEMA.items()}
    for table in ("dependencies", "requests"):
        schema[table]["success"] = success_type
    return schema


def shipped_queries() -> dict[str, str]:
    """Every KQL text a user can run: kql/ files as they are, workbook and Grafana expanded."""
    queries = {f"kql/{f.path.name}": f.text for f in tools.kql_files()}
    workbook = tools.workbook_queries(tools.load(tools.WORKBOOK))
    for choice, values in WORKBOOK_CHOICES.items():
        for name, query in workbook.items():
            queries[f"workbook[{choice}]/{name}"] = tools.substitute_workbook(query, values)
    grafana = tools.load(tools.GRAFANA_AZURE)
    variables = {
        v["name"]: v["query"]["azureLogAnalytics"]["query"]
        for v in grafana["templating"]["list"]
        if isinstance(v.get("query"), dict) and "azureLogAnalytics" in v["query"]
    }
    for choice, values in GRAFANA_CHOICES.items():
        for panel, target in tools.grafana_targets(grafana):
            queries[f"grafana[{choice}]/{panel['title']}"] = tools.substitute_grafana(
                target["azureLogAnalytics"]["query"], values
            )
        for name, query in variables.items():
            queries[f"grafana[{choice}]/variable:{name}"] = tools.substitute_grafana(query, values)
    return queries


@pytest.fixture(scope="module")
def queries() -> dict[str, str]:
    return shipped_queries()


def test_every_query_is_covered(queries: dict[str, str]) -> None:
    kql = [f for f in tools.kql_files()]
    assert len(kql) >= 16
    assert sum(name.startswith("workbook[all]/") for name in queries) == len(kql) + 3  # + the three pickers
    assert sum(name.startswith("grafana[all]/") for name in queries) == len(kql) + 3
    for name, text in queries.items():
        if not name.startswith("kql/"):
            assert "{" not in text.replace("{}", "") or "dynamic" in text, (
                f"{name}: parameter left unexpanded"
            )
            assert "$" not in text, f"{name}: Grafana variable left unexpanded"


@pytest.mark.parametrize("success_type", ["bool", "string"])
def test_language_service_finds_nothing(queries: dict[str, str], success_type: str) -> None:
    diagnostics = tools.kql_diagnostics(queries, _schema(success_type))
    assert set(diagnostics) == set(queries)
    problems = {
        name: [
            f"{d['severity']} {d['code']} {d['message']} at {queries[name][d['start'] : d['start'] + d['length'] + 15]!r}"
            for d in found
        ]
        for name, found in diagnostics.items()
        if found
    }
    assert problems == {}


def test_language_service_catches_mistakes() -> None:
    """The check is live: a wrong column, a wrong type and a syntax error are each reported."""
    text = next(f.text for f in tools.kql_files() if f.name == "health-calls")
    broken: dict[str, Any] = {
        "column": text.replace("calls = sum(itemCount)", "calls = sum(itemCounts)"),
        "type": text.replace("calls = sum(itemCount)", "calls = sum(name)"),
        "syntax": text.replace("| summarize calls", "| summarise calls"),
    }
    assert all(broken[k] != text for k in broken)
    diagnostics = tools.kql_diagnostics(broken, _schema("bool"))
    assert all(any(d["severity"] == "Error" for d in diagnostics[k]) for k in broken), diagnostics

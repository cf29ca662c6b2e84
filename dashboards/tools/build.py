# ruff: noqa: E501  (queries read better whole)
"""Builds the dashboards from their sources: ``python dashboards/tools/build.py``.

- dashboards/kql/*.kql, one question per file with its parameters as ``let`` lines at the top,
  are the source of every KQL query. The Application Insights workbook and the Grafana Azure
  Monitor dashboard carry the same text with the parameter lines bound to their pickers
  (``KQL_BINDINGS``), so the three never drift apart.
- The Prometheus and Tempo panels (PromQL, TraceQL) are defined below.

The outputs are committed; tests/test_dashboards_structure.py fails when they differ from what
this script builds. Ids are derived from names (uuid5), so a rebuild changes nothing.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
KQL_DIR = ROOT / "dashboards" / "kql"
WORKBOOK = ROOT / "dashboards" / "application-insights" / "assistant-telemetry.workbook.json"
GRAFANA_PROMETHEUS = ROOT / "dashboards" / "grafana" / "assistant-telemetry-prometheus-tempo.json"
GRAFANA_AZURE = ROOT / "dashboards" / "grafana" / "assistant-telemetry-azure-monitor.json"
APP_INSIGHTS = "microsoft.insights/components"
NAMESPACE = uuid.UUID("6f1d2c3b-7a9e-4f0a-9c1d-2b3e4f5a6b7c")

SECTIONS = (
    ("health", "Health", "Calls, failures by failure class, latency percentiles, throttling and retries."),
    ("runs", "Runs", "How runs end, how long they queue and work, how long users wait, what they cost."),
    ("safety", "Safety", "What Azure's content filter flagged and blocked, prompts and outputs."),
    ("thread", "Follow a thread", "Every call and event of a thread, from any id you have."),
    ("anomalies", "Anomalies", "Silent runs, duplicate submissions, stuck runs, long threads."),
)

# How each parameter line of a .kql file is bound in the workbook and in Grafana.
KQL_BINDINGS: dict[str, dict[str, str]] = {
    "workbook": {
        "startTime": "todatetime('{TimeRange:start}')",
        "endTime": "todatetime('{TimeRange:end}')",
        "grain": "{TimeRange:grain}",
        "services": "dynamic([{Service}])",
        "deployments": "dynamic([{Deployment}])",
        "models": "dynamic([{Model}])",
        "lookupId": "'{LookupId}'",
        "stuckAfter": "{StuckAfter}",
        "longThreadMessages": "{LongThreadMessages}",
    },
    "grafana": {
        "startTime": "$__timeFrom()",
        "endTime": "$__timeTo()",
        "grain": "$__interval",
        "services": "dynamic([${service:singlequote}])",
        "deployments": "dynamic([${deployment:singlequote}])",
        "models": "dynamic([${model:singlequote}])",
        "lookupId": "'${lookup_id}'",
        "stuckAfter": "${stuck_after}",
        "longThreadMessages": "${long_thread_messages}",
    },
}

_CALLS = (
    "dependencies\n"
    "| where timestamp between ({start} .. {end})\n"
    '| where isnotempty(tostring(customDimensions["gen_ai.operation.name"]))\n'
)
# The pickers' own queries: what the telemetry of the chosen time range holds.
PICKER_QUERIES = {
    "Service": _CALLS + "| distinct cloud_RoleName\n| order by cloud_RoleName asc",
    "Deployment": _CALLS
    + '| extend deployment = tostring(customDimensions["assistant_telemetry.azure.deployment"])\n'
    + "| where isnotempty(deployment)\n| distinct deployment\n| order by deployment asc",
    "Model": _CALLS
    + '| extend model = pack_array(tostring(customDimensions["gen_ai.request.model"]), '
    + 'tostring(customDimensions["gen_ai.response.model"]))\n'
    + "| mv-expand model to typeof(string)\n| where isnotempty(model)\n| distinct model\n| order by model asc",
}


def uid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


# --------------------------------------------------------------------------------- KQL


def kql_files() -> list[dict[str, str]]:
    found = []
    for path in sorted(KQL_DIR.glob("*.kql")):
        text = path.read_text()
        meta = dict(re.findall(r"^// (title|section|chart): (.+)$", text, flags=re.M))
        found.append({"name": path.stem, "text": text, **meta})
    return found


def bind(text: str, target: str) -> str:
    """The query with its parameter lines bound for ``target``; comments above the query dropped."""
    bindings = KQL_BINDINGS[target]

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in bindings:
            return match.group(0)
        return f"let {name} = {bindings[name]};"

    body = re.sub(r"^let (\w+) = (.+?);.*$", swap, text, flags=re.M)
    lines = [line for line in body.splitlines() if not line.startswith("// ")]
    return "\n".join(lines).strip() + "\n"


# ---------------------------------------------------------------------------- workbook


def _picker(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "id": uid("workbook", "parameter", name),
        "version": "KqlParameterItem/1.0",
        "name": name,
        "label": label,
        "type": 2,
        "isRequired": False,
        "multiSelect": True,
        "quote": "'",
        "delimiter": ",",
        "query": query.format(start="todatetime('{TimeRange:start}')", end="todatetime('{TimeRange:end}')"),
        "crossComponentResources": ["{Resource}"],
        "typeSettings": {
            "additionalResourceOptions": ["value::all"],
            "selectAllValue": "",
            "showDefault": False,
        },
        "defaultValue": "value::all",
        "timeContext": {"durationMs": 0},
        "timeContextFromParameter": "TimeRange",
        "queryType": 0,
        "resourceType": APP_INSIGHTS,
    }


def _workbook_parameters() -> dict[str, Any]:
    return {
        "type": 9,
        "name": "parameters",
        "content": {
            "version": "KqlParameterItem/1.0",
            "crossComponentResources": ["{Resource}"],
            "style": "pills",
            "queryType": 0,
            "resourceType": APP_INSIGHTS,
            "parameters": [
                {
                    "id": uid("workbook", "parameter", "Resource"),
                    "version": "KqlParameterItem/1.0",
                    "name": "Resource",
                    "label": "Application Insights",
                    "type": 5,
                    "isRequired": True,
                    "typeSettings": {
                        "resourceTypeFilter": {APP_INSIGHTS: True},
                        "additionalResourceOptions": ["value::1"],
                        "showDefault": False,
                    },
                    "defaultValue": "value::1",
                },
                {
                    "id": uid("workbook", "parameter", "TimeRange"),
                    "version": "KqlParameterItem/1.0",
                    "name": "TimeRange",
                    "label": "Time range",
                    "type": 4,
                    "isRequired": True,
                    "typeSettings": {
                        "selectableValues": [
                            {"durationMs": ms}
                            for ms in (3_600_000, 14_400_000, 86_400_000, 259_200_000, 604_800_000)
                        ],
                        "allowCustom": True,
                    },
                    "value": {"durationMs": 86_400_000},
                },
                _picker("Service", "Service", PICKER_QUERIES["Service"]),
                _picker("Deployment", "Deployment", PICKER_QUERIES["Deployment"]),
                _picker("Model", "Model", PICKER_QUERIES["Model"]),
            ],
        },
    }


def _section_parameters(section: str) -> list[dict[str, Any]]:
    if section == "thread":
        return [
            {
                "id": uid("workbook", "parameter", "LookupId"),
                "version": "KqlParameterItem/1.0",
                "name": "LookupId",
                "label": "Thread, run, message or request id",
                "type": 1,
                "isRequired": True,
                "description": "A thread (conversation), run, message or run step id, a provider request id "
                "(x-request-id, apim-request-id), x-ms-client-request-id or your correlate(request_id=...)",
            }
        ]
    if section == "anomalies":
        durations = [
            ("5m", "5 minutes"),
            ("15m", "15 minutes"),
            ("1h", "1 hour"),
            ("6h", "6 hours"),
            ("1d", "1 day"),
        ]
        return [
            {
                "id": uid("workbook", "parameter", "StuckAfter"),
                "version": "KqlParameterItem/1.0",
                "name": "StuckAfter",
                "label": "Stuck after",
                "type": 2,
                "isRequired": True,
                "jsonData": json.dumps(
                    [{"value": v, "label": label, "selected": v == "15m"} for v, label in durations]
                ),
                "typeSettings": {"showDefault": False},
            },
            {
                "id": uid("workbook", "parameter", "LongThreadMessages"),
                "version": "KqlParameterItem/1.0",
                "name": "LongThreadMessages",
                "label": "Long thread: messages",
                "type": 1,
                "isRequired": True,
                "value": "50",
            },
        ]
    return []


def _visualization(chart: str) -> str:
    return {"timechart": "timechart", "table": "table", "barchart": "barchart"}[chart]


def _query_item(query: dict[str, str]) -> dict[str, Any]:
    return {
        "type": 3,
        "name": query["name"],
        "content": {
            "version": "KqlItem/1.0",
            "query": bind(query["text"], "workbook"),
            "size": 0,
            "title": query["title"],
            "noDataMessage": "Nothing in this time range.",
            "timeContextFromParameter": "TimeRange",
            "queryType": 0,
            "resourceType": APP_INSIGHTS,
            "crossComponentResources": ["{Resource}"],
            "visualization": _visualization(query["chart"]),
            "gridSettings": {"filter": True},
        },
    }


def workbook() -> dict[str, Any]:
    queries = kql_files()
    items: list[dict[str, Any]] = [
        {
            "type": 1,
            "name": "title",
            "content": {
                "json": "## Assistant conversations\n"
                "Telemetry from [assistant-telemetry](https://pypi.org/project/assistant-telemetry/): "
                "every count is `sum(itemCount)`, so sampling does not skew it. "
                "Percentiles come from the `dependencies` rows."
            },
        },
        _workbook_parameters(),
        {
            "type": 11,
            "name": "tabs",
            "content": {
                "version": "LinkItem/1.0",
                "style": "tabs",
                "links": [
                    {
                        "id": uid("workbook", "tab", key),
                        "cellValue": "Tab",
                        "linkTarget": "parameter",
                        "linkLabel": label,
                        "subTarget": key,
                        "style": "link",
                    }
                    for key, label, _ in SECTIONS
                ],
            },
        },
    ]
    for key, label, description in SECTIONS:
        group: list[dict[str, Any]] = [
            {"type": 1, "name": f"{key}-about", "content": {"json": f"### {label}\n{description}"}}
        ]
        extra = _section_parameters(key)
        if extra:
            group.append(
                {
                    "type": 9,
                    "name": f"{key}-parameters",
                    "content": {
                        "version": "KqlParameterItem/1.0",
                        "parameters": extra,
                        "style": "pills",
                        "queryType": 0,
                    },
                }
            )
        group.extend(_query_item(q) for q in queries if q["section"] == key)
        items.append(
            {
                "type": 12,
                "name": f"section-{key}",
                "content": {"version": "NotebookGroup/1.0", "groupType": "editable", "items": group},
                "conditionalVisibility": {"parameterName": "Tab", "comparison": "isEqualTo", "value": key},
            }
        )
    items.append(
        {
            "type": 9,
            "name": "default-tab",
            "content": {
                "version": "KqlParameterItem/1.0",
                "parameters": [
                    {
                        "id": uid("workbook", "parameter", "Tab"),
                        "version": "KqlParameterItem/1.0",
                        "name": "Tab",
                        "type": 1,
                        "isHiddenWhenLocked": True,
                        "value": "health",
                    }
                ],
                "style": "pills",
                "queryType": 0,
            },
        }
    )
    return {
        "version": "Notebook/1.0",
        "items": items,
        "fallbackResourceIds": [],
        "$schema": "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json",
    }


# ----------------------------------------------------------------------------- Grafana

PROM = {"type": "prometheus", "uid": "${prometheus}"}
TEMPO = {"type": "tempo", "uid": "${tempo}"}
AZURE = {"type": "grafana-azure-monitor-datasource", "uid": "${azure_monitor}"}
CALLS_SELECTOR = 'job=~"$service", assistant_telemetry_azure_deployment=~"$deployment"'
# Finished executions: Assistants and Azure AI Agents runs (kind thread.run) and responses.
EXECUTIONS_SELECTOR = CALLS_SELECTOR + ', gen_ai_response_model=~"$model"'
RUNS_SELECTOR = EXECUTIONS_SELECTOR + ', assistant_telemetry_execution_kind="thread.run"'
DURATION = "gen_ai_client_operation_duration_seconds"
# The latest mode moves inference calls' durations (chat) to their own histogram (semantic-conventions-
# genai #521); the other operations keep DURATION. Every call panel reads both with ``or``: after
# rate() the metric name is gone, so a /dup series present in both is counted once.
INFERENCE_DURATION = "gen_ai_client_inference_duration_seconds"
CALL_SERIES = f'{{__name__=~"{DURATION}_count|{INFERENCE_DURATION}_count"}}'


def _calls(function: str, suffix: str, selector: str, window: str) -> str:
    """``function(<duration>_<suffix>{selector}[window])`` over both duration histograms, once per series."""
    return " or ".join(
        f"{function}({metric}_{suffix}{{{selector}}}[{window}])" for metric in (DURATION, INFERENCE_DURATION)
    )


EXECUTIONS = "assistant_telemetry_executions_total"
# One dashboard for every semconv mode (docs/attributes.md section 8): the latest mode renames the
# executions' status label and replaces the token histogram with the inference usage counters.
# label_replace copies the latest label onto ours (the /dup mode has both, with the same value).
STATUS = "assistant_telemetry_execution_status"
LATEST_STATUS = "gen_ai_response_status"


def _execution_status(expr: str) -> str:
    """``expr`` with the executions' status under our label name, whichever mode emitted it."""
    return f'label_replace({expr}, "{STATUS}", "$1", "{LATEST_STATUS}", "(.+)")'


def _tokens_by(by: str, selector: str) -> str:
    """Tokens over $__range by ``by`` (gen_ai_token_type among them): gen_ai.client.token.usage in the
    default and /dup modes, else the latest mode's inference usage counters typed by their name."""
    latest = " or ".join(
        f"sum by ({by}) (label_replace(increase(gen_ai_client_inference_usage_{kind}_tokens_total"
        f'{{{selector}}}[$__range]), "gen_ai_token_type", "{kind}", "gen_ai_operation_name", ".*"))'
        for kind in ("input", "output")
    )
    return f"sum by ({by}) (increase(gen_ai_client_token_usage_sum{{{selector}}}[$__range])) or {latest}"


# (section, title, unit, [(legend, PromQL)]): every expression is checked and unit-tested with promtool.
PROMQL_PANELS: list[tuple[str, str, str, list[tuple[str, str]]]] = [
    (
        "health",
        "Calls per second by operation",
        "reqps",
        [
            (
                "{{gen_ai_operation_name}}",
                f"sum by (gen_ai_operation_name) ({_calls('rate', 'count', CALLS_SELECTOR, '$__rate_interval')})",
            )
        ],
    ),
    (
        "health",
        "Failures per second by failure class",
        "reqps",
        [
            (
                "{{assistant_telemetry_failure_class}}",
                "sum by (assistant_telemetry_failure_class) ("
                + _calls(
                    "rate",
                    "count",
                    CALLS_SELECTOR + ', assistant_telemetry_failure_class!=""',
                    "$__rate_interval",
                )
                + ")",
            )
        ],
    ),
    (
        "health",
        "Latency p50 / p95 / p99 by operation",
        "s",
        [
            (  # an agent run by its driver: a helper's or stream's whole run, or the app's one retrieve
                f"p{q} {{{{gen_ai_operation_name}}}} {{{{assistant_telemetry_execution_driver}}}}",
                f"histogram_quantile(0.{q}, sum by (le, gen_ai_operation_name, assistant_telemetry_execution_driver) "
                f"({_calls('rate', 'bucket', CALLS_SELECTOR, '$__rate_interval')}))",
            )
            for q in ("50", "95", "99")
        ],
    ),
    (
        "health",
        "Throttled calls (429) per second by operation",
        "reqps",
        [
            (
                "{{gen_ai_operation_name}}",
                "sum by (gen_ai_operation_name) ("
                + _calls(
                    "rate",
                    "count",
                    CALLS_SELECTOR + ', assistant_telemetry_failure_class="rate_limited"',
                    "$__rate_interval",
                )
                + ")",
            )
        ],
    ),
    (
        "runs",
        "Finished runs by status",
        "short",
        [
            (
                "{{assistant_telemetry_execution_status}}",
                f"sum by ({STATUS}) ({_execution_status(f'increase({EXECUTIONS}{{{RUNS_SELECTOR}}}[$__range])')})",
            )
        ],
    ),
    (
        "runs",
        "Run queue and execution time p95",
        "s",
        [
            (
                f"{name} p95",
                f"histogram_quantile(0.95, sum by (le) (rate(assistant_telemetry_execution_{metric}_seconds_bucket{{{RUNS_SELECTOR}}}[$__rate_interval])))",
            )
            for name, metric in (("queue", "queue_time"), ("execution", "active_time"))
        ],
    ),
    (
        "runs",
        "Time to reply p50 / p95",
        "s",
        [
            (
                f"p{q}",
                f"histogram_quantile(0.{q}, sum by (le) (rate(assistant_telemetry_reply_duration_seconds_bucket{{{CALLS_SELECTOR}}}[$__rate_interval])))",
            )
            for q in ("50", "95")
        ],
    ),
    (
        "runs",
        "Tokens by type and deployment",
        "short",
        [
            (
                "{{gen_ai_token_type}} {{assistant_telemetry_azure_deployment}}",
                _tokens_by("gen_ai_token_type, assistant_telemetry_azure_deployment", CALLS_SELECTOR),
            )
        ],
    ),
    (
        "safety",
        "Blocked prompts, runs and responses cut by the filter",
        "short",
        [
            (
                "blocked prompts",  # a call refused (an exception); a run the filter cut has error.type content_filter
                "sum("
                + _calls(
                    "increase",
                    "count",
                    CALLS_SELECTOR
                    + ', assistant_telemetry_failure_class="content_filter", error_type!="content_filter"',
                    "$__range",
                )
                + ")",
            ),
            (
                "runs and responses cut by the filter",
                f"sum(increase({EXECUTIONS}{{{EXECUTIONS_SELECTOR}, "
                'assistant_telemetry_execution_incomplete_reason="content_filter"}[$__range]))',
            ),
        ],
    ),
]
# Which executions a panel counts, shown as its description (Grafana's (i) tooltip).
PROMQL_DESCRIPTIONS = {
    "Finished runs by status": "Assistants and Azure AI Agents runs (assistant_telemetry_executions_total, "
    'kind "thread.run"), each once, by final status. Responses are not counted here.',
    "Run queue and execution time p95": "From the service's own timestamps, runs only (kind "
    '"thread.run"): assistant_telemetry_execution_queue_time_seconds (created -> started) and '
    "assistant_telemetry_execution_active_time_seconds (started -> finished).",
    "Blocked prompts, runs and responses cut by the filter": "Calls the content filter refused "
    "(HTTP 400, any operation), and runs and responses alike that ended incomplete with reason "
    "content_filter (assistant_telemetry_executions_total, every kind).",
}
assert PROMQL_DESCRIPTIONS.keys() <= {title for _, title, _, _ in PROMQL_PANELS}

_SPAN_FILTER = 'resource.service.name =~ "$service"'
# (title, TraceQL): every query parses with Grafana's own TraceQL grammar.
TRACEQL_PANELS: list[tuple[str, str]] = [
    ("Traces of a thread", f'{{ {_SPAN_FILTER} && span.gen_ai.thread.id = "$thread_id" }}'),
    ("Traces of a run", f'{{ {_SPAN_FILTER} && span.gen_ai.thread.run.id = "$run_id" }}'),
    (
        "Traces of a message",
        f'{{ {_SPAN_FILTER} && span.gen_ai.message.id = "$message_id" }} || {{ event.gen_ai.message.id = "$message_id" }}',
    ),
    (
        "Traces of a request id",
        f'{{ {_SPAN_FILTER} && (span.assistant_telemetry.request_id = "$request_id" || '
        'span.assistant_telemetry.request_ids = "$request_id" || span.azure.service.request.id = "$request_id" || '
        'span.assistant_telemetry.correlation.request_id = "$request_id") }',
    ),
    (
        "Failed calls",
        f"{{ {_SPAN_FILTER} && span.gen_ai.operation.name != nil && status = error }} "
        "| select(span.assistant_telemetry.failure_class, span.assistant_telemetry.http_status_code, span.gen_ai.thread.id)",
    ),
    (
        "Calls the content filter blocked",
        f'{{ {_SPAN_FILTER} && span.assistant_telemetry.content_filter.outcome =~ "blocked_prompt|blocked_output" }} '
        "| select(span.assistant_telemetry.content_filter.outcome, span.gen_ai.thread.id, span.gen_ai.thread.run.id)",
    ),
    (
        "Slow runs",
        f"{{ {_SPAN_FILTER} && span.assistant_telemetry.run.total_time_s > $slow_run_seconds }} "
        "| select(span.assistant_telemetry.run.total_time_s, span.gen_ai.thread.run.status, span.gen_ai.thread.id)",
    ),
]


def _datasource_variable(name: str, plugin: str, label: str) -> dict[str, Any]:
    return {
        "type": "datasource",
        "name": name,
        "label": label,
        "query": plugin,
        "current": {},
        "hide": 0,
        "refresh": 1,
    }


def _prom_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": PROM,
        "query": {"query": query, "refId": f"{name}-values"},
        "definition": query,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {},
        "refresh": 2,
        "sort": 1,
    }


def _textbox(name: str, label: str, value: str = "") -> dict[str, Any]:
    return {
        "type": "textbox",
        "name": name,
        "label": label,
        "query": value,
        "current": {"value": value, "text": value},
    }


def _row(panel_id: int, title: str, y: int) -> dict[str, Any]:
    return {
        "type": "row",
        "id": panel_id,
        "title": title,
        "collapsed": False,
        "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
        "panels": [],
    }


def grafana_prometheus_tempo() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    next_id, y = 1, 0
    for key, label, _ in SECTIONS:
        mine = [p for p in PROMQL_PANELS if p[0] == key]
        if not mine:
            continue
        panels.append(_row(next_id, label, y))
        next_id, y = next_id + 1, y + 1
        for n, (_, title, unit, exprs) in enumerate(mine):
            panels.append(
                {
                    "type": "timeseries",
                    "id": next_id,
                    "title": title,
                    **({"description": PROMQL_DESCRIPTIONS[title]} if title in PROMQL_DESCRIPTIONS else {}),
                    "datasource": PROM,
                    "gridPos": {"h": 8, "w": 12, "x": 12 * (n % 2), "y": y + 8 * (n // 2)},
                    "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                    "targets": [
                        {
                            "refId": chr(ord("A") + i),
                            "datasource": PROM,
                            "expr": expr,
                            "legendFormat": legend,
                            "range": True,
                        }
                        for i, (legend, expr) in enumerate(exprs)
                    ],
                }
            )
            next_id += 1
        y += 8 * ((len(mine) + 1) // 2)
    panels.append(_row(next_id, "Traces (Tempo)", y))
    next_id, y = next_id + 1, y + 1
    for n, (title, query) in enumerate(TRACEQL_PANELS):
        panels.append(
            {
                "type": "table",
                "id": next_id,
                "title": title,
                "datasource": TEMPO,
                "gridPos": {"h": 8, "w": 12, "x": 12 * (n % 2), "y": y + 8 * (n // 2)},
                "targets": [
                    {
                        "refId": "A",
                        "datasource": TEMPO,
                        "queryType": "traceql",
                        "query": query,
                        "limit": 50,
                        "tableType": "traces",
                    }
                ],
            }
        )
        next_id += 1
    return {
        "uid": "assistant-telemetry-prom-tempo",
        "title": "Assistant conversations (Prometheus + Tempo)",
        "tags": ["assistant-telemetry", "genai"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-24h", "to": "now"},
        "refresh": "1m",
        "templating": {
            "list": [
                _datasource_variable("prometheus", "prometheus", "Prometheus"),
                _datasource_variable("tempo", "tempo", "Tempo"),
                _prom_variable("service", "Service", f"label_values({CALL_SERIES}, job)"),
                _prom_variable(
                    "deployment",
                    "Deployment",
                    f"label_values({CALL_SERIES}, assistant_telemetry_azure_deployment)",
                ),
                _prom_variable("model", "Model", f"label_values({EXECUTIONS}, gen_ai_response_model)"),
                _textbox("thread_id", "Thread id"),
                _textbox("run_id", "Run id"),
                _textbox("message_id", "Message id"),
                _textbox("request_id", "Request id"),
                _textbox("slow_run_seconds", "Slow run (s)", "60"),
            ]
        },
        "panels": panels,
    }


def _azure_variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": AZURE,
        "query": {
            "refId": f"{name}-values",
            "queryType": "Azure Log Analytics",
            "azureLogAnalytics": {"query": query, "resources": ["$resource"]},
        },
        "includeAll": True,
        "allValue": "",
        "multi": True,
        "current": {},
        "refresh": 2,
    }


def grafana_azure_monitor() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    next_id, y = 1, 0
    queries = kql_files()
    for key, label, _ in SECTIONS:
        mine = [q for q in queries if q["section"] == key]
        panels.append(_row(next_id, label, y))
        next_id, y = next_id + 1, y + 1
        for n, query in enumerate(mine):
            wide = key == "thread"
            timechart = query["chart"] == "timechart"
            panels.append(
                {
                    "type": "timeseries" if timechart else "table",
                    "id": next_id,
                    "title": query["title"],
                    "description": f"dashboards/kql/{query['name']}.kql",
                    "datasource": AZURE,
                    "gridPos": {
                        "h": 8,
                        "w": 24 if wide else 12,
                        "x": 0 if wide else 12 * (n % 2),
                        "y": y + 8 * (n // 2),
                    },
                    "targets": [
                        {
                            "refId": "A",
                            "datasource": AZURE,
                            "queryType": "Azure Log Analytics",
                            "azureLogAnalytics": {
                                "query": bind(query["text"], "grafana"),
                                "resources": ["$resource"],
                                "resultFormat": "time_series" if timechart else "table",
                                "dashboardTime": False,
                            },
                        }
                    ],
                }
            )
            next_id += 1
        y += 8 * ((len(mine) + 1) // 2)
    grafana_time = {"start": "$__timeFrom()", "end": "$__timeTo()"}
    durations = "5m,15m,1h,6h,1d"
    return {
        "uid": "assistant-telemetry-azure-monitor",
        "title": "Assistant conversations (Azure Monitor)",
        "tags": ["assistant-telemetry", "genai", "application-insights"],
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                _datasource_variable("azure_monitor", "grafana-azure-monitor-datasource", "Azure Monitor"),
                {
                    "type": "query",
                    "name": "resource",
                    "label": "Application Insights",
                    "datasource": AZURE,
                    "query": {
                        "refId": "resource-values",
                        "queryType": "Azure Resource Graph",
                        "azureResourceGraph": {
                            "query": "resources | where type == 'microsoft.insights/components' | project id | order by id asc"
                        },
                    },
                    "refresh": 1,
                    "current": {},
                },
                _azure_variable("service", "Service", PICKER_QUERIES["Service"].format(**grafana_time)),
                _azure_variable(
                    "deployment", "Deployment", PICKER_QUERIES["Deployment"].format(**grafana_time)
                ),
                _azure_variable("model", "Model", PICKER_QUERIES["Model"].format(**grafana_time)),
                _textbox("lookup_id", "Thread, run, message or request id"),
                {
                    "type": "custom",
                    "name": "stuck_after",
                    "label": "Stuck after",
                    "query": durations,
                    "current": {"value": "15m", "text": "15m"},
                    "options": [
                        {"value": d, "text": d, "selected": d == "15m"} for d in durations.split(",")
                    ],
                },
                _textbox("long_thread_messages", "Long thread: messages", "50"),
            ]
        },
        "panels": panels,
    }


OUTPUTS = {
    WORKBOOK: workbook,
    GRAFANA_PROMETHEUS: grafana_prometheus_tempo,
    GRAFANA_AZURE: grafana_azure_monitor,
}


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    for path, build in OUTPUTS.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(build()))
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

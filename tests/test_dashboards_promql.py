"""Every PromQL expression of the Grafana dashboard and the alert rules, checked and unit-tested
with promtool on the series the plugin's real metrics produce, in every semconv mode.

The scenario app runs with the real ``opentelemetry-exporter-prometheus`` reader, once per mode
(default, ``gen_ai_latest_experimental``, ``.../dup``: the latest renames the executions' status
label and replaces the token histogram); its text exposition is what a Prometheus server scrapes
(the scrape adds ``job`` and ``instance``). Each sample becomes a promtool input series growing by
its value every minute, so over any window a counter's ``increase`` is about (window in minutes) x
value, its ``rate`` about value / 60, and a histogram's bucket ratios are those of the real buckets.
The expected results are computed here from the exposition the way Prometheus computes them
(``rate``/``increase`` with its extrapolation, sums in series order) and checked against the
scenario (what they must be).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

import dashboard_data
import dashboard_tools as tools

SCRAPE = {"job": "support-bot", "instance": "127.0.0.1:9464"}
GRAFANA_VALUES = {
    "__rate_interval": "5m",
    "__range": "10m",
    "service": ".*",
    "deployment": ".*",
    "model": ".*",
}
RANGE_MINUTES = 10
RATE_WINDOW_S = 5 * 60  # $__rate_interval
EVAL_S = 20 * 60  # promtool's eval_time
ALERTS = tools.DASHBOARDS / "prometheus" / "alerts.yml"
Labels = tuple[tuple[str, str], ...]
Samples = dict[str, list[tuple[dict[str, str], float]]]
LATEST = "gen_ai_latest_experimental"
MODES = {"default": None, "latest": LATEST, "dup": LATEST + "/dup"}
# The inference token metrics of the latest modes, and the histogram they replace (latest only).
INFERENCE = (
    "gen_ai_client_inference_operation_input_tokens_bucket",
    "gen_ai_client_inference_operation_input_tokens_sum",
    "gen_ai_client_inference_operation_input_tokens_count",
    "gen_ai_client_inference_operation_output_tokens_bucket",
    "gen_ai_client_inference_operation_output_tokens_sum",
    "gen_ai_client_inference_operation_output_tokens_count",
    "gen_ai_client_inference_usage_input_tokens_total",
    "gen_ai_client_inference_usage_output_tokens_total",
    "gen_ai_client_inference_duration_seconds_bucket",
    "gen_ai_client_inference_duration_seconds_sum",
    "gen_ai_client_inference_duration_seconds_count",
)
TOKEN_USAGE = tuple(f"gen_ai_client_token_usage_{s}" for s in ("bucket", "sum", "count"))


def mode_samples(mode: str | None) -> Samples:
    """{sample name: [(labels incl. job and instance, value)]} from the real exposition of ``mode``."""
    found: Samples = defaultdict(list)
    for family in text_string_to_metric_families(dashboard_data.prometheus_exposition(mode)):
        for sample in family.samples:
            found[sample.name].append(({**sample.labels, **SCRAPE}, float(sample.value)))
    for name, rows in found.items():  # a scrape has each series once
        keys = [tuple(sorted(labels.items())) for labels, _ in rows]
        assert len(keys) == len(set(keys)), f"duplicate series of {name}"
    return dict(found)


@pytest.fixture(scope="module", params=list(MODES), ids=list(MODES))
def mode(request: pytest.FixtureRequest) -> str | None:
    return MODES[request.param]


@pytest.fixture(scope="module")
def samples(mode: str | None) -> Samples:
    return mode_samples(mode)


def documented_names() -> set[str]:
    """The Prometheus names of docs/attributes.md section 7."""
    text = (tools.ROOT / "docs" / "attributes.md").read_text().split("## 7. Prometheus names", 1)[1]
    text = text.split("\n## ", 1)[0]  # section 7 only
    names = set()
    for line in text.splitlines():
        cells = line.split("|")
        if len(cells) > 2 and "`" in cells[2]:
            base, *suffixes = re.findall(r"`([^`]+)`", cells[2])
            names.add(base)
            stem = base.rsplit("_", 1)[0] if base.endswith("_bucket") else base
            names.update(stem + s for s in suffixes)
    return names


# Documented names the scenario's exposition does not have, and why.
ABSENT_FROM_SCENARIO = {
    "assistant_telemetry_instrumentation_errors_total": "counts internal errors: none happened",
    "assistant_telemetry_content_guard_removals_total": "only with instrument(content_guard=True)",
}


def absent_in(mode: str | None) -> set[str]:
    """Documented names a mode does not emit: the inference metrics are the latest modes', the
    token histogram is not the latest mode's."""
    absent = set(ABSENT_FROM_SCENARIO)
    return absent | set(INFERENCE if mode is None else TOKEN_USAGE if mode == LATEST else ())


def test_series_names_are_the_documented_translation(samples: Samples, mode: str | None) -> None:
    documented = documented_names()
    assert "gen_ai_client_operation_duration_seconds_bucket" in documented
    ours = {name for name in samples if name.startswith(("gen_ai_", "assistant_telemetry_"))}
    assert documented - absent_in(mode) <= ours
    assert not absent_in(mode) - set(ABSENT_FROM_SCENARIO) & ours  # the other mode's names
    assert ours <= documented, "the plugin exports names docs/attributes.md does not list"
    used = {
        m
        for expr in dashboard_exprs().values()
        for m in re.findall(r"\b((?:gen_ai|assistant_telemetry)_\w+)\s*\{", expr)
    }
    assert used <= documented, "the dashboard uses names docs/attributes.md does not list"
    labels = {key for name in ours for labels, _ in samples[name] for key in labels}
    assert {
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "assistant_telemetry_azure_deployment",
        "assistant_telemetry_failure_class",
        "assistant_telemetry_execution_driver",
        "error_type",
        "assistant_telemetry_execution_kind",
        "assistant_telemetry_execution_error_code",
        "assistant_telemetry_execution_incomplete_reason",
        "otel_scope_name",
    } <= labels
    ours_only = {"gen_ai_token_type", "assistant_telemetry_execution_status"}
    latest_only = {"gen_ai_token_modality", "gen_ai_response_status"}
    if mode is None:
        assert ours_only <= labels and not latest_only & labels
    elif mode == LATEST:
        assert latest_only <= labels and not ours_only & labels
    else:
        assert ours_only | latest_only <= labels


def dashboard_exprs() -> dict[str, str]:
    """{panel title / refId: PromQL with the Grafana variables expanded} from the shipped JSON."""
    dashboard = tools.load(tools.GRAFANA_PROMETHEUS)
    return {
        f"{panel['title']} / {target['refId']}": tools.substitute_grafana(target["expr"], GRAFANA_VALUES)
        for panel, target in tools.grafana_targets(dashboard)
        if "expr" in target
    }


def test_every_name_the_dashboard_uses_exists() -> None:
    """Each metric and label a panel or alert selects exists in some mode (they read every mode)."""
    every = [mode_samples(mode) for mode in MODES.values()]
    names = {name for samples in every for name in samples}
    label_names = {
        key for samples in every for values in samples.values() for labels, _ in values for key in labels
    }
    for name, expr in {**dashboard_exprs(), **alert_exprs()}.items():
        for metric in re.findall(r"\b((?:gen_ai|assistant_telemetry)_\w+)\s*\{", expr):
            assert metric in names, f"{name}: no series {metric}"
        for label in re.findall(r"(\w+)\s*(?:=~|!=|!~|=)\s*\"", expr):
            assert label in label_names, f"{name}: no label {label}"


def alert_exprs() -> dict[str, str]:
    rules = yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]
    return {rule["alert"]: rule["expr"] for rule in rules}


def test_run_queries_count_runs_only() -> None:
    """The execution metrics count runs and responses: a query about runs keeps kind thread.run."""
    selectors = {
        name: re.findall(r"\bassistant_telemetry_execution\w*\s*\{([^}]*)\}", query)
        for name, query in {**dashboard_exprs(), **alert_exprs()}.items()
    }
    selectors = {name: found for name, found in selectors.items() if found}
    assert len(selectors) == 5
    for name, found in selectors.items():
        runs_only = ['assistant_telemetry_execution_kind="thread.run"' in matchers for matchers in found]
        # Only a panel that says so counts responses too.
        assert runs_only == [("responses" not in name)] * len(found), name


# --------------------------------------------------------------- expected values, by hand


def _select(samples: dict[str, Any], name: str, **match: str) -> list[tuple[dict[str, str], float]]:
    """Series of ``name`` whose labels equal ``match`` (a value "!" means: label is not empty)."""
    rows = samples.get(name, [])
    return [
        (labels, value)
        for labels, value in rows
        if all((labels.get(k, "") != "") if v == "!" else labels.get(k, "") == v for k, v in match.items())
    ]


def _input_series(value: float, steps: int = 30) -> list[tuple[int, float]]:
    """promtool's ``0+{value}x30``: one sample a minute, each the previous plus ``value``."""
    points, current = [], 0.0
    for minute in range(steps + 1):
        points.append((minute * 60, current))
        current += value
    return points


def extrapolated(value: float, window_s: int, is_rate: bool) -> float:
    """Prometheus 2.42's rate() / increase() of the input series at EVAL_S (promql extrapolatedRate:
    samples in [t - window, t], extrapolated to the window's ends, a rate divided by its length)."""
    points = [(t, v) for t, v in _input_series(value) if EVAL_S - window_s <= t <= EVAL_S]
    (first_t, first_v), (last_t, last_v) = points[0], points[-1]
    result = last_v - first_v  # a counter that only grows: no resets
    to_start = float(first_t - (EVAL_S - window_s))
    to_end = float(EVAL_S - last_t)
    sampled = float(last_t - first_t)
    average = sampled / float(len(points) - 1)
    if result > 0 and first_v >= 0:
        to_zero = sampled * (first_v / result)
        if to_zero < to_start:
            to_start = to_zero
    threshold = average * 1.1
    interval = sampled
    interval += to_start if to_start < threshold else average / 2
    interval += to_end if to_end < threshold else average / 2
    result = result * (interval / sampled)
    return result / float(window_s) if is_rate else result


def rate(value: float) -> float:
    return extrapolated(value, RATE_WINDOW_S, True)


def increase(value: float) -> float:
    return extrapolated(value, RANGE_MINUTES * 60, False)


def _series_order(rows: list[tuple[dict[str, str], float]]) -> list[tuple[dict[str, str], float]]:
    """Prometheus aggregates in the order its storage returns series: sorted by label set."""
    return sorted(rows, key=lambda row: sorted(row[0].items()))


def group_sum(rows: list[tuple[dict[str, str], float]], by: tuple[str, ...], of: Any) -> dict[Labels, float]:
    """``sum by (by) (of(series))`` as Prometheus adds it up."""
    out: dict[Labels, float] = {}
    for labels, value in _series_order(rows):
        key = tuple((k, labels.get(k, "")) for k in by)
        out[key] = out[key] + of(value) if key in out else of(value)
    return out


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile for one series of (upper bound, cumulative count)."""
    buckets = sorted(buckets)
    observations = buckets[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = next(i for i, (_, count) in enumerate(buckets) if count >= rank)
    if b == len(buckets) - 1:
        return buckets[-2][0]
    start, end, count = 0.0, buckets[b][0], buckets[b][1]
    if b > 0:
        start = buckets[b - 1][0]
        count -= buckets[b - 1][1]
        rank -= buckets[b - 1][1]
    return start + (end - start) * (rank / count)


def group_quantile(
    q: float, rows: list[tuple[dict[str, str], float]], by: tuple[str, ...]
) -> dict[Labels, float]:
    per_group: dict[Labels, dict[float, float]] = defaultdict(dict)
    for labels, value in _series_order(rows):
        buckets = per_group[tuple((k, labels.get(k, "")) for k in by)]
        le = float(labels["le"])
        buckets[le] = buckets[le] + rate(value) if le in buckets else rate(value)  # each bucket's rate
    return {key: bucket_quantile(q, list(buckets.items())) for key, buckets in per_group.items()}


RUN = {"assistant_telemetry_execution_kind": "thread.run"}
BLOCKED = "Blocked prompts, runs and responses cut by the filter"  # the execution metrics' points of runs


def _status_rows(rows: list[tuple[dict[str, str], float]]) -> list[tuple[dict[str, str], float]]:
    """The executions' status under our label, whichever mode named it (the latest: gen_ai.response.status)."""
    status = "assistant_telemetry_execution_status"
    return [
        ({**labels, status: labels.get("gen_ai_response_status") or labels[status]}, v) for labels, v in rows
    ]


def _token_rows(s: Samples) -> list[tuple[dict[str, str], float]]:
    """Tokens by gen_ai_token_type: the token histogram's sums where the mode has it, else the latest
    mode's inference usage counters (the /dup mode has both: the dashboard reads the histogram)."""
    if "gen_ai_client_token_usage_sum" in s:
        return _select(s, "gen_ai_client_token_usage_sum")
    return [
        ({**labels, "gen_ai_token_type": kind}, value)
        for kind in ("input", "output")
        for labels, value in _select(s, f"gen_ai_client_inference_usage_{kind}_tokens_total")
    ]


def _call_rows(s: Samples, suffix: str, **match: str) -> list[tuple[dict[str, str], float]]:
    """Every call's duration series: ``operation.duration or inference.duration`` (the latest modes time
    chat there), where a label set in both (the /dup mode) counts once, as PromQL's ``or`` keeps it."""
    rows = _select(s, f"gen_ai_client_operation_duration_seconds_{suffix}", **match)
    seen = {_label_set(labels) for labels, _ in rows}
    inference = _select(s, f"gen_ai_client_inference_duration_seconds_{suffix}", **match)
    return rows + [row for row in inference if _label_set(row[0]) not in seen]


def _label_set(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """A series' identity as Prometheus sees it: an empty label is no label."""
    return tuple(sorted((key, value) for key, value in labels.items() if value != ""))


def expectations(s: Samples) -> dict[str, dict[Labels, float]]:
    op = ("gen_ai_operation_name",)
    driven = ("gen_ai_operation_name", "assistant_telemetry_execution_driver")
    blocked_prompts = [  # refused calls: a run the filter cut has error.type content_filter too
        row
        for row in _call_rows(s, "count", assistant_telemetry_failure_class="content_filter")
        if row[0].get("error_type") != "content_filter"
    ]
    return {
        "Calls per second by operation / A": group_sum(_call_rows(s, "count"), op, rate),
        "Failures per second by failure class / A": group_sum(
            _call_rows(s, "count", assistant_telemetry_failure_class="!"),
            ("assistant_telemetry_failure_class",),
            rate,
        ),
        **{
            f"Latency p50 / p95 / p99 by operation / {ref}": group_quantile(
                q, _call_rows(s, "bucket"), driven
            )
            for ref, q in (("A", 0.5), ("B", 0.95), ("C", 0.99))
        },
        "Throttled calls (429) per second by operation / A": group_sum(
            _call_rows(s, "count", assistant_telemetry_failure_class="rate_limited"), op, rate
        ),
        "Finished runs by status / A": group_sum(
            _status_rows(_select(s, "assistant_telemetry_executions_total", **RUN)),
            ("assistant_telemetry_execution_status",),
            increase,
        ),
        "Run queue and execution time p95 / A": group_quantile(
            0.95, _select(s, "assistant_telemetry_execution_queue_time_seconds_bucket", **RUN), ()
        ),
        "Run queue and execution time p95 / B": group_quantile(
            0.95, _select(s, "assistant_telemetry_execution_active_time_seconds_bucket", **RUN), ()
        ),
        "Time to reply p50 / p95 / A": group_quantile(
            0.5, _select(s, "assistant_telemetry_reply_duration_seconds_bucket"), ()
        ),
        "Time to reply p50 / p95 / B": group_quantile(
            0.95, _select(s, "assistant_telemetry_reply_duration_seconds_bucket"), ()
        ),
        "Tokens by type and deployment / A": group_sum(
            _token_rows(s), ("gen_ai_token_type", "assistant_telemetry_azure_deployment"), increase
        ),
        f"{BLOCKED} / A": group_sum(blocked_prompts, (), increase),
        f"{BLOCKED} / B": group_sum(  # runs and responses alike: every execution kind
            _select(
                s,
                "assistant_telemetry_executions_total",
                assistant_telemetry_execution_incomplete_reason="content_filter",
            ),
            (),
            increase,
        ),
    }


def test_expectations_are_what_the_scenario_implies(samples: Samples) -> None:
    """The metric series count what the App Insights rows count (tests/test_dashboards_kql_data.py),
    the same in every mode."""
    exp = expectations(samples)

    def plain(values: dict[Labels, float], scale: float = 1.0) -> dict[Any, float]:
        return {
            (key[0][1] if len(key) == 1 else tuple(v for _, v in key)): round(v * scale, 6)
            for key, v in values.items()
        }

    calls = plain(exp["Calls per second by operation / A"], 60)
    assert calls == {
        "create_agent": 2,
        "create_thread": 8,
        "create_message": 21,
        "invoke_agent": 7,  # every create_and_poll
        "start_thread_run": 1,
        "list_messages": 6,
        "list_thread_runs": 1,
        "list_run_steps": 1,
        "chat": 2,
    }
    assert plain(exp["Failures per second by failure class / A"], 60) == {
        "content_filter": 2,  # the blocked prompt, and the invoke_agent of the run the filter cut
        "rate_limited": 1,
        "server_error": 1,  # the invoke_agent of the failed run
    }
    latency = exp["Latency p50 / p95 / p99 by operation / A"]
    assert {driver for (_, (_, driver)) in latency} == {"", "helper"}  # helpers' runs apart from calls
    assert plain(exp["Throttled calls (429) per second by operation / A"], 60) == {"list_thread_runs": 1}
    assert plain(exp["Finished runs by status / A"], 1 / RANGE_MINUTES) == {
        "completed": 5,
        "failed": 1,
        "incomplete": 1,
    }
    tokens = plain(exp["Tokens by type and deployment / A"], 1 / RANGE_MINUTES)
    assert tokens == {
        ("input", "gpt-4o-prod"): 4 * 120 + 2 * 17,
        ("output", "gpt-4o-prod"): 3 * 11 + 3 + 2 * 7,
        ("input", "gpt-4o-mini-eu"): 2 * 120,
        ("output", "gpt-4o-mini-eu"): 2 * 11,
    }
    assert plain(exp[f"{BLOCKED} / A"], 1 / RANGE_MINUTES) == {(): 1}
    assert plain(exp[f"{BLOCKED} / B"], 1 / RANGE_MINUTES) == {(): 1}
    # The scenario drives Assistants runs only: every finished execution is a run, counted once.
    kinds = group_sum(_select(samples, "assistant_telemetry_executions_total"), tuple(RUN), lambda v: v)
    assert plain(kinds) == {"thread.run": 7}
    # Seven runs queued 2 s except the slow one (5 s): p95 lies in the (2, 5] bucket.
    assert round(exp["Run queue and execution time p95 / A"][()], 6) == round(2 + 3 * (0.95 * 7 - 6), 6)
    # Six runs worked 9 s, the slow one 40 s: p95 lies in the (30, 60] bucket.
    assert round(exp["Run queue and execution time p95 / B"][()], 6) == round(30 + 30 * (0.95 * 7 - 6), 6)
    # Five replies, each 11 s (or 12 when a server second ticked): all in the (10, 20] bucket.
    assert 10 < exp["Time to reply p50 / p95 / A"][()] <= exp["Time to reply p50 / p95 / B"][()] <= 20


# ---------------------------------------------------------------------------- promtool


def _go_round(value: float, to_nearest: float = 0.001) -> float:
    inverse = 1.0 / to_nearest
    return math.floor(value * inverse + 0.5) / inverse


def _rounding_step(values: Iterable[float]) -> float:
    """The coarsest of 0.001, 0.0001, 0.00001 that no value sits on the edge of: quantiles interpolate
    between round bucket bounds with rational weights, so a value is often exactly halfway (0.0165),
    where Prometheus' and this test's last bits decide the rounding either way."""
    values = [v for v in values if not math.isnan(v)]
    for step in (0.001, 0.0001, 0.00001):
        if all(abs((v / step) % 1 - 0.5) > 1e-6 for v in values):
            return step
    return 0.000001


def _series_text(name: str, labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _labels_text(key: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in key if v != "") + "}"


def write_unit_tests(tmp: Path, samples: dict[str, Any], exprs: dict[str, str]) -> Path:
    """rules.yml (each dashboard expression as a recording rule) and tests.yml for promtool."""
    names = {name: f"assistant_dashboard:expr_{n}" for n, name in enumerate(sorted(exprs))}
    rules = {
        "groups": [
            {"name": "dashboard", "rules": [{"record": names[k], "expr": exprs[k]} for k in sorted(exprs)]}
        ]
    }
    (tmp / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    series = [
        {"series": _series_text(name, labels), "values": f"0+{value!r}x30"}
        for name, rows in sorted(samples.items())
        if name.startswith(("gen_ai_", "assistant_telemetry_"))
        for labels, value in rows
    ]
    exp = expectations(samples)
    steps = {name: _rounding_step(exp[name].values()) for name in exprs}

    def rounded(name: str, expr: str) -> dict[str, Any]:
        return {
            "expr": f"round({expr}, {steps[name]!r})",
            "eval_time": "20m",
            "exp_samples": [
                {"labels": _labels_text(key), "value": _go_round(value, steps[name])}
                for key, value in sorted(exp[name].items())
                if not math.isnan(value)
            ],
        }

    expr_tests = [rounded(name, exprs[name]) for name in sorted(exprs)]
    # The recording rules hold the same values (evaluated every minute, read at 20m).
    rule_tests = [rounded(name, names[name]) for name in sorted(exprs)]
    alert_tests = [
        {"eval_time": "20m", "alertname": "AssistantCallsFailing", "exp_alerts": []},  # 1 of 49 calls: 2%
        {
            "eval_time": "20m",
            "alertname": "AssistantThrottled",
            "exp_alerts": [
                {
                    "exp_labels": {"severity": "warning", "job": SCRAPE["job"]},
                    "exp_annotations": {"summary": "support-bot: calls to deployment '' are throttled"},
                }
            ],
        },
        {
            "eval_time": "20m",
            "alertname": "AssistantRunsFailing",
            "exp_alerts": [
                {
                    "exp_labels": {
                        "severity": "warning",
                        "job": SCRAPE["job"],
                        "assistant_telemetry_azure_deployment": "gpt-4o-prod",
                        "assistant_telemetry_execution_status": "failed",
                    },
                    "exp_annotations": {"summary": "support-bot: 15 runs failed on 'gpt-4o-prod'"},
                }
            ],
        },
    ]
    (tmp / "alerts.yml").write_text(ALERTS.read_text())
    tests = {
        "rule_files": ["rules.yml", "alerts.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": expr_tests + rule_tests,
                "alert_rule_test": alert_tests,
            }
        ],
    }
    path = tmp / "tests.yml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False, width=10_000))
    return path


def test_promtool_checks_every_expression(tmp_path: Path, samples: Samples) -> None:
    exprs = dashboard_exprs()
    assert len(exprs) == 14
    write_unit_tests(tmp_path, samples, exprs)
    done = tools.promtool("check", "rules", "rules.yml", "alerts.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 14 rules found" in done.stdout and "SUCCESS: 3 rules found" in done.stdout


def test_promtool_unit_tests_pass_on_the_real_series(tmp_path: Path, samples: Samples) -> None:
    """Every panel and alert, on the series of each mode: the same values (the same scenario)."""
    write_unit_tests(tmp_path, samples, dashboard_exprs())
    done = tools.promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
    assert "SUCCESS" in done.stdout


@pytest.mark.parametrize(
    ("name", "right", "wrong"),
    [
        (
            "Finished runs by status / A",
            "sum by (assistant_telemetry_execution_status)",
            "sum by (gen_ai_provider_name)",
        ),
        (
            "Run queue and execution time p95 / B",
            'assistant_telemetry_execution_kind="thread.run"',
            'assistant_telemetry_execution_kind="response"',
        ),
    ],
    ids=["wrong-label", "wrong-kind"],
)
def test_promtool_unit_tests_catch_a_wrong_expression(
    tmp_path: Path, samples: Samples, name: str, right: str, wrong: str
) -> None:
    """The unit test is live: a panel grouping by the wrong label, or reading the wrong kind, fails it."""
    exprs = dashboard_exprs()
    assert right in exprs[name]
    exprs[name] = exprs[name].replace(right, wrong)
    write_unit_tests(tmp_path, samples, exprs)
    done = tools.promtool("test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode != 0 and "FAILED" in done.stdout + done.stderr

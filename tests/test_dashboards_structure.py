"""The shipped dashboard files: built from their sources, unique ids, no hard-coded Azure
resources, datasources only through variables, and every parameter a query uses defined."""

from __future__ import annotations

import importlib.util
import re
import uuid
from typing import Any

import pytest
import yaml

import dashboard_data
import dashboard_tools as tools
from assistant_telemetry import semconv as sc

AZURE_ID = re.compile(r"/subscriptions/|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
GRAFANA_BUILTINS = {"__rate_interval", "__range", "__interval", "__timeFrom", "__timeTo", "__timeFilter"}


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("dashboard_build", tools.TOOLS / "build.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_are_what_build_py_makes() -> None:
    build = _build_module()
    for path, make in build.OUTPUTS.items():
        assert path.read_text() == build.render(make()), (
            f"{path.name} is stale: run python dashboards/tools/build.py"
        )


def test_kql_files_have_their_header() -> None:
    files = tools.kql_files()
    assert {f.section for f in files} == {"health", "runs", "safety", "thread", "anomalies"}
    for f in files:
        assert f.chart in {"table", "timechart"}, f.name
        for name in ("startTime", "endTime", "services", "deployments", "models"):
            assert re.search(rf"^let {name} = ", f.text, re.M), f"{f.name}: no {name} parameter"
        # Counts weigh each row by itemCount (sum(itemCount), sumif(itemCount, ...)): sampling
        # does not skew them. The lists (timeline, anomalies) count nothing.
        assert not re.search(r"\bcount(if)?\(", f.text), f.name
        assert "itemCount" in f.text or f.section in ("thread", "anomalies"), f.name


def test_workbook_structure() -> None:
    workbook = tools.load(tools.WORKBOOK)
    assert workbook["version"] == "Notebook/1.0"
    nodes = list(tools.walk(workbook))
    names = [n["name"] for n in nodes if "type" in n and "name" in n and "content" in n]
    assert len(names) == len(set(names)), "workbook item names must be unique"
    ids = [n["id"] for n in nodes if "id" in n]
    assert len(ids) == len(set(ids))
    assert all(uuid.UUID(i) for i in ids)
    parameters = {
        n["name"] for n in nodes if n.get("version") == "KqlParameterItem/1.0" and "type" in n and "name" in n
    }
    assert {
        "Resource",
        "TimeRange",
        "Service",
        "Deployment",
        "Model",
        "LookupId",
        "StuckAfter",
        "LongThreadMessages",
        "Tab",
    } <= parameters
    resource = next(n for n in nodes if n.get("name") == "Resource" and "typeSettings" in n)
    assert resource["type"] == 5 and resource["typeSettings"]["resourceTypeFilter"] == {
        "microsoft.insights/components": True
    }
    items = [
        n
        for n in nodes
        if isinstance(n.get("content"), dict) and n["content"].get("version") == "KqlItem/1.0"
    ]
    assert len(items) == len(tools.kql_files())
    for item in items:
        content = item["content"]
        assert content["crossComponentResources"] == ["{Resource}"], item[
            "name"
        ]  # the data source is a parameter
        assert content["resourceType"] == "microsoft.insights/components"
        assert content["timeContextFromParameter"] == "TimeRange"
    for name, query in tools.workbook_queries(workbook).items():
        used = {m.split(":")[0] for m in re.findall(r"\{([A-Za-z]+(?::[a-z]+)?)\}", query)}
        assert used <= parameters, f"{name} uses undefined parameters {used - parameters}"
    tabs = {link["subTarget"] for n in nodes for link in n.get("links", [])}
    shown = {n["conditionalVisibility"]["value"] for n in nodes if "conditionalVisibility" in n}
    assert tabs == shown == {"health", "runs", "safety", "thread", "anomalies"}


@pytest.mark.parametrize(
    "path", [tools.WORKBOOK, tools.GRAFANA_PROMETHEUS, tools.GRAFANA_AZURE], ids=lambda p: p.name
)
def test_no_hard_coded_azure_resources(path: Any) -> None:
    document = tools.load(path)
    for node in tools.walk(document):
        for key, value in node.items():
            if isinstance(value, str) and key != "id":
                assert not AZURE_ID.search(value), f"{path.name}: {key} = {value[:80]!r}"


@pytest.mark.parametrize("path", [tools.GRAFANA_PROMETHEUS, tools.GRAFANA_AZURE], ids=lambda p: p.name)
def test_grafana_structure(path: Any) -> None:
    dashboard = tools.load(path)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasources = {name for name, v in variables.items() if v["type"] == "datasource"}
    assert datasources, "datasources must be template variables"
    panel_ids = [p["id"] for p in dashboard["panels"]]
    assert len(panel_ids) == len(set(panel_ids))
    assert dashboard["uid"] and "id" not in dashboard  # Grafana assigns the numeric id on import
    for node in tools.walk(dashboard):
        ds = node.get("datasource")
        if ds is not None:
            assert isinstance(ds, dict), f"datasource given by name: {ds!r}"
            assert re.fullmatch(r"\$\{(\w+)\}", ds["uid"]) and ds["uid"][2:-1] in datasources, ds
    for panel, target in tools.grafana_targets(dashboard):
        text = target.get("expr") or target.get("query") or target["azureLogAnalytics"]["query"]
        # label_replace's "$1" is a regex group reference, which Grafana leaves alone (no variable
        # name is all digits).
        used = {name for name in re.findall(r"\$\{?(\w+)", text) if not name.isdigit()}
        assert used <= set(variables) | GRAFANA_BUILTINS, (
            f"{panel['title']}: undefined {used - set(variables) - GRAFANA_BUILTINS}"
        )
        if "azureLogAnalytics" in target:
            assert target["azureLogAnalytics"]["resources"] == ["$resource"]


COLLECTOR = tools.ROOT / "examples" / "collector" / "otel-collector.yaml"


def test_collector_pipelines_are_wired() -> None:
    config = yaml.safe_load(COLLECTOR.read_text())
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        for kind in ("receivers", "processors", "exporters"):
            assert set(pipeline.get(kind, [])) <= set(config[kind]), f"undefined {kind} in {pipeline}"
    traces, metrics = pipelines["traces"], pipelines["metrics"]
    assert traces["processors"] == ["memory_limiter", "tail_sampling", "batch"]
    assert set(traces["exporters"]) == {"otlp/tempo", "azuremonitor"}
    assert "tail_sampling" not in metrics["processors"]  # metrics stay exact
    assert set(metrics["exporters"]) == {"prometheus", "azuremonitor"}


def test_collector_tail_sampling_keeps_what_matters() -> None:
    """The policies, evaluated on the scenario's traces, keep every failed call, every filtered
    call, every run that did not complete, the slow run and the retried call, and nothing else
    (before the 10% baseline)."""
    policies = yaml.safe_load(COLLECTOR.read_text())["processors"]["tail_sampling"]["policies"]
    known = {v for v in vars(sc).values() if isinstance(v, str)}

    def number(dims: dict[str, str], key: str) -> float | None:
        return float(dims[key]) if key in dims else None

    def keeps(policy: dict[str, Any], row: dict[str, Any]) -> bool:
        dims = row["customDimensions"]
        kind = policy["type"]
        if kind == "status_code":
            return row.get("success") is False
        if kind == "string_attribute":
            spec = policy["string_attribute"]
            assert spec["key"] in known
            return dims.get(spec["key"]) in spec["values"]
        if kind == "ottl_condition":
            (condition,) = policy["ottl_condition"]["span"]
            key, op, bound = re.fullmatch(r'attributes\["([\w.]+)"\] (>=|>) ([\d.]+)', condition).groups()  # type: ignore[union-attr]
            assert key in known
            value = number(dims, key)
            return value is not None and (value >= float(bound) if op == ">=" else value > float(bound))
        if kind == "latency":
            return bool(row.get("duration", 0) >= policy["latency"]["threshold_ms"])
        assert kind == "probabilistic"
        return False

    data = dashboard_data.scenario()
    rows = data.tables["dependencies"]
    kept = {r["operation_Id"] for r in rows for p in policies if keeps(p, r)}
    web = {
        r["operation_Id"]: r["customDimensions"].get(sc.CORRELATION_REQUEST_ID)
        for r in rows
        if sc.CORRELATION_REQUEST_ID in r["customDimensions"]
    }
    assert sorted(web[t] for t in kept if t in web) == sorted(
        ["web-3", "web-4", "web-5", "web-6", "web-9", "web-11"]
    )  # throttled + failed run, blocked prompt, cut answer, retried message, slow run, filtered chats

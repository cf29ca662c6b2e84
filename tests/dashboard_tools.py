"""The real tools the dashboard tests check queries with, and the dashboards' queries as shipped.

- ``kql_diagnostics``: Microsoft's Kusto language service (npm ``@kusto/language-service-next``)
  through ``dashboards/tools/kql_check.js``;
- ``traceql_errors``: Grafana's TraceQL grammar (npm ``@grafana/lezer-traceql``) through
  ``dashboards/tools/traceql_check.mjs``;
- ``promtool``: Debian's ``prometheus`` package.

``make dashboard-tools`` installs them (the test target depends on it). The query helpers read
the files users import (``dashboards/**``) and substitute their parameters the way the workbook,
Grafana or a person editing a ``let`` line would.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "dashboards"
TOOLS = DASHBOARDS / "tools"
KQL_DIR = DASHBOARDS / "kql"
WORKBOOK = DASHBOARDS / "application-insights" / "assistant-telemetry.workbook.json"
GRAFANA_PROMETHEUS = DASHBOARDS / "grafana" / "assistant-telemetry-prometheus-tempo.json"
GRAFANA_AZURE = DASHBOARDS / "grafana" / "assistant-telemetry-azure-monitor.json"
SETUP_HINT = "run `make dashboard-tools` (npm ci in dashboards/tools, apt-get install prometheus)"


def _node_tool(script: str, payload: Any) -> Any:
    if not (TOOLS / "node_modules").is_dir():
        raise AssertionError(f"dashboards/tools/node_modules is missing: {SETUP_HINT}")
    done = subprocess.run(
        ["node", str(TOOLS / script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=TOOLS,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def kql_diagnostics(
    queries: Mapping[str, str], schema: Mapping[str, Mapping[str, str]]
) -> dict[str, list[dict]]:
    """{name: [diagnostic]} from KustoCode.ParseAndAnalyze against the declared tables."""
    return _node_tool("kql_check.js", {"tables": schema, "queries": dict(queries)})  # type: ignore[no-any-return]


def traceql_errors(queries: Mapping[str, str]) -> dict[str, list[dict]]:
    """{name: [error node]} from Grafana's TraceQL parser."""
    parsed = _node_tool("traceql_check.mjs", dict(queries))
    return {name: result["errors"] for name, result in parsed.items()}


def promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    if binary is None:
        raise AssertionError(f"promtool is missing: {SETUP_HINT}")
    return subprocess.run([binary, *args], capture_output=True, text=True, cwd=cwd, timeout=120, check=False)


# ------------------------------------------------------------------------------ KQL files


@dataclass(frozen=True)
class KqlFile:
    path: Path
    title: str
    section: str
    chart: str
    text: str

    @property
    def name(self) -> str:
        return self.path.stem


def kql_files() -> list[KqlFile]:
    files = []
    for path in sorted(KQL_DIR.glob("*.kql")):
        text = path.read_text()
        meta = dict(re.findall(r"^// (title|section|chart): (.+)$", text, flags=re.M))
        files.append(KqlFile(path, meta["title"], meta["section"], meta["chart"], text))
    return files


_LET = re.compile(r"^let (\w+) = (.+?);(.*)$", re.M)


def set_lets(text: str, values: Mapping[str, str]) -> str:
    """Replace the value of top-level ``let name = value;`` lines (the parameters) by name."""
    seen: set[str] = set()

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        seen.add(name)
        return f"let {name} = {values[name]};{match.group(3)}"

    out = _LET.sub(swap, text)
    missing = set(values) - seen
    assert not missing, f"no let line for {sorted(missing)}"
    return out


# ------------------------------------------------------------------------ shipped dashboards


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def walk(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in a document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def workbook_queries(workbook: Any) -> dict[str, str]:
    """{item or parameter name: KQL} of every query in the workbook (items and parameter pickers)."""
    found: dict[str, str] = {}
    for node in walk(workbook):
        content = node.get("content") if isinstance(node.get("content"), dict) else None
        if content and content.get("version") == "KqlItem/1.0":
            found[node["name"]] = content["query"]
        if node.get("version") == "KqlParameterItem/1.0" and node.get("query"):
            found[f"parameter:{node['name']}"] = node["query"]
    return found


# What a person picks in the workbook; the test data's clock decides the time range.
def workbook_values(start: str, end: str, **extra: str) -> dict[str, str]:
    values = {
        "TimeRange:start": start,
        "TimeRange:end": end,
        "TimeRange:grain": "5m",
        "Service": "",
        "Deployment": "",
        "Model": "",
        "LookupId": "",
        "StuckAfter": "15m",
        "LongThreadMessages": "50",
    }
    values.update(extra)
    return values


def substitute_workbook(query: str, values: Mapping[str, str]) -> str:
    """Expand ``{Name}`` / ``{Name:format}`` as the workbook does; unknown parameters fail."""

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise AssertionError(f"workbook parameter {{{key}}} has no test value")
        return values[key]

    return re.sub(r"\{([A-Za-z]+(?::[a-z]+)?)\}", value, query)


def grafana_targets(dashboard: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query target of every panel."""
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield panel, target


def substitute_grafana(query: str, values: Mapping[str, str]) -> str:
    """Expand Grafana's ``$__macro()``, ``$var``, ``${var}`` and ``${var:format}`` references."""

    def value(match: re.Match[str]) -> str:
        key = next(g for g in match.groups() if g)
        if key not in values:
            raise AssertionError(f"Grafana variable {key} has no test value")
        return values[key]

    pattern = r"\$\{([A-Za-z_]+(?::[a-z]+)?)\}|\$(__[A-Za-z_]+\(\))|\$(__[A-Za-z_]+|[A-Za-z_]+)"
    return re.sub(pattern, value, query)

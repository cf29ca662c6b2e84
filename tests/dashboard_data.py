"""The dashboards' test data: tests/apps/dashboard_scenario.py, exported for real, as App Insights rows.

``scenario()`` runs the app once per test session in a subprocess through the real Azure
Monitor distro into the loopback ingestion receiver, and maps each envelope to the row
Application Insights stores for it (``dependencies``, ``requests``, ``traces``,
``customMetrics``, with the classic App Insights column names and types). ``duckdb()`` loads
those rows into DuckDB for ``duckdb-kql``. ``prometheus_exposition()`` runs the same app with
the real ``opentelemetry-exporter-prometheus`` reader and returns the text a Prometheus server
would scrape.

Columns (``SCHEMA``) are those of the classic Application Insights tables the workbook queries;
the Kusto language service check declares the same ones. ``itemCount`` comes from the
envelope's ``sampleRate`` as App Insights computes it (100 / rate), so ``sum(itemCount)`` in
a query counts what sampling dropped.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, azure_connection_string

APP = Path(__file__).parent / "apps" / "dashboard_scenario.py"
SERVICE = "support-bot"

_COMMON = {
    "timestamp": "datetime",
    "itemType": "string",
    "operation_Id": "string",
    "operation_ParentId": "string",
    "operation_Name": "string",
    "session_Id": "string",
    "user_Id": "string",
    "cloud_RoleName": "string",
    "cloud_RoleInstance": "string",
    "appName": "string",
    "iKey": "string",
    "sdkVersion": "string",
    "itemId": "string",
    "itemCount": "int",
    "customDimensions": "dynamic",
    "customMeasurements": "dynamic",
}
# Kusto column types of the classic Application Insights tables (the workbook's schema).
SCHEMA: dict[str, dict[str, str]] = {
    "dependencies": {
        **_COMMON,
        "id": "string",
        "target": "string",
        "type": "string",
        "name": "string",
        "data": "string",
        "success": "bool",
        "resultCode": "string",
        "duration": "real",
        "performanceBucket": "string",
    },
    "requests": {
        **_COMMON,
        "id": "string",
        "source": "string",
        "name": "string",
        "url": "string",
        "success": "bool",
        "resultCode": "string",
        "duration": "real",
        "performanceBucket": "string",
    },
    "traces": {**_COMMON, "message": "string", "severityLevel": "int"},
    "customMetrics": {
        **_COMMON,
        "name": "string",
        "value": "real",
        "valueCount": "int",
        "valueSum": "real",
        "valueMin": "real",
        "valueMax": "real",
        "valueStdDev": "real",
    },
    "exceptions": {
        **_COMMON,
        "problemId": "string",
        "type": "string",
        "outerMessage": "string",
        "severityLevel": "int",
        "details": "dynamic",
    },
}
_DUCK_TYPES = {
    "datetime": "TIMESTAMP",
    "string": "VARCHAR",
    "int": "BIGINT",
    "real": "DOUBLE",
    "bool": "BOOLEAN",
    "dynamic": "JSON",
}
_TABLE_OF = {
    "RemoteDependencyData": ("dependencies", "dependency"),
    "RequestData": ("requests", "request"),
    "MessageData": ("traces", "trace"),
    "ExceptionData": ("exceptions", "exception"),
    "MetricData": ("customMetrics", "customMetric"),
}


@functools.lru_cache(maxsize=1)
def scenario() -> Scenario:
    """The scenario exported through the real Azure Monitor distro, once per test session."""
    with AzureIngestionReceiver() as receiver:
        env = _clean_env() | AZURE_TEST_ENV
        env |= {
            "APPLICATIONINSIGHTS_CONNECTION_STRING": azure_connection_string(receiver),
            "OTEL_TRACES_SAMPLER": "always_on",  # the distro samples 5 traces/s by default
            "OTEL_SERVICE_NAME": SERVICE,
        }
        ids = _run(env)
        # The distro flushes spans, logs and metrics at shutdown; wait for the last metric batch.
        receiver.wait_for(lambda: any(_is_metric(e) for e in receiver.envelopes), timeout=30)
        envelopes = receiver.envelopes
    return Scenario(ids=ids, envelopes=envelopes, tables=app_insights_tables(envelopes))


@functools.lru_cache(maxsize=3)
def prometheus_exposition(mode: str | None = None) -> str:
    """The scenario's metrics as opentelemetry-exporter-prometheus exposes them for scraping, in the
    default semconv mode or ``mode`` (OTEL_SEMCONV_STABILITY_OPT_IN, e.g. gen_ai_latest_experimental)."""
    env = _clean_env() | {"OTEL_SERVICE_NAME": SERVICE}
    if mode is not None:
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = mode
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "metrics.prom"
        _run(env, "--prometheus", str(target))
        return target.read_text()


class Scenario:
    def __init__(
        self, ids: dict[str, Any], envelopes: list[dict[str, Any]], tables: dict[str, list[dict[str, Any]]]
    ):
        self.ids = ids
        self.envelopes = envelopes
        self.tables = tables


def _clean_env() -> dict[str, str]:
    routing = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "ASSISTANT_TELEMETRY_FILE")
    return {k: v for k, v in os.environ.items() if k not in routing and not k.startswith("OTEL_")}


def _run(env: Mapping[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(APP), *args], env=dict(env), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _is_metric(envelope: Mapping[str, Any]) -> bool:
    metrics = envelope.get("data", {}).get("baseData", {}).get("metrics") or []
    return any(str(m.get("name", "")).startswith("assistant_telemetry.") for m in metrics)


# ------------------------------------------------------------------ envelopes -> rows


def _duration_ms(value: str | None) -> float | None:
    """``d.hh:mm:ss.ffffff`` -> milliseconds."""
    if not value:
        return None
    days, _, clock = value.partition(".")
    hours, minutes, seconds = clock.split(":")
    return (((int(days) * 24 + int(hours)) * 60 + int(minutes)) * 60 + float(seconds)) * 1000.0


def _timestamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)


def _common(envelope: Mapping[str, Any], item_type: str) -> dict[str, Any]:
    tags = envelope.get("tags", {})
    base = envelope["data"]["baseData"]
    rate = envelope.get("sampleRate") or 100.0
    return {
        "timestamp": _timestamp(envelope["time"]),
        "itemType": item_type,
        "operation_Id": tags.get("ai.operation.id"),
        "operation_ParentId": tags.get("ai.operation.parentId"),
        "operation_Name": tags.get("ai.operation.name"),
        "session_Id": tags.get("ai.session.id"),
        "user_Id": tags.get("ai.user.id"),
        "cloud_RoleName": tags.get("ai.cloud.role"),
        "cloud_RoleInstance": tags.get("ai.cloud.roleInstance"),
        "appName": "assistant-telemetry-test",
        "iKey": envelope.get("iKey"),
        "sdkVersion": tags.get("ai.internal.sdkVersion"),
        "itemId": None,
        "itemCount": round(100.0 / rate),
        "customDimensions": dict(base.get("properties") or {}),
        "customMeasurements": dict(base.get("measurements") or {}),
    }


def _rows(envelope: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    table, item_type = _TABLE_OF[envelope["data"]["baseType"]]
    base = envelope["data"]["baseData"]
    row = _common(envelope, item_type)
    if table in ("dependencies", "requests"):
        row |= {
            "id": base.get("id"),
            "name": base.get("name"),
            "success": base.get("success"),
            "resultCode": base.get("resultCode", base.get("responseCode")),
            "duration": _duration_ms(base.get("duration")),
            "performanceBucket": None,
        }
        if table == "dependencies":
            row |= {"target": base.get("target"), "type": base.get("type"), "data": base.get("data")}
        else:
            row |= {"source": base.get("source"), "url": base.get("url")}
        return table, [row]
    if table == "traces":
        return table, [row | {"message": base.get("message"), "severityLevel": base.get("severityLevel")}]
    if table == "exceptions":
        first = (base.get("exceptions") or [{}])[0]
        return table, [
            row
            | {
                "problemId": base.get("problemId"),
                "type": first.get("typeName"),
                "outerMessage": first.get("message"),
                "severityLevel": base.get("severityLevel"),
                "details": base.get("exceptions"),
            }
        ]
    return table, [
        row
        | {
            "name": point.get("name"),
            "value": point.get("value"),
            "valueCount": point.get("count", 1),
            "valueSum": point.get("value"),
            "valueMin": point.get("min", point.get("value")),
            "valueMax": point.get("max", point.get("value")),
            "valueStdDev": point.get("stdDev", 0.0),
        }
        for point in base.get("metrics", [])
        if point.get("name") != "_OTELRESOURCE_"  # the exporter's resource marker, not stored
    ]


def app_insights_tables(envelopes: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Envelopes -> {table: rows} with the App Insights column names of ``SCHEMA``."""
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMA}
    for envelope in envelopes:
        if envelope.get("data", {}).get("baseType") in _TABLE_OF:
            table, rows = _rows(envelope)
            tables[table].extend(rows)
    return tables


def duckdb(tables: Mapping[str, list[dict[str, Any]]]) -> Any:
    """A duckdb-kql connection holding the tables, typed as ``SCHEMA`` says."""
    import duckdb_kql

    con = duckdb_kql.connect()
    for table, columns in SCHEMA.items():
        con.sql(f'CREATE TABLE "{table}" ({", ".join(f"{c} {_DUCK_TYPES[t]}" for c, t in columns.items())})')
        rows = [
            [json.dumps(row.get(c)) if t == "dynamic" else row.get(c) for c, t in columns.items()]
            for row in tables.get(table, [])
        ]
        if rows:
            con.executemany(f'INSERT INTO "{table}" VALUES ({", ".join("?" for _ in columns)})', rows)
    return con

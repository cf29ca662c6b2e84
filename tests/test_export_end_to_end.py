"""The one-call setup in a real process: environment -> exporter -> loopback receiver.

Each test runs tests/apps/conversation.py (``assistant_telemetry.instrument()`` with no
destination argument, then plain openai code) in a subprocess, so global providers and
the environment-driven exporter choice behave exactly as in an application.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from assistant_telemetry import semconv as sc

from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, OtlpReceiver, azure_connection_string
from scenarios import CANARY_STRINGS

APP = Path(__file__).parent / "apps" / "conversation.py"
ROUTING_ENV = (
    "APPLICATIONINSIGHTS_CONNECTION_STRING",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "ASSISTANT_TELEMETRY_FILE",
)


def run_app(cwd: Path, **env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if k not in ROUTING_ENV and not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, str(APP)], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_otlp_from_environment(tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        ids = run_app(
            tmp_path, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, OTEL_SERVICE_NAME="shop-assistant"
        )
        spans = receiver.wait_for(lambda: receiver.spans if len(receiver.spans) >= 25 else None)
        metrics = receiver.wait_for(lambda: receiver.metrics or None)
        assert ids["exporter"] == "otlp"
        by_name = {s["name"]: s for s in spans}
        message = by_name["create_message"]
        assert message["attributes"][sc.MESSAGE_ID] == ids["message"]
        assert message["attributes"][sc.THREAD_ID] == ids["thread"]
        assert message["attributes"][sc.REQUEST_ID].startswith("req_")
        assert message["resource"]["service.name"] == "shop-assistant"
        step = by_name["get_run_step"]["attributes"]
        assert (step[sc.RUN_ID], step[sc.MESSAGE_ID]) == (ids["run"], ids["reply"])
        blocked = [s for s in spans if s["attributes"].get(sc.FAILURE_CLASS) == "content_filter"]
        assert len(blocked) == 1 and blocked[0]["status_code"] == 2
        duration = next(m for m in metrics if m["name"] == sc.METRIC_OPERATION_DURATION)
        assert duration["kind"] == "histogram"
        exemplar_spans = {e["span_id"] for p in duration["points"] for e in p["exemplars"]}
        assert exemplar_spans & {s["span_id"] for s in spans}  # metrics link to spans
        assert not any(receiver.body_contains(c) for c in CANARY_STRINGS)


def test_azure_monitor_from_environment(tmp_path: Path) -> None:
    with AzureIngestionReceiver() as receiver:
        # The distro samples 5 traces/s by default; the test wants every span.
        connection = azure_connection_string(receiver)
        env = {**AZURE_TEST_ENV, "OTEL_TRACES_SAMPLER": "always_on"}
        ids = run_app(tmp_path, APPLICATIONINSIGHTS_CONNECTION_STRING=connection, **env)
        rows = receiver.wait_for(
            lambda: receiver.dependencies() if len(receiver.dependencies()) >= 25 else None
        )
        assert ids["exporter"] == "azure-monitor"
        ours = [r for r in rows if r["type"] == "GenAI | openai"]
        message = next(r for r in ours if r["name"] == "create_message")
        dims = message["customDimensions"]
        assert dims[sc.MESSAGE_ID] == ids["message"]
        assert dims[sc.CONVERSATION_ID] == dims[sc.THREAD_ID] == ids["thread"]
        assert dims[sc.REQUEST_ID].startswith("req_")
        assert dims[sc.SERVER_HOST] == "127.0.0.1"
        assert dims[sc.OPERATION_NAME] == "create_message"
        run = next(r for r in ours if r["name"] == "start_thread_run")["customDimensions"]
        assert (run[sc.RUN_ID], run[sc.AGENT_ID]) == (ids["run"], ids["assistant"])
        blocked = next(r for r in ours if r["customDimensions"].get(sc.FAILURE_CLASS) == "content_filter")
        assert blocked["success"] is False
        assert blocked["customDimensions"][sc.HTTP_STATUS_CODE] == "400"
        assert sc.ERROR_TYPE not in blocked["customDimensions"]  # dropped by the exporter: hence our twin
        assert len({r["id"] for r in rows}) == len(rows)  # one envelope per span: none exported twice
        top = [r for r in ours if not r["operation_ParentId"]]
        assert len({r["operation_Id"] for r in top}) == len(top)  # one trace per top-level call
        # The rest are the tool calls of the app's runs (tools.py), in their run's trace.
        by_id = {r["id"]: r for r in ours}
        tools = [r for r in ours if r["operation_ParentId"]]
        assert tools and {r["customDimensions"][sc.OPERATION_NAME] for r in tools} == {sc.OP_EXECUTE_TOOL}
        assert all(by_id[r["operation_ParentId"]]["operation_Id"] == r["operation_Id"] for r in tools)
        assert not any(receiver.body_contains(c) for c in CANARY_STRINGS)


def test_local_file_is_the_default(tmp_path: Path) -> None:
    ids = run_app(tmp_path)
    assert ids["exporter"] == "file"
    path = tmp_path / "assistant-telemetry.jsonl"
    assert Path(ids["file"]).resolve() == path.resolve() or ids["file"] == "assistant-telemetry.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    spans = [r for r in records if r["signal"] == "span"]
    assert any(s["attributes"].get(sc.MESSAGE_ID) == ids["message"] for s in spans)
    assert any(r["signal"] == "metric" and r["name"] == sc.METRIC_OPERATION_DURATION for r in records)
    assert not any(c in path.read_text() for c in CANARY_STRINGS)


def test_file_path_from_environment(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "telemetry.jsonl"
    ids = run_app(tmp_path, ASSISTANT_TELEMETRY_FILE=str(target))
    assert ids["file"] == str(target)
    assert ids["message"] in target.read_text()

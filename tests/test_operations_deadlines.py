"""Deadlines: flush, uninstrument and exit return within their bounds when the backend hangs.

Real processes against black-hole endpoints on 127.0.0.1 (tests/receivers.py ``hang``): the OTLP
receiver and the Azure Monitor ingestion endpoint accept connections and never answer.

Exit is timed twice. Inside the app, from its report to the end of the last exit handler (after
``instrument()``'s, and after the interpreter joined non-daemon threads): the deadline itself, held
to its bound plus a little scheduling slack. From outside, to the process's end: the interpreter's
teardown comes on top (freeing modules, no Python frame left: seconds on a loaded machine, 21 s seen
beside three busy test runs), so it is held to three times the bound; a hang is unbounded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from assistant_telemetry.pipeline import EXIT_TIMEOUT_S

from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, OtlpReceiver, azure_connection_string

SRC = str(Path(__file__).resolve().parents[1] / "src")
SLACK_S = 3.0  # a loaded machine's scheduling on top of the bound; a hang is unbounded

APP = """
import atexit, json, os, sys, time
reported = []
# Registered before instrument()'s exit handler, so it runs after that one (last in, first out).
atexit.register(lambda: print(json.dumps({{"exit_handlers_s": time.monotonic() - reported[0]}}), flush=True))
import openai, assistant_telemetry
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from assistant_telemetry.simulator import Simulator
session = {setup}
counted = InMemoryMetricReader()  # sees instrumentation.errors, which the hung backend never gets
session.meter_provider.add_metric_reader(counted)
with Simulator() as sim:
    client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
    for _ in range(50):
        client.beta.threads.create()
started = time.monotonic()
flushed = session.flush(timeout_millis=1500)
flush_s = time.monotonic() - started
errors = 0
for rm in counted.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            if metric.name == "assistant_telemetry.instrumentation.errors":
                errors += sum(int(p.value) for p in metric.data.data_points)
{after}
print(json.dumps({{"flushed": flushed, "flush_s": flush_s, "errors": errors, **report}}), flush=True)
reported.append(time.monotonic())
"""
UNINSTRUMENT = """
started = time.monotonic()
assistant_telemetry.uninstrument()
report = {"uninstrument_s": time.monotonic() - started}
"""
EXIT = "report = {}"


def run_app(tmp_path: Path, setup: str, after: str, **env: str) -> tuple[dict[str, Any], float]:
    (tmp_path / "app.py").write_text(APP.format(setup=setup, after=textwrap.dedent(after)))
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS"))}
    process = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": SRC, **AZURE_TEST_ENV, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    reported = time.monotonic()
    try:
        process.wait(timeout=120)
    finally:
        process.kill()
    exit_s = time.monotonic() - reported
    assert line, process.stderr.read()[-3000:] if process.stderr else ""
    after_exit = process.stdout.readline()
    assert after_exit, "the app's last exit handler did not run"
    return {**json.loads(line), **json.loads(after_exit)}, exit_s


def assert_exit_bounded(report: dict[str, Any], exit_s: float) -> None:
    assert report["exit_handlers_s"] <= EXIT_TIMEOUT_S + SLACK_S, report
    assert exit_s <= 3 * EXIT_TIMEOUT_S, f"the process took {exit_s:.1f} s to end"


OTLP = 'assistant_telemetry.instrument(exporter="otlp", otlp_endpoint=os.environ["ENDPOINT"])'
AZURE = (
    'assistant_telemetry.instrument(exporter="azure-monitor", connection_string=os.environ["CONNECTION"],'
    ' azure_monitor_options={"disable_offline_storage": True, "enable_live_metrics": False, "sampling_ratio": 1.0})'
)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("after", [UNINSTRUMENT, EXIT], ids=["uninstrument", "exit"])
def test_black_hole_otlp(tmp_path: Path, after: str) -> None:
    with OtlpReceiver() as receiver:
        receiver.hang = True
        report, exit_s = run_app(tmp_path, OTLP, after, ENDPOINT=receiver.endpoint)
        receiver.hang = False
    assert report["flushed"] is False
    assert report["flush_s"] <= 1.5 + SLACK_S
    assert report["errors"] >= 1, "the drop was not counted"
    if after == UNINSTRUMENT:
        assert report["uninstrument_s"] <= 10 + SLACK_S
    assert_exit_bounded(report, exit_s)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("after", [UNINSTRUMENT, EXIT], ids=["uninstrument", "exit"])
def test_black_hole_azure_ingestion(tmp_path: Path, after: str) -> None:
    with AzureIngestionReceiver() as receiver:
        receiver.hang = True
        report, exit_s = run_app(tmp_path, AZURE, after, CONNECTION=azure_connection_string(receiver))
        receiver.hang = False
    assert report["flushed"] is False
    assert report["flush_s"] <= 1.5 + SLACK_S
    assert report["errors"] >= 1
    if after == UNINSTRUMENT:
        assert report["uninstrument_s"] <= 10 + SLACK_S
    assert_exit_bounded(report, exit_s)

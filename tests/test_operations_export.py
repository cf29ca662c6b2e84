"""One export chain whatever sets the pipeline up first; uninstrument() takes off what instrument() added.

Every case is a real application process: `opentelemetry-instrument` with OTLP into the loopback
receiver, `configure_azure_monitor()` before `instrument()` into a loopback ingestion endpoint, an
explicit exporter over an existing pipeline, and file -> uninstrument -> otlp.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from receivers import AZURE_TEST_ENV, AzureIngestionReceiver, OtlpReceiver, azure_connection_string

SRC = str(Path(__file__).resolve().parents[1] / "src")
# Records every WARNING (or worse) logged while instrument() runs, and how many spans the app ended.
PRELUDE = """
import json, logging, sys
class Keep(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.seen = []
    def emit(self, record):
        self.seen.append(f"{record.name}: {record.getMessage()}")
keep = Keep()
logging.getLogger().addHandler(keep)
import openai
import assistant_telemetry
from assistant_telemetry.simulator import Simulator
"""


def clean_env(**env: str) -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS", "ASSISTANT_TELEMETRY_"))
    }
    return {**base, "PYTHONPATH": os.pathsep.join([SRC, base.get("PYTHONPATH", "")]), **env}


def run(code: str, tmp_path: Path, command: list[str] | None = None, **env: str) -> dict[str, Any]:
    script = tmp_path / "app.py"
    script.write_text(PRELUDE + textwrap.dedent(code))
    done = subprocess.run(
        [*(command or []), sys.executable, str(script)],
        cwd=tmp_path,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def sdk_configurator(tmp_path: Path) -> str:
    """What opentelemetry-distro registers: the SDK's own configurator, as an entry point.

    The Azure distro installed here brings only its own configurator, which needs a connection
    string; this registers the SDK's under the name ``sdk`` (selected by OTEL_PYTHON_CONFIGURATOR).
    """
    info = tmp_path / "site" / "sdk_configurator-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: sdk-configurator\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[opentelemetry_configurator]\nsdk = opentelemetry.sdk._configuration:_OTelSDKConfigurator\n"
    )
    return str(info.parent)


@pytest.mark.timeout(180)
def test_opentelemetry_instrument_with_otlp_exports_each_span_once(tmp_path: Path) -> None:
    code = """
    session = assistant_telemetry.instrument()  # OTEL_EXPORTER_OTLP_ENDPOINT is set as well
    during = list(keep.seen)
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
        thread = client.beta.threads.create()
        client.beta.threads.messages.create(thread.id, role="user", content="hi")
    assert session.flush(5000)
    print(json.dumps({"exporter": session.exporter, "warnings": during}))
    """
    with OtlpReceiver() as receiver:
        command = str(Path(sys.executable).parent / "opentelemetry-instrument")
        report = run(
            code,
            tmp_path,
            [command],
            PYTHONPATH=os.pathsep.join([SRC, sdk_configurator(tmp_path)]),
            OTEL_PYTHON_CONFIGURATOR="sdk",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="otlp",
            OTEL_LOGS_EXPORTER="none",
            **AZURE_TEST_ENV,
        )
        spans = receiver.wait_for(lambda: receiver.spans if len(receiver.spans) >= 2 else None)
    ours = [s for s in spans if s["scope"] == "assistant_telemetry"]
    assert report["exporter"] == "existing"
    assert report["warnings"] == []
    assert sorted(s["name"] for s in ours) == ["create_message", "create_thread"]
    ids = [s["span_id"] for s in spans]
    assert len(ids) == len(set(ids)), "a span reached the collector twice"


@pytest.mark.timeout(180)
def test_configure_azure_monitor_first_then_instrument(tmp_path: Path) -> None:
    code = """
    import os
    from opentelemetry import trace
    from opentelemetry.sdk.trace import SpanProcessor
    from azure.monitor.opentelemetry import configure_azure_monitor

    class Ended(SpanProcessor):
        ids = []
        def on_end(self, span):
            if span.instrumentation_scope.name == "assistant_telemetry":
                self.ids.append(format(span.context.span_id, "016x"))

    configure_azure_monitor(
        connection_string=os.environ["APPLICATIONINSIGHTS_CONNECTION_STRING"],
        disable_offline_storage=True, enable_live_metrics=False, sampling_ratio=1.0,
    )
    trace.get_tracer_provider().add_span_processor(Ended())
    before = len(keep.seen)
    session = assistant_telemetry.instrument()  # the connection string is in the environment
    during = keep.seen[before:]
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
        for _ in range(3):
            client.beta.threads.create()
    assert session.flush(5000)
    print(json.dumps({"exporter": session.exporter, "warnings": during, "ended": Ended.ids}))
    """
    with AzureIngestionReceiver() as receiver:
        report = run(
            code,
            tmp_path,
            APPLICATIONINSIGHTS_CONNECTION_STRING=azure_connection_string(receiver),
            **AZURE_TEST_ENV,
        )
        rows = receiver.wait_for(
            lambda: receiver.dependencies() if len(receiver.dependencies()) >= 3 else None
        )
        ours = [r for r in rows if r["name"] == "create_thread"]
    assert report["exporter"] == "existing"
    assert report["warnings"] == [], "instrument() logged warnings (they would ship to App Insights)"
    assert len(report["ended"]) == 3
    assert sorted(r["id"] for r in ours) == sorted(report["ended"]), "not one envelope per span"
    assert not [r for r in receiver.traces() if "Overriding" in r["message"] or "already" in r["message"]]


@pytest.mark.timeout(120)
def test_explicit_exporter_over_an_existing_pipeline_is_a_choice(tmp_path: Path) -> None:
    code = """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    mine = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(mine))
    trace.set_tracer_provider(provider)
    try:
        assistant_telemetry.instrument(exporter="file", file_path="out.jsonl")
        refused = None
    except assistant_telemetry.ExistingProviderError as error:
        refused = str(error)
    session = assistant_telemetry.instrument(exporter="file", file_path="out.jsonl", alongside=True)
    with Simulator() as sim:
        openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
    assert session.flush(5000)
    lines = [json.loads(line) for line in open("out.jsonl")]
    print(json.dumps({
        "refused": refused,
        "mine": [s.name for s in mine.get_finished_spans()],
        "file": [r["name"] for r in lines if r["signal"] == "span"],
    }))
    """
    report = run(code, tmp_path)
    assert "alongside=True" in report["refused"] and "without exporter=" in report["refused"]
    assert report["mine"] == ["create_thread"]
    assert report["file"] == ["create_thread"]


@pytest.mark.timeout(120)
def test_file_then_uninstrument_then_otlp(tmp_path: Path) -> None:
    code = """
    import os
    session = assistant_telemetry.instrument(exporter="file", file_path="out.jsonl")
    with Simulator() as sim:
        client = openai.OpenAI(base_url=sim.base_url, api_key="k", max_retries=0)
        client.beta.threads.create()
        assistant_telemetry.uninstrument()
        size = os.path.getsize("out.jsonl")
        session = assistant_telemetry.instrument(exporter="otlp", otlp_endpoint=os.environ["RECEIVER"])
        for _ in range(3):
            client.beta.threads.create()
        assert session.flush(5000)
    print(json.dumps({"exporter": session.exporter, "size": size, "after": os.path.getsize("out.jsonl")}))
    """
    with OtlpReceiver() as receiver:
        report = run(code, tmp_path, RECEIVER=receiver.endpoint)
        spans = receiver.wait_for(lambda: receiver.spans if len(receiver.spans) >= 3 else None)
        metrics = receiver.wait_for(lambda: receiver.metrics or None)
    assert report["exporter"] == "otlp"
    assert report["size"] > 0 and report["after"] == report["size"], "the file kept growing"
    assert [s["name"] for s in spans] == ["create_thread"] * 3
    assert "gen_ai.client.operation.duration" in {m["name"] for m in metrics}

"""instrument() / uninstrument(): idempotent, reversible, import-order proof, clear errors."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
import wrapt

import assistant_telemetry
from assistant_telemetry import MissingExtraError
from assistant_telemetry.instrumentors.openai import OPERATIONS, RESPONSE_HOOKS

from conftest import Telemetry
from receivers import AZURE_TEST_ENV


def wrapped_targets() -> list[tuple[type, str]]:
    found = []
    for op in OPERATIONS:
        module = importlib.import_module(op.module)
        for owner in (op.owner, op.async_class):
            found.append((getattr(module, owner), op.method))
    for module_name, owner, method, _hook in RESPONSE_HOOKS:
        found.append((getattr(importlib.import_module(module_name), owner), method))
    return found


def run_python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "APPLICATIONINSIGHTS"))}
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_uninstrument_restores_every_original(strict_guard: None) -> None:
    originals = {(owner, name): owner.__dict__[name] for owner, name in wrapped_targets()}
    telemetry = Telemetry()
    assistant_telemetry.instrument(tracer_provider=telemetry.tracer_provider)
    assert all(isinstance(owner.__dict__[name], wrapt.FunctionWrapper) for owner, name in originals)
    assistant_telemetry.uninstrument()
    assert all(owner.__dict__[name] is original for (owner, name), original in originals.items())


def test_calling_instrument_twice_is_harmless(telemetry: Telemetry, client: Any) -> None:
    first = assistant_telemetry.instrument()  # already instrumented by the fixture
    again = assistant_telemetry.instrument(exporter="console")
    assert first is again
    client.beta.threads.create()
    assert len(telemetry.spans) == 1  # wrapped once, not twice


def test_no_span_after_uninstrument_even_through_cached_raw_methods(client: Any) -> None:
    telemetry = Telemetry()
    assistant_telemetry.instrument(tracer_provider=telemetry.tracer_provider)
    raw_threads = client.beta.threads.with_raw_response  # the SDK caches bound (wrapped) methods here
    raw_threads.create()
    assistant_telemetry.uninstrument()
    raw_threads.create().parse()
    client.beta.threads.create()
    assert len(telemetry.spans) == 1


def test_instrument_and_uninstrument_cycles(client: Any) -> None:
    telemetry = Telemetry()
    for _ in range(3):
        assistant_telemetry.instrument(tracer_provider=telemetry.tracer_provider)
        client.beta.threads.create()
        assistant_telemetry.uninstrument()
        client.beta.threads.create()
    assert len(telemetry.spans) == 3


def test_unknown_exporter_is_a_clear_error() -> None:
    with pytest.raises(
        ValueError, match="unknown exporter 'zipkin': choose one of file, console, otlp, azure-monitor"
    ):
        assistant_telemetry.instrument(exporter="zipkin")


def test_exporter_and_providers_together_is_an_error() -> None:
    with pytest.raises(ValueError, match="either exporter= or tracer_provider="):
        assistant_telemetry.instrument(exporter="file", tracer_provider=Telemetry().tracer_provider)


@pytest.mark.parametrize(
    ("exporter", "blocked", "extra"),
    [
        ("otlp", "opentelemetry.exporter.otlp", "otlp"),
        ("azure-monitor", "azure.monitor.opentelemetry", "azure"),
    ],
)
def test_missing_extra_names_the_fix(tmp_path: Path, exporter: str, blocked: str, extra: str) -> None:
    done = run_python(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == {blocked!r} or name.startswith({blocked!r} + "."):
                    raise ImportError("No module named " + name)
        sys.meta_path.insert(0, Block())
        import assistant_telemetry
        try:
            assistant_telemetry.instrument(exporter={exporter!r}, connection_string="InstrumentationKey=x")
        except assistant_telemetry.MissingExtraError as error:
            print("ERROR:", error)
        """,
        tmp_path,
    )
    assert f"pip install 'assistant-telemetry[{extra}]'" in done.stdout, done.stderr
    assert issubclass(MissingExtraError, ImportError)


def test_instrument_before_openai_is_imported(tmp_path: Path) -> None:
    done = run_python(
        """
        import sys
        import assistant_telemetry
        session = assistant_telemetry.instrument(exporter="file", file_path="out.jsonl")
        assert "openai" not in sys.modules
        import openai
        from assistant_telemetry.simulator import Simulator
        with Simulator() as sim:
            openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
        session.flush()
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert '"name":"create_thread"' in (tmp_path / "out.jsonl").read_text()


def test_existing_global_sdk_provider_is_used(tmp_path: Path) -> None:
    done = run_python(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        import assistant_telemetry, openai
        from assistant_telemetry.simulator import Simulator
        session = assistant_telemetry.instrument()
        with Simulator() as sim:
            openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
        print(session.exporter, [s.name for s in exporter.get_finished_spans()])
        """,
        tmp_path,
    )
    assert done.stdout.strip() == "existing ['create_thread']", done.stderr
    assert not (tmp_path / "assistant-telemetry.jsonl").exists()


def test_entry_point_is_registered() -> None:
    (entry,) = [
        e for e in entry_points(group="opentelemetry_instrumentor") if e.name == "assistant_telemetry"
    ]
    assert entry.load() is assistant_telemetry.AssistantTelemetryInstrumentor


# An installed distro (the Azure one is, through the [azure] extra) may already have set the
# global provider when the app starts: the app adds its exporter to whichever provider is there.
APP_UNDER_AUTO_INSTRUMENTATION = """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    import openai
    from assistant_telemetry.simulator import Simulator
    with Simulator() as sim:
        openai.OpenAI(base_url=sim.base_url, api_key="k").beta.threads.create()
    print("SPANS", [s.name for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "assistant_telemetry"])
"""


@pytest.mark.parametrize(("disabled", "expected"), [("", "['create_thread']"), ("assistant_telemetry", "[]")])
def test_opentelemetry_instrument_command(tmp_path: Path, disabled: str, expected: str) -> None:
    script = tmp_path / "app.py"
    script.write_text(textwrap.dedent(APP_UNDER_AUTO_INSTRUMENTATION))
    command = Path(sys.executable).parent / "opentelemetry-instrument"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        AZURE_TEST_ENV,
        OTEL_TRACES_EXPORTER="none",
        OTEL_METRICS_EXPORTER="none",
        OTEL_LOGS_EXPORTER="none",
        OTEL_PYTHON_DISABLED_INSTRUMENTATIONS=disabled,
    )
    done = subprocess.run(
        [str(command), sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert f"SPANS {expected}" in done.stdout, done.stdout + done.stderr

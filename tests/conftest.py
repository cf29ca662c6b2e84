"""Shared fixtures: in-memory span exporter and metric reader, the simulator, real openai clients."""

from __future__ import annotations

import atexit
import os
import re
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import assistant_telemetry
from assistant_telemetry import guard
from assistant_telemetry import semconv as sc
from assistant_telemetry.simulator import Simulator


class Telemetry:
    """What the instrumentation exported during a test, with small lookup helpers."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    @property
    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def named(self, name: str) -> list[ReadableSpan]:
        return [s for s in self.spans if s.name == name]

    def one(self, name: str) -> ReadableSpan:
        found = self.named(name)
        assert len(found) == 1, f"expected one {name!r} span, got {[s.name for s in self.spans]}"
        return found[0]

    def runs(self, driver: str | None = None, kind: str = sc.EXECUTION_KIND_RUN) -> list[ReadableSpan]:
        """The invoke_agent spans of executions of ``kind`` (Assistants / Agent Service runs), of one
        ``driver`` (helper, stream, poll, request) if given."""
        return [
            s
            for s in self.spans
            if (attrs := s.attributes or {}).get(sc.OPERATION_NAME) == sc.OP_INVOKE_AGENT
            and attrs.get(sc.EXECUTION_KIND) == kind
            and (driver is None or attrs.get(sc.EXECUTION_DRIVER) == driver)
        ]

    def one_run(self, driver: str | None = None, kind: str = sc.EXECUTION_KIND_RUN) -> ReadableSpan:
        found = self.runs(driver, kind)
        assert len(found) == 1, f"expected one invoke_agent {kind} span, got {[s.name for s in self.spans]}"
        return found[0]

    def metric_points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        points: list[Any] = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        points.extend(metric.data.data_points)
        return points


@pytest.fixture
def strict_guard() -> Iterator[None]:
    """Our own bugs fail the test instead of being swallowed."""
    guard.STRICT = True
    guard.recorded.clear()
    yield
    guard.STRICT = False
    errors, guard.recorded[:] = list(guard.recorded), []
    assert not errors, f"internal instrumentation errors: {errors!r}"


@pytest.fixture
def telemetry(strict_guard: None) -> Iterator[Telemetry]:
    t = Telemetry()
    assistant_telemetry.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    yield t
    assistant_telemetry.uninstrument()


@pytest.fixture(scope="session")
def sim() -> Iterator[Simulator]:
    with Simulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _clean_sim_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "sim" in request.fixturenames:
        simulator = request.getfixturevalue("sim")
        simulator.clear_faults()
        simulator.clear_run_outcomes()


@pytest.fixture
def client(sim: Simulator) -> Any:
    import openai

    return openai.OpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=2)


@pytest.fixture
def async_client(sim: Simulator) -> Any:
    import openai

    return openai.AsyncOpenAI(base_url=sim.base_url, api_key="sk-test", max_retries=2)


@pytest.fixture
def azure_client(sim: Simulator) -> Any:
    import openai

    return openai.AzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="sk-test", api_version="2024-05-01-preview", max_retries=2
    )


@pytest.fixture
def async_azure_client(sim: Simulator) -> Any:
    import openai

    return openai.AsyncAzureOpenAI(
        azure_endpoint=sim.azure_endpoint, api_key="sk-test", api_version="2024-05-01-preview", max_retries=2
    )


@pytest.fixture
def agents_client(sim: Simulator) -> Iterator[Any]:
    """A real azure-ai-agents ``AgentsClient`` on the simulator's project endpoint."""
    from azure_clients import agents_client as make

    with make(sim) as client:
        yield client


@pytest.fixture
def async_agents_client(sim: Simulator) -> Any:
    """The aio ``AgentsClient``; tests close it (``async with``) inside their own event loop."""
    from azure_clients import async_agents_client as make

    return make(sim)


# --- suite speed (issue 18) ------------------------------------------------------------------------


def one_certificate_trust() -> None:
    """Point ``SSL_CERT_FILE`` at a bundle of one CA certificate, for this process and its children.

    Every httpx client loads its trust store when it is built, https or not: about 45 ms of CPU for
    a system bundle of 140 certificates, against 3 ms for one. The suite builds hundreds (a client
    per test, per agent run, per example app), and every request here is plain http to 127.0.0.1:
    the trust store is never consulted.
    """
    paths = ssl.get_default_verify_paths()
    candidates = (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile)
    bundle = next((Path(p) for p in candidates if p and Path(p).is_file()), None)
    found = bundle and re.search(
        r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", bundle.read_text(errors="replace"), re.S
    )
    if not found:
        return
    handle, path = tempfile.mkstemp(prefix="assistant-telemetry-tests-", suffix=".pem")
    with os.fdopen(handle, "w") as pem:
        pem.write(found.group(0))
    atexit.register(os.unlink, path)
    os.environ["SSL_CERT_FILE"] = path


one_certificate_trust()

SLOW_BACKSTOP_S = 90 * 60  # a slow test's own hard timeouts (up to 75 min) fire before this one


def slow_minutes(item: pytest.Item) -> float:
    """A slow test's expected length (``@pytest.mark.slow(minutes=N)``, default 1); 0 if not slow."""
    marker = item.get_closest_marker("slow")
    return 0.0 if marker is None else float(marker.kwargs.get("minutes", 1))


def worker_chunks(count: int, workers: int) -> list[int]:
    """The sizes of the first batches pytest-xdist's ``worksteal`` hands its workers, in order.

    It gives each idle worker ``len(pending) // workers_left`` consecutive tests of the collection
    (xdist/scheduler/worksteal.py, ``check_schedule``), and steals from the end of a queue.
    """
    sizes = []
    for left in range(workers, 0, -1):
        sizes.append(count // left)
        count -= sizes[-1]
    return sizes


@pytest.hookimpl(trylast=True)  # after ``-m``/``-k`` deselection: the slices count what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first, spread over the xdist workers, so they overlap the many short ones.

    Under ``worksteal`` each worker starts on a consecutive slice of the collection: the slow tests
    are dealt out longest first, each to the worker with the least slow work so far, and put at the
    head of that worker's slice, where stealing (from the tail) leaves them. Without it, all of them
    sat at the head of the first worker's slice, and the memory test started after the others.
    Every worker computes the same order. Slow tests also get a longer backstop than the ini's
    ``timeout``; their own subprocess/join timeouts remain the real bound.
    """
    for item in items:
        if item.get_closest_marker("slow") is not None and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(SLOW_BACKSTOP_S))
    slow = sorted((item for item in items if slow_minutes(item)), key=slow_minutes, reverse=True)
    fast = [item for item in items if not slow_minutes(item)]
    workers = int(getattr(config, "workerinput", {}).get("workercount", 1))
    if workers < 2 or config.getoption("dist", "no") != "worksteal":
        items[:] = slow + fast
        return
    dealt: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in slow:
        min(dealt, key=lambda share: sum(map(slow_minutes, share))).append(item)
    ordered: list[pytest.Item] = []
    for share, size in zip(dealt, worker_chunks(len(items), workers), strict=True):
        ordered += share
        ordered += fast[: max(0, size - len(share))]
        del fast[: max(0, size - len(share))]
    items[:] = ordered + fast
